// MatMul, Gemm and kiln.FusedMatMul on cuBLASLt ("cublaslt.gemm"), and the
// integer forms (MatMul/Gemm on int32/int64, MatMulInteger) on a reference
// kernel ("kiln.matmul_int").
//
// How a float layer maps onto cuBLASLt (see matmul_lt.h for the row-major
// mapping):
//  - B without batch dims (the [B..., M, K] x [K, N] weight case): ONE GEMM
//    with M' = prod(batch) * M, since A and the output are contiguous.
//  - Batched B: strided-batched calls. The batch is split into an outer loop
//    and an inner strided batch, the inner part being the longest trailing
//    run of batch dims over which both operands advance by a fixed stride (0
//    for a broadcast operand); usually the whole batch is one call.
//  - kiln.FusedMatMul (alpha * A x B, or B^T with transB) + bias(+Relu,
//    +tanh-GELU on fp16/bf16): alpha and transB go to cuBLASLt; the bias runs in cuBLASLt's
//    epilogue when the product is one GEMM; exact (erf) GELU, and tanh GELU
//    in fp32 (whose accuracy cuBLASLt does not document), run as a small
//    in-place kernel after it. Batched products apply bias/activation there too.
//  - Gemm: C shaped like a bias ([N] or [1, N]) with alpha == beta == 1 uses the bias
//    epilogue; any other C is first broadcast into the output, which cuBLASLt
//    then reads as its C (in place) with beta.
//  - K == 0 (and the unlikely case of no cuBLASLt algorithm) runs the float
//    reference kernel, which writes alpha*0 + beta*C + bias and the activation.
#include <cublasLt.h>

#include <algorithm>
#include <climits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_libraries.h"
#include "backends/cuda/kernels/matmul_common.h"
#include "backends/cuda/kernels/matmul_lt.h"

