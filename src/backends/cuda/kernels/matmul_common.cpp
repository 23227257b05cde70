#include "backends/cuda/kernels/matmul_common.h"

#include "backends/cuda/kernels/kernel_families.h"

namespace kiln {

void register_matmul_kernels(CudaKernelRegistry& r) {
  register_matmul_gemm_kernels(r);
  register_matmul_attention_kernels(r);
  register_matmul_einsum_kernels(r);
  register_fused_attention_kernels(r);
}

namespace mm {

namespace {

const Attr* find(const PlanLayer& l, const std::string& key) {
  auto it = l.attrs.find(key);
  return it == l.attrs.end() ? nullptr : &it->second;
}

bool wrong_kind(const std::string& key, AttrKind want, AttrKind got, std::string* why) {
  *why = str("attribute '", key, "' is ", attr_kind_name(got), ", expected ", attr_kind_name(want));
  return false;
}

}  // namespace

bool attr_int(const PlanLayer& l, const std::string& key, int64_t dflt, int64_t* out, std::string* why) {
  const Attr* a = find(l, key);
  if (!a) {
    *out = dflt;
    return true;
  }
  if (a->kind != AttrKind::kInt) return wrong_kind(key, AttrKind::kInt, a->kind, why);
  *out = a->i;
  return true;
}

bool attr_float(const PlanLayer& l, const std::string& key, float dflt, float* out, std::string* why) {
  const Attr* a = find(l, key);
  if (!a) {
    *out = dflt;
    return true;
  }
  if (a->kind != AttrKind::kFloat) return wrong_kind(key, AttrKind::kFloat, a->kind, why);
  *out = a->f;
  return true;
}

bool attr_string(const PlanLayer& l, const std::string& key, const std::string& dflt, std::string* out,
                 std::string* why) {
  const Attr* a = find(l, key);
  if (!a) {
    *out = dflt;
    return true;
  }
  if (a->kind != AttrKind::kString) return wrong_kind(key, AttrKind::kString, a->kind, why);
  *out = a->s;
  return true;
}

bool attr_ints(const PlanLayer& l, const std::string& key, const std::vector<int64_t>& dflt, std::vector<int64_t>* out,
               std::string* why) {
  const Attr* a = find(l, key);
  if (!a) {
    *out = dflt;
    return true;
  }
  if (a->kind != AttrKind::kInts) return wrong_kind(key, AttrKind::kInts, a->kind, why);
  *out = a->ints;
  return true;
}

bool is_gpu_float(DType t) { return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16; }

bool all_linear(const LayerView& v) {
  for (const PlanTensor* t : v.inputs)
    if (t && t->layout != Layout::kLinear) return false;
  for (const PlanTensor* t : v.outputs)
    if (t && t->layout != Layout::kLinear) return false;
  return true;
}

int64_t product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

}  // namespace mm
}  // namespace kiln
