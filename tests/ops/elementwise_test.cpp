// Elementwise family: hand-checked values (expected numbers computed with
// numpy / onnx.reference), error paths and symbolic-shape inference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "elementwise_test_util.h"

namespace kiln {
namespace {

using namespace kiln::testing;   // NOLINT
using namespace kiln::elemtest;  // NOLINT

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- arithmetic --------------------------------------------------------------
TEST(ElementwiseArith, AddSubDivBroadcast) {
  Tensor a = make_tensor(DType::kFloat32, {2, 1, 3}, {0.2, 0.86, 0.41, 0.18, -0.31, 0.58});
  Tensor b = make_tensor(DType::kFloat32, {2, 1}, {-0.25, 1.57});
  auto add = run_op("Add", {}, {in(a), in(b)});
  ASSERT_TRUE(add.ok()) << add.status().to_string();
  EXPECT_EQ(add->outputs[0].dims(), (std::vector<int64_t>{2, 2, 3}));
  expect_values(add->outputs[0], {-0.05, 0.61, 0.16, 1.77, 2.43, 1.98, -0.07, -0.56, 0.33, 1.75, 1.26, 2.15}, 1e-6);
  auto sub = run_op("Sub", {}, {in(a), in(b)});
  ASSERT_TRUE(sub.ok());
  expect_values(sub->outputs[0], {0.45, 1.11, 0.66, -1.37, -0.71, -1.16, 0.43, -0.06, 0.83, -1.39, -1.88, -0.99}, 1e-6);
  auto div = run_op("Div", {}, {in(a), in(b)});
  ASSERT_TRUE(div.ok());
  expect_values(div->outputs[0],
                {-0.8, -3.44, -1.64, 0.12738853693008423, 0.5477706789970398, 0.2611464858055115, -0.72, 1.24, -2.32,
                 0.1146496832370758, -0.19745221734046936, 0.3694267272949219},
                1e-6);
}

TEST(ElementwiseArith, IntegerDivTruncatesAndWraps) {
  auto r = run_op("Div", {},
                  {in(ints(DType::kInt32, {6}, {7, -7, 7, -7, 1, -2147483648})),
                   in(ints(DType::kInt32, {6}, {2, 2, -2, -2, 3, -1}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_ints(r->outputs[0], {3, -3, -3, 3, 0, -2147483648});
  auto u = run_op("Div", {}, {in(ints(DType::kUInt8, {3}, {255, 7, 0})), in(ints(DType::kUInt8, {3}, {2, 7, 9}))});
  ASSERT_TRUE(u.ok());
  expect_ints(u->outputs[0], {127, 1, 0});
}

TEST(ElementwiseArith, IntegerDivisionByZeroIsAnError) {
  auto r = run_op("Div", {}, {in(ints(DType::kInt64, {2}, {1, 2})), in(ints(DType::kInt64, {2}, {1, 0}))});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("division by zero"), std::string::npos) << r.status().to_string();
  auto m = run_op("Mod", {}, {in(ints(DType::kInt8, {2}, {1, 2})), in(ints(DType::kInt8, {1}, {0}))});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("modulo by zero"), std::string::npos);
  // A float division by zero is IEEE: inf.
  auto f =
      run_op("Div", {}, {in(make_tensor(DType::kFloat32, {2}, {1, -1})), in(make_tensor(DType::kFloat32, {1}, {0}))});
  ASSERT_TRUE(f.ok());
  expect_values(f->outputs[0], {kInf, -kInf}, 0);
}

TEST(ElementwiseArith, IntegerOverflowWraps) {
  auto add = run_op("Add", {}, {in(ints(DType::kInt8, {2}, {127, -128})), in(ints(DType::kInt8, {2}, {1, -1}))});
  ASSERT_TRUE(add.ok());
  expect_ints(add->outputs[0], {-128, 127});
  int64_t mn = std::numeric_limits<int64_t>::min();
  auto mul = run_op("Mul", {}, {in(ints(DType::kInt64, {1}, {mn})), in(ints(DType::kInt64, {1}, {-1}))});
  ASSERT_TRUE(mul.ok());
  expect_ints(mul->outputs[0], {mn});
  auto neg = run_op("Neg", {}, {in(ints(DType::kInt64, {2}, {mn, 5}))});
  ASSERT_TRUE(neg.ok());
  expect_ints(neg->outputs[0], {mn, -5});
  auto abs = run_op("Abs", {}, {in(ints(DType::kInt8, {3}, {-128, -5, 7}))});
  ASSERT_TRUE(abs.ok());
  expect_ints(abs->outputs[0], {-128, 5, 7});
}

TEST(ElementwiseArith, ModSignFollowsDivisorUnlessFmod) {
  Tensor x = ints(DType::kInt32, {6}, {-4, 7, 5, 4, -7, 8});
  Tensor y = ints(DType::kInt32, {6}, {2, -3, 8, -2, 3, 5});
  auto m0 = run_op("Mod", {}, {in(x), in(y)});
  ASSERT_TRUE(m0.ok());
  expect_ints(m0->outputs[0], {0, -2, 5, 0, 2, 3});
  auto m1 = run_op("Mod", {{"fmod", Attr::of_int(1)}}, {in(x), in(y)});
  ASSERT_TRUE(m1.ok());
  expect_ints(m1->outputs[0], {0, 1, 5, 0, -1, 3});
  Tensor xf = make_tensor(DType::kFloat32, {6}, {-4.3, 7.2, 5.0, 4.3, -7.2, 8.0});
  Tensor yf = make_tensor(DType::kFloat32, {6}, {2.1, -3.4, 8.0, -2.1, 3.4, 5.0});
  auto f0 = run_op("Mod", {}, {in(xf), in(yf)});
  ASSERT_TRUE(f0.ok());
  expect_values(f0->outputs[0],
                {1.9999995231628418, -3.000000476837158, 5.0, -1.9999995231628418, 3.000000476837158, 3.0}, 1e-6);
  auto f1 = run_op("Mod", {{"fmod", Attr::of_int(1)}}, {in(xf), in(yf)});
  ASSERT_TRUE(f1.ok());
  expect_values(f1->outputs[0],
                {-0.10000038146972656, 0.39999961853027344, 5.0, 0.10000038146972656, -0.39999961853027344, 3.0}, 1e-5);
}

TEST(ElementwiseArith, ModFloatEdgeCases) {
  // numpy.mod: inf dividend -> nan, zero divisor -> nan, inf divisor -> x or y.
  Tensor x = make_tensor(DType::kFloat64, {6}, {kInf, 3, 0, -0.0, 2, -2});
  Tensor y = make_tensor(DType::kFloat64, {6}, {2, 0, -5, 5, kInf, kInf});
  auto m = run_op("Mod", {}, {in(x), in(y)});
  ASSERT_TRUE(m.ok());
  const Tensor& o = m->outputs[0];
  EXPECT_TRUE(std::isnan(o.get_f64(0)));
  EXPECT_TRUE(std::isnan(o.get_f64(1)));
  EXPECT_EQ(o.get_f64(2), 0.0);
  EXPECT_TRUE(std::signbit(o.get_f64(2)));  // sign of the divisor
  EXPECT_FALSE(std::signbit(o.get_f64(3)));
  EXPECT_EQ(o.get_f64(4), 2.0);
  EXPECT_EQ(o.get_f64(5), kInf);
}

TEST(ElementwiseArith, ModBadFmodAttribute) {
  Tensor x = make_tensor(DType::kFloat32, {1}, {1});
  auto two = run_op("Mod", {{"fmod", Attr::of_int(2)}}, {in(x), in(x)});
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("fmod"), std::string::npos);
  auto kind = run_op("Mod", {{"fmod", Attr::of_float(1.0f)}}, {in(x), in(x)});
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.status().message().find("fmod"), std::string::npos) << kind.status().to_string();
}

TEST(ElementwiseArith, PowTypes) {
  // onnx test_pow_types_*: int base with float exponent truncates.
  auto a =
      run_op("Pow", {}, {in(ints(DType::kInt64, {3}, {1, 2, 3})), in(make_tensor(DType::kFloat32, {3}, {4, 5, 6}))});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->outputs[0].dtype(), DType::kInt64);
  expect_ints(a->outputs[0], {1, 32, 729});
  auto b =
      run_op("Pow", {}, {in(make_tensor(DType::kFloat32, {3}, {1, 2, 3})), in(ints(DType::kInt64, {3}, {4, 5, 6}))});
  ASSERT_TRUE(b.ok());
  expect_values(b->outputs[0], {1, 32, 729}, 0);
  auto c = run_op("Pow", {},
                  {in(ints(DType::kInt32, {5}, {2, -3, 1, -1, 5})), in(ints(DType::kInt32, {5}, {10, 3, -4, -3, -1}))});
  ASSERT_TRUE(c.ok());
  expect_ints(c->outputs[0], {1024, -27, 1, -1, 0});
  auto z = run_op("Pow", {}, {in(ints(DType::kInt32, {1}, {0})), in(ints(DType::kInt32, {1}, {-1}))});
  EXPECT_FALSE(z.ok());
  auto f = run_op(
      "Pow", {},
      {in(make_tensor(DType::kFloat32, {3}, {4, -8, 2})), in(make_tensor(DType::kFloat32, {3}, {0.5, 1.0 / 3, -1}))});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->outputs[0].get_f64(0), 2.0);
  EXPECT_TRUE(std::isnan(f->outputs[0].get_f64(1)));
  EXPECT_EQ(f->outputs[0].get_f64(2), 0.5);
  // Pow's base must be float or int32/int64.
  auto bad = run_op("Pow", {}, {in(ints(DType::kInt8, {1}, {2})), in(ints(DType::kInt8, {1}, {2}))});
  EXPECT_FALSE(bad.ok());
}