namespace kiln {
namespace {

using mm::Act;

// Operand shapes after numpy's 1-D promotion; batch dims right-aligned and
// padded with 1s to the output's batch rank.
struct MatMulShape {
  int64_t m = 1, k = 1, n = 1;
  std::vector<int64_t> batch, a_batch, b_batch;
};

// What one layer asks for, from its op, attributes and shapes.
struct GemmLayer {
  DType dtype = DType::kFloat32;
  MatMulShape shape;
  std::vector<int64_t> a_dims, b_dims, out_dims;
  bool trans_a = false, trans_b = false;
  float alpha = 1, beta = 0;
  int c_input = -1;  // Gemm's C when given and beta != 0
  std::vector<int64_t> c_dims;
  int bias_input = -1;  // kiln.FusedMatMul's bias [N]
  Act act = Act::kNone;
  int zp_input[2] = {-1, -1};        // MatMulInteger zero points of A and B
  std::vector<int64_t> zp_dims[2];   // as broadcast over the operand
};

bool fail(std::string* why, std::string msg) {
  *why = std::move(msg);
  return false;
}

// `from` broadcasts to `to` without changing it (numpy, right-aligned).
bool broadcasts_to(const std::vector<int64_t>& from, const std::vector<int64_t>& to) {
  if (from.size() > to.size()) return false;
  const size_t off = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[off + i]) return false;
  return true;
}

bool matmul_shape(std::vector<int64_t> a, std::vector<int64_t> b, MatMulShape* s, std::vector<int64_t>* out,
                  std::string* why) {
  if (a.empty() || b.empty()) return fail(why, "A and B must have rank >= 1");
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  s->m = a[a.size() - 2];
  s->k = a[a.size() - 1];
  s->n = b[b.size() - 1];
  if (b[b.size() - 2] != s->k) return fail(why, str("inner dims differ: A has K=", s->k, ", B has ", b[b.size() - 2]));
  std::vector<int64_t> ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  const size_t r = std::max(ab.size(), bb.size());
  ab.insert(ab.begin(), r - ab.size(), 1);
  bb.insert(bb.begin(), r - bb.size(), 1);
  s->batch.assign(r, 1);
  for (size_t i = 0; i < r; ++i) {
    if (ab[i] == bb[i] || bb[i] == 1) {
      s->batch[i] = ab[i];
    } else if (ab[i] == 1) {
      s->batch[i] = bb[i];
    } else {
      return fail(why, "batch dims do not broadcast");
    }
  }
  s->a_batch = ab;
  s->b_batch = bb;
  *out = s->batch;
  if (!a_vec) out->push_back(s->m);
  if (!b_vec) out->push_back(s->n);
  return true;
}

// A zero point's shape as it broadcasts over its operand: a 1-D zero point of
// A (rank >= 2) is per row, i.e. [M, 1].
std::vector<int64_t> zero_point_dims(const std::vector<int64_t>& zp, int operand, size_t operand_rank) {
  if (operand == 0 && zp.size() == 1 && operand_rank >= 2) return {zp[0], 1};
  return zp;
}

bool describe(const LayerView& v, GemmLayer* g, std::string* why) {
  const std::string& op = v.layer.op;
  const size_t max_inputs = op == "MatMul" ? 2 : op == "MatMulInteger" ? 4 : 3;
  if (v.outputs.size() != 1) return fail(why, "expects exactly one output");
  if (v.inputs.size() < 2 || v.inputs.size() > max_inputs || !v.has_input(0) || !v.has_input(1))
    return fail(why, str("expects inputs A and B and at most ", max_inputs, " inputs"));
  if (!mm::all_linear(v)) return fail(why, "needs linear layouts");
  g->dtype = v.in(0).dtype;
  g->a_dims = v.in(0).dims;
  g->b_dims = v.in(1).dims;
  MatMulShape& s = g->shape;
  if (op == "Gemm") {
    int64_t ta = 0, tb = 0;
    float alpha = 1, beta = 1;
    if (!mm::attr_int(v.layer, "transA", 0, &ta, why) || !mm::attr_int(v.layer, "transB", 0, &tb, why) ||
        !mm::attr_float(v.layer, "alpha", 1.f, &alpha, why) || !mm::attr_float(v.layer, "beta", 1.f, &beta, why))
      return false;
    if (g->a_dims.size() != 2 || g->b_dims.size() != 2) return fail(why, "Gemm's A and B must be 2-D");
    g->trans_a = ta != 0;
    g->trans_b = tb != 0;
    s.m = g->a_dims[g->trans_a ? 1 : 0];
    s.k = g->a_dims[g->trans_a ? 0 : 1];
    s.n = g->b_dims[g->trans_b ? 0 : 1];
    if (g->b_dims[g->trans_b ? 1 : 0] != s.k) return fail(why, "inner dims of A and B differ");
    g->alpha = alpha;
    g->beta = beta;
    g->out_dims = {s.m, s.n};
    // beta == 0 ignores C, as the reference does (NaNs in C do not leak).
    if (v.has_input(2) && beta != 0.f) {
      g->c_input = 2;
      g->c_dims = v.in(2).dims;
      if (!broadcasts_to(g->c_dims, g->out_dims)) return fail(why, "C does not broadcast to [M, N]");
    }
  } else {
    std::vector<int64_t> b_logical = g->b_dims;
    if (op == "kiln.FusedMatMul") {
      int64_t tb = 0;
      if (!mm::attr_int(v.layer, "transB", 0, &tb, why) || !mm::attr_float(v.layer, "alpha", 1.f, &g->alpha, why))
        return false;
      if (tb != 0) {
        if (b_logical.size() < 2) return fail(why, "transB needs a B of rank >= 2");
        std::swap(b_logical[b_logical.size() - 1], b_logical[b_logical.size() - 2]);
        g->trans_b = true;  // each B matrix is stored [n, k]
      }
    }
    if (!matmul_shape(g->a_dims, b_logical, &s, &g->out_dims, why)) return false;
    if (op == "kiln.FusedMatMul") {
      std::string act, approx;
      if (!mm::attr_string(v.layer, "activation", "", &act, why) ||
          !mm::attr_string(v.layer, "approximate", "none", &approx, why))
        return false;
      if (act == "Relu") {
        g->act = Act::kRelu;
      } else if (act == "Gelu" && (approx == "none" || approx == "tanh")) {
        g->act = approx == "tanh" ? Act::kGeluTanh : Act::kGeluErf;
      } else if (!act.empty()) {
        return fail(why, str("activation '", act, "' (approximate '", approx, "') is not supported"));
      }
      if (v.has_input(2)) {
        // The bias adds along the output's last dim, which is N only when B is a matrix.
        if (g->b_dims.size() < 2 || v.in(2).dims != std::vector<int64_t>{s.n})
          return fail(why, "bias must be [N] with a B of rank >= 2");
        g->bias_input = 2;
      }
    }
    if (op == "MatMulInteger") {
      for (int i = 0; i < 2; ++i) {
        if (!v.has_input(2 + static_cast<size_t>(i))) continue;
        const std::vector<int64_t>& x = i == 0 ? g->a_dims : g->b_dims;
        g->zp_input[i] = 2 + i;
        g->zp_dims[i] = zero_point_dims(v.in(2 + static_cast<size_t>(i)).dims, i, x.size());
        if (!broadcasts_to(g->zp_dims[i], x)) return fail(why, "a zero point does not broadcast to its operand");
        if (x.size() > static_cast<size_t>(cuda::kMaxRank))
          return fail(why, str("operands with zero points are limited to rank ", cuda::kMaxRank));
      }
    }
  }
  if (v.out(0).dims != g->out_dims) return fail(why, "output dims differ from the product's");
  if (s.batch.size() > static_cast<size_t>(cuda::kMaxRank))
    return fail(why, str("more than ", cuda::kMaxRank, " batch dims"));
  const int64_t nb = mm::product(s.batch);
  if (s.m > INT32_MAX || s.n > INT32_MAX || s.k > INT32_MAX || (s.m > 0 && nb > INT32_MAX / s.m))
    return fail(why, "dims beyond 2^31 - 1");
  return true;
}

// Parameters of the reference kernels for the layer (pointers set at enqueue).
mm::RefGemmParams ref_params(const GemmLayer& g) {
  const MatMulShape& s = g.shape;
  mm::RefGemmParams p;
  p.batch = mm::product(s.batch);
  p.m = s.m;
  p.n = s.n;
  p.k = s.k;
  p.a_batch = cuda::make_broadcast_map(s.batch, s.a_batch);
  p.b_batch = cuda::make_broadcast_map(s.batch, s.b_batch);
  p.a_sm = g.trans_a ? 1 : s.k;  // A stored [k, m] when transposed
  p.a_sk = g.trans_a ? s.m : 1;
  p.b_sk = g.trans_b ? 1 : s.n;  // B stored [n, k] when transposed
  p.b_sn = g.trans_b ? s.k : 1;
  if (g.c_input >= 0) p.c_map = cuda::make_broadcast_map({s.m, s.n}, g.c_dims);
  p.alpha = g.alpha;
  p.beta = g.c_input >= 0 ? g.beta : 0.0;
  p.int_scaled = g.alpha != 1.f || (g.c_input >= 0 && g.beta != 1.f);
  p.act = g.act;
  if (g.zp_input[0] >= 0) p.zp_a_map = cuda::make_broadcast_map(g.a_dims, g.zp_dims[0]);
  if (g.zp_input[1] >= 0) p.zp_b_map = cuda::make_broadcast_map(g.b_dims, g.zp_dims[1]);
  return p;
}

// ---- cuBLASLt plan ----------------------------------------------------------

struct LtPlan {
  mm::LtProblem prob;
  std::vector<int64_t> a_off, b_off, d_off;  // element offsets of each call
};

// For each output batch index, the matrix index of A and of B.
void batch_indices(const MatMulShape& s, std::vector<int64_t>* ai, std::vector<int64_t>* bi) {
  const size_t r = s.batch.size();
  std::vector<int64_t> sa(r, 0), sb(r, 0);  // strides in matrices, 0 where the operand broadcasts
  int64_t ma = 1, mb = 1;
  for (size_t d = r; d-- > 0;) {
    sa[d] = s.a_batch[d] == 1 ? 0 : ma;
    sb[d] = s.b_batch[d] == 1 ? 0 : mb;
    ma *= s.a_batch[d];
    mb *= s.b_batch[d];
  }
  const int64_t nb = mm::product(s.batch);
  ai->assign(static_cast<size_t>(nb), 0);
  bi->assign(static_cast<size_t>(nb), 0);
  for (int64_t i = 0; i < nb; ++i) {
    int64_t rem = i;
    for (size_t d = r; d-- > 0;) {
      const int64_t idx = rem % s.batch[d];
      rem /= s.batch[d];
      (*ai)[static_cast<size_t>(i)] += idx * sa[d];
      (*bi)[static_cast<size_t>(i)] += idx * sb[d];
    }
  }
}

// True if within every block of `inner` consecutive batch indices the matrix
// index advances by one fixed `stride` (the same for all blocks).
bool linear_blocks(const std::vector<int64_t>& idx, int64_t inner, int64_t* stride) {
  *stride = inner > 1 ? idx[1] - idx[0] : 0;
  if (*stride < 0) return false;
  for (size_t o = 0; o < idx.size(); o += static_cast<size_t>(inner))
    for (int64_t j = 0; j < inner; ++j)
      if (idx[o + static_cast<size_t>(j)] != idx[o] + j * *stride) return false;
  return true;
}

LtPlan plan_lt(const GemmLayer& g) {
  const MatMulShape& s = g.shape;
  LtPlan p;
  p.prob.dtype = g.dtype;
  p.prob.k = s.k;
  p.prob.n = s.n;
  p.prob.trans_a = g.trans_a;
  p.prob.trans_b = g.trans_b;
  const int64_t nb = mm::product(s.batch);
  bool b_shared = true;
  for (int64_t d : s.b_batch) b_shared = b_shared && d == 1;
  if (b_shared) {
    // A [nb * m, k] and the output [nb * m, n] are contiguous: one GEMM.
    p.prob.m = nb * s.m;
    p.a_off = {0};
    p.b_off = {0};
    p.d_off = {0};
  } else {
    std::vector<int64_t> ai, bi;
    batch_indices(s, &ai, &bi);
    int64_t inner = 1, sa = 0, sb = 0;
    for (size_t r = 0; r <= s.batch.size(); ++r) {  // r == rank gives inner == 1, always linear
      const int64_t in = mm::product(std::vector<int64_t>(s.batch.begin() + static_cast<std::ptrdiff_t>(r), s.batch.end()));
      int64_t xa = 0, xb = 0;
      if (in <= INT32_MAX && linear_blocks(ai, in, &xa) && linear_blocks(bi, in, &xb)) {
        inner = in;
        sa = xa;
        sb = xb;
        break;
      }
    }
    p.prob.m = s.m;
    p.prob.batch = static_cast<int32_t>(inner);
    p.prob.stride_a = sa * s.m * s.k;
    p.prob.stride_b = sb * s.k * s.n;
    p.prob.stride_d = s.m * s.n;
    for (int64_t o = 0; o < nb; o += inner) {
      p.a_off.push_back(ai[static_cast<size_t>(o)] * s.m * s.k);
      p.b_off.push_back(bi[static_cast<size_t>(o)] * s.k * s.n);
      p.d_off.push_back(o * s.m * s.n);
    }
  }
  // Alignment the operands' pointers keep (the tensors themselves are 256-byte aligned).
  const uint64_t esz = dtype_size(g.dtype);
  auto align = [&](const std::vector<int64_t>& offs, int64_t stride) {
    uint32_t a = 256;
    for (int64_t o : offs) a = std::min(a, mm::alignment_of(static_cast<uint64_t>(o) * esz));
    if (p.prob.batch > 1) a = std::min(a, mm::alignment_of(static_cast<uint64_t>(stride) * esz));
    return a;
  };
  p.prob.align_a = align(p.a_off, p.prob.stride_a);
  p.prob.align_b = align(p.b_off, p.prob.stride_b);
  p.prob.align_d = align(p.d_off, p.prob.stride_d);
  return p;
}

// ---- the cuBLASLt kernel ----------------------------------------------------

class LtMatMulKernel : public CudaKernel {
 public:
  GemmLayer g;
  int64_t total = 0;
  bool nothing = false;  // empty output
  bool use_ref = false;  // reference kernel instead of cuBLASLt
  mm::RefGemmParams ref;
  std::unique_ptr<mm::LtGemm> gemm;
  std::vector<int64_t> a_off, b_off, d_off;
  float alpha = 1, beta = 0;
  int lt_bias_input = -1;  // input read by cuBLASLt's bias epilogue
  bool prefill_c = false;  // output = broadcast C before the GEMM (beta applied by cuBLASLt)
  cuda::BroadcastMap c_map;
  bool post = false;  // bias/activation kernel after the GEMM
  int post_bias_input = -1;
  Act post_act = Act::kNone;

