// fuse_layernorm: Add(X, Z) -> LayerNormalization(last axis) becomes one
// kiln.FusedLayerNorm; each positive case sits beside the cases that must
// not fuse, and every rewritten graph gives the unfused graph's CPU output
// exactly.
#include <gtest/gtest.h>

#include <functional>

#include "backends/cpu/interpreter.h"
#include "ir/verifier.h"
#include "ops/infer.h"
#include "ops/op_case.h"
#include "passes/pipeline.h"
#include "pass_test_net.h"

namespace kiln {
namespace {

class Net : public testing::PassNet {
 public:
  Value* add(Value* a, Value* b) { return node("Add", {a, b}); }
  // LayerNormalization of x from `axis` on, with constant scale (and bias)
  // of the normalized dims; returns its `n_outputs` outputs.
  std::vector<Value*> layer_norm(Value* x, int64_t axis = -1, int n_outputs = 1, bool bias = true) {
    const int64_t rank = static_cast<int64_t>(x->shape.rank());
    std::vector<int64_t> p;
    for (int64_t d = axis < 0 ? axis + rank : axis; d < rank; ++d) p.push_back(x->shape[static_cast<size_t>(d)].value);
    std::vector<Value*> ins = {x, uniform("scale_" + x->name, p, 0.5, 1.5)};
    if (bias) ins.push_back(uniform("bias_" + x->name, p, -1, 1));
    return nodes("LayerNormalization", ins, {{"axis", Attr::of_int(axis)}, {"epsilon", Attr::of_float(1e-12f)}},
                 n_outputs);
  }
};

using Recipe = std::function<void(Net&)>;

// `pass` (fuse_layernorm unless given) keeps the CPU outputs bit for bit.
void expect_same_outputs(const Recipe& recipe, Net& fused, const std::function<Status(Graph&)>& pass = fuse_layernorm) {
  testing::expect_pass_keeps_outputs<Net>(recipe, fused, pass);
}

TEST(FuseLayerNorm, FusesResidualAddLayerNorm) {
  for (int64_t axis : {-1, 2}) {
    for (bool bias : {true, false}) {
      SCOPED_TRACE(str("axis ", axis, bias ? " with bias" : " without bias"));
      Net net;
      expect_same_outputs(
          [&](Net& n) {
            n.output(n.layer_norm(n.add(n.input("x", {2, 5, 33}), n.input("r", {2, 5, 33})), axis, 1, bias)[0]);
          },
          net);
      ASSERT_EQ(net.graph->num_nodes(), 1u);
      const Node* f = net.find("FusedLayerNorm");
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->domain, "kiln");
      ASSERT_EQ(f->inputs.size(), bias ? 4u : 3u);
      EXPECT_EQ(f->inputs[0]->name, "x");
      EXPECT_EQ(f->inputs[1]->name, "r");
      EXPECT_EQ(f->attr_int("axis", 0).value(), axis);
      EXPECT_EQ(f->attr_float("epsilon", 0.f).value(), 1e-12f);
      EXPECT_EQ(f->outputs[0], net.graph->outputs[0]);
    }
  }
}

// The statistics outputs exist but nothing reads them: still fused.
TEST(FuseLayerNorm, UnusedStatisticsOutputsAreDropped) {
  Net net;
  expect_same_outputs(
      [](Net& n) { n.output(n.layer_norm(n.add(n.input("x", {4, 768}), n.input("r", {4, 768})), -1, 3)[0]); }, net);
  EXPECT_EQ(net.graph->num_nodes(), 1u);
  EXPECT_EQ(net.count("FusedLayerNorm"), 1);
}

TEST(FuseLayerNorm, UsedMeanOutputIsNotFused) {
  for (bool as_output : {false, true}) {
    SCOPED_TRACE(as_output ? "Mean is a graph output" : "Mean feeds a node");
    Net net;
    expect_same_outputs(
        [&](Net& n) {
          std::vector<Value*> y = n.layer_norm(n.add(n.input("x", {3, 7}), n.input("r", {3, 7})), -1, 2);
          n.output(y[0]);
          n.output(as_output ? y[1] : n.node("Relu", {y[1]}));
        },
        net);
    EXPECT_EQ(net.count("FusedLayerNorm"), 0);
    EXPECT_EQ(net.count("Add"), 1);
  }
}

TEST(FuseLayerNorm, BroadcastingOrConstantAddIsNotFused) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    Net net;
    expect_same_outputs(
        [&](Net& n) {
          Value* x = n.input("x", {2, 5, 33});
          Value* r = variant == 0   ? n.input("r", {1, 5, 33})
                     : variant == 1 ? n.input("r", {33})
                                    : n.uniform("r", {2, 5, 33}, -1, 1);
          n.output(n.layer_norm(n.add(x, r))[0]);
        },
        net);
    EXPECT_EQ(net.count("FusedLayerNorm"), 0);
  }
}

