// Quant family: QuantizeLinear / DequantizeLinear against onnx.reference
// (expected numbers pasted from it), granularities, attributes and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "elementwise_test_util.h"

namespace kiln {
namespace {

using namespace kiln::testing;   // NOLINT
using namespace kiln::elemtest;  // NOLINT

const double kNaN = std::numeric_limits<double>::quiet_NaN();

Attr dt(DType t) { return Attr::of_int(static_cast<int64_t>(t)); }
Tensor f32(std::vector<int64_t> dims, const std::vector<double>& v) {
  return make_tensor(DType::kFloat32, std::move(dims), v);
}
Tensor scalar(DType t, double v) { return make_tensor(t, {}, {v}); }

const std::vector<double> kX = {0, 2, 3, 1000, -254, -1000, 2.5, -2.5, 1.5, 0.49};

// x = arange(-12, 12).reshape(2, 3, 4) * 1.3
Tensor ramp() {
  std::vector<double> v;
  for (int i = -12; i < 12; ++i) v.push_back(static_cast<float>(i) * 1.3f);
  return f32({2, 3, 4}, v);
}

TEST(QuantQuantize, PerTensorRoundsHalfToEvenAndSaturates) {
  auto u8 = run_op("QuantizeLinear", {},
                   {in(f32({10}, kX)), in(scalar(DType::kFloat32, 2)), in(ints(DType::kUInt8, {}, {128}))});
  ASSERT_TRUE(u8.ok()) << u8.status().to_string();
  EXPECT_EQ(u8->outputs[0].dtype(), DType::kUInt8);
  expect_ints(u8->outputs[0], {128, 129, 130, 255, 1, 0, 129, 127, 129, 128});
  auto i8 = run_op("QuantizeLinear", {},
                   {in(f32({10}, kX)), in(scalar(DType::kFloat32, 2)), in(ints(DType::kInt8, {}, {-3}))});
  ASSERT_TRUE(i8.ok());
  expect_ints(i8->outputs[0], {-3, -2, -1, 127, -128, -128, -2, -4, -2, -3});
  auto none = run_op("QuantizeLinear", {}, {in(f32({10}, kX)), in(scalar(DType::kFloat32, 2))});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->outputs[0].dtype(), DType::kUInt8);
  expect_ints(none->outputs[0], {0, 1, 2, 255, 0, 0, 1, 0, 1, 0});
  auto out = run_op("QuantizeLinear", {{"output_dtype", dt(DType::kInt8)}},
                    {in(f32({10}, kX)), in(scalar(DType::kFloat32, 2))});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->outputs[0].dtype(), DType::kInt8);
  expect_ints(out->outputs[0], {0, 1, 2, 127, -127, -128, 1, -1, 1, 0});
  // NaN goes to the lowest value, infinities saturate.
  auto nan = run_op(
      "QuantizeLinear", {},
      {in(f32({3}, {kNaN, INFINITY, -INFINITY})), in(scalar(DType::kFloat32, 1)), in(ints(DType::kInt8, {}, {3}))});
  ASSERT_TRUE(nan.ok());
  expect_ints(nan->outputs[0], {-128, 127, -128});
}

