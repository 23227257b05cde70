// Integer arithmetic that reports overflow instead of wrapping. Sizes that
// come from a model file go through these before any allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace kiln {

inline std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<int64_t> checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// Product of non-negative dims; nullopt on a negative dim or overflow. Any
// zero dim makes the product 0 whatever the others are, in any order.
inline std::optional<int64_t> checked_product(std::span<const int64_t> dims) {
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (d == 0) return 0;
  }
  int64_t n = 1;
  for (int64_t d : dims) {
    auto r = checked_mul(n, d);
    if (!r) return std::nullopt;
    n = *r;
  }
  return n;
}

}  // namespace kiln
