// The CUDA backend as a build target: device facts, the kernels that can run
// a layer, and timing of candidate kernels/tactics on the GPU for the
// autotuner.
#pragma once

#include "backends/cuda/cuda_libraries.h"
#include "builder/build_target.h"

namespace kiln {

class CudaBuildTarget : public BuildTarget {
 public:
  explicit CudaBuildTarget(int device = 0) : device_(device) {}
  std::string name() const override { return "CUDA"; }
  void describe(EnginePlan& plan) const override;
  std::vector<KernelOption> options(const LayerView& view, std::string* why) const override;
  Expected<double> time_layer(const EnginePlan& plan, size_t layer, const KernelOption& option,
                              const std::vector<int64_t>& tactic) override;

 private:
  int device_;
  CudaLibraries libs_;
};

}  // namespace kiln