TEST(QuantQuantize, PerAxisAndBlocked) {
  auto axis =
      run_op("QuantizeLinear", {}, {in(ramp()), in(f32({3}, {0.5, 1, 2})), in(ints(DType::kInt8, {3}, {0, 10, -10}))});
  ASSERT_TRUE(axis.ok()) << axis.status().to_string();
  expect_ints(axis->outputs[0],
              {-31, -29, -26, -23, 0, 1, 2, 4, -13, -12, -11, -11, 0, 3, 5, 8, 15, 16, 18, 19, -5, -4, -4, -3});
  auto last = run_op("QuantizeLinear", {{"axis", Attr::of_int(-1)}},
                     {in(ramp()), in(f32({4}, {0.5, 1, 2, 4})), in(ints(DType::kInt8, {4}, {0, 10, -10, 3}))});
  ASSERT_TRUE(last.ok());
  expect_ints(last->outputs[0],
              {-31, -4, -16, 0, -21, 1, -14, 1, -10, 6, -11, 3, 0, 11, -9, 4, 10, 16, -6, 5, 21, 22, -4, 7});
  // Blocked along axis 1 (size 3, block 2 -> 2 blocks, the last one short).
  std::vector<double> s;
  std::vector<int64_t> z;
  for (int i = 0; i < 16; ++i) {
    s.push_back((i + 1) * 0.25);
    z.push_back(i * 3);
  }
  auto blocked = run_op("QuantizeLinear", {{"axis", Attr::of_int(1)}, {"block_size", Attr::of_int(2)}},
                        {in(ramp()), in(f32({2, 2, 4}, s)), in(ints(DType::kUInt8, {2, 2, 4}, z))});
  ASSERT_TRUE(blocked.ok()) << blocked.status().to_string();
  expect_ints(blocked->outputs[0],
              {0, 0, 0, 0, 0, 0, 0, 3, 8, 12, 17, 20, 24, 28, 31, 34, 26, 30, 33, 36, 39, 42, 45, 49});
  std::vector<int64_t> q;
  for (int i = 0; i < 24; ++i) q.push_back(i * 10);
  auto dq =
      run_op("DequantizeLinear", {{"axis", Attr::of_int(1)}, {"block_size", Attr::of_int(2)}},
             {in(ints(DType::kUInt8, {2, 3, 4}, q)), in(f32({2, 2, 4}, s)), in(ints(DType::kUInt8, {2, 2, 4}, z))});
  ASSERT_TRUE(dq.ok()) << dq.status().to_string();
  expect_values(dq->outputs[0], {0.0,   3.5,   10.5,  21.0,  10.0,  23.5,  40.5,  61.0,  85.0,  112.5, 143.5, 178.0,
                                 216.0, 257.5, 302.5, 351.0, 306.0, 357.5, 412.5, 471.0, 533.0, 598.5, 667.5, 740.0},
                0);
}

TEST(QuantQuantize, Fp8OutputsAndSaturate) {
  Tensor x = f32({5}, {0, 0.3, -1000, 1e5, 17.2});
  auto e4 =
      run_op("QuantizeLinear", {}, {in(x), in(scalar(DType::kFloat32, 0.5)), in(scalar(DType::kFloat8E4M3FN, 0))});
  ASSERT_TRUE(e4.ok());
  EXPECT_EQ(e4->outputs[0].dtype(), DType::kFloat8E4M3FN);
  expect_values(e4->outputs[0], {0.0, 0.625, -448.0, 448.0, 36.0}, 0);
  auto e5 = run_op("QuantizeLinear", {}, {in(x), in(scalar(DType::kFloat32, 0.5)), in(scalar(DType::kFloat8E5M2, 0))});
  ASSERT_TRUE(e5.ok());
  expect_values(e5->outputs[0], {0.0, 0.625, -2048.0, 57344.0, 32.0}, 0);
  auto ns = run_op("QuantizeLinear", {{"saturate", Attr::of_int(0)}},
                   {in(x), in(scalar(DType::kFloat32, 0.5)), in(scalar(DType::kFloat8E4M3FN, 0))});
  ASSERT_TRUE(ns.ok());
  expect_values(ns->outputs[0], {0.0, 0.625, kNaN, kNaN, 36.0}, 0);
  auto od =
      run_op("QuantizeLinear", {{"output_dtype", dt(DType::kFloat8E5M2)}}, {in(x), in(scalar(DType::kFloat32, 0.5))});
  ASSERT_TRUE(od.ok());
  EXPECT_EQ(od->outputs[0].dtype(), DType::kFloat8E5M2);
}

TEST(QuantQuantize, InputTypesAndPrecision) {
  auto h = run_op("QuantizeLinear", {},
                  {in(make_tensor(DType::kFloat16, {4}, {1, 2, 3, 100.3})), in(scalar(DType::kFloat16, 0.3)),
                   in(ints(DType::kInt8, {}, {1}))});
  ASSERT_TRUE(h.ok());
  expect_ints(h->outputs[0], {4, 8, 11, 127});
  auto i32 = run_op("QuantizeLinear", {},
                    {in(ints(DType::kInt32, {4}, {-1000, 7, 1000, 3})), in(scalar(DType::kFloat32, 8)),
                     in(ints(DType::kUInt8, {}, {100}))});
  ASSERT_TRUE(i32.ok());
  expect_ints(i32->outputs[0], {0, 101, 225, 100});
  // precision=float16: x and scale round to fp16 before dividing (3.6678 -> 3.668 -> 4).
  auto p =
      run_op("QuantizeLinear", {{"precision", dt(DType::kFloat16)}},
             {in(f32({4}, {1.1, 2.2, 3.3, 100.3})), in(scalar(DType::kFloat32, 0.3)), in(ints(DType::kInt8, {}, {1}))});
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  expect_ints(p->outputs[0], {5, 8, 12, 127});
}

