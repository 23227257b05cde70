#include "tensor_summary.h"

#include <cmath>

#include "base/status.h"
#include "text_format.h"

namespace kiln::cli {

TensorStats tensor_stats(const Tensor& tensor) {
  TensorStats s;
  double sum = 0;
  for (int64_t i = 0; i < tensor.numel(); ++i) {
    double v = tensor.get_f64(i);
    if (std::isnan(v)) {
      ++s.nan;
      continue;
    }
    if (std::isinf(v)) {
      ++s.inf;
      continue;
    }
    if (s.count == 0 || v < s.min) s.min = v;
    if (s.count == 0 || v > s.max) s.max = v;
    sum += v;
    ++s.count;
  }
  if (s.count) s.mean = sum / static_cast<double>(s.count);
  return s;
}

std::string summarize_tensor(const Tensor& tensor, int64_t first_values) {
  if (tensor.numel() == 0) return "empty";
  TensorStats s = tensor_stats(tensor);
  std::string out;
  if (s.count)
    out = str("min ", format_number(s.min), "  max ", format_number(s.max), "  mean ", format_number(s.mean));
  else
    out = "no finite values";
  if (s.nan) out += str("  (", s.nan, " nan)");
  if (s.inf) out += str("  (", s.inf, " inf)");
  out += "  first [";
  int64_t n = std::min(first_values, tensor.numel());
  for (int64_t i = 0; i < n; ++i) out += str(i ? ", " : "", format_number(tensor.get_f64(i)));
  out += n < tensor.numel() ? ", ...]" : "]";
  return out;
}

}  // namespace kiln::cli
