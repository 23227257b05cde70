// Index family: hand-checked values (mostly the ONNX spec examples), index
// wrapping and out-of-range refusal, reductions per opset, data-dependent
// output sizes in inference, and allocation bombs.
#include <gtest/gtest.h>

#include <cmath>

#include "op_test_util.h"
#include "ops/infer.h"

namespace kiln {
namespace {

using kiln::testing::constant;
using kiln::testing::in;
using kiln::testing::make_tensor;
using kiln::testing::omitted;
using kiln::testing::run_op;
using Attrs = std::map<std::string, Attr>;
using I64s = std::vector<int64_t>;
using F64s = std::vector<double>;

Tensor i64(const I64s& v, std::vector<int64_t> dims) {
  Tensor t = Tensor::alloc(DType::kInt64, std::move(dims)).value();
  for (size_t i = 0; i < v.size(); ++i) t.set_i64(static_cast<int64_t>(i), v[i]);
  return t;
}
Tensor i64(const I64s& v) { return i64(v, {static_cast<int64_t>(v.size())}); }
Tensor f32(const F64s& v, std::vector<int64_t> dims) { return make_tensor(DType::kFloat32, std::move(dims), v); }
Tensor arange(DType t, std::vector<int64_t> dims) {
  Tensor x = Tensor::alloc(t, std::move(dims)).value();
  for (int64_t i = 0; i < x.numel(); ++i) x.set_f64(i, static_cast<double>(i));
  return x;
}
Attrs axis(int64_t a) { return {{"axis", Attr::of_int(a)}}; }
Attrs reduction(const char* r) { return {{"reduction", Attr::of_string(r)}}; }

// Inferred shape of output 0 with constant inputs folded in as given.
std::string inferred(const Expected<kiln::testing::OpRun>& r) {
  if (!r.ok()) return r.status().to_string();
  const Shape& s = r->inferred[0].shape;
  std::string out = "[";
  for (size_t d = 0; d < s.rank(); ++d) {
    if (d) out += ",";
    out += s[d].is_static() ? s[d].to_string() : std::string("?");
  }
  return out + "]";
}

void expect_out_of_range(const Expected<kiln::testing::OpRun>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOutOfRange) << r.status().to_string();
}

// ---- Gather family ----

TEST(IndexGather, AxesAndWrapping) {
  Tensor x = arange(DType::kInt64, {3, 4});
  auto r = run_op("Gather", {}, {in(x), in(i64({-1, 0}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{8, 9, 10, 11, 0, 1, 2, 3}));
  Tensor ind = make_tensor(DType::kInt32, {2, 2}, {0, -1, 1, 2});
  r = run_op("Gather", axis(1), {in(arange(DType::kFloat16, {3, 4})), in(ind)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (I64s{3, 2, 2}));
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 3, 1, 2, 4, 7, 5, 6, 8, 11, 9, 10}));
  r = run_op("Gather", axis(-1), {in(x), constant(i64({2}, {}))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{2, 6, 10}));
  EXPECT_EQ(inferred(r), "[3]");
}

TEST(IndexGather, RefusesBadIndices) {
  Tensor x = arange(DType::kFloat32, {3, 4});
  for (int64_t bad : {int64_t{3}, int64_t{-4}, INT64_MIN, INT64_MAX}) {
    expect_out_of_range(run_op("Gather", {}, {in(x), in(i64({0, bad}))}));        // kernel
    expect_out_of_range(run_op("Gather", {}, {in(x), constant(i64({0, bad}))}));  // inference
  }
  expect_out_of_range(run_op("Gather", axis(2), {in(x), in(i64({0}))}));
  EXPECT_FALSE(run_op("Gather", {}, {in(x), in(f32({0}, {1}))}).ok());
  EXPECT_FALSE(run_op("Gather", {}, {in(i64({1}, {})), in(i64({0}))}).ok());  // scalar data
  // Gathering from an empty axis: any index is out of range.
  expect_out_of_range(run_op("Gather", {}, {in(arange(DType::kFloat32, {0, 2})), in(i64({0}))}));
}

TEST(IndexGatherElements, SpecExamples) {
  auto r = run_op("GatherElements", axis(1), {in(f32({1, 2, 3, 4}, {2, 2})), in(i64({0, 0, 1, 0}, {2, 2}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_f64_vector(), (F64s{1, 1, 4, 3}));
  Tensor d = f32({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
  r = run_op("GatherElements", {}, {in(d), in(i64({-1, -2, 0, -2, 0, 0}, {2, 3}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_f64_vector(), (F64s{7, 5, 3, 4, 2, 3}));
  expect_out_of_range(run_op("GatherElements", {}, {in(d), in(i64({3}, {1, 1}))}));
  expect_out_of_range(run_op("GatherElements", {}, {in(d), constant(i64({-4}, {1, 1}))}));
  // Off the axis, indices may not be larger than data (reads would overrun).
  EXPECT_FALSE(run_op("GatherElements", {}, {in(d), in(i64({0, 0, 0, 0}, {1, 4}))}).ok());
  EXPECT_FALSE(run_op("GatherElements", {}, {in(d), in(i64({0, 0, 0}))}).ok());  // rank differs
}

TEST(IndexGatherND, BatchDimsAndErrors) {
  Tensor d = arange(DType::kInt64, {2, 2});
  auto r = run_op("GatherND", {}, {in(d), in(i64({0, 0, 1, 1}, {2, 2}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 3}));
  r = run_op("GatherND", {}, {in(d), in(i64({1, -2}, {2, 1}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{2, 3, 0, 1}));
  Attrs b1 = {{"batch_dims", Attr::of_int(1)}};
  r = run_op("GatherND", b1, {in(arange(DType::kFloat32, {2, 3, 4})), in(i64({1, 0, 2, -1}, {2, 2, 1}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (I64s{2, 2, 4}));
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{4, 5, 6, 7, 0, 1, 2, 3, 20, 21, 22, 23, 20, 21, 22, 23}));
  expect_out_of_range(run_op("GatherND", {}, {in(d), in(i64({0, 2}, {1, 2}))}));
  expect_out_of_range(run_op("GatherND", {}, {in(d), in(i64({0, 0, 0}, {1, 3}))}));  // k > rank
  expect_out_of_range(run_op("GatherND", {{"batch_dims", Attr::of_int(2)}}, {in(d), in(i64({0, 0}, {2, 1}))}));
  EXPECT_FALSE(run_op("GatherND", b1, {in(arange(DType::kFloat32, {2, 3})), in(i64({0, 0, 0}, {3, 1}))}).ok());
}

// ---- Scatter family ----

TEST(IndexScatterND, ReductionsAndErrors) {
  Tensor data = f32({1, 2, 3, 4, 5, 6, 7, 8}, {8});
  auto r = run_op("ScatterND", {}, {in(data), in(i64({4, 3, 1, 7}, {4, 1})), in(f32({9, 10, 11, 12}, {4}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_f64_vector(), (F64s{1, 11, 3, 10, 9, 6, 7, 12}));
  Tensor dup = i64({0, -8}, {2, 1});
  Tensor upd = f32({5, 6}, {2});
  std::map<std::string, F64s> expect = {
      {"add", {12, 2, 3, 4, 5, 6, 7, 8}}, {"mul", {30, 2, 3, 4, 5, 6, 7, 8}},
      {"max", {6, 2, 3, 4, 5, 6, 7, 8}}, {"min", {1, 2, 3, 4, 5, 6, 7, 8}}};
  for (const auto& [red, want] : expect) {
    r = run_op("ScatterND", reduction(red.c_str()), {in(data), in(dup), in(upd)});
    ASSERT_TRUE(r.ok()) << red << ": " << r.status().to_string();
    EXPECT_EQ(r->outputs[0].to_f64_vector(), want) << red;
  }
  EXPECT_TRUE(run_op("ScatterND", reduction("mul"), {in(data), in(dup), in(upd)}, 1, 16).ok());
  EXPECT_FALSE(run_op("ScatterND", reduction("max"), {in(data), in(dup), in(upd)}, 1, 16).ok());
  EXPECT_FALSE(run_op("ScatterND", reduction("add"), {in(data), in(dup), in(upd)}, 1, 13).ok());
  EXPECT_FALSE(run_op("ScatterND", reduction("sum"), {in(data), in(dup), in(upd)}).ok());
  expect_out_of_range(run_op("ScatterND", {}, {in(data), in(i64({8}, {1, 1})), in(f32({1}, {1}))}));
  expect_out_of_range(run_op("ScatterND", {}, {in(data), in(i64({-9}, {1, 1})), in(f32({1}, {1}))}));
  EXPECT_FALSE(run_op("ScatterND", {}, {in(data), in(i64({1}, {1, 1})), in(f32({1, 2}, {2}))}).ok());
  EXPECT_FALSE(run_op("ScatterND", {}, {in(data), in(i64({1}, {1, 1})), in(make_tensor(DType::kInt64, {1}, {1}))}).ok());
}

TEST(IndexScatterElements, SpecExamplesAndReductions) {
  Tensor zeros = f32(F64s(9, 0), {3, 3});
  Tensor upd = f32({1.0, 1.1, 1.2, 2.0, 2.1, 2.2}, {2, 3});
  auto r = run_op("ScatterElements", {}, {in(zeros), in(i64({1, 0, 2, 0, 2, 1}, {2, 3})), in(upd)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  F64s got = r->outputs[0].to_f64_vector();
  F64s want = {2.0, 1.1, 0, 1.0, 0, 2.2, 0, 2.1, 1.2};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
  Tensor row = f32({1, 2, 3, 4, 5}, {1, 5});
  Tensor two = f32({1.5, 2.5}, {1, 2});
  r = run_op("ScatterElements", axis(1), {in(row), in(i64({1, -2}, {1, 2})), in(two)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_f64_vector(), (F64s{1, 1.5, 3, 2.5, 5}));
  std::map<std::string, F64s> expect = {{"add", {1, 6, 3, 4, 5}}, {"mul", {1, 7.5, 3, 4, 5}},
                                        {"max", {1, 2.5, 3, 4, 5}}, {"min", {1, 1.5, 3, 4, 5}}};
  for (const auto& [red, want2] : expect) {
    Attrs a = reduction(red.c_str());
    a["axis"] = Attr::of_int(1);
    r = run_op("ScatterElements", a, {in(row), in(i64({1, 1}, {1, 2})), in(two)});
    ASSERT_TRUE(r.ok()) << red << ": " << r.status().to_string();
    EXPECT_EQ(r->outputs[0].to_f64_vector(), want2) << red;
  }
  expect_out_of_range(run_op("ScatterElements", axis(1), {in(row), in(i64({1, 5}, {1, 2})), in(two)}));
  expect_out_of_range(run_op("ScatterElements", axis(1), {in(row), constant(i64({-6, 0}, {1, 2})), in(two)}));
  expect_out_of_range(run_op("ScatterElements", axis(2), {in(row), in(i64({1, 1}, {1, 2})), in(two)}));
  // indices bigger than data off the axis, or unlike updates: refused.
  EXPECT_FALSE(run_op("ScatterElements", axis(1), {in(row), in(i64({0, 0}, {2, 1})), in(f32({1, 1}, {2, 1}))}).ok());
  EXPECT_FALSE(run_op("ScatterElements", axis(1), {in(row), in(i64({0, 0}, {1, 2})), in(f32({1}, {1, 1}))}).ok());
}

// ---- OneHot / NonZero / Trilu / Compress ----

TEST(IndexOneHot, AxesNegativeAndOutOfRange) {
  Tensor values = f32({0, 1}, {2});
  Tensor ind = i64({0, -1, 3, 7, -5});
  auto r = run_op("OneHot", {}, {in(ind), constant(i64({4}, {})), in(values)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(inferred(r), "[5,4]");
  // -1 wraps to 3; 7 and -5 stay out of range: all-off rows (per spec).
  EXPECT_EQ(r->outputs[0].to_f64_vector(),
            (F64s{1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}));
  r = run_op("OneHot", axis(0), {in(i64({2, 0})), in(make_tensor(DType::kFloat32, {1}, {3.0})),
                                 in(make_tensor(DType::kInt32, {2}, {-1, 5}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (I64s{3, 2}));
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{-1, 5, -1, -1, 5, -1}));
  EXPECT_EQ(inferred(run_op("OneHot", {}, {in(ind), in(i64({4}, {})), in(values)})), "[5,?]");
  expect_out_of_range(run_op("OneHot", axis(2), {in(ind), in(i64({4}, {})), in(values)}));
  EXPECT_FALSE(run_op("OneHot", {}, {in(ind), in(i64({0}, {})), in(values)}).ok());
  EXPECT_FALSE(run_op("OneHot", {}, {in(ind), constant(i64({-3}, {})), in(values)}).ok());
  EXPECT_FALSE(run_op("OneHot", {}, {in(ind), in(i64({4}, {})), in(f32({0, 1, 2}, {3}))}).ok());
  EXPECT_FALSE(run_op("OneHot", {}, {in(i64({1}, {})), in(i64({4}, {})), in(values)}).ok());  // scalar indices
  for (bool runtime : {false, true}) {
    Tensor depth = i64({int64_t{1} << 40}, {});
    auto bomb = run_op("OneHot", {}, {in(arange(DType::kInt64, {1024})), runtime ? in(depth) : constant(depth), in(values)});
    ASSERT_FALSE(bomb.ok());
    EXPECT_TRUE(bomb.status().code() == ErrorCode::kResourceExhausted || bomb.status().code() == ErrorCode::kOutOfRange)
        << bomb.status().to_string();
  }
}

TEST(IndexNonZero, ValuesAndInference) {
  Tensor x = f32({1, 0, 1, 1}, {2, 2});
  auto r = run_op("NonZero", {}, {in(x)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (I64s{2, 3}));
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 1, 1, 0, 0, 1}));
  EXPECT_EQ(inferred(r), "[2,?]");
  EXPECT_EQ(inferred(run_op("NonZero", {}, {constant(x)})), "[2,3]");
  r = run_op("NonZero", {}, {in(make_tensor(DType::kFloat32, {}, {5}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (I64s{0, 1}));
  r = run_op("NonZero", {}, {in(make_tensor(DType::kFloat32, {3}, {-0.0, NAN, 0}))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{1}));
}

TEST(IndexTrilu, UpperLowerAndK) {
  Tensor x = arange(DType::kInt64, {3, 4});
  auto r = run_op("Trilu", {}, {in(x), in(i64({1}, {}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 1, 2, 3, 0, 0, 6, 7, 0, 0, 0, 11}));
  r = run_op("Trilu", {{"upper", Attr::of_int(0)}}, {in(x), constant(i64({-1}, {}))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 0, 0, 0, 4, 0, 0, 0, 8, 9, 0, 0}));
  r = run_op("Trilu", {}, {in(x), in(i64({INT64_MIN}, {}))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].to_i64_vector(), x.to_i64_vector());
  r = run_op("Trilu", {{"upper", Attr::of_int(0)}}, {in(arange(DType::kBool, {2, 2, 2}))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 0, 1, 1, 1, 0, 1, 1}));  // arange as bool: 0,1,1,...
  EXPECT_FALSE(run_op("Trilu", {}, {in(i64({1, 2}))}).ok());
  EXPECT_FALSE(run_op("Trilu", {{"upper", Attr::of_int(2)}}, {in(x)}).ok());
  EXPECT_FALSE(run_op("Trilu", {}, {in(x), in(f32({1}, {}))}).ok());
  EXPECT_FALSE(run_op("Trilu", {}, {in(x)}, 1, 13).ok());  // Trilu is opset 14
}

TEST(IndexCompress, AxesAndBounds) {
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {3, 2});
  auto cond = [](std::vector<double> v) {
    return make_tensor(DType::kBool, {static_cast<int64_t>(v.size())}, v);
  };
  auto r = run_op("Compress", axis(0), {in(x), in(cond({0, 1, 1}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_f64_vector(), (F64s{3, 4, 5, 6}));
  r = run_op("Compress", axis(-1), {in(x), constant(cond({0, 1}))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].to_f64_vector(), (F64s{2, 4, 6}));
  EXPECT_EQ(inferred(r), "[3,1]");
  r = run_op("Compress", {}, {in(x), in(cond({0, 1, 0, 0, 1}))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].to_f64_vector(), (F64s{2, 5}));
  EXPECT_TRUE(run_op("Compress", axis(1), {in(x), in(cond({1, 0, 0, 0}))}).ok());
  expect_out_of_range(run_op("Compress", axis(1), {in(x), in(cond({1, 0, 1}))}));
  expect_out_of_range(run_op("Compress", axis(2), {in(x), in(cond({1}))}));
  EXPECT_FALSE(run_op("Compress", axis(0), {in(x), in(i64({1, 0, 1}))}).ok());
}

// ---- NonMaxSuppression ----

Tensor boxes6() {
  return f32({0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101}, {1, 6, 4});
}
Tensor scores6() { return f32({0.9, 0.75, 0.6, 0.95, 0.5, 0.3}, {1, 1, 6}); }

TEST(IndexNonMaxSuppression, SpecExamples) {
  Tensor max3 = i64({3}, {1});
  Tensor iou = f32({0.5}, {1});
  auto r = run_op("NonMaxSuppression", {}, {in(boxes6()), in(scores6()), in(max3), in(iou), in(f32({0}, {1}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 0, 3, 0, 0, 0, 0, 0, 5}));
  EXPECT_EQ(inferred(r), "[?,3]");
  r = run_op("NonMaxSuppression", {}, {in(boxes6()), in(scores6()), in(max3), in(iou), in(f32({0.4}, {1}))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 0, 3, 0, 0, 0}));
  r = run_op("NonMaxSuppression", {}, {in(boxes6()), in(scores6()), in(i64({2}, {})), in(iou)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 0, 3, 0, 0, 0}));
  r = run_op("NonMaxSuppression", {}, {in(boxes6()), in(scores6())});  // no max: nothing selected
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].dims(), (I64s{0, 3}));
  // Center format: the same boxes as centres and sizes.
  Tensor centers = f32({0.5, 0.5, 1, 1, 0.5, 0.6, 1, 1, 0.5, 0.4, 1, 1, 0.5, 10.5, 1, 1, 0.5, 10.6, 1, 1,
                        0.5, 100.5, 1, 1},
                       {1, 6, 4});
  r = run_op("NonMaxSuppression", {{"center_point_box", Attr::of_int(1)}},
             {in(centers), in(scores6()), in(max3), in(iou), omitted()});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 0, 3, 0, 0, 0, 0, 0, 5}));
}

TEST(IndexNonMaxSuppression, BatchesClassesAndErrors) {
  Tensor b2 = Tensor::alloc(DType::kFloat32, {2, 6, 4}).value();
  Tensor s2 = Tensor::alloc(DType::kFloat32, {2, 1, 6}).value();
  for (int64_t i = 0; i < 48; ++i) b2.set_f64(i, boxes6().get_f64(i % 24));
  for (int64_t i = 0; i < 12; ++i) s2.set_f64(i, scores6().get_f64(i % 6));
  Tensor max2 = i64({2}, {1});
  Tensor iou = f32({0.5}, {1});
  auto r = run_op("NonMaxSuppression", {}, {in(b2), in(s2), in(max2), in(iou)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (I64s{0, 0, 3, 0, 0, 0, 1, 0, 3, 1, 0, 0}));
  Tensor bad_boxes = f32(F64s(30, 0), {1, 6, 5});
  EXPECT_FALSE(run_op("NonMaxSuppression", {}, {in(bad_boxes), in(scores6()), in(max2)}).ok());
  EXPECT_FALSE(run_op("NonMaxSuppression", {}, {in(boxes6()), in(f32(F64s(5, 0), {1, 1, 5})), in(max2)}).ok());
  EXPECT_FALSE(run_op("NonMaxSuppression", {{"center_point_box", Attr::of_int(2)}}, {in(boxes6()), in(scores6())}).ok());
  EXPECT_FALSE(run_op("NonMaxSuppression", {}, {in(i64({0, 0, 1, 1}, {1, 1, 4})), in(f32({1}, {1, 1, 1}))}).ok());
}

}  // namespace
}  // namespace kiln
