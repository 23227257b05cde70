// Where `kiln run` executes a model: the CPU reference, or a CUDA engine
// built in memory from the imported graph (or loaded from an engine file).
// The command stays the same whichever device runs it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine_plan.h"
#include "ir/graph.h"
#include "ir/tensor.h"

namespace kiln::cli {

enum class ExecutionDevice { kCpu, kCuda };

// Accepted --device values, for the option's validator and help.
inline const std::vector<std::string> kDeviceNames = {"cpu", "cuda"};
Expected<ExecutionDevice> parse_execution_device(const std::string& name);
const char* execution_device_label(ExecutionDevice device);  // "CPU reference"

// Whether `device` can run anything here; checked before the model is
// loaded so an unavailable device (no CUDA in this build, no GPU) fails fast.
Status check_device_available(ExecutionDevice device);

struct ExecuteOptions {
  bool fp16 = false;      // CUDA: let eligible layers run in fp16
  bool autotune = true;   // CUDA: time tactics while building
};

struct ExecuteTimes {
  double build_ms = 0;  // CUDA: building the engine and uploading it
  double run_ms = 0;    // the inference (CUDA: with the host<->device copies)
};

// Runs the graph once on `device`; outputs in graph output order. The CUDA
// device builds an engine from the graph first, which rewrites the graph.
Expected<std::vector<Tensor>> execute_graph(ExecutionDevice device, Graph& graph,
                                            const std::map<std::string, Tensor>& inputs,
                                            const ExecuteOptions& options, ExecuteTimes& times);

// Runs a built engine once on the GPU; outputs in the plan's output order.
// Inputs by name, each of the engine input's exact type and dims.
Expected<std::vector<Tensor>> execute_plan(EnginePlan plan, const std::map<std::string, Tensor>& inputs,
                                           ExecuteTimes& times);

}  // namespace kiln::cli