TEST(QuantDequantize, Values) {
  auto u8 = run_op("DequantizeLinear", {},
                   {in(ints(DType::kUInt8, {4}, {0, 3, 128, 255})), in(scalar(DType::kFloat32, 2)),
                    in(ints(DType::kUInt8, {}, {128}))});
  ASSERT_TRUE(u8.ok()) << u8.status().to_string();
  EXPECT_EQ(u8->outputs[0].dtype(), DType::kFloat32);
  expect_values(u8->outputs[0], {-256.0, -250.0, 0.0, 254.0}, 0);
  auto i32 = run_op("DequantizeLinear", {},
                    {in(ints(DType::kInt32, {4}, {-30, -3, 0, 1000000})), in(scalar(DType::kFloat32, 0.5))});
  ASSERT_TRUE(i32.ok());
  expect_values(i32->outputs[0], {-15.0, -1.5, 0.0, 500000.0}, 0);
  std::vector<int64_t> q;
  for (int i = 0; i < 24; ++i) q.push_back(i - 12);
  auto axis = run_op(
      "DequantizeLinear", {},
      {in(ints(DType::kInt8, {2, 3, 4}, q)), in(f32({3}, {0.5, 1, 2})), in(ints(DType::kInt8, {3}, {0, 10, -10}))});
  ASSERT_TRUE(axis.ok());
  expect_values(axis->outputs[0], {-6.0, -5.5, -5.0, -4.5, -18.0, -17.0, -16.0, -15.0, 12.0, 14.0, 16.0, 18.0,
                                   0.0,  0.5,  1.0,  1.5,  -6.0,  -5.0,  -4.0,  -3.0,  36.0, 38.0, 40.0, 42.0},
                0);
  auto e4 = run_op("DequantizeLinear", {},
                   {in(make_tensor(DType::kFloat8E4M3FN, {4}, {0, 0.5, 448, -3})), in(scalar(DType::kFloat32, 2))});
  ASSERT_TRUE(e4.ok());
  expect_values(e4->outputs[0], {0.0, 1.0, 896.0, -6.0}, 0);
  auto f16out = run_op("DequantizeLinear", {{"output_dtype", dt(DType::kFloat16)}},
                       {in(ints(DType::kUInt8, {4}, {0, 3, 128, 255})), in(scalar(DType::kFloat32, 0.1)),
                        in(ints(DType::kUInt8, {}, {128}))});
  ASSERT_TRUE(f16out.ok());
  EXPECT_EQ(f16out->outputs[0].dtype(), DType::kFloat16);
  expect_values(f16out->outputs[0], {-12.796875, -12.5, 0.0, 12.703125}, 0);
  auto f16scale = run_op("DequantizeLinear", {},
                         {in(ints(DType::kUInt8, {4}, {0, 3, 128, 255})), in(scalar(DType::kFloat16, 0.1)),
                          in(ints(DType::kUInt8, {}, {128}))});
  ASSERT_TRUE(f16scale.ok());
  EXPECT_EQ(f16scale->outputs[0].dtype(), DType::kFloat16);
  expect_values(f16scale->outputs[0], {-12.796875, -12.5, 0.0, 12.6953125}, 0);
}

