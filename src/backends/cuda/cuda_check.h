// CUDA, cuDNN and cuBLAS return codes turned into Status values that name
// the call that failed. Out-of-memory becomes kResourceExhausted so callers
// can report it clearly and keep the process alive.
#pragma once

#include <cuda_runtime_api.h>

#include "base/status.h"

namespace kiln {

inline Status cuda_status(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status::Ok();
  cudaGetLastError();  // clear non-sticky errors so the next call starts clean
  ErrorCode code = err == cudaErrorMemoryAllocation ? ErrorCode::kResourceExhausted : ErrorCode::kInternal;
  return Error(code, what, " failed: ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ")");
}

}  // namespace kiln

#define KILN_CUDA_CHECK(expr) KILN_RETURN_IF_ERROR(::kiln::cuda_status((expr), #expr))
// After a kernel launch: reports launch-configuration errors at once.
#define KILN_CUDA_CHECK_LAUNCH(name) KILN_RETURN_IF_ERROR(::kiln::cuda_status(cudaGetLastError(), name))
