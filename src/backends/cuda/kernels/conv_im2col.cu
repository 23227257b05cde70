// im2col for the GEMM convolution (conv_gemm.cpp): channels-last X to rows
// of (tap r, tap s, channel c), zeros where a tap falls in the padding. Every
// (output pixel, tap) copies one contiguous run of C channels, moved in the
// widest unit (16, 8, 4, 2 or 1 bytes) that divides the run and the pointers.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/conv_util.h"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuconv {
namespace {

template <typename U, typename I>
__global__ void im2col_kernel(const U* x, U* cols, Im2colGeom g, I units, I total) {
  const I H = static_cast<I>(g.H), W = static_cast<I>(g.W), R = static_cast<I>(g.R), S = static_cast<I>(g.S);
  const I OH = static_cast<I>(g.OH), OW = static_cast<I>(g.OW);
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<I>(gridDim.x) * blockDim.x) {
    I t = i / units;
    const I u = i - t * units;
    const I s = t % S;
    t /= S;
    const I r = t % R;
    const I row = t / R;
    const I ow = row % OW;
    const I oh = (row / OW) % OH;
    const I n = row / (OW * OH);
    const int64_t ih = static_cast<int64_t>(oh) * g.stride_h - g.pad_h + static_cast<int64_t>(r) * g.dil_h;
    const int64_t iw = static_cast<int64_t>(ow) * g.stride_w - g.pad_w + static_cast<int64_t>(s) * g.dil_w;
    U v{};
    if (ih >= 0 && ih < H && iw >= 0 && iw < W) v = x[((static_cast<int64_t>(n) * H + ih) * W + iw) * units + u];
    cols[i] = v;
  }
}

template <typename U>
void launch(const void* x, void* cols, const Im2colGeom& g, int64_t run_bytes, cudaStream_t s) {
  const int64_t units = run_bytes / static_cast<int64_t>(sizeof(U));
  const int64_t total = g.N * g.OH * g.OW * g.R * g.S * units;
  const unsigned blocks = cuda::grid_for(total);
  if (total < (int64_t{1} << 31))
    im2col_kernel<U, uint32_t><<<blocks, 256, 0, s>>>(static_cast<const U*>(x), static_cast<U*>(cols), g,
                                                      static_cast<uint32_t>(units), static_cast<uint32_t>(total));
  else
    im2col_kernel<U, int64_t><<<blocks, 256, 0, s>>>(static_cast<const U*>(x), static_cast<U*>(cols), g, units, total);
}

}  // namespace

Status im2col_nhwc(size_t elem_bytes, const void* x, void* cols, const Im2colGeom& g, cudaStream_t s) {
  if (g.N * g.OH * g.OW * g.R * g.S * g.C == 0) return Status::Ok();
  const int64_t run = g.C * static_cast<int64_t>(elem_bytes);
  const auto fits = [&](int64_t unit) {
    return run % unit == 0 && reinterpret_cast<uintptr_t>(x) % unit == 0 && reinterpret_cast<uintptr_t>(cols) % unit == 0;
  };
  if (fits(16)) {
    launch<uint4>(x, cols, g, run, s);
  } else if (fits(8)) {
    launch<uint2>(x, cols, g, run, s);
  } else if (fits(4)) {
    launch<uint32_t>(x, cols, g, run, s);
  } else if (fits(2)) {
    launch<uint16_t>(x, cols, g, run, s);
  } else {
    launch<uint8_t>(x, cols, g, run, s);
  }
  KILN_CUDA_CHECK_LAUNCH("im2col_kernel");
  return Status::Ok();
}

}  // namespace kiln::cuconv
