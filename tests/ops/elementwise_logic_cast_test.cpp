// Elementwise family, second part: comparisons, logic, Where, IsNaN/IsInf,
// Cast/CastLike, Clip and Identity. Expected numbers from numpy / onnx.reference.
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

Attr to(DType t) { return Attr::of_int(static_cast<int64_t>(t)); }

// ---- comparisons and logic --------------------------------------------------------
TEST(ElementwiseLogic, Comparisons) {
  Tensor a = make_tensor(DType::kFloat32, {2, 3}, {1, 2, 3, kNaN, 5, -1});
  Tensor b = make_tensor(DType::kFloat32, {3}, {2, 2, kNaN});
  struct Expect {
    const char* op;
    std::vector<int64_t> y;
  } cases[] = {{"Equal", {0, 1, 0, 0, 0, 0}},
               {"Greater", {0, 0, 0, 0, 1, 0}},
               {"Less", {1, 0, 0, 0, 0, 0}},
               {"GreaterOrEqual", {0, 1, 0, 0, 1, 0}},
               {"LessOrEqual", {1, 1, 0, 0, 0, 0}}};
  for (const auto& c : cases) {
    auto r = run_op(c.op, {}, {in(a), in(b)});
    ASSERT_TRUE(r.ok()) << c.op << ": " << r.status().to_string();
    EXPECT_EQ(r->outputs[0].dtype(), DType::kBool);
    expect_ints(r->outputs[0], c.y);
  }
  // int64 compares exactly beyond 2^53.
  int64_t big = (int64_t{1} << 60) + 1;
  auto e = run_op("Equal", {}, {in(ints(DType::kInt64, {1}, {big})), in(ints(DType::kInt64, {1}, {big - 1}))});
  ASSERT_TRUE(e.ok());
  expect_ints(e->outputs[0], {0});
  auto eb = run_op("Equal", {}, {in(ints(DType::kBool, {2}, {1, 0})), in(ints(DType::kBool, {1}, {1}))});
  ASSERT_TRUE(eb.ok());
  expect_ints(eb->outputs[0], {1, 0});
  EXPECT_FALSE(run_op("Greater", {}, {in(ints(DType::kBool, {1}, {1})), in(ints(DType::kBool, {1}, {1}))}).ok());
}

TEST(ElementwiseLogic, BooleanOps) {
  Tensor a = ints(DType::kBool, {2, 2}, {0, 0, 1, 1});
  Tensor b = ints(DType::kBool, {2}, {0, 1});
  auto andr = run_op("And", {}, {in(a), in(b)});
  auto orr = run_op("Or", {}, {in(a), in(b)});
  auto xorr = run_op("Xor", {}, {in(a), in(b)});
  auto notr = run_op("Not", {}, {in(a)});
  ASSERT_TRUE(andr.ok() && orr.ok() && xorr.ok() && notr.ok());
  expect_ints(andr->outputs[0], {0, 0, 0, 1});
  expect_ints(orr->outputs[0], {0, 1, 1, 1});
  expect_ints(xorr->outputs[0], {0, 1, 1, 0});
  expect_ints(notr->outputs[0], {1, 1, 0, 0});
  EXPECT_FALSE(run_op("And", {}, {in(ints(DType::kInt32, {1}, {1})), in(ints(DType::kInt32, {1}, {1}))}).ok());
}

TEST(ElementwiseLogic, WhereBroadcastsAllThree) {
  Tensor c = ints(DType::kBool, {2, 1}, {1, 0});
  Tensor x = ints(DType::kInt64, {3}, {1, 2, 3});
  Tensor y = ints(DType::kInt64, {}, {-7});
  auto r = run_op("Where", {}, {in(c), in(x), in(y)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{2, 3}));
  expect_ints(r->outputs[0], {1, 2, 3, -7, -7, -7});
  auto bad_cond = run_op("Where", {}, {in(ints(DType::kInt32, {1}, {1})), in(x), in(y)});
  EXPECT_FALSE(bad_cond.ok());
  auto mixed = run_op("Where", {}, {in(c), in(x), in(make_tensor(DType::kFloat32, {}, {1}))});
  EXPECT_FALSE(mixed.ok());
}

