// kiln.FusedLayerNorm's CPU reference: exactly the unfused Add ->
// LayerNormalization (the sum rounded to X's type first), hand-checked
// values, and its refusals.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/op_case.h"
#include "op_test_util.h"

namespace kiln {
namespace {

using testing::in;
using testing::make_tensor;
using testing::run_op;

Tensor random(DType t, std::vector<int64_t> dims, double lo, double hi, uint64_t seed) {
  Tensor x = Tensor::alloc(t, std::move(dims)).value();
  fill_uniform(x, lo, hi, seed);
  return x;
}

Expected<Tensor> fused(const std::vector<testing::OpInput>& inputs, const std::map<std::string, Attr>& attrs = {}) {
  KILN_ASSIGN_OR_RETURN(testing::OpRun r, run_op("FusedLayerNorm", attrs, inputs, 1, 1, "kiln"));
  return std::move(r.outputs[0]);
}

TEST(FusedLayerNormOp, EqualsUnfusedAddLayerNorm) {
  const std::map<std::string, Attr> attrs = {{"epsilon", Attr::of_float(1e-12f)}};
  for (DType t : {DType::kFloat32, DType::kFloat16}) {
    for (int64_t w : {7, 33, 768, 1000}) {
      for (bool bias : {true, false}) {
        SCOPED_TRACE(str(dtype_name(t), " width ", w, bias ? " with bias" : " without bias"));
        const uint64_t seed = static_cast<uint64_t>(w) * 4 + (bias ? 1 : 0);
        Tensor x = random(t, {2, 3, w}, -3, 3, seed);
        Tensor z = random(t, {2, 3, w}, -2, 2, seed + 1000);
        Tensor s = random(t, {w}, 0.5, 1.5, seed + 2000);
        Tensor b = random(t, {w}, -1, 1, seed + 3000);
        auto sum = run_op("Add", {}, {in(x), in(z)});
        ASSERT_TRUE(sum.ok()) << sum.status().to_string();
        std::vector<testing::OpInput> ln_in = {in(sum->outputs[0]), in(s)};
        std::vector<testing::OpInput> fused_in = {in(x), in(z), in(s)};
        if (bias) {
          ln_in.push_back(in(b));
          fused_in.push_back(in(b));
        }
        auto want = run_op("LayerNormalization", attrs, ln_in);
        ASSERT_TRUE(want.ok()) << want.status().to_string();
        auto got = fused(fused_in, attrs);
        ASSERT_TRUE(got.ok()) << got.status().to_string();
        const Tensor& y = want->outputs[0];
        ASSERT_EQ(got->dtype(), t);
        ASSERT_EQ(got->dims(), y.dims());
        for (int64_t k = 0; k < y.numel(); ++k) ASSERT_EQ(got->get_f64(k), y.get_f64(k)) << "element " << k;
      }
    }
  }
}

// In float16, 2048 + 1 rounds to 2048 (spacing 2): the fused op normalizes
// the rounded sum [2048, 2048, 0, 0] -> [1, 1, -1, -1], as the unfused graph.
TEST(FusedLayerNormOp, NormalizesTheSumRoundedToXsType) {
  Tensor x = make_tensor(DType::kFloat16, {1, 4}, {2048, 2048, 0, 0});
  Tensor z = make_tensor(DType::kFloat16, {1, 4}, {1, 0, 0, 0});
  Tensor s = make_tensor(DType::kFloat16, {4}, {1, 1, 1, 1});
  auto y = fused({in(x), in(z), in(s)}, {{"epsilon", Attr::of_float(0.f)}});
  ASSERT_TRUE(y.ok()) << y.status().to_string();
  for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(y->get_f64(k), k < 2 ? 1.0 : -1.0) << "element " << k;
}

// [1, 2] + [1, 2] = [2, 4]: mean 3, variance 1, so Y = [-1, 1] * scale + B.
TEST(FusedLayerNormOp, HandCheckedValues) {
  Tensor x = make_tensor(DType::kFloat32, {2}, {1, 2});
  Tensor s = make_tensor(DType::kFloat32, {2}, {2, 3});
  Tensor b = make_tensor(DType::kFloat32, {2}, {0.5, -0.5});
  auto y = fused({in(x), in(x), in(s), in(b)}, {{"epsilon", Attr::of_float(0.f)}});
  ASSERT_TRUE(y.ok()) << y.status().to_string();
  EXPECT_EQ(y->get_f64(0), -1.5);
  EXPECT_EQ(y->get_f64(1), 2.5);
}

TEST(FusedLayerNormOp, RefusesAxisOtherThanLast) {
  Tensor x = make_tensor(DType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor s = make_tensor(DType::kFloat32, {2, 3}, {1, 1, 1, 1, 1, 1});
  auto r = fused({in(x), in(x), in(s)}, {{"axis", Attr::of_int(0)}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("last axis"), std::string::npos) << r.status().to_string();
  Tensor s3 = make_tensor(DType::kFloat32, {3}, {1, 1, 1});
  for (int64_t axis : {-1, 1}) EXPECT_TRUE(fused({in(x), in(x), in(s3)}, {{"axis", Attr::of_int(axis)}}).ok());
}

TEST(FusedLayerNormOp, RefusesZOfAnotherShapeOrType) {
  Tensor x = make_tensor(DType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor s = make_tensor(DType::kFloat32, {3}, {1, 1, 1});
  for (const Tensor& z : {make_tensor(DType::kFloat32, {1, 3}, {1, 2, 3}),
                          make_tensor(DType::kFloat16, {2, 3}, {1, 2, 3, 4, 5, 6})}) {
    auto r = fused({in(x), in(z), in(s)});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("Z must have X's type and shape"), std::string::npos)
        << r.status().to_string();
  }
}

}  // namespace
}  // namespace kiln
