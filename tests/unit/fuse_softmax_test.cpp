// fuse_softmax: Add(scores, mask) -> Softmax(last axis) [-> Where(IsNaN(p), 0, p)]
// becomes one kiln.FusedSoftmax; each positive case sits beside the cases that
// must not fuse (or must keep the NaN guard), and every rewritten graph gives
// the unfused graph's CPU output exactly, fully masked rows included.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "backends/cpu/interpreter.h"
#include "ir/verifier.h"
#include "ops/infer.h"
#include "ops/op_case.h"
#include "passes/pipeline.h"
#include "pass_test_net.h"
#include "../ops/op_test_util.h"

namespace kiln {
namespace {

using Net = testing::PassNet;

using Recipe = std::function<void(Net&)>;

// A random mask of `dims` whose first bias row is -inf throughout: with the
// scores, every output row that reads it is NaN before the guard.
Tensor mask_with_masked_row(std::vector<int64_t> dims) {
  Tensor t = Tensor::alloc(DType::kFloat32, dims).value();
  fill_uniform(t, -3, 3, 7);
  for (int64_t k = 0; k < dims.back(); ++k) t.set_f64(k, -INFINITY);
  t.set_f64(t.numel() - 1, -INFINITY);  // and one masked column elsewhere
  return t;
}

Value* softmax(Net& net, Value* x, int64_t axis = -1) {
  return net.node("Softmax", {x}, {{"axis", Attr::of_int(axis)}});
}

// p = Softmax(x + mask); Where(IsNaN(p), zero, p).
Value* nan_guard(Net& net, Value* p, Value* zero) { return net.node("Where", {net.node("IsNaN", {p}), zero, p}); }

// fuse_softmax keeps the CPU outputs bit for bit (NaN where they were NaN).
void expect_same_outputs(const Recipe& recipe, Net& fused) {
  testing::expect_pass_keeps_outputs<Net>(recipe, fused, fuse_softmax);
}

TEST(FuseSoftmax, FusesMaskedSoftmaxWithNanGuard) {
  for (std::vector<int64_t> mask_dims : {std::vector<int64_t>{2, 1, 1, 7}, {2, 1, 5, 7}, {7}}) {
    for (bool mask_first : {false, true}) {
      SCOPED_TRACE(str(dims_to_string(mask_dims), mask_first ? " mask + scores" : " scores + mask"));
      Net net;
      expect_same_outputs(
          [&](Net& n) {
            Value* x = n.input("scores", {2, 3, 5, 7});
            Value* m = n.input("mask", mask_with_masked_row(mask_dims));
            Value* p = softmax(n, n.node("Add", mask_first ? std::vector<Value*>{m, x} : std::vector<Value*>{x, m}), 3);
            n.output(nan_guard(n, p, n.filled("zero", {}, 0.f)));
          },
          net);
      EXPECT_EQ(net.graph->num_nodes(), 1u);
      const Node* f = net.find("FusedSoftmax");
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->domain, "kiln");
      EXPECT_EQ(f->inputs[0]->name, "scores");
      EXPECT_EQ(f->inputs[1]->name, "mask");
      EXPECT_EQ(f->attr_int("nan_to_zero", -1).value(), 1);
      EXPECT_EQ(f->outputs[0], net.graph->outputs[0]);
    }
  }
}

TEST(FuseSoftmax, FusesBareAddSoftmax) {
  Net net;
  expect_same_outputs(
      [](Net& n) {
        Value* x = n.input("scores", {2, 3, 5, 7});
        n.output(softmax(n, n.node("Add", {x, n.filled("bias", {1, 1, 7}, -1.5f)})));
      },
      net);
  ASSERT_EQ(net.graph->num_nodes(), 1u);
  EXPECT_EQ(net.find("FusedSoftmax")->attr_int("nan_to_zero", -1).value(), 0);
}

TEST(FuseSoftmax, ZeroOfAnyBroadcastShapeIsAbsorbed) {
  Net net;
  expect_same_outputs(
      [](Net& n) {
        Value* p = softmax(n, n.node("Add", {n.input("scores", {2, 3, 5, 7}), n.input("mask", {2, 1, 5, 7})}));
        n.output(nan_guard(n, p, n.filled("zeros", {1, 5, 1}, 0.f)));
      },
      net);
  EXPECT_EQ(net.graph->num_nodes(), 1u);
}

// A zero that enlarges Where's output is not a NaN guard of p.
TEST(FuseSoftmax, ZeroThatEnlargesTheOutputKeepsTheNanGuard) {
  Net net;
  expect_same_outputs(
      [](Net& n) {
        Value* p = softmax(n, n.node("Add", {n.input("scores", {3, 5, 7}), n.input("mask", {1, 1, 7})}));
        n.output(nan_guard(n, p, n.filled("zeros", {2, 1, 1, 1}, 0.f)));
      },
      net);
  EXPECT_EQ(net.count("FusedSoftmax"), 1);
  EXPECT_EQ(net.count("Where"), 1);
}

TEST(FuseSoftmax, AddWithAnotherUserIsNotFused) {
  Net net;
  expect_same_outputs(
      [](Net& n) {
        Value* s = n.node("Add", {n.input("scores", {2, 3, 5, 7}), n.input("mask", {2, 1, 1, 7})});
        n.output(nan_guard(n, softmax(n, s), n.filled("zero", {}, 0.f)));
        n.output(n.node("Relu", {s}));
      },
      net);
  EXPECT_EQ(net.count("FusedSoftmax"), 0);
  EXPECT_EQ(net.count("Softmax"), 1);
}

TEST(FuseSoftmax, AddThatIsAGraphOutputIsNotFused) {
  Net net;
  expect_same_outputs(
      [](Net& n) {
        Value* s = n.node("Add", {n.input("scores", {3, 7}), n.input("mask", {7})});
        n.output(s);
        n.output(softmax(n, s));
      },
      net);
  EXPECT_EQ(net.count("FusedSoftmax"), 0);
}

TEST(FuseSoftmax, AxisNotLastIsNotFused) {
  Net net;
  expect_same_outputs(
      [](Net& n) {
        Value* s = n.node("Add", {n.input("scores", {2, 3, 5, 7}), n.input("mask", {2, 1, 1, 7})});
        n.output(nan_guard(n, softmax(n, s, -2), n.filled("zero", {}, 0.f)));
      },
      net);
  EXPECT_EQ(net.count("FusedSoftmax"), 0);
  EXPECT_EQ(net.count("Add"), 1);
}

// Before opset 13 Softmax flattens to 2-D from `axis` on: another operation.
TEST(FuseSoftmax, OldOpsetSoftmaxIsNotFused) {
  Net net;
  Value* s = net.node("Add", {net.input("scores", {2, 3, 5, 7}), net.input("mask", {2, 1, 1, 7})});
  net.output(softmax(net, s));
  for (const auto& n : net.graph->nodes())
    if (n->op == "Softmax") n->opset = 11;
  ASSERT_TRUE(fuse_softmax(*net.graph).ok());
  EXPECT_EQ(net.count("FusedSoftmax"), 0);
  EXPECT_EQ(net.count("Softmax"), 1);
}

// Softmax over a shape that neither Add operand has: nothing to fuse into.
TEST(FuseSoftmax, NeitherOperandWithTheFullShapeIsNotFused) {
  Net net;
  expect_same_outputs(
      [](Net& n) { n.output(softmax(n, n.node("Add", {n.input("scores", {1, 7}), n.input("mask", {3, 1})}))); }, net);
  EXPECT_EQ(net.count("FusedSoftmax"), 0);
}

// The full-shape operand is the scores even when it comes second and the
// other one is an activation too.
TEST(FuseSoftmax, FullShapeOperandIsTheScores) {
  Net net;
  expect_same_outputs(
      [](Net& n) { n.output(softmax(n, n.node("Add", {n.input("row", {1, 7}), n.input("scores", {3, 7})}))); }, net);
  const Node* f = net.find("FusedSoftmax");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->inputs[0]->name, "scores");
}