TEST(ElementwiseArith, VariadicMinMaxSumMean) {
  Tensor a = make_tensor(DType::kFloat32, {3}, {3, 2, 1});
  Tensor b = make_tensor(DType::kFloat32, {3}, {1, 4, 4});
  Tensor c = make_tensor(DType::kFloat32, {3}, {2, 5, 3});
  auto mx = run_op("Max", {}, {in(a), in(b), in(c)});
  ASSERT_TRUE(mx.ok());
  expect_values(mx->outputs[0], {3, 5, 4}, 0);
  auto mn = run_op("Min", {}, {in(a), in(b), in(c)});
  ASSERT_TRUE(mn.ok());
  expect_values(mn->outputs[0], {1, 2, 1}, 0);
  auto sum = run_op("Sum", {}, {in(a), in(b), in(c)});
  ASSERT_TRUE(sum.ok());
  expect_values(sum->outputs[0], {6, 11, 8}, 0);
  auto mean = run_op("Mean", {}, {in(a), in(b), in(c)});
  ASSERT_TRUE(mean.ok());
  expect_values(mean->outputs[0], {2, 11.0 / 3, 8.0 / 3}, 1e-6);
  auto one = run_op("Max", {}, {in(a)});
  ASSERT_TRUE(one.ok());
  expect_values(one->outputs[0], {3, 2, 1}, 0);
  // Broadcast across three inputs and int types.
  auto bi = run_op("Min", {},
                   {in(ints(DType::kUInt8, {2, 1}, {5, 200})), in(ints(DType::kUInt8, {3}, {7, 3, 250})),
                    in(ints(DType::kUInt8, {}, {100}))});
  ASSERT_TRUE(bi.ok());
  EXPECT_EQ(bi->outputs[0].dims(), (std::vector<int64_t>{2, 3}));
  expect_ints(bi->outputs[0], {5, 3, 5, 7, 3, 100});
  // NaN propagates like numpy.minimum.
  auto nan = run_op(
      "Min", {}, {in(make_tensor(DType::kFloat32, {2}, {kNaN, 1})), in(make_tensor(DType::kFloat32, {2}, {0, kNaN}))});
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(std::isnan(nan->outputs[0].get_f64(0)));
  EXPECT_TRUE(std::isnan(nan->outputs[0].get_f64(1)));
  // Sum and Mean take floats only.
  EXPECT_FALSE(run_op("Sum", {}, {in(ints(DType::kInt32, {1}, {1}))}).ok());
}

