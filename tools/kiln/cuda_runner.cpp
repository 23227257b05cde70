#include "cuda_runner.h"

#ifdef KILN_HAVE_CUDA

#include <algorithm>
#include <chrono>
#include <cstring>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_libraries.h"
#include "backends/cuda/cuda_target.h"

namespace kiln::cli {
namespace {

// cuDNN 9 and cuBLAS encode versions as major*10000 + minor*100 + patch.
std::string dotted_version(int v) { return str(v / 10000, ".", (v / 100) % 100, ".", v % 100); }

Status check_io_layout(const EnginePlan& plan) {
  for (const auto* list : {&plan.inputs, &plan.outputs})
    for (int32_t t : *list) {
      const PlanTensor& pt = plan.tensors[static_cast<size_t>(t)];
      if (pt.layout != Layout::kLinear)
        return Unsupported("engine tensor '", pt.name, "' has layout ", layout_name(pt.layout),
                           "; the command line feeds row-major (linear) tensors only");
    }
  return Status::Ok();
}

}  // namespace

Expected<CudaDeviceInfo> find_cuda_device(int index) {
  std::string why;
  std::vector<CudaDeviceInfo> devices = list_cuda_devices(&why);
  if (devices.empty()) {
    // Without a driver the runtime's own words ("driver version is
    // insufficient") mislead; say what is missing.
    if (cuda_version_string().find("driver none") != std::string::npos) why = "no NVIDIA driver is loaded (" + why + ")";
    return Unsupported("no CUDA device: ", why);
  }
  for (const auto& d : devices)
    if (d.index == index) return d;
  return InvalidArgument("no CUDA device ", index, ": this machine has ", devices.size(), " (0 to ", devices.size() - 1,
                         ")");
}

std::string library_versions() {
  return str(cuda_version_string(), ", cuDNN ", dotted_version(cudnn_runtime_version()), ", cuBLASLt ",
             dotted_version(cublas_runtime_version()));
}

Status explain_gpu_error(const Status& status) {
  if (status.code() != ErrorCode::kResourceExhausted) return status;
  const std::string& m = status.message();
  bool gpu = m.find("cuda") != std::string::npos || m.find("CUDA") != std::string::npos ||
             m.find("cudnn") != std::string::npos || m.find("cublas") != std::string::npos ||
             m.find("out of memory") != std::string::npos;
  if (!gpu) return status;
  return ResourceExhausted("GPU out of memory: ", m,
                           " (free GPU memory, or use fewer streams (--infStreams) or smaller shapes (--shapes))");
}

Expected<EnginePlan> build_cuda_plan(Graph& graph, const BuildOptions& options, int device, BuildReport* report) {
  KILN_CUDA_CHECK(cudaSetDevice(device));
  CudaBuildTarget target(device);
  auto plan = build_engine_from_graph(graph, options, target, report);
  if (!plan.ok()) return explain_gpu_error(plan.status());
  plan->weights.shrink_to_fit();
  return plan;
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}

Expected<DeviceBuffer> DeviceBuffer::alloc(uint64_t bytes, const std::string& what) {
  DeviceBuffer b;
  Status s = cuda_status(cudaMalloc(&b.ptr_, bytes ? bytes : 1), "cudaMalloc");
  if (!s.ok()) return explain_gpu_error(s.with_context(str(what, " (", bytes, " bytes)")));
  b.bytes_ = bytes;
  return b;
}

PinnedBuffer::~PinnedBuffer() {
  if (ptr_) cudaFreeHost(ptr_);
}

Expected<PinnedBuffer> PinnedBuffer::alloc(uint64_t bytes, const std::string& what) {
  PinnedBuffer b;
  Status s = cuda_status(cudaMallocHost(&b.ptr_, bytes ? bytes : 1), "cudaMallocHost");
  if (!s.ok()) return s.with_context(str(what, " (", bytes, " bytes of pinned host memory)"));
  b.bytes_ = bytes;
  return b;
}

CudaEvent::~CudaEvent() {
  if (event_) cudaEventDestroy(event_);
}

Expected<CudaEvent> CudaEvent::create() {
  CudaEvent e;
  KILN_CUDA_CHECK(cudaEventCreate(&e.event_));
  return e;
}

Expected<float> elapsed_ms(const CudaEvent& start, const CudaEvent& end) {
  float ms = 0;
  KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), end.get()));
  return ms;
}

ContextRunner::~ContextRunner() {
  // The context's CUDA graph and arena go before the stream they ran on.
  if (stream_) cudaStreamSynchronize(stream_);
  context_.reset();
  if (stream_) cudaStreamDestroy(stream_);
}

