#include "ops/conv/window.h"

#include <algorithm>
#include <system_error>
#include <thread>

#include "base/checked_math.h"

namespace kiln {

namespace {

Status bad(const Node& node, const std::string& msg) { return node.error(ErrorCode::kInvalidArgument, msg); }

// Window sizes beyond this are refused, which keeps every product of two of
// them (and index arithmetic on them) far from int64 overflow.
constexpr int64_t kMaxWindowValue = int64_t{1} << 31;

// Reads an INTS attribute of exactly `n` values, each >= `min_value`.
Expected<std::vector<int64_t>> read_ints(const Node& node, const char* key, size_t n, int64_t dflt,
                                         int64_t min_value) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, node.attr_ints(key, std::vector<int64_t>(n, dflt)));
  if (v.size() != n)
    return bad(node, str(key, " has ", v.size(), " values; expected ", n, " for this input rank"));
  for (int64_t x : v)
    if (x < min_value || x > kMaxWindowValue)
      return bad(node, str(key, " values must be in [", min_value, ", 2^31], got ", x));
  return v;
}

Expected<int64_t> effective_kernel(const Node& node, const WindowAttrs& a, size_t axis) {
  auto span = checked_mul(a.kernel[axis] - 1, a.dilations[axis]);
  if (!span || *span == INT64_MAX) return bad(node, str("kernel size x dilation overflows on spatial axis ", axis));
  return *span + 1;
}

}  // namespace

Expected<WindowAttrs> read_window_attrs(const Node& node, size_t nsp, bool kernel_required) {
  WindowAttrs a;
  KILN_ASSIGN_OR_RETURN(std::string ap, node.attr_string("auto_pad", "NOTSET"));
  if (ap == "NOTSET" || ap.empty()) {
    a.auto_pad = AutoPad::kNotSet;
  } else if (ap == "SAME_UPPER") {
    a.auto_pad = AutoPad::kSameUpper;
  } else if (ap == "SAME_LOWER") {
    a.auto_pad = AutoPad::kSameLower;
  } else if (ap == "VALID") {
    a.auto_pad = AutoPad::kValid;
  } else {
    return bad(node, str("auto_pad '", ap, "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID"));
  }
  if (kernel_required && !node.has_attr("kernel_shape")) return bad(node, "attribute kernel_shape is required");
  if (node.has_attr("kernel_shape")) {
    KILN_ASSIGN_OR_RETURN(a.kernel, read_ints(node, "kernel_shape", nsp, 1, 1));
  }
  KILN_ASSIGN_OR_RETURN(a.strides, read_ints(node, "strides", nsp, 1, 1));
  KILN_ASSIGN_OR_RETURN(a.dilations, read_ints(node, "dilations", nsp, 1, 1));
  KILN_ASSIGN_OR_RETURN(a.pads, read_ints(node, "pads", 2 * nsp, 0, 0));
  if (a.auto_pad != AutoPad::kNotSet) {
    for (int64_t p : a.pads)
      if (p != 0) return bad(node, str("pads cannot be used together with auto_pad '", ap, "'"));
  }
  KILN_ASSIGN_OR_RETURN(int64_t ceil_mode, node.attr_int("ceil_mode", 0));
  if (ceil_mode != 0 && ceil_mode != 1) return bad(node, str("ceil_mode must be 0 or 1, got ", ceil_mode));
  a.ceil_mode = ceil_mode == 1;
  return a;
}

Status resolve_kernel(const Node& node, WindowAttrs& attrs, const std::vector<int64_t>& w_spatial) {
  if (!attrs.kernel.empty()) {
    if (attrs.kernel.size() != w_spatial.size())
      return bad(node, str("kernel_shape has ", attrs.kernel.size(), " values but the weights have ",
                           w_spatial.size(), " spatial dims"));
    for (size_t i = 0; i < w_spatial.size(); ++i)
      if (w_spatial[i] >= 0 && w_spatial[i] != attrs.kernel[i])
        return bad(node, str("kernel_shape ", dims_to_string(attrs.kernel), " does not match the weights' spatial dims ",
                             dims_to_string(w_spatial)));
    return Status::Ok();
  }
  for (int64_t k : w_spatial)
    if (k == 0) return bad(node, str("the weights' spatial dims ", dims_to_string(w_spatial), " must be >= 1"));
  attrs.kernel = w_spatial;  // -1 where symbolic: that axis' output size stays unknown
  return Status::Ok();
}

