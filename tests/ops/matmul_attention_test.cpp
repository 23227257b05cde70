// Attention (opset 23/24) on the CPU reference. Expected values come from
// onnx.reference on float64 inputs 2 * pat(...) (see matmul_test.cpp), so the
// double-precision kernel must match to ~1e-12.
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
using A = std::map<std::string, Attr>;

Tensor x(std::vector<int64_t> dims, int64_t mul, int64_t mod) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(2 * (static_cast<double>((i * mul + 3) % mod) / static_cast<double>(mod) - 0.5));
  return make_tensor(DType::kFloat64, std::move(dims), v);
}

Tensor bools(std::vector<int64_t> dims, const std::vector<int>& v) {
  Tensor t = Tensor::alloc(DType::kBool, std::move(dims)).value();
  for (int64_t i = 0; i < t.numel(); ++i) t.set_i64(i, v[static_cast<size_t>(i)]);
  return t;
}

void expect_values(const Tensor& got, const std::vector<int64_t>& dims, const std::vector<double>& want,
                   double tol = 1e-12) {
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

void expect_error(const A& attrs, const std::vector<testing::OpInput>& inputs, const std::string& needle,
                  int64_t opset = 0, int num_outputs = 1) {
  auto r = run_op("Attention", attrs, inputs, num_outputs, opset);
  ASSERT_FALSE(r.ok()) << "expected an error containing '" << needle << "'";
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().to_string();
}

TEST(AttentionTest, Basic4d) {
  auto r = run_op("Attention", {}, {in(x({1, 2, 3, 4}, 5, 9)), in(x({1, 2, 4, 4}, 7, 11)), in(x({1, 2, 4, 3}, 3, 13))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(
      r->outputs[0], {1, 2, 3, 3},
      {-0.1251071959469894, 0.0005610665472623059, 0.05516839502926033, 0.08174482829761619, 0.14756029115446248,
       -0.21813574378197917, 0.05499954885809629, 0.07186822591349015, -0.1127676393452795, -0.2500643373501145,
       0.21147412418834705, -0.19870086649397317, -0.19668093238561304, 0.26485752915284855, -0.20954409562268092,
       -0.5609011980289782, -0.09936273649051665, 0.10352882284546515});
}

TEST(AttentionTest, ThreeDimensionalGqaCausal) {
  // q_num_heads 4, kv_num_heads 2, head size 2, v head size 3.
  A attrs = {{"q_num_heads", Attr::of_int(4)}, {"kv_num_heads", Attr::of_int(2)}, {"is_causal", Attr::of_int(1)}};
  auto r = run_op("Attention", attrs, {in(x({1, 3, 8}, 5, 9)), in(x({1, 3, 4}, 7, 11)), in(x({1, 3, 6}, 3, 13))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(
      r->outputs[0], {1, 3, 12},
      {-0.5384615384615384,    -0.07692307692307687,  0.3846153846153846,   -0.5384615384615384,  -0.07692307692307687,
       0.3846153846153846,     0.8461538461538463,    -0.6923076923076923,  -0.23076923076923073, 0.8461538461538463,
       -0.6923076923076923,    -0.23076923076923073,  -0.03431413181047587, 0.42722432972798563,  -0.4220204660263155,
       -0.029372846250109098,  0.4321656152883524,    -0.4299265229229023,  0.016020254126523147, -0.17347419729061545,
       0.2880642642478462,     0.00833882959212214,   -0.16867330695661478, 0.29286515458184686,  -0.4650946563454305,
       -0.0035561948069689317, -0.018902467023209312, -0.42969852077710907, 0.03183994076135244,  -0.021610150459804044,
       0.41826740642064203,    0.03359863951882909,   -0.2384265901319394,  0.41280352297615636,  0.05090907424262231,
       -0.2433489675217296});
}

// Past cache (2) + new keys (3), causal, a boolean mask whose second row is all
// False (a fully masked row gives zeros), softcap 1.5, every qk output mode.
class AttentionCacheTest : public ::testing::Test {
 protected:
  std::vector<testing::OpInput> inputs() const {
    return {in(x({1, 2, 2, 4}, 5, 9)),  in(x({1, 2, 3, 4}, 7, 11)),
            in(x({1, 2, 3, 2}, 3, 13)), in(bools({2, 5}, {1, 0, 1, 1, 1, 0, 0, 0, 0, 0})),
            in(x({1, 2, 2, 4}, 4, 7)),  in(x({1, 2, 2, 2}, 6, 17))};
  }
  Expected<testing::OpRun> run(int mode) const {
    return run_op("Attention",
                  {{"is_causal", Attr::of_int(1)},
                   {"qk_matmul_output_mode", Attr::of_int(mode)},
                   {"softcap", Attr::of_float(1.5f)}},
                  inputs(), 4);
  }
};

TEST_F(AttentionCacheTest, OutputsAndPresentCache) {
  auto r = run(0);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(
      r->outputs[0], {1, 2, 2, 2},
      {-0.5751036910780083, -0.031120386152489563, 0.0, 0.0, 0.2102945803880506, 0.7639689686418231, 0.0, 0.0},
      1e-6);  // softcap 1.5 is a float attribute: 1.5 exactly, but tanh differs in the last bits
  expect_values(r->outputs[1], {1, 2, 5, 4},
                {-0.1428571428571429,
                 -1.0,
                 0.1428571428571428,
                 -0.7142857142857143,
                 0.4285714285714286,
                 -0.4285714285714286,
                 0.7142857142857142,
                 -0.1428571428571429,
                 -0.4545454545454546,
                 0.8181818181818181,
                 0.09090909090909083,
                 -0.6363636363636364,
                 0.6363636363636365,
                 -0.09090909090909094,
                 -0.8181818181818181,
                 0.4545454545454546,
                 -0.2727272727272727,
                 -1.0,
                 0.2727272727272727,
                 -0.4545454545454546,
                 -1.0,
                 0.1428571428571428,
                 -0.7142857142857143,
                 0.4285714285714286,
                 -0.4285714285714286,
                 0.7142857142857142,
                 -0.1428571428571429,
                 -1.0,
                 0.8181818181818181,
                 0.09090909090909083,
                 -0.6363636363636364,
                 0.6363636363636365,
                 -0.09090909090909094,
                 -0.8181818181818181,
                 0.4545454545454546,
                 -0.2727272727272727,
                 -1.0,
                 0.2727272727272727,
                 -0.4545454545454546,
                 0.8181818181818181});
  expect_values(
      r->outputs[2], {1, 2, 5, 2},
      {-0.6470588235294117,  0.05882352941176472, 0.7647058823529411,  -0.5294117647058824, -0.5384615384615384,
       -0.07692307692307687, 0.3846153846153846,  0.8461538461538463,  -0.6923076923076923, -0.23076923076923073,
       0.17647058823529416,  0.8823529411764706,  -0.4117647058823529, 0.2941176470588236,  0.23076923076923084,
       0.6923076923076923,   -0.8461538461538461, -0.3846153846153846, 0.07692307692307687, 0.5384615384615385});
  // Mode 0 is the raw scaled product, before softcap (the spec; onnxruntime agrees).
  expect_values(
      r->outputs[3], {1, 2, 2, 5},
      {-0.01587301587301583, -0.20634920634920634, 0.7070707070707072,   -0.3232323232323233,  -0.13131313131313122,
       0.6031746031746033,   0.34920634920634924,  -0.15151515151515157, -0.1919191919191919,  0.5454545454545456,
       -0.6031746031746033,  -0.23809523809523814, -0.07070707070707068, 0.3030303030303031,   -0.5454545454545456,
       0.8571428571428572,   0.14285714285714293,  -0.05050505050505053, -0.22222222222222227, 0.8282828282828284});
}

TEST_F(AttentionCacheTest, QkOutputModes) {
  const double inf = INFINITY;
  std::vector<double> capped = {-0.01587242341834667, -0.20505730367380876, 0.6589710524256982,   -0.3183204210386802,
                                -0.13097871190151572, 0.5726375704402666,   0.3430314414505233,   -0.15100194086100616,
                                -0.1908787516817036,  0.5226195188079182,   -0.5726375704402666,  -0.23611556300755132,
                                -0.07065474694781478, 0.2989740670796671,   -0.5226195188079182,  0.7746114827777699,
                                0.14242678537814402,  -0.0504859737825084,  -0.22061060097918692, 0.753238033202656};
  std::vector<double> biased = {
      -0.01587242341834667, -inf, 0.6589710524256982,   -inf, -inf, -inf, -inf, -inf, -inf, -inf,
      -0.5726375704402666,  -inf, -0.07065474694781478, -inf, -inf, -inf, -inf, -inf, -inf, -inf};
  std::vector<double> softmax = {0.3374131553433266, 0, 0.6625868446566734, 0, 0, 0, 0, 0, 0, 0,
                                 0.3770748111867359, 0, 0.6229251888132641, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<double>* want[] = {nullptr, &capped, &biased, &softmax};
  for (int mode = 1; mode < 4; ++mode) {
    SCOPED_TRACE(mode);
    auto r = run(mode);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    expect_values(r->outputs[3], {1, 2, 2, 5}, *want[mode], 1e-6);
  }
}

TEST(AttentionTest, FloatMaskAndScale) {
  auto r = run_op("Attention", {{"scale", Attr::of_float(0.3f)}},
                  {in(x({1, 2, 2, 4}, 5, 9)), in(x({1, 2, 3, 4}, 7, 11)), in(x({1, 2, 3, 2}, 3, 13)),
                   in(x({1, 1, 2, 5}, 3, 7)), in(x({1, 2, 2, 4}, 4, 7)), in(x({1, 2, 2, 2}, 6, 17))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  // scale is a float attribute: 0.3f, not 0.3, hence the looser tolerance.
  expect_values(r->outputs[0], {1, 2, 2, 2},
                {0.08584800932067836, -0.002992374482817017, -0.1913698482759566, 0.20055607764584718,
                 -0.3869310052262597, 0.18633374906611383, -0.17593736707189794, 0.3800250503420085},
                1e-6);
}

// Opset 24 external cache: kv length 5, valid lengths [3, 5], 4 q heads over 2 kv heads.
std::vector<testing::OpInput> external_cache_inputs() {
  return {in(x({2, 4, 2, 4}, 5, 9)),
          in(x({2, 2, 5, 4}, 7, 11)),
          in(x({2, 2, 5, 3}, 3, 13)),
          omitted(),
          omitted(),
          omitted(),
          in(Tensor::from_i64({3, 5}, {2}))};
}

TEST(AttentionTest, NonpadCausalOffsetIsBottomRight) {
  auto r = run_op("Attention", {{"is_causal", Attr::of_int(1)}}, external_cache_inputs());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(
      r->outputs[0], {2, 4, 2, 3},
      {-0.1742725789606681,  -0.23878483670124143, 0.22275362483722003,  0.18585697433184134,   0.16332962944679397,
       -0.3870415907152159,  0.1678302654778279,   -0.39083054534057304, 0.07070791619788848,   0.16125841306294622,
       -0.06574295321269732, -0.1841046755725068,  0.22987868965866917,  0.6914171511971308,    -0.34415012865508254,
       -0.3336440051900373,  0.12789445634842433,  0.19692236434403476,  -0.051483584633498815, 0.4100548769049628,
       0.28891498850229547,  -0.20335950161652752, 0.2581789599219341,   -0.004188703783195733, -0.08385101566448097,
       -0.16452872554442013, -0.23436247710994937, 0.203095875458344,    -0.4022097591027077,   -0.22568682299811263,
       -0.20675880285150997, -0.14447833058780432, -0.06638776889444663, 0.04393878316447364,   -0.24896189481480954,
       -0.15642097675304886, -0.1610954126930227,  0.3004430488454388,   -0.09621818350396064,  -0.21828734673951783,
       0.24325111479894362,  0.060567071486307425, -0.16907853083928961, 0.29245993069917187,   -0.40705504418282434,
       -0.2352515208974042,  0.22628694064105734,  -0.10203982027782293});
}

TEST(AttentionTest, ShortMaskIsPaddedAtOpset24) {
  auto inputs = external_cache_inputs();
  inputs[3] = in(bools({2, 1, 2, 4}, {1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0}));
  auto r = run_op("Attention", {}, inputs);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(
      r->outputs[0], {2, 4, 2, 3},
      {-0.1742725789606681,  -0.23878483670124143, 0.22275362483722003,  -0.024988020847899167, 0.4365504406905623,
       -0.4369422435664382,  0.1678302654778279,   -0.39083054534057304, 0.07070791619788848,   -0.19832382479111393,
       0.26321463674734763,  -0.15960495725729462, 0.22987868965866917,  0.6914171511971308,    -0.34415012865508254,
       -0.4145785421798515,  0.04695991935861012,  -0.1928114880606698,  -0.051483584633498815, 0.4100548769049628,
       0.28891498850229547,  -0.19042314813509287, 0.2711153134033688,   -0.33290860933864397,  0.14884647294271827,
       -0.1391957810611369,  -0.4122469255018763,  0.2633723089908009,   -0.4270987773474402,   -0.3767111330069962,
       -0.07934928302290822, -0.12183533336046637, -0.1443626782455137,  0.03581690484802362,   -0.168948673506485,
       -0.40118689276553854, -0.23157831183370037, 0.22996014970476122,  0.03866931031414564,   -0.3895508799738941,
       0.07198758156456737,  0.1444933086840542,   -0.37602120401033434, 0.08551725752812728,   -0.17979785134388343,
       -0.3846153846153846,  0.0769230769230769,   -0.2910311433493496});
}

TEST(AttentionTest, Float32AndHalfTypes) {
  auto q = [](DType t) { return in(make_tensor(t, {1, 1, 2, 2}, {1, 0, 0, 1})); };
  auto v = [](DType t) { return in(make_tensor(t, {1, 1, 2, 2}, {1, 2, 3, 4})); };
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    SCOPED_TRACE(dtype_name(t));
    // scale 0: uniform attention, Y is the mean of V's rows.
    auto r = run_op("Attention", {{"scale", Attr::of_float(0)}}, {q(t), q(t), v(t)}, 4);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->outputs[0].dtype(), t);
    expect_values(r->outputs[0], {1, 1, 2, 2}, {2, 3, 2, 3});
  }
}

TEST(AttentionTest, SymbolicInference) {
  Graph g;
  auto add = [&](const char* name, DType t, Shape s) {
    Value* v = g.add_value(name).value();
    v->dtype = t;
    v->shape = std::move(s);
    v->shape_known = true;
    return v;
  };
  Dim b = Dim::symbolic("batch"), s = Dim::symbolic("seq"), p = Dim::symbolic("past");
  Value* q = add("q", DType::kFloat32, Shape(std::vector<Dim>{b, s, 768}));
  Value* k = add("k", DType::kFloat32, Shape(std::vector<Dim>{b, s, 256}));
  Value* v = add("v", DType::kFloat32, Shape(std::vector<Dim>{b, s, 256}));
  Value* pk = add("pk", DType::kFloat32, Shape(std::vector<Dim>{b, 4, p, 64}));
  Value* pv = add("pv", DType::kFloat32, Shape(std::vector<Dim>{b, 4, p, 64}));
  std::vector<Value*> outs;
  for (const char* n : {"y", "present_k", "present_v", "qk"}) outs.push_back(g.add_value(n).value());
  Node* n = g.add_node("Attention", "attn", {q, k, v, nullptr, pk, pv}, outs, "", 23).value();
  n->attrs = {{"q_num_heads", Attr::of_int(12)}, {"kv_num_heads", Attr::of_int(4)}};
  Status st = infer_node(*n, Limits{});
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(outs[0]->shape.to_string(), "[batch,seq,768]");
  EXPECT_EQ(outs[1]->shape.rank(), 4u);
  EXPECT_EQ(outs[1]->shape[0], b);
  EXPECT_EQ(outs[1]->shape[1], Dim(4));
  EXPECT_FALSE(outs[1]->shape[2].is_static());  // past + seq
  EXPECT_EQ(outs[1]->shape[3], Dim(64));
  EXPECT_EQ(outs[3]->shape[1], Dim(12));
}

TEST(AttentionTest, EmptyHeadSizeWithHugeCounts) {
  // 2^61 query rows but head sizes 0: empty Y and present outputs, no 2^61-step loop.
  const int64_t big = int64_t{1} << 30;
  auto r = run_op(
      "Attention", {},
      {in(make_tensor(DType::kFloat32, {big, 2, big, 0}, {})), in(make_tensor(DType::kFloat32, {big, 1, 3, 0}, {})),
       in(make_tensor(DType::kFloat32, {big, 1, 3, 0}, {}))},
      3);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{big, 2, big, 0}));
  EXPECT_EQ(r->outputs[1].dims(), (std::vector<int64_t>{big, 1, 3, 0}));
  A heads = {{"q_num_heads", Attr::of_int(int64_t{1} << 62)}, {"kv_num_heads", Attr::of_int(1)}};
  auto h = run_op("Attention", heads,
                  {in(make_tensor(DType::kFloat32, {1, 1, 0}, {})), in(make_tensor(DType::kFloat32, {1, 1, 0}, {})),
                   in(make_tensor(DType::kFloat32, {1, 1, 4}, {}))});
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("overflows"), std::string::npos) << h.status().to_string();
}

TEST(AttentionTest, BadInputsAreErrors) {
  auto q4 = [] { return in(x({1, 4, 2, 8}, 5, 9)); };
  auto kv4 = [] { return in(x({1, 2, 3, 8}, 7, 11)); };
  expect_error({}, {in(x({1, 2, 8}, 5, 9)), in(x({1, 3, 8}, 7, 11)), in(x({1, 3, 8}, 3, 13))},
               "need the attributes q_num_heads and kv_num_heads");
  expect_error({{"q_num_heads", Attr::of_int(3)}, {"kv_num_heads", Attr::of_int(1)}},
               {in(x({1, 2, 8}, 5, 9)), in(x({1, 3, 8}, 7, 11)), in(x({1, 3, 8}, 3, 13))}, "not divisible");
  expect_error({}, {q4(), in(x({1, 3, 3, 8}, 7, 11)), in(x({1, 3, 3, 8}, 7, 11))}, "multiple of kv heads");
  expect_error({}, {q4(), in(x({1, 2, 3, 4}, 7, 11)), kv4()}, "differ in head size");
  expect_error({}, {q4(), kv4(), kv4(), omitted(), in(x({1, 2, 1, 8}, 4, 7))}, "given together");
  expect_error({}, {q4(), kv4(), kv4(), in(x({1, 4, 2, 4}, 3, 7))}, "does not broadcast");
  expect_error({}, {q4(), kv4(), kv4(), in(x({1, 4, 2, 2}, 3, 7))}, "does not broadcast", 23);
  expect_error({}, {q4(), kv4(), kv4(), omitted(), omitted(), omitted(), in(Tensor::from_i64({3}, {1}))},
               "needs opset 24", 23);
  expect_error({}, {q4(), kv4(), kv4(), omitted(), omitted(), omitted(), in(Tensor::from_i64({4}, {1}))},
               "outside [0, 3]");
  expect_error({{"qk_matmul_output_mode", Attr::of_int(4)}}, {q4(), kv4(), kv4()}, "qk_matmul_output_mode");
  expect_error({{"is_causal", Attr::of_int(2)}}, {q4(), kv4(), kv4()}, "is_causal");
  expect_error({{"softmax_precision", Attr::of_int(7)}}, {q4(), kv4(), kv4()}, "softmax_precision");
  expect_error({{"scale", Attr::of_int(1)}}, {q4(), kv4(), kv4()}, "scale");
  expect_error({{"q_num_heads", Attr::of_int(2)}}, {q4(), kv4(), kv4()}, "q_num_heads is 2");
  // Sliding windows arrive with opset 25; before that the attribute is unknown.
  expect_error({{"left_window_size", Attr::of_int(2)}}, {q4(), kv4(), kv4()}, "'left_window_size' is not an attribute",
               24);
  expect_error({{"left_window_size", Attr::of_int(-2)}}, {q4(), kv4(), kv4()}, "-1 or non-negative", 25);
  expect_error({}, {in(make_tensor(DType::kInt32, {1, 1, 1, 1}, {1})), kv4(), kv4()}, "Q has type int32");
  expect_error({}, {q4(), kv4(), kv4()}, "not registered", 22);
}

}  // namespace
}  // namespace kiln
