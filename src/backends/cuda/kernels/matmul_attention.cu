// Attention as one kernel: a block of 128 threads per query row (b, h, i).
// Keys are taken in tiles of 128 (one score per thread); softmax is online
// (running max and sum, rescaling the accumulator when the max grows), so
// shared memory stays fixed for any sequence length. Each thread accumulates
// up to 8 output columns (v_head <= 1024). Everything is computed in float.
// The qk output in softmax mode is written in a second pass over the keys,
// once the row's max and sum are known.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/matmul_common.h"

namespace kiln::mm {
namespace {

using cuda::load_f;
using cuda::store_f;

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr int kColsPerThread = static_cast<int>(kAttentionMaxHead) / kThreads;
constexpr float kNegInf = -INFINITY;

__device__ float load_mask(const void* m, DType t, int64_t i) {
  switch (t) {
    case DType::kBool:
    case DType::kUInt8: return static_cast<float>(static_cast<const uint8_t*>(m)[i]);
    case DType::kInt8: return static_cast<float>(static_cast<const int8_t*>(m)[i]);
    case DType::kInt32: return static_cast<float>(static_cast<const int32_t*>(m)[i]);
    case DType::kInt64: return static_cast<float>(static_cast<const int64_t*>(m)[i]);
    case DType::kFloat16: return __half2float(static_cast<const __half*>(m)[i]);
    case DType::kBFloat16: return __bfloat162float(static_cast<const __nv_bfloat16*>(m)[i]);
    default: return static_cast<const float*>(m)[i];
  }
}

// Block-wide reductions; every thread of the block must call them. The
// leading barrier keeps `red` from being overwritten while still being read.
__device__ float block_max(float v, float* red) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
  __syncthreads();
  float r = red[0];
  for (int w = 1; w < kWarps; ++w) r = fmaxf(r, red[w]);
  return r;
}

__device__ float block_sum(float v, float* red) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
  __syncthreads();
  float r = 0.f;
  for (int w = 0; w < kWarps; ++w) r += red[w];
  return r;
}

struct Score {
  float raw, capped, biased;
  bool unmasked;  // no -inf bias (mask, causal or padding)
};

// Which query row a block works on, and its per-row constants.
struct Row {
  int64_t b, h, hk, i;
  int64_t causal_offset;  // key j is visible while j <= i + causal_offset
  int64_t kv_len;         // keys j >= kv_len are padding (nonpad_kv_seqlen)
};

template <typename T>
__device__ const T* key_row(const AttentionParams& p, const Row& r, int64_t j) {
  if (j < p.past) return static_cast<const T*>(p.past_k) + ((r.b * p.kv_heads + r.hk) * p.past + j) * p.head;
  return static_cast<const T*>(p.k) + r.b * p.k_s[0] + r.hk * p.k_s[1] + (j - p.past) * p.k_s[2];
}

template <typename T>
__device__ const T* value_row(const AttentionParams& p, const Row& r, int64_t j) {
  if (j < p.past) return static_cast<const T*>(p.past_v) + ((r.b * p.kv_heads + r.hk) * p.past + j) * p.v_head;
  return static_cast<const T*>(p.v) + r.b * p.v_s[0] + r.hk * p.v_s[1] + (j - p.past) * p.v_s[2];
}

