// Element types. The numeric values of the enum are ONNX's TensorProto.DataType
// codes, so the reader maps them directly; codes Kiln does not support map to
// kUndefined and are reported with the tensor's name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,  // CPU reference only
  kBFloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E5M2 = 19,
};

// Maps an ONNX data type code; kUndefined where Kiln has no such type.
DType dtype_from_onnx(int32_t code);
// Name of an ONNX data type code, also for codes Kiln does not support ("string", "uint16", ...).
std::string onnx_dtype_name(int32_t code);

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "float32", "float16", ...
bool dtype_is_float(DType t);     // fp64/fp32/fp16/bf16/fp8
bool dtype_is_integer(DType t);   // int8/uint8/int32/int64
bool dtype_is_signed(DType t);

}  // namespace kiln
