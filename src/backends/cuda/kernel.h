// The CUDA backend's kernel interface. A kernel implements one op (or fused
// layer) for some dtypes/layouts; it declares its own facts (supports,
// workspace, in-place, tactics) and the builder asks instead of keeping a
// central whitelist. At run time a kernel is recreated from the layer's
// attributes and tactic alone, so engines hold no host code.
#pragma once

#include <cuda_runtime_api.h>

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine_plan.h"
#include "engine/layer_view.h"

namespace kiln {

class CudaLibraries;  // per-context cuDNN / cuBLASLt handles (cuda_libraries.h)

struct LaunchArgs {
  std::vector<const void*> inputs;  // device pointers (nullptr for omitted)
  std::vector<void*> outputs;
  // Per output: where its kernel writes the actual dims (int64 each) of a
  // data-dependent output; nullptr for static outputs.
  std::vector<int64_t*> output_dims;
  void* workspace = nullptr;
  uint64_t workspace_bytes = 0;
  cudaStream_t stream = nullptr;
  CudaLibraries* libs = nullptr;
};

class CudaKernel {
 public:
  virtual ~CudaKernel() = default;
  // Asynchronous on args.stream; must be capturable into a CUDA graph (no
  // synchronisation, no allocation, no host reads of device memory).
  virtual Status enqueue(const LaunchArgs& args) = 0;
};

struct CudaKernelDef {
  std::string id;                // "kiln.unary", "cudnn.conv", "cublaslt.gemm", ...
  std::vector<std::string> ops;  // ONNX (or fused) ops it implements
  // True if it can run this layer; otherwise `why` says what is missing.
  std::function<bool(const LayerView&, std::string* why)> supports;
  // Scratch bytes for this layer (default 0).
  std::function<uint64_t(const LayerView&)> workspace;
  // Candidate tactics for the tuner (default: one empty tactic).
  std::function<std::vector<std::vector<int64_t>>(const LayerView&)> tactics;
  // Builds the runnable kernel for a layer whose tactic is set.
  std::function<Expected<std::unique_ptr<CudaKernel>>(const LayerView&, CudaLibraries&)> create;
  // Output 0 may share input 0's memory (elementwise ops).
  bool in_place = false;
  // Layouts the kernel accepts for 4-D activations; the builder inserts
  // reformat layers where producer and consumer disagree.
  std::vector<Layout> layouts = {Layout::kLinear};
  // Preference among kernels that support a layer when there is nothing to time.
  int priority = 0;
};

class CudaKernelRegistry {
 public:
  static const CudaKernelRegistry& global();
  void add(CudaKernelDef def);
  const CudaKernelDef* find(const std::string& id) const;
  // Kernels registered for `op`, highest priority first.
  std::vector<const CudaKernelDef*> for_op(const std::string& op) const;
  const std::vector<CudaKernelDef>& all() const { return defs_; }

 private:
  std::vector<CudaKernelDef> defs_;
};

}  // namespace kiln
