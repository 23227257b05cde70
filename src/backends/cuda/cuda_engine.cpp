#include "backends/cuda/cuda_engine.h"

#include "backends/cuda/cuda_check.h"

namespace kiln {

Expected<CudaDeviceFacts> current_device_facts(int device) {
  cudaDeviceProp prop{};
  KILN_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  CudaDeviceFacts f;
  f.name = prop.name;
  f.sm_major = prop.major;
  f.sm_minor = prop.minor;
  f.cuda_runtime = cuda_runtime_version();
  f.cudnn = cudnn_runtime_version();
  f.cublas = cublas_runtime_version();
  return f;
}

namespace {

Status check_compatible(const EnginePlan& plan, const CudaDeviceFacts& f) {
  if (plan.sm_major != f.sm_major || plan.sm_minor != f.sm_minor)
    return Unsupported("engine built for sm_", plan.sm_major, plan.sm_minor, " (", plan.device_name, "); this GPU is sm_",
                       f.sm_major, f.sm_minor, " (", f.name, "): rebuild the engine on this GPU");
  if (plan.cudnn_version / 10000 != f.cudnn / 10000)
    return Unsupported("engine built with cuDNN ", plan.cudnn_version, "; this process loads cuDNN ", f.cudnn);
  if (plan.cublas_version / 10000 != f.cublas / 10000)
    return Unsupported("engine built with cuBLAS ", plan.cublas_version, "; this process loads cuBLAS ", f.cublas);
  return Status::Ok();
}

}  // namespace

Expected<std::shared_ptr<CudaEngine>> CudaEngine::create(EnginePlan plan, int device) {
  KILN_CUDA_CHECK(cudaSetDevice(device));
  KILN_ASSIGN_OR_RETURN(CudaDeviceFacts facts, current_device_facts(device));
  KILN_RETURN_IF_ERROR(check_compatible(plan, facts));
  std::shared_ptr<CudaEngine> e(new CudaEngine());
  e->device_ = device;
  e->plan_ = std::move(plan);
  if (!e->plan_.weights.empty()) {
    Status s = cuda_status(cudaMalloc(reinterpret_cast<void**>(&e->weights_), e->plan_.weights.size()), "uploading engine weights: cudaMalloc");
    if (!s.ok()) return s.with_context(str(e->plan_.weights.size(), " bytes of weights"));
    KILN_CUDA_CHECK(cudaMemcpy(e->weights_, e->plan_.weights.data(), e->plan_.weights.size(), cudaMemcpyHostToDevice));
  }
  return e;
}

CudaEngine::~CudaEngine() {
  if (weights_) cudaFree(weights_);
}

int32_t CudaEngine::find_io(const std::string& name) const {
  for (int32_t t : plan_.inputs)
    if (plan_.tensors[static_cast<size_t>(t)].name == name) return t;
  for (int32_t t : plan_.outputs)
    if (plan_.tensors[static_cast<size_t>(t)].name == name) return t;
  return -1;
}

Expected<std::unique_ptr<ExecutionContext>> CudaEngine::create_context() {
  std::unique_ptr<ExecutionContext> ctx(new ExecutionContext(shared_from_this()));
  KILN_RETURN_IF_ERROR(ctx->init());
  return ctx;
}

ExecutionContext::~ExecutionContext() {
  if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
  kernels_.clear();
  if (arena_) cudaFree(arena_);
}

uint64_t ExecutionContext::arena_bytes() const { return engine_->plan().arena_bytes; }

Status ExecutionContext::init() {
  const EnginePlan& plan = engine_->plan();
  KILN_CUDA_CHECK(cudaSetDevice(engine_->device()));
  if (plan.arena_bytes) {
    Status s = cuda_status(cudaMalloc(reinterpret_cast<void**>(&arena_), plan.arena_bytes), "allocating the activation arena: cudaMalloc");
    if (!s.ok()) return s.with_context(str(plan.arena_bytes, " bytes of activations"));
  }
  tensor_ptrs_.assign(plan.tensors.size(), nullptr);
  for (size_t t = 0; t < plan.tensors.size(); ++t) {
    const PlanTensor& pt = plan.tensors[t];
    if (pt.storage == Storage::kActivation) tensor_ptrs_[t] = arena_ + pt.offset;
    if (pt.storage == Storage::kWeight) tensor_ptrs_[t] = const_cast<uint8_t*>(engine_->device_weights()) + pt.offset;
    // Until an inference writes them, a data-dependent output's dims read as zeros.
    if (pt.data_dependent) KILN_CUDA_CHECK(cudaMemset(arena_ + pt.dims_offset, 0, 8 * pt.dims.size()));
  }
  const CudaKernelRegistry& reg = CudaKernelRegistry::global();
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const PlanLayer& l = plan.layers[i];
    const CudaKernelDef* def = reg.find(l.kernel);
    if (!def) return Unsupported("layer '", l.name, "' needs kernel '", l.kernel, "', which this Kiln does not have");
    auto k = def->create(LayerView::of(plan, i), libs_);
    if (!k.ok()) return k.status().with_context(str("layer '", l.name, "' (", l.op, ", ", l.kernel, ")"));
    kernels_.push_back(std::move(k).value());
  }
  return Status::Ok();
}

Status ExecutionContext::set_tensor_address(const std::string& name, void* device_ptr) {
  int32_t t = engine_->find_io(name);
  if (t < 0) return InvalidArgument("'", name, "' is not an input or output of the engine");
  if (tensor_ptrs_[static_cast<size_t>(t)] != device_ptr) graph_dirty_ = true;
  tensor_ptrs_[static_cast<size_t>(t)] = device_ptr;
  return Status::Ok();
}

