#include "backends/cuda/cuda_libraries.h"

#include <cuda_runtime_api.h>

namespace kiln {

CudaLibraries::~CudaLibraries() {
  if (cudnn_) cudnnDestroy(cudnn_);
  if (cublaslt_) cublasLtDestroy(cublaslt_);
}

Expected<cudnnHandle_t> CudaLibraries::cudnn() {
  if (!cudnn_) KILN_CUDNN_CHECK(cudnnCreate(&cudnn_));
  return cudnn_;
}

Expected<cublasLtHandle_t> CudaLibraries::cublaslt() {
  if (!cublaslt_) KILN_CUBLAS_CHECK(cublasLtCreate(&cublaslt_));
  return cublaslt_;
}

Status cudnn_status(cudnnStatus_t s, const char* what) {
  if (s == CUDNN_STATUS_SUCCESS) return Status::Ok();
  ErrorCode code = s == CUDNN_STATUS_ALLOC_FAILED ? ErrorCode::kResourceExhausted : ErrorCode::kInternal;
  return Error(code, what, " failed: ", cudnnGetErrorString(s));
}

Status cublas_status(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return Status::Ok();
  ErrorCode code = s == CUBLAS_STATUS_ALLOC_FAILED ? ErrorCode::kResourceExhausted : ErrorCode::kInternal;
  return Error(code, what, " failed: cuBLAS status ", static_cast<int>(s));
}

int cudnn_runtime_version() { return static_cast<int>(cudnnGetVersion()); }
int cublas_runtime_version() { return static_cast<int>(cublasLtGetVersion()); }
int cuda_runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return v;
}

}  // namespace kiln
