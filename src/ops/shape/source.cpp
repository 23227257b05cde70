// Ops whose output comes from shapes or attributes rather than input
// elements: Shape, Size, ConstantOfShape, Range, Constant, and Dropout (which
// in inference passes its input through).
#include <algorithm>
#include <cmath>
#include <utility>

#include "base/checked_math.h"
#include "ops/shape/shape_util.h"

namespace kiln::shape_family {
namespace {

// ---- Shape / Size ----

// [start, end) of the dims Shape returns; both clamp into [0, rank].
Expected<std::pair<int64_t, int64_t>> shape_range(const Node& node, int64_t rank) {
  KILN_ASSIGN_OR_RETURN(int64_t start, node.attr_int("start", 0));
  KILN_ASSIGN_OR_RETURN(int64_t end, node.attr_int("end", rank));
  auto fix = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  start = fix(start);
  end = std::max(fix(end), start);
  return std::make_pair(start, end);
}

Status infer_shape(InferContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto range, shape_range(ctx.node(), ctx.input_rank(0)));
  std::vector<int64_t> values;
  bool known = true;
  for (int64_t i = range.first; i < range.second; ++i) {
    const Dim& d = in[static_cast<size_t>(i)];
    known &= d.is_static();
    values.push_back(d.value);
  }
  int64_t len = range.second - range.first;
  // Static dims fold into a constant, so shape arithmetic folds at import.
  if (known)
    ctx.set_output_value(0, i64_tensor(values, {len}));
  else
    ctx.set_output(0, DType::kInt64, Shape::of({len}));
  return Status::Ok();
}

Status cpu_shape(CpuContext& ctx) {
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(auto range, shape_range(ctx.node(), in.rank()));
  std::vector<int64_t> values(in.dims().begin() + range.first, in.dims().begin() + range.second);
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, DType::kInt64, {range.second - range.first}));
  for (size_t i = 0; i < values.size(); ++i) out->set_i64(static_cast<int64_t>(i), values[i]);
  return Status::Ok();
}

Status infer_size(InferContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  if (!in.is_static()) {
    ctx.set_output(0, DType::kInt64, Shape());
    return Status::Ok();
  }
  auto n = in.numel();
  if (!n.ok()) return n.status().with_context(ctx.node().label());
  ctx.set_output_value(0, Tensor::scalar_i64(*n));
  return Status::Ok();
}

Status cpu_size(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, DType::kInt64, {}));
  out->set_i64(0, ctx.input(0).numel());
  return Status::Ok();
}

// ---- ConstantOfShape ----

// The fill value: the `value` attribute (one element of any type) or float 0.
Expected<Tensor> fill_value(const Node& node) {
  const Attr* a = node.find_attr("value");
  if (!a) return f32_tensor({0.0f}, {1});
  if (a->kind != AttrKind::kTensor)
    return node.error(ErrorCode::kInvalidArgument, "attribute 'value' must be a tensor, got ",
                      attr_kind_name(a->kind));
  if (a->t.dtype() == DType::kUndefined) return node.error(ErrorCode::kUnsupported, "'value' has no supported type");
  if (a->t.numel() != 1)
    return node.error(ErrorCode::kInvalidArgument, "'value' must hold one element, got ", a->t.numel());
  return a->t;
}

Expected<std::vector<int64_t>> checked_dims(const Node& node, std::vector<int64_t> dims) {
  for (int64_t d : dims)
    if (d < 0) return node.error(ErrorCode::kInvalidArgument, "shape value ", d, " is negative");
  return dims;
}

Status infer_constant_of_shape(InferContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Tensor value, fill_value(ctx.node()));
  KILN_RETURN_IF_ERROR(check_int_list_input(ctx, 0, "shape"));
  KILN_ASSIGN_OR_RETURN(auto dims, const_ints(ctx, 0, "shape", true));
  if (dims) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> d, checked_dims(ctx.node(), *dims));
    ctx.set_output(0, value.dtype(), Shape::of(d));
    return Status::Ok();
  }
  const Dim& len = ctx.input_shape(0)[0];
  if (!len.is_static()) {
    ctx.set_output_unknown_rank(0, value.dtype());
    return Status::Ok();
  }
  Shape out;
  for (int64_t i = 0; i < len.value; ++i) out.dims.push_back(ctx.unknown_dim());
  ctx.set_output(0, value.dtype(), std::move(out));
  return Status::Ok();
}

Status cpu_constant_of_shape(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Tensor value, fill_value(ctx.node()));
  KILN_ASSIGN_OR_RETURN(auto raw, int_values(ctx.node(), ctx.input(0), "shape", true));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, checked_dims(ctx.node(), raw));
  // alloc_output refuses outputs over the size limit (allocation bombs).
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, value.dtype(), dims));
  const size_t elem = dtype_size(value.dtype());
  bool zero = true;
  for (size_t b = 0; b < elem; ++b) zero &= value.bytes()[b] == 0;
  if (zero) return Status::Ok();  // outputs start zeroed
  uint8_t* dst = out->mutable_bytes();
  for (int64_t i = 0; i < out->numel(); ++i) copy_elems(dst, i, value.bytes(), 0, 1, elem);
  return Status::Ok();
}