  Status enqueue(const LaunchArgs& a) override {
    if (nothing) return Status::Ok();
    auto input = [&](int i) { return i >= 0 ? a.inputs[static_cast<size_t>(i)] : nullptr; };
    const DType t = g.dtype;
    if (use_ref) {
      mm::RefGemmParams p = ref;
      p.c = input(g.c_input);
      p.bias = input(g.bias_input);
      return mm::launch_ref_gemm_float(t, a.inputs[0], a.inputs[1], a.outputs[0], p, a.stream);
    }
    if (!a.libs) return Internal("cuBLASLt layer enqueued without libraries");
    KILN_ASSIGN_OR_RETURN(cublasLtHandle_t handle, a.libs->cublaslt());
    if (prefill_c)
      KILN_RETURN_IF_ERROR(mm::launch_epilogue(t, a.outputs[0], total, g.shape.n, input(g.c_input), c_map, 1.f, nullptr,
                                               Act::kNone, a.stream));
    const uint64_t esz = dtype_size(t);
    const auto* A = static_cast<const uint8_t*>(a.inputs[0]);
    const auto* B = static_cast<const uint8_t*>(a.inputs[1]);
    auto* D = static_cast<uint8_t*>(a.outputs[0]);
    for (size_t i = 0; i < a_off.size(); ++i) {
      KILN_RETURN_IF_ERROR(gemm->run(handle, alpha, beta, A + static_cast<uint64_t>(a_off[i]) * esz,
                                     B + static_cast<uint64_t>(b_off[i]) * esz, D + static_cast<uint64_t>(d_off[i]) * esz,
                                     input(lt_bias_input), a.workspace, a.workspace_bytes, a.stream));
    }
    if (post)
      KILN_RETURN_IF_ERROR(mm::launch_epilogue(t, a.outputs[0], total, g.shape.n, a.outputs[0], cuda::BroadcastMap(),
                                               1.f, input(post_bias_input), post_act, a.stream));
    return Status::Ok();
  }
};

// Decides how the layer runs: nothing, the reference kernel, or cuBLASLt
// described by `plan` (epilogue included) with C prefill and post kernel flags.
Status configure(const LayerView& v, LtMatMulKernel* k, LtPlan* plan) {
  std::string why;
  if (!describe(v, &k->g, &why)) return Unsupported(v.layer.op, ": ", why);
  const GemmLayer& g = k->g;
  k->total = mm::product(g.out_dims);
  if (k->total == 0) {
    k->nothing = true;
    return Status::Ok();
  }
  k->ref = ref_params(g);
  if (g.shape.k == 0) {  // sums over nothing: only C, bias and the activation remain
    k->use_ref = true;
    return Status::Ok();
  }
  *plan = plan_lt(g);
  const bool single = plan->prob.batch == 1 && plan->a_off.size() == 1;
  const std::vector<int64_t> row_c = {g.shape.n}, row_c2 = {1, g.shape.n};
  k->alpha = g.alpha;
  if (g.c_input >= 0) {
    // alpha == 1 too, so that no question arises whether cuBLASLt scales the bias.
    if (g.alpha == 1.f && g.beta == 1.f && single && (g.c_dims == row_c || g.c_dims == row_c2)) {
      plan->prob.epilogue = CUBLASLT_EPILOGUE_BIAS;
      k->lt_bias_input = g.c_input;
    } else {
      k->prefill_c = true;
      k->c_map = cuda::make_broadcast_map(g.out_dims, g.c_dims);
      k->beta = g.beta;
    }
  }
  // With alpha != 1 the bias is added after the GEMM, so no question arises
  // whether cuBLASLt scales it.
  if (g.bias_input >= 0 && single && g.alpha == 1.f) {
    k->lt_bias_input = g.bias_input;
    plan->prob.epilogue = CUBLASLT_EPILOGUE_BIAS;
    if (g.act == Act::kRelu) {
      plan->prob.epilogue = CUBLASLT_EPILOGUE_RELU_BIAS;
    } else if (g.act == Act::kGeluTanh && g.dtype != DType::kFloat32) {
      plan->prob.epilogue = CUBLASLT_EPILOGUE_GELU_BIAS;
    } else if (g.act != Act::kNone) {
      k->post = true;
      k->post_act = g.act;
    }
  } else if (g.bias_input >= 0 || g.act != Act::kNone) {
    k->post = true;
    k->post_bias_input = g.bias_input;
    k->post_act = g.act;
  }
  k->a_off = plan->a_off;
  k->b_off = plan->b_off;
  k->d_off = plan->d_off;
  return Status::Ok();
}

// Builds the kernel; `algos` (if given) receives the number of cuBLASLt
// heuristic results (0 where cuBLASLt is not used).
Expected<std::unique_ptr<LtMatMulKernel>> make_lt_kernel(const LayerView& v, cublasLtHandle_t handle, int64_t tactic,
                                                         int* algos) {
  if (algos) *algos = 0;
  auto k = std::make_unique<LtMatMulKernel>();
  LtPlan plan;
  KILN_RETURN_IF_ERROR(configure(v, k.get(), &plan));
  if (k->nothing || k->use_ref) return k;
  k->gemm = std::make_unique<mm::LtGemm>();
  KILN_ASSIGN_OR_RETURN(int found, k->gemm->init(handle, plan.prob, tactic, mm::kLtWorkspaceBytes));
  if (algos) *algos = found;
  if (found == 0) {  // no cuBLASLt algorithm: the reference kernel computes the whole layer
    k->gemm.reset();
    k->use_ref = true;
  }
  return k;
}

bool lt_supports(const LayerView& v, std::string* why) {
  GemmLayer g;
  if (!describe(v, &g, why)) return false;
  if (!mm::is_gpu_float(g.dtype)) return fail(why, str("cuBLASLt path takes float32/float16/bfloat16, got ", dtype_name(g.dtype)));
  for (size_t i = 0; i < v.inputs.size(); ++i)
    if (v.has_input(i) && v.in(i).dtype != g.dtype) return fail(why, "inputs differ in type");
  if (v.out(0).dtype != g.dtype) return fail(why, "output type differs from the inputs'");
  return true;
}

std::vector<std::vector<int64_t>> lt_tactics(const LayerView& v) {
  // The heuristic list needs a handle; the builder runs on the target GPU.
  // Without one (or on any error) the layer gets the single default tactic.
  cublasLtHandle_t handle = nullptr;
  if (cublasLtCreate(&handle) != CUBLAS_STATUS_SUCCESS) return {{0}};
  int found = 0;
  {
    auto k = make_lt_kernel(v, handle, 0, &found);  // its descriptors go before the handle
    if (!k.ok()) found = 0;
  }
  cublasLtDestroy(handle);
  std::vector<std::vector<int64_t>> out;
  for (int i = 0; i < std::max(1, found); ++i) out.push_back({i});
  return out;
}

// ---- integer reference kernel -----------------------------------------------

class IntMatMulKernel : public CudaKernel {
 public:
  GemmLayer g;
  DType ta = DType::kInt32, tb = DType::kInt32, ty = DType::kInt32;
  mm::RefGemmParams ref;
  bool nothing = false;