template <typename T>
__device__ Score score_of(const AttentionParams& p, const Row& r, const float* q, int64_t j) {
  const T* k = key_row<T>(p, r, j);
  float dot = 0.f;
  for (int64_t d = 0; d < p.head; ++d) dot += q[d] * load_f(k, d);
  Score s;
  s.raw = p.head > 0 ? dot * p.scale : 0.f;
  s.capped = p.softcap > 0.f ? p.softcap * tanhf(s.raw / p.softcap) : s.raw;
  float bias = 0.f;
  if (p.mask) {
    if (j >= p.mask_last) {
      bias += kNegInf;
    } else {
      const int64_t mi = r.b * p.mask_strides[0] + r.h * p.mask_strides[1] + r.i * p.mask_strides[2] +
                         j * p.mask_strides[3];
      const float m = load_mask(p.mask, p.mask_dtype, mi);
      bias += p.mask_dtype == DType::kBool ? (m != 0.f ? 0.f : kNegInf) : m;
    }
  }
  if (p.causal && j > r.i + r.causal_offset) bias += kNegInf;
  if (p.nonpad && j >= r.kv_len) bias += kNegInf;
  s.unmasked = bias != kNegInf;
  s.biased = s.capped + bias;
  return s;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) attention_kernel(AttentionParams p) {
  __shared__ float q_s[kAttentionMaxHead];
  __shared__ float p_s[kThreads];
  __shared__ float red[kWarps];
  const int tid = static_cast<int>(threadIdx.x);
  const int64_t rows = p.batch * p.q_heads * p.q_seq;
  const int64_t group = p.q_heads / p.kv_heads;
  const int64_t total = p.total;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    Row r;
    r.i = row % p.q_seq;
    r.h = (row / p.q_seq) % p.q_heads;
    r.b = row / (p.q_seq * p.q_heads);
    r.hk = r.h / group;
    r.kv_len = total;
    if (p.nonpad) {  // the reference rejects lengths outside [0, total]; clamp them here
      const int64_t len = p.nonpad[r.b];
      r.kv_len = len < 0 ? 0 : len > total ? total : len;
    }
    r.causal_offset = p.nonpad ? r.kv_len - p.q_seq : p.past;

    const T* q = static_cast<const T*>(p.q) + r.b * p.q_s[0] + r.h * p.q_s[1] + r.i * p.q_s[2];
    __syncthreads();  // the previous row is done with q_s
    for (int64_t d = tid; d < p.head; d += kThreads) q_s[d] = load_f(q, d);
    __syncthreads();

    T* qk = p.qk ? static_cast<T*>(p.qk) + row * total : nullptr;
    float m_run = kNegInf, l_run = 0.f;
    float acc[kColsPerThread];
#pragma unroll
    for (int c = 0; c < kColsPerThread; ++c) acc[c] = 0.f;
    bool any = false;  // some key is not masked out
    for (int64_t t0 = 0; t0 < total; t0 += kThreads) {
      const int64_t j = t0 + tid;
      float biased = kNegInf;
      int unmasked = 0;
      if (j < total) {
        const Score s = score_of<T>(p, r, q_s, j);
        biased = s.biased;
        unmasked = s.unmasked ? 1 : 0;
        if (qk && p.qk_mode < 3) store_f(qk, j, p.qk_mode == 0 ? s.raw : p.qk_mode == 1 ? s.capped : s.biased);
      }
      any = __syncthreads_or(unmasked) != 0 || any;
      const float new_m = fmaxf(m_run, block_max(biased, red));
      if (new_m == kNegInf) continue;  // the same for every thread: nothing attended so far
      const float corr = expf(m_run - new_m);  // 0 while m_run is -inf
      const float e = j < total ? expf(biased - new_m) : 0.f;
      p_s[tid] = e;  // readers of the previous tile passed the barriers above
      l_run = l_run * corr + block_sum(e, red);
      const int count = total - t0 < kThreads ? static_cast<int>(total - t0) : kThreads;
#pragma unroll
      for (int c = 0; c < kColsPerThread; ++c) {
        const int64_t dv = tid + static_cast<int64_t>(c) * kThreads;
        if (dv < p.v_head) {
          float sum = 0.f;
          for (int jj = 0; jj < count; ++jj) sum += p_s[jj] * load_f(value_row<T>(p, r, t0 + jj), dv);
          acc[c] = acc[c] * corr + sum;
        }
      }
      m_run = new_m;
    }

    // A row that attends nothing gives zeros, as the reference says.
    const bool live = any && l_run > 0.f;
    T* y = static_cast<T*>(p.y) + r.b * p.y_s[0] + r.h * p.y_s[1] + r.i * p.y_s[2];
#pragma unroll
    for (int c = 0; c < kColsPerThread; ++c) {
      const int64_t dv = tid + static_cast<int64_t>(c) * kThreads;
      if (dv < p.v_head) store_f(y, dv, live ? acc[c] / l_run : 0.f);
    }
    if (qk && p.qk_mode == 3) {
      for (int64_t j = tid; j < total; j += kThreads) {
        const Score s = score_of<T>(p, r, q_s, j);
        store_f(qk, j, live ? expf(s.biased - m_run) / l_run : 0.f);
      }
    }
  }
}

