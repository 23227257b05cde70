#include "gpu_test_util.h"

#include <cuda_runtime_api.h>

#include <cstring>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/cuda_target.h"

namespace kiln::testing {

std::string gpu_unavailable_reason() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return cudaGetErrorString(err);
  }
  return n > 0 ? "" : "no CUDA device";
}

namespace {
constexpr size_t kGuard = 256;
constexpr uint8_t kGuardByte = 0xA5;
}  // namespace

Expected<GpuEngine> build_gpu_engine(Graph& graph, const BuildOptions& options, BuildReport* report) {
  CudaBuildTarget target;
  KILN_ASSIGN_OR_RETURN(EnginePlan plan, build_engine_from_graph(graph, options, target, report));
  GpuEngine e;
  KILN_ASSIGN_OR_RETURN(e.engine, CudaEngine::create(std::move(plan)));
  KILN_ASSIGN_OR_RETURN(e.context, e.engine->create_context());
  return e;
}

Expected<GpuRun> run_graph_gpu(Graph& graph, const std::map<std::string, Tensor>& inputs, const BuildOptions& options) {
  GpuRun run;
  KILN_ASSIGN_OR_RETURN(GpuEngine built, build_gpu_engine(graph, options, &run.report));
  auto& ctx = built.context;
  const EnginePlan& p = built.plan();
  std::vector<void*> buffers;
  auto free_all = [&] {
    for (void* b : buffers) cudaFree(b);
  };
  Status s = Status::Ok();
  for (int32_t t : p.inputs) {
    const PlanTensor& pt = p.tensors[static_cast<size_t>(t)];
    auto it = inputs.find(pt.name);
    if (it == inputs.end()) {
      s = InvalidArgument("no input '", pt.name, "'");
      break;
    }
    void* d = nullptr;
    s = cuda_status(cudaMalloc(&d, pt.bytes + 1), "cudaMalloc");
    if (!s.ok()) break;
    buffers.push_back(d);
    s = cuda_status(cudaMemcpy(d, it->second.bytes(), pt.bytes, cudaMemcpyHostToDevice), "upload");
    if (s.ok()) s = ctx->set_tensor_address(pt.name, d);
    if (!s.ok()) break;
  }
  std::vector<uint8_t*> outs;
  for (size_t i = 0; s.ok() && i < p.outputs.size(); ++i) {
    const PlanTensor& pt = p.tensors[static_cast<size_t>(p.outputs[i])];
    void* d = nullptr;
    s = cuda_status(cudaMalloc(&d, pt.bytes + 2 * kGuard), "cudaMalloc");
    if (!s.ok()) break;
    buffers.push_back(d);
    s = cuda_status(cudaMemset(d, kGuardByte, pt.bytes + 2 * kGuard), "cudaMemset");
    outs.push_back(static_cast<uint8_t*>(d));
    if (s.ok()) s = ctx->set_tensor_address(pt.name, static_cast<uint8_t*>(d) + kGuard);
  }
  if (s.ok()) s = ctx->enqueue(nullptr);
  if (s.ok()) s = cuda_status(cudaDeviceSynchronize(), "running the engine");
  for (size_t i = 0; s.ok() && i < p.outputs.size(); ++i) {
    const PlanTensor& pt = p.tensors[static_cast<size_t>(p.outputs[i])];
    std::vector<uint8_t> host(pt.bytes + 2 * kGuard);
    s = cuda_status(cudaMemcpy(host.data(), outs[i], host.size(), cudaMemcpyDeviceToHost), "download");
    if (!s.ok()) break;
    for (size_t k = 0; k < kGuard; ++k)
      if (host[k] != kGuardByte || host[kGuard + pt.bytes + k] != kGuardByte) run.guards_intact = false;
    // A data-dependent output fills the front of its bound-sized buffer.
    auto dims = ctx->tensor_dims(pt.name, nullptr);
    auto t = dims.ok() ? Tensor::alloc(pt.dtype, *dims) : Expected<Tensor>(dims.status());
    if (!t.ok()) {
      s = t.status();
      break;
    }
    if (t->nbytes()) std::memcpy(t->mutable_bytes(), host.data() + kGuard, t->nbytes());
    run.outputs.push_back(std::move(t).value());
  }
  free_all();
  KILN_RETURN_IF_ERROR(s);
  return run;
}

}  // namespace kiln::testing
