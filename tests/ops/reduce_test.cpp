// Reduce family: values against onnx.reference (opset 18 unless noted),
// empty-set results, the opset 13 attribute form, symbolic inference and
// the error paths (bad axes, wrong attribute kinds, unsupported dtypes).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "op_test_util.h"
#include "ops/infer.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT

constexpr double kInf = std::numeric_limits<double>::infinity();

// x of shape [2,3,4] (float32), the inputs of the onnx.reference runs below.
const std::vector<double> kX = {
    -1.0, -0.6299999952316284, -0.25999999046325684, 0.11000001430511475, 0.48000001907348633, 0.8500000238418579,
    -0.8799998760223389, -0.5099997520446777, -0.1399998664855957, 0.23000001907348633, 0.6000001430511475,
    0.9700002670288086, -0.7599997520446777, -0.3899998664855957, -0.01999950408935547, 0.35000038146972656,
    0.7200002670288086, 1.0900001525878906, -0.6399998664855957, -0.26999950408935547, 0.10000038146972656,
    0.4700002670288086, 0.8400006294250488, -0.8899993896484375};

Tensor x234() { return make_tensor(DType::kFloat32, {2, 3, 4}, kX); }
Tensor i64(std::vector<int64_t> v) {
  Tensor t = Tensor::alloc(DType::kInt64, {static_cast<int64_t>(v.size())}).value();
  for (size_t i = 0; i < v.size(); ++i) t.set_i64(static_cast<int64_t>(i), v[i]);
  return t;
}

void expect_values(const Tensor& t, const std::vector<int64_t>& dims, const std::vector<double>& want,
                   double tol = 1e-6) {
  ASSERT_EQ(t.dims(), dims);
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    double w = want[static_cast<size_t>(i)], g = t.get_f64(i);
    if (std::isnan(w)) EXPECT_TRUE(std::isnan(g)) << "element " << i;
    else if (std::isinf(w)) EXPECT_EQ(g, w) << "element " << i;
    else EXPECT_NEAR(g, w, tol * std::max(1.0, std::fabs(w))) << "element " << i;
  }
}

// The error message of a run that must fail, with its code.
std::string fails(const Expected<OpRun>& r, ErrorCode code = ErrorCode::kInvalidArgument) {
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  return r.status().message();
}

