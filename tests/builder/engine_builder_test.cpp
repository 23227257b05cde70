// The builder against a scripted backend (no GPU): which kernel and tactic
// it keeps with and without timing, the workspace and arena it plans, the
// report it prints, and the error that names every layer no kernel takes.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "builder/build_target.h"
#include "builder/engine_builder.h"
#include "../unit/pass_test_net.h"

namespace kiln {
namespace {

// Offers per op: "slow.<op>" and "fast.<op>", three tactics each, timed
// from a table (fast tactic 1 wins); MatMul kernels ask for a workspace.
class ScriptedTarget : public BuildTarget {
 public:
  std::set<std::string> refuse;  // ops no kernel takes
  int timed = 0;

  std::string name() const override { return "scripted"; }
  void describe(EnginePlan& plan) const override { plan.device_name = "scripted device"; }
  std::vector<KernelOption> options(const LayerView& view, std::string* why) const override {
    if (refuse.count(view.layer.op)) {
      *why = "scripted refusal of " + view.layer.op;
      return {};
    }
    std::vector<KernelOption> out;
    for (const char* k : {"slow.", "fast."}) {
      KernelOption o;
      o.kernel = k + view.layer.op;
      o.tactics = {{0}, {1}, {2}};
      o.workspace_bytes = view.layer.op == "MatMul" ? (k[0] == 's' ? 1000 : 5000) : 0;
      out.push_back(o);
    }
    return out;
  }
  Expected<double> time_layer(const EnginePlan&, size_t, const KernelOption& option,
                              const std::vector<int64_t>& tactic) override {
    ++timed;
    const double base = option.kernel.rfind("fast.", 0) == 0 ? 1.0 : 2.0;
    return base + (tactic[0] == 1 ? 0.0 : 0.5);
  }
};

// x [8, 16] -> MatMul(w [16, 32]) -> Relu -> Exp -> output.
void chain(testing::PassNet& net) {
  Value* x = net.input("x", {8, 16});
  Value* h = net.node("MatMul", {x, net.uniform("w", {16, 32}, -1, 1)});
  net.output(net.node("Exp", {net.node("Relu", {h})}));
}

BuildOptions options(bool autotune) {
  BuildOptions o;
  o.autotune = autotune;
  o.channels_last = false;
  return o;
}

TEST(EngineBuilder, TimingKeepsTheFastestKernelAndTactic) {
  testing::PassNet net;
  chain(net);
  ScriptedTarget target;
  BuildReport report;
  auto plan = build_engine_from_graph(*net.graph, options(true), target, &report);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  ASSERT_EQ(plan->layers.size(), 3u);
  for (const PlanLayer& l : plan->layers) {
    EXPECT_EQ(l.kernel, "fast." + l.op);
    EXPECT_EQ(l.tactic, std::vector<int64_t>{1});
  }
  EXPECT_EQ(target.timed, 3 * 2 * 3);  // every layer, kernel and tactic
  for (const LayerReport& l : report.layers) {
    EXPECT_DOUBLE_EQ(l.tuned_ms, 1.0);
    EXPECT_EQ(l.candidates, 6);
  }
  EXPECT_EQ(plan->device_name, "scripted device");
}

TEST(EngineBuilder, WithoutTimingTheFirstOptionAndTactic) {
  testing::PassNet net;
  chain(net);
  ScriptedTarget target;
  auto plan = build_engine_from_graph(*net.graph, options(false), target, nullptr);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(target.timed, 0);
  for (const PlanLayer& l : plan->layers) {
    EXPECT_EQ(l.kernel, "slow." + l.op);
    EXPECT_EQ(l.tactic, std::vector<int64_t>{0});
  }
}

// The workspace is the largest any chosen kernel asks for, placed after the
// activations; the report shows both parts and their shares of the sum.
TEST(EngineBuilder, ArenaIsActivationsThenTheLargestWorkspace) {
  testing::PassNet net;
  chain(net);
  ScriptedTarget target;
  BuildReport report;
  auto plan = build_engine_from_graph(*net.graph, options(true), target, &report);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(plan->workspace_bytes, 5000u);
  EXPECT_EQ(report.workspace_bytes, 5000u);
  EXPECT_GE(plan->workspace_offset, report.activation_arena_bytes);
  EXPECT_GE(plan->arena_bytes, plan->workspace_offset + plan->workspace_bytes);
  EXPECT_EQ(report.arena_bytes, plan->arena_bytes);
  // Two [8, 32] float activations between the input and the output.
  EXPECT_EQ(report.activation_sum_bytes, 2u * 8 * 32 * 4);
  EXPECT_GE(report.activation_arena_bytes, report.activation_peak_bytes);
  const std::string text = report.to_text();
  EXPECT_NE(text.find("activations/sum"), std::string::npos) << text;
  EXPECT_NE(text.find("workspace"), std::string::npos) << text;
}

// Every layer no kernel takes is named in one error, with the reason.
TEST(EngineBuilder, UnsupportedLayersAreListedTogether) {
  testing::PassNet net;
  chain(net);
  ScriptedTarget target;
  target.refuse = {"Relu", "Exp"};
  auto plan = build_engine_from_graph(*net.graph, options(true), target, nullptr);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), ErrorCode::kUnsupported);
  const std::string& m = plan.status().message();
  EXPECT_NE(m.find("scripted refusal of Relu"), std::string::npos) << m;
  EXPECT_NE(m.find("scripted refusal of Exp"), std::string::npos) << m;
}

// A NonZero output is planned at its bound ([rank, numel]) and flagged, with
// a slot for its actual dims inside the arena, apart from every activation.
TEST(EngineBuilder, DataDependentOutputIsPlannedAtItsBound) {
  testing::PassNet net;
  Value* x = net.input("x", {5, 7});
  net.output(net.node("NonZero", {net.node("Relu", {x})}));
  ScriptedTarget target;
  auto plan = build_engine_from_graph(*net.graph, options(false), target, nullptr);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  const PlanTensor& y = plan->tensors[static_cast<size_t>(plan->outputs[0])];
  EXPECT_TRUE(y.data_dependent);
  EXPECT_EQ(y.dims, (std::vector<int64_t>{2, 35}));
  EXPECT_EQ(y.bytes, 2u * 35 * 8);
  EXPECT_GE(y.dims_offset, plan->workspace_offset + plan->workspace_bytes);
  EXPECT_LE(y.dims_offset + 2 * 8, plan->arena_bytes);
  EXPECT_EQ(y.dims_offset % 8, 0u);
  for (const PlanTensor& t : plan->tensors)
    if (&t != &y) {
      EXPECT_FALSE(t.data_dependent) << t.name;
    }
}

// A data-dependent value that feeds another layer is refused, naming it and the layer.
TEST(EngineBuilder, DataDependentValueFeedingALayerIsRefused) {
  testing::PassNet net;
  Value* x = net.input("x", {5, 7});
  net.output(net.node("Relu", {net.node("NonZero", {x})}));
  ScriptedTarget target;
  auto plan = build_engine_from_graph(*net.graph, options(false), target, nullptr);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), ErrorCode::kUnsupported);
  const std::string& m = plan.status().message();
  EXPECT_NE(m.find("data-dependent shape"), std::string::npos) << m;
  EXPECT_NE(m.find("Relu"), std::string::npos) << m;
  EXPECT_NE(m.find("only as engine outputs"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln
