// kiln.FusedAttention's two kernels (see matmul_common.h for the contract).
//
// Tensor-core kernel (FlashAttention-2's scheme, written from the PTX ISA's
// mma.sync, ldmatrix and cp.async definitions): a block of 4 warps takes 64
// query rows of one batch matrix, 16 per warp, and walks the keys in tiles of
// 64. Q and two buffers of K and V tiles (and of the mask's tile, when its
// keys are contiguous) live in shared memory (rows padded by 8 elements, so
// the 8 row addresses of an ldmatrix phase hit 8 different bank groups); the
// next tiles are copied with cp.async while the warps work on the current
// ones. A warp keeps the rest in registers: the 16 x 64 scores
// (m16n8k16, fp32 accumulation), the online softmax (a row lives in one quad
// of lanes), the probabilities, which the accumulators' layout turns straight
// into P x V's A fragments, and the fp32 output rows. V's B fragments come
// from ldmatrix.trans, so V is copied as stored. Scores and probabilities are
// rounded to T where the unfused FusedMatMul and FusedSoftmax store them.
//
// Row kernel: one warp per query row for every other case (float32, other
// head sizes): scores of the whole row in shared memory, then the softmax and
// P x V with the unfused layers' roundings.
#include <cstring>
#include <type_traits>

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

