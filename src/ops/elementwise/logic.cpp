// Comparisons, boolean logic, Where, IsNaN and IsInf. Comparisons of
// integers are exact (int64), of floats in double (NaN compares false).
#include <cmath>
#include <cstring>

#include "ops/elementwise/elementwise_util.h"

namespace kiln {
namespace {

template <typename Cmp>
OpSchema comparison(const char* name, uint32_t types, Cmp cmp) {
  return elementwise_schema(
      "elementwise", name, 2, 2, [types](InferContext& ctx) { return infer_broadcast(ctx, types, DType::kBool); },
      [cmp](CpuContext& ctx) {
        return binary_map(
            ctx, DType::kBool, [cmp](double a, double b) { return cmp(a, b) ? 1.0 : 0.0; },
            [cmp](int64_t a, int64_t b) -> int64_t { return cmp(a, b) ? 1 : 0; });
      });
}

template <typename Fn>
OpSchema bool_binary(const char* name, Fn fn) {
  return elementwise_schema(
      "elementwise", name, 2, 2, [](InferContext& ctx) { return infer_broadcast(ctx, kBoolType, DType::kBool); },
      [fn](CpuContext& ctx) {
        return binary_map(
            ctx, DType::kBool, [](double, double) { return 0.0; },
            [fn](int64_t a, int64_t b) -> int64_t { return fn(a != 0, b != 0) ? 1 : 0; });
      });
}

// ---- Where ------------------------------------------------------------------------
Status where_infer(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, kBoolType));
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 1, kNumericTypes | kBoolType));
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 2, kNumericTypes | kBoolType));
  KILN_RETURN_IF_ERROR(check_same_types(ctx, 1, 3));
  Shape shape = ctx.input_shape(0);
  for (size_t i = 1; i < 3; ++i) {
    auto b = broadcast_shapes(shape, ctx.input_shape(i));
    if (!b.ok()) return ctx.error(b.status().message());
    shape = std::move(b).value();
  }
  ctx.set_output(0, ctx.input_dtype(1), std::move(shape));
  return Status::Ok();
}

Status where_cpu(CpuContext& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, broadcast_input_dims(ctx));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, x.dtype(), dims));
  BroadcastIndex ic(dims, c.dims()), ix(dims, x.dims()), iy(dims, y.dims());
  size_t size = dtype_size(x.dtype());
  uint8_t* dst = out->mutable_bytes();
  // Copies bytes: exact for every type, no conversion.
  for (int64_t i = 0; i < out->numel(); ++i) {
    bool take_x = c.bytes()[ic.offset(i)] != 0;
    const uint8_t* src = take_x ? x.bytes() + ix.offset(i) * static_cast<int64_t>(size)
                                : y.bytes() + iy.offset(i) * static_cast<int64_t>(size);
    std::memcpy(dst + i * static_cast<int64_t>(size), src, size);
  }
  return Status::Ok();
}

// ---- IsNaN / IsInf --------------------------------------------------------------------
Status isnan_infer(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, kFloatTypes | kFp8Types));
  ctx.set_output(0, DType::kBool, ctx.input_shape(0));
  return Status::Ok();
}

Status isnan_cpu(CpuContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, DType::kBool, x.dims()));
  for (int64_t i = 0; i < x.numel(); ++i) y->set_i64(i, std::isnan(x.get_f64(i)) ? 1 : 0);
  return Status::Ok();
}

struct InfFlags {
  bool negative = true, positive = true;
};

Expected<InfFlags> read_inf_flags(const Node& node) {
  InfFlags f;
  KILN_ASSIGN_OR_RETURN(int64_t neg, node.attr_int("detect_negative", 1));
  KILN_ASSIGN_OR_RETURN(int64_t pos, node.attr_int("detect_positive", 1));
  if ((neg != 0 && neg != 1) || (pos != 0 && pos != 1))
    return node.error(ErrorCode::kInvalidArgument, "attributes 'detect_negative' and 'detect_positive' must be 0 or 1");
  f.negative = neg == 1;
  f.positive = pos == 1;
  return f;
}

Status isinf_infer(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(read_inf_flags(ctx.node()).status());
  return isnan_infer(ctx);
}

Status isinf_cpu(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(InfFlags f, read_inf_flags(ctx.node()));
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, DType::kBool, x.dims()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    double v = x.get_f64(i);
    bool hit = std::isinf(v) && ((v > 0 && f.positive) || (v < 0 && f.negative));
    y->set_i64(i, hit ? 1 : 0);
  }
  return Status::Ok();
}

}  // namespace

void register_logic_ops(OpRegistry& r) {
  r.add(comparison("Equal", kNumericTypes | kBoolType, [](auto a, auto b) { return a == b; }));
  r.add(comparison("Greater", kNumericTypes, [](auto a, auto b) { return a > b; }));
  r.add(comparison("Less", kNumericTypes, [](auto a, auto b) { return a < b; }));
  r.add(comparison("GreaterOrEqual", kNumericTypes, [](auto a, auto b) { return a >= b; }));
  r.add(comparison("LessOrEqual", kNumericTypes, [](auto a, auto b) { return a <= b; }));
  r.add(bool_binary("And", [](bool a, bool b) { return a && b; }));
  r.add(bool_binary("Or", [](bool a, bool b) { return a || b; }));
  r.add(bool_binary("Xor", [](bool a, bool b) { return a != b; }));
  r.add(elementwise_schema(
      "elementwise", "Not", 1, 1, [](InferContext& ctx) { return infer_unary(ctx, kBoolType); },
      [](CpuContext& ctx) {
        return unary_map(
            ctx, DType::kBool, [](double x) { return x; }, [](int64_t x) -> int64_t { return x == 0; });
      }));
  r.add(elementwise_schema("elementwise", "Where", 3, 3, where_infer, where_cpu));
  r.add(elementwise_schema("elementwise", "IsNaN", 1, 1, isnan_infer, isnan_cpu));
  r.add(elementwise_schema("elementwise", "IsInf", 1, 1, isinf_infer, isinf_cpu));
}

}  // namespace kiln
