// kiln.FusedAttention's two kernels (see matmul_common.h for the contract).
//
// Tensor-core kernel (FlashAttention-2's scheme, written from the mma.sync
// fragment layouts of the PTX ISA): a block of 4 warps takes 64 query rows of
// one batch matrix, 16 per warp, and walks the keys in tiles of 64 staged in
// shared memory (K row-major, V transposed, rows padded by 8 elements so the
// fragment loads of a warp hit 32 different banks). A warp keeps everything
// else in registers: its Q fragments, the 16 x 64 scores (m16n8k16 with fp32
// accumulation), the online softmax (each row lives in one quad of lanes), the
// probabilities, which the score accumulators' layout turns straight into the
// A fragments of P x V, and the fp32 output rows. Scores and probabilities are
// rounded to T where the unfused FusedMatMul and FusedSoftmax store them.
//
// Row kernel: one warp per query row for every other case (float32, other
// head sizes): scores of the whole row in shared memory, then the softmax and
// P x V with the unfused layers' roundings.
#include <cstring>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/matmul_common.h"

namespace kiln::mm {
namespace {

using cuda::load_f;
using cuda::store_f;

constexpr unsigned kFull = 0xffffffffu;
constexpr int kTileRows = 64;  // query rows per block
constexpr int kTileKeys = 64;  // keys per step
constexpr int kWarps = 4;
constexpr int kPad = 8;  // elements after each shared-memory row
constexpr float kLog2e = 1.4426950408889634f;

// v as stored in a T and read back.
template <typename T>
__device__ __forceinline__ float round_to(float v) {
  T t[1];
  store_f(t, 0, v);
  return load_f(t, 0);
}

template <typename T>
struct Mma;

// Two values packed as the 32-bit register of an mma fragment (the lower
// index in the lower half), and D += A x B on one m16n8k16 tile.
template <>
struct Mma<__half> {
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    const __half2 h = __floats2half2_rn(lo, hi);
    uint32_t u;
    memcpy(&u, &h, 4);
    return u;
  }
  static __device__ __forceinline__ float2 unpack(uint32_t u) {
    __half2 h;
    memcpy(&h, &u, 4);
    return __half22float2(h);
  }
  static __device__ __forceinline__ void run(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

template <>
struct Mma<__nv_bfloat16> {
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    uint32_t u;
    memcpy(&u, &h, 4);
    return u;
  }
  static __device__ __forceinline__ float2 unpack(uint32_t u) {
    __nv_bfloat162 h;
    memcpy(&h, &u, 4);
    return __bfloat1622float2(h);
  }
  static __device__ __forceinline__ void run(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

template <typename T>
__device__ __forceinline__ uint32_t ld32(const T* p) {
  return *reinterpret_cast<const uint32_t*>(p);
}

// Rows [r0, r0 + 64) of a matrix of `rows` rows of D elements, `stride`
// apart, into dst (row stride D + kPad), zeros past `rows`; 16-byte vectors.
template <typename T, int D>
__device__ void stage_rows(T* dst, const T* src, int64_t stride, int r0, int rows) {
  constexpr int kVecs = D / 8;
  for (int i = threadIdx.x; i < kTileRows * kVecs; i += blockDim.x) {
    const int r = i / kVecs, c = (i % kVecs) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r0 + r < rows) v = *reinterpret_cast<const uint4*>(src + (r0 + r) * stride + c);
    *reinterpret_cast<uint4*>(dst + r * (D + kPad) + c) = v;
  }
}

// The same rows transposed: dst[c][r] (row stride 64 + kPad). Consecutive
// lanes take consecutive rows, so their 2-byte stores are consecutive too.
template <typename T, int D>
__device__ void stage_rows_transposed(T* dst, const T* src, int64_t stride, int r0, int rows) {
  for (int i = threadIdx.x; i < kTileKeys * (D / 8); i += blockDim.x) {
    const int r = i % kTileKeys, c = (i / kTileKeys) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r0 + r < rows) v = *reinterpret_cast<const uint4*>(src + (r0 + r) * stride + c);
    T e[8];
    memcpy(e, &v, 16);
#pragma unroll
    for (int j = 0; j < 8; ++j) dst[(c + j) * (kTileKeys + kPad) + r] = e[j];
  }
}

template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32) attention_tc_kernel(const T* __restrict__ q, const T* __restrict__ k,
                                                                   const T* __restrict__ v, const T* __restrict__ mask,
                                                                   T* __restrict__ y, FusedAttentionParams p) {
  constexpr int KS = D + kPad, VS = kTileKeys + kPad;
  __shared__ __align__(16) T sK[kTileKeys * KS];  // also stages the Q tile first
  __shared__ __align__(16) T sVt[D * VS];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;  // the fragment's row group and column pair
  const int64_t b = blockIdx.y;
  const int q0 = blockIdx.x * kTileRows;
  const T* kb = k + p.k.offset(b, p.heads, 0);
  const T* vb = v + p.v.offset(b, p.heads, 0);

  // This warp's Q rows as A fragments: [16, D] in D / 16 k-steps.
  stage_rows<T, D>(sK, q + p.q.offset(b, p.heads, 0), p.q.row, q0, p.sq);
  __syncthreads();
  uint32_t qa[D / 16][4];
  {
    const T* wq = sK + warp * 16 * KS;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      qa[kk][0] = ld32(wq + g * KS + kk * 16 + 2 * t);
      qa[kk][1] = ld32(wq + (g + 8) * KS + kk * 16 + 2 * t);
      qa[kk][2] = ld32(wq + g * KS + kk * 16 + 8 + 2 * t);
      qa[kk][3] = ld32(wq + (g + 8) * KS + kk * 16 + 8 + 2 * t);
    }
  }