TEST(ElementwiseArith, NarrowFloatsRoundOnce) {
  // bf16: 1 + 2^-8 is a tie between 1 and 1 + 2^-7; ties to even gives 1.
  Tensor a = make_tensor(DType::kBFloat16, {2}, {1.0, 1.0});
  Tensor b = make_tensor(DType::kBFloat16, {2}, {0.00390625, 0.01171875});
  auto r = run_op("Add", {}, {in(a), in(b)});
  ASSERT_TRUE(r.ok());
  expect_values(r->outputs[0], {1.0, 1.015625}, 0);
  auto h =
      run_op("Mul", {}, {in(make_tensor(DType::kFloat16, {1}, {300})), in(make_tensor(DType::kFloat16, {1}, {300}))});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->outputs[0].get_f64(0), kInf);  // 90000 overflows fp16
}

TEST(ElementwiseArith, TypeMismatchAndBroadcastErrors) {
  auto mixed = run_op("Add", {}, {in(make_tensor(DType::kFloat32, {2}, {1, 2})), in(ints(DType::kInt32, {2}, {1, 2}))});
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("same type"), std::string::npos) << mixed.status().to_string();
  auto fp8 =
      run_op("Add", {},
             {in(make_tensor(DType::kFloat8E4M3FN, {2}, {1, 2})), in(make_tensor(DType::kFloat8E4M3FN, {2}, {1, 2}))});
  ASSERT_FALSE(fp8.ok());
  EXPECT_NE(fp8.status().message().find("float8e4m3fn"), std::string::npos) << fp8.status().to_string();
  auto bc =
      run_op("Mul", {}, {in(make_tensor(DType::kFloat32, {2, 3}, {})), in(make_tensor(DType::kFloat32, {4}, {}))});
  ASSERT_FALSE(bc.ok());
  EXPECT_NE(bc.status().message().find("broadcast"), std::string::npos) << bc.status().to_string();
  EXPECT_NE(bc.status().message().find("Mul"), std::string::npos);
  auto missing = run_op("Add", {}, {omitted(), in(make_tensor(DType::kFloat32, {1}, {1}))});
  EXPECT_FALSE(missing.ok());
  auto sqrt_int = run_op("Sqrt", {}, {in(ints(DType::kInt32, {1}, {4}))});
  EXPECT_FALSE(sqrt_int.ok());
}

