// kiln.FusedAttention's two kernels (see matmul_common.h for the contract).
//
// Tensor-core kernel: a block of 4 warps takes 64 query rows of one batch
// matrix (16 per warp) and walks the keys in tiles of 64. Per tile, Q and the
// K tile give the warp's 16 x 64 scores on WMMA (fp32 accumulation); each
// pair of lanes owns a row and applies scale, mask, the running max and sum
// (online softmax), writes the unnormalized probabilities as T, rescales the
// warp's fp32 output rows and adds P x V on WMMA. The scores never leave
// shared memory. Scores and masked scores are rounded to T, as the unfused
// FusedMatMul and FusedSoftmax store them.
//
// Row kernel: one warp per query row for every other case (float32, other
// head sizes): scores of the whole row in shared memory, then the softmax and
// P x V with the unfused layers' roundings.
#include <mma.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/matmul_common.h"

namespace kiln::mm {
namespace {

using cuda::load_f;
using cuda::store_f;
namespace wmma = nvcuda::wmma;

constexpr unsigned kFull = 0xffffffffu;
constexpr int kTileRows = 64;  // query rows per block
constexpr int kTileKeys = 64;  // keys per step
constexpr int kWarps = 4;

// v as stored in a T and read back.
template <typename T>
__device__ __forceinline__ float round_to(float v) {
  T t[1];
  store_f(t, 0, v);
  return load_f(t, 0);
}

// Rows [r0, r0 + 64) of a [rows, D] matrix into shared memory, zeros past
// `rows`, in 16-byte vectors (D * sizeof(T) is a multiple of 16).
template <typename T, int D>
__device__ void load_tile(T* dst, const T* src, int r0, int rows) {
  constexpr int kVecs = D * static_cast<int>(sizeof(T)) / 16;
  for (int i = threadIdx.x; i < kTileRows * kVecs; i += blockDim.x) {
    const int r = i / kVecs, c = i % kVecs;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r0 + r < rows) v = reinterpret_cast<const uint4*>(src + static_cast<int64_t>(r0 + r) * D)[c];
    reinterpret_cast<uint4*>(dst + r * D)[c] = v;
  }
}

template <typename T, int D>
constexpr size_t tc_smem_bytes() {
  return sizeof(T) * (3 * kTileRows * D + kWarps * 16 * kTileKeys) +
         sizeof(float) * (kWarps * 16 * kTileKeys + kWarps * 16 * D + kWarps * 16);
}

template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32) attention_tc_kernel(const T* __restrict__ q, const T* __restrict__ k,
                                                                   const T* __restrict__ v, const T* __restrict__ mask,
                                                                   T* __restrict__ y, FusedAttentionParams p) {
  extern __shared__ __align__(128) unsigned char smem[];
  T* sQ = reinterpret_cast<T*>(smem);
  T* sK = sQ + kTileRows * D;
  T* sV = sK + kTileRows * D;
  T* sP = sV + kTileRows * D;  // [warp][16][64]
  float* sS = reinterpret_cast<float*>(sP + kWarps * 16 * kTileKeys);  // [warp][16][64]
  float* sO = sS + kWarps * 16 * kTileKeys;                             // [warp][16][D]
  float* sC = sO + kWarps * 16 * D;                                     // [warp][16]

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t b = blockIdx.y;
  const int q0 = blockIdx.x * kTileRows;
  const T* qb = q + b * p.sq * D;
  const T* kb = k + b * p.sk * D;
  const T* vb = v + b * p.sk * D;
  T* wP = sP + warp * 16 * kTileKeys;
  float* wS = sS + warp * 16 * kTileKeys;
  float* wO = sO + warp * 16 * D;
  float* wC = sC + warp * 16;

  load_tile<T, D>(sQ, qb, q0, p.sq);
  for (int i = lane; i < 16 * D; i += 32) wO[i] = 0.f;
  // This lane's row of the warp's 16, and which half of the 64 keys it scores.
  const int r = lane / 2, half = lane % 2;
  const int qi = q0 + warp * 16 + r;
  const int64_t mask_row = mask && qi < p.sq ? p.mask_row.offset(b * p.sq + qi) : 0;
  float m = -INFINITY, l = 0.f;

  for (int k0 = 0; k0 < p.sk; k0 += kTileKeys) {
    __syncthreads();  // every warp is done with the previous K and V tiles
    load_tile<T, D>(sK, kb, k0, p.sk);
    load_tile<T, D>(sV, vb, k0, p.sk);
    __syncthreads();

    // The warp's scores: [16, D] x [D, 64] (K's rows read as B's columns).
    for (int n = 0; n < kTileKeys / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
      for (int kk = 0; kk < D / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb;
        wmma::load_matrix_sync(fa, sQ + warp * 16 * D + kk * 16, D);
        wmma::load_matrix_sync(fb, sK + n * 16 * D + kk * 16, D);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(wS + n * 16, acc, kTileKeys, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax over this lane's 32 keys of its row.
    float* srow = wS + r * kTileKeys + half * 32;
    T* prow = wP + r * kTileKeys + half * 32;
    float mx = -INFINITY;
    for (int j = 0; j < 32; ++j) {
      const int key = k0 + half * 32 + j;
      float s = -INFINITY;
      if (key < p.sk) {
        s = round_to<T>(p.alpha * srow[j]);
        if (mask) s = round_to<T>(s + load_f(mask, mask_row + static_cast<int64_t>(key) * p.mask_col));
      }
      srow[j] = s;
      mx = fmaxf(mx, s);
    }
    mx = fmaxf(mx, __shfl_xor_sync(kFull, mx, 1));
    const float m_new = fmaxf(m, mx);
    const float c = m_new == -INFINITY ? 1.f : expf(m - m_new);
    float sum = 0.f;
    for (int j = 0; j < 32; ++j) {
      const float e = srow[j] == -INFINITY ? 0.f : expf(srow[j] - m_new);
      store_f(prow, j, e);
      sum += load_f(prow, j);  // the value P x V will use
    }
    sum += __shfl_xor_sync(kFull, sum, 1);
    l = l * c + sum;
    m = m_new;
    if (half == 0) wC[r] = c;
    __syncwarp();
    for (int i = lane; i < 16 * D; i += 32) wO[i] *= wC[i / D];
    __syncwarp();

    // O += P x V: [16, 64] x [64, D].
    for (int n = 0; n < D / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, wO + n * 16, D, wmma::mem_row_major);
      for (int kk = 0; kk < kTileKeys / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fb;
        wmma::load_matrix_sync(fa, wP + kk * 16, kTileKeys);
        wmma::load_matrix_sync(fb, sV + kk * 16 * D + n * 16, D);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(wO + n * 16, acc, D, wmma::mem_row_major);
    }
    __syncwarp();
  }

  // A row whose every key was masked has l == 0: NaN, as softmax gives, or 0.
  if (qi < p.sq) {
    T* yr = y + (b * p.sq + qi) * static_cast<int64_t>(D);
    const float inv = l > 0.f ? 1.f / l : 0.f;
    for (int c = half * (D / 2); c < (half + 1) * (D / 2); ++c)
      store_f(yr, c, l > 0.f ? wO[r * D + c] * inv : (p.nan_to_zero ? 0.f : NAN));
  }
}

// The warp's sum, lane 0's to every lane (a butterfly's lanes can differ in
// the last bit, and every lane must use the same score).
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return __shfl_sync(kFull, v, 0);
}

// One warp per score row R = b * sq + i; the row's scores, then its
// probabilities, live in shared memory. Roundings as the unfused layers:
// the product to T, alpha times it to T, plus the mask to T, each
// probability to T, the output to T.
template <typename T>
__global__ void attention_rows_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                      const T* __restrict__ mask, T* __restrict__ y, FusedAttentionParams p) {
  extern __shared__ float rows[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t R = static_cast<int64_t>(blockIdx.x) * kWarps + warp;
  if (R >= p.batch * p.sq) return;
  const int64_t b = R / p.sq;
  float* s = rows + warp * p.sk;
  const T* qr = q + R * p.d;
  const T* kb = k + b * p.sk * p.d;
  const T* vb = v + b * p.sk * p.dv;
  constexpr int kPer = kRowsMaxHead / 32;
  float qv[kPer];
#pragma unroll
  for (int t = 0; t < kPer; ++t) qv[t] = lane + 32 * t < p.d ? load_f(qr, lane + 32 * t) : 0.f;
  const int64_t mrow = mask ? p.mask_row.offset(R) : 0;
  float mx = -INFINITY;
  for (int j = 0; j < p.sk; ++j) {
    const T* kr = kb + static_cast<int64_t>(j) * p.d;
    float part = 0.f;
#pragma unroll
    for (int t = 0; t < kPer; ++t)
      if (lane + 32 * t < p.d) part += qv[t] * load_f(kr, lane + 32 * t);
    float sc = round_to<T>(p.alpha * round_to<T>(warp_sum(part)));
    if (mask) sc = round_to<T>(sc + load_f(mask, mrow + static_cast<int64_t>(j) * p.mask_col));
    if (lane == 0) s[j] = sc;
    mx = fmaxf(mx, sc);
  }
  __syncwarp();
  float sum = 0.f;
  for (int j = lane; j < p.sk; j += 32) sum += mx == -INFINITY ? 0.f : expf(s[j] - mx);
  sum = warp_sum(sum);
  const bool dead = mx == -INFINITY;  // every key masked: softmax gives NaN
  for (int j = lane; j < p.sk; j += 32)
    s[j] = dead ? (p.nan_to_zero ? 0.f : NAN) : round_to<T>(expf(s[j] - mx) / sum);
  __syncwarp();
  T* yr = y + R * p.dv;
  for (int c = lane; c < p.dv; c += 32) {
    float acc = 0.f;
    for (int j = 0; j < p.sk; ++j) acc += s[j] * load_f(vb + static_cast<int64_t>(j) * p.dv, c);
    store_f(yr, c, acc);
  }
}

template <typename T, int D>
Status launch_tc(const void* q, const void* k, const void* v, const void* mask, void* y, const FusedAttentionParams& p,
                 cudaStream_t stream) {
  constexpr size_t bytes = tc_smem_bytes<T, D>();
  static const cudaError_t raised = cudaFuncSetAttribute(attention_tc_kernel<T, D>,
                                                         cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                         static_cast<int>(bytes));
  KILN_CUDA_CHECK(raised);
  const dim3 grid(static_cast<unsigned>((p.sq + kTileRows - 1) / kTileRows), static_cast<unsigned>(p.batch));
  attention_tc_kernel<T, D><<<grid, kWarps * 32, bytes, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<const T*>(mask),
      static_cast<T*>(y), p);
  KILN_CUDA_CHECK_LAUNCH("attention_tc_kernel");
  return Status::Ok();
}

template <typename T>
Status launch_tc_typed(const void* q, const void* k, const void* v, const void* mask, void* y,
                       const FusedAttentionParams& p, cudaStream_t stream) {
  switch (p.d) {
    case 32: return launch_tc<T, 32>(q, k, v, mask, y, p, stream);
    case 64: return launch_tc<T, 64>(q, k, v, mask, y, p, stream);
    case 128: return launch_tc<T, 128>(q, k, v, mask, y, p, stream);
    default: return Internal("attention_tc: head size ", p.d, " is not 32, 64 or 128");
  }
}

template <typename T>
Status launch_rows(const void* q, const void* k, const void* v, const void* mask, void* y,
                   const FusedAttentionParams& p, cudaStream_t stream) {
  const size_t bytes = sizeof(float) * kWarps * static_cast<size_t>(p.sk);
  static const cudaError_t raised = cudaFuncSetAttribute(
      attention_rows_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
      static_cast<int>(sizeof(float) * kWarps * kRowsMaxKeys));
  KILN_CUDA_CHECK(raised);
  const int64_t rows = p.batch * p.sq;
  const unsigned grid = static_cast<unsigned>((rows + kWarps - 1) / kWarps);
  attention_rows_kernel<T><<<grid, kWarps * 32, bytes, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<const T*>(mask),
      static_cast<T*>(y), p);
  KILN_CUDA_CHECK_LAUNCH("attention_rows_kernel");
  return Status::Ok();
}

}  // namespace

