// Sliding-window geometry shared by Conv, ConvTranspose and the pools:
// reading and checking kernel_shape / strides / dilations / pads / auto_pad,
// computing output sizes and the effective pads of each spatial axis, and a
// small deterministic parallel loop for the heavier reference kernels.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ops/op_schema.h"

namespace kiln {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

struct WindowAttrs {
  AutoPad auto_pad = AutoPad::kNotSet;
  std::vector<int64_t> kernel;     // empty when not given (Conv takes it from W)
  std::vector<int64_t> strides;    // one per spatial axis, >= 1
  std::vector<int64_t> dilations;  // one per spatial axis, >= 1
  std::vector<int64_t> pads;       // begins then ends, >= 0 (NOTSET only)
  bool ceil_mode = false;
};

// Reads the window attributes of `node` for `nsp` spatial axes. Errors name
// the node and the attribute (wrong length, zero or negative values, unknown
// auto_pad, pads given together with SAME/VALID).
Expected<WindowAttrs> read_window_attrs(const Node& node, size_t nsp, bool kernel_required);

// Sets attrs.kernel from the weight's spatial dims (Conv, ConvTranspose),
// checking them against kernel_shape when both are known. `w_spatial` may
// hold -1 for symbolic dims, which stay -1 in attrs.kernel (inference only).
Status resolve_kernel(const Node& node, WindowAttrs& attrs, const std::vector<int64_t>& w_spatial);

// One spatial axis of a forward window op: output size and the pads actually
// applied (auto_pad resolved). `pool` enables ceil_mode and its rule that the
// last window must start inside the input or the left pad.
struct AxisWindow {
  int64_t out = 0;
  int64_t pad_begin = 0;
  int64_t pad_end = 0;
};
Expected<AxisWindow> forward_axis(const Node& node, const WindowAttrs& attrs, size_t axis, int64_t in, bool pool);

// One spatial axis of ConvTranspose. `output_shape` < 0 means not given.
Expected<AxisWindow> transpose_axis(const Node& node, const WindowAttrs& attrs, size_t axis, int64_t in,
                                    int64_t output_padding, int64_t output_shape);

// Inferred output dim of a forward window op for a possibly symbolic input
// dim: static when the input is, the same symbol when the window keeps the
// size (stride 1, size-preserving pads), else a fresh unknown dim.
Expected<Dim> forward_dim(const InferContext& ctx, const WindowAttrs& attrs, size_t axis, const Dim& in, bool pool);

// Floor division for a possibly negative numerator and a positive divisor.
inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// Runs fn(begin, end) over [0, count) split into contiguous chunks on up to
// hardware_concurrency threads when `work` (a rough operation count) makes it
// worthwhile. Each index is handled by exactly one call, so kernels that write
// disjoint outputs per index stay deterministic.
void parallel_for(int64_t count, double work, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace kiln