// Where's X is not zero: Add + Softmax still fuse, the guard stays as it was.
TEST(FuseSoftmax, NonZeroWhereKeepsTheNanGuard) {
  Net net;
  expect_same_outputs(
      [](Net& n) {
        Value* m = n.input("mask", mask_with_masked_row({2, 1, 1, 7}));
        Value* p = softmax(n, n.node("Add", {n.input("scores", {2, 3, 5, 7}), m}));
        n.output(nan_guard(n, p, n.filled("one", {}, 1.f)));
      },
      net);
  EXPECT_EQ(net.count("FusedSoftmax"), 1);
  EXPECT_EQ(net.count("IsNaN"), 1);
  EXPECT_EQ(net.count("Where"), 1);
  EXPECT_EQ(net.find("FusedSoftmax")->attr_int("nan_to_zero", -1).value(), 0);
}

// p also feeds another layer (or is a graph output): the guard is not absorbed.
TEST(FuseSoftmax, SoftmaxWithAnotherUserKeepsTheNanGuard) {
  for (bool as_output : {false, true}) {
    SCOPED_TRACE(as_output ? "graph output" : "another reader");
    Net net;
    expect_same_outputs(
        [&](Net& n) {
          Value* p = softmax(n, n.node("Add", {n.input("scores", {2, 3, 5, 7}), n.input("mask", {2, 1, 5, 7})}));
          n.output(nan_guard(n, p, n.filled("zero", {}, 0.f)));
          n.output(as_output ? p : n.node("Relu", {p}));
        },
        net);
    EXPECT_EQ(net.count("FusedSoftmax"), 1);
    EXPECT_EQ(net.count("IsNaN"), 1);
    EXPECT_EQ(net.count("Where"), 1);
  }
}

