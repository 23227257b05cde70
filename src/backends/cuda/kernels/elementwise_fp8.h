// Bit-exact narrow-float helpers for the elementwise kernels, usable on the
// host and the device: OCP fp8 E4M3FN / E5M2 encode (round to nearest even,
// saturating or not) and decode, and the round-to-odd double->float step the
// CPU reference uses before narrowing (ops/elementwise/elementwise_util.h).
// They must give exactly what base/float_types.h gives; being plain C++ on the
// host, tests/gpu/elementwise_gpu_test.cpp checks that without a GPU.
#pragma once

#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#define KILN_EW_HD __host__ __device__ __forceinline__
#else
#define KILN_EW_HD inline
#endif

namespace kiln::cuda::ew {

KILN_EW_HD uint32_t f32_bits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

KILN_EW_HD float bits_f32(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// Rounds a finite float magnitude `a` (float bits, sign clear) to a format
// with `mbits` mantissa bits and exponent bias `bias`, ties to even. Returns
// the magnitude code; a code above the format's largest finite one means
// overflow (the caller saturates or not).
KILN_EW_HD uint32_t narrow_magnitude(uint32_t a, int mbits, int bias) {
  uint32_t exp = a >> 23;
  if (exp == 0) return 0;  // float subnormals are far below every fp8 format's smallest value
  uint32_t frac = a & 0x7fffffu;
  int e = static_cast<int>(exp) - 127;  // value = 1.frac * 2^e
  uint32_t kept, rem, half;
  int shift;
  if (e + bias >= 1) {
    // Normal in the target: drop the low 23 - mbits fraction bits.
    shift = 23 - mbits;
    kept = frac >> shift;
    rem = frac & ((1u << shift) - 1u);
    half = 1u << (shift - 1);
    if (rem > half || (rem == half && (kept & 1u))) ++kept;
    // A carry out of the mantissa moves into the exponent field by itself.
    return (static_cast<uint32_t>(e + bias) << mbits) + kept;
  }
  // Subnormal in the target: count units of 2^(1 - bias - mbits).
  uint32_t sig = frac | 0x800000u;  // 1.frac as a 24-bit integer (units of 2^(e-23))
  shift = 23 - mbits + (1 - bias - e);
  if (shift > 24) return 0;  // below half the smallest subnormal
  kept = sig >> shift;
  rem = sig & ((1u << shift) - 1u);
  half = 1u << (shift - 1);
  if (rem > half || (rem == half && (kept & 1u))) ++kept;
  return kept;
}

// E4M3FN: no infinities; 0x7f / 0xff are NaN; largest finite 0x7e = 448.
KILN_EW_HD uint8_t f32_to_e4m3(float f, bool saturate) {
  uint32_t u = f32_bits(f);
  uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7f;                        // NaN
  if (a == 0x7f800000u) return sign | (saturate ? 0x7e : 0x7f);  // inf
  uint32_t r = narrow_magnitude(a, 3, 7);
  if (r > 0x7eu) return sign | (saturate ? 0x7e : 0x7f);
  return static_cast<uint8_t>(sign | r);
}

// E5M2: IEEE-like with infinities; largest finite 0x7b = 57344.
KILN_EW_HD uint8_t f32_to_e5m2(float f, bool saturate) {
  uint32_t u = f32_bits(f);
  uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7f;                        // NaN
  if (a == 0x7f800000u) return sign | (saturate ? 0x7b : 0x7c);  // inf
  uint32_t r = narrow_magnitude(a, 2, 15);
  if (r > 0x7bu) return sign | (saturate ? 0x7b : 0x7c);
  return static_cast<uint8_t>(sign | r);
}

KILN_EW_HD float e4m3_to_f32(uint8_t b) {
  uint32_t sign = static_cast<uint32_t>(b & 0x80u) << 24;
  uint32_t mag = b & 0x7fu;
  if (mag == 0x7fu) return bits_f32(0x7fc00000u);
  uint32_t exp = mag >> 3, mant = mag & 7u;
  if (exp == 0) {
    float v = static_cast<float>(mant) * 0.001953125f;  // mant * 2^-9, exact
    return (sign != 0u) ? -v : v;
  }
  return bits_f32(sign | ((exp - 7u + 127u) << 23) | (mant << 20));
}

KILN_EW_HD float e5m2_to_f32(uint8_t b) {
  uint32_t sign = static_cast<uint32_t>(b & 0x80u) << 24;
  uint32_t mag = b & 0x7fu;
  uint32_t exp = mag >> 2, mant = mag & 3u;
  if (exp == 31u) return bits_f32(sign | 0x7f800000u | (mant != 0u ? 0x400000u : 0u));
  if (exp == 0) {
    float v = static_cast<float>(mant) * 1.52587890625e-05f;  // mant * 2^-16, exact
    return (sign != 0u) ? -v : v;
  }
  return bits_f32(sign | ((exp - 15u + 127u) << 23) | (mant << 21));
}

// double -> float rounding to odd: a later rounding to a format of at most
// 22 mantissa bits then equals one correct rounding of the double.
KILN_EW_HD float round_odd_f32(double v) {
  float f = static_cast<float>(v);
  double fd = static_cast<double>(f);
  if (!(v - v == 0.0) || fd == v) return f;  // non-finite (v - v is NaN) or exact
  uint32_t b = f32_bits(f);
  double av = v < 0 ? -v : v, af = fd < 0 ? -fd : fd;
  if (af > av) b -= 1u;  // step back toward zero: truncation
  return bits_f32(b | 1u);
}

}  // namespace kiln::cuda::ew