Expected<std::vector<int64_t>> ExecutionContext::tensor_dims(const std::string& name, cudaStream_t stream) const {
  int32_t t = engine_->find_io(name);
  if (t < 0) return InvalidArgument("'", name, "' is not an input or output of the engine");
  const PlanTensor& pt = engine_->plan().tensors[static_cast<size_t>(t)];
  if (!pt.data_dependent) return pt.dims;
  std::vector<int64_t> dims(pt.dims.size());
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
  KILN_CUDA_CHECK(cudaMemcpy(dims.data(), arena_ + pt.dims_offset, 8 * dims.size(), cudaMemcpyDeviceToHost));
  for (size_t d = 0; d < dims.size(); ++d)
    if (dims[d] < 0 || dims[d] > pt.dims[d])
      return Internal("output '", name, "': the kernel reported dims ", dims_to_string(dims), " beyond its bound ",
                      dims_to_string(pt.dims));
  return dims;
}

Status ExecutionContext::check_bound() const {
  const EnginePlan& plan = engine_->plan();
  for (const auto* list : {&plan.inputs, &plan.outputs})
    for (int32_t t : *list)
      if (!tensor_ptrs_[static_cast<size_t>(t)] && plan.tensors[static_cast<size_t>(t)].bytes)
        return InvalidArgument("engine tensor '", plan.tensors[static_cast<size_t>(t)].name,
                               "' is not bound to device memory");
  return Status::Ok();
}

LaunchArgs ExecutionContext::args_for(size_t i, cudaStream_t stream) const {
  const EnginePlan& plan = engine_->plan();
  const PlanLayer& l = plan.layers[i];
  LaunchArgs a;
  for (int32_t t : l.inputs) a.inputs.push_back(t < 0 ? nullptr : tensor_ptrs_[static_cast<size_t>(t)]);
  for (int32_t t : l.outputs) {
    const PlanTensor& pt = plan.tensors[static_cast<size_t>(t)];
    a.outputs.push_back(tensor_ptrs_[static_cast<size_t>(t)]);
    a.output_dims.push_back(pt.data_dependent ? reinterpret_cast<int64_t*>(arena_ + pt.dims_offset) : nullptr);
  }
  a.workspace = plan.workspace_bytes ? arena_ + plan.workspace_offset : nullptr;
  a.workspace_bytes = plan.workspace_bytes;
  a.stream = stream;
  a.libs = const_cast<CudaLibraries*>(&libs_);
  return a;
}

Status ExecutionContext::enqueue(cudaStream_t stream) {
  KILN_RETURN_IF_ERROR(check_bound());
  const EnginePlan& plan = engine_->plan();
  for (size_t i = 0; i < kernels_.size(); ++i) {
    Status s = kernels_[i]->enqueue(args_for(i, stream));
    if (!s.ok()) return s.with_context(str("layer '", plan.layers[i].name, "' (", plan.layers[i].kernel, ")"));
  }
  return Status::Ok();
}

Status ExecutionContext::enqueue_graph(cudaStream_t stream) {
  if (graph_dirty_ || !graph_exec_) {
    KILN_RETURN_IF_ERROR(check_bound());
    if (graph_exec_) {
      cudaGraphExecDestroy(graph_exec_);
      graph_exec_ = nullptr;
    }
    // cuDNN/cuBLASLt may allocate or query on first use; one eager run keeps
    // that out of the capture.
    KILN_RETURN_IF_ERROR(enqueue(stream));
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
    KILN_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    Status s = enqueue(stream);
    cudaGraph_t graph = nullptr;
    Status end = cuda_status(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
    if (!s.ok() || !end.ok()) {
      if (graph) cudaGraphDestroy(graph);
      return s.ok() ? end : s.with_context("capturing a CUDA graph");
    }
    Status inst = cuda_status(cudaGraphInstantiate(&graph_exec_, graph, 0), "cudaGraphInstantiate");
    cudaGraphDestroy(graph);
    KILN_RETURN_IF_ERROR(inst);
    graph_dirty_ = false;
  }
  KILN_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream));
  return Status::Ok();
}

Expected<std::vector<float>> ExecutionContext::profile_layers(cudaStream_t stream) {
  KILN_RETURN_IF_ERROR(check_bound());
  std::vector<cudaEvent_t> events(kernels_.size() + 1, nullptr);
  Status s = Status::Ok();
  // Every event created so far is destroyed below, whatever fails.
  for (auto& e : events)
    if (s.ok()) s = cuda_status(cudaEventCreate(&e), "cudaEventCreate");
  if (s.ok()) s = cuda_status(cudaEventRecord(events[0], stream), "cudaEventRecord");
  for (size_t i = 0; i < kernels_.size() && s.ok(); ++i) {
    s = kernels_[i]->enqueue(args_for(i, stream));
    if (s.ok()) s = cuda_status(cudaEventRecord(events[i + 1], stream), "cudaEventRecord");
  }
  if (s.ok()) s = cuda_status(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  std::vector<float> ms(kernels_.size(), 0.f);
  for (size_t i = 0; s.ok() && i < kernels_.size(); ++i)
    s = cuda_status(cudaEventElapsedTime(&ms[i], events[i], events[i + 1]), "cudaEventElapsedTime");
  for (auto& e : events)
    if (e) cudaEventDestroy(e);
  KILN_RETURN_IF_ERROR(s);
  return ms;
}

}  // namespace kiln
