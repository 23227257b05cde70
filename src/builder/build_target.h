// What the builder needs from a backend (the CUDA backend implements it):
// facts about the device, which kernels can run a layer, and timing for the
// autotuner. The builder itself has no CUDA dependency.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine_plan.h"
#include "engine/layer_view.h"

namespace kiln {

struct KernelOption {
  std::string kernel;                           // kernel id
  std::vector<std::vector<int64_t>> tactics;    // at least one (possibly empty) tactic
  uint64_t workspace_bytes = 0;
  bool in_place = false;                        // output 0 may reuse input 0's memory
  std::vector<Layout> layouts{Layout::kLinear}; // 4-D activation layouts it accepts
};

class BuildTarget {
 public:
  virtual ~BuildTarget() = default;
  virtual std::string name() const = 0;
  // Fills the plan's device and library facts.
  virtual void describe(EnginePlan& plan) const = 0;
  // Kernels able to run the layer, preferred first. Empty means none; `why`
  // then says what each candidate lacked.
  virtual std::vector<KernelOption> options(const LayerView& view, std::string* why) const = 0;
  // Median milliseconds of the layer with this kernel and tactic, for the
  // autotuner. Backends that cannot time return an error.
  virtual Expected<double> time_layer(const EnginePlan& plan, size_t layer, const KernelOption& option,
                                      const std::vector<int64_t>& tactic) = 0;
};

}  // namespace kiln
