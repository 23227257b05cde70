// Concat and Split as one 2-D strided copy per input (output): each input of
// Concat is an [outer, row] block written at its column offset inside the
// output's [outer, out_row] rows, and Split reads the same slabs back. The
// copies are prepared at `create` (memcpy when outer is 1, else 16-byte
// vectors where the rows allow), so enqueue needs no device-side table of
// pointers and allocates nothing. Empty inputs and outputs are skipped.
#include <string>

#include "backends/cuda/kernels/movement_common.cuh"

namespace kiln::cumove {
namespace {

// The copies of one layer and which input/output pointer each uses.
struct SlabPlan {
  std::vector<PreparedCopy> copies;
  std::vector<size_t> index;  // input (Concat) or output (Split) of each copy
};

// Outer extent and row length (elements per outer index from `axis` on).
void outer_row(const std::vector<int64_t>& dims, size_t axis, int64_t& outer, int64_t& row) {
  outer = 1;
  row = 1;
  for (size_t d = 0; d < dims.size(); ++d) (d < axis ? outer : row) *= dims[d];
}

// Checks `part` equals `whole` outside `axis`.
bool same_outside(const std::vector<int64_t>& part, const std::vector<int64_t>& whole, size_t axis) {
  if (part.size() != whole.size()) return false;
  for (size_t d = 0; d < part.size(); ++d)
    if (d != axis && part[d] != whole[d]) return false;
  return true;
}

// One slab copy: `concat` writes input `i` into the output at column `col`;
// otherwise output `i` is read from the input at column `col`.
Status add_slab(SlabPlan& plan, bool concat, size_t i, const std::vector<int64_t>& part, size_t axis, int64_t whole_row,
                int64_t col, size_t elem) {
  int64_t outer, row;
  outer_row(part, axis, outer, row);
  if (outer * row == 0) return Status::Ok();
  StridedCopy c;
  c.elem = elem;
  c.dims = {outer, row};
  std::vector<int64_t> part_strides = {row, 1}, whole_strides = {whole_row, 1};
  c.in_strides = concat ? part_strides : whole_strides;
  c.out_strides = concat ? whole_strides : part_strides;
  (concat ? c.out_base : c.in_base) = col;
  KILN_ASSIGN_OR_RETURN(PreparedCopy p, prepare_copy(c));
  plan.copies.push_back(p);
  plan.index.push_back(i);
  return Status::Ok();
}

Expected<SlabPlan> plan_concat(const LayerView& v) {
  if (v.inputs.empty() || v.outputs.size() != 1) return Unsupported("expects inputs and one output");
  for (size_t i = 0; i < v.inputs.size(); ++i)
    if (!v.has_input(i)) return Unsupported("input ", i, " is missing");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& y = v.out(0);
  Node node = layer_node(v.layer);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, norm_axis(axis_attr, static_cast<int64_t>(y.dims.size()), "axis"));
  size_t a = static_cast<size_t>(axis);
  int64_t outer, out_row;
  outer_row(y.dims, a, outer, out_row);
  int64_t inner = out_row / (y.dims[a] == 0 ? 1 : y.dims[a]);
  SlabPlan plan;
  int64_t col = 0, total = 0;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    const PlanTensor& x = v.in(i);
    if (x.dtype != y.dtype) return Unsupported("input ", i, " has another type than the output");
    if (!same_outside(x.dims, y.dims, a)) return Unsupported("input ", i, " does not match the output outside the axis");
    KILN_RETURN_IF_ERROR(add_slab(plan, true, i, x.dims, a, out_row, col, dtype_size(y.dtype)));
    col += x.dims[a] * inner;
    total += x.dims[a];
  }
  if (total != y.dims[a]) return Unsupported("input sizes along the axis do not add up to the output's");
  return plan;
}

Expected<SlabPlan> plan_split(const LayerView& v) {
  if (v.inputs.empty() || !v.has_input(0) || v.outputs.empty()) return Unsupported("expects an input and outputs");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& x = v.in(0);
  Node node = layer_node(v.layer);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, norm_axis(axis_attr, static_cast<int64_t>(x.dims.size()), "axis"));
  size_t a = static_cast<size_t>(axis);
  int64_t outer, in_row;
  outer_row(x.dims, a, outer, in_row);
  int64_t inner = in_row / (x.dims[a] == 0 ? 1 : x.dims[a]);
  // The static output dims already say each part's size (whatever the
  // split input or num_outputs was), so split sizes need not be constant.
  SlabPlan plan;
  int64_t col = 0, total = 0;
  for (size_t i = 0; i < v.outputs.size(); ++i) {
    const PlanTensor& y = v.out(i);
    if (y.dtype != x.dtype) return Unsupported("output ", i, " has another type than the input");
    if (!same_outside(y.dims, x.dims, a)) return Unsupported("output ", i, " does not match the input outside the axis");
    KILN_RETURN_IF_ERROR(add_slab(plan, false, i, y.dims, a, in_row, col, dtype_size(x.dtype)));
    col += y.dims[a] * inner;
    total += y.dims[a];
  }
  if (total != x.dims[a]) return Unsupported("output sizes along the axis do not add up to the input's");
  return plan;
}

class SlabKernel : public CudaKernel {
 public:
  SlabKernel(SlabPlan p, bool concat) : p_(std::move(p)), concat_(concat) {}
  Status enqueue(const LaunchArgs& a) override {
    for (size_t k = 0; k < p_.copies.size(); ++k) {
      size_t i = p_.index[k];
      const void* in = concat_ ? a.inputs[i] : a.inputs[0];
      void* out = concat_ ? a.outputs[0] : a.outputs[i];
      KILN_RETURN_IF_ERROR(launch_copy(p_.copies[k], in, out, a.stream));
    }
    return Status::Ok();
  }

 private:
  SlabPlan p_;
  bool concat_;
};

}  // namespace

void register_concat_split(CudaKernelRegistry& r) {
  CudaKernelDef concat;
  concat.id = "kiln.concat";
  concat.ops = {"Concat"};
  concat.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_concat(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  concat.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(SlabPlan p, plan_concat(v));
    return std::unique_ptr<CudaKernel>(new SlabKernel(std::move(p), true));
  };
  r.add(std::move(concat));

  CudaKernelDef split;
  split.id = "kiln.split";
  split.ops = {"Split"};
  split.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_split(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  split.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(SlabPlan p, plan_split(v));
    return std::unique_ptr<CudaKernel>(new SlabKernel(std::move(p), false));
  };
  r.add(std::move(split));
}

}  // namespace kiln::cumove