TEST(ElementwiseLogic, IsNaNIsInf) {
  Tensor x = make_tensor(DType::kFloat32, {6}, {-1.2, kNaN, kInf, 2.8, -kInf, kInf});
  auto nan = run_op("IsNaN", {}, {in(x)});
  ASSERT_TRUE(nan.ok());
  expect_ints(nan->outputs[0], {0, 1, 0, 0, 0, 0});
  auto both = run_op("IsInf", {}, {in(x)});
  ASSERT_TRUE(both.ok());
  expect_ints(both->outputs[0], {0, 0, 1, 0, 1, 1});
  auto pos = run_op("IsInf", {{"detect_negative", Attr::of_int(0)}}, {in(x)});
  ASSERT_TRUE(pos.ok());
  expect_ints(pos->outputs[0], {0, 0, 1, 0, 0, 1});
  auto neg = run_op("IsInf", {{"detect_positive", Attr::of_int(0)}}, {in(x)});
  ASSERT_TRUE(neg.ok());
  expect_ints(neg->outputs[0], {0, 0, 0, 0, 1, 0});
  // e5m2 has infinities, e4m3fn has none (its overflow saturates to 448).
  Tensor e5x = make_tensor(DType::kFloat8E5M2, {2}, {0, 1});
  e5x.mutable_data<uint8_t>()[0] = 0x7c;  // +inf (storing inf through set_f64 saturates)
  auto e5 = run_op("IsInf", {}, {in(e5x)});
  ASSERT_TRUE(e5.ok());
  expect_ints(e5->outputs[0], {1, 0});
  auto e4 = run_op("IsNaN", {}, {in(make_tensor(DType::kFloat8E4M3FN, {2}, {kNaN, 1}))});
  ASSERT_TRUE(e4.ok());
  expect_ints(e4->outputs[0], {1, 0});
  EXPECT_FALSE(run_op("IsInf", {{"detect_positive", Attr::of_int(3)}}, {in(x)}).ok());
  EXPECT_FALSE(run_op("IsNaN", {}, {in(ints(DType::kInt32, {1}, {1}))}).ok());
}

// ---- Cast ----------------------------------------------------------------------------
TEST(ElementwiseCast, Fp8SaturateAndNot) {
  // onnx.reference: Cast(float32 -> fp8, saturate=0/1).
  Tensor x = make_tensor(DType::kFloat32, {10}, {1e6, -1e6, kInf, -kInf, kNaN, 0.3, 448, 460, -500, 0.0009765625});
  auto e4s = run_op("Cast", {{"to", to(DType::kFloat8E4M3FN)}}, {in(x)});
  ASSERT_TRUE(e4s.ok());
  expect_values(e4s->outputs[0], {448, -448, 448, -448, kNaN, 0.3125, 448, 448, -448, 0}, 0);
  auto e4n = run_op("Cast", {{"to", to(DType::kFloat8E4M3FN)}, {"saturate", Attr::of_int(0)}}, {in(x)});
  ASSERT_TRUE(e4n.ok());
  expect_values(e4n->outputs[0], {kNaN, kNaN, kNaN, kNaN, kNaN, 0.3125, 448, 448, kNaN, 0}, 0);
  auto e5s = run_op("Cast", {{"to", to(DType::kFloat8E5M2)}}, {in(x)});
  ASSERT_TRUE(e5s.ok());
  expect_values(e5s->outputs[0], {57344, -57344, 57344, -57344, kNaN, 0.3125, 448, 448, -512, 0.0009765625}, 0);
  auto e5n = run_op("Cast", {{"to", to(DType::kFloat8E5M2)}, {"saturate", Attr::of_int(0)}}, {in(x)});
  ASSERT_TRUE(e5n.ok());
  expect_values(e5n->outputs[0], {kInf, -kInf, kInf, -kInf, kNaN, 0.3125, 448, 448, -512, 0.0009765625}, 0);
}

TEST(ElementwiseCast, DoubleToNarrowRoundsOnce) {
  // 1 + 2^-11 + 2^-40 is just above an fp16 tie: numpy float64 -> float16
  // gives 1.0009765625; going through float32 first would give 1.0.
  Tensor x =
      make_tensor(DType::kFloat64, {2}, {1 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40), 1 + std::ldexp(1.0, -11)});
  auto r = run_op("Cast", {{"to", to(DType::kFloat16)}}, {in(x)});
  ASSERT_TRUE(r.ok());
  expect_values(r->outputs[0], {1.0009765625, 1.0}, 0);
  auto b = run_op("Cast", {{"to", to(DType::kBFloat16)}},
                  {in(make_tensor(DType::kFloat64, {1}, {1 + std::ldexp(1.0, -8) + std::ldexp(1.0, -35)}))});
  ASSERT_TRUE(b.ok());
  expect_values(b->outputs[0], {1.0078125}, 0);
}

