// ONNX -> engine: import with the requested input shapes, run the build pass
// pipeline (folding, fusion, precision, layout), bind every layer to a
// kernel of the target backend (timing tactics where there is a choice),
// plan activation memory and pack the weights.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/limits.h"
#include "base/status.h"
#include "builder/build_target.h"
#include "engine/engine_plan.h"
#include "ir/graph.h"

namespace kiln {

struct BuildOptions {
  bool fp16 = false;  // run eligible layers in fp16 (I/O stays as the model declares)
  std::map<std::string, std::vector<int64_t>> input_shapes;
  Limits limits;
  bool autotune = true;  // time every candidate kernel/tactic where there is a choice
  // NHWC for float16 convolution chains (cuDNN's fastest layout there).
  bool channels_last = true;
  std::function<void(const std::string&)> progress;  // one line per stage / layer batch
};

struct LayerReport {
  std::string name, op, kernel, precision, layout;
  std::vector<int64_t> tactic;
  double tuned_ms = -1;  // fastest timed candidate, -1 when nothing was timed
  int candidates = 1;
};

struct BuildReport {
  std::vector<LayerReport> layers;
  uint64_t activation_sum_bytes = 0;   // every activation added up
  uint64_t activation_peak_bytes = 0;  // most bytes live at one step
  uint64_t arena_bytes = 0;            // what the plan needs (activations + workspace)
  uint64_t activation_arena_bytes = 0;  // the activations' part of the arena
  uint64_t workspace_bytes = 0;
  uint64_t weight_bytes = 0;
  int reformat_layers = 0;
  double seconds = 0;
  std::string to_text() const;
};

Expected<EnginePlan> build_engine_from_onnx(const std::string& path, const BuildOptions& options,
                                            BuildTarget& target, BuildReport* report = nullptr);
// The graph must have static shapes; it is rewritten by the passes.
Expected<EnginePlan> build_engine_from_graph(Graph& graph, const BuildOptions& options, BuildTarget& target,
                                             BuildReport* report = nullptr);

}  // namespace kiln
