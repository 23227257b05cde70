#include "execution_device.h"

#include "backends/cpu/interpreter.h"

namespace kiln::cli {

Expected<ExecutionDevice> parse_execution_device(const std::string& name) {
  if (name == "cpu") return ExecutionDevice::kCpu;
  if (name == "cuda") return ExecutionDevice::kCuda;
  return InvalidArgument("unknown device '", name, "' (cpu or cuda)");
}

const char* execution_device_label(ExecutionDevice device) {
  return device == ExecutionDevice::kCuda ? "CUDA engine" : "CPU reference";
}

Status check_device_available(ExecutionDevice device) {
  if (device == ExecutionDevice::kCuda)
    return Unsupported("--device cuda: the CUDA engine is not built yet; use --device cpu (the CPU reference)");
  return Status::Ok();
}

Expected<std::vector<Tensor>> execute_graph(ExecutionDevice device, const Graph& graph,
                                            const std::map<std::string, Tensor>& inputs) {
  switch (device) {
    case ExecutionDevice::kCpu: return run_graph_cpu(graph, inputs);
    case ExecutionDevice::kCuda: return check_device_available(device);
  }
  return Internal("unknown execution device");
}

}  // namespace kiln::cli
