// CUDA devices visible to this process, for `kiln devices` and build reports.
#pragma once

#include <string>
#include <vector>

namespace kiln {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int sm_major = 0, sm_minor = 0;
  int multiprocessors = 0;
  size_t memory_bytes = 0;
};

// Empty where no driver or GPU is present; `why` then says what was found.
std::vector<CudaDeviceInfo> list_cuda_devices(std::string* why);
// "CUDA runtime 13.0, driver 13.0" (or why it is unavailable).
std::string cuda_version_string();

}  // namespace kiln
