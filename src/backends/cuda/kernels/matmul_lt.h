// One cuBLASLt matmul, described in Kiln's row-major terms.
//
// Row-major to column-major: cuBLASLt is column-major, and a row-major
// matrix X[r, c] is the column-major matrix X^T[c, r] with the same bytes.
// So Kiln computes D = A * B (row-major) as D^T = B^T * A^T: cuBLASLt's "A"
// operand is our B, its "B" operand is our A, and its m/n are our n/m. The
// output then lands row-major with no transpose, and cuBLASLt's bias
// epilogue (one value per row of its column-major D) adds one value per
// column of our row-major D, which is what a bias over the last dim means.
//
// Precision: CUBLAS_COMPUTE_32F for every input type (fp32 without TF32,
// fp16/bf16 with fp32 accumulation), scale type fp32.
//
// Tactics: the index into cublasLtMatmulAlgoGetHeuristic's result list (up
// to kMaxLtTactics). init() re-runs the same query and takes that index, or
// the first result if the list came back shorter.
#pragma once

#include <cublasLt.h>

#include <cstdint>

#include "base/status.h"
#include "ir/dtype.h"

namespace kiln::mm {

constexpr int kMaxLtTactics = 8;
constexpr uint64_t kLtWorkspaceBytes = uint64_t{32} << 20;

struct LtProblem {
  DType dtype = DType::kFloat32;  // A, B, C, D and bias
  int64_t m = 0, n = 0, k = 0;    // D[m, n] = op(A)[m, k] * op(B)[k, n]
  bool trans_a = false;           // A stored as [k, m] (row-major)
  bool trans_b = false;           // B stored as [n, k] (row-major)
  int32_t batch = 1;              // strided batch; strides in elements (0 = broadcast)
  int64_t stride_a = 0, stride_b = 0, stride_d = 0;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;  // BIAS, RELU_BIAS or GELU_BIAS need a bias [n]
  // Smallest byte alignment each operand's pointers will have (powers of two <= 256).
  uint32_t align_a = 256, align_b = 256, align_d = 256;
};

class LtGemm {
 public:
  LtGemm() = default;
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  // Builds the descriptors and asks the heuristic for up to kMaxLtTactics
  // algorithms with at most `max_workspace` bytes of workspace; keeps result
  // `tactic` (or the first). Returns how many results came back (0: none,
  // and run() must not be called).
  Expected<int> init(cublasLtHandle_t handle, const LtProblem& p, int64_t tactic, uint64_t max_workspace);

  // D = epilogue(alpha * A * B + beta * C (+ bias)) on `stream`, C laid out
  // as D: `c`, or D itself (in place) when c is null. With beta == 0, C is not
  // read. cuBLASLt adds beta * C before the bias and the activation, so a
  // residual rides in C: Relu(A * B + bias + residual) in one kernel.
  Status run(cublasLtHandle_t handle, float alpha, float beta, const void* a, const void* b, void* d,
             const void* bias, void* workspace, uint64_t workspace_bytes, cudaStream_t stream,
             const void* c = nullptr);

 private:
  LtProblem p_;
  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t layout_a_ = nullptr;  // cuBLASLt's A operand: our B
  cublasLtMatrixLayout_t layout_b_ = nullptr;  // cuBLASLt's B operand: our A
  cublasLtMatrixLayout_t layout_d_ = nullptr;  // C and D
  cublasLtMatmulAlgo_t algo_{};
  uint64_t algo_workspace_ = 0;
  bool has_algo_ = false;
};

// Largest power of two <= 256 dividing `bytes` (256 for 0).
uint32_t alignment_of(uint64_t bytes);

}  // namespace kiln::mm