Expected<AxisWindow> forward_axis(const Node& node, const WindowAttrs& a, size_t axis, int64_t in, bool pool) {
  KILN_ASSIGN_OR_RETURN(int64_t ek, effective_kernel(node, a, axis));
  const int64_t s = a.strides[axis];
  AxisWindow w;
  switch (a.auto_pad) {
    case AutoPad::kSameUpper:
    case AutoPad::kSameLower: {
      if (in == 0) return w;
      w.out = in / s + (in % s != 0);
      auto reach = checked_add((w.out - 1) * s, ek);
      if (!reach) return bad(node, str("window overflows on spatial axis ", axis));
      int64_t total = std::max<int64_t>(0, *reach - in);
      int64_t small = total / 2;
      w.pad_begin = a.auto_pad == AutoPad::kSameUpper ? small : total - small;
      w.pad_end = total - w.pad_begin;
      return w;
    }
    case AutoPad::kValid:
    case AutoPad::kNotSet: {
      size_t n = a.strides.size();
      if (a.auto_pad == AutoPad::kNotSet) {
        w.pad_begin = a.pads[axis];
        w.pad_end = a.pads[axis + n];
      }
      auto padded = checked_add(in, w.pad_begin);
      if (padded) padded = checked_add(*padded, w.pad_end);
      if (!padded) return bad(node, str("input size plus pads overflows on spatial axis ", axis));
      if (*padded < ek)
        return bad(node, str("kernel (size ", a.kernel[axis], ", dilation ", a.dilations[axis], ") is larger than the ",
                             a.auto_pad == AutoPad::kValid ? "" : "padded ", "input (", *padded,
                             ") on spatial axis ", axis));
      int64_t num = *padded - ek;
      w.out = num / s + 1;
      // ceil_mode applies to VALID too (as ONNX shape inference and
      // onnxruntime do, unlike the VALID formula in the spec's text).
      if (pool && a.ceil_mode && num % s != 0) {
        w.out += 1;
        // The last window must start inside the input or the left pad.
        if ((w.out - 1) * s >= in + w.pad_begin) w.out -= 1;
      }
      return w;
    }
  }
  return w;
}

Expected<AxisWindow> transpose_axis(const Node& node, const WindowAttrs& a, size_t axis, int64_t in,
                                    int64_t output_padding, int64_t output_shape) {
  KILN_ASSIGN_OR_RETURN(int64_t ek, effective_kernel(node, a, axis));
  const int64_t s = a.strides[axis];
  if (output_padding < 0 || output_padding >= std::max(s, a.dilations[axis]))
    return bad(node, str("output_padding ", output_padding, " on spatial axis ", axis,
                         " must be >= 0 and less than the stride or dilation (", std::max(s, a.dilations[axis]), ")"));
  // Full size: every input position scattered through the whole kernel.
  auto full = checked_mul(s, in - 1);
  if (full) full = checked_add(*full, ek);
  if (full) full = checked_add(*full, output_padding);
  if (!full) return bad(node, str("output size overflows on spatial axis ", axis));
  AxisWindow w;
  int64_t total = 0;
  if (output_shape >= 0) {
    // A negative total (output_shape beyond the full size) extends the output
    // with positions only the bias reaches, as the ONNX reference does.
    total = *full - output_shape;
    w.out = output_shape;
    w.pad_begin = a.auto_pad == AutoPad::kSameUpper ? floor_div(total, 2) : total - floor_div(total, 2);
  } else if (a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower) {
    auto out = checked_mul(in, s);
    if (!out) return bad(node, str("output size overflows on spatial axis ", axis));
    w.out = *out;
    total = *full - w.out;  // negative when kernel + output_padding < stride
    w.pad_begin = a.auto_pad == AutoPad::kSameUpper ? floor_div(total, 2) : total - floor_div(total, 2);
  } else if (a.auto_pad == AutoPad::kValid) {
    w.out = *full;
  } else {
    size_t n = a.strides.size();
    w.pad_begin = a.pads[axis];
    total = a.pads[axis] + a.pads[axis + n];  // each pad fits in int64 and both are >= 0
    if (total < 0 || *full - total < 0)
      return bad(node, str("pads (", a.pads[axis], ", ", a.pads[axis + n], ") on spatial axis ", axis,
                           " are larger than the output (", *full, ")"));
    w.out = *full - total;
  }
  if (w.out < 0) return bad(node, str("negative output size on spatial axis ", axis));
  w.pad_end = total - w.pad_begin;
  return w;
}

Expected<Dim> forward_dim(const InferContext& ctx, const WindowAttrs& a, size_t axis, const Dim& in, bool pool) {
  const bool kernel_known = !a.kernel.empty() && a.kernel[axis] >= 1;
  if (in.is_static() && kernel_known) {
    KILN_ASSIGN_OR_RETURN(AxisWindow w, forward_axis(ctx.node(), a, axis, in.value, pool));
    return Dim(w.out);
  }
  if (kernel_known && a.strides[axis] == 1) {
    KILN_ASSIGN_OR_RETURN(int64_t ek, effective_kernel(ctx.node(), a, axis));
    size_t n = a.strides.size();
    bool keeps = a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower ||
                 (a.auto_pad == AutoPad::kValid && ek == 1) ||
                 (a.auto_pad == AutoPad::kNotSet && a.pads[axis] + a.pads[axis + n] == ek - 1);
    if (keeps) return in;
  }
  return ctx.unknown_dim();
}

void parallel_for(int64_t count, double work, const std::function<void(int64_t, int64_t)>& fn) {
  if (count <= 0) return;
  int64_t threads = static_cast<int64_t>(std::thread::hardware_concurrency());
  if (threads < 1 || work < 1e6) threads = 1;
  threads = std::min(threads, count);
  if (threads == 1) {
    fn(0, count);
    return;
  }
  int64_t chunk = (count + threads - 1) / threads;
  std::vector<std::thread> workers;
  for (int64_t begin = chunk; begin < count; begin += chunk) {
    int64_t end = std::min(begin + chunk, count);
    try {
      workers.emplace_back(fn, begin, end);
    } catch (const std::system_error&) {
      fn(begin, end);  // no thread available: do this chunk here
    }
  }
  fn(0, std::min(chunk, count));
  for (std::thread& t : workers) t.join();
}

}  // namespace kiln
