// MaxPool / AveragePool / LpPool and the Global pools: expected values from
// onnxruntime 1.23 (opset 22; GlobalLpPool at opset 2, which it implements)
// for awkward configurations, inputs from conv_family_test_util.h's
// pattern(); bad input; inference on symbolic shapes.
#include "conv_family_test_util.h"

namespace kiln::testing {
namespace {

TEST(PoolCases, AllDeclaredCasesRun) {
  EXPECT_GE(run_family_cases({"MaxPool", "AveragePool", "LpPool", "GlobalMaxPool", "GlobalAveragePool",
                              "GlobalLpPool"}),
            40);
}

Tensor P(std::vector<int64_t> dims, DType t = DType::kFloat32) { return pattern_tensor(t, std::move(dims)); }

void expect_indices(const Tensor& got, const std::vector<int64_t>& want) {
  ASSERT_EQ(got.dtype(), DType::kInt64);
  EXPECT_EQ(got.to_i64_vector(), want);
}

TEST(PoolValues, MaxPoolIndicesPadsCeilMode) {
  auto r = run_op("MaxPool", {{"kernel_shape", ints({3, 2})}, {"strides", ints({2, 3})}, {"pads", ints({1, 0, 1, 1})},
                              {"ceil_mode", one(1)}},
                  {in(P({1, 2, 5, 7}))}, 2);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{1, 2, 3, 3}));
  expect_values(r->outputs[0], {-0.125, 1.25, 1.375, 0.625, 0.375, 1.375, 1, 0.75, -0.375, 1.375, 1.125, 0.375, 1.25,
                                1.375, 1.125, 0, 1.375, 1.125});
  expect_indices(r->outputs[1], {8, 3, 13, 22, 25, 13, 29, 32, 34, 36, 39, 48, 49, 59, 62, 64, 59, 62});
}

TEST(PoolValues, MaxPoolColumnMajorIndicesWithDilation) {
  auto r = run_op("MaxPool", {{"kernel_shape", ints({2, 2})}, {"dilations", ints({2, 1})}, {"strides", ints({1, 2})},
                              {"storage_order", one(1)}},
                  {in(P({1, 1, 6, 5}))}, 2);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {-0.375, 1.375, 1.125, 0, -0.25, 1.375, 1.25, 0.125});
  expect_indices(r->outputs[1], {8, 20, 9, 21, 10, 20, 11, 23});
}

TEST(PoolValues, MaxPool3dIndicesBothStorageOrders) {
  std::map<std::string, Attr> attrs{
      {"kernel_shape", ints({2, 2, 2})}, {"strides", ints({2, 2, 2})}, {"pads", ints({1, 0, 0, 0, 0, 1})}};
  auto r = run_op("MaxPool", attrs, {in(P({1, 1, 3, 4, 3}))}, 2);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {1.25, 0.375, 1, -0.125, 1.375, 1.25, 0.875, 0.75});
  expect_indices(r->outputs[1], {3, 2, 6, 8, 13, 26, 19, 32});
  attrs["storage_order"] = one(1);
  auto c = run_op("MaxPool", attrs, {in(P({1, 1, 3, 4, 3}))}, 2);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  expect_indices(c->outputs[1], {3, 24, 6, 30, 13, 26, 19, 32});
}

TEST(PoolValues, MaxPoolInt8CeilMode) {
  Tensor x = P({1, 1, 4, 5});
  Tensor x8 = Tensor::alloc(DType::kInt8, {1, 1, 4, 5}).value();
  for (int64_t i = 0; i < x.numel(); ++i) x8.set_f64(i, x.get_f64(i) * 8);
  auto r = run_op("MaxPool", {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}, {"ceil_mode", one(1)}},
                  {in(x8)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dtype(), DType::kInt8);
  expect_values(r->outputs[0], {8, 10, 6, 9, 11, 7}, 0);
}

