// A built engine on one GPU: weights uploaded once and shared by every
// execution context. Each context owns its activation arena, its library
// handles and its kernels, binds inputs and outputs by name to caller device
// pointers and enqueues asynchronously on a caller stream; a whole inference
// can be captured into a CUDA graph and replayed.
#pragma once

#include <cuda_runtime_api.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/cuda_libraries.h"
#include "backends/cuda/kernel.h"
#include "base/status.h"
#include "engine/engine_plan.h"

namespace kiln {

class ExecutionContext;

class CudaEngine : public std::enable_shared_from_this<CudaEngine> {
 public:
  // Checks the plan against this GPU and uploads the weights.
  static Expected<std::shared_ptr<CudaEngine>> create(EnginePlan plan, int device = 0);
  ~CudaEngine();
  CudaEngine(const CudaEngine&) = delete;
  CudaEngine& operator=(const CudaEngine&) = delete;

  const EnginePlan& plan() const { return plan_; }
  int device() const { return device_; }
  const uint8_t* device_weights() const { return weights_; }
  Expected<std::unique_ptr<ExecutionContext>> create_context();
  // Index of the engine input/output called `name`, or -1.
  int32_t find_io(const std::string& name) const;

 private:
  CudaEngine() = default;
  EnginePlan plan_;
  int device_ = 0;
  uint8_t* weights_ = nullptr;
};

class ExecutionContext {
 public:
  ~ExecutionContext();
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  // Binds an engine input or output to device memory of its exact size.
  Status set_tensor_address(const std::string& name, void* device_ptr);
  // Runs every layer on `stream`, asynchronously.
  Status enqueue(cudaStream_t stream);
  // Like enqueue, but through a CUDA graph captured on first use (and again
  // after bindings change).
  Status enqueue_graph(cudaStream_t stream);
  // Runs once with events around every layer and returns each layer's
  // milliseconds (synchronises the stream).
  Expected<std::vector<float>> profile_layers(cudaStream_t stream);
  uint64_t arena_bytes() const;
  // The dims of engine input or output `name`. For a data-dependent output
  // (NonZero, NonMaxSuppression) these are the dims the last inference on
  // `stream` produced: waits for the stream, then reads them from the GPU.
  // The output's bytes are the first numel(dims) elements of its buffer,
  // which is bound at the planned upper bound.
  Expected<std::vector<int64_t>> tensor_dims(const std::string& name, cudaStream_t stream) const;

 private:
  friend class CudaEngine;
  explicit ExecutionContext(std::shared_ptr<const CudaEngine> engine) : engine_(std::move(engine)) {}
  Status init();
  Status check_bound() const;
  LaunchArgs args_for(size_t layer, cudaStream_t stream) const;

  std::shared_ptr<const CudaEngine> engine_;
  CudaLibraries libs_;
  uint8_t* arena_ = nullptr;
  std::vector<void*> tensor_ptrs_;  // per plan tensor
  std::vector<std::unique_ptr<CudaKernel>> kernels_;
  cudaGraphExec_t graph_exec_ = nullptr;
  bool graph_dirty_ = true;
};

// Facts about the current GPU and libraries, for engine compatibility checks.
struct CudaDeviceFacts {
  std::string name;
  int sm_major = 0, sm_minor = 0;
  int cuda_runtime = 0, cudnn = 0, cublas = 0;
};
Expected<CudaDeviceFacts> current_device_facts(int device = 0);

}  // namespace kiln
