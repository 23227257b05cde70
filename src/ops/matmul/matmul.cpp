// MatMul (numpy matmul), Gemm and MatMulInteger: schemas, shape inference and
// CPU reference kernels. The products run through run_row_product (double for
// floats, wrapping 64-bit integers for integer types), rounded once on store.
#include <optional>

#include "base/checked_math.h"
#include "ops/families.h"
#include "ops/matmul/matmul_internal.h"
#include "ops/op_util.h"

namespace kiln {

using matmul_detail::dtype_in;
using matmul_detail::dtype_list;
using matmul_detail::read_f64;
using matmul_detail::read_u64;
using matmul_detail::RowProduct;
using matmul_detail::run_row_product;

namespace {

constexpr std::initializer_list<DType> kMatMulTypes = {DType::kFloat16,  DType::kFloat32, DType::kFloat64,
                                                       DType::kBFloat16, DType::kInt32,   DType::kInt64};

// "" when `from` broadcasts to `to` without changing it (numpy, right-aligned),
// else what is wrong. Symbolic dims are assumed to fit.
std::string unidirectional_problem(const Shape& from, const Shape& to) {
  if (from.rank() > to.rank()) return str("rank ", from.rank(), " is larger than the target's rank ", to.rank());
  size_t off = to.rank() - from.rank();
  for (size_t i = 0; i < from.rank(); ++i) {
    const Dim& f = from[i];
    const Dim& t = to[off + i];
    if (f.is_static() && t.is_static() && f.value != 1 && f.value != t.value)
      return str("dim ", i, " is ", f.value, " but must be 1 or ", t.value);
  }
  return "";
}

Status check_types(const InferContext& ctx, std::initializer_list<DType> allowed, size_t n) {
  DType t = ctx.input_dtype(0);
  if (!dtype_in(t, allowed))
    return ctx.unsupported("input A has type ", dtype_name(t), "; ", ctx.node().op, " takes ", dtype_list(allowed));
  for (size_t i = 1; i < n; ++i)
    if (ctx.has_input(i) && ctx.input_dtype(i) != t)
      return ctx.error("input ", i, " has type ", dtype_name(ctx.input_dtype(i)), " but input A has ", dtype_name(t),
                       "; they must match");
  return Status::Ok();
}

// ---- MatMul shapes --------------------------------------------------------

// numpy matmul shape rule on possibly symbolic shapes.
Expected<Shape> matmul_shape(const InferContext& ctx, const Shape& a, const Shape& b) {
  if (a.rank() == 0 || b.rank() == 0)
    return ctx.error("inputs must have rank >= 1, got A ", a.to_string(), " and B ", b.to_string());
  std::vector<Dim> a2 = a.dims, b2 = b.dims;
  if (a.rank() == 1) a2.insert(a2.begin(), Dim(1));
  if (b.rank() == 1) b2.push_back(Dim(1));
  const Dim& ka = a2[a2.size() - 1];
  const Dim& kb = b2[b2.size() - 2];
  if (ka.is_static() && kb.is_static() && ka.value != kb.value)
    return ctx.error("inner dimensions do not match: A ", a.to_string(), " has K=", ka.value, " but B ", b.to_string(),
                     " has K=", kb.value);
  Shape a_batch(std::vector<Dim>(a2.begin(), a2.end() - 2));
  Shape b_batch(std::vector<Dim>(b2.begin(), b2.end() - 2));
  auto batch = broadcast_shapes(a_batch, b_batch);
  if (!batch.ok()) return ctx.error("batch dims of A ", a.to_string(), " and B ", b.to_string(), " do not broadcast");
  Shape out = *batch;
  if (a.rank() >= 2) out.dims.push_back(a2[a2.size() - 2]);
  if (b.rank() >= 2) out.dims.push_back(b2[b2.size() - 1]);
  return out;
}

// Static layout of one batched product, checked again at run time (symbolic
// dims were only assumed to fit at inference).
struct MatMulPlan {
  std::vector<int64_t> out_dims;
  std::vector<int64_t> batch_dims, a_batch, b_batch;  // broadcast batch dims, and each operand's
  int64_t batch = 1, m = 1, k = 1, n = 1;
  std::vector<int64_t> a_off, b_off;  // element offset of each batch's A and B matrix
};

Expected<MatMulPlan> plan_matmul(const CpuContext& ctx, std::vector<int64_t> a, std::vector<int64_t> b) {
  if (a.empty() || b.empty())
    return ctx.error("inputs must have rank >= 1, got A ", dims_to_string(a), " and B ", dims_to_string(b));
  bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  MatMulPlan p;
  p.m = a[a.size() - 2];
  p.k = a[a.size() - 1];
  p.n = b[b.size() - 1];
  if (b[b.size() - 2] != p.k)
    return ctx.error("inner dimensions do not match: A has K=", p.k, " but B has K=", b[b.size() - 2]);
  std::vector<int64_t> a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  auto batch = broadcast_dims(a_batch, b_batch);
  if (!batch.ok())
    return ctx.error("batch dims ", dims_to_string(a_batch), " and ", dims_to_string(b_batch), " do not broadcast");
  p.batch_dims = *batch;
  p.a_batch = a_batch;
  p.b_batch = b_batch;
  p.out_dims = *batch;
  if (!a_vec) p.out_dims.push_back(p.m);
  if (!b_vec) p.out_dims.push_back(p.n);
  auto nb = checked_product(*batch);
  if (!nb || !checked_product(p.out_dims)) return ctx.error("output shape ", dims_to_string(p.out_dims), " overflows");
  p.batch = *nb;
  return p;
}

// Fills the per-batch offsets; only called once the output is known non-empty,
// so the batch count is bounded by the allocated output.
void fill_offsets(MatMulPlan& p) {
  BroadcastIndex ai(p.batch_dims, p.a_batch), bi(p.batch_dims, p.b_batch);
  p.a_off.resize(static_cast<size_t>(p.batch));
  p.b_off.resize(static_cast<size_t>(p.batch));
  for (int64_t i = 0; i < p.batch; ++i) {
    p.a_off[static_cast<size_t>(i)] = ai.offset(i) * p.m * p.k;
    p.b_off[static_cast<size_t>(i)] = bi.offset(i) * p.k * p.n;
  }
}

// Runs the plan; store(i, v) receives output element i (row-major) exactly once.
template <typename T>
void batched_product(const std::vector<T>& a, const std::vector<T>& b, const MatMulPlan& p,
                     const std::function<void(int64_t, T)>& store) {
  RowProduct<T> job;
  job.rows = p.batch * p.m;
  job.k = p.k;
  job.n = p.n;
  job.a_row = [&](int64_t r) { return a.data() + p.a_off[static_cast<size_t>(r / p.m)] + (r % p.m) * p.k; };
  job.b_mat = [&](int64_t r) { return b.data() + p.b_off[static_cast<size_t>(r / p.m)]; };
  job.store = [&](int64_t r, int64_t j0, int64_t count, const T* v) {
    for (int64_t j = 0; j < count; ++j) store(r * p.n + j0 + j, v[j]);
  };
  run_row_product(job);
}

// ---- MatMul ---------------------------------------------------------------

Status infer_matmul(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_types(ctx, kMatMulTypes, 2));
  KILN_ASSIGN_OR_RETURN(Shape out, matmul_shape(ctx, ctx.input_shape(0), ctx.input_shape(1)));
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status run_matmul(CpuContext& ctx) {
  const Tensor& A = ctx.input(0);
  const Tensor& B = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(MatMulPlan p, plan_matmul(ctx, A.dims(), B.dims()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, A.dtype(), p.out_dims));
  if (y->numel() == 0 || p.k == 0) return Status::Ok();  // empty, or sums over nothing: zeros
  fill_offsets(p);
  // Threads write disjoint rows through set_f64; y owns its bytes, so no copy-on-write happens.
  if (dtype_is_float(A.dtype())) {
    batched_product<double>(read_f64(A), read_f64(B), p, [&](int64_t i, double v) { y->set_f64(i, v); });
  } else {
    batched_product<uint64_t>(read_u64(A), read_u64(B), p,
                              [&](int64_t i, uint64_t v) { y->set_i64(i, static_cast<int64_t>(v)); });
  }
  return Status::Ok();
}

// ---- MatMulInteger --------------------------------------------------------

// A 1-D zero point of A is per row: it applies as a column [M, 1].
Shape zero_point_shape(const Shape& zp, size_t operand, size_t operand_rank) {
  if (operand == 0 && zp.rank() == 1 && operand_rank >= 2) return Shape({zp[0], Dim(1)});
  return zp;
}

Status infer_matmul_integer(InferContext& ctx) {
  const char* names[] = {"A", "B"};
  for (size_t i = 0; i < 2; ++i) {
    DType t = ctx.input_dtype(i);
    if (!dtype_in(t, {DType::kInt8, DType::kUInt8}))
      return ctx.unsupported("input ", names[i], " has type ", dtype_name(t), "; MatMulInteger takes int8, uint8");
    if (!ctx.has_input(i + 2)) continue;
    if (ctx.input_dtype(i + 2) != t)
      return ctx.error("zero point of ", names[i], " has type ", dtype_name(ctx.input_dtype(i + 2)), " but ", names[i],
                       " has ", dtype_name(t));
    Shape zp = zero_point_shape(ctx.input_shape(i + 2), i, ctx.input_shape(i).rank());
    std::string problem = unidirectional_problem(zp, ctx.input_shape(i));
    if (!problem.empty())
      return ctx.error("zero point of ", names[i], " ", ctx.input_shape(i + 2).to_string(), " does not fit ", names[i],
                       " ", ctx.input_shape(i).to_string(), ": ", problem);
  }
  KILN_ASSIGN_OR_RETURN(Shape out, matmul_shape(ctx, ctx.input_shape(0), ctx.input_shape(1)));
  ctx.set_output(0, DType::kInt32, std::move(out));
  return Status::Ok();
}

// The operand minus its zero point (scalar, per row of A / per column of B, or N-D).
Expected<std::vector<uint64_t>> read_shifted(const CpuContext& ctx, size_t operand) {
  const Tensor& x = ctx.input(operand);
  std::vector<uint64_t> v = read_u64(x);
  if (!ctx.has_input(operand + 2)) return v;
  const Tensor& zp = ctx.input(operand + 2);
  Shape zs = zero_point_shape(zp.shape(), operand, x.dims().size());
  std::string problem = unidirectional_problem(zs, x.shape());
  if (!problem.empty())
    return ctx.error("zero point ", dims_to_string(zp.dims()), " does not fit input ", operand, " ",
                     dims_to_string(x.dims()), ": ", problem);
  BroadcastIndex bi(x.dims(), *zs.static_dims());
  for (int64_t i = 0; i < x.numel(); ++i) v[static_cast<size_t>(i)] -= static_cast<uint64_t>(zp.get_i64(bi.offset(i)));
  return v;
}

Status run_matmul_integer(CpuContext& ctx) {
  const Tensor& A = ctx.input(0);
  const Tensor& B = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(MatMulPlan p, plan_matmul(ctx, A.dims(), B.dims()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, DType::kInt32, p.out_dims));
  KILN_ASSIGN_OR_RETURN(std::vector<uint64_t> a, read_shifted(ctx, 0));
  KILN_ASSIGN_OR_RETURN(std::vector<uint64_t> b, read_shifted(ctx, 1));
  if (y->numel() == 0 || p.k == 0) return Status::Ok();
  fill_offsets(p);
  // int32 output: the 64-bit sum wraps to 32 bits, as the spec allows.
  batched_product<uint64_t>(
      a, b, p, [&](int64_t i, uint64_t v) { y->set_i64(i, static_cast<int32_t>(static_cast<uint32_t>(v))); });
  return Status::Ok();
}

// ---- Gemm -----------------------------------------------------------------

struct GemmAttrs {
  bool trans_a = false, trans_b = false;
  double alpha = 1, beta = 1;
};

Expected<GemmAttrs> gemm_attrs(const Node& node) {
  GemmAttrs g;
  KILN_ASSIGN_OR_RETURN(int64_t ta, node.attr_int("transA", 0));
  KILN_ASSIGN_OR_RETURN(int64_t tb, node.attr_int("transB", 0));
  KILN_ASSIGN_OR_RETURN(float alpha, node.attr_float("alpha", 1.0f));
  KILN_ASSIGN_OR_RETURN(float beta, node.attr_float("beta", 1.0f));
  g.trans_a = ta != 0;
  g.trans_b = tb != 0;
  g.alpha = alpha;
  g.beta = beta;
  return g;
}

Status infer_gemm(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_types(ctx, kMatMulTypes, 3));
  KILN_ASSIGN_OR_RETURN(GemmAttrs g, gemm_attrs(ctx.node()));
  const Shape& a = ctx.input_shape(0);
  const Shape& b = ctx.input_shape(1);
  if (a.rank() != 2 || b.rank() != 2)
    return ctx.error("A and B must be 2-D, got A ", a.to_string(), " and B ", b.to_string());
  Dim m = a[g.trans_a ? 1 : 0], ka = a[g.trans_a ? 0 : 1];
  Dim kb = b[g.trans_b ? 1 : 0], n = b[g.trans_b ? 0 : 1];
  if (ka.is_static() && kb.is_static() && ka.value != kb.value)
    return ctx.error("inner dimensions do not match: A ", a.to_string(), (g.trans_a ? " (transposed)" : ""),
                     " has K=", ka.value, " but B ", b.to_string(), (g.trans_b ? " (transposed)" : ""),
                     " has K=", kb.value);
  Shape out({m, n});
  if (ctx.has_input(2)) {
    std::string problem = unidirectional_problem(ctx.input_shape(2), out);
    if (!problem.empty())
      return ctx.error("C ", ctx.input_shape(2).to_string(), " does not broadcast to the output ", out.to_string(),
                       ": ", problem);
  }
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

// Reads a 2-D operand as a contiguous rows x cols matrix, transposing if asked.
template <typename T>
std::vector<T> read_matrix(const Tensor& t, bool transpose, std::vector<T> (*read)(const Tensor&)) {
  std::vector<T> v = read(t);
  if (!transpose) return v;
  int64_t r = t.dim(0), c = t.dim(1);
  std::vector<T> out(v.size());
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) out[static_cast<size_t>(j * r + i)] = v[static_cast<size_t>(i * c + j)];
  return out;
}

Status run_gemm(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(GemmAttrs g, gemm_attrs(ctx.node()));
  const Tensor& A = ctx.input(0);
  const Tensor& B = ctx.input(1);
  if (A.rank() != 2 || B.rank() != 2)
    return ctx.error("A and B must be 2-D, got A ", dims_to_string(A.dims()), " and B ", dims_to_string(B.dims()));
  MatMulPlan p;
  p.m = A.dim(g.trans_a ? 1 : 0);
  p.k = A.dim(g.trans_a ? 0 : 1);
  p.n = B.dim(g.trans_b ? 0 : 1);
  if (B.dim(g.trans_b ? 1 : 0) != p.k)
    return ctx.error("inner dimensions do not match: A has K=", p.k, " but B has K=", B.dim(g.trans_b ? 1 : 0));
  p.out_dims = {p.m, p.n};
  p.a_off = {0};
  p.b_off = {0};
  const Tensor* C = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (C) {
    std::string problem = unidirectional_problem(C->shape(), Shape::of(p.out_dims));
    if (!problem.empty())
      return ctx.error("C ", dims_to_string(C->dims()), " does not broadcast to the output ",
                       dims_to_string(p.out_dims), ": ", problem);
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, A.dtype(), p.out_dims));
  if (y->numel() == 0) return Status::Ok();
  // As the ONNX reference does, beta == 0 ignores C entirely (NaNs in C do not leak).
  bool use_c = C && g.beta != 0;
  BroadcastIndex ci(p.out_dims, C ? C->dims() : std::vector<int64_t>{});
  if (dtype_is_float(A.dtype()) || g.alpha != 1 || (use_c && g.beta != 1)) {
    std::vector<double> c = use_c ? read_f64(*C) : std::vector<double>{};
    auto store = [&](int64_t i, double v) {
      y->set_f64(i, g.alpha * v + (use_c ? g.beta * c[static_cast<size_t>(ci.offset(i))] : 0.0));
    };
    if (dtype_is_float(A.dtype())) {
      batched_product<double>(read_matrix<double>(A, g.trans_a, read_f64), read_matrix<double>(B, g.trans_b, read_f64),
                              p, store);
    } else {  // integers scaled by a float alpha/beta: exact sum, then scaled in double
      batched_product<uint64_t>(read_matrix<uint64_t>(A, g.trans_a, read_u64),
                                read_matrix<uint64_t>(B, g.trans_b, read_u64), p,
                                [&](int64_t i, uint64_t v) { store(i, static_cast<double>(static_cast<int64_t>(v))); });
    }
    return Status::Ok();
  }
  // Integers with alpha == 1 and beta == 1 (or no C): exact wrapping arithmetic.
  std::vector<uint64_t> c = use_c ? read_u64(*C) : std::vector<uint64_t>{};
  batched_product<uint64_t>(read_matrix<uint64_t>(A, g.trans_a, read_u64),
                            read_matrix<uint64_t>(B, g.trans_b, read_u64), p, [&](int64_t i, uint64_t v) {
                              if (use_c) v += c[static_cast<size_t>(ci.offset(i))];
                              y->set_i64(i, static_cast<int64_t>(v));
                            });
  return Status::Ok();
}

}  // namespace

void register_matmul_core_ops(OpRegistry& r) {
  OpSchema mm;
  mm.name = "MatMul";
  mm.family = "matmul";
  mm.min_inputs = mm.max_inputs = 2;
  mm.infer = infer_matmul;
  mm.cpu = run_matmul;
  r.add(std::move(mm));

  OpSchema gemm;
  gemm.name = "Gemm";
  gemm.family = "matmul";
  gemm.min_inputs = 2;
  gemm.max_inputs = 3;
  gemm.infer = infer_gemm;
  gemm.cpu = run_gemm;
  r.add(std::move(gemm));

  OpSchema mmi;
  mmi.name = "MatMulInteger";
  mmi.family = "matmul";
  mmi.min_inputs = 2;
  mmi.max_inputs = 4;
  mmi.infer = infer_matmul_integer;
  mmi.cpu = run_matmul_integer;
  r.add(std::move(mmi));
}

void register_matmul_ops(OpRegistry& r) {
  register_matmul_core_ops(r);
  register_einsum_op(r);
  register_attention_op(r);
  add_matmul_cases(r);
}

}  // namespace kiln