TEST(QuantErrors, ShapesAttributesTypes) {
  Tensor x = ramp();
  auto wrong_len = run_op("QuantizeLinear", {}, {in(x), in(f32({4}, {1, 1, 1, 1}))});
  ASSERT_FALSE(wrong_len.ok());
  EXPECT_NE(wrong_len.status().message().find("per-axis"), std::string::npos) << wrong_len.status().to_string();
  auto bad_axis = run_op("QuantizeLinear", {{"axis", Attr::of_int(3)}}, {in(x), in(f32({3}, {1, 1, 1}))});
  ASSERT_FALSE(bad_axis.ok());
  EXPECT_NE(bad_axis.status().message().find("axis"), std::string::npos);
  // Per tensor, axis is not used: an out-of-range default is fine on rank 1.
  EXPECT_TRUE(
      run_op("QuantizeLinear", {{"axis", Attr::of_int(5)}}, {in(f32({3}, {1, 2, 3})), in(scalar(DType::kFloat32, 1))})
          .ok());
  auto blocks = run_op("QuantizeLinear", {{"axis", Attr::of_int(1)}, {"block_size", Attr::of_int(1)}},
                       {in(x), in(f32({2, 2, 4}, {}))});
  ASSERT_FALSE(blocks.ok());
  EXPECT_NE(blocks.status().message().find("block"), std::string::npos) << blocks.status().to_string();
  auto neg_block = run_op("DequantizeLinear", {{"block_size", Attr::of_int(-2)}},
                          {in(ints(DType::kInt8, {2}, {1, 2})), in(scalar(DType::kFloat32, 1))});
  EXPECT_FALSE(neg_block.ok());
  auto zp_shape = run_op("QuantizeLinear", {}, {in(x), in(f32({3}, {1, 1, 1})), in(ints(DType::kInt8, {}, {0}))});
  ASSERT_FALSE(zp_shape.ok());
  EXPECT_NE(zp_shape.status().message().find("zero point"), std::string::npos);
  auto mismatch = run_op("QuantizeLinear", {{"output_dtype", dt(DType::kInt8)}},
                         {in(x), in(scalar(DType::kFloat32, 1)), in(ints(DType::kUInt8, {}, {0}))});
  EXPECT_FALSE(mismatch.ok());
  auto int16 = run_op("QuantizeLinear", {{"output_dtype", Attr::of_int(5)}}, {in(x), in(scalar(DType::kFloat32, 1))});
  ASSERT_FALSE(int16.ok());
  EXPECT_EQ(int16.status().code(), ErrorCode::kUnsupported) << int16.status().to_string();
  auto float_out =
      run_op("QuantizeLinear", {{"output_dtype", dt(DType::kFloat32)}}, {in(x), in(scalar(DType::kFloat32, 1))});
  ASSERT_FALSE(float_out.ok());
  EXPECT_EQ(float_out.status().code(), ErrorCode::kInvalidArgument);
  auto dq_zp =
      run_op("DequantizeLinear", {},
             {in(ints(DType::kInt8, {2}, {1, 2})), in(scalar(DType::kFloat32, 1)), in(ints(DType::kUInt8, {}, {0}))});
  EXPECT_FALSE(dq_zp.ok());
  auto dq_scale =
      run_op("DequantizeLinear", {}, {in(ints(DType::kInt8, {2}, {1, 2})), in(ints(DType::kInt32, {}, {1}))});
  EXPECT_FALSE(dq_scale.ok());
  auto sat = run_op("QuantizeLinear", {{"saturate", Attr::of_string("yes")}}, {in(x), in(scalar(DType::kFloat32, 1))});
  EXPECT_FALSE(sat.ok());
}

TEST(QuantShapes, SymbolicAndOldOpsets) {
  auto v = infer_one("QuantizeLinear", {{DType::kFloat32, Shape({Dim::symbolic("n"), Dim(3)})},
                                        {DType::kFloat32, Shape({Dim(3)})},
                                        {DType::kInt8, Shape({Dim(3)})}});
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->dtype, DType::kInt8);
  EXPECT_EQ(v->shape.to_string(), "[n,3]");
  auto b = infer_one(
      "DequantizeLinear",
      {{DType::kUInt8, Shape({Dim::symbolic("n"), Dim(8)})}, {DType::kFloat16, Shape({Dim::symbolic("n"), Dim(2)})}},
      {{"axis", Attr::of_int(1)}, {"block_size", Attr::of_int(4)}});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b->dtype, DType::kFloat16);
  auto v13 =
      run_op("DequantizeLinear", {}, {in(ints(DType::kUInt8, {2}, {1, 2})), in(scalar(DType::kFloat32, 0.5))}, 1, 13);
  ASSERT_TRUE(v13.ok());
  expect_values(v13->outputs[0], {0.5, 1.0}, 0);
  auto empty = run_op("QuantizeLinear", {}, {in(f32({0, 3}, {})), in(f32({3}, {1, 2, 3}))});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->outputs[0].dims(), (std::vector<int64_t>{0, 3}));
}

}  // namespace
}  // namespace kiln