// Two values packed as the 32-bit register of an mma fragment (the lower
// index in the lower half), and D += A x B on one m16n8k16 tile; T is
// __half or __nv_bfloat16.
template <typename T>
struct Mma {
  static constexpr bool kHalf = std::is_same_v<T, __half>;
  using T2 = std::conditional_t<kHalf, __half2, __nv_bfloat162>;
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    T2 h;
    if constexpr (kHalf) h = __floats2half2_rn(lo, hi);
    else h = __floats2bfloat162_rn(lo, hi);
    uint32_t u;
    memcpy(&u, &h, 4);
    return u;
  }
  static __device__ __forceinline__ float2 unpack(uint32_t u) {
    T2 h;
    memcpy(&h, &u, 4);
    if constexpr (kHalf) return __half22float2(h);
    else return __bfloat1622float2(h);
  }
  static __device__ __forceinline__ void run(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    if constexpr (kHalf)
      asm volatile(
          "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
          : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    else
      asm volatile(
          "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
          : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Four 8x8 b16 matrices; lanes 8m..8m+7 give the row addresses of matrix m.
// Plain: lane L receives row L/4, columns 2(L%4) and 2(L%4)+1 of each;
// .trans: column L/4, rows 2(L%4) and 2(L%4)+1.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}

// 16 bytes global -> shared without passing through registers; zeros when !valid.
__device__ __forceinline__ void copy16_async(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void copy_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void copy_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Starts copying rows [r0, r0 + 64) of a matrix of `rows` rows of D elements,
// `stride` apart, into dst (row stride D + kPad); zeros past `rows`.
template <typename T, int D>
__device__ __forceinline__ void stage_rows(T* dst, const T* src, int64_t stride, int r0, int rows) {
  constexpr int kVecs = D / 8;
  for (int i = threadIdx.x; i < kTileRows * kVecs; i += kWarps * 32) {
    const int r = i / kVecs, c = (i % kVecs) * 8;
    const bool valid = r0 + r < rows;
    copy16_async(dst + r * (D + kPad) + c, valid ? src + (r0 + r) * stride + c : src, valid);
  }
}

// Q, K and V twice, and the mask's two tiles when staged.
template <typename T, int D>
constexpr int tc_smem_bytes(bool staged_mask) {
  return static_cast<int>(sizeof(T)) * kTileRows * (5 * (D + kPad) + (staged_mask ? 2 * (kTileKeys + kPad) : 0));
}

// How the scores meet the mask: none; a [64, 64] tile staged in shared
// memory with K and V (keys contiguous, rows 16-byte aligned); or element
// loads from global memory for every other broadcast.
enum MaskMode { kNoMask, kMaskStaged, kMaskGlobal };

// Scale, then add the mask, each rounded to T as the unfused FusedMatMul
// and FusedSoftmax store them. The lane's elements of tile j are rows g and
// g + 8 (r), keys key0 + 8j and + 1; `srow` points at row g of the staged
// tile, `mrow` at the rows in global memory. Keys >= sk are not read.
template <typename T, int kMode>
__device__ __forceinline__ void scale_and_mask(float (&s)[kTileKeys / 8][4], float alpha, const T* srow,
                                               const T* const (&mrow)[2], int key0, int sk, int mask_col) {
#pragma unroll
  for (int j = 0; j < kTileKeys / 8; ++j) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float2 x = Mma<T>::unpack(Mma<T>::pack(alpha * s[j][2 * r], alpha * s[j][2 * r + 1]));
      if constexpr (kMode != kNoMask) {
        const int key = key0 + j * 8;
        float2 mv;
        if constexpr (kMode == kMaskStaged) {
          mv = Mma<T>::unpack(*reinterpret_cast<const uint32_t*>(srow + r * 8 * (kTileKeys + kPad) + j * 8));
        } else {
          mv.x = key < sk ? load_f(mrow[r], key * mask_col) : 0.f;
          mv.y = key + 1 < sk ? load_f(mrow[r], (key + 1) * mask_col) : 0.f;
        }
        x = Mma<T>::unpack(Mma<T>::pack(x.x + mv.x, x.y + mv.y));
      }
      s[j][2 * r] = x.x;
      s[j][2 * r + 1] = x.y;
    }
  }
}

// Four blocks (16 warps) per SM up to D = 64: 128 registers a thread.
template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32, D <= 64 ? 4 : 2) attention_tc_kernel(const T* __restrict__ q, const T* __restrict__ k,
                                                                   const T* __restrict__ v, const T* __restrict__ mask,
                                                                   T* __restrict__ y, FusedAttentionParams p) {
  constexpr int S = D + kPad;  // shared row stride, elements
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int MS = kTileKeys + kPad;  // staged mask row stride
  // Buffer b of K, V and the mask (computed, not indexed from an array,
  // which would live in local memory).
  T* sQ = reinterpret_cast<T*>(smem_raw);
  auto sK = [&](int b) { return sQ + (1 + 2 * b) * kTileRows * S; };
  auto sV = [&](int b) { return sQ + (2 + 2 * b) * kTileRows * S; };
  auto sM = [&](int b) { return sQ + 5 * kTileRows * S + b * kTileRows * MS; };
  const MaskMode mode = !mask ? kNoMask : p.mask_staged ? kMaskStaged : kMaskGlobal;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;  // the fragment's row group and column pair
  const int64_t ob = blockIdx.z, h = blockIdx.y;  // the batch matrix: outer index and head
  const int q0 = blockIdx.x * kTileRows;
  const T* kb = k + p.k.at(ob, h, 0);
  const T* vb = v + p.v.at(ob, h, 0);

  // The staged mask tile: rows q0.. of this block, keys k0.. (8 per copy).
  auto stage_mask = [&](T* dst, int k0) {
    for (int i = threadIdx.x; i < kTileRows * kTileKeys / 8; i += kWarps * 32) {
      const int r = i / (kTileKeys / 8), c = (i % (kTileKeys / 8)) * 8;
      const bool valid = q0 + r < p.sq && k0 + c < p.sk;
      copy16_async(dst + r * MS + c, valid ? mask + p.mask.at(ob, h, q0 + r) + k0 + c : mask, valid);
    }
  };
  stage_rows<T, D>(sQ, q + p.q.at(ob, h, 0), p.q.row, q0, p.sq);
  stage_rows<T, D>(sK(0), kb, p.k.row, 0, p.sk);
  stage_rows<T, D>(sV(0), vb, p.v.row, 0, p.sk);
  if (mode == kMaskStaged) stage_mask(sM(0), 0);
  copy_commit();

  // The lane's two rows: g and g + 8 of the warp's 16; the mask's rows.
  const int row[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};
  const T* mrow[2] = {mask, mask};
  for (int r = 0; r < 2; ++r)
    if (mask && row[r] < p.sq) mrow[r] = mask + p.mask.at(ob, h, row[r]);
  float o[D / 8][4] = {};
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
  // ldmatrix row addresses: Q's A fragments (rows by lane % 16, column half by
  // lane / 16), K's B fragments for key blocks j, j + 1 (lane / 16) and column
  // halves (lane / 8 % 2), V's for key halves (lane / 8 % 2) and n-tiles n, n + 1.
  const int a_row = warp * 16 + (lane % 16), a_col = (lane / 16) * 8;
  const int kb_row = (lane / 16) * 8 + lane % 8, kb_col = (lane / 8 % 2) * 8;
  const int vb_row = (lane / 8 % 2) * 8 + lane % 8, vb_col = (lane / 16) * 8;

  for (int k0 = 0, tile = 0; k0 < p.sk; k0 += kTileKeys, ++tile) {
    copy_wait<0>();
    __syncthreads();  // this tile has landed, and every warp is done with the other buffer
    if (k0 + kTileKeys < p.sk) {
      stage_rows<T, D>(sK((tile + 1) % 2), kb, p.k.row, k0 + kTileKeys, p.sk);
      stage_rows<T, D>(sV((tile + 1) % 2), vb, p.v.row, k0 + kTileKeys, p.sk);
      if (mode == kMaskStaged) stage_mask(sM((tile + 1) % 2), k0 + kTileKeys);
    }
    copy_commit();
    const T* cK = sK(tile % 2);
    const T* cV = sV(tile % 2);

    // Scores [16, 64] as 8 accumulator tiles of 8 keys.
    float s[kTileKeys / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t a[4];
      ldmatrix_x4(a, sQ + a_row * S + kk * 16 + a_col);
#pragma unroll
      for (int j = 0; j < kTileKeys / 8; j += 2) {
        uint32_t bk[4];  // b0, b1 of key block j, then of j + 1
        ldmatrix_x4(bk, cK + (j * 8 + kb_row) * S + kk * 16 + kb_col);
        Mma<T>::run(s[j], a, bk[0], bk[1]);
        Mma<T>::run(s[j + 1], a, bk[2], bk[3]);
      }
    }

    // Scale and mask (one branch per tile), keys past the end -inf, the
    // rows' maximum over the quad.
    const int key0 = k0 + 2 * t;
    const T* srow = sM(tile % 2) + (warp * 16 + g) * MS + 2 * t;
    if (mode == kMaskStaged) scale_and_mask<T, kMaskStaged>(s, p.alpha, srow, mrow, key0, p.sk, p.mask_col);
    else if (mode == kMaskGlobal) scale_and_mask<T, kMaskGlobal>(s, p.alpha, srow, mrow, key0, p.sk, p.mask_col);
    else scale_and_mask<T, kNoMask>(s, p.alpha, srow, mrow, key0, p.sk, p.mask_col);
    if (k0 + kTileKeys > p.sk) {
#pragma unroll
      for (int j = 0; j < kTileKeys / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (key0 + j * 8 + (e & 1) >= p.sk) s[j][e] = -INFINITY;
    }
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int j = 0; j < kTileKeys / 8; ++j) {
      mx[0] = fmaxf(mx[0], fmaxf(s[j][0], s[j][1]));
      mx[1] = fmaxf(mx[1], fmaxf(s[j][2], s[j][3]));
    }
    float c[2], base[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(kFull, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(kFull, mx[r], 2));
      const float m_new = fmaxf(m[r], mx[r]);
      // exp(x - m) = 2^(x log2e - m log2e); a row with no live key yet keeps
      // m = -inf and gets 2^-inf = 0 everywhere.
      base[r] = m_new == -INFINITY ? 0.f : m_new * kLog2e;
      c[r] = fast_exp2(m[r] * kLog2e - base[r]);
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
        const uint32_t packed = Mma<T>::pack(fast_exp2(s[j][2 * r] * kLog2e - base[r]),
                                             fast_exp2(s[j][2 * r + 1] * kLog2e - base[r]));
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
    for (int kk = 0; kk < kTileKeys / 16; ++kk) {
#pragma unroll
      for (int n = 0; n < D / 8; n += 2) {
        uint32_t bv[4];  // b0, b1 of n-tile n, then of n + 1
        ldmatrix_x4_trans(bv, cV + (kk * 16 + vb_row) * S + n * 8 + vb_col);
        Mma<T>::run(o[n], pa[kk], bv[0], bv[1]);
        Mma<T>::run(o[n + 1], pa[kk], bv[2], bv[3]);
      }
    }
  }

  // Each lane summed its own columns: add the quad's. A row whose every key
  // was masked has l == 0: NaN, as softmax gives, or 0.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(kFull, l[r], 1);
    l[r] += __shfl_xor_sync(kFull, l[r], 2);
    if (row[r] >= p.sq) continue;
    T* yr = y + p.y.at(ob, h, row[r]);
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
  static const cudaError_t raised = cudaFuncSetAttribute(
      attention_tc_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, tc_smem_bytes<T, D>(true));
  KILN_CUDA_CHECK(raised);
  const dim3 grid(static_cast<unsigned>((p.sq + kTileRows - 1) / kTileRows), static_cast<unsigned>(p.heads),
                  static_cast<unsigned>(p.batch / p.heads));
  FusedAttentionParams pp = p;
  pp.mask_staged = mask && p.mask_staged && reinterpret_cast<uintptr_t>(mask) % 16 == 0;
  const int bytes = tc_smem_bytes<T, D>(pp.mask_staged);
  attention_tc_kernel<T, D><<<grid, kWarps * 32, bytes, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<const T*>(mask),
      static_cast<T*>(y), pp);
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
