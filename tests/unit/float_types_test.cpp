#include <gtest/gtest.h>

#include <cmath>

#include "base/float_types.h"

namespace kiln {
namespace {

TEST(FloatTypes, HalfRoundTripsEveryFiniteValue) {
  for (uint32_t i = 0; i < 65536; ++i) {
    float f = half_bits_to_float(static_cast<uint16_t>(i));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_half_bits(f), i) << f;
  }
}

TEST(FloatTypes, HalfRoundsToNearestEvenAndOverflowsToInf) {
  EXPECT_EQ(half_bits_to_float(float_to_half_bits(65504.f)), 65504.f);
  EXPECT_TRUE(std::isinf(half_bits_to_float(float_to_half_bits(65520.f))));
  // 1 + 2^-11 is halfway between 1 and the next half: ties to even (1).
  EXPECT_EQ(half_bits_to_float(float_to_half_bits(1.0f + 0.00048828125f)), 1.0f);
  EXPECT_EQ(half_bits_to_float(float_to_half_bits(5.96046448e-8f)), 5.96046448e-8f);  // smallest subnormal
}

TEST(FloatTypes, Fp8RoundTripsAndSaturates) {
  for (uint32_t i = 0; i < 256; ++i) {
    float a = e4m3fn_bits_to_float(static_cast<uint8_t>(i));
    if (!std::isnan(a)) {
      EXPECT_EQ(float_to_e4m3fn_bits(a), i);
    }
    float b = e5m2_bits_to_float(static_cast<uint8_t>(i));
    if (!std::isnan(b) && !std::isinf(b)) {
      EXPECT_EQ(float_to_e5m2_bits(b), i);
    }
  }
  EXPECT_EQ(e4m3fn_bits_to_float(float_to_e4m3fn_bits(1e6f)), 448.f);
  EXPECT_TRUE(std::isnan(e4m3fn_bits_to_float(float_to_e4m3fn_bits(1e6f, /*saturate=*/false))));
  EXPECT_EQ(e5m2_bits_to_float(float_to_e5m2_bits(1e6f)), 57344.f);
  EXPECT_TRUE(std::isinf(e5m2_bits_to_float(float_to_e5m2_bits(1e6f, false))));
}

TEST(FloatTypes, Bf16KeepsNaNAndRounds) {
  EXPECT_TRUE(std::isnan(bf16_bits_to_float(float_to_bf16_bits(NAN))));
  EXPECT_EQ(bf16_bits_to_float(float_to_bf16_bits(1.0f)), 1.0f);
  EXPECT_EQ(bf16_bits_to_float(float_to_bf16_bits(3.14159f)), 3.140625f);
}

}  // namespace
}  // namespace kiln
