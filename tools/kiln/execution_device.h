// Where `kiln run` executes a model. Today only the CPU reference; the CUDA
// engine plugs in here (build, then run) without the command changing.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "ir/graph.h"
#include "ir/tensor.h"

namespace kiln::cli {

enum class ExecutionDevice { kCpu, kCuda };

// Accepted --device values, for the option's validator and help.
inline const std::vector<std::string> kDeviceNames = {"cpu", "cuda"};
Expected<ExecutionDevice> parse_execution_device(const std::string& name);
const char* execution_device_label(ExecutionDevice device);  // "CPU reference"

// Whether `device` can run anything here; checked before the model is
// loaded so an unavailable device fails fast.
Status check_device_available(ExecutionDevice device);

// Runs the graph once on `device`; outputs in graph output order.
Expected<std::vector<Tensor>> execute_graph(ExecutionDevice device, const Graph& graph,
                                            const std::map<std::string, Tensor>& inputs);

}  // namespace kiln::cli