TEST(ReduceOps, AllKindsOverAxis1MatchReference) {
  struct Case {
    const char* op;
    std::vector<double> y;
  };
  const Case cases[] = {
      {"ReduceSum", {-0.6599998474121094, 0.4500000476837158, -0.5399997234344482, 0.5700005292892456,
                     0.06000089645385742, 1.1700005531311035, 0.18000125885009766, -0.8099985122680664}},
      {"ReduceMean", {-0.21999995410442352, 0.15000002086162567, -0.17999990284442902, 0.19000017642974854,
                      0.02000029943883419, 0.39000019431114197, 0.06000041961669922, -0.26999950408935547}},
      {"ReduceMax", {0.48000001907348633, 0.8500000238418579, 0.6000001430511475, 0.9700002670288086,
                     0.7200002670288086, 1.0900001525878906, 0.8400006294250488, 0.35000038146972656}},
      {"ReduceMin", {-1.0, -0.6299999952316284, -0.8799998760223389, -0.5099997520446777, -0.7599997520446777,
                     -0.3899998664855957, -0.6399998664855957, -0.8899993896484375}},
      {"ReduceProd", {0.0671999379992485, -0.12316501140594482, 0.13728000223636627, -0.054416995495557785,
                      -0.054720211774110794, -0.19979706406593323, 0.010751739144325256, 0.08410488069057465}},
      {"ReduceL1", {1.619999885559082, 1.7100000381469727, 1.7400000095367432, 1.590000033378601, 1.580000400543213,
                    1.950000286102295, 1.5, 1.5099992752075195}},
      {"ReduceL2", {1.1180338859558105, 1.0827280282974243, 1.0963575839996338, 1.1014082431793213,
                    1.0516654253005981, 1.24944007396698, 1.0562200546264648, 0.993729829788208}},
      {"ReduceLogSumExp", {1.04848051071167, 1.418480396270752, 1.1012599468231201, 1.4712600708007812,
                           1.2884807586669922, 1.6584806442260742, 1.3412604331970215, 0.9528557062149048}},
      {"ReduceSumSquare", {1.2499998807907104, 1.1722999811172485, 1.2019999027252197, 1.2131001949310303,
                           1.1060000658035278, 1.5611004829406738, 1.115600824356079, 0.987498939037323}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    auto r = run_op(c.op, {}, {in(x234()), constant(i64({1}))});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    expect_values(r->outputs[0], {2, 1, 4}, c.y);
    EXPECT_EQ(r->inferred[0].shape, Shape::of({2, 1, 4}));
  }
}

TEST(ReduceOps, LogSumOfPositiveValues) {
  std::vector<double> xp;
  for (double v : kX) xp.push_back(std::fabs(v) + 0.1);
  auto r = run_op("ReduceLogSum", {{"keepdims", Attr::of_int(0)}},
                  {in(make_tensor(DType::kFloat32, {2, 3, 4}, xp)), constant(i64({-1}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {2, 3},
                {0.8754687905311584, 1.1378329992294312, 0.850151002407074, 0.6523249745368958, 1.1378329992294312,
                 0.9932520389556885},
                1e-5);
}

TEST(ReduceOps, LogSumExpIsStableForLargeValues) {
  Tensor x = make_tensor(DType::kFloat32, {2, 3}, {1000, 1001, 1002, -1000, -1001, -999});
  auto r = run_op("ReduceLogSumExp", {{"keepdims", Attr::of_int(0)}}, {in(x), constant(i64({1}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {2}, {1002.4075927734375, -998.5924072265625});
}

TEST(ReduceOps, Opset13AxesAttributeBecomesInput) {
  auto r = run_op("ReduceMean", {{"axes", Attr::of_ints({0, -1})}, {"keepdims", Attr::of_int(0)}}, {in(x234())}, 1, 13);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {3}, {-0.3249998390674591, 0.10500018298625946, 0.27250030636787415});
  // At opset 18 the attribute is gone.
  std::string msg = fails(run_op("ReduceMean", {{"axes", Attr::of_ints({0})}}, {in(x234())}, 1, 18));
  EXPECT_NE(msg.find("attribute 'axes'"), std::string::npos) << msg;
  // ReduceSum took axes as an input already at opset 13.
  msg = fails(run_op("ReduceSum", {{"axes", Attr::of_ints({0})}}, {in(x234())}, 1, 13));
  EXPECT_NE(msg.find("axes is input 1"), std::string::npos) << msg;
}

TEST(ReduceOps, EmptyAxesReduceAllOrNothing) {
  auto all = run_op("ReduceSum", {{"keepdims", Attr::of_int(0)}}, {in(x234()), constant(i64({}))});
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  double sum = 0;
  for (double v : kX) sum += v;
  expect_values(all->outputs[0], {}, {sum}, 1e-5);
  // noop_with_empty_axes: each element reduces alone (SumSquare squares it).
  auto noop = run_op("ReduceSumSquare", {{"noop_with_empty_axes", Attr::of_int(1)}}, {in(x234())});
  ASSERT_TRUE(noop.ok()) << noop.status().to_string();
  std::vector<double> sq;
  for (double v : kX) sq.push_back(v * v);
  expect_values(noop->outputs[0], {2, 3, 4}, sq, 1e-6);
}

TEST(ReduceOps, EmptySetsGiveIdentityValues) {
  Tensor x = make_tensor(DType::kFloat32, {2, 0, 3}, {});
  struct Case {
    const char* op;
    double y;
  };
  const Case cases[] = {{"ReduceSum", 0},       {"ReduceSumSquare", 0},   {"ReduceL1", 0},
                        {"ReduceL2", 0},        {"ReduceProd", 1},        {"ReduceMax", -kInf},
                        {"ReduceMin", kInf},    {"ReduceLogSum", -kInf},  {"ReduceLogSumExp", -kInf}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    auto r = run_op(c.op, {}, {in(x), constant(i64({1}))});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    expect_values(r->outputs[0], {2, 1, 3}, std::vector<double>(6, c.y));
  }
  // Integer types: the type's limits.
  auto mx = run_op("ReduceMax", {{"keepdims", Attr::of_int(0)}},
                   {in(Tensor::alloc(DType::kInt8, {0, 2}).value()), constant(i64({0}))});
  ASSERT_TRUE(mx.ok()) << mx.status().to_string();
  expect_values(mx->outputs[0], {2}, {-128, -128});
  auto mn = run_op("ReduceMin", {}, {in(Tensor::alloc(DType::kUInt8, {0, 2}).value()), constant(i64({0}))});
  ASSERT_TRUE(mn.ok()) << mn.status().to_string();
  expect_values(mn->outputs[0], {1, 2}, {255, 255});
}

TEST(ReduceOps, IntegersAreExact) {
  Tensor x = Tensor::from_i64({3, -7, 11, 5, 2, -4}, {2, 3});
  auto sum = run_op("ReduceSum", {}, {in(x), constant(i64({1}))});
  ASSERT_TRUE(sum.ok()) << sum.status().to_string();
  EXPECT_EQ(sum->outputs[0].to_i64_vector(), (std::vector<int64_t>{7, 3}));
  auto prod = run_op("ReduceProd", {{"keepdims", Attr::of_int(0)}}, {in(x), constant(i64({0}))});
  ASSERT_TRUE(prod.ok()) << prod.status().to_string();
  EXPECT_EQ(prod->outputs[0].to_i64_vector(), (std::vector<int64_t>{15, -14, -44}));
  auto mean = run_op("ReduceMean", {}, {in(x), constant(i64({1}))});
  ASSERT_TRUE(mean.ok()) << mean.status().to_string();
  EXPECT_EQ(mean->outputs[0].to_i64_vector(), (std::vector<int64_t>{2, 1}));  // 7/3, 3/3 truncated
  EXPECT_EQ(mean->outputs[0].dtype(), DType::kInt64);
}

TEST(ReduceOps, BoolMaxMinFromOpset20) {
  Tensor b = Tensor::alloc(DType::kBool, {2, 3}).value();
  b.set_i64(1, 1);  // {0,1,0},{0,0,0}
  auto mx = run_op("ReduceMax", {{"keepdims", Attr::of_int(0)}}, {in(b), constant(i64({1}))}, 1, 20);
  ASSERT_TRUE(mx.ok()) << mx.status().to_string();
  EXPECT_EQ(mx->outputs[0].dtype(), DType::kBool);
  EXPECT_EQ(mx->outputs[0].to_i64_vector(), (std::vector<int64_t>{1, 0}));
  auto mn = run_op("ReduceMin", {{"keepdims", Attr::of_int(0)}}, {in(b), constant(i64({0}))}, 1, 20);
  ASSERT_TRUE(mn.ok()) << mn.status().to_string();
  EXPECT_EQ(mn->outputs[0].to_i64_vector(), (std::vector<int64_t>{0, 0, 0}));
  fails(run_op("ReduceMax", {}, {in(b), constant(i64({1}))}, 1, 18), ErrorCode::kUnsupported);
  fails(run_op("ReduceSum", {}, {in(b), constant(i64({1}))}), ErrorCode::kUnsupported);
}

TEST(ReduceOps, NarrowFloats) {
  auto r = run_op("ReduceMean", {}, {in(make_tensor(DType::kFloat16, {2, 3, 4}, kX)), constant(i64({2}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dtype(), DType::kFloat16);
  expect_values(r->outputs[0], {2, 3, 1},
                {-0.444976806640625, -0.014892578125, 0.415069580078125, -0.20489120483398438, 0.2249755859375,
                 0.129913330078125},
                2e-3);
  auto b = run_op("ReduceMax", {}, {in(make_tensor(DType::kBFloat16, {2, 3, 4}, kX))});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  double max_bf16 = make_tensor(DType::kBFloat16, {1}, {1.0900001525878906}).get_f64(0);
  expect_values(b->outputs[0], {1, 1, 1}, {max_bf16});
}

TEST(ReduceOps, RuntimeAxesInferUnknownDims) {
  auto keep = run_op("ReduceSum", {}, {in(x234()), in(i64({-1}))});
  ASSERT_TRUE(keep.ok()) << keep.status().to_string();
  ASSERT_EQ(keep->inferred[0].shape.rank(), 3u);
  EXPECT_FALSE(keep->inferred[0].shape[0].is_static());
  expect_values(keep->outputs[0], {2, 3, 1},
                {-1.7799999713897705, -0.05999958515167236, 1.6600005626678467, -0.8199987411499023,
                 0.900001049041748, 0.5200018882751465},
                1e-5);
  auto drop = run_op("ReduceMax", {{"keepdims", Attr::of_int(0)}}, {in(x234()), in(i64({0, 2}))});
  ASSERT_TRUE(drop.ok()) << drop.status().to_string();
  EXPECT_EQ(drop->inferred[0].shape.rank(), 1u);
  expect_values(drop->outputs[0], {3}, {0.35000038146972656, 1.0900001525878906, 0.9700002670288086});
}

TEST(ReduceOps, BadAxesAreErrors) {
  std::string msg = fails(run_op("ReduceSum", {}, {in(x234()), constant(i64({3}))}));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = fails(run_op("ReduceSum", {}, {in(x234()), constant(i64({-4}))}));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = fails(run_op("ReduceMean", {}, {in(x234()), constant(i64({1, -2}))}));
  EXPECT_NE(msg.find("more than once"), std::string::npos) << msg;
  // Runtime axes are checked by the kernel.
  msg = fails(run_op("ReduceL2", {}, {in(x234()), in(i64({5}))}));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = fails(run_op("ReduceSum", {}, {in(x234()), constant(make_tensor(DType::kFloat32, {1}, {1}))}));
  EXPECT_NE(msg.find("int64"), std::string::npos) << msg;
  msg = fails(run_op("ReduceSum", {{"keepdims", Attr::of_float(1)}}, {in(x234())}));
  EXPECT_NE(msg.find("keepdims"), std::string::npos) << msg;
  fails(run_op("ReduceSum", {}, {in(Tensor::alloc(DType::kInt8, {2}).value())}), ErrorCode::kUnsupported);
}

// Zero-size tensors may have other dims whose product overflows: kernels
// must neither loop over them nor compute their product unchecked.
TEST(ReduceOps, ZeroSizeWithHugeDims) {
  const int64_t big = int64_t{1} << 40;
  Tensor z = Tensor::alloc(DType::kFloat32, {0, big, big}).value();
  fails(run_op("ReduceSum", {}, {in(z), constant(i64({0}))}), ErrorCode::kOutOfRange);  // 2^80 elements
  auto kept_zero = run_op("ReduceMax", {}, {in(z), constant(i64({1, 2}))});
  ASSERT_TRUE(kept_zero.ok()) << kept_zero.status().to_string();
  EXPECT_EQ(kept_zero->outputs[0].dims(), (std::vector<int64_t>{0, 1, 1}));
  Tensor w = Tensor::alloc(DType::kFloat32, {3, 0, big, big}).value();
  auto empty_set = run_op("ReduceSum", {{"keepdims", Attr::of_int(0)}}, {in(w), constant(i64({1, 2, 3}))});
  ASSERT_TRUE(empty_set.ok()) << empty_set.status().to_string();
  expect_values(empty_set->outputs[0], {3}, {0, 0, 0});
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    auto r = run_op(op, {{"axis", Attr::of_int(1)}}, {in(z)});
    ASSERT_TRUE(r.ok()) << op << ": " << r.status().to_string();
  }
  auto cs = run_op("CumSum", {}, {in(z), constant(i64({2}))});
  ASSERT_TRUE(cs.ok()) << cs.status().to_string();
  auto tk = run_op("TopK", {}, {in(z), constant(i64({0}))}, 2);
  ASSERT_TRUE(tk.ok()) << tk.status().to_string();
  fails(run_op("ArgMax", {}, {in(z)}), ErrorCode::kOutOfRange);
}

TEST(ReduceOps, ExtremeAxisValuesAreErrors) {
  std::string msg = fails(run_op("ReduceSum", {}, {in(x234()), constant(i64({INT64_MIN}))}));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = fails(run_op("CumSum", {}, {in(x234()), in(i64({INT64_MAX}))}));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = fails(run_op("TopK", {}, {in(x234()), in(i64({INT64_MAX}))}, 2));
  EXPECT_NE(msg.find("larger than"), std::string::npos) << msg;
  msg = fails(run_op("ArgMin", {{"axis", Attr::of_int(INT64_MIN)}}, {in(x234())}));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
}

// Inference on a graph input of shape [batch, 3, seq]: symbolic dims pass
// through, reduced ones become 1 or go away.
Expected<Shape> infer_symbolic(const std::string& op, std::map<std::string, Attr> attrs, Tensor second,
                               bool second_constant, int64_t opset = kMaxOnnxOpset, int outputs = 1) {
  Graph g;
  Value* x = g.add_value("x").value();
  x->dtype = DType::kFloat32;
  x->shape = Shape({Dim::symbolic("batch"), Dim(3), Dim::symbolic("seq")});
  x->shape_known = true;
  std::vector<Value*> ins = {x};
  if (second.dtype() != DType::kUndefined) {
    Value* v = g.add_value("second").value();
    v->dtype = second.dtype();
    v->shape = second.shape();
    v->shape_known = true;
    if (second_constant) v->constant = std::make_shared<const Tensor>(second);
    ins.push_back(v);
  }
  std::vector<Value*> outs;
  for (int i = 0; i < outputs; ++i) outs.push_back(g.add_value(str("y", i)).value());
  KILN_ASSIGN_OR_RETURN(Node * node, g.add_node(op, "n", ins, outs, "", opset));
  node->attrs = std::move(attrs);
  const OpSchema* schema = OpRegistry::global().find("", op, opset);
  if (!schema) return Unsupported(op, " is not registered at opset ", opset);
  if (schema->upgrade) KILN_RETURN_IF_ERROR(schema->upgrade(*node, g));
  KILN_RETURN_IF_ERROR(infer_node(*node, Limits{}));
  if (!outs[0]->shape_known) return Shape({Dim(-42)});  // marks an unknown rank
  return outs[0]->shape;
}

TEST(ReduceOps, SymbolicDims) {
  auto s = infer_symbolic("ReduceMean", {}, i64({1}), true);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->to_string(), "[batch,1,seq]");
  s = infer_symbolic("ReduceMax", {{"keepdims", Attr::of_int(0)}}, i64({-1}), true);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->to_string(), "[batch,3]");
  s = infer_symbolic("ReduceSum", {{"axes", Attr::of_ints({0})}, {"keepdims", Attr::of_int(0)}}, Tensor(), false, 13);
  EXPECT_FALSE(s.ok());  // ReduceSum-13 has no axes attribute
  s = infer_symbolic("ReduceL1", {{"axes", Attr::of_ints({0})}, {"keepdims", Attr::of_int(0)}}, Tensor(), false, 13);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->to_string(), "[3,seq]");
  // Runtime axes of known length without keepdims: known rank, unknown dims.
  s = infer_symbolic("ReduceSum", {{"keepdims", Attr::of_int(0)}}, i64({0, 1}), false);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->rank(), 1u);  // rank 3 - 2 axes
  s = infer_symbolic("ArgMax", {{"axis", Attr::of_int(2)}}, Tensor(), false);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->to_string(), "[batch,3,1]");
  s = infer_symbolic("TopK", {{"axis", Attr::of_int(-1)}}, i64({4}), true, kMaxOnnxOpset, 2);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->to_string(), "[batch,3,4]");
  s = infer_symbolic("TopK", {{"axis", Attr::of_int(1)}}, i64({4}), true, kMaxOnnxOpset, 2);
  EXPECT_FALSE(s.ok());  // 4 > 3
  s = infer_symbolic("CumSum", {}, i64({0}), false);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->to_string(), "[batch,3,seq]");
}

TEST(ReduceArg, MaxMinWithTies) {
  Tensor a = make_tensor(DType::kFloat32, {3, 4}, {2, 5, 5, 1, 7, 0, 7, 7, 3, 3, 1, 3});
  struct Case {
    const char* op;
    int64_t last;
    std::vector<int64_t> y;
  };
  const Case cases[] = {{"ArgMax", 0, {1, 0, 0}}, {"ArgMax", 1, {2, 3, 3}}, {"ArgMin", 0, {3, 1, 2}},
                        {"ArgMin", 1, {3, 1, 2}}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.op) + (c.last ? " last" : " first"));
    auto r = run_op(c.op, {{"axis", Attr::of_int(1)}, {"select_last_index", Attr::of_int(c.last)}}, {in(a)});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->outputs[0].dtype(), DType::kInt64);
    EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{3, 1}));
    EXPECT_EQ(r->outputs[0].to_i64_vector(), c.y);
  }
  auto r = run_op("ArgMax", {{"keepdims", Attr::of_int(0)}}, {in(a)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (std::vector<int64_t>{1, 0, 1, 1}));
}

