// Shared by the GPU tests: skip with a printed reason where no GPU is
// present, build a one-graph engine on the CUDA backend and run it on host
// tensors, with guard bytes around every output to catch out-of-bounds writes.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "backends/cuda/cuda_engine.h"
#include "builder/engine_builder.h"
#include "ir/graph.h"

namespace kiln::testing {

// Empty when a CUDA GPU is usable; otherwise the reason there is none.
std::string gpu_unavailable_reason();

#define KILN_REQUIRE_GPU()                                              \
  do {                                                                  \
    std::string why_ = ::kiln::testing::gpu_unavailable_reason();       \
    if (!why_.empty()) {                                                \
      std::printf("[  SKIPPED ] no GPU: %s\n", why_.c_str());           \
      GTEST_SKIP() << "no GPU: " << why_;                               \
    }                                                                   \
  } while (0)

struct GpuRun {
  std::vector<Tensor> outputs;
  BuildReport report;
  bool guards_intact = true;
};

// An engine built for the GPU from a graph, with one execution context.
struct GpuEngine {
  std::shared_ptr<CudaEngine> engine;
  std::unique_ptr<ExecutionContext> context;
  const EnginePlan& plan() const { return engine->plan(); }
};
Expected<GpuEngine> build_gpu_engine(Graph& graph, const BuildOptions& options, BuildReport* report = nullptr);

// Builds an engine from `graph` (consumed) and runs it once on `inputs`.
Expected<GpuRun> run_graph_gpu(Graph& graph, const std::map<std::string, Tensor>& inputs, const BuildOptions& options);

}  // namespace kiln::testing
