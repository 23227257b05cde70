// Shapes whose dims are either static sizes or named symbols ("batch",
// "seq"). A symbol with an empty name is an anonymous unknown size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace kiln {

struct Dim {
  int64_t value = -1;  // >= 0 when static
  std::string symbol;  // set when symbolic (value == -1)
  // Largest value a symbolic dim can take at run time, when shape inference
  // knows one (NonZero: the input's size); -1 when unbounded. Engines plan
  // data-dependent outputs at this bound.
  int64_t max = -1;

  Dim() = default;
  Dim(int64_t v) : value(v) {}  // NOLINT: a static dim reads naturally as a number
  static Dim symbolic(std::string name, int64_t max = -1) {
    Dim d;
    d.symbol = std::move(name);
    d.max = max;
    return d;
  }
  bool is_static() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && symbol == o.symbol; }
  std::string to_string() const;
};

struct Shape {
  std::vector<Dim> dims;

  Shape() = default;
  Shape(std::vector<Dim> d) : dims(std::move(d)) {}  // NOLINT
  static Shape of(const std::vector<int64_t>& sizes);

  size_t rank() const { return dims.size(); }
  const Dim& operator[](size_t i) const { return dims[i]; }
  Dim& operator[](size_t i) { return dims[i]; }
  bool is_static() const;
  // Static sizes; nullopt if any dim is symbolic.
  std::optional<std::vector<int64_t>> static_dims() const;
  // Static sizes, with each symbolic dim at its bound; nullopt if one has none.
  std::optional<std::vector<int64_t>> bound_dims() const;
  // Element count of a static shape, checked for overflow.
  Expected<int64_t> numel() const;
  bool operator==(const Shape& o) const { return dims == o.dims; }
  std::string to_string() const;  // "[1,3,224,224]" or "[batch,128]"
};

// "1x3x224x224" / "[1,3]" helpers for dims given as plain numbers.
std::string dims_to_string(const std::vector<int64_t>& dims);

// Normalises an axis in [-rank, rank) to [0, rank); error names `what`.
Expected<int64_t> normalize_axis(int64_t axis, int64_t rank, const std::string& what);

// Numpy-style broadcast of static dims; error if incompatible.
Expected<std::vector<int64_t>> broadcast_dims(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
// Broadcast of possibly symbolic shapes (a symbolic dim against 1 stays symbolic).
Expected<Shape> broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace kiln
