// Shared pieces of the CUDA matmul family (matmul*.cpp / matmul*.cu):
// attribute readers for PlanLayer attrs, the reference GEMM and epilogue
// kernels' parameters and launchers, and each theme's registration.
//
// Files of the family:
//   matmul_common.{h,cpp}      this header, attribute helpers, registration
//   matmul_lt.{h,cpp}          the cuBLASLt GEMM wrapper (descriptors, heuristic tactics)
//   matmul_gemm.cpp            MatMul / Gemm / kiln.FusedMatMul on cuBLASLt; integer ops on the reference kernel
//   matmul_gemm.cu             reference GEMM kernels (float, integer) and the bias/activation epilogue kernel
//   matmul_attention.{cpp,cu}  Attention (opset 23+): one fused kernel
//   matmul_einsum.{cpp,cu}     Einsum: equation planning and a generic kernel
//   matmul_fused_attention.{cpp,cu}  kiln.FusedAttention: a tensor-core kernel and a row kernel
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/kernel.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "ir/dtype.h"

namespace kiln {

void register_matmul_gemm_kernels(CudaKernelRegistry& r);       // matmul_gemm.cpp
void register_matmul_attention_kernels(CudaKernelRegistry& r);  // matmul_attention.cpp
void register_matmul_einsum_kernels(CudaKernelRegistry& r);     // matmul_einsum.cpp
void register_fused_attention_kernels(CudaKernelRegistry& r);   // matmul_fused_attention.cpp

namespace mm {

// Typed reads of layer attributes: the default when absent; false (with
// `why` set) when present with another kind.
bool attr_int(const PlanLayer& l, const std::string& key, int64_t dflt, int64_t* out, std::string* why);
bool attr_float(const PlanLayer& l, const std::string& key, float dflt, float* out, std::string* why);
bool attr_string(const PlanLayer& l, const std::string& key, const std::string& dflt, std::string* out,
                 std::string* why);
bool attr_ints(const PlanLayer& l, const std::string& key, const std::vector<int64_t>& dflt, std::vector<int64_t>* out,
               std::string* why);

bool is_gpu_float(DType t);  // float32, float16, bfloat16
bool all_linear(const LayerView& v);
int64_t product(const std::vector<int64_t>& dims);  // 1 for no dims

// Epilogue activations. GELU: erf form (ONNX approximate="none") or tanh form.
enum class Act : int { kNone = 0, kRelu = 1, kGeluErf = 2, kGeluTanh = 3 };

// A GEMM described for the reference kernels: output element (bi, i, j) of
// [batch, m, n] is alpha * sum_k A[bi](i, k) * B[bi](k, j) (+ beta * C) (+ bias[j]),
// then the activation. A[bi] starts at a_batch.offset(bi) * m * k, B[bi] at
// b_batch.offset(bi) * k * n; inside a matrix, A(i, k) is at i * a_sm + k * a_sk
// and B(k, j) at k * b_sk + j * b_sn (this covers Gemm's transposes).
struct RefGemmParams {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  cuda::BroadcastMap a_batch, b_batch;
  int64_t a_sm = 0, a_sk = 0, b_sk = 0, b_sn = 0;
  // Gemm's C over the output's flat index (nullptr: none or beta == 0).
  const void* c = nullptr;
  cuda::BroadcastMap c_map;
  double alpha = 1, beta = 0;
  // Integer Gemm with alpha != 1 or beta != 1 scales in double, as the CPU reference does.
  bool int_scaled = false;
  const void* bias = nullptr;  // [n] (kiln.FusedMatMul), floats only
  Act act = Act::kNone;
  // MatMulInteger zero points over A's / B's flat element index (nullptr: none).
  const void* zp_a = nullptr;
  const void* zp_b = nullptr;
  cuda::BroadcastMap zp_a_map, zp_b_map;
};

// Float reference GEMM (fp32/fp16/bf16; A, B, C, bias and Y share `t`);
// float accumulation. Used for K == 0 and when cuBLASLt offers no algorithm.
Status launch_ref_gemm_float(DType t, const void* a, const void* b, void* y, const RefGemmParams& p,
                             cudaStream_t stream);
// Integer reference GEMM: MatMul/Gemm on int32/int64 (ta == tb == ty) and
// MatMulInteger (ta, tb in {int8, uint8}, ty int32); wrapping arithmetic.
Status launch_ref_gemm_int(DType ta, DType tb, DType ty, const void* a, const void* b, void* y,
                           const RefGemmParams& p, cudaStream_t stream);

// y[i] = act(scale * src[src_map.offset(i)] + bias[i % n]) for i < total.
// src may be y itself with an identity map (in place); src or bias may be nullptr (0).
Status launch_epilogue(DType t, void* y, int64_t total, int64_t n, const void* src, const cuda::BroadcastMap& src_map,
                       float scale, const void* bias, Act act, cudaStream_t stream);

// ---- Attention (matmul_attention.cu) ---------------------------------------

constexpr int64_t kAttentionMaxHead = 1024;  // head sizes of Q/K and of V

// One Attention layer. Sequence positions j < past come from past_key /
// past_value ([batch, kv_heads, past, head]); the others from K / V.
struct AttentionParams {
  int64_t batch = 0, q_heads = 0, kv_heads = 1, q_seq = 0, kv_seq = 0, past = 0, total = 0, head = 0, v_head = 0;
  // Element strides over (batch, head, sequence) of Q, the new K and V, and Y;
  // the head dim is contiguous. 3-D and 4-D inputs differ only here.
  int64_t q_s[3] = {}, k_s[3] = {}, v_s[3] = {}, y_s[3] = {};
  float scale = 1, softcap = 0;
  bool causal = false;
  int qk_mode = 0;  // what the qk output holds: 0 raw, 1 soft-capped, 2 masked, 3 softmax
  // Mask right-aligned to (batch, q_heads, q_seq, mask_last), strides 0 where
  // it broadcasts; positions j >= mask_last are masked (opset 24 padding).
  DType mask_dtype = DType::kUndefined;
  int64_t mask_strides[4] = {};
  int64_t mask_last = 0;
  // Device pointers, set at enqueue (nullptr: absent).
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const void* mask = nullptr;
  const void* past_k = nullptr;
  const void* past_v = nullptr;
  const int64_t* nonpad = nullptr;  // [batch] valid kv length per batch (opset 24)
  void* y = nullptr;
  void* qk = nullptr;  // [batch, q_heads, q_seq, total]
};

// Q, K, V, past, Y and qk all of type t.
Status launch_attention(DType t, const AttentionParams& p, cudaStream_t stream);

// ---- kiln.FusedAttention (matmul_fused_attention.cu) -----------------------

// Y[b] = softmax(alpha * Q[b] K[b]^T + mask) V[b] for each of `batch`
// matrices (Q [sq, d], K [sk, d], V [sk, dv], Y [sq, dv], contiguous), with
// the roundings of the unfused layers. The mask element of score row
// r = b * sq + i and key j is mask_row.offset(r) + j * mask_col.
// Where row i of batch matrix b of Q, K, V or Y starts: batch b is
// (outer, head) = (b / heads, b % heads), so one struct covers contiguous
// [.., S, D] tensors and heads stored [.., S, H, D] as the projections write them.
struct AttentionLayout {
  int64_t outer = 0, head = 0, row = 0;  // element strides
  __host__ __device__ int64_t at(int64_t o, int64_t h, int64_t i) const { return o * outer + h * head + i * row; }
  __host__ __device__ int64_t offset(int64_t b, int64_t heads, int64_t i) const {
    return at(b / heads, b % heads, i);
  }
};
struct FusedAttentionParams {
  int64_t batch = 0;  // outer * heads batch matrices
  int64_t heads = 1;
  int sq = 0, sk = 0, d = 0, dv = 0;
  float alpha = 1;
  bool nan_to_zero = false;
  AttentionLayout q, k, v, y;
  int mask_col = 0;             // the mask's stride along the keys (0 or 1)
  cuda::BroadcastMap mask_row;  // the row kernel: the mask row of [batch..., sq]
  // The tensor-core kernel: the mask's strides over (outer, head, row), when
  // its outer dims collapse to one stride; mask_staged: keys contiguous and
  // every stride and sk a multiple of 8, so tiles copy in 16-byte pieces.
  AttentionLayout mask;
  bool mask_collapses = false, mask_staged = false;
};
constexpr int kRowsMaxKeys = 4096;  // the row kernel keeps a row of scores in shared memory
constexpr int kRowsMaxHead = 256;   // and a row of Q / Y in registers (8 per lane)
constexpr int kMmaMaxHead = 128;    // the tensor-core kernel: d == dv, a multiple of 16 up to 128

// Tensor cores (mma.sync), float16 / bfloat16, d == dv a multiple of 16 up to
// kMmaMaxHead, outer and heads <= 65535, a mask that collapses, strides and
// pointers 16-byte aligned: 64 query rows per block, keys in tiles of 64 with
// an online softmax in registers.
Status launch_fused_attention_tc(DType t, const void* q, const void* k, const void* v, const void* mask, void* y,
                                 const FusedAttentionParams& p, cudaStream_t stream);
// One warp per query row, any float type, sk <= kRowsMaxKeys, d, dv <= kRowsMaxHead.
Status launch_fused_attention_rows(DType t, const void* q, const void* k, const void* v, const void* mask, void* y,
                                   const FusedAttentionParams& p, cudaStream_t stream);
// present[b, h, j, :] = j < past_len ? past[b, h, j, :] : cur at (b, h, j - past_len)
// with cur's (batch, head, sequence) element strides; present is [batch, heads, total, dim].
Status launch_present(DType t, void* present, const void* past, const void* cur, int64_t batch, int64_t heads,
                      int64_t past_len, int64_t total, int64_t dim, const int64_t cur_strides[3], cudaStream_t stream);

// ---- Einsum (matmul_einsum.cu) ----------------------------------------------

constexpr int kEinsumMaxInputs = 8;
constexpr int kEinsumMaxAxes = 8;  // output axes, and summed axes, each

// Output element o (row-major over out_sizes) is the sum over the summed
// index space of the product of every input at its offset: the sum of
// index * stride over the output axes and the summed axes.
struct EinsumParams {
  int n_in = 0, n_out = 0, n_sum = 0;
  int64_t out_sizes[kEinsumMaxAxes] = {};
  int64_t sum_sizes[kEinsumMaxAxes] = {};
  int64_t out_strides[kEinsumMaxInputs][kEinsumMaxAxes] = {};
  int64_t sum_strides[kEinsumMaxInputs][kEinsumMaxAxes] = {};
  int64_t out_numel = 0, sum_count = 0;
  const void* in[kEinsumMaxInputs] = {};  // set at enqueue
};

// All inputs and y of type t: float32/float16/bfloat16 (float accumulation)
// or int8/uint8/int32/int64 (wrapping 64-bit arithmetic, as the reference).
Status launch_einsum(DType t, const EinsumParams& p, void* y, cudaStream_t stream);

}  // namespace mm
}  // namespace kiln
