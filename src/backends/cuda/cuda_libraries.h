// Library handles one execution context uses: a cuDNN handle and a cuBLASLt
// handle, created on first use. Handles are not shared between contexts, so
// contexts on different threads never contend for one.
#pragma once

#include <cublasLt.h>
#include <cudnn.h>

#include "base/status.h"

namespace kiln {

class CudaLibraries {
 public:
  CudaLibraries() = default;
  ~CudaLibraries();
  CudaLibraries(const CudaLibraries&) = delete;
  CudaLibraries& operator=(const CudaLibraries&) = delete;

  Expected<cudnnHandle_t> cudnn();
  Expected<cublasLtHandle_t> cublaslt();

 private:
  cudnnHandle_t cudnn_ = nullptr;
  cublasLtHandle_t cublaslt_ = nullptr;
};

Status cudnn_status(cudnnStatus_t s, const char* what);
Status cublas_status(cublasStatus_t s, const char* what);

// Versions of the libraries loaded at run time (for reports and engine checks).
int cudnn_runtime_version();
int cublas_runtime_version();
int cuda_runtime_version();

}  // namespace kiln

#define KILN_CUDNN_CHECK(expr) KILN_RETURN_IF_ERROR(::kiln::cudnn_status((expr), #expr))
#define KILN_CUBLAS_CHECK(expr) KILN_RETURN_IF_ERROR(::kiln::cublas_status((expr), #expr))