  // The lane's two rows: g and g + 8 of the warp's 16.
  const int row[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};
  int64_t mask_row[2] = {0, 0};
  for (int r = 0; r < 2; ++r)
    if (mask && row[r] < p.sq) mask_row[r] = p.mask_row.offset(b * p.sq + row[r]);
  float o[D / 8][4] = {};
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

  for (int k0 = 0; k0 < p.sk; k0 += kTileKeys) {
    __syncthreads();  // every warp is done with the previous tiles (or Q)
    stage_rows<T, D>(sK, kb, p.k.row, k0, p.sk);
    stage_rows_transposed<T, D>(sVt, vb, p.v.row, k0, p.sk);
    __syncthreads();

    // Scores [16, 64] as 8 accumulator tiles of 8 keys.
    float s[kTileKeys / 8][4];
#pragma unroll
    for (int j = 0; j < kTileKeys / 8; ++j) {
      s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
      const T* kr = sK + (j * 8 + g) * KS + 2 * t;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) Mma<T>::run(s[j], qa[kk], ld32(kr + kk * 16), ld32(kr + kk * 16 + 8));
    }

    // Scale and mask (rounded as the unfused layers store them), keys past
    // the end to -inf; the rows' maximum over the quad.
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int j = 0; j < kTileKeys / 8; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e / 2, key = k0 + j * 8 + 2 * t + (e & 1);
        float x = -INFINITY;
        if (key < p.sk) {
          x = round_to<T>(p.alpha * s[j][e]);
          if (mask) x = round_to<T>(x + load_f(mask, mask_row[r] + static_cast<int64_t>(key) * p.mask_col));
        }
        s[j][e] = x;
        mx[r] = fmaxf(mx[r], x);
      }
    }
    float c[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(kFull, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(kFull, mx[r], 2));
      const float m_new = fmaxf(m[r], mx[r]);
      c[r] = m_new == -INFINITY ? 1.f : exp2f((m[r] - m_new) * kLog2e);
      m[r] = m_new;
      l[r] *= c[r];
    }

    // Unnormalized probabilities in T, packed as P x V's A fragments: the
    // accumulator tiles 2kk and 2kk + 1 are k-step kk's columns 0-7 and 8-15.
    uint32_t pa[kTileKeys / 16][4];
