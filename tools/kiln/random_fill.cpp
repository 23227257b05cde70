#include "random_fill.h"

namespace kiln::cli {
namespace {

// SplitMix64: tiny, well mixed and fully specified.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t derive_seed(uint64_t seed, uint64_t index) {
  uint64_t state = seed ^ (index * 0xd1b54a32d192ed03ULL);
  return splitmix64(state);
}

void fill_random(Tensor& tensor, uint64_t seed) {
  uint64_t state = seed;
  DType t = tensor.dtype();
  for (int64_t i = 0; i < tensor.numel(); ++i) {
    uint64_t r = splitmix64(state);
    if (dtype_is_float(t)) {
      double unit = static_cast<double>(r >> 11) * 0x1.0p-53;  // [0, 1)
      tensor.set_f64(i, 2.0 * unit - 1.0);
    } else if (t == DType::kBool) {
      tensor.set_i64(i, static_cast<int64_t>(r >> 63));
    } else {
      tensor.set_i64(i, static_cast<int64_t>(r % 10));
    }
  }
}

void fill_bench_random(Tensor& tensor, uint64_t seed) {
  DType t = tensor.dtype();
  if (dtype_is_float(t)) return fill_random(tensor, seed);
  uint64_t range = t == DType::kInt8 ? 128 : t == DType::kUInt8 ? 256 : 1000;
  uint64_t state = seed;
  for (int64_t i = 0; i < tensor.numel(); ++i) {
    if (t == DType::kBool) {
      tensor.set_i64(i, 1);
      continue;
    }
    tensor.set_i64(i, static_cast<int64_t>(splitmix64(state) % range));
  }
}

}  // namespace kiln::cli
