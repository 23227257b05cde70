// MatMul, Gemm, MatMulInteger and Einsum on the CPU reference. Expected values
// come from numpy (float64 products of the same float32 inputs); inputs are
// the exact pattern pat() that the generator used.
#include <gtest/gtest.h>

#include <cmath>

#include "op_test_util.h"
#include "ops/infer.h"

namespace kiln {
namespace {

using testing::in;
using testing::make_tensor;
using testing::omitted;
using testing::run_op;

// ((i * mul + off) % mod) / mod - 0.5: exact in every dtype's rounding on both sides.
std::vector<double> pat(int64_t n, int64_t mul, int64_t mod, int64_t off = 3) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(static_cast<double>((i * mul + off) % mod) / static_cast<double>(mod) - 0.5);
  return v;
}

Tensor f32(std::vector<int64_t> dims, const std::vector<double>& v) {
  return make_tensor(DType::kFloat32, std::move(dims), v);
}

Tensor ints(DType t, std::vector<int64_t> dims, const std::vector<int64_t>& v) {
  Tensor x = Tensor::alloc(t, std::move(dims)).value();
  for (int64_t i = 0; i < x.numel(); ++i) x.set_i64(i, v[static_cast<size_t>(i)]);
  return x;
}

void expect_values(const Tensor& got, const std::vector<int64_t>& dims, const std::vector<double>& want,
                   double tol = 1e-5) {
  ASSERT_EQ(got.dims(), dims);
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  for (int64_t i = 0; i < got.numel(); ++i) {
    double w = want[static_cast<size_t>(i)];
    if (std::isinf(w)) {
      EXPECT_EQ(got.get_f64(i), w) << "element " << i;
    } else {
      EXPECT_NEAR(got.get_f64(i), w, tol * std::max(1.0, std::fabs(w))) << "element " << i;
    }
  }
}

std::map<std::string, Attr> attr(const std::string& k, Attr v) { return {{k, std::move(v)}}; }

// Runs the op and expects an error whose message contains `needle`.
void expect_error(const std::string& op, const std::map<std::string, Attr>& attrs,
                  const std::vector<testing::OpInput>& inputs, const std::string& needle, int64_t opset = 0) {
  auto r = run_op(op, attrs, inputs, 1, opset);
  ASSERT_FALSE(r.ok()) << "expected an error containing '" << needle << "'";
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().to_string();
}

// Infers one node whose inputs have the given (possibly symbolic) shapes.
Expected<std::vector<Shape>> infer_shapes(const std::string& op, const std::map<std::string, Attr>& attrs,
                                          const std::vector<std::pair<DType, Shape>>& inputs, int num_outputs = 1) {
  Graph g;
  std::vector<Value*> ins, outs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(str("in", i)));
    v->dtype = inputs[i].first;
    v->shape = inputs[i].second;
    v->shape_known = true;
    ins.push_back(v);
  }
  for (int i = 0; i < num_outputs; ++i) {
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(str("out", i)));
    outs.push_back(v);
  }
  KILN_ASSIGN_OR_RETURN(Node * n, g.add_node(op, "n", ins, outs, "", kMaxOnnxOpset));
  n->attrs = attrs;
  KILN_RETURN_IF_ERROR(infer_node(*n, Limits{}));
  std::vector<Shape> shapes;
  for (Value* v : outs) shapes.push_back(v->shape);
  return shapes;
}

Shape sym(std::vector<Dim> d) { return Shape(std::move(d)); }

// ---- MatMul ---------------------------------------------------------------

