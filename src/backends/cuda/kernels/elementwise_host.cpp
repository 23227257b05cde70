#include "backends/cuda/kernels/elementwise_host.h"

#include "backends/cuda/kernels/kernel_families.h"

namespace kiln {

// The elementwise family: unary math and activations, binary and variadic
// broadcasting ops, Where, Cast, Quantize/Dequantize and Reformat.
void register_elementwise_kernels(CudaKernelRegistry& r) {
  cuda::ew::register_elementwise_unary(r);
  cuda::ew::register_elementwise_binary(r);
  cuda::ew::register_elementwise_cast(r);
}

}  // namespace kiln

namespace kiln::cuda::ew {

namespace {
const DType kGpuTypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat8E4M3FN,
                           DType::kFloat8E5M2, DType::kInt8, DType::kUInt8, DType::kInt32, DType::kInt64,
                           DType::kBool};

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(dims[i]);
  }
  s += ']';
  return s;
}
}  // namespace

std::string set_names(uint32_t set) {
  std::string out;
  for (DType t : kGpuTypes) {
    if (!in_set(t, set)) continue;
    if (!out.empty()) out += ", ";
    out += dtype_name(t);
  }
  return out;
}

bool check_dtype(const PlanTensor& t, const char* role, uint32_t set, std::string* why) {
  if (in_set(t.dtype, set)) return true;
  *why = str(role, " '", t.name, "' is ", dtype_name(t.dtype), "; this kernel takes ", set_names(set));
  if (t.dtype == DType::kFloat64) *why += " (float64 is a CPU-reference-only type)";
  return false;
}

float attr_float(const PlanLayer& l, const char* name, float dflt) {
  auto it = l.attrs.find(name);
  if (it == l.attrs.end()) return dflt;
  if (it->second.kind == AttrKind::kFloat) return it->second.f;
  if (it->second.kind == AttrKind::kInt) return static_cast<float>(it->second.i);
  return dflt;
}

int64_t attr_int(const PlanLayer& l, const char* name, int64_t dflt) {
  auto it = l.attrs.find(name);
  if (it == l.attrs.end() || it->second.kind != AttrKind::kInt) return dflt;
  return it->second.i;
}

std::string attr_string(const PlanLayer& l, const char* name, const char* dflt) {
  auto it = l.attrs.find(name);
  if (it == l.attrs.end() || it->second.kind != AttrKind::kString) return dflt;
  return it->second.s;
}

bool check_layouts(const LayerView& v, std::string* why) {
  auto ok = [&](const PlanTensor* t) {
    if (!t || t->layout == Layout::kLinear) return true;
    if (t->layout == Layout::kNHWC && t->dims.size() == 4) return true;
    *why = str("tensor '", t->name, "' has layout ", layout_name(t->layout), " with rank ", t->dims.size(),
               "; only 4-D tensors may be NHWC");
    return false;
  };
  for (const PlanTensor* t : v.inputs)
    if (!ok(t)) return false;
  for (const PlanTensor* t : v.outputs)
    if (!ok(t)) return false;
  return true;
}

std::vector<int> physical_order(size_t rank, Layout layout) {
  if (rank == 4 && layout == Layout::kNHWC) return {0, 2, 3, 1};
  std::vector<int> order(rank);
  for (size_t d = 0; d < rank; ++d) order[d] = static_cast<int>(d);
  return order;
}

std::vector<int64_t> physical_strides(const std::vector<int64_t>& dims, Layout layout) {
  std::vector<int64_t> strides(dims.size(), 1);
  std::vector<int> order = physical_order(dims.size(), layout);
  int64_t s = 1;
  for (size_t j = order.size(); j-- > 0;) {
    strides[static_cast<size_t>(order[j])] = s;
    s *= dims[static_cast<size_t>(order[j])];
  }
  return strides;
}

Expected<MapSpec> build_map(const PlanTensor& out, const std::vector<const PlanTensor*>& ins) {
  const size_t rank = out.dims.size();
  const size_t k_count = ins.size();
  if (rank > static_cast<size_t>(kMaxRank)) return Unsupported("output rank ", rank, " exceeds ", kMaxRank);
  if (k_count > static_cast<size_t>(kMaxInputs)) return Unsupported(k_count, " operands exceed ", kMaxInputs);
  MapSpec spec;
  spec.numel = 1;
  for (int64_t d : out.dims) spec.numel *= d;

  // Strides of each operand along the output's logical dims (0 where it broadcasts).
  std::vector<std::vector<int64_t>> logical(k_count, std::vector<int64_t>(rank, 0));
  for (size_t k = 0; k < k_count; ++k) {
    const PlanTensor& in = *ins[k];
    if (in.dims.size() > rank)
      return InvalidArgument("input '", in.name, "' ", dims_text(in.dims), " has a higher rank than the output ",
                             dims_text(out.dims));
    std::vector<int64_t> phys = physical_strides(in.dims, in.layout);
    size_t lead = rank - in.dims.size();
    for (size_t dk = 0; dk < in.dims.size(); ++dk) {
      int64_t n = in.dims[dk], m = out.dims[lead + dk];
      if (n == m && n != 1) {
        logical[k][lead + dk] = phys[dk];
      } else if (n != 1) {
        return InvalidArgument("input '", in.name, "' ", dims_text(in.dims), " does not broadcast to the output ",
                               dims_text(out.dims));
      }
    }
  }

  // Output physical order, size-1 dims dropped, adjacent dims merged where
  // every operand steps through them as one (stride[p] == stride[j] * dim[j]).
  std::vector<int> order = physical_order(rank, out.layout);
  spec.strides.assign(k_count, {});
  for (int d : order) {
    int64_t n = out.dims[static_cast<size_t>(d)];
    if (n == 1) continue;
    bool merge = !spec.dims.empty();
    for (size_t k = 0; merge && k < k_count; ++k)
      merge = spec.strides[k].back() == logical[k][static_cast<size_t>(d)] * n;
    if (merge) {
      spec.dims.back() *= n;
      for (size_t k = 0; k < k_count; ++k) spec.strides[k].back() = logical[k][static_cast<size_t>(d)];
    } else {
      spec.dims.push_back(n);
      for (size_t k = 0; k < k_count; ++k) spec.strides[k].push_back(logical[k][static_cast<size_t>(d)]);
    }
  }
  for (size_t k = 0; k < k_count; ++k) {
    bool single = true;
    for (int64_t s : spec.strides[k]) single = single && s == 0;
    bool flat = spec.dims.size() == 1 && spec.strides[k][0] == 1;
    spec.shape.kind[k] = single ? 0 : (flat ? 1 : -1);
  }
  return spec;
}

bool check_broadcast_layer(const LayerView& v, size_t n_inputs, std::string* why) {
  if (v.outputs.size() != 1) {
    *why = str("expects one output, got ", v.outputs.size());
    return false;
  }
  if (v.inputs.size() < n_inputs) {
    *why = str("expects ", n_inputs, " inputs, got ", v.inputs.size());
    return false;
  }
  std::vector<const PlanTensor*> ins;
  for (size_t i = 0; i < n_inputs; ++i) {
    if (!v.has_input(i)) {
      *why = str("input ", i, " is missing");
      return false;
    }
    ins.push_back(v.inputs[i]);
  }
  if (!check_layouts(v, why)) return false;
  auto map = build_map(v.out(0), ins);
  if (!map.ok()) {
    *why = map.status().message();
    return false;
  }
  return true;
}

}  // namespace kiln::cuda::ew
