// One-line statistics of a tensor for `kiln run`'s report.
#pragma once

#include <cstdint>
#include <string>

#include "ir/tensor.h"

namespace kiln::cli {

struct TensorStats {
  int64_t count = 0;     // finite elements the min/max/mean cover
  int64_t nan = 0, inf = 0;
  double min = 0, max = 0, mean = 0;
};

TensorStats tensor_stats(const Tensor& tensor);
// "min -0.12 max 0.98 mean 0.001 (2 nan)  first [0.1, 0.2, ...]"
std::string summarize_tensor(const Tensor& tensor, int64_t first_values = 6);

}  // namespace kiln::cli