TEST(ReduceArg, Errors) {
  std::string msg = fails(run_op("ArgMax", {{"axis", Attr::of_int(2)}}, {in(make_tensor(DType::kFloat32, {2, 3}, {}))}));
  EXPECT_NE(msg.find("axis 2 is out of range"), std::string::npos) << msg;
  msg = fails(run_op("ArgMin", {{"axis", Attr::of_int(1)}}, {in(make_tensor(DType::kFloat32, {2, 0}, {}))}));
  EXPECT_NE(msg.find("size 0"), std::string::npos) << msg;
  msg = fails(run_op("ArgMax", {{"select_last_index", Attr::of_int(2)}}, {in(make_tensor(DType::kFloat32, {2}, {}))}));
  EXPECT_NE(msg.find("select_last_index"), std::string::npos) << msg;
  fails(run_op("ArgMax", {}, {in(Tensor::alloc(DType::kBool, {2}).value())}), ErrorCode::kUnsupported);
}

const std::vector<double> kS = {-1.0, -0.10000002384185791, 0.7999999523162842, -0.6000001430511475,
                                0.2999999523162842, 1.2000000476837158, -0.20000028610229492, 0.6999998092651367,
                                -0.7000000476837158, 0.19999957084655762, 1.1000001430511475, -0.3000001907348633};

