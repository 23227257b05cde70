// Activation family: values against onnx.reference (float64 inputs
// -3, -1, -0.5, 0, 0.5, 1, 3), attributes, dtypes and error paths.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "elementwise_test_util.h"

namespace kiln {
namespace {

using namespace kiln::testing;   // NOLINT
using namespace kiln::elemtest;  // NOLINT

const std::vector<double> kX = {-3, -1, -0.5, 0, 0.5, 1, 3};

struct Expect {
  const char* op;
  std::map<std::string, Attr> attrs;
  std::vector<double> y;
};

TEST(ActivationValues, MatchOnnxReference) {
  const Expect cases[] = {
      {"Relu", {}, {0, 0, 0, 0, 0.5, 1, 3}},
      {"LeakyRelu",
       {{"alpha", Attr::of_float(0.1f)}},
       {-0.30000000447034836, -0.10000000149011612, -0.05000000074505806, 0.0, 0.5, 1.0, 3.0}},
      {"Sigmoid",
       {},
       {0.04742587317756679, 0.2689414213699951, 0.37754066879814546, 0.5, 0.6224593312018546, 0.7310585786300049,
        0.9525741268224334}},
      {"HardSigmoid",
       {},
       {0.0, 0.29999999701976776, 0.3999999985098839, 0.5, 0.6000000014901161, 0.7000000029802322, 1.0}},
      {"HardSwish",
       {},
       {-0.0, -0.3333333283662796, -0.2083333320915699, 0.0, 0.2916666679084301, 0.6666666716337204, 3.0}},
      {"Tanh",
       {},
       {-0.9950547536867305, -0.7615941559557649, -0.46211715726000974, 0.0, 0.46211715726000974, 0.7615941559557649,
        0.9950547536867305}},
      {"Erf",
       {},
       {-0.9999778866767883, -0.8427007794380188, -0.5204998850822449, 0.0, 0.5204998850822449, 0.8427007794380188,
        0.9999778866767883}},
      {"Gelu",
       {},
       {-0.0040496885776519775, -0.15865525603294373, -0.1542687714099884, 0.0, 0.3457312285900116, 0.8413447439670563,
        2.995950311422348}},
      {"Gelu",
       {{"approximate", Attr::of_string("tanh")}},
       {-0.003637392815791174, -0.15880801421356938, -0.1542859919438359, 0.0, 0.3457140080561641, 0.8411919857864306,
        2.9963626071842087}},
      {"Softplus",
       {},
       {0.04858735157374206, 0.31326168751822286, 0.4740769841801067, 0.6931471805599453, 0.9740769841801067,
        1.3132616875182228, 3.048587351573742}},
      {"Softsign", {}, {-0.75, -0.5, -0.3333333333333333, 0.0, 0.3333333333333333, 0.5, 0.75}},
      {"Elu",
       {{"alpha", Attr::of_float(0.5f)}},
       {-0.475106465816068, -0.31606027941427883, -0.1967346701436833, 0.0, 0.5, 1.0, 3.0}},
      {"Selu",
       {},
       {-1.6705687339891528, -1.1113307412864784, -0.6917581899652426, 0.0, 0.5253505110740662, 1.0507010221481323,
        3.152103066444397}},
      {"Celu",
       {{"alpha", Attr::of_float(2.0f)}},
       {-1.5537396669387817, -0.7869386672973633, -0.44239842891693115, 0.0, 0.5, 1.0, 3.0}},
      {"ThresholdedRelu", {{"alpha", Attr::of_float(0.5f)}}, {0, 0, 0, 0, 0, 1, 3}},
      {"Mish",
       {},
       {-0.1456474612756246, -0.30340146137410895, -0.22074377465173, 0.0, 0.3752452113048951, 0.8650983882673103,
        2.986535004967957}},
  };
  for (const Expect& c : cases) {
    SCOPED_TRACE(c.op);
    auto r = run_op(c.op, c.attrs, {in(make_tensor(DType::kFloat64, {7}, kX))});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    // onnx.reference computes some of these in float32 (Erf, Celu, HardSwish).
    expect_values(r->outputs[0], c.y, 1e-7);
    auto f32 = run_op(c.op, c.attrs, {in(make_tensor(DType::kFloat32, {7}, kX))});
    ASSERT_TRUE(f32.ok());
    expect_values(f32->outputs[0], c.y, 1e-6);
  }
}

TEST(ActivationValues, ExtremesDoNotOverflow) {
  Tensor x = make_tensor(DType::kFloat32, {4}, {-1000, 1000, -80, 80});
  auto s = run_op("Sigmoid", {}, {in(x)});
  ASSERT_TRUE(s.ok());
  expect_values(s->outputs[0], {0, 1, 1.8048513878454153e-35, 1}, 1e-6);
  auto sp = run_op("Softplus", {}, {in(x)});
  ASSERT_TRUE(sp.ok());
  expect_values(sp->outputs[0], {0, 1000, 1.8048513878454153e-35, 80}, 1e-6);
  auto m = run_op("Mish", {}, {in(x)});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->outputs[0].get_f64(1), 1000);
  auto nan = run_op("HardSigmoid", {}, {in(make_tensor(DType::kFloat32, {1}, {std::nan("")}))});
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(std::isnan(nan->outputs[0].get_f64(0)));
}

TEST(ActivationValues, NarrowTypesAndIntRelu) {
  auto h = run_op("Sigmoid", {}, {in(make_tensor(DType::kFloat16, {2}, {0, 2}))});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->outputs[0].dtype(), DType::kFloat16);
  expect_values(h->outputs[0], {0.5, 0.880859375}, 0);  // numpy float16(sigmoid(2))
  auto b = run_op("Gelu", {}, {in(make_tensor(DType::kBFloat16, {1}, {1}))});
  ASSERT_TRUE(b.ok());
  expect_values(b->outputs[0], {0.83984375}, 0);  // bf16(0.8413447)
  auto i = run_op("Relu", {}, {in(ints(DType::kInt8, {3}, {-128, 0, 127}))});
  ASSERT_TRUE(i.ok());
  expect_ints(i->outputs[0], {0, 0, 127});
  // Only Relu takes integers.
  EXPECT_FALSE(run_op("Sigmoid", {}, {in(ints(DType::kInt32, {1}, {1}))}).ok());
  EXPECT_FALSE(run_op("Relu", {}, {in(ints(DType::kUInt8, {1}, {1}))}).ok());
}

