#include "execution_device.h"

#include <chrono>

#include "backends/cpu/interpreter.h"

#ifdef KILN_HAVE_CUDA
#include "cuda_runner.h"
#endif

namespace kiln::cli {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

#ifdef KILN_HAVE_CUDA
// Engine outputs in the order of `names` (the graph's outputs before the
// build); by position where a pass renamed one.
std::vector<Tensor> in_name_order(const EnginePlan& plan, std::vector<Tensor> outputs,
                                  const std::vector<std::string>& names) {
  if (names.size() != outputs.size()) return outputs;
  std::vector<Tensor> ordered(outputs.size());
  for (size_t i = 0; i < names.size(); ++i) {
    size_t from = i;
    for (size_t k = 0; k < plan.outputs.size(); ++k)
      if (plan.tensors[static_cast<size_t>(plan.outputs[k])].name == names[i]) from = k;
    ordered[i] = outputs[from];
  }
  return ordered;
}
#endif

}  // namespace

Expected<ExecutionDevice> parse_execution_device(const std::string& name) {
  if (name == "cpu") return ExecutionDevice::kCpu;
  if (name == "cuda") return ExecutionDevice::kCuda;
  return InvalidArgument("unknown device '", name, "' (cpu or cuda)");
}

const char* execution_device_label(ExecutionDevice device) {
  return device == ExecutionDevice::kCuda ? "CUDA engine" : "CPU reference";
}

Status check_device_available(ExecutionDevice device) {
  if (device == ExecutionDevice::kCpu) return Status::Ok();
#ifdef KILN_HAVE_CUDA
  auto found = find_cuda_device(0);
  if (!found.ok()) return found.status().with_context("the CUDA engine needs a GPU");
  return Status::Ok();
#else
  return Unsupported("the CUDA engine: this kiln was built without the CUDA backend (configure with -DKILN_CUDA=ON); "
                     "--device cpu runs the CPU reference");
#endif
}

Expected<std::vector<Tensor>> execute_graph(ExecutionDevice device, Graph& graph,
                                            const std::map<std::string, Tensor>& inputs,
                                            const ExecuteOptions& options, ExecuteTimes& times) {
  if (device == ExecutionDevice::kCpu) {
    auto start = std::chrono::steady_clock::now();
    auto outputs = run_graph_cpu(graph, inputs);
    times.run_ms = ms_since(start);
    return outputs;
  }
#ifdef KILN_HAVE_CUDA
  std::vector<std::string> names;
  for (const Value* v : graph.outputs) names.push_back(v->name);
  auto start = std::chrono::steady_clock::now();
  BuildOptions build;
  build.fp16 = options.fp16;
  build.autotune = options.autotune;
  KILN_ASSIGN_OR_RETURN(EnginePlan plan, build_cuda_plan(graph, build, 0, nullptr));
  KILN_ASSIGN_OR_RETURN(auto engine, create_engine(std::move(plan), 0));
  times.build_ms = ms_since(start);
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, run_engine_once(engine, inputs, &times.run_ms));
  return in_name_order(engine->plan(), std::move(outputs), names);
#else
  (void)options;
  return check_device_available(device);
#endif
}

Expected<std::vector<Tensor>> execute_plan(EnginePlan plan, const std::map<std::string, Tensor>& inputs,
                                           ExecuteTimes& times) {
#ifdef KILN_HAVE_CUDA
  auto start = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(auto engine, create_engine(std::move(plan), 0));
  times.build_ms = ms_since(start);
  return run_engine_once(engine, inputs, &times.run_ms);
#else
  (void)plan;
  (void)inputs;
  (void)times;
  return check_device_available(ExecutionDevice::kCuda);
#endif
}

}  // namespace kiln::cli
