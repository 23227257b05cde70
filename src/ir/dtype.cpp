#include "ir/dtype.h"

namespace kiln {

DType dtype_from_onnx(int32_t code) {
  switch (code) {
    case 1: return DType::kFloat32;
    case 2: return DType::kUInt8;
    case 3: return DType::kInt8;
    case 6: return DType::kInt32;
    case 7: return DType::kInt64;
    case 9: return DType::kBool;
    case 10: return DType::kFloat16;
    case 11: return DType::kFloat64;
    case 16: return DType::kBFloat16;
    case 17: return DType::kFloat8E4M3FN;
    case 19: return DType::kFloat8E5M2;
    default: return DType::kUndefined;
  }
}

std::string onnx_dtype_name(int32_t code) {
  static const char* const kNames[] = {
      "undefined", "float32",  "uint8",        "int8",           "uint16",      "int16",
      "int32",     "int64",    "string",       "bool",           "float16",     "float64",
      "uint32",    "uint64",   "complex64",    "complex128",     "bfloat16",    "float8e4m3fn",
      "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "uint4", "int4",        "float4e2m1",
      "float8e8m0", "uint2", "int2"};
  if (code >= 0 && code < static_cast<int32_t>(sizeof(kNames) / sizeof(kNames[0]))) return kNames[code];
  return "type code " + std::to_string(code);
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat64:
    case DType::kInt64: return 8;
    case DType::kFloat32:
    case DType::kInt32: return 4;
    case DType::kFloat16:
    case DType::kBFloat16: return 2;
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kBool:
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E5M2: return 1;
    case DType::kUndefined: return 0;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kFloat64: return "float64";
    case DType::kFloat8E4M3FN: return "float8e4m3fn";
    case DType::kFloat8E5M2: return "float8e5m2";
    case DType::kInt8: return "int8";
    case DType::kUInt8: return "uint8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
    case DType::kUndefined: return "undefined";
  }
  return "undefined";
}

bool dtype_is_float(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16 || t == DType::kFloat64 ||
         t == DType::kFloat8E4M3FN || t == DType::kFloat8E5M2;
}

bool dtype_is_integer(DType t) {
  return t == DType::kInt8 || t == DType::kUInt8 || t == DType::kInt32 || t == DType::kInt64;
}

bool dtype_is_signed(DType t) { return dtype_is_float(t) || t == DType::kInt8 || t == DType::kInt32 || t == DType::kInt64; }

}  // namespace kiln
