// Deterministic random inputs for `kiln run`: the same seed gives the same
// bytes on every machine (own generator, no std:: distributions, whose
// output differs between standard libraries).
#pragma once

#include <cstdint>

#include "ir/tensor.h"

namespace kiln::cli {

// Floats uniform in [-1, 1); integers uniform in [0, 10) (safe as indices
// and token ids of small vocabularies); bools 0 or 1.
void fill_random(Tensor& tensor, uint64_t seed);

// `kiln bench` inputs, closer to real data: floats uniform in [-1, 1);
// integers in [0, 1000) (token ids of any real vocabulary; int8/uint8 up to
// their maximum); bools all true (attention masks that keep every token).
void fill_bench_random(Tensor& tensor, uint64_t seed);

// A per-input seed derived from the run's seed and the input's position.
uint64_t derive_seed(uint64_t seed, uint64_t index);

}  // namespace kiln::cli
