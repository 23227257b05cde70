#include "backends/cuda/cuda_target.h"

#include <algorithm>
#include <random>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_engine.h"

namespace kiln {

void CudaBuildTarget::describe(EnginePlan& plan) const {
  auto facts = current_device_facts(device_);
  if (!facts.ok()) return;
  plan.device_name = facts->name;
  plan.sm_major = facts->sm_major;
  plan.sm_minor = facts->sm_minor;
  plan.cuda_runtime_version = facts->cuda_runtime;
  plan.cudnn_version = facts->cudnn;
  plan.cublas_version = facts->cublas;
}

std::vector<KernelOption> CudaBuildTarget::options(const LayerView& view, std::string* why) const {
  std::vector<KernelOption> out;
  std::string reasons;
  const auto defs = CudaKernelRegistry::global().for_op(view.layer.op);
  for (const CudaKernelDef* def : defs) {
    std::string reason;
    if (def->supports && !def->supports(view, &reason)) {
      reasons += str(reasons.empty() ? "" : "; ", def->id, ": ", reason);
      continue;
    }
    KernelOption o;
    o.kernel = def->id;
    o.tactics = def->tactics ? def->tactics(view) : std::vector<std::vector<int64_t>>{{}};
    if (o.tactics.empty()) o.tactics.push_back({});
    o.workspace_bytes = def->workspace ? def->workspace(view) : 0;
    o.in_place = def->in_place;
    o.layouts = def->layouts;
    out.push_back(std::move(o));
  }
  if (why) *why = defs.empty() ? "no CUDA kernel implements this op" : reasons;
  return out;
}

namespace {

// Device memory freed when the timing run ends.
struct Scratch {
  std::vector<void*> blocks;
  ~Scratch() {
    for (void* p : blocks) cudaFree(p);
  }
  Expected<void*> alloc(uint64_t bytes) {
    void* p = nullptr;
    KILN_CUDA_CHECK(cudaMalloc(&p, std::max<uint64_t>(bytes, 1)));
    blocks.push_back(p);
    return p;
  }
};

// Fills `bytes` of device memory with small random bytes (non-zero data
// without NaN-heavy bit patterns): one 1 MiB random block uploaded, then
// doubled on the device. Generating every byte on the host made the timing
// of large activations (hundreds of MB at batch 256) dominate the build.
Status fill_random(void* dst, uint64_t bytes) {
  if (bytes == 0) return Status::Ok();
  static const std::vector<uint8_t> pattern = [] {
    std::mt19937 rng(1234);
    std::vector<uint8_t> p(uint64_t{1} << 20);
    for (auto& b : p) b = static_cast<uint8_t>(rng() % 64);
    return p;
  }();
  auto* d = static_cast<uint8_t*>(dst);
  uint64_t filled = std::min<uint64_t>(bytes, pattern.size());
  KILN_CUDA_CHECK(cudaMemcpy(d, pattern.data(), filled, cudaMemcpyHostToDevice));
  while (filled < bytes) {
    const uint64_t n = std::min(filled, bytes - filled);
    KILN_CUDA_CHECK(cudaMemcpy(d + filled, d, n, cudaMemcpyDeviceToDevice));
    filled += n;
  }
  return Status::Ok();
}

// `launches` enqueues of `kernel` captured into an executable graph on
// args.stream, or nullptr (the error cleared) where the kernel cannot be captured.
cudaGraphExec_t capture_launches(CudaKernel& kernel, const LaunchArgs& args, int launches) {
  if (cudaStreamBeginCapture(args.stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  bool ok = true;
  for (int i = 0; i < launches && ok; ++i) ok = kernel.enqueue(args).ok();
  cudaGraph_t graph = nullptr;
  ok = cudaStreamEndCapture(args.stream, &graph) == cudaSuccess && ok;
  cudaGraphExec_t exec = nullptr;
  if (ok && cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess) exec = nullptr;
  if (graph) cudaGraphDestroy(graph);
  cudaGetLastError();
  return exec;
}

}  // namespace

Expected<double> CudaBuildTarget::time_layer(const EnginePlan& plan, size_t index, const KernelOption& option,
                                             const std::vector<int64_t>& tactic) {
  KILN_CUDA_CHECK(cudaSetDevice(device_));
  // A copy of the layer bound to the candidate, over the plan's own tensors.
  PlanLayer layer = plan.layers[index];
  layer.kernel = option.kernel;
  layer.tactic = tactic;
  layer.workspace_bytes = option.workspace_bytes;
  LayerView base = LayerView::of(plan, index);
  LayerView view{layer, base.inputs, base.outputs, base.host_weight};
  const CudaKernelDef* def = CudaKernelRegistry::global().find(option.kernel);
  if (!def) return Internal("unknown kernel ", option.kernel);
  KILN_ASSIGN_OR_RETURN(auto kernel, def->create(view, libs_));

  Scratch scratch;
  LaunchArgs args;
  for (int32_t t : layer.inputs) {
    if (t < 0) {
      args.inputs.push_back(nullptr);
      continue;
    }
    const PlanTensor& pt = plan.tensors[static_cast<size_t>(t)];
    KILN_ASSIGN_OR_RETURN(void* p, scratch.alloc(pt.bytes));
    if (pt.storage == Storage::kWeight) {
      KILN_CUDA_CHECK(cudaMemcpy(p, plan.weights.data() + pt.offset, pt.bytes, cudaMemcpyHostToDevice));
    } else {
      KILN_RETURN_IF_ERROR(fill_random(p, pt.bytes));
    }
    args.inputs.push_back(p);
  }
  for (int32_t t : layer.outputs) {
    KILN_ASSIGN_OR_RETURN(void* p, scratch.alloc(plan.tensors[static_cast<size_t>(t)].bytes));
    args.outputs.push_back(p);
  }
  if (option.workspace_bytes) {
    KILN_ASSIGN_OR_RETURN(args.workspace, scratch.alloc(option.workspace_bytes));
    args.workspace_bytes = option.workspace_bytes;
  }
  cudaStream_t stream;
  KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  args.stream = stream;
  args.libs = &libs_;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  Status s = Status::Ok();
  for (int i = 0; i < 3 && s.ok(); ++i) s = kernel->enqueue(args);  // warm-up
  if (s.ok()) s = cuda_status(cudaStreamSynchronize(stream), "timing a tactic");
  // Times what an engine runs: the launches replayed from a CUDA graph, so a
  // kernel's host-side work does not pass for GPU time. (Timed from the host,
  // cuDNN's legacy convolution calls measured 0.1 ms where their kernels take
  // 0.03 ms, and lost to slower tactics.) Direct launches where capture fails.
  constexpr int kLaunches = 4;
  cudaGraphExec_t replay = s.ok() ? capture_launches(*kernel, args, kLaunches) : nullptr;
  std::vector<float> times;
  for (int rep = 0; rep < 5 && s.ok(); ++rep) {
    cudaEventRecord(start, stream);
    if (replay) {
      s = cuda_status(cudaGraphLaunch(replay, stream), "cudaGraphLaunch");
    } else {
      for (int i = 0; i < kLaunches && s.ok(); ++i) s = kernel->enqueue(args);
    }
    cudaEventRecord(stop, stream);
    if (s.ok()) s = cuda_status(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    if (s.ok()) cudaEventElapsedTime(&ms, start, stop);
    times.push_back(ms / kLaunches);
  }
  Status sync = cuda_status(cudaStreamSynchronize(stream), "timing a tactic");
  if (replay) cudaGraphExecDestroy(replay);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaStreamDestroy(stream);
  KILN_RETURN_IF_ERROR(s);
  KILN_RETURN_IF_ERROR(sync);
  std::sort(times.begin(), times.end());
  return static_cast<double>(times[times.size() / 2]);
}

}  // namespace kiln
