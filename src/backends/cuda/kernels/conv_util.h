// Shared by the cuconv kernel family: Conv, kiln.FusedConv and ConvTranspose
// (cuDNN), the pools, Resize, Pad, DepthToSpace/SpaceToDepth (Kiln's own
// kernels). Holds the per-file registration hooks, RAII cuDNN descriptors,
// the build-time cuDNN handle, and the launchers of the small CUDA kernels
// the cuDNN paths need (epilogue, ConvTranspose crop, zero padding).
#pragma once

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/cuda_libraries.h"
#include "backends/cuda/kernel.h"
#include "ir/graph.h"

namespace kiln::cuconv {

void register_conv(CudaKernelRegistry& r);            // conv.cpp
void register_conv_transpose(CudaKernelRegistry& r);  // conv_transpose.cpp
void register_pool(CudaKernelRegistry& r);            // pool.cpp
void register_resize(CudaKernelRegistry& r);          // resize.cu
void register_pad(CudaKernelRegistry& r);             // pad.cu
void register_depth_space(CudaKernelRegistry& r);     // depth_space.cu
void register_gemm_conv(CudaKernelRegistry& r);       // conv_gemm.cpp

// A stand-in node with the layer's name, op and attributes, so the ops' own
// attribute readers and window geometry give exactly the CPU reference's
// numbers (and its error messages).
Node node_of(const PlanLayer& layer);

// Sets *why and returns false: the shape of every `supports` refusal.
inline bool refuse(std::string* why, const std::string& reason) {
  if (why) *why = reason;
  return false;
}

// One cuDNN descriptor, destroyed with its owner.
template <typename T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class CudnnDesc {
 public:
  CudnnDesc() = default;
  ~CudnnDesc() {
    if (d_) Destroy(d_);
  }
  CudnnDesc(const CudnnDesc&) = delete;
  CudnnDesc& operator=(const CudnnDesc&) = delete;
  Status init() {
    if (!d_) KILN_CUDNN_CHECK(Create(&d_));
    return Status::Ok();
  }
  T get() const { return d_; }

 private:
  T d_ = nullptr;
};

using TensorDesc = CudnnDesc<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = CudnnDesc<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc =
    CudnnDesc<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;
using ActivationDesc =
    CudnnDesc<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor, cudnnDestroyActivationDescriptor>;

// Device memory a kernel owns from `create` to its destruction (repacked
// weights, a zero bias, filter tables). Never allocated in enqueue.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() {
    if (p_) cudaFree(p_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  // Allocates `bytes` and copies `host` into it (zero-fills when host is null).
  Status upload(const void* host, uint64_t bytes);
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
};

// A cuDNN handle for build-time queries (supports / tactics / workspace),
// which get no execution context. Created once per process.
Expected<cudnnHandle_t> build_time_cudnn();

// The values of constant input `i` (a weight of the plan): integers or
// floats of any element type. An error names the input when it is not a
// constant the builder stored with the plan.
Expected<std::vector<int64_t>> weight_ints(const LayerView& v, size_t i, const char* what);
Expected<std::vector<double>> weight_floats(const LayerView& v, size_t i, const char* what);

// cuDNN data type of a Kiln dtype; false for types the cuDNN paths refuse.
bool cudnn_dtype(DType t, cudnnDataType_t* out);

// Packed N-d tensor descriptor for dims (N, C, spatial...), NCHW-style or
// channels last.
Status set_tensor_desc(cudnnTensorDescriptor_t d, cudnnDataType_t t, const std::vector<int>& dims,
                       bool channels_last);

// Whether every value fits cuDNN's int dims and its 32-bit element counts.
bool fits_int(const std::vector<int64_t>& dims);

// Math type of the convolutions: FMA only for fp32 (no TF32, so results match
// a PyTorch run with TF32 off), tensor ops with fp32 accumulation for fp16/bf16.
cudnnMathType_t default_math(cudnnDataType_t t);

// The largest workspace a conv tactic may ask for; algorithms that need more
// are not offered unless none needs less.
constexpr uint64_t kMaxConvWorkspace = uint64_t{256} << 20;

// KCRS -> KRSC (each output channel's taps channel-innermost), the weight
// order of cuDNN's channels-last kernels and of the GEMM convolution.
std::vector<uint8_t> repack_krsc(const uint8_t* src, const std::vector<int64_t>& dims, size_t es);

// Launchers of Kiln's own kernels used around cuDNN calls. All are
// asynchronous on `s` and launch nothing for empty tensors.

// y = act(y + bias[c] + z) over an [N, C, S] tensor (NCHW order, or N, S, C
// when channels_last); bias and z may be null.
Status conv_epilogue(DType t, void* y, const void* bias, const void* z, int64_t N, int64_t C, int64_t S,
                     bool channels_last, bool relu, cudaStream_t s);

// ConvTranspose from the full (unpadded) result: y[n,c,o] = buf[n,c,o+pb]
// where that lies inside buf, else 0; plus bias[c]. NCHW, up to 3 spatial axes.
struct CropGeom {
  int nsp = 0;
  int64_t N = 0, C = 0;
  int64_t out[3] = {1, 1, 1}, full[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
};
Status transpose_crop(DType t, const void* buf, const void* bias, void* y, const CropGeom& g, cudaStream_t s);

// Pad by source maps (pad.cu): output position o of axis j reads input
// position core_start + r with r = o - lead, mapped into [0, core_len) by the
// mode when outside it (constant: the value, or zero when value is null).
enum class PadMode { kConstant, kReflect, kEdge, kWrap };
constexpr int kMaxPadRank = 8;
struct PadGeom {
  int rank = 0;
  PadMode mode = PadMode::kConstant;
  int64_t in[kMaxPadRank] = {}, out[kMaxPadRank] = {};
  int64_t lead[kMaxPadRank] = {}, core_start[kMaxPadRank] = {}, core_len[kMaxPadRank] = {};
};
Status pad_launch(size_t elem_bytes, const void* x, void* y, const void* value, const PadGeom& g, cudaStream_t s);

// im2col of a channels-last 2-D convolution input (conv_im2col.cu): cols is
// [N*OH*OW, R*S*C] row-major, zero where a tap reads padding.
struct Im2colGeom {
  int64_t N = 0, C = 0, H = 0, W = 0, R = 1, S = 1, OH = 0, OW = 0;
  int64_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1, pad_h = 0, pad_w = 0;
};
Status im2col_nhwc(size_t elem_bytes, const void* x, void* cols, const Im2colGeom& g, cudaStream_t s);

// Windowed pools (pool.cu), one thread per output element walking its window
// as the CPU reference does (row-major taps, first maximum wins, windows
// over padding only give 0 and index -1). Up to 3 spatial axes; unused
// trailing axes have size 1. Each tensor is NCHW-style or channels last.
enum class PoolKind { kMax, kAverage, kLp };
struct PoolGeom {
  PoolKind kind = PoolKind::kMax;
  int64_t N = 0, C = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
  int64_t pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
  bool x_cl = false, y_cl = false, i_cl = false;  // channels last, per tensor
  bool count_include_pad = false;
  bool col_major_index = false;  // MaxPool storage_order = 1
  int p = 2;                     // LpPool
};
Status pool_launch(DType t, const void* x, void* y, int64_t* indices, const PoolGeom& g, cudaStream_t s);

// Global pools over S spatial positions of each (n, c); y is [N, C].
struct GlobalPoolGeom {
  PoolKind kind = PoolKind::kAverage;
  int64_t N = 0, C = 0, S = 1;
  bool x_cl = false;
  int p = 2;
};
Status global_pool_launch(DType t, const void* x, void* y, const GlobalPoolGeom& g, cudaStream_t s);

}  // namespace kiln::cuconv
