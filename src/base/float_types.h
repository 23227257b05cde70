// Conversions between float and the narrow float formats Kiln stores:
// IEEE fp16, bfloat16, and the OCP fp8 formats E4M3FN and E5M2. Rounding is
// to nearest, ties to even, as ONNX's Cast specifies.
#pragma once

#include <cstdint>
#include <cstring>

namespace kiln {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace detail {

// Rounds a finite float magnitude (sign bit clear) to a format with E exponent
// bits, M mantissa bits and the given bias. Returns the unsigned bit pattern,
// which may exceed the format's largest finite value (the caller decides what
// overflow means).
inline uint32_t round_magnitude(uint32_t f, int M, int bias) {
  int e32 = static_cast<int>((f >> 23) & 0xff);
  uint32_t mant = f & 0x7fffff;
  if (e32 == 0) return 0;  // float subnormals are far below every narrow format's range
  int et = e32 - 127 + bias;
  uint32_t full = mant | 0x800000;
  int shift = 23 - M;
  uint32_t base;
  if (et <= 0) {
    shift += 1 - et;
    if (shift > 25) return 0;
    base = 0;
  } else {
    base = static_cast<uint32_t>(et) << M;
    full = mant;
  }
  uint32_t kept = full >> shift;
  uint32_t rem = full & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (kept & 1))) kept += 1;
  return base + kept;  // a mantissa carry moves into the exponent naturally
}

inline float decode_minifloat(uint32_t bits, int E, int M, int bias) {
  uint32_t sign = bits >> (E + M);
  uint32_t exp = (bits >> M) & ((1u << E) - 1);
  uint32_t mant = bits & ((1u << M) - 1);
  float v;
  if (exp == 0) {
    v = static_cast<float>(mant) / static_cast<float>(1u << M);
    v = v * bits_float(static_cast<uint32_t>(127 + 1 - bias) << 23);
  } else {
    v = bits_float((static_cast<uint32_t>(static_cast<int>(exp) - bias + 127) << 23) | (mant << (23 - M)));
  }
  return sign ? -v : v;
}

}  // namespace detail

// ---- fp16 -------------------------------------------------------------------
inline uint16_t float_to_half_bits(float f) {
  uint32_t u = float_bits(f);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  uint32_t a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00;  // NaN
  if (a == 0x7f800000) return sign | 0x7c00;
  uint32_t r = detail::round_magnitude(a, 10, 15);
  if (r >= 0x7c00) return sign | 0x7c00;
  return static_cast<uint16_t>(sign | r);
}
inline float half_bits_to_float(uint16_t h) {
  uint32_t exp = (h >> 10) & 0x1f;
  if (exp == 0x1f) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    return bits_float(sign | 0x7f800000 | (static_cast<uint32_t>(h & 0x3ff) << 13));
  }
  return detail::decode_minifloat(h, 5, 10, 15);
}

// ---- bfloat16 -----------------------------------------------------------------
inline uint16_t float_to_bf16_bits(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  uint32_t lsb = (u >> 16) & 1;
  u += 0x7fff + lsb;
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_bits_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

// ---- fp8 E4M3FN: no infinities, 0x7f/0xff are NaN, max 448 ------------------------
inline uint8_t float_to_e4m3fn_bits(float f, bool saturate = true) {
  uint32_t u = float_bits(f);
  uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80);
  uint32_t a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7f;
  if (a == 0x7f800000) return saturate ? (sign | 0x7e) : (sign | 0x7f);
  uint32_t r = detail::round_magnitude(a, 3, 7);
  if (r > 0x7e) return saturate ? (sign | 0x7e) : (sign | 0x7f);
  return static_cast<uint8_t>(sign | r);
}
inline float e4m3fn_bits_to_float(uint8_t b) {
  if ((b & 0x7f) == 0x7f) return bits_float(0x7fc00000);
  return detail::decode_minifloat(b, 4, 3, 7);
}

// ---- fp8 E5M2: IEEE-like, with infinities, max 57344 ------------------------------
inline uint8_t float_to_e5m2_bits(float f, bool saturate = true) {
  uint32_t u = float_bits(f);
  uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80);
  uint32_t a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7f;
  if (a == 0x7f800000) return saturate ? (sign | 0x7b) : (sign | 0x7c);
  uint32_t r = detail::round_magnitude(a, 2, 15);
  if (r > 0x7b) return saturate ? (sign | 0x7b) : (sign | 0x7c);
  return static_cast<uint8_t>(sign | r);
}
inline float e5m2_bits_to_float(uint8_t b) {
  uint32_t exp = (b >> 2) & 0x1f;
  if (exp == 0x1f) {
    uint32_t sign = static_cast<uint32_t>(b & 0x80) << 24;
    return bits_float(sign | 0x7f800000 | ((b & 3) ? 0x400000u : 0u));
  }
  return detail::decode_minifloat(b, 5, 2, 15);
}

}  // namespace kiln