  Status enqueue(const LaunchArgs& a) override {
    if (nothing) return Status::Ok();
    auto input = [&](int i) { return i >= 0 ? a.inputs[static_cast<size_t>(i)] : nullptr; };
    mm::RefGemmParams p = ref;
    p.c = input(g.c_input);
    p.zp_a = input(g.zp_input[0]);
    p.zp_b = input(g.zp_input[1]);
    return mm::launch_ref_gemm_int(ta, tb, ty, a.inputs[0], a.inputs[1], a.outputs[0], p, a.stream);
  }
};

bool int_supports(const LayerView& v, std::string* why) {
  GemmLayer g;
  if (!describe(v, &g, why)) return false;
  const DType ta = v.in(0).dtype, tb = v.in(1).dtype, ty = v.out(0).dtype;
  if (v.layer.op == "MatMulInteger") {
    auto byte = [](DType t) { return t == DType::kInt8 || t == DType::kUInt8; };
    if (!byte(ta) || !byte(tb) || ty != DType::kInt32) return fail(why, "MatMulInteger takes int8/uint8 and gives int32");
    for (int i = 0; i < 2; ++i)
      if (g.zp_input[i] >= 0 && v.in(static_cast<size_t>(g.zp_input[i])).dtype != (i == 0 ? ta : tb))
        return fail(why, "a zero point's type differs from its operand's");
    return true;
  }
  if (ta != DType::kInt32 && ta != DType::kInt64) return fail(why, str("integer path takes int32/int64, got ", dtype_name(ta)));
  if (tb != ta || ty != ta || (g.c_input >= 0 && v.in(2).dtype != ta)) return fail(why, "inputs and output differ in type");
  return true;
}

Expected<std::unique_ptr<CudaKernel>> make_int_kernel(const LayerView& v) {
  std::string why;
  auto k = std::make_unique<IntMatMulKernel>();
  if (!int_supports(v, &why)) return Unsupported(v.layer.op, ": ", why);
  if (!describe(v, &k->g, &why)) return Unsupported(v.layer.op, ": ", why);
  k->ta = v.in(0).dtype;
  k->tb = v.in(1).dtype;
  k->ty = v.out(0).dtype;
  k->ref = ref_params(k->g);
  k->nothing = mm::product(k->g.out_dims) == 0;
  return std::unique_ptr<CudaKernel>(std::move(k));
}

}  // namespace

