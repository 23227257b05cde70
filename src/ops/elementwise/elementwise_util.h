// Helpers shared by the elementwise, activation and quant families: dtype
// sets and checks, broadcast inference, element loops for the CPU reference,
// and correctly rounded conversion of doubles to Kiln's narrow float formats.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/op_schema.h"
#include "ops/op_util.h"

namespace kiln {

// ---- dtype sets (bit masks over DType codes) ---------------------------------
constexpr uint32_t dtype_bit(DType t) { return uint32_t{1} << static_cast<int>(t); }

inline constexpr uint32_t kFloatTypes =
    dtype_bit(DType::kFloat32) | dtype_bit(DType::kFloat16) | dtype_bit(DType::kBFloat16) | dtype_bit(DType::kFloat64);
inline constexpr uint32_t kFp8Types = dtype_bit(DType::kFloat8E4M3FN) | dtype_bit(DType::kFloat8E5M2);
inline constexpr uint32_t kSignedIntTypes =
    dtype_bit(DType::kInt8) | dtype_bit(DType::kInt32) | dtype_bit(DType::kInt64);
inline constexpr uint32_t kIntTypes = kSignedIntTypes | dtype_bit(DType::kUInt8);
inline constexpr uint32_t kNumericTypes = kFloatTypes | kIntTypes;  // ONNX's usual "all numeric" (no fp8)
inline constexpr uint32_t kBoolType = dtype_bit(DType::kBool);
inline constexpr uint32_t kAllTypes = kNumericTypes | kFp8Types | kBoolType;

bool dtype_in(DType t, uint32_t set);
// "float32, float16, ..." for messages.
std::string dtype_set_names(uint32_t set);

// Error naming the input if it is missing or its dtype is not in `allowed`.
Status check_input_type(const InferContext& ctx, size_t input, uint32_t allowed);
// Error unless inputs [first, last) that are present share input `first`'s dtype.
Status check_same_types(const InferContext& ctx, size_t first, size_t last);

// Unary op: input 0 in `allowed`; output same type and shape.
Status infer_unary(InferContext& ctx, uint32_t allowed);
// Broadcasting op over all inputs (all present, same dtype, in `allowed`). The output gets
// `out_type`, or the inputs' type when out_type is kUndefined.
Status infer_broadcast(InferContext& ctx, uint32_t allowed, DType out_type = DType::kUndefined);

// Reads a float attribute; error (naming it) if it is not finite.
Expected<double> finite_float_attr(const Node& node, const char* name, float dflt);

// ---- CPU reference helpers ---------------------------------------------------
// Numpy broadcast of the present inputs' dims; error naming the node if they
// do not broadcast.
Expected<std::vector<int64_t>> broadcast_input_dims(const CpuContext& ctx);

// Unary map: floats go through `f` in double, integers/bool through `g` in int64.
template <typename FloatFn, typename IntFn>
Status unary_map(CpuContext& ctx, DType out_type, FloatFn f, IntFn g) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, out_type, x.dims()));
  if (dtype_is_float(x.dtype())) {
    for (int64_t i = 0; i < x.numel(); ++i) y->set_f64(i, f(x.get_f64(i)));
  } else {
    for (int64_t i = 0; i < x.numel(); ++i) y->set_i64(i, g(x.get_i64(i)));
  }
  return Status::Ok();
}

// Unary map for float-only ops.
template <typename FloatFn>
Status unary_float_map(CpuContext& ctx, FloatFn f) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), x.dims()));
  for (int64_t i = 0; i < x.numel(); ++i) y->set_f64(i, f(x.get_f64(i)));
  return Status::Ok();
}

// Binary broadcast map of inputs 0 and 1 (same dtype). Floats go through `f`
// in double, integers/bool through `g` in int64.
template <typename FloatFn, typename IntFn>
Status binary_map(CpuContext& ctx, DType out_type, FloatFn f, IntFn g) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, broadcast_input_dims(ctx));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, out_type, dims));
  BroadcastIndex ia(dims, a.dims()), ib(dims, b.dims());
  bool is_float = dtype_is_float(a.dtype());
  bool out_float = dtype_is_float(out_type);
  for (int64_t i = 0; i < y->numel(); ++i) {
    if (is_float) {
      double r = f(a.get_f64(ia.offset(i)), b.get_f64(ib.offset(i)));
      if (out_float)
        y->set_f64(i, r);
      else
        y->set_i64(i, static_cast<int64_t>(r));
    } else {
      y->set_i64(i, g(a.get_i64(ia.offset(i)), b.get_i64(ib.offset(i))));
    }
  }
  return Status::Ok();
}

// Wrapping int64 arithmetic (no signed-overflow UB; narrower types wrap when stored).
inline int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
inline int64_t wrap_neg(int64_t a) { return static_cast<int64_t>(uint64_t{0} - static_cast<uint64_t>(a)); }

// ---- narrow float conversion ---------------------------------------------------
// Rounds a double to float with round-to-odd, so that a second rounding to a
// format with at most 22 mantissa bits (fp16, bf16, fp8) gives the correctly
// rounded result (plain double->float->narrow can round twice).
float to_float_round_odd(double v);

// Stores v into element i of t: floats rounded to nearest even (fp8 saturating
// or not), integers as Tensor::set_f64 does.
void store_rounded(Tensor& t, int64_t i, double v, bool saturate = true);

// v rounded to `t`'s precision (floats); integers pass through.
double round_to_dtype(double v, DType t);

// Round half to even (ONNX Round, QuantizeLinear).
double round_half_even(double v);

// A schema with one output, marked elementwise.
OpSchema elementwise_schema(const char* family, const char* name, int min_inputs, int max_inputs, InferFn infer,
                            CpuFn cpu, int64_t since_opset = 13);

// Family registration pieces (elementwise.cpp calls them in order).
void register_binary_math_ops(OpRegistry& r);
void register_unary_math_ops(OpRegistry& r);
void register_logic_ops(OpRegistry& r);
void register_cast_ops(OpRegistry& r);
void add_elementwise_cases(OpRegistry& r);

}  // namespace kiln
