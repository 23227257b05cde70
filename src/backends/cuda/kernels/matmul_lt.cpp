#include "backends/cuda/kernels/matmul_lt.h"

#include <vector>

#include "backends/cuda/cuda_libraries.h"

namespace kiln::mm {

namespace {

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::kFloat16: return CUDA_R_16F;
    case DType::kBFloat16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
  }
}

bool has_bias(cublasLtEpilogue_t e) {
  return e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_RELU_BIAS || e == CUBLASLT_EPILOGUE_GELU_BIAS;
}

// The heuristic reads the bias pointer only for its alignment; the real one
// is set before each run. Any 256-byte aligned non-null value will do.
const void* const kBiasPlaceholder = reinterpret_cast<const void*>(uintptr_t{256});

struct Preference {
  cublasLtMatmulPreference_t p = nullptr;
  ~Preference() {
    if (p) cublasLtMatmulPreferenceDestroy(p);
  }
};

Status set_batch(cublasLtMatrixLayout_t l, int32_t batch, int64_t stride) {
  KILN_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof(batch)));
  KILN_CUBLAS_CHECK(
      cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  return Status::Ok();
}

bool aligned(const void* p, uint32_t align) { return reinterpret_cast<uintptr_t>(p) % align == 0; }

}  // namespace

uint32_t alignment_of(uint64_t bytes) {
  uint32_t a = 256;
  while (a > 1 && bytes % a != 0) a /= 2;
  return a;
}

LtGemm::~LtGemm() {
  if (layout_a_) cublasLtMatrixLayoutDestroy(layout_a_);
  if (layout_b_) cublasLtMatrixLayoutDestroy(layout_b_);
  if (layout_d_) cublasLtMatrixLayoutDestroy(layout_d_);
  if (op_) cublasLtMatmulDescDestroy(op_);
}

Expected<int> LtGemm::init(cublasLtHandle_t handle, const LtProblem& p, int64_t tactic, uint64_t max_workspace) {
  if (op_) return Internal("LtGemm::init called twice");
  p_ = p;
  const cudaDataType_t type = cuda_type(p.dtype);
  KILN_CUBLAS_CHECK(cublasLtMatmulDescCreate(&op_, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  // Operands swapped (see the header): cuBLASLt's A is our B, its B our A.
  cublasOperation_t op_a = p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_b = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  KILN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  KILN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  if (p.epilogue != CUBLASLT_EPILOGUE_DEFAULT) {
    cublasLtEpilogue_t epi = p.epilogue;
    KILN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
  }
  if (has_bias(p.epilogue)) {
    const void* bias = kBiasPlaceholder;
    KILN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }

  const auto m = static_cast<uint64_t>(p.m), n = static_cast<uint64_t>(p.n), k = static_cast<uint64_t>(p.k);
  // cuBLASLt's A = our B: column-major n x k (ld n), or k x n (ld k) when B is stored [n, k].
  if (p.trans_b) {
    KILN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout_a_, type, k, n, p.k));
  } else {
    KILN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout_a_, type, n, k, p.n));
  }
  // cuBLASLt's B = our A: column-major k x m (ld k), or m x k (ld m) when A is stored [k, m].
  if (p.trans_a) {
    KILN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout_b_, type, m, k, p.m));
  } else {
    KILN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout_b_, type, k, m, p.k));
  }
  // D: column-major n x m (ld n) = row-major [m, n].
  KILN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout_d_, type, n, m, p.n));
  if (p.batch > 1) {
    KILN_RETURN_IF_ERROR(set_batch(layout_a_, p.batch, p.stride_b));
    KILN_RETURN_IF_ERROR(set_batch(layout_b_, p.batch, p.stride_a));
    KILN_RETURN_IF_ERROR(set_batch(layout_d_, p.batch, p.stride_d));
  }

  Preference pref;
  KILN_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref.p));
  uint64_t ws = max_workspace;
  KILN_CUBLAS_CHECK(
      cublasLtMatmulPreferenceSetAttribute(pref.p, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  uint32_t align_a = p.align_b, align_b = p.align_a, align_d = p.align_d;  // swapped operands
  KILN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a,
                                                         sizeof(align_a)));
  KILN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b,
                                                         sizeof(align_b)));
  KILN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_d,
                                                         sizeof(align_d)));
  KILN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.p, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_d,
                                                         sizeof(align_d)));

  cublasLtMatmulHeuristicResult_t results[kMaxLtTactics] = {};
  int returned = 0;
  cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(handle, op_, layout_a_, layout_b_, layout_d_, layout_d_, pref.p,
                                                    kMaxLtTactics, results, &returned);
  if (s == CUBLAS_STATUS_NOT_SUPPORTED) return 0;  // no algorithm for this problem
  KILN_RETURN_IF_ERROR(cublas_status(s, "cublasLtMatmulAlgoGetHeuristic"));
  std::vector<const cublasLtMatmulHeuristicResult_t*> usable;
  for (int i = 0; i < returned && i < kMaxLtTactics; ++i)
    if (results[i].state == CUBLAS_STATUS_SUCCESS && results[i].workspaceSize <= max_workspace)
      usable.push_back(&results[i]);
  if (usable.empty()) return 0;
  size_t pick = tactic >= 0 && static_cast<size_t>(tactic) < usable.size() ? static_cast<size_t>(tactic) : 0;
  algo_ = usable[pick]->algo;
  algo_workspace_ = usable[pick]->workspaceSize;
  has_algo_ = true;
  return static_cast<int>(usable.size());
}

Status LtGemm::run(cublasLtHandle_t handle, float alpha, float beta, const void* a, const void* b, void* d,
                   const void* bias, void* workspace, uint64_t workspace_bytes, cudaStream_t stream,
                   const void* c) {
  if (!c) c = d;
  if (!has_algo_) return Internal("cuBLASLt matmul run without an algorithm");
  if (workspace_bytes < algo_workspace_ || (algo_workspace_ > 0 && !workspace))
    return Internal("cuBLASLt algorithm needs ", algo_workspace_, " bytes of workspace, the layer got ",
                    workspace_bytes);
  if (!aligned(a, p_.align_a) || !aligned(b, p_.align_b) || !aligned(d, p_.align_d) || !aligned(c, p_.align_d))
    return InvalidArgument("matmul operands must be aligned to ", p_.align_a, "/", p_.align_b, "/", p_.align_d,
                           " bytes (bind 256-byte aligned engine inputs and outputs)");
  if (has_bias(p_.epilogue)) {
    if (!bias || !aligned(bias, 256)) return InvalidArgument("the matmul bias must be 256-byte aligned");
    KILN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  // Swapped operands: cuBLASLt's A is our B, its B our A.
  KILN_CUBLAS_CHECK(cublasLtMatmul(handle, op_, &alpha, b, layout_a_, a, layout_b_, &beta, c, layout_d_, d, layout_d_,
                                   &algo_, workspace, workspace_bytes, stream));
  return Status::Ok();
}

}  // namespace kiln::mm