Status launch_fused_attention_tc(DType t, const void* q, const void* k, const void* v, const void* mask, void* y,
                                 const FusedAttentionParams& p, cudaStream_t stream) {
  if (p.batch == 0 || p.sq == 0) return Status::Ok();
  switch (t) {
    case DType::kFloat16: return launch_tc_typed<__half>(q, k, v, mask, y, p, stream);
    case DType::kBFloat16: return launch_tc_typed<__nv_bfloat16>(q, k, v, mask, y, p, stream);
    default: return Internal("attention_tc: type ", dtype_name(t), " is not float16 or bfloat16");
  }
}

Status launch_fused_attention_rows(DType t, const void* q, const void* k, const void* v, const void* mask, void* y,
                                   const FusedAttentionParams& p, cudaStream_t stream) {
  if (p.batch == 0 || p.sq == 0) return Status::Ok();
  switch (t) {
    case DType::kFloat32: return launch_rows<float>(q, k, v, mask, y, p, stream);
    case DType::kFloat16: return launch_rows<__half>(q, k, v, mask, y, p, stream);
    case DType::kBFloat16: return launch_rows<__nv_bfloat16>(q, k, v, mask, y, p, stream);
    default: return Internal("attention_rows: type ", dtype_name(t), " is not a GPU float type");
  }
}

}  // namespace kiln::mm
