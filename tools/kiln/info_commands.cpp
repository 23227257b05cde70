// `kiln version` and `kiln devices`: what this binary is and which GPUs it
// sees. The CUDA parts compile only where the CUDA backend is built.
#include <ostream>

#include "commands.h"
#include "text_format.h"

#ifdef KILN_HAVE_CUDA
#include "backends/cuda/device.h"
#endif

#ifndef KILN_VERSION
#define KILN_VERSION "unknown"
#endif
#ifndef KILN_BUILD_TYPE
#define KILN_BUILD_TYPE "unknown"
#endif

namespace kiln::cli {

CliResult version_command(std::ostream& out) {
  out << "kiln " << KILN_VERSION << "\n";
  out << "build type  " << KILN_BUILD_TYPE << "\n";
#if defined(__clang__)
  out << "compiler    clang " << __clang_major__ << "." << __clang_minor__ << "." << __clang_patchlevel__ << "\n";
#elif defined(__GNUC__)
  out << "compiler    GCC " << __GNUC__ << "." << __GNUC_MINOR__ << "." << __GNUC_PATCHLEVEL__ << "\n";
#endif
#ifdef KILN_HAVE_CUDA
  out << "CUDA        compiled in (" << cuda_version_string() << ")\n";
#else
  out << "CUDA        not compiled in (configure with -DKILN_CUDA=ON)\n";
#endif
  return CliResult::ok();
}

CliResult devices_command(std::ostream& out) {
#ifdef KILN_HAVE_CUDA
  std::string why;
  std::vector<CudaDeviceInfo> devices = list_cuda_devices(&why);
  std::string versions = cuda_version_string();
  out << versions << "\n";
  if (devices.empty()) {
    // Without a driver the runtime's own words ("driver version is
    // insufficient") mislead; say what is actually missing.
    if (versions.find("driver none") != std::string::npos) why = "no NVIDIA driver is loaded (" + why + ")";
    out << "No CUDA devices: " << why << "\n";
    return CliResult::ok();
  }
  std::vector<std::vector<std::string>> rows = {{"#", "name", "compute", "SMs", "memory"}};
  for (const auto& d : devices)
    rows.push_back({std::to_string(d.index), d.name, str("sm_", d.sm_major, d.sm_minor),
                    std::to_string(d.multiprocessors), human_bytes(d.memory_bytes)});
  out << format_table(rows, 0);
#else
  out << "No CUDA devices: this kiln was built without CUDA (configure with -DKILN_CUDA=ON)\n";
#endif
  return CliResult::ok();
}

}  // namespace kiln::cli
