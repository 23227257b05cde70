// NumPy .npy files (format versions 1.0, 2.0 and 3.0): the interchange format
// for `kiln run` inputs and outputs. Little-endian, C order only. dtypes:
// <f4 <f2 <f8 |i1 |u1 <i4 <i8 |b1. Tensors of types NumPy has no dtype for
// (bfloat16, fp8) are written widened to <f4, which is exact and readable
// everywhere; the caller is told so it can say it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/limits.h"
#include "base/status.h"
#include "ir/tensor.h"

namespace kiln::cli {

// The .npy descr of `dtype` ("<f4"), or "" where NumPy has none.
std::string npy_descr(DType dtype);
// The type a tensor of `dtype` is stored as (float32 for bfloat16 and fp8).
DType npy_storage_dtype(DType dtype);

// Parses a whole .npy image; errors name `what` (usually the file path).
// The data is copied into an owned tensor, so it is aligned whatever the
// header length.
Expected<Tensor> parse_npy(std::span<const uint8_t> bytes, const std::string& what, const Limits& limits = {});
Expected<Tensor> read_npy(const std::string& path, const Limits& limits = {});

// Encodes a tensor (converted to npy_storage_dtype) as a version 1.0 file,
// or 2.0 when the header would not fit 1.0's 16-bit length.
Expected<std::vector<uint8_t>> encode_npy(const Tensor& tensor);
// Writes atomically (temporary file, then rename).
Status write_npy(const std::string& path, const Tensor& tensor);

}  // namespace kiln::cli