TEST(ElementwiseArith, BroadcastAllocationBombIsRefused) {
  Tensor a = make_tensor(DType::kFloat32, {1 << 20, 1}, {});
  Tensor b = make_tensor(DType::kFloat32, {1, 1 << 20}, {});
  auto r = run_op("Add", {}, {in(a), in(b)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kResourceExhausted) << r.status().to_string();
}

TEST(ElementwiseArith, EmptyAndScalar) {
  auto e = run_op("Add", {},
                  {in(make_tensor(DType::kFloat32, {0, 3}, {})), in(make_tensor(DType::kFloat32, {3}, {1, 2, 3}))});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->outputs[0].dims(), (std::vector<int64_t>{0, 3}));
  auto s = run_op("Mul", {}, {in(make_tensor(DType::kFloat64, {}, {2})), in(make_tensor(DType::kFloat64, {}, {4}))});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->outputs[0].rank(), 0);
  expect_values(s->outputs[0], {8}, 0);
}

TEST(ElementwiseArith, SymbolicShapesInfer) {
  Shape a({Dim::symbolic("batch"), Dim(1), Dim(5)});
  Shape b({Dim(7), Dim(1)});
  auto shape = infer_one("Add", {{DType::kFloat16, a}, {DType::kFloat16, b}});
  ASSERT_TRUE(shape.ok()) << shape.status().to_string();
  EXPECT_EQ(shape->shape.to_string(), "[batch,7,5]");
  auto cmp = infer_one("Less", {{DType::kInt64, Shape({Dim::symbolic("n")})}, {DType::kInt64, Shape()}});
  ASSERT_TRUE(cmp.ok());
  EXPECT_EQ(cmp->shape.to_string(), "[n]");
  EXPECT_EQ(cmp->dtype, DType::kBool);
  auto bad = infer_one("Add", {{DType::kFloat32, Shape({Dim(3)})}, {DType::kFloat32, Shape({Dim(4)})}});
  EXPECT_FALSE(bad.ok());
}

