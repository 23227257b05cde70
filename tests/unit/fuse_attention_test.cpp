// fuse_attention: after fold_matmul_operands and fuse_softmax, attention's
// FusedMatMul(transB) -> FusedSoftmax -> MatMul becomes one
// kiln.FusedAttention with the unfused graph's CPU outputs (up to one float
// rounding of the scale); what must not fuse stays as it was.
#include <gtest/gtest.h>

#include "passes/pipeline.h"
#include "pass_test_net.h"

namespace kiln {
namespace {

using Net = testing::PassNet;
using Recipe = std::function<void(Net&)>;

// Dynamo's attention: scaled q, K^T through Reshape/Transpose/Reshape, mask
// Add, Softmax, NaN guard, P x V. `extra` also outputs P.
Recipe dynamo_attention(std::vector<int64_t> qkv, int64_t keys, bool extra = false) {
  return [=](Net& n) {
    const int64_t b = qkv[0], h = qkv[1], s = qkv[2], d = qkv[3];
    Value* q = n.input("q", {b, h, s, d});
    Value* k = n.input("k", {b, h, keys, d});
    Value* v = n.input("v", {b, h, keys, d});
    Value* mask = n.input("mask", {b, 1, 1, keys}, -3, 0);
    Value* kt = n.node("Reshape", {k, n.ints("s1", {-1, keys, d})});
    kt = n.node("Transpose", {kt}, {{"perm", Attr::of_ints({0, 2, 1})}});
    kt = n.node("Reshape", {kt, n.ints("s2", {b, h, d, keys})});
    Value* scores = n.node("MatMul", {n.node("Mul", {q, n.filled("c1", {}, 0.5f)}), n.node("Mul", {kt, n.filled("c2", {}, 0.5f)})});
    Value* p = n.node("Softmax", {n.node("Add", {scores, mask})}, {{"axis", Attr::of_int(-1)}});
    p = n.node("Where", {n.node("IsNaN", {p}), n.filled("zero", {}, 0.f), p});
    n.output(n.node("MatMul", {p, v}));
    if (extra) n.output(p);
  };
}

Status attention_passes(Graph& g) {
  KILN_RETURN_IF_ERROR(fold_matmul_operands(g));
  KILN_RETURN_IF_ERROR(fuse_softmax(g));
  return fuse_attention(g, /*fp16=*/true);
}

TEST(FuseAttention, DynamoAttentionBecomesOneLayer) {
  Net net;
  testing::expect_pass_keeps_outputs<Net>(dynamo_attention({2, 3, 7, 16}, 9), net, attention_passes, 1e-5);
  ASSERT_EQ(net.graph->num_nodes(), 1u);
  const Node* a = net.find("FusedAttention");
  ASSERT_NE(a, nullptr);
  EXPECT_FLOAT_EQ(a->attr_float("alpha", 1.f).value(), 0.25f);
  EXPECT_EQ(a->attr_int("nan_to_zero", 0).value(), 1);
  ASSERT_EQ(a->inputs.size(), 4u);
  EXPECT_EQ(a->inputs[0]->name, "q");
  EXPECT_EQ(a->inputs[1]->name, "k");
  EXPECT_EQ(a->inputs[2]->name, "v");
  EXPECT_EQ(a->inputs[3]->name, "mask");
}

TEST(FuseAttention, LeavesWhatItCannotTake) {
  // The probabilities are also an output: they must be written, so no fusion.
  Net shared;
  testing::expect_pass_keeps_outputs<Net>(dynamo_attention({1, 2, 5, 8}, 6, true), shared, attention_passes, 1e-5);
  EXPECT_EQ(shared.count("FusedAttention"), 0);
  EXPECT_EQ(shared.count("FusedSoftmax"), 1);
  // More keys than the row kernel holds.
  Net long_keys;
  testing::expect_pass_keeps_outputs<Net>(dynamo_attention({1, 1, 2, 8}, 4100), long_keys, attention_passes, 1e-5);
  EXPECT_EQ(long_keys.count("FusedAttention"), 0);
}

// BERT's layout: Q, K, V are [b, s, h, d] projections transposed to
// [b, h, s, d], and Y goes back to [b, s, h, d]. All four transposes go.
TEST(FuseAttention, TakesTheProjectionsLayout) {
  Net net;
  auto recipe = [](Net& n) {
    const int64_t b = 2, s = 6, h = 3, d = 8;
    const Attr perm = Attr::of_ints({0, 2, 1, 3});
    Value* q = n.node("Transpose", {n.input("q", {b, s, h, d})}, {{"perm", perm}});
    Value* k = n.node("Transpose", {n.input("k", {b, s, h, d})}, {{"perm", perm}});
    Value* v = n.node("Transpose", {n.input("v", {b, s, h, d})}, {{"perm", perm}});
    Value* kt = n.node("Transpose", {k}, {{"perm", Attr::of_ints({0, 1, 3, 2})}});
    Value* scores = n.node("MatMul", {n.node("Mul", {q, n.filled("c1", {}, 0.5f)}), n.node("Mul", {kt, n.filled("c2", {}, 0.5f)})});
    Value* p = n.node("Softmax", {n.node("Add", {scores, n.input("mask", {b, 1, 1, s}, -3, 0)})},
                      {{"axis", Attr::of_int(-1)}});
    n.output(n.node("Transpose", {n.node("MatMul", {p, v})}, {{"perm", perm}}));
  };
  testing::expect_pass_keeps_outputs<Net>(recipe, net, attention_passes, 1e-5);
  ASSERT_EQ(net.graph->num_nodes(), 1u) << "the four head transposes stay";
  const Node* a = net.find("FusedAttention");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->attr_ints("transposed_heads", {}).value(), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(a->inputs[0]->name, "q");
}

// In float32 the unfused GEMMs are faster: nothing fuses without --fp16.
TEST(FuseAttention, LeavesFloat32Alone) {
  Net net;
  testing::expect_pass_keeps_outputs<Net>(
      dynamo_attention({1, 2, 5, 8}, 6), net,
      [](Graph& g) {
        KILN_RETURN_IF_ERROR(fold_matmul_operands(g));
        KILN_RETURN_IF_ERROR(fuse_softmax(g));
        return fuse_attention(g, /*fp16=*/false);
      },
      1e-5);
  EXPECT_EQ(net.count("FusedAttention"), 0);
}

// In the whole pipeline, fp16 included, the attention is one layer.
TEST(FuseAttention, SurvivesTheFp16Pipeline) {
  Net net;
  dynamo_attention({2, 2, 5, 16}, 5)(net);
  PassOptions o;
  o.fp16 = true;
  ASSERT_TRUE(run_build_passes(*net.graph, o).ok());
  const Node* a = net.find("FusedAttention");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->inputs[0]->dtype, DType::kFloat16);
  EXPECT_EQ(net.count("FusedMatMul") + net.count("FusedSoftmax") + net.count("MatMul"), 0);
}

}  // namespace
}  // namespace kiln