TEST(ReduceSoftmax, SoftmaxLogSoftmaxMatchReference) {
  Tensor s = make_tensor(DType::kFloat32, {3, 4}, kS);
  auto last = run_op("Softmax", {}, {in(s)});
  ASSERT_TRUE(last.ok()) << last.status().to_string();
  expect_values(last->outputs[0], {3, 4},
                {0.09090020507574081, 0.22357843816280365, 0.5499141812324524, 0.13560715317726135,
                 0.1799221932888031, 0.44253721833229065, 0.10912829637527466, 0.268412321805954,
                 0.09090021252632141, 0.2235783487558365, 0.5499143600463867, 0.13560715317726135});
  auto first = run_op("Softmax", {{"axis", Attr::of_int(0)}}, {in(s)});
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  expect_values(first->outputs[0], {3, 4},
                {0.16613627970218658, 0.1661362648010254, 0.36795300245285034, 0.16613627970218658,
                 0.6096032857894897, 0.6096033453941345, 0.13536231219768524, 0.6096032857894897,
                 0.22426049411296844, 0.22426041960716248, 0.4966847002506256, 0.22426049411296844});
  auto log = run_op("LogSoftmax", {{"axis", Attr::of_int(-1)}}, {in(s)});
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  expect_values(log->outputs[0], {3, 4},
                {-2.3979930877685547, -1.497992992401123, -0.5979930758476257, -1.9979931116104126,
                 -1.7152307033538818, -0.8152307271957397, -2.215230941772461, -1.3152309656143188,
                 -2.3979930877685547, -1.4979933500289917, -0.5979927182197571, -1.9979931116104126});
}