TEST(FuseLayerNorm, AddWithAnotherUserIsNotFused) {
  Net net;
  expect_same_outputs(
      [](Net& n) {
        Value* s = n.add(n.input("x", {3, 33}), n.input("r", {3, 33}));
        n.output(n.layer_norm(s)[0]);
        n.output(n.node("Relu", {s}));
      },
      net);
  EXPECT_EQ(net.count("FusedLayerNorm"), 0);
}

TEST(FuseLayerNorm, AddThatIsAGraphOutputIsNotFused) {
  Net net;
  expect_same_outputs(
      [](Net& n) {
        Value* s = n.add(n.input("x", {3, 33}), n.input("r", {3, 33}));
        n.output(s);
        n.output(n.layer_norm(s)[0]);
      },
      net);
  EXPECT_EQ(net.count("FusedLayerNorm"), 0);
}

TEST(FuseLayerNorm, AxisNotLastIsNotFused) {
  for (int64_t axis : {1, -2}) {
    Net net;
    expect_same_outputs(
        [&](Net& n) { n.output(n.layer_norm(n.add(n.input("x", {2, 5, 7}), n.input("r", {2, 5, 7})), axis)[0]); },
        net);
    EXPECT_EQ(net.count("FusedLayerNorm"), 0) << "axis " << axis;
  }
}

// A BERT encoder's sublayer output through the whole pipeline: the bias Add
// goes into the GEMM, the residual Add into the norm.
TEST(FuseLayerNorm, PipelineFusesBertSublayer) {
  for (bool fp16 : {false, true}) {
    SCOPED_TRACE(fp16 ? "fp16" : "fp32");
    Net net;
    Value* x = net.input("x", {2, 8, 64});
    Value* h = net.node("MatMul", {x, net.uniform("w", {64, 64}, -0.2, 0.2)});
    h = net.add(h, net.uniform("b", {64}, -1, 1));
    net.output(net.layer_norm(net.add(h, x))[0]);
    PassOptions options;
    options.fp16 = fp16;
    Status s = run_build_passes(*net.graph, options);
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(net.count("FusedMatMul"), 1);
    EXPECT_EQ(net.count("Add"), 0);
    EXPECT_EQ(net.count("LayerNormalization"), 0);
    const Node* f = net.find("FusedLayerNorm");
    ASSERT_NE(f, nullptr);
    // --fp16 converts the fused layer as it converts LayerNormalization:
    // activations, Scale and B alike.
    const DType want = fp16 ? DType::kFloat16 : DType::kFloat32;
    for (const Value* v : f->inputs) EXPECT_EQ(v->dtype, want) << v->name;
    EXPECT_EQ(f->outputs[0]->dtype, want);
    EXPECT_EQ(net.graph->outputs[0]->dtype, DType::kFloat32);
  }
}

}  // namespace
}  // namespace kiln
