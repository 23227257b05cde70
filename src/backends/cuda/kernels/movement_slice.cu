// Slice, Expand and Tile as strided copies into a contiguous output:
//  - Slice reads from a base offset with per-axis strides step * stride
//    (negative for negative steps); starts/ends/axes/steps must be constants
//    (they are clamped here exactly as the CPU reference clamps them);
//  - Expand reads with stride 0 on broadcast dims;
//  - Tile is Expand over interleaved [repeat, dim] pairs: output dim d of
//    size r*n is the pair (r, n) read with strides (0, stride_d).
// Expand and Tile need no constant shape/repeats input: the engine's static
// output dims say everything.
#include <algorithm>
#include <string>

#include "backends/cuda/kernels/movement_common.cuh"

namespace kiln::cumove {
namespace {

struct SliceAxis {
  int64_t axis, start, end, step;
};

// First index and length of a slice of an axis of size d: the same clamping
// as the CPU reference (negative start/end count from the end).
void clamp_slice(int64_t d, const SliceAxis& s, int64_t& first, int64_t& len) {
  first = 0;
  len = 0;
  if (d == 0) return;
  int64_t start = s.start < 0 ? s.start + d : s.start;
  int64_t end = s.end < 0 ? s.end + d : s.end;
  int64_t diff;
  if (s.step > 0) {
    start = std::clamp<int64_t>(start, 0, d);
    end = std::clamp<int64_t>(end, 0, d);
    diff = end - start;
  } else {
    start = std::clamp<int64_t>(start, 0, d - 1);
    end = std::clamp<int64_t>(end, -1, d - 1);
    diff = start - end;
  }
  first = start;
  if (diff <= 0) return;
  int64_t mag = s.step == INT64_MIN ? INT64_MAX : (s.step > 0 ? s.step : -s.step);
  len = 1 + (diff - 1) / mag;
}

Expected<std::vector<SliceAxis>> slice_params(const LayerView& v, int64_t rank) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> starts, const_ints(v, 1, "starts"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ends, const_ints(v, 2, "ends"));
  std::vector<int64_t> axes, steps;
  if (v.has_input(3)) {
    KILN_ASSIGN_OR_RETURN(axes, const_ints(v, 3, "axes"));
  } else {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (v.has_input(4)) {
    KILN_ASSIGN_OR_RETURN(steps, const_ints(v, 4, "steps"));
  } else {
    steps.assign(starts.size(), 1);
  }
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return Unsupported("starts, ends, axes and steps differ in length");
  std::vector<SliceAxis> out;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(int64_t a, norm_axis(axes[i], rank, "axis"));
    if (seen[static_cast<size_t>(a)]) return Unsupported("axis ", a, " is sliced twice");
    seen[static_cast<size_t>(a)] = true;
    if (steps[i] == 0) return Unsupported("step of axis ", a, " is 0");
    out.push_back({a, starts[i], ends[i], steps[i]});
  }
  return out;
}

Expected<StridedCopy> slice_copy(const LayerView& v) {
  if (v.inputs.size() < 3 || !v.has_input(0) || v.outputs.size() != 1)
    return Unsupported("expects data, starts, ends and one output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  KILN_ASSIGN_OR_RETURN(auto params, slice_params(v, static_cast<int64_t>(x.dims.size())));
  StridedCopy c;
  c.elem = dtype_size(x.dtype);
  c.dims = x.dims;
  std::vector<int64_t> in_strides = contiguous_strides_of(x.dims);
  c.in_strides = in_strides;
  for (const SliceAxis& s : params) {
    size_t a = static_cast<size_t>(s.axis);
    int64_t first, len;
    clamp_slice(x.dims[a], s, first, len);
    c.dims[a] = len;
    c.in_base += first * in_strides[a];
    // A step beyond the dim takes one element: stride 0 avoids overflow.
    c.in_strides[a] = len > 1 ? s.step * in_strides[a] : 0;
  }
  if (c.dims != y.dims) return Unsupported("output dims do not match the slice of the input");
  if (numel_of(c.dims) == 0) c.in_base = 0;
  return c;
}

Expected<StridedCopy> expand_copy(const LayerView& v) {
  if (v.inputs.empty() || !v.has_input(0) || v.outputs.size() != 1) return Unsupported("expects input and one output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  if (x.dims.size() > y.dims.size()) return Unsupported("output rank is below the input's");
  StridedCopy c;
  c.elem = dtype_size(x.dtype);
  c.dims = y.dims;
  c.in_strides.assign(y.dims.size(), 0);
  std::vector<int64_t> in_strides = contiguous_strides_of(x.dims);
  size_t lead = y.dims.size() - x.dims.size();
  for (size_t i = 0; i < x.dims.size(); ++i) {
    int64_t in = x.dims[i], out = y.dims[lead + i];
    if (in != 1 && in != out) return Unsupported("input dim ", i, " (", in, ") does not broadcast to ", out);
    c.in_strides[lead + i] = in == 1 ? 0 : in_strides[i];
  }
  return c;
}

Expected<StridedCopy> tile_copy(const LayerView& v) {
  if (v.inputs.empty() || !v.has_input(0) || v.outputs.size() != 1) return Unsupported("expects input and one output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  if (x.dims.size() != y.dims.size()) return Unsupported("input and output ranks differ");
  StridedCopy c;
  c.elem = dtype_size(x.dtype);
  std::vector<int64_t> in_strides = contiguous_strides_of(x.dims);
  for (size_t d = 0; d < x.dims.size(); ++d) {
    int64_t n = x.dims[d], out = y.dims[d];
    int64_t reps = n == 0 ? 0 : out / n;
    if (n == 0 ? out != 0 : out % n != 0)
      return Unsupported("output dim ", d, " (", out, ") is not a multiple of the input's (", n, ")");
    // A zero-size input dim makes the output empty whatever the repeats.
    c.dims.push_back(n == 0 ? 0 : reps);
    c.dims.push_back(n);
    c.in_strides.push_back(0);
    c.in_strides.push_back(in_strides[d]);
  }
  return c;
}

enum class Kind { kSlice, kExpand, kTile };

Expected<PreparedCopy> plan(const LayerView& v, Kind kind) {
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  if (v.has_input(0) && v.outputs.size() == 1 && v.in(0).dtype != v.out(0).dtype)
    return Unsupported("input and output types differ");
  Expected<StridedCopy> c = kind == Kind::kSlice    ? slice_copy(v)
                            : kind == Kind::kExpand ? expand_copy(v)
                                                    : tile_copy(v);
  if (!c.ok()) return c.status();
  c->out_strides = contiguous_strides_of(c->dims);
  return prepare_copy(*c);
}

class CopyKernel : public CudaKernel {
 public:
  explicit CopyKernel(PreparedCopy p) : p_(std::move(p)) {}
  Status enqueue(const LaunchArgs& a) override { return launch_copy(p_, a.inputs[0], a.outputs[0], a.stream); }

 private:
  PreparedCopy p_;
};

void add_def(CudaKernelRegistry& r, const char* id, const char* op, Kind kind) {
  CudaKernelDef d;
  d.id = id;
  d.ops = {op};
  d.supports = [kind](const LayerView& v, std::string* why) {
    auto p = plan(v, kind);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [kind](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(PreparedCopy p, plan(v, kind));
    return std::unique_ptr<CudaKernel>(new CopyKernel(std::move(p)));
  };
  r.add(std::move(d));
}

}  // namespace

void register_slice_expand_tile(CudaKernelRegistry& r) {
  add_def(r, "kiln.slice", "Slice", Kind::kSlice);
  add_def(r, "kiln.expand", "Expand", Kind::kExpand);
  add_def(r, "kiln.tile", "Tile", Kind::kTile);
}

}  // namespace kiln::cumove