#pragma unroll
    for (int j = 0; j < kTileKeys / 8; ++j) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const float lo = m[r] == -INFINITY ? 0.f : exp2f((s[j][2 * r] - m[r]) * kLog2e);
        const float hi = m[r] == -INFINITY ? 0.f : exp2f((s[j][2 * r + 1] - m[r]) * kLog2e);
        const uint32_t packed = Mma<T>::pack(lo, hi);
        const float2 back = Mma<T>::unpack(packed);  // the values P x V uses
        l[r] += back.x + back.y;
        pa[j / 2][(j % 2) * 2 + r] = packed;
      }
    }
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      o[n][0] *= c[0];
      o[n][1] *= c[0];
      o[n][2] *= c[1];
      o[n][3] *= c[1];
    }
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      const T* vr = sVt + (n * 8 + g) * VS + 2 * t;
#pragma unroll
      for (int kk = 0; kk < kTileKeys / 16; ++kk) Mma<T>::run(o[n], pa[kk], ld32(vr + kk * 16), ld32(vr + kk * 16 + 8));
    }
  }

  // Each lane summed its own columns: add the quad's. A row whose every key
  // was masked has l == 0: NaN, as softmax gives, or 0.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(kFull, l[r], 1);
    l[r] += __shfl_xor_sync(kFull, l[r], 2);
    if (row[r] >= p.sq) continue;
    T* yr = y + p.y.offset(b, p.heads, row[r]);
    const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
    const float dead = p.nan_to_zero ? 0.f : NAN;
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      const float lo = l[r] > 0.f ? o[n][2 * r] * inv : dead;
      const float hi = l[r] > 0.f ? o[n][2 * r + 1] * inv : dead;
      *reinterpret_cast<uint32_t*>(yr + n * 8 + 2 * t) = Mma<T>::pack(lo, hi);
    }
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
// alpha times the product to T, plus the mask to T, each probability to T,
// the output to T.
template <typename T>
__global__ void attention_rows_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                      const T* __restrict__ mask, T* __restrict__ y, FusedAttentionParams p) {
  extern __shared__ float rows[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t R = static_cast<int64_t>(blockIdx.x) * kWarps + warp;
  if (R >= p.batch * p.sq) return;
  const int64_t b = R / p.sq, i = R % p.sq;
  float* s = rows + warp * p.sk;
  const T* qr = q + p.q.offset(b, p.heads, i);
  const T* kb = k + p.k.offset(b, p.heads, 0);
  const T* vb = v + p.v.offset(b, p.heads, 0);
  constexpr int kPer = kRowsMaxHead / 32;
  float qv[kPer];
#pragma unroll
  for (int t = 0; t < kPer; ++t) qv[t] = lane + 32 * t < p.d ? load_f(qr, lane + 32 * t) : 0.f;
  const int64_t mrow = mask ? p.mask_row.offset(R) : 0;
  float mx = -INFINITY;
  for (int j = 0; j < p.sk; ++j) {
    const T* kr = kb + j * p.k.row;
    float part = 0.f;
#pragma unroll
    for (int t = 0; t < kPer; ++t)
      if (lane + 32 * t < p.d) part += qv[t] * load_f(kr, lane + 32 * t);
    float sc = round_to<T>(p.alpha * warp_sum(part));
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
  T* yr = y + p.y.offset(b, p.heads, i);
  for (int c = lane; c < p.dv; c += 32) {
    float acc = 0.f;
    for (int j = 0; j < p.sk; ++j) acc += s[j] * load_f(vb + j * p.v.row, c);
    store_f(yr, c, acc);
  }
}

template <typename T, int D>
Status launch_tc(const void* q, const void* k, const void* v, const void* mask, void* y, const FusedAttentionParams& p,
                 cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((p.sq + kTileRows - 1) / kTileRows), static_cast<unsigned>(p.batch));
  attention_tc_kernel<T, D><<<grid, kWarps * 32, 0, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<const T*>(mask),
      static_cast<T*>(y), p);
  KILN_CUDA_CHECK_LAUNCH("attention_tc_kernel");
  return Status::Ok();
}

template <typename T>
Status launch_tc_typed(const void* q, const void* k, const void* v, const void* mask, void* y,
                       const FusedAttentionParams& p, cudaStream_t stream) {
  switch (p.d) {
    case 16: return launch_tc<T, 16>(q, k, v, mask, y, p, stream);
    case 32: return launch_tc<T, 32>(q, k, v, mask, y, p, stream);
    case 48: return launch_tc<T, 48>(q, k, v, mask, y, p, stream);
    case 64: return launch_tc<T, 64>(q, k, v, mask, y, p, stream);
    case 80: return launch_tc<T, 80>(q, k, v, mask, y, p, stream);
    case 96: return launch_tc<T, 96>(q, k, v, mask, y, p, stream);
    case 112: return launch_tc<T, 112>(q, k, v, mask, y, p, stream);
    case 128: return launch_tc<T, 128>(q, k, v, mask, y, p, stream);
    default: return Internal("attention_tc: head size ", p.d, " is not a multiple of 16 up to 128");
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
  for (const void* ptr : {q, k, v, static_cast<const void*>(y)})
    if (reinterpret_cast<uintptr_t>(ptr) % 16 != 0) return Internal("attention_tc: a tensor is not 16-byte aligned");
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