// ---- Range ----

bool range_dtype_ok(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 || t == DType::kBFloat16 ||
         t == DType::kInt32 || t == DType::kInt64;
}

// Number of elements of Range(start, limit, delta): max(ceil((limit - start)
// / delta), 0), computed without overflow.
Expected<int64_t> range_count(const Node& node, const Tensor& start, const Tensor& limit, const Tensor& delta) {
  if (dtype_is_float(start.dtype())) {
    double s = start.get_f64(0), l = limit.get_f64(0), d = delta.get_f64(0);
    if (!std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d))
      return node.error(ErrorCode::kInvalidArgument, "start, limit and delta must be finite");
    if (d == 0) return node.error(ErrorCode::kInvalidArgument, "delta is 0");
    double q = std::ceil((l - s) / d);
    if (!(q < 9.0e18)) return node.error(ErrorCode::kOutOfRange, "range of ", q, " elements is too large");
    return q > 0 ? static_cast<int64_t>(q) : 0;
  }
  int64_t s = start.get_i64(0), l = limit.get_i64(0), d = delta.get_i64(0);
  if (d == 0) return node.error(ErrorCode::kInvalidArgument, "delta is 0");
  if (d > 0 ? l <= s : l >= s) return int64_t{0};
  // Unsigned differences cannot overflow here.
  uint64_t diff = d > 0 ? static_cast<uint64_t>(l) - static_cast<uint64_t>(s)
                        : static_cast<uint64_t>(s) - static_cast<uint64_t>(l);
  uint64_t step = d > 0 ? static_cast<uint64_t>(d) : uint64_t{0} - static_cast<uint64_t>(d);
  uint64_t n = 1 + (diff - 1) / step;
  if (n > static_cast<uint64_t>(INT64_MAX))
    return node.error(ErrorCode::kOutOfRange, "range of ", n, " elements is too large");
  return static_cast<int64_t>(n);
}

Status infer_range(InferContext& ctx) {
  DType t = ctx.input_dtype(0);
  if (!range_dtype_ok(t)) return ctx.error("Range does not take ", dtype_name(t));
  const char* names[] = {"start", "limit", "delta"};
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.input_dtype(i) != t)
      return ctx.error(names[i], " is ", dtype_name(ctx.input_dtype(i)), ", start is ", dtype_name(t));
    const Shape& s = ctx.input_shape(i);
    bool scalar = s.rank() == 0 || (s.rank() == 1 && s[0].is_static() && s[0].value == 1);
    if (!scalar) return ctx.error(names[i], " must be a scalar, got ", s.to_string());
  }
  const Tensor* s = ctx.input_value(0);
  const Tensor* l = ctx.input_value(1);
  const Tensor* d = ctx.input_value(2);
  if (s && l && d) {
    KILN_ASSIGN_OR_RETURN(int64_t n, range_count(ctx.node(), *s, *l, *d));
    ctx.set_output(0, t, Shape::of({n}));
  } else {
    ctx.set_output(0, t, Shape({ctx.unknown_dim()}));
  }
  return Status::Ok();
}

Status cpu_range(CpuContext& ctx) {
  const Tensor& s = ctx.input(0);
  const Tensor& l = ctx.input(1);
  const Tensor& d = ctx.input(2);
  if (!range_dtype_ok(s.dtype()) || l.dtype() != s.dtype() || d.dtype() != s.dtype())
    return ctx.error("start, limit and delta must share a numeric type");
  if (s.numel() != 1 || l.numel() != 1 || d.numel() != 1) return ctx.error("start, limit and delta must be scalars");
  KILN_ASSIGN_OR_RETURN(int64_t n, range_count(ctx.node(), s, l, d));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, s.dtype(), {n}));
  if (dtype_is_float(s.dtype())) {
    double start = s.get_f64(0), delta = d.get_f64(0);
    for (int64_t i = 0; i < n; ++i) out->set_f64(i, start + static_cast<double>(i) * delta);
  } else {
    // Every value lies between start and limit; unsigned math avoids UB on the way.
    uint64_t start = static_cast<uint64_t>(s.get_i64(0)), delta = static_cast<uint64_t>(d.get_i64(0));
    for (int64_t i = 0; i < n; ++i) out->set_i64(i, static_cast<int64_t>(start + static_cast<uint64_t>(i) * delta));
  }
  return Status::Ok();
}

// ---- Constant ----

