// fold_matmul_operands: scalar Muls and K^T chains feeding an activation x
// activation MatMul become kiln.FusedMatMul's alpha and transB. Every rewritten
// graph must give the unfused graph's CPU output (up to one float rounding:
// alpha is applied once to the product instead of to each operand), and the
// cases that must not fold stay as they are.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "backends/cpu/interpreter.h"
#include "ir/verifier.h"
#include "ops/infer.h"
#include "ops/op_case.h"
#include "passes/pipeline.h"
#include "pass_test_net.h"

namespace kiln {
namespace {

using Net = testing::PassNet;

using Recipe = std::function<void(Net&)>;

// Attention scores as torch's dynamo export writes them: q * sqrt(s) times
// (K^T through Reshape/Transpose/Reshape) * sqrt(s), q/k of [2, 3, 5, 8].
Recipe dynamo_scores(bool extra_user = false) {
  return [=](Net& net) {
    Value* q = net.input("q", {2, 3, 5, 8});
    Value* k = net.input("k", {2, 3, 5, 8});
    Value* r1 = net.node("Reshape", {k, net.ints("s1", {-1, 5, 8})});
    Value* t = net.node("Transpose", {r1}, {{"perm", Attr::of_ints({0, 2, 1})}});
    Value* r2 = net.node("Reshape", {t, net.ints("s2", {2, 3, 8, 5})});
    Value* qs = net.node("Mul", {q, net.filled("c1", {}, 0.35355339f)});
    Value* ks = net.node("Mul", {r2, net.filled("c2", {}, 0.35355339f)});
    net.output(net.node("MatMul", {qs, ks}));
    if (extra_user) net.output(net.node("Relu", {r2}));
  };
}

// Runs the pass on the recipe and checks the CPU outputs stay within one
// float rounding (alpha scales the product once instead of each operand).
Net check_equivalent(const Recipe& recipe) {
  Net folded;
  testing::expect_pass_keeps_outputs<Net>(recipe, folded, fold_matmul_operands, 1e-5);
  return folded;
}

TEST(FoldMatMulOperands, DynamoAttentionScoresBecomeOneFusedMatMul) {
  Net net = check_equivalent(dynamo_scores());
  EXPECT_EQ(net.graph->num_nodes(), 1u);
  const Node* mm = net.find("FusedMatMul");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->attr_int("transB", 0).value(), 1);
  EXPECT_NEAR(mm->attr_float("alpha", 1.f).value(), 0.125, 1e-6);
  EXPECT_EQ(mm->inputs[0]->name, "q");
  EXPECT_EQ(mm->inputs[1]->name, "k");
}

TEST(FoldMatMulOperands, PlainTransposeAndOneSidedScale) {
  Net net = check_equivalent([](Net& n) {
    Value* a = n.input("a", {4, 6, 9});
    Value* k = n.input("k", {4, 7, 9});
    Value* kt = n.node("Transpose", {k}, {{"perm", Attr::of_ints({0, 2, 1})}});
    n.output(n.node("MatMul", {a, n.node("Mul", {n.filled("c", {}, -3.f), kt})}));
  });
  const Node* mm = net.find("FusedMatMul");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->attr_int("transB", 0).value(), 1);
  EXPECT_FLOAT_EQ(mm->attr_float("alpha", 1.f).value(), -3.f);
  EXPECT_EQ(net.count("Transpose") + net.count("Mul"), 0);
}

TEST(FoldMatMulOperands, LeavesWhatItCannotFold) {
  // K^T read by another node: the chain stays, only the scales fold.
  Net shared = check_equivalent(dynamo_scores(/*extra_user=*/true));
  ASSERT_NE(shared.find("FusedMatMul"), nullptr);
  EXPECT_EQ(shared.find("FusedMatMul")->attr_int("transB", 0).value(), 0);
  EXPECT_EQ(shared.count("Transpose"), 1);
  // A transpose that is not a swap of the last two axes, a non-scalar Mul,
  // and a plain MatMul: nothing to fold.
  Net other = check_equivalent([](Net& n) {
    Value* a = n.input("a", {2, 3, 4});
    Value* b = n.input("b", {4, 2, 3});
    Value* bt = n.node("Transpose", {b}, {{"perm", Attr::of_ints({1, 0, 2})}});  // [2, 4, 3]
    Value* c = n.input("c", {2, 3, 4});
    Value* w = n.input("w", {2, 4, 5});
    n.output(n.node("MatMul", {a, bt}));
    n.output(n.node("MatMul", {n.node("Mul", {c, n.input("row", {4})}), w}));
    n.output(n.node("MatMul", {c, w}));
  });
  EXPECT_EQ(other.count("FusedMatMul"), 0);
  EXPECT_EQ(other.count("MatMul"), 3);
}

// The whole pipeline in fp16 keeps the folded attention scores one layer.
TEST(FoldMatMulOperands, SurvivesTheFp16Pipeline) {
  Net net;
  dynamo_scores()(net);
  PassOptions o;
  o.fp16 = true;
  ASSERT_TRUE(run_build_passes(*net.graph, o).ok());
  const Node* mm = net.find("FusedMatMul");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->inputs[0]->dtype, DType::kFloat16);
  EXPECT_EQ(net.count("Transpose") + net.count("Mul") + net.count("Reshape"), 0);
}

}  // namespace
}  // namespace kiln