TEST(ReduceSoftmax, LargeInputsDoNotOverflow) {
  auto r = run_op("Softmax", {}, {in(make_tensor(DType::kFloat32, {1, 3}, {10000, 10001, 10002}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {1, 3}, {0.09003057, 0.24472847, 0.66524096});
  auto l = run_op("LogSoftmax", {}, {in(make_tensor(DType::kFloat16, {1, 3}, {60000, 60000, 60000}))});
  ASSERT_TRUE(l.ok()) << l.status().to_string();
  expect_values(l->outputs[0], {1, 3}, {-1.0986, -1.0986, -1.0986}, 1e-3);
}

TEST(ReduceSoftmax, HardmaxPicksFirstMax) {
  Tensor a = make_tensor(DType::kFloat32, {3, 4}, {2, 5, 5, 1, 7, 0, 7, 7, 3, 3, 1, 3});
  auto r0 = run_op("Hardmax", {{"axis", Attr::of_int(0)}}, {in(a)});
  ASSERT_TRUE(r0.ok()) << r0.status().to_string();
  expect_values(r0->outputs[0], {3, 4}, {0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0});
  auto r1 = run_op("Hardmax", {}, {in(a)});
  ASSERT_TRUE(r1.ok()) << r1.status().to_string();
  expect_values(r1->outputs[0], {3, 4}, {0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0});
}

TEST(ReduceSoftmax, Errors) {
  std::string msg = fails(run_op("Softmax", {{"axis", Attr::of_int(2)}}, {in(make_tensor(DType::kFloat32, {2, 3}, {}))}));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = fails(run_op("LogSoftmax", {}, {in(make_tensor(DType::kFloat32, {}, {1}))}));
  EXPECT_NE(msg.find("rank"), std::string::npos) << msg;
  fails(run_op("Softmax", {}, {in(Tensor::from_i64({1, 2}, {2}))}), ErrorCode::kUnsupported);
}

const std::vector<double> kT = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3};

TEST(ReduceTopK, LargestSmallestAndTies) {
  Tensor t = make_tensor(DType::kFloat32, {2, 8}, kT);
  auto big = run_op("TopK", {}, {in(t), constant(i64({3}))}, 2);
  ASSERT_TRUE(big.ok()) << big.status().to_string();
  expect_values(big->outputs[0], {2, 3}, {9, 6, 5, 9, 9, 8});
  EXPECT_EQ(big->outputs[1].to_i64_vector(), (std::vector<int64_t>{5, 7, 4, 4, 6, 3}));
  auto small = run_op("TopK", {{"largest", Attr::of_int(0)}}, {in(t), constant(i64({3}))}, 2);
  ASSERT_TRUE(small.ok()) << small.status().to_string();
  expect_values(small->outputs[0], {2, 3}, {1, 1, 2, 3, 3, 5});
  EXPECT_EQ(small->outputs[1].to_i64_vector(), (std::vector<int64_t>{1, 3, 6, 1, 7, 0}));
  auto axis0 = run_op("TopK", {{"axis", Attr::of_int(0)}}, {in(t), constant(i64({1}))}, 2);
  ASSERT_TRUE(axis0.ok()) << axis0.status().to_string();
  expect_values(axis0->outputs[0], {1, 8}, {5, 3, 5, 8, 9, 9, 9, 6});
  EXPECT_EQ(axis0->outputs[1].to_i64_vector(), (std::vector<int64_t>{1, 1, 1, 1, 1, 0, 1, 0}));
}

TEST(ReduceTopK, RuntimeKAndErrors) {
  Tensor t = make_tensor(DType::kFloat32, {2, 8}, kT);
  auto r = run_op("TopK", {}, {in(t), in(i64({2}))}, 2);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(r->inferred[0].shape[1].is_static());
  EXPECT_EQ(r->outputs[1].to_i64_vector(), (std::vector<int64_t>{5, 7, 4, 6}));
  std::string msg = fails(run_op("TopK", {}, {in(t), constant(i64({9}))}, 2));
  EXPECT_NE(msg.find("larger than dim 1"), std::string::npos) << msg;
  msg = fails(run_op("TopK", {}, {in(t), in(i64({9}))}, 2));
  EXPECT_NE(msg.find("larger than dim 1"), std::string::npos) << msg;
  msg = fails(run_op("TopK", {}, {in(t), constant(i64({-1}))}, 2));
  EXPECT_NE(msg.find("negative"), std::string::npos) << msg;
  msg = fails(run_op("TopK", {}, {in(t), constant(i64({1, 2}))}, 2));
  EXPECT_NE(msg.find("one value"), std::string::npos) << msg;
  msg = fails(run_op("TopK", {{"axis", Attr::of_int(2)}}, {in(t), constant(i64({1}))}, 2));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
}

TEST(ReduceCumSum, ExclusiveReverse) {
  Tensor c = make_tensor(DType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor axis = Tensor::alloc(DType::kInt32, {}).value();
  axis.set_i64(0, 1);
  struct Case {
    int64_t exclusive, reverse;
    std::vector<double> y;
  };
  const Case cases[] = {{0, 0, {1, 3, 6, 4, 9, 15}},
                        {0, 1, {6, 5, 3, 15, 11, 6}},
                        {1, 0, {0, 1, 3, 0, 4, 9}},
                        {1, 1, {5, 3, 0, 11, 6, 0}}};
  for (const Case& k : cases) {
    auto r = run_op("CumSum", {{"exclusive", Attr::of_int(k.exclusive)}, {"reverse", Attr::of_int(k.reverse)}},
                    {in(c), constant(axis)});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    expect_values(r->outputs[0], {2, 3}, k.y);
  }
  auto ints = run_op("CumSum", {}, {in(Tensor::from_i64({1, 2, 3, 4, 5, 6}, {2, 3})), in(i64({-2}))});
  ASSERT_TRUE(ints.ok()) << ints.status().to_string();
  EXPECT_EQ(ints->outputs[0].to_i64_vector(), (std::vector<int64_t>{1, 2, 3, 5, 7, 9}));
}

TEST(ReduceCumSum, Errors) {
  Tensor c = make_tensor(DType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  std::string msg = fails(run_op("CumSum", {}, {in(c), constant(i64({2}))}));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = fails(run_op("CumSum", {}, {in(c), in(i64({2}))}));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = fails(run_op("CumSum", {}, {in(c), constant(i64({0, 1}))}));
  EXPECT_NE(msg.find("one value"), std::string::npos) << msg;
  fails(run_op("CumSum", {}, {in(Tensor::alloc(DType::kInt8, {2}).value()), constant(i64({0}))}),
        ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kiln