Expected<Tensor> constant_value(const Node& node) {
  for (const char* key : {"sparse_value", "value_string", "value_strings"})
    if (node.has_attr(key)) return node.error(ErrorCode::kUnsupported, "attribute '", key, "' is not supported");
  int given = 0;
  for (const char* key : {"value", "value_float", "value_floats", "value_int", "value_ints"}) given += node.has_attr(key);
  if (given != 1)
    return node.error(ErrorCode::kInvalidArgument, "needs exactly one of value, value_float(s), value_int(s); got ",
                      given);
  if (node.has_attr("value_float")) {
    KILN_ASSIGN_OR_RETURN(float f, node.attr_float("value_float", 0.0f));
    return f32_tensor({f}, {});
  }
  if (node.has_attr("value_floats")) {
    KILN_ASSIGN_OR_RETURN(std::vector<float> v, node.attr_floats("value_floats"));
    return f32_tensor(v, {static_cast<int64_t>(v.size())});
  }
  if (node.has_attr("value_int")) {
    KILN_ASSIGN_OR_RETURN(int64_t i, node.attr_int("value_int", 0));
    return Tensor::scalar_i64(i);
  }
  if (node.has_attr("value_ints")) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, node.attr_ints("value_ints"));
    return i64_tensor(v, {static_cast<int64_t>(v.size())});
  }
  const Attr* a = node.find_attr("value");
  if (a->kind != AttrKind::kTensor)
    return node.error(ErrorCode::kInvalidArgument, "attribute 'value' must be a tensor, got ",
                      attr_kind_name(a->kind));
  if (a->t.dtype() == DType::kUndefined) return node.error(ErrorCode::kUnsupported, "'value' has no supported type");
  return a->t;
}

Status infer_constant(InferContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Tensor t, constant_value(ctx.node()));
  ctx.set_output_value(0, std::move(t));
  return Status::Ok();
}

Status cpu_constant(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Tensor t, constant_value(ctx.node()));
  ctx.set_output(0, std::move(t));
  return Status::Ok();
}

// ---- Dropout (inference only) ----

Status infer_dropout(InferContext& ctx) {
  DType t = ctx.input_dtype(0);
  bool fp8 = t == DType::kFloat8E4M3FN || t == DType::kFloat8E5M2;
  if (!dtype_is_float(t) || (fp8 && ctx.node().opset < 22))
    return ctx.error("data must be a float type, got ", dtype_name(t));
  if (ctx.has_input(1) && (!dtype_is_float(ctx.input_dtype(1)) || ctx.input_rank(1) != 0))
    return ctx.error("ratio must be a float scalar");
  if (ctx.has_input(2)) {
    if (ctx.input_dtype(2) != DType::kBool || ctx.input_rank(2) != 0)
      return ctx.error("training_mode must be a bool scalar");
    const Tensor* training = ctx.input_value(2);
    const Tensor* ratio = ctx.input_value(1);
    double r = ratio ? ratio->get_f64(0) : ctx.has_input(1) ? -1.0 : 0.5;
    // Training with a ratio of 0 drops nothing; anything else is random.
    if (training && training->get_i64(0) != 0 && r != 0)
      return ctx.unsupported("training_mode=true (random dropout) is not supported");
  }
  ctx.set_output(0, t, ctx.input_shape(0));
  if (ctx.num_outputs() > 1) ctx.set_output(1, DType::kBool, ctx.input_shape(0));
  return Status::Ok();
}

Status cpu_dropout(CpuContext& ctx) {
  if (ctx.has_input(2) && ctx.input(2).numel() == 1 && ctx.input(2).get_i64(0) != 0) {
    double r = ctx.has_input(1) && ctx.input(1).numel() == 1 ? ctx.input(1).get_f64(0) : 0.5;
    if (r != 0) return ctx.node().error(ErrorCode::kUnsupported, "training_mode=true (random dropout) is not supported");
  }
  ctx.set_output(0, ctx.input(0));
  if (ctx.wants_output(1)) {
    KILN_ASSIGN_OR_RETURN(Tensor * mask, ctx.alloc_output(1, DType::kBool, ctx.input(0).dims()));
    uint8_t* m = mask->mutable_bytes();
    for (int64_t i = 0; i < mask->numel(); ++i) m[i] = 1;
  }
  return Status::Ok();
}

}  // namespace

void register_source_ops(OpRegistry& r) {
  r.add(make_schema("Shape", 1, 1, infer_shape, cpu_shape));
  r.add(make_schema("Size", 1, 1, infer_size, cpu_size));
  r.add(make_schema("ConstantOfShape", 1, 1, infer_constant_of_shape, cpu_constant_of_shape));
  r.add(make_schema("Range", 3, 3, infer_range, cpu_range));
  OpSchema constant = make_schema("Constant", 0, 0, infer_constant, cpu_constant);
  r.add(std::move(constant));
  OpSchema dropout = make_schema("Dropout", 1, 3, infer_dropout, cpu_dropout);
  dropout.max_outputs = 2;
  r.add(std::move(dropout));
}

}  // namespace kiln::shape_family