TEST(MatMulTest, OddSizes7x13x5) {
  auto r = run_op("MatMul", {}, {in(f32({7, 13}, pat(91, 7, 11))), in(f32({13, 5}, pat(65, 5, 13)))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(
      r->outputs[0], {7, 5},
      {0.019230761754137793, -0.05769231050581375, 0.22902098290257528,   -0.3024475523693995,  0.25699300055841445,
       -0.19405594413409705, 0.19055943912663653,  -0.061188815669579955, -0.1311188916955794,  -0.11013984971946761,
       -0.215034974621726,   0.015734277717717016, -0.38986013407682196,  0.3863636440747266,   0.2534965029754839,
       0.41783217252134425,  0.11013985430444051,  0.16608390920645705,   0.40384615777985206,  -0.267482516622835,
       0.5122377706001273,   -0.3339160849320722,  0.18356643265464911,   -0.11713286353783176, -0.32692309388226565,
       -0.20104894818334312, -0.20104896243322973, 0.16258741878754607,   -0.29195804357320265, 0.3444055971669983,
       -0.37587412936495723, 0.4702797274697909,   -0.31993006492828147,  0.07167831771857253,  0.554195818367538});
}

TEST(MatMulTest, BatchBroadcast) {
  auto r = run_op("MatMul", {}, {in(f32({2, 1, 3, 4}, pat(24, 3, 7))), in(f32({5, 4, 6}, pat(120, 11, 17)))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const Tensor& y = r->outputs[0];
  ASSERT_EQ(y.dims(), (std::vector<int64_t>{2, 5, 3, 6}));
  double sum = 0;
  for (int64_t i = 0; i < y.numel(); ++i) sum += y.get_f64(i);
  EXPECT_NEAR(sum, 1.268907564778288, 1e-5);
  const int64_t picks[] = {0, 17, 53, 99, 179};
  const double want[] = {-0.15966386751843098, 0.10084033766839684, 0.10084033966408812, -0.1428571455180645,
                         -0.012605041382881266};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(y.get_f64(picks[i]), want[i], 1e-6);
}

TEST(MatMulTest, OneDimensionalOperands) {
  auto dot = run_op("MatMul", {}, {in(f32({13}, pat(13, 5, 9))), in(f32({13}, pat(13, 4, 7)))});
  ASSERT_TRUE(dot.ok()) << dot.status().to_string();
  expect_values(dot->outputs[0], {}, {-0.027777781000449503});
  EXPECT_EQ(dot->inferred[0].shape.rank(), 0u);

  auto v3 = run_op("MatMul", {}, {in(f32({4}, pat(4, 5, 9))), in(f32({2, 4, 3}, pat(24, 4, 7)))});
  ASSERT_TRUE(v3.ok()) << v3.status().to_string();
  expect_values(v3->outputs[0], {2, 3},
                {-0.18253968954677624, 0.34920635840131176, -0.1746031785945571, -0.13492063542325344,
                 0.2301587288874009, -0.18253968954677624});

  auto m4 = run_op("MatMul", {}, {in(f32({2, 3, 4, 5}, pat(120, 5, 9))), in(f32({5}, pat(5, 4, 7)))});
  ASSERT_TRUE(m4.ok()) << m4.status().to_string();
  std::vector<double> want = {0.003968255801333337, -0.21031747143419977, -0.13888889486117972,
                              0.28968255269149,     0.4325396900493948,   -0.281746043306258,
                              -0.13888889583685105, 0.003968255890030692, 0.36111112562791714};
  std::vector<double> all;
  for (int i = 0; i < 24; ++i) all.push_back(want[static_cast<size_t>(i % 9)]);
  expect_values(m4->outputs[0], {2, 3, 4}, all);
}

TEST(MatMulTest, HalfAndBfloatRoundOnce) {
  // Sums in double, one rounding at the end: bit-exact against numpy's float64 product cast down.
  auto h = run_op("MatMul", {},
                  {in(make_tensor(DType::kFloat16, {3, 5}, pat(15, 5, 9))),
                   in(make_tensor(DType::kFloat16, {5, 2}, pat(10, 4, 7)))});
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(h->outputs[0].dtype(), DType::kFloat16);
  expect_values(
      h->outputs[0], {3, 2},
      {-0.1785888671875, -0.0040283203125, 0.1627197265625, 0.1627197265625, 0.075439453125, -0.0992431640625}, 0);
  auto b = run_op("MatMul", {},
                  {in(make_tensor(DType::kBFloat16, {3, 5}, pat(15, 5, 9))),
                   in(make_tensor(DType::kBFloat16, {5, 2}, pat(10, 4, 7)))});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  expect_values(b->outputs[0], {3, 2},
                {-0.1787109375, -0.00390625, 0.1630859375, 0.162109375, 0.07568359375, -0.09912109375}, 0);
}

TEST(MatMulTest, IntegersAreExact) {
  // 2^40 + 1 times 2^20 + 3 is beyond double precision; int64 arithmetic keeps it exact.
  int64_t a = (int64_t{1} << 40) + 1, b = (int64_t{1} << 20) + 3;
  auto r = run_op("MatMul", {}, {in(ints(DType::kInt64, {1, 2}, {a, 7})), in(ints(DType::kInt64, {2, 1}, {b, -2}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].get_i64(0), a * b - 14);
  auto i32 =
      run_op("MatMul", {}, {in(ints(DType::kInt32, {2, 2}, {1, 2, 3, 4})), in(ints(DType::kInt32, {2}, {5, -6}))});
  ASSERT_TRUE(i32.ok()) << i32.status().to_string();
  EXPECT_EQ(i32->outputs[0].dtype(), DType::kInt32);
  EXPECT_EQ(i32->outputs[0].to_i64_vector(), (std::vector<int64_t>{-7, -9}));
}

TEST(MatMulTest, EmptyInnerDimGivesZeros) {
  auto r = run_op("MatMul", {}, {in(f32({2, 0}, {})), in(f32({0, 3}, {}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {2, 3}, {0, 0, 0, 0, 0, 0});
}

TEST(MatMulTest, ThreadedMatchesNaiveLoop) {
  // Large enough to be split over threads and column blocks (N spans several
  // blocks with a remainder); each element must equal a plain triple loop.
  const int64_t M = 40, K = 600, N = 150;
  std::vector<double> av = pat(M * K, 7, 31), bv = pat(K * N, 5, 29);
  auto r = run_op("MatMul", {}, {in(f32({M, K}, av)), in(f32({K, N}, bv))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += static_cast<double>(static_cast<float>(av[static_cast<size_t>(i * K + k)])) *
             static_cast<float>(bv[static_cast<size_t>(k * N + j)]);
      ASSERT_EQ(r->outputs[0].get_f64(i * N + j), static_cast<double>(static_cast<float>(s))) << i << "," << j;
    }
}

TEST(MatMulTest, SymbolicInference) {
  auto s = infer_shapes("MatMul", {},
                        {{DType::kFloat32, sym({Dim::symbolic("batch"), Dim::symbolic("seq"), 768})},
                         {DType::kFloat32, Shape::of({768, 3072})}});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)[0].to_string(), "[batch,seq,3072]");
  auto b = infer_shapes("MatMul", {},
                        {{DType::kFloat32, sym({Dim::symbolic("b"), 1, 4, Dim::symbolic("k")})},
                         {DType::kFloat32, sym({12, Dim::symbolic("k"), 5})}});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ((*b)[0].to_string(), "[b,12,4,5]");
}

TEST(MatMulTest, BadInputsAreErrors) {
  expect_error("MatMul", {}, {in(f32({2, 3}, {})), in(f32({4, 5}, {}))}, "inner dimensions do not match");
  expect_error("MatMul", {}, {in(f32({2, 2, 3}, {})), in(f32({3, 3, 5}, {}))}, "do not broadcast");
  expect_error("MatMul", {}, {in(f32({}, {1})), in(f32({3}, {}))}, "rank >= 1");
  expect_error("MatMul", {}, {in(f32({2, 3}, {})), in(make_tensor(DType::kFloat16, {3, 2}, {}))}, "must match");
  expect_error("MatMul", {}, {in(ints(DType::kInt8, {1, 1}, {1})), in(ints(DType::kInt8, {1, 1}, {1}))}, "int8");
  auto s = infer_shapes("MatMul", {},
                        {{DType::kFloat32, sym({Dim::symbolic("b"), 3})}, {DType::kFloat32, Shape::of({4, 2})}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("K=3"), std::string::npos) << s.status().to_string();
}

// ---- Gemm -----------------------------------------------------------------

Tensor transposed(const Tensor& t) {
  Tensor out = Tensor::alloc(t.dtype(), {t.dim(1), t.dim(0)}).value();
  for (int64_t i = 0; i < t.dim(0); ++i)
    for (int64_t j = 0; j < t.dim(1); ++j) out.set_f64(j * t.dim(0) + i, t.get_f64(i * t.dim(1) + j));
  return out;
}

TEST(GemmTest, EveryTransposeWithBroadcastC) {
  Tensor A = f32({3, 4}, pat(12, 5, 9)), B = f32({4, 5}, pat(20, 7, 11)), C = f32({1, 5}, pat(5, 3, 7));
  std::vector<double> want = {-0.21608947054718178, 0.6183261343118067,   -0.2972583003586741, 0.3704906221046441,
                              -0.7950938131867183,  -0.17316018004497188, 0.7925685597959944,  -0.3805916337484513,
                              0.4184704218341997,   -0.6158008801308695,  -0.1529581602380583, 0.7622655303960647,
                              -0.35028860434852166, 0.3982684020272861,   -0.6865079508003111};
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      SCOPED_TRACE(str("transA=", ta, " transB=", tb));
      std::map<std::string, Attr> attrs = {{"transA", Attr::of_int(ta)},
                                           {"transB", Attr::of_int(tb)},
                                           {"alpha", Attr::of_float(0.5f)},
                                           {"beta", Attr::of_float(2.0f)}};
      auto r = run_op("Gemm", attrs, {in(ta ? transposed(A) : A), in(tb ? transposed(B) : B), in(C)});
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      expect_values(r->outputs[0], {3, 5}, want);
    }
}

TEST(GemmTest, ColumnAndScalarC) {
  Tensor A = f32({3, 4}, pat(12, 5, 9)), B = f32({4, 5}, pat(20, 7, 11));
  auto col = run_op("Gemm", {}, {in(A), in(B), in(f32({3, 1}, pat(3, 3, 7)))});
  ASSERT_TRUE(col.ok()) << col.status().to_string();
  expect_values(
      col->outputs[0], {3, 5},
      {-0.21789321722933136, -0.2633477686292896, 0.19119769031878076, -0.1875901960701955, -0.2330447383638885,
       0.2965368040545722, 0.5137085226185695, 0.45310246381871017, 0.3369408436683994, 0.5541125680272929,
       -0.23448773840385861, -0.11832611825354783, -0.05772005945368852, -0.2748917780176858, -0.15873015538384821});
  auto none = run_op("Gemm", {}, {in(f32({1, 2}, {1, 2})), in(f32({2, 2}, {3, 4, 5, 6}))});
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  expect_values(none->outputs[0], {1, 2}, {13, 16});
  auto scalar = run_op("Gemm", attr("beta", Attr::of_float(-1)),
                       {in(f32({1, 2}, {1, 2})), in(f32({2, 2}, {3, 4, 5, 6})), in(f32({}, {3}))});
  ASSERT_TRUE(scalar.ok()) << scalar.status().to_string();
  expect_values(scalar->outputs[0], {1, 2}, {10, 13});
}

TEST(GemmTest, BetaZeroIgnoresC) {
  auto r = run_op("Gemm", attr("beta", Attr::of_float(0)),
                  {in(f32({1, 2}, {1, 2})), in(f32({2, 1}, {3, 4})), in(f32({1, 1}, {NAN}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {1, 1}, {11});
}

TEST(GemmTest, Integers) {
  auto r = run_op("Gemm", attr("transB", Attr::of_int(1)),
                  {in(ints(DType::kInt32, {2, 2}, {1, 2, 3, 4})), in(ints(DType::kInt32, {2, 2}, {5, 6, 7, 8})),
                   in(ints(DType::kInt32, {2}, {100, -100}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (std::vector<int64_t>{117, -77, 139, -47}));
  auto s = run_op("Gemm", {{"alpha", Attr::of_float(0.5f)}, {"beta", Attr::of_float(2.0f)}},
                  {in(ints(DType::kInt64, {1, 2}, {1, 2})), in(ints(DType::kInt64, {2, 1}, {3, 4})),
                   in(ints(DType::kInt64, {1}, {-3}))});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->outputs[0].to_i64_vector(), (std::vector<int64_t>{0}));  // 0.5 * 11 - 6 = -0.5, truncated
}

TEST(GemmTest, SymbolicInference) {
  auto s = infer_shapes("Gemm", attr("transB", Attr::of_int(1)),
                        {{DType::kFloat32, sym({Dim::symbolic("n"), 768})},
                         {DType::kFloat32, Shape::of({3072, 768})},
                         {DType::kFloat32, Shape::of({3072})}});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)[0].to_string(), "[n,3072]");
}

TEST(GemmTest, BadInputsAreErrors) {
  expect_error("Gemm", {}, {in(f32({2, 3}, {})), in(f32({2, 3}, {}))}, "inner dimensions do not match");
  expect_error("Gemm", {}, {in(f32({2, 3, 1}, {})), in(f32({3, 2}, {}))}, "must be 2-D");
  expect_error("Gemm", {}, {in(f32({2, 3}, {})), in(f32({3, 4}, {})), in(f32({3}, {}))}, "does not broadcast");
  expect_error("Gemm", {}, {in(f32({2, 3}, {})), in(f32({3, 4}, {})), in(f32({1, 2, 4}, {}))}, "does not broadcast");
  expect_error("Gemm", attr("transA", Attr::of_float(1)), {in(f32({2, 3}, {})), in(f32({3, 4}, {}))}, "transA");
  expect_error("Gemm", attr("alpha", Attr::of_string("x")), {in(f32({2, 3}, {})), in(f32({3, 4}, {}))}, "alpha");
}

// ---- MatMulInteger --------------------------------------------------------

TEST(MatMulIntegerTest, OnnxExample) {
  // The ONNX backend test test_matmulinteger.
  auto r = run_op("MatMulInteger", {},
                  {in(ints(DType::kUInt8, {4, 3}, {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0})),
                   in(ints(DType::kUInt8, {3, 2}, {1, 4, 2, 5, 3, 6})), in(ints(DType::kUInt8, {}, {12})),
                   in(ints(DType::kUInt8, {}, {0}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dtype(), DType::kInt32);
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (std::vector<int64_t>{-38, -83, -44, -98, -50, -113, -56, -128}));
}

TEST(MatMulIntegerTest, PerRowAndPerColumnZeroPoints) {
  // (A - [1, -2] per row) @ (B - [5, -5] per column).
  auto r = run_op("MatMulInteger", {},
                  {in(ints(DType::kInt8, {2, 2}, {1, 2, 3, 4})), in(ints(DType::kInt8, {2, 2}, {5, 6, 7, 8})),
                   in(ints(DType::kInt8, {2}, {1, -2})), in(ints(DType::kInt8, {2}, {5, -5}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  // A' = [[0, 1], [5, 6]], B' = [[0, 11], [2, 13]].
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (std::vector<int64_t>{2, 13, 12, 133}));
  expect_error("MatMulInteger", {},
               {in(ints(DType::kInt8, {2, 2}, {1, 2, 3, 4})), in(ints(DType::kInt8, {2, 2}, {5, 6, 7, 8})),
                in(ints(DType::kInt8, {3}, {1, 2, 3}))},
               "zero point of A");
  expect_error(
      "MatMulInteger", {},
      {in(ints(DType::kInt8, {1, 1}, {1})), in(ints(DType::kInt8, {1, 1}, {1})), in(ints(DType::kUInt8, {}, {1}))},
      "zero point of A has type uint8");
}

// ---- Einsum ---------------------------------------------------------------

struct EinsumCase {
  const char* equation;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<int64_t> out_dims;
  std::vector<double> want;
};

TEST(EinsumTest, MatchesNumpy) {
  // Input k is pat(numel, 3 + 2k, 7 + 4k) in float32.
  const std::vector<EinsumCase> cases = {
      {"ij,jk->ik",
       {{3, 4}, {4, 2}},
       {3, 2},
       {-0.11688311722177958, 0.01298701361595811, 0.29870130266849104, -0.090909094973044, 0.07792207705123078,
        0.07792208237307419}},
      {"ii->i", {{3, 3}}, {3}, {-0.0714285746216774, -0.3571428656578064, 0.3571428656578064}},
      {"ii", {{3, 3}}, {}, {-0.0714285746216774}},
      {"iij->ji",
       {{3, 3, 2}},
       {2, 3},
       {-0.0714285746216774, 0.3571428656578064, -0.2142857164144516, 0.3571428656578064, -0.2142857164144516,
        0.2142857164144516}},
      {"...ii->...i",
       {{2, 3, 3}},
       {2, 3},
       {-0.0714285746216774, -0.3571428656578064, 0.3571428656578064, -0.2142857164144516, -0.5, 0.2142857164144516}},
      {"...ij,...jk",
       {{2, 3, 4}, {4, 2}},
       {2, 3, 2},
       {-0.11688311722177958, 0.01298701361595811, 0.29870130266849104, -0.090909094973044, 0.07792207705123078,
        0.07792208237307419, -0.006493513557043973, -0.07142857336378716, 0.09090909424733806, -0.03896104084787433,
        0.09740259996675826, -0.09740260025704062}},
      {"ba,aC",
       {{3, 4}, {4, 2}},
       {2, 3},  // implicit output "Cb": upper case sorts first
       {-0.11688311722177958, 0.29870130266849104, 0.07792207705123078, 0.01298701361595811, -0.090909094973044,
        0.07792208237307419}},
      {"ij,jk,kl->il",
       {{2, 3}, {3, 4}, {4, 2}},
       {2, 2},
       {0.14025974488168055, -0.04155844332432593, -0.11861472420426677, 0.02683982815093551}},
      {"i,j->ij",
       {{2}, {3}},
       {2, 3},
       {0.016233767443276093, -0.016233767443276093, 0.022727273356217825, -0.08116883552306664, 0.08116883552306664,
        -0.11363636441044989}},
      {"ij,ij->ij",
       {{1, 3}, {2, 3}},
       {2, 3},  // size-1 dims broadcast, as numpy does
       {0.016233767443276093, 0.08116883552306664, 0.06818181769801424, -0.009740260465965656, -0.14610389861967654,
        -0.009740260127302891}},
      {"bhqd,bhkd->bhqk",
       {{1, 2, 2, 3}, {1, 2, 3, 3}},
       {1, 2, 2, 3},
       {0.16558442066435697, -0.1655844192129451, -0.06818181774639465, -0.15259740951579892, 0.17857143249024043,
        -0.06168831076908421, -0.03571428866548976, -0.04220779235293337, 0.02272726687324511, 0.17857143360298955,
        -0.16558441964836867, 0.2759740309088261}},
      {" i j -> ", {{2, 3}}, {}, {0.0}},  // spaces are allowed anywhere
      {"ij->ji",
       {{2, 3}},
       {3, 2},
       {-0.0714285746216774, 0.2142857164144516, 0.3571428656578064, -0.3571428656578064, -0.2142857164144516,
        0.0714285746216774}},
  };
  for (const EinsumCase& c : cases) {
    SCOPED_TRACE(c.equation);
    std::vector<testing::OpInput> inputs;
    for (size_t k = 0; k < c.shapes.size(); ++k) {
      int64_t n = 1;
      for (int64_t d : c.shapes[k]) n *= d;
      inputs.push_back(in(f32(c.shapes[k], pat(n, 3 + 2 * static_cast<int64_t>(k), 7 + 4 * static_cast<int64_t>(k)))));
    }
    auto r = run_op("Einsum", attr("equation", Attr::of_string(c.equation)), inputs);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    expect_values(r->outputs[0], c.out_dims, c.want);
  }
}

TEST(EinsumTest, IntegersAndScalar) {
  auto r = run_op("Einsum", attr("equation", Attr::of_string("ij,j->i")),
                  {in(ints(DType::kInt64, {2, 2}, {int64_t{1} << 40, 1, 2, 3})), in(ints(DType::kInt64, {2}, {3, 5}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (std::vector<int64_t>{3 * (int64_t{1} << 40) + 5, 21}));
  auto s = run_op("Einsum", attr("equation", Attr::of_string("->")), {in(f32({}, {2.5}))});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  expect_values(s->outputs[0], {}, {2.5});
}

TEST(EinsumTest, SymbolicInference) {
  auto s = infer_shapes("Einsum", attr("equation", Attr::of_string("...qd,...kd->...qk")),
                        {{DType::kFloat32, sym({Dim::symbolic("b"), 12, Dim::symbolic("s"), 64})},
                         {DType::kFloat32, sym({1, 12, Dim::symbolic("t"), 64})}});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)[0].to_string(), "[b,12,s,t]");
}

TEST(EinsumTest, HugeIndexSpaceIsRefused) {
  // Five 1024-element vectors multiplied out: 2^50 combinations, refused up front.
  std::vector<testing::OpInput> inputs(5, in(f32({1024}, {})));
  auto r = run_op("Einsum", attr("equation", Attr::of_string("i,j,k,l,m->")), inputs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported) << r.status().to_string();
  auto o = run_op("Einsum", attr("equation", Attr::of_string("ij,jk->ik")),
                  {in(f32({int64_t{1} << 40, 0}, {})), in(f32({0, int64_t{1} << 40}, {}))});
  ASSERT_FALSE(o.ok());  // a 2^80-element output
}

TEST(EinsumTest, BadEquationsAreErrors) {
  auto eq = [](const char* e) { return attr("equation", Attr::of_string(e)); };
  auto x = [] { return in(f32({2, 3}, {})); };
  expect_error("Einsum", eq("ij,jk->ik"), {x()}, "2 input terms but the node has 1");
  expect_error("Einsum", eq("ij->ji"), {x(), x()}, "1 input terms but the node has 2");
  expect_error("Einsum", eq("ijk->i"), {x()}, "3 letters but input 0 has rank 2");
  expect_error("Einsum", eq("i->i"), {x()}, "1 letters but input 0 has rank 2");
  expect_error("Einsum", eq("i..j->ij"), {x()}, "not part of an ellipsis");
  expect_error("Einsum", eq("....ij->ij"), {x()}, "not part of an ellipsis");
  expect_error("Einsum", eq("...i...->i"), {x()}, "more than one ellipsis");
  expect_error("Einsum", eq("i$->i"), {x()}, "character '$'");
  expect_error("Einsum", eq("ij->ik"), {x()}, "output letter 'k' does not appear");
  expect_error("Einsum", eq("ij->ii"), {x()}, "appears more than once");
  expect_error("Einsum", eq("ij->i->j"), {x()}, "one '->'");
  expect_error("Einsum", eq("ij,jk->ik"), {x(), in(f32({4, 2}, {}))}, "letter 'j' has size 3");
  expect_error("Einsum", eq("ii->i"), {x()}, "repeated in term 'ii'");
  expect_error("Einsum", eq("...ij->ij"), {in(f32({4, 2, 3}, {}))}, "output has no '...'");
  expect_error("Einsum", {}, {x()}, "required attribute 'equation'");
  expect_error("Einsum", attr("equation", Attr::of_int(3)), {x()}, "equation");
  expect_error("Einsum", eq("ij"), {in(ints(DType::kBool, {2, 3}, {0, 0, 0, 0, 0, 0}))}, "bool");
}

}  // namespace
}  // namespace kiln