TEST(ElementwiseCast, IntegerAndBoolRules) {
  // Fixed point out of range wraps (200 int32 -> int8 is -56).
  auto w = run_op("Cast", {{"to", to(DType::kInt8)}}, {in(ints(DType::kInt32, {3}, {200, -129, 300}))});
  ASSERT_TRUE(w.ok());
  expect_ints(w->outputs[0], {-56, 127, 44});
  auto t = run_op("Cast", {{"to", to(DType::kInt32)}}, {in(make_tensor(DType::kFloat32, {4}, {2.9, -2.9, 0.5, -0.5}))});
  ASSERT_TRUE(t.ok());
  expect_ints(t->outputs[0], {2, -2, 0, 0});
  auto fb = run_op("Cast", {{"to", to(DType::kBool)}}, {in(make_tensor(DType::kFloat32, {4}, {0, -0.0, 0.1, kNaN}))});
  ASSERT_TRUE(fb.ok());
  expect_ints(fb->outputs[0], {0, 0, 1, 1});
  auto ib = run_op("Cast", {{"to", to(DType::kBool)}}, {in(ints(DType::kInt64, {3}, {0, 256, -1}))});
  ASSERT_TRUE(ib.ok());
  expect_ints(ib->outputs[0], {0, 1, 1});
  auto bf = run_op("Cast", {{"to", to(DType::kFloat16)}}, {in(ints(DType::kBool, {2}, {1, 0}))});
  ASSERT_TRUE(bf.ok());
  expect_values(bf->outputs[0], {1, 0}, 0);
  // int64 -> float32 rounds once (2^60 + 2^36 + 1 is above the tie).
  int64_t big = (int64_t{1} << 60) + (int64_t{1} << 36) + 1;
  auto f = run_op("Cast", {{"to", to(DType::kFloat32)}}, {in(ints(DType::kInt64, {1}, {big}))});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->outputs[0].data<float>()[0], static_cast<float>(big));
  // uint8 -> int64 and int8 -> uint8.
  auto u = run_op("Cast", {{"to", to(DType::kUInt8)}}, {in(ints(DType::kInt8, {2}, {-1, 5}))});
  ASSERT_TRUE(u.ok());
  expect_ints(u->outputs[0], {255, 5});
}