TEST(PoolValues, AveragePoolCeilModeCountsOnlyTheRealPads) {
  // The last window covers input position 6 and two positions past the end
  // that are not padding: the divisor is 1 (onnxruntime; the ONNX reference
  // implementation gets this one wrong).
  auto r = run_op("AveragePool", {{"kernel_shape", ints({3})}, {"strides", ints({3})}, {"ceil_mode", one(1)},
                                  {"count_include_pad", one(1)}},
                  {in(P({1, 1, 7}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {-0.5, 0.20833333, 1});
}

TEST(PoolValues, AveragePoolPadsExcluded) {
  auto r = run_op("AveragePool", {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}},
                  {in(P({1, 1, 5, 5}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {-0.1875, 0.16666667, 0.28125, 0.14583333, 0.18055555, 0.375, 0, -0.125, -0.25});
}

TEST(PoolValues, AveragePoolDilationsCountIncludePadCeil) {
  auto r = run_op("AveragePool", {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})},
                                  {"dilations", ints({2, 2})}, {"count_include_pad", one(1)}, {"ceil_mode", one(1)}},
                  {in(P({1, 1, 5, 6}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{1, 1, 3, 4}));
  expect_values(r->outputs[0],
                {-0.25, -0.0625, 0.09375, -0.1875, -0.03125, 0.09375, -0.3125, -0.875, 0.21875, 0.15625, -0.40625, -0.6875});
}

TEST(PoolValues, AveragePoolSameLowerAndValidCeil) {
  auto r = run_op("AveragePool", {{"kernel_shape", ints({2, 3})}, {"strides", ints({2, 2})}, {"auto_pad", text("SAME_LOWER")}},
                  {in(P({1, 1, 4, 5}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {-0.1875, 0.16666667, 0.28125, -0.0625, 0.29166666, 0.40625});
  // VALID with ceil_mode: ceil applies (as ONNX shape inference and onnxruntime do).
  auto v = run_op("AveragePool", {{"kernel_shape", ints({3})}, {"strides", ints({2})}, {"auto_pad", text("VALID")},
                                  {"ceil_mode", one(1)}},
                  {in(P({1, 1, 6}))});
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  expect_values(v->outputs[0], {-0.5, 0.29166666, -0.3125});
}

TEST(PoolValues, LpPoolP3) {
  auto r = run_op("LpPool", {{"kernel_shape", ints({3})}, {"strides", ints({2})}, {"pads", ints({1, 1})}, {"p", one(3)}},
                  {in(P({1, 2, 5}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {1.3966945, 1.2868214, 1.3342009, 1.0006506, 1.260331, 0.75115561});
}

TEST(PoolValues, GlobalPools) {
  auto avg = run_op("GlobalAveragePool", {}, {in(P({1, 2, 3, 4}))});
  ASSERT_TRUE(avg.ok()) << avg.status().to_string();
  EXPECT_EQ(avg->outputs[0].dims(), (std::vector<int64_t>{1, 2, 1, 1}));
  expect_values(avg->outputs[0], {-0.15625, 0.041666668});
  auto mx = run_op("GlobalMaxPool", {}, {in(P({2, 2, 5}))});
  ASSERT_TRUE(mx.ok()) << mx.status().to_string();
  expect_values(mx->outputs[0], {1.25, 1, 1.375, 1.125});
  auto lp = run_op("GlobalLpPool", {{"p", one(3)}}, {in(P({1, 2, 2, 3}))});
  ASSERT_TRUE(lp.ok()) << lp.status().to_string();
  expect_values(lp->outputs[0], {1.7273877, 1.6423197});
  auto bf = run_op("GlobalAveragePool", {}, {in(P({1, 2, 3, 4}, DType::kBFloat16))});
  ASSERT_TRUE(bf.ok()) << bf.status().to_string();
  EXPECT_EQ(bf->outputs[0].dtype(), DType::kBFloat16);
  expect_values(bf->outputs[0], {-0.15625, 0.041666668}, 1e-2);
}

TEST(PoolValues, WindowOverOnlyPaddingGivesZero) {
  // Dilation 3 with pads 1: the first window reads positions -1 and 2 of a
  // size-2 input, so it covers nothing. Defined as 0 (index -1).
  auto r = run_op("MaxPool", {{"kernel_shape", ints({2})}, {"dilations", ints({3})}, {"pads", ints({1, 3})}},
                  {in(make_tensor(DType::kFloat32, {1, 1, 1}, {5}))}, 2);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {0, 5});
  expect_indices(r->outputs[1], {-1, 0});
}

TEST(PoolErrors, BadInputIsRefusedWithAClearMessage) {
  Tensor x = P({1, 2, 5, 5});
  expect_error(run_op("MaxPool", {}, {in(x)}), "kernel_shape is required");
  expect_error(run_op("MaxPool", {{"kernel_shape", ints({6, 2})}}, {in(x)}), "larger than the padded input");
  expect_error(run_op("AveragePool", {{"kernel_shape", ints({2, 2})}, {"auto_pad", text("VALID")}, {"dilations", ints({5, 1})}},
                      {in(x)}),
               "larger than the input");
  expect_error(run_op("MaxPool", {{"kernel_shape", ints({2})}}, {in(x)}), "kernel_shape has 1 values");
  expect_error(run_op("MaxPool", {{"kernel_shape", ints({2, 2})}, {"strides", ints({0, 1})}}, {in(x)}), "strides values");
  expect_error(run_op("MaxPool", {{"kernel_shape", ints({2, 2})}, {"storage_order", one(2)}}, {in(x)}, 2),
               "storage_order must be 0 or 1");
  expect_error(run_op("MaxPool", {{"kernel_shape", ints({2, 2})}, {"ceil_mode", one(3)}}, {in(x)}), "ceil_mode");
  expect_error(run_op("AveragePool", {{"kernel_shape", ints({2, 2})}, {"count_include_pad", text("yes")}}, {in(x)}),
               "count_include_pad");
  expect_error(run_op("LpPool", {{"kernel_shape", ints({2, 2})}, {"p", one(0)}}, {in(x)}), "p must be in");
  expect_error(run_op("MaxPool", {{"kernel_shape", ints({2, 2})}}, {in(P({2, 5}))}), "rank >= 3");
  expect_error(run_op("GlobalAveragePool", {}, {in(P({5}))}), "rank >= 2");
  expect_error(run_op("GlobalMaxPool", {}, {in(P({1, 2, 0}))}), "empty spatial extent");
  expect_error(run_op("AveragePool", {{"kernel_shape", ints({2, 2})}}, {in(x)}, 2), "AveragePool gives 1");
  auto i8 = run_op("AveragePool", {{"kernel_shape", ints({2, 2})}}, {in(P({1, 1, 3, 3}, DType::kInt8))});
  ASSERT_FALSE(i8.ok());
  EXPECT_EQ(i8.status().code(), ErrorCode::kUnsupported) << i8.status().to_string();
  auto i32 = run_op("MaxPool", {{"kernel_shape", ints({2, 2})}}, {in(P({1, 1, 3, 3}, DType::kInt32))});
  ASSERT_FALSE(i32.ok());
  EXPECT_EQ(i32.status().code(), ErrorCode::kUnsupported) << i32.status().to_string();
}

// Extreme but in-range attributes: refused or computed, never a crash.
TEST(PoolErrors, ExtremeAttributesDoNotCrash) {
  const int64_t big = int64_t{1} << 31;
  Tensor x = P({1, 1, 3, 3});
  std::vector<std::map<std::string, Attr>> attrs = {
      {{"kernel_shape", ints({big, 1})}, {"pads", ints({big, 0, 0, 0})}, {"strides", ints({big, 1})}},
      {{"kernel_shape", ints({2, 2})}, {"pads", ints({big, big, big, big})}, {"strides", ints({big, big})},
       {"ceil_mode", one(1)}},
      {{"kernel_shape", ints({2, 2})}, {"dilations", ints({big, 1})}, {"pads", ints({big, 0, big, 0})},
       {"strides", ints({big, 1})}},
      {{"kernel_shape", ints({big, big})}, {"auto_pad", text("SAME_UPPER")}}};
  for (const auto& a : attrs)
    for (const char* op : {"MaxPool", "AveragePool", "LpPool"}) {
      auto r = run_op(op, a, {in(x)});
      expect_rank_if_ok(r, 4);
    }
}

TEST(PoolInfer, SymbolicDims) {
  auto r = infer_op("MaxPool", {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}},
                    {sym({Dim::symbolic("N"), 8, Dim::symbolic("H"), 9})}, 2);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].shape.to_string(), "[N,8,H,9]");
  EXPECT_EQ((*r)[1].dtype, DType::kInt64);
  EXPECT_EQ((*r)[1].shape.to_string(), "[N,8,H,9]");
  auto s = infer_op("AveragePool", {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}, {"ceil_mode", one(1)}},
                    {sym({1, 3, Dim::symbolic("H"), 7})});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_FALSE((*s)[0].shape[2].is_static());
  EXPECT_EQ((*s)[0].shape[3], Dim(4));
  auto g = infer_op("GlobalAveragePool", {}, {sym({Dim::symbolic("N"), 16, Dim::symbolic("H"), Dim::symbolic("W")})});
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ((*g)[0].shape.to_string(), "[N,16,1,1]");
}

TEST(PoolInfer, OlderOpsetsAccepted) {
  auto r = run_op("MaxPool", {{"kernel_shape", ints({2, 2})}}, {in(P({1, 1, 3, 3}))}, 1, 13);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  auto lp = run_op("LpPool", {{"kernel_shape", ints({2})}, {"p", one(1)}}, {in(make_tensor(DType::kFloat32, {1, 1, 3}, {1, -2, 3}))},
                   1, 13);
  ASSERT_TRUE(lp.ok()) << lp.status().to_string();
  expect_values(lp->outputs[0], {3, 5});
}

}  // namespace
}  // namespace kiln::testing
