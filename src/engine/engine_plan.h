// The immutable result of a build: tensors with their storage, layers bound
// to kernels by name, the activation memory plan and the weights. It holds no
// host code: a runtime recreates each layer's kernel from its name, its op
// attributes and its tactic. Serialized by engine_file.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/attr.h"
#include "ir/dtype.h"
#include "ir/layout.h"

namespace kiln {

enum class Storage : uint8_t {
  kActivation = 0,  // offset into the context's activation arena
  kWeight = 1,      // offset into the engine's weight blob (shared by contexts)
  kInput = 2,       // bound by the caller at run time
  kOutput = 3,      // bound by the caller at run time
};

struct PlanTensor {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> dims;
  Layout layout = Layout::kLinear;
  Storage storage = Storage::kActivation;
  uint64_t offset = 0;  // arena offset (activations) or weight-blob offset (weights)
  uint64_t bytes = 0;
  // A data-dependent shape (NonZero, NonMaxSuppression; engine outputs only):
  // `dims` and `bytes` are an upper bound, and the producing kernel writes
  // the actual dims (one int64 each) at `dims_offset` in the context's arena,
  // as TensorRT's output allocator learns them after the run.
  bool data_dependent = false;
  uint64_t dims_offset = 0;
};

struct PlanLayer {
  std::string name;    // the node (or fused nodes) it came from
  std::string op;      // ONNX op, or a fused op name ("Conv+Add+Relu")
  std::string kernel;  // kernel id in the backend's registry ("cudnn.conv", ...)
  std::vector<int32_t> inputs;   // tensor indices; -1 for an omitted optional input
  std::vector<int32_t> outputs;  // tensor indices
  std::map<std::string, Attr> attrs;  // op attributes the kernel needs (no graphs)
  std::vector<int64_t> tactic;        // kernel-specific choice made by the tuner
  uint64_t workspace_bytes = 0;       // scratch the kernel needs (shared, from the arena)
};

struct EnginePlan {
  // Where it was built: the loader refuses another GPU architecture or
  // library versions it cannot run with.
  std::string device_name;  // "NVIDIA H100 80GB HBM3"
  int32_t sm_major = 0, sm_minor = 0;
  int32_t cuda_runtime_version = 0;
  int32_t cudnn_version = 0;
  int32_t cublas_version = 0;
  std::string kiln_version;

  std::vector<PlanTensor> tensors;
  std::vector<PlanLayer> layers;
  std::vector<int32_t> inputs;   // tensor indices of the engine's inputs, in order
  std::vector<int32_t> outputs;  // tensor indices of the engine's outputs, in order
  uint64_t arena_bytes = 0;      // activations + workspace + output dims, one per execution context
  uint64_t workspace_offset = 0; // where the shared layer workspace starts in the arena
  uint64_t workspace_bytes = 0;
  std::vector<uint8_t> weights;  // every kWeight tensor, 256-byte aligned offsets
};

}  // namespace kiln
