#include <algorithm>

#include "backends/cuda/kernel.h"
#include "backends/cuda/kernels/kernel_families.h"

namespace kiln {

void CudaKernelRegistry::add(CudaKernelDef def) { defs_.push_back(std::move(def)); }

const CudaKernelDef* CudaKernelRegistry::find(const std::string& id) const {
  for (const auto& d : defs_)
    if (d.id == id) return &d;
  return nullptr;
}

std::vector<const CudaKernelDef*> CudaKernelRegistry::for_op(const std::string& op) const {
  std::vector<const CudaKernelDef*> out;
  for (const auto& d : defs_)
    if (std::find(d.ops.begin(), d.ops.end(), op) != d.ops.end()) out.push_back(&d);
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->priority > b->priority; });
  return out;
}

const CudaKernelRegistry& CudaKernelRegistry::global() {
  static const CudaKernelRegistry* registry = [] {
    auto* r = new CudaKernelRegistry();
    register_all_cuda_kernels(*r);
    return r;
  }();
  return *registry;
}

}  // namespace kiln