void register_matmul_gemm_kernels(CudaKernelRegistry& r) {
  CudaKernelDef lt;
  lt.id = "cublaslt.gemm";
  lt.ops = {"MatMul", "Gemm", "kiln.FusedMatMul"};
  lt.supports = lt_supports;
  lt.workspace = [](const LayerView& v) -> uint64_t {
    GemmLayer g;
    std::string why;
    if (!describe(v, &g, &why) || mm::product(g.out_dims) == 0 || g.shape.k == 0) return 0;
    return mm::kLtWorkspaceBytes;
  };
  lt.tactics = lt_tactics;
  lt.create = [](const LayerView& v, CudaLibraries& libs) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(cublasLtHandle_t handle, libs.cublaslt());
    const int64_t tactic = v.layer.tactic.empty() ? 0 : v.layer.tactic[0];
    KILN_ASSIGN_OR_RETURN(auto k, make_lt_kernel(v, handle, tactic, nullptr));
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  lt.priority = 10;
  r.add(std::move(lt));

  CudaKernelDef in;
  in.id = "kiln.matmul_int";
  in.ops = {"MatMul", "Gemm", "MatMulInteger"};
  in.supports = int_supports;
  in.create = [](const LayerView& v, CudaLibraries&) { return make_int_kernel(v); };
  r.add(std::move(in));
}

}  // namespace kiln