TEST(ActivationPRelu, SlopeBroadcastsToX) {
  // onnx test_prelu_broadcast: slope [5] against X [3,4,5].
  Tensor x = make_tensor(DType::kFloat32, {2, 3}, {-1, 2, -3, 4, -5, 6});
  Tensor slope = make_tensor(DType::kFloat32, {3}, {0.5, 0.25, 2});
  auto r = run_op("PRelu", {}, {in(x), in(slope)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {-0.5, 2, -6, 4, -1.25, 6}, 0);
  auto ch = run_op("PRelu", {}, {in(x), in(make_tensor(DType::kFloat32, {2, 1}, {0.1, 10}))});
  ASSERT_TRUE(ch.ok());
  expect_values(ch->outputs[0], {-0.1, 2, -0.3, 4, -50, 6}, 1e-6);
  auto ints64 = run_op("PRelu", {}, {in(ints(DType::kInt64, {3}, {-4, 0, 4})), in(ints(DType::kInt64, {}, {3}))});
  ASSERT_TRUE(ints64.ok());
  expect_ints(ints64->outputs[0], {-12, 0, 4});
  // The slope may not grow X.
  auto grow =
      run_op("PRelu", {}, {in(make_tensor(DType::kFloat32, {3}, {})), in(make_tensor(DType::kFloat32, {2, 3}, {}))});
  ASSERT_FALSE(grow.ok());
  EXPECT_NE(grow.status().message().find("slope"), std::string::npos) << grow.status().to_string();
  auto bad = run_op("PRelu", {}, {in(x), in(make_tensor(DType::kFloat32, {2}, {}))});
  EXPECT_FALSE(bad.ok());
  auto mixed = run_op("PRelu", {}, {in(x), in(make_tensor(DType::kFloat16, {3}, {}))});
  EXPECT_FALSE(mixed.ok());
}

TEST(ActivationAttrs, BadAttributesAreErrors) {
  Tensor x = make_tensor(DType::kFloat32, {2}, {1, -1});
  auto gelu = run_op("Gelu", {{"approximate", Attr::of_string("fast")}}, {in(x)});
  ASSERT_FALSE(gelu.ok());
  EXPECT_NE(gelu.status().message().find("approximate"), std::string::npos);
  auto kind = run_op("LeakyRelu", {{"alpha", Attr::of_int(1)}}, {in(x)});
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.status().message().find("alpha"), std::string::npos) << kind.status().to_string();
  auto inf = run_op("Elu", {{"alpha", Attr::of_float(std::numeric_limits<float>::infinity())}}, {in(x)});
  EXPECT_FALSE(inf.ok());
  auto celu0 = run_op("Celu", {{"alpha", Attr::of_float(0.0f)}}, {in(x)});
  ASSERT_FALSE(celu0.ok());
  EXPECT_NE(celu0.status().message().find("nonzero"), std::string::npos);
  // Gelu exists from opset 20, HardSwish from 14, Mish from 18.
  EXPECT_FALSE(run_op("Gelu", {}, {in(x)}, 1, 19).ok());
  EXPECT_FALSE(run_op("HardSwish", {}, {in(x)}, 1, 13).ok());
  EXPECT_TRUE(run_op("Mish", {}, {in(x)}, 1, 18).ok());
}

TEST(ActivationShapes, SymbolicAndEmpty) {
  auto v = infer_one("PRelu", {{DType::kFloat32, Shape({Dim::symbolic("n"), Dim(3), Dim(8)})},
                               {DType::kFloat32, Shape({Dim(3), Dim(1)})}});
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->shape.to_string(), "[n,3,8]");
  auto e = run_op("Tanh", {}, {in(make_tensor(DType::kFloat32, {0, 4}, {}))});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->outputs[0].dims(), (std::vector<int64_t>{0, 4}));
}

}  // namespace
}  // namespace kiln
