// A host tensor: element type, static dims and bytes. The bytes are either
// owned or a view into memory kept alive by `owner` (a mapped model file), so
// weights are not copied at load. Reference kernels read and write elements
// through the typed accessors, which convert to and from double / int64.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/limits.h"
#include "base/status.h"
#include "ir/dtype.h"
#include "ir/shape.h"

namespace kiln {

class Tensor {
 public:
  Tensor() = default;

  // Zero-initialised tensor; refused if its size overflows or exceeds the limit.
  static Expected<Tensor> alloc(DType dtype, std::vector<int64_t> dims, const Limits& limits = {});
  // A view of `bytes` (which must hold exactly numel * dtype_size bytes).
  static Expected<Tensor> view(DType dtype, std::vector<int64_t> dims, const uint8_t* data, size_t nbytes,
                               std::shared_ptr<const void> owner);
  // Small tensors built in code (tests, constants).
  static Tensor scalar_i64(int64_t v);
  static Tensor from_i64(const std::vector<int64_t>& values, std::vector<int64_t> dims);
  static Tensor from_f32(const std::vector<float>& values, std::vector<int64_t> dims);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t rank() const { return static_cast<int64_t>(dims_.size()); }
  int64_t dim(int64_t i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return nbytes_; }
  Shape shape() const { return Shape::of(dims_); }
  bool empty_storage() const { return data_ == nullptr && nbytes_ == 0; }

  // Raw bytes. Views of a model file may be unaligned for the element type:
  // typed access through data<T>() needs aligned(); get_f64/get_i64 always work.
  const uint8_t* bytes() const { return data_; }
  bool aligned() const { return reinterpret_cast<uintptr_t>(data_) % std::max<size_t>(dtype_size(dtype_), 1) == 0; }
  // Mutable access; copies a view into owned storage first (copy on write).
  uint8_t* mutable_bytes();
  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(data_); }
  template <typename T>
  T* mutable_data() { return reinterpret_cast<T*>(mutable_bytes()); }

  // Element i converted to double (floats, ints and bool alike).
  double get_f64(int64_t i) const;
  // Element i converted to int64 (floats truncate toward zero).
  int64_t get_i64(int64_t i) const;
  // Stores v converted to the tensor's type (rounding to nearest for narrow
  // floats, saturating fp8, truncating toward zero for ints, !=0 for bool).
  void set_f64(int64_t i, double v);
  void set_i64(int64_t i, int64_t v);

  // All elements as int64 (shape tensors, indices).
  std::vector<int64_t> to_i64_vector() const;
  std::vector<double> to_f64_vector() const;

  // Same bytes, other dims (numel must match).
  Expected<Tensor> reshaped(std::vector<int64_t> dims) const;
  // Deep copy into owned storage.
  Tensor clone() const;
  std::string to_string(int64_t max_elements = 8) const;  // "float32[2,3] {1, 2, ...}"

 private:
  DType dtype_ = DType::kUndefined;
  std::vector<int64_t> dims_;
  int64_t numel_ = 0;
  size_t nbytes_ = 0;
  const uint8_t* data_ = nullptr;
  std::shared_ptr<const void> owner_;  // keeps data_ alive
  bool owned_ = false;                 // data_ points into a buffer this tensor may write
};

// Row-major strides of dims.
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& dims);

}  // namespace kiln