template <typename T>
__global__ void present_kernel(T* out, const T* past, const T* cur, int64_t heads, int64_t past_len, int64_t total,
                               int64_t dim, int64_t s0, int64_t s1, int64_t s2, int64_t n) {
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < n;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t d = o % dim;
    int64_t rest = o / dim;
    const int64_t j = rest % total;
    rest /= total;
    const int64_t h = rest % heads;
    const int64_t b = rest / heads;
    out[o] = j < past_len ? past[((b * heads + h) * past_len + j) * dim + d]
                          : cur[b * s0 + h * s1 + (j - past_len) * s2 + d];
  }
}

template <typename T>
void launch_attn(const AttentionParams& p, int64_t rows, cudaStream_t stream) {
  const unsigned grid = static_cast<unsigned>(rows < (int64_t{1} << 20) ? rows : (int64_t{1} << 20));
  attention_kernel<T><<<grid, kThreads, 0, stream>>>(p);
}

template <typename T>
void launch_pres(void* present, const void* past, const void* cur, int64_t heads, int64_t past_len, int64_t total,
                 int64_t dim, const int64_t s[3], int64_t n, cudaStream_t stream) {
  present_kernel<T><<<cuda::grid_for(n), 256, 0, stream>>>(static_cast<T*>(present), static_cast<const T*>(past),
                                                           static_cast<const T*>(cur), heads, past_len, total, dim,
                                                           s[0], s[1], s[2], n);
}

}  // namespace

Status launch_attention(DType t, const AttentionParams& p, cudaStream_t stream) {
  const int64_t rows = p.batch * p.q_heads * p.q_seq;
  if (rows == 0) return Status::Ok();
  if (p.kv_heads <= 0 || p.q_heads % p.kv_heads != 0 || p.head > kAttentionMaxHead || p.v_head > kAttentionMaxHead)
    return Internal("attention: invalid head configuration");
  switch (t) {
    case DType::kFloat32: launch_attn<float>(p, rows, stream); break;
    case DType::kFloat16: launch_attn<__half>(p, rows, stream); break;
    case DType::kBFloat16: launch_attn<__nv_bfloat16>(p, rows, stream); break;
    default: return Internal("attention: unsupported type ", dtype_name(t));
  }
  KILN_CUDA_CHECK_LAUNCH("attention_kernel");
  return Status::Ok();
}

Status launch_present(DType t, void* present, const void* past, const void* cur, int64_t batch, int64_t heads,
                      int64_t past_len, int64_t total, int64_t dim, const int64_t cur_strides[3], cudaStream_t stream) {
  const int64_t n = batch * heads * total * dim;
  if (n == 0) return Status::Ok();
  switch (t) {
    case DType::kFloat32: launch_pres<float>(present, past, cur, heads, past_len, total, dim, cur_strides, n, stream); break;
    case DType::kFloat16: launch_pres<__half>(present, past, cur, heads, past_len, total, dim, cur_strides, n, stream); break;
    case DType::kBFloat16:
      launch_pres<__nv_bfloat16>(present, past, cur, heads, past_len, total, dim, cur_strides, n, stream);
      break;
    default: return Internal("attention present: unsupported type ", dtype_name(t));
  }
  KILN_CUDA_CHECK_LAUNCH("present_kernel");
  return Status::Ok();
}

}  // namespace kiln::mm