TEST(ElementwiseCast, BadAttributes) {
  Tensor x = make_tensor(DType::kFloat32, {1}, {1});
  auto missing = run_op("Cast", {}, {in(x)});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'to'"), std::string::npos);
  auto str_type = run_op("Cast", {{"to", Attr::of_int(8)}}, {in(x)});
  ASSERT_FALSE(str_type.ok());
  EXPECT_EQ(str_type.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(str_type.status().message().find("string"), std::string::npos) << str_type.status().to_string();
  auto bogus = run_op("Cast", {{"to", Attr::of_int(1000)}}, {in(x)});
  ASSERT_FALSE(bogus.ok());
  EXPECT_EQ(bogus.status().code(), ErrorCode::kInvalidArgument);
  auto kind = run_op("Cast", {{"to", Attr::of_string("float")}}, {in(x)});
  EXPECT_FALSE(kind.ok());
  auto sat = run_op("Cast", {{"to", to(DType::kFloat8E5M2)}, {"saturate", Attr::of_int(7)}}, {in(x)});
  EXPECT_FALSE(sat.ok());
  auto mode = run_op("Cast", {{"to", to(DType::kFloat16)}, {"round_mode", Attr::of_string("sideways")}}, {in(x)});
  ASSERT_FALSE(mode.ok());
  EXPECT_NE(mode.status().message().find("round_mode"), std::string::npos);
  auto ok_mode = run_op("Cast", {{"to", to(DType::kFloat16)}, {"round_mode", Attr::of_string("down")}}, {in(x)});
  EXPECT_TRUE(ok_mode.ok());
}

TEST(ElementwiseCast, CastLikeTakesTheTargetsType) {
  auto r = run_op(
      "CastLike", {},
      {in(make_tensor(DType::kFloat32, {3}, {1.5, -2.5, 1000})), in(make_tensor(DType::kFloat8E4M3FN, {}, {0}))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].dtype(), DType::kFloat8E4M3FN);
  expect_values(r->outputs[0], {1.5, -2.5, 448}, 0);
  auto ns = run_op("CastLike", {{"saturate", Attr::of_int(0)}},
                   {in(make_tensor(DType::kFloat32, {1}, {1000})), in(make_tensor(DType::kFloat8E4M3FN, {}, {0}))});
  ASSERT_TRUE(ns.ok());
  EXPECT_TRUE(std::isnan(ns->outputs[0].get_f64(0)));
}

// ---- Clip, Identity ---------------------------------------------------------------------
TEST(ElementwiseClip, BoundsOptionalAndInverted) {
  Tensor x = make_tensor(DType::kFloat32, {5}, {-3, -1, 0, 2, kNaN});
  auto both = run_op("Clip", {},
                     {in(x), in(make_tensor(DType::kFloat32, {}, {-1.5})), in(make_tensor(DType::kFloat32, {}, {1}))});
  ASSERT_TRUE(both.ok());
  expect_values(both->outputs[0], {-1.5, -1, 0, 1, kNaN}, 0);
  auto hi_only = run_op("Clip", {}, {in(x), omitted(), in(make_tensor(DType::kFloat32, {1}, {0}))});
  ASSERT_TRUE(hi_only.ok());
  expect_values(hi_only->outputs[0], {-3, -1, 0, 0, kNaN}, 0);
  auto none = run_op("Clip", {}, {in(x)});
  ASSERT_TRUE(none.ok());
  expect_values(none->outputs[0], {-3, -1, 0, 2, kNaN}, 0);
  // min > max: everything becomes max.
  auto inv =
      run_op("Clip", {}, {in(x), in(make_tensor(DType::kFloat32, {}, {2})), in(make_tensor(DType::kFloat32, {}, {1}))});
  ASSERT_TRUE(inv.ok());
  expect_values(inv->outputs[0], {1, 1, 1, 1, kNaN}, 0);
  auto i8 = run_op("Clip", {},
                   {in(ints(DType::kInt8, {4}, {-128, -5, 5, 127})), in(ints(DType::kInt8, {}, {-6})),
                    in(ints(DType::kInt8, {}, {6}))});
  ASSERT_TRUE(i8.ok());
  expect_ints(i8->outputs[0], {-6, -5, 5, 6});
  auto vec = run_op("Clip", {}, {in(x), in(make_tensor(DType::kFloat32, {2}, {0, 1}))});
  ASSERT_FALSE(vec.ok());
  EXPECT_NE(vec.status().message().find("one value"), std::string::npos);
  auto mixed = run_op("Clip", {}, {in(x), in(ints(DType::kInt32, {}, {0}))});
  EXPECT_FALSE(mixed.ok());
}

TEST(ElementwiseClip, IdentityKeepsBytes) {
  Tensor x = make_tensor(DType::kFloat8E5M2, {2, 0}, {});
  auto e = run_op("Identity", {}, {in(x)});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->outputs[0].dims(), (std::vector<int64_t>{2, 0}));
  auto b = run_op("Identity", {}, {in(ints(DType::kBool, {3}, {1, 0, 1}))});
  ASSERT_TRUE(b.ok());
  expect_ints(b->outputs[0], {1, 0, 1});
}

TEST(ElementwiseClip, CastInfersFromSymbolicShape) {
  auto v = infer_one("Cast", {{DType::kInt64, Shape({Dim::symbolic("n"), Dim(3)})}}, {{"to", to(DType::kFloat32)}});
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->dtype, DType::kFloat32);
  EXPECT_EQ(v->shape.to_string(), "[n,3]");
  auto w = infer_one("Where", {{DType::kBool, Shape({Dim::symbolic("b"), Dim(1)})},
                               {DType::kFloat16, Shape({Dim(4)})},
                               {DType::kFloat16, Shape()}});
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(w->shape.to_string(), "[b,4]");
}

}  // namespace
}  // namespace kiln
