#include "backends/cuda/device.h"

#include <cuda_runtime_api.h>

#include "base/status.h"

namespace kiln {

std::vector<CudaDeviceInfo> list_cuda_devices(std::string* why) {
  std::vector<CudaDeviceInfo> out;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why) *why = cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    CudaDeviceInfo info;
    info.index = i;
    info.name = prop.name;
    info.sm_major = prop.major;
    info.sm_minor = prop.minor;
    info.multiprocessors = prop.multiProcessorCount;
    info.memory_bytes = prop.totalGlobalMem;
    out.push_back(info);
  }
  if (out.empty() && why) *why = "no CUDA device found";
  return out;
}

std::string cuda_version_string() {
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  return str("CUDA runtime ", runtime / 1000, ".", (runtime % 1000) / 10, ", driver ",
             driver ? str(driver / 1000, ".", (driver % 1000) / 10) : std::string("none"));
}

}  // namespace kiln
