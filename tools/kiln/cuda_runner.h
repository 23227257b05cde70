// The GPU side of the commands: device checks and facts, building and
// loading engines, and one execution context with its stream, its inputs
// and outputs in device memory and pinned host mirrors for the copies.
// Compiled only where the CUDA backend is (KILN_HAVE_CUDA).
#pragma once

#ifdef KILN_HAVE_CUDA

#include <cuda_runtime_api.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/device.h"
#include "base/status.h"
#include "builder/engine_builder.h"
#include "engine/engine_plan.h"
#include "ir/graph.h"
#include "ir/tensor.h"

namespace kiln::cli {

// The device, or why it cannot be used ("no CUDA device: no NVIDIA driver
// is loaded ..."), before anything is built or allocated.
Expected<CudaDeviceInfo> find_cuda_device(int index);
// "CUDA runtime 13.0, driver 13.0, cuDNN 9.14.0, cuBLASLt 13.1.0": the
// libraries loaded at run time, which may differ from the build's headers.
std::string library_versions();

// Out-of-memory from CUDA, cuDNN or cuBLAS reworded so the user knows what to
// change; other errors unchanged.
Status explain_gpu_error(const Status& status);

// Builds a plan for GPU `device` from an imported graph (rewritten in place).
Expected<EnginePlan> build_cuda_plan(Graph& graph, const BuildOptions& options, int device, BuildReport* report);

// Device memory, freed on destruction.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(other.ptr_), bytes_(other.bytes_) { other.ptr_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  static Expected<DeviceBuffer> alloc(uint64_t bytes, const std::string& what);
  void* get() const { return ptr_; }
  uint64_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  uint64_t bytes_ = 0;
};

// Page-locked host memory, so cudaMemcpyAsync is truly asynchronous.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& other) noexcept : ptr_(other.ptr_), bytes_(other.bytes_) { other.ptr_ = nullptr; }
  PinnedBuffer& operator=(PinnedBuffer&&) = delete;
  static Expected<PinnedBuffer> alloc(uint64_t bytes, const std::string& what);
  uint8_t* get() const { return static_cast<uint8_t*>(ptr_); }
  uint64_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  uint64_t bytes_ = 0;
};

class CudaEvent {
 public:
  CudaEvent() = default;
  ~CudaEvent();
  CudaEvent(CudaEvent&& other) noexcept : event_(other.event_) { other.event_ = nullptr; }
  CudaEvent& operator=(CudaEvent&&) = delete;
  static Expected<CudaEvent> create();
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

// Milliseconds between two completed events.
Expected<float> elapsed_ms(const CudaEvent& start, const CudaEvent& end);

// One execution context on its own stream, with every engine input and
// output bound to device memory and mirrored in pinned host memory.
class ContextRunner {
 public:
  ~ContextRunner();
  ContextRunner(const ContextRunner&) = delete;
  ContextRunner& operator=(const ContextRunner&) = delete;
  static Expected<std::unique_ptr<ContextRunner>> create(std::shared_ptr<CudaEngine> engine);

  const EnginePlan& plan() const { return engine_->plan(); }
  cudaStream_t stream() const { return stream_; }
  ExecutionContext& context() { return *context_; }

  // Copies `tensor` (of the input's exact type and dims) into the pinned
  // mirror of engine input `index`.
  Status set_input(size_t index, const Tensor& tensor);
  // Asynchronous copies between the pinned mirrors and device memory.
  Status copy_inputs_async();
  Status copy_outputs_async();
  // One inference, replayed as a CUDA graph or enqueued layer by layer.
  Status enqueue(bool cuda_graph);
  Status synchronize();
  // Engine output `index` from its pinned mirror (after copy_outputs_async
  // and synchronize).
  Expected<Tensor> output(size_t index) const;

 private:
  explicit ContextRunner(std::shared_ptr<CudaEngine> engine) : engine_(std::move(engine)) {}
  std::shared_ptr<CudaEngine> engine_;
  std::unique_ptr<ExecutionContext> context_;
  cudaStream_t stream_ = nullptr;
  std::vector<DeviceBuffer> device_in_, device_out_;
  std::vector<PinnedBuffer> host_in_, host_out_;
  std::vector<void*> out_src_;  // device memory each output is copied from
};

// Uploads the plan to GPU `device` (a clear error for another GPU or
// out-of-memory).
Expected<std::shared_ptr<CudaEngine>> create_engine(EnginePlan plan, int device);

// Runs the engine once: inputs by name (each of the engine's exact type and
// dims), outputs in the engine's output order. `run_ms` gets the time of the
// copies and the inference.
Expected<std::vector<Tensor>> run_engine_once(const std::shared_ptr<CudaEngine>& engine,
                                              const std::map<std::string, Tensor>& inputs, double* run_ms);

}  // namespace kiln::cli

#endif  // KILN_HAVE_CUDA
