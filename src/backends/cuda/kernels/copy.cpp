// Ops that only move bytes unchanged — Identity, Reshape, Flatten, Squeeze,
// Unsqueeze, Dropout at inference — run as one device-to-device copy. (An
// aliasing pass can later remove most of them; the copy keeps every layer's
// output in its own planned buffer meanwhile.)
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/kernel_families.h"

namespace kiln {
namespace {

class CopyKernel : public CudaKernel {
 public:
  explicit CopyKernel(uint64_t bytes) : bytes_(bytes) {}
  Status enqueue(const LaunchArgs& a) override {
    if (bytes_ == 0 || a.outputs[0] == a.inputs[0]) return Status::Ok();
    KILN_CUDA_CHECK(cudaMemcpyAsync(a.outputs[0], a.inputs[0], bytes_, cudaMemcpyDeviceToDevice, a.stream));
    return Status::Ok();
  }

 private:
  uint64_t bytes_;
};

}  // namespace

void register_copy_kernels(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.copy";
  d.ops = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Dropout"};
  d.supports = [](const LayerView& v, std::string* why) {
    if (v.outputs.size() != 1) {
      *why = "only the first output (Dropout's mask is not supported)";
      return false;
    }
    if (v.in(0).dtype != v.out(0).dtype || v.in(0).bytes != v.out(0).bytes) {
      *why = "input and output differ in type or size";
      return false;
    }
    if (v.in(0).layout != Layout::kLinear || v.out(0).layout != Layout::kLinear) {
      *why = "needs linear layout";
      return false;
    }
    return true;
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    return std::unique_ptr<CudaKernel>(new CopyKernel(v.out(0).bytes));
  };
  d.in_place = true;
  r.add(std::move(d));
}

}  // namespace kiln