// ---- unary ---------------------------------------------------------------------
TEST(ElementwiseUnary, RoundHalfToEven) {
  auto r =
      run_op("Round", {}, {in(make_tensor(DType::kFloat32, {9}, {0.9, 2.5, 2.3, 1.5, -4.5, -0.5, 0.5, -2.7, 3.5}))});
  ASSERT_TRUE(r.ok());
  expect_values(r->outputs[0], {1, 2, 2, 2, -4, -0.0, 0, -3, 4}, 0);
  EXPECT_TRUE(std::signbit(r->outputs[0].get_f64(5)));
}

TEST(ElementwiseUnary, MathValues) {
  Tensor x = make_tensor(DType::kFloat64, {4}, {0.25, 1, 4, 9});
  struct Expect {
    const char* op;
    std::vector<double> y;
  } cases[] = {{"Sqrt", {0.5, 1, 2, 3}},
               {"Reciprocal", {4, 1, 0.25, 1.0 / 9}},
               {"Log", {std::log(0.25), 0, std::log(4.0), std::log(9.0)}},
               {"Exp", {std::exp(0.25), std::exp(1.0), std::exp(4.0), std::exp(9.0)}},
               {"Floor", {0, 1, 4, 9}},
               {"Ceil", {1, 1, 4, 9}},
               {"Neg", {-0.25, -1, -4, -9}},
               {"Sin", {std::sin(0.25), std::sin(1.0), std::sin(4.0), std::sin(9.0)}},
               {"Cos", {std::cos(0.25), std::cos(1.0), std::cos(4.0), std::cos(9.0)}}};
  for (const auto& c : cases) {
    auto r = run_op(c.op, {}, {in(x)});
    ASSERT_TRUE(r.ok()) << c.op << ": " << r.status().to_string();
    expect_values(r->outputs[0], c.y, 1e-15);
  }
}

TEST(ElementwiseUnary, SignAbsIntegers) {
  auto s = run_op("Sign", {}, {in(make_tensor(DType::kFloat32, {4}, {-3, 0, 2, kNaN}))});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->outputs[0].get_f64(0), -1);
  EXPECT_EQ(s->outputs[0].get_f64(1), 0);
  EXPECT_EQ(s->outputs[0].get_f64(2), 1);
  EXPECT_TRUE(std::isnan(s->outputs[0].get_f64(3)));
  auto si = run_op("Sign", {}, {in(ints(DType::kInt64, {3}, {-9, 0, 7}))});
  ASSERT_TRUE(si.ok());
  expect_ints(si->outputs[0], {-1, 0, 1});
  auto su = run_op("Abs", {}, {in(ints(DType::kUInt8, {2}, {0, 255}))});
  ASSERT_TRUE(su.ok());
  expect_ints(su->outputs[0], {0, 255});
  EXPECT_FALSE(run_op("Neg", {}, {in(ints(DType::kUInt8, {1}, {1}))}).ok());
}

}  // namespace
}  // namespace kiln
