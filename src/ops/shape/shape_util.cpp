#include "ops/shape/shape_util.h"

#include "base/checked_math.h"
#include "ops/op_util.h"

namespace kiln::shape_family {

OpSchema make_schema(const char* name, int min_inputs, int max_inputs, InferFn infer, CpuFn cpu) {
  return schema_with_required_inputs("shape", name, min_inputs, max_inputs, std::move(infer), std::move(cpu));
}

Tensor i64_tensor(const std::vector<int64_t>& values, std::vector<int64_t> dims) {
  Tensor t = Tensor::alloc(DType::kInt64, std::move(dims)).value();
  for (size_t i = 0; i < values.size(); ++i) t.set_i64(static_cast<int64_t>(i), values[i]);
  return t;
}

Tensor f32_tensor(const std::vector<float>& values, std::vector<int64_t> dims) {
  Tensor t = Tensor::alloc(DType::kFloat32, std::move(dims)).value();
  for (size_t i = 0; i < values.size(); ++i) t.set_f64(static_cast<int64_t>(i), values[i]);
  return t;
}

Dim unknown(const InferContext* ctx) { return ctx ? ctx->unknown_dim() : Dim(); }

Expected<int64_t> check_axis(const Node& node, int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank)
    return node.error(ErrorCode::kOutOfRange, what, " ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

Expected<std::vector<int64_t>> int_values(const Node& node, const Tensor& t, const char* what, bool rank1) {
  if (t.dtype() != DType::kInt64 && t.dtype() != DType::kInt32)
    return node.error(ErrorCode::kInvalidArgument, what, " must be int64, got ", dtype_name(t.dtype()));
  if (rank1 && t.rank() != 1)
    return node.error(ErrorCode::kInvalidArgument, what, " must be 1-D, got shape ", dims_to_string(t.dims()));
  return t.to_i64_vector();
}

Expected<std::optional<std::vector<int64_t>>> const_ints(const InferContext& ctx, size_t i, const char* what,
                                                         bool rank1) {
  const Tensor* t = ctx.input_value(i);
  if (!t) return std::optional<std::vector<int64_t>>();
  KILN_ASSIGN_OR_RETURN(auto v, int_values(ctx.node(), *t, what, rank1));
  return std::optional<std::vector<int64_t>>(std::move(v));
}

Status check_int_list_input(const InferContext& ctx, size_t i, const char* what) {
  DType t = ctx.input_dtype(i);
  if (t != DType::kInt64 && t != DType::kInt32)
    return ctx.error(what, " must be int64, got ", dtype_name(t));
  if (ctx.input_rank(i) != 1) return ctx.error(what, " must be 1-D, got shape ", ctx.input_shape(i).to_string());
  return Status::Ok();
}

Expected<Dim> dim_product(const Node& node, const std::vector<Dim>& dims, const InferContext* ctx) {
  int64_t product = 1;
  const Dim* symbol = nullptr;
  int symbols = 0;
  bool zero = false;
  for (const Dim& d : dims) {
    if (!d.is_static()) {
      ++symbols;
      symbol = &d;
      continue;
    }
    if (d.value == 0) zero = true;
    auto p = checked_mul(product, d.value);
    if (!p) return node.error(ErrorCode::kOutOfRange, "the product of dims overflows int64");
    product = *p;
  }
  if (zero) return Dim(0);
  if (symbols == 0) return Dim(product);
  if (symbols == 1 && product == 1) return *symbol;
  return unknown(ctx);
}

Expected<std::vector<int64_t>> static_or_internal(const Node& node, const Shape& s) {
  auto dims = s.static_dims();
  if (!dims) return node.error(ErrorCode::kInternal, "kernel computed a non-static shape ", s.to_string());
  return *dims;
}

int64_t span_product(const std::vector<int64_t>& dims, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) n *= dims[i];
  return n;
}

void strided_copy(Tensor& out, const Tensor& in, int64_t base, const std::vector<int64_t>& strides) {
  const size_t elem = dtype_size(in.dtype());
  const std::vector<int64_t>& dims = out.dims();
  const int64_t n = out.numel();
  if (n == 0) return;
  uint8_t* dst = out.mutable_bytes();
  const uint8_t* src = in.bytes();
  std::vector<int64_t> idx(dims.size(), 0);
  int64_t offset = base;  // kept equal to base + sum(idx[d] * strides[d])
  for (int64_t o = 0; o < n; ++o) {
    copy_elems(dst, o, src, offset, 1, elem);
    for (size_t d = dims.size(); d-- > 0;) {
      offset += strides[d];
      if (++idx[d] < dims[d]) break;
      offset -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
}

}  // namespace kiln::shape_family