Expected<std::unique_ptr<ContextRunner>> ContextRunner::create(std::shared_ptr<CudaEngine> engine) {
  KILN_CUDA_CHECK(cudaSetDevice(engine->device()));
  std::unique_ptr<ContextRunner> r(new ContextRunner(engine));
  const EnginePlan& plan = engine->plan();
  KILN_RETURN_IF_ERROR(check_io_layout(plan));
  KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&r->stream_, cudaStreamNonBlocking));
  auto context = engine->create_context();
  if (!context.ok()) return explain_gpu_error(context.status().with_context("creating an execution context"));
  r->context_ = std::move(context).value();
  auto bind = [&](int32_t t, std::vector<DeviceBuffer>& dev, std::vector<PinnedBuffer>& host) -> Status {
    const PlanTensor& pt = plan.tensors[static_cast<size_t>(t)];
    KILN_ASSIGN_OR_RETURN(DeviceBuffer d, DeviceBuffer::alloc(pt.bytes, "engine tensor '" + pt.name + "'"));
    KILN_ASSIGN_OR_RETURN(PinnedBuffer h, PinnedBuffer::alloc(pt.bytes, "engine tensor '" + pt.name + "'"));
    KILN_RETURN_IF_ERROR(r->context_->set_tensor_address(pt.name, d.get()));
    std::memset(h.get(), 0, pt.bytes);
    dev.push_back(std::move(d));
    host.push_back(std::move(h));
    return Status::Ok();
  };
  for (int32_t t : plan.inputs) KILN_RETURN_IF_ERROR(bind(t, r->device_in_, r->host_in_));
  for (int32_t t : plan.outputs) {
    // A graph input that is also an output is bound once, as the input;
    // its output copy reads the input's buffer.
    auto in = std::find(plan.inputs.begin(), plan.inputs.end(), t);
    if (in != plan.inputs.end()) {
      const PlanTensor& pt = plan.tensors[static_cast<size_t>(t)];
      KILN_ASSIGN_OR_RETURN(PinnedBuffer h, PinnedBuffer::alloc(pt.bytes, "engine tensor '" + pt.name + "'"));
      r->host_out_.push_back(std::move(h));
      r->device_out_.emplace_back();
      r->out_src_.push_back(r->device_in_[static_cast<size_t>(in - plan.inputs.begin())].get());
      continue;
    }
    KILN_RETURN_IF_ERROR(bind(t, r->device_out_, r->host_out_));
    r->out_src_.push_back(r->device_out_.back().get());
  }
  return r;
}

Status ContextRunner::set_input(size_t index, const Tensor& tensor) {
  const PlanTensor& pt = plan().tensors[static_cast<size_t>(plan().inputs.at(index))];
  if (tensor.dtype() != pt.dtype || tensor.dims() != pt.dims || tensor.nbytes() != pt.bytes)
    return InvalidArgument("input '", pt.name, "' must be ", dtype_name(pt.dtype), dims_to_string(pt.dims), ", got ",
                           dtype_name(tensor.dtype()), dims_to_string(tensor.dims()));
  if (pt.bytes) std::memcpy(host_in_[index].get(), tensor.bytes(), pt.bytes);
  return Status::Ok();
}

Status ContextRunner::copy_inputs_async() {
  for (size_t i = 0; i < device_in_.size(); ++i)
    if (device_in_[i].bytes())
      KILN_CUDA_CHECK(cudaMemcpyAsync(device_in_[i].get(), host_in_[i].get(), device_in_[i].bytes(),
                                      cudaMemcpyHostToDevice, stream_));
  return Status::Ok();
}

Status ContextRunner::copy_outputs_async() {
  for (size_t i = 0; i < out_src_.size(); ++i)
    if (host_out_[i].bytes())
      KILN_CUDA_CHECK(cudaMemcpyAsync(host_out_[i].get(), out_src_[i], host_out_[i].bytes(), cudaMemcpyDeviceToHost,
                                      stream_));
  return Status::Ok();
}

Status ContextRunner::enqueue(bool cuda_graph) {
  Status s = cuda_graph ? context_->enqueue_graph(stream_) : context_->enqueue(stream_);
  return explain_gpu_error(s);
}

Status ContextRunner::synchronize() {
  return explain_gpu_error(cuda_status(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"));
}

Expected<Tensor> ContextRunner::output(size_t index) const {
  const PlanTensor& pt = plan().tensors[static_cast<size_t>(plan().outputs.at(index))];
  // A data-dependent output fills the front of its buffer (planned at its bound).
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, context_->tensor_dims(pt.name, stream_));
  KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::alloc(pt.dtype, dims));
  if (t.nbytes() > pt.bytes) return Internal("engine output '", pt.name, "' has ", pt.bytes, " bytes, expected ", t.nbytes());
  if (t.nbytes()) std::memcpy(t.mutable_bytes(), host_out_[index].get(), t.nbytes());
  return t;
}

Expected<std::shared_ptr<CudaEngine>> create_engine(EnginePlan plan, int device) {
  auto engine = CudaEngine::create(std::move(plan), device);
  if (!engine.ok()) return explain_gpu_error(engine.status());
  return engine;
}

Expected<std::vector<Tensor>> run_engine_once(const std::shared_ptr<CudaEngine>& engine,
                                              const std::map<std::string, Tensor>& inputs, double* run_ms) {
  KILN_ASSIGN_OR_RETURN(auto runner, ContextRunner::create(engine));
  const EnginePlan& plan = engine->plan();
  for (size_t i = 0; i < plan.inputs.size(); ++i) {
    const std::string& name = plan.tensors[static_cast<size_t>(plan.inputs[i])].name;
    auto it = inputs.find(name);
    if (it == inputs.end()) return InvalidArgument("no data for engine input '", name, "'");
    KILN_RETURN_IF_ERROR(runner->set_input(i, it->second));
  }
  auto start = std::chrono::steady_clock::now();
  KILN_RETURN_IF_ERROR(runner->copy_inputs_async());
  KILN_RETURN_IF_ERROR(runner->enqueue(/*cuda_graph=*/false));
  KILN_RETURN_IF_ERROR(runner->copy_outputs_async());
  KILN_RETURN_IF_ERROR(runner->synchronize());
  if (run_ms) *run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::vector<Tensor> outputs;
  for (size_t i = 0; i < plan.outputs.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(Tensor t, runner->output(i));
    outputs.push_back(std::move(t));
  }
  return outputs;
}

}  // namespace kiln::cli

#endif  // KILN_HAVE_CUDA
