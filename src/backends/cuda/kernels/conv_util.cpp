#include "backends/cuda/kernels/conv_util.h"

#include <climits>
#include <cstring>
#include <mutex>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/kernel_families.h"

namespace kiln {

void register_cuconv_kernels(CudaKernelRegistry& r) {
  cuconv::register_conv(r);
  cuconv::register_conv_transpose(r);
  cuconv::register_pool(r);
  cuconv::register_resize(r);
  cuconv::register_pad(r);
  cuconv::register_depth_space(r);
  cuconv::register_gemm_conv(r);
}

namespace cuconv {

std::vector<uint8_t> repack_krsc(const uint8_t* src, const std::vector<int64_t>& dims, size_t es) {
  const int64_t M = dims[0], Cg = dims[1];
  int64_t K = 1;
  for (size_t i = 2; i < dims.size(); ++i) K *= dims[i];
  std::vector<uint8_t> dst(static_cast<size_t>(M * Cg * K) * es);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t k = 0; k < K; ++k)
        std::memcpy(&dst[static_cast<size_t>((m * K + k) * Cg + c) * es],
                    src + static_cast<size_t>((m * Cg + c) * K + k) * es, es);
  return dst;
}

Node node_of(const PlanLayer& layer) {
  Node n;
  n.name = layer.name;
  n.op = layer.op;
  n.attrs = layer.attrs;
  return n;
}

namespace {

Expected<Tensor> weight_tensor(const LayerView& v, size_t i, const char* what) {
  if (!v.has_input(i)) return InvalidArgument(what, " is not given");
  const PlanTensor& t = v.in(i);
  const uint8_t* bytes = t.storage == Storage::kWeight && v.host_weight ? v.host_weight(t) : nullptr;
  if (!bytes && t.bytes) return Unsupported(what, " must be a constant (it comes at run time)");
  static const uint8_t kNone = 0;
  return Tensor::view(t.dtype, t.dims, bytes ? bytes : &kNone, t.bytes, nullptr);
}

}  // namespace

Expected<std::vector<int64_t>> weight_ints(const LayerView& v, size_t i, const char* what) {
  KILN_ASSIGN_OR_RETURN(Tensor t, weight_tensor(v, i, what));
  return t.to_i64_vector();
}

Expected<std::vector<double>> weight_floats(const LayerView& v, size_t i, const char* what) {
  KILN_ASSIGN_OR_RETURN(Tensor t, weight_tensor(v, i, what));
  return t.to_f64_vector();
}

Status DeviceBuffer::upload(const void* host, uint64_t bytes) {
  if (p_) {
    cudaFree(p_);
    p_ = nullptr;
  }
  KILN_CUDA_CHECK(cudaMalloc(&p_, bytes == 0 ? 1 : bytes));
  if (bytes == 0) return Status::Ok();
  if (host) {
    KILN_CUDA_CHECK(cudaMemcpy(p_, host, bytes, cudaMemcpyHostToDevice));
  } else {
    KILN_CUDA_CHECK(cudaMemset(p_, 0, bytes));
  }
  return Status::Ok();
}

Expected<cudnnHandle_t> build_time_cudnn() {
  // Deliberately never destroyed: destroying it from a static destructor
  // would race the CUDA runtime's own teardown at exit.
  static std::mutex mu;
  static cudnnHandle_t handle = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (!handle) KILN_CUDNN_CHECK(cudnnCreate(&handle));
  return handle;
}

bool cudnn_dtype(DType t, cudnnDataType_t* out) {
  switch (t) {
    case DType::kFloat32: *out = CUDNN_DATA_FLOAT; return true;
    case DType::kFloat16: *out = CUDNN_DATA_HALF; return true;
    case DType::kBFloat16: *out = CUDNN_DATA_BFLOAT16; return true;
    default: return false;
  }
}

Status set_tensor_desc(cudnnTensorDescriptor_t d, cudnnDataType_t t, const std::vector<int>& dims,
                       bool channels_last) {
  KILN_CUDNN_CHECK(cudnnSetTensorNdDescriptorEx(d, channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, t,
                                                static_cast<int>(dims.size()), dims.data()));
  return Status::Ok();
}

bool fits_int(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || d > INT_MAX) return false;
    n *= d;
    if (n > INT_MAX) return false;
  }
  return true;
}

cudnnMathType_t default_math(cudnnDataType_t t) {
  return t == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
}

}  // namespace cuconv
}  // namespace kiln
