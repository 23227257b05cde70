#include "ir/tensor.h"

#include <cmath>
#include <cstring>

#include "base/checked_math.h"
#include "base/float_types.h"

namespace kiln {
namespace {

std::shared_ptr<uint8_t[]> make_buffer(size_t n) {
  // One extra byte so that empty tensors still have a valid pointer.
  std::shared_ptr<uint8_t[]> buf(new (std::nothrow) uint8_t[n + 1]());
  return buf;
}

}  // namespace

Expected<Tensor> Tensor::alloc(DType dtype, std::vector<int64_t> dims, const Limits& limits) {
  if (dtype == DType::kUndefined) return InvalidArgument("cannot allocate a tensor of undefined type");
  auto n = checked_product(dims);
  if (!n) return OutOfRange("tensor shape ", dims_to_string(dims), " has a negative dim or overflows");
  auto bytes = checked_mul(*n, static_cast<int64_t>(dtype_size(dtype)));
  if (!bytes) return OutOfRange("tensor shape ", dims_to_string(dims), " overflows in bytes");
  if (*bytes > limits.max_tensor_bytes)
    return ResourceExhausted("tensor ", dtype_name(dtype), dims_to_string(dims), " needs ", *bytes,
                             " bytes, over the limit of ", limits.max_tensor_bytes);
  auto buf = make_buffer(static_cast<size_t>(*bytes));
  if (!buf) return ResourceExhausted("out of host memory allocating ", *bytes, " bytes");
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.numel_ = *n;
  t.nbytes_ = static_cast<size_t>(*bytes);
  t.data_ = buf.get();
  t.owner_ = std::shared_ptr<const void>(buf, buf.get());
  t.owned_ = true;
  return t;
}

Expected<Tensor> Tensor::view(DType dtype, std::vector<int64_t> dims, const uint8_t* data, size_t nbytes,
                              std::shared_ptr<const void> owner) {
  auto n = checked_product(dims);
  if (!n) return OutOfRange("tensor shape ", dims_to_string(dims), " has a negative dim or overflows");
  auto bytes = checked_mul(*n, static_cast<int64_t>(dtype_size(dtype)));
  if (!bytes || static_cast<uint64_t>(*bytes) != nbytes)
    return InvalidArgument("tensor ", dtype_name(dtype), dims_to_string(dims), " needs ",
                           bytes ? *bytes : -1, " bytes of data but has ", nbytes);
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.numel_ = *n;
  t.nbytes_ = nbytes;
  t.data_ = data;
  t.owner_ = std::move(owner);
  t.owned_ = false;
  return t;
}

Tensor Tensor::scalar_i64(int64_t v) { return from_i64({v}, {}); }

Tensor Tensor::from_i64(const std::vector<int64_t>& values, std::vector<int64_t> dims) {
  Tensor t = alloc(DType::kInt64, std::move(dims)).value();
  if (t.nbytes()) std::memcpy(t.mutable_bytes(), values.data(), t.nbytes());
  return t;
}

Tensor Tensor::from_f32(const std::vector<float>& values, std::vector<int64_t> dims) {
  Tensor t = alloc(DType::kFloat32, std::move(dims)).value();
  if (t.nbytes()) std::memcpy(t.mutable_bytes(), values.data(), t.nbytes());
  return t;
}

uint8_t* Tensor::mutable_bytes() {
  // Copy on write: bytes shared with another tensor or a file are copied first.
  if (!owned_ || owner_.use_count() > 1) {
    auto buf = make_buffer(nbytes_);
    if (nbytes_) std::memcpy(buf.get(), data_, nbytes_);
    data_ = buf.get();
    owner_ = std::shared_ptr<const void>(buf, buf.get());
    owned_ = true;
  }
  return const_cast<uint8_t*>(data_);
}

namespace {
// Views of a model file may be unaligned (protobuf places raw_data anywhere),
// so elements are read with memcpy, which compiles to a plain load.
template <typename T>
T load(const uint8_t* p, int64_t i) {
  T v;
  std::memcpy(&v, p + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}
}  // namespace

double Tensor::get_f64(int64_t i) const {
  const uint8_t* p = data_;
  switch (dtype_) {
    case DType::kFloat32: return load<float>(p, i);
    case DType::kFloat64: return load<double>(p, i);
    case DType::kFloat16: return half_bits_to_float(load<uint16_t>(p, i));
    case DType::kBFloat16: return bf16_bits_to_float(load<uint16_t>(p, i));
    case DType::kFloat8E4M3FN: return e4m3fn_bits_to_float(p[i]);
    case DType::kFloat8E5M2: return e5m2_bits_to_float(p[i]);
    case DType::kInt8: return static_cast<int8_t>(p[i]);
    case DType::kUInt8: return p[i];
    case DType::kBool: return p[i] != 0;
    case DType::kInt32: return load<int32_t>(p, i);
    case DType::kInt64: return static_cast<double>(load<int64_t>(p, i));
    case DType::kUndefined: return 0;
  }
  return 0;
}

namespace {
int64_t double_to_i64(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return static_cast<int64_t>(v);
}
}  // namespace

int64_t Tensor::get_i64(int64_t i) const {
  const uint8_t* p = data_;
  switch (dtype_) {
    case DType::kInt64: return load<int64_t>(p, i);
    case DType::kInt32: return load<int32_t>(p, i);
    case DType::kInt8: return static_cast<int8_t>(p[i]);
    case DType::kUInt8: return p[i];
    case DType::kBool: return p[i] != 0;
    default: return double_to_i64(get_f64(i));
  }
}

void Tensor::set_f64(int64_t i, double v) {
  uint8_t* p = mutable_bytes();
  switch (dtype_) {
    case DType::kFloat32: reinterpret_cast<float*>(p)[i] = static_cast<float>(v); return;
    case DType::kFloat64: reinterpret_cast<double*>(p)[i] = v; return;
    case DType::kFloat16: reinterpret_cast<uint16_t*>(p)[i] = float_to_half_bits(static_cast<float>(v)); return;
    case DType::kBFloat16: reinterpret_cast<uint16_t*>(p)[i] = float_to_bf16_bits(static_cast<float>(v)); return;
    case DType::kFloat8E4M3FN: p[i] = float_to_e4m3fn_bits(static_cast<float>(v)); return;
    case DType::kFloat8E5M2: p[i] = float_to_e5m2_bits(static_cast<float>(v)); return;
    case DType::kBool: p[i] = v != 0; return;
    default: set_i64(i, double_to_i64(v)); return;
  }
}

void Tensor::set_i64(int64_t i, int64_t v) {
  uint8_t* p = mutable_bytes();
  switch (dtype_) {
    case DType::kInt64: reinterpret_cast<int64_t*>(p)[i] = v; return;
    case DType::kInt32: reinterpret_cast<int32_t*>(p)[i] = static_cast<int32_t>(v); return;
    case DType::kInt8: reinterpret_cast<int8_t*>(p)[i] = static_cast<int8_t>(v); return;
    case DType::kUInt8: p[i] = static_cast<uint8_t>(v); return;
    case DType::kBool: p[i] = v != 0; return;
    default: set_f64(i, static_cast<double>(v)); return;
  }
}

std::vector<int64_t> Tensor::to_i64_vector() const {
  std::vector<int64_t> out(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) out[static_cast<size_t>(i)] = get_i64(i);
  return out;
}

std::vector<double> Tensor::to_f64_vector() const {
  std::vector<double> out(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) out[static_cast<size_t>(i)] = get_f64(i);
  return out;
}

Expected<Tensor> Tensor::reshaped(std::vector<int64_t> dims) const {
  auto n = checked_product(dims);
  if (!n || *n != numel_)
    return InvalidArgument("cannot reshape ", dims_to_string(dims_), " to ", dims_to_string(dims));
  Tensor t = *this;  // shares bytes: a later write copies first
  t.dims_ = std::move(dims);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = *this;
  t.mutable_bytes();
  return t;
}

std::string Tensor::to_string(int64_t max_elements) const {
  std::string out = str(dtype_name(dtype_), dims_to_string(dims_), " {");
  for (int64_t i = 0; i < numel_ && i < max_elements; ++i) {
    if (i) out += ", ";
    out += dtype_is_float(dtype_) ? str(get_f64(i)) : str(get_i64(i));
  }
  if (numel_ > max_elements) out += ", ...";
  return out + "}";
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& dims) {
  // Saturating: a zero-size tensor may have other dims whose product overflows,
  // and its strides are never used to address anything.
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) {
    auto p = checked_mul(s[i], dims[i]);
    s[i - 1] = p ? *p : INT64_MAX;
  }
  return s;
}

}  // namespace kiln