// --fp16 converts the fused layer like Softmax: scores and mask both.
TEST(FuseSoftmax, Fp16ConvertsScoresAndMask) {
  Net net;
  Value* x = net.input("scores", {2, 3, 5, 7});
  Value* m = net.input("mask", {2, 1, 1, 7});
  net.output(nan_guard(net, softmax(net, net.node("Add", {x, m})), net.filled("zero", {}, 0.f)));
  PassOptions options;
  options.fp16 = true;
  Status s = run_build_passes(*net.graph, options);
  ASSERT_TRUE(s.ok()) << s.to_string();
  const Node* f = net.find("FusedSoftmax");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->inputs[0]->dtype, DType::kFloat16);
  EXPECT_EQ(f->inputs[1]->dtype, DType::kFloat16);
  EXPECT_EQ(f->outputs[0]->dtype, DType::kFloat16);
  EXPECT_EQ(net.graph->outputs[0]->dtype, DType::kFloat32);
}

TEST(FusedSoftmaxOp, RefusesAxisOtherThanLast) {
  Tensor x = testing::make_tensor(DType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto r = testing::run_op("FusedSoftmax", {{"axis", Attr::of_int(0)}}, {testing::in(x)}, 1, 1, "kiln");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("last axis"), std::string::npos) << r.status().to_string();
  auto ok = testing::run_op("FusedSoftmax", {{"axis", Attr::of_int(1)}}, {testing::in(x)}, 1, 1, "kiln");
  EXPECT_TRUE(ok.ok()) << ok.status().to_string();
}

TEST(FusedSoftmaxOp, RefusesBiasThatDoesNotBroadcastToX) {
  Tensor x = testing::make_tensor(DType::kFloat32, {1, 3}, {1, 2, 3});
  Tensor b = testing::make_tensor(DType::kFloat32, {2, 3}, {0, 0, 0, 0, 0, 0});
  auto r = testing::run_op("FusedSoftmax", {}, {testing::in(x), testing::in(b)}, 1, 1, "kiln");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not broadcast"), std::string::npos) << r.status().to_string();
}

// Hand-checked: softmax of [0, ln 3] is [1/4, 3/4]; a row masked throughout is
// NaN, or 0 with nan_to_zero.
TEST(FusedSoftmaxOp, AddsBiasAndZeroesNanRows) {
  Tensor x = testing::make_tensor(DType::kFloat32, {2, 2}, {1, 1, 5, 6});
  Tensor b = testing::make_tensor(DType::kFloat32, {2, 2}, {-1, std::log(3.0) - 1, -INFINITY, -INFINITY});
  for (int64_t flag : {0, 1}) {
    auto r = testing::run_op("FusedSoftmax", {{"nan_to_zero", Attr::of_int(flag)}}, {testing::in(x), testing::in(b)},
                             1, 1, "kiln");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const Tensor& y = r->outputs[0];
    EXPECT_NEAR(y.get_f64(0), 0.25, 1e-6);
    EXPECT_NEAR(y.get_f64(1), 0.75, 1e-6);
    for (int64_t k : {2, 3}) {
      if (flag) EXPECT_EQ(y.get_f64(k), 0.0);
      else EXPECT_TRUE(std::isnan(y.get_f64(k)));
    }
  }
}

}  // namespace
}  // namespace kiln
