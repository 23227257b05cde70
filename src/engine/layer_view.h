// One layer of a plan together with its tensors: what a backend's kernel is
// shown when the builder asks whether it can run the layer and when the
// runtime recreates it.
#pragma once

#include <functional>
#include <vector>

#include "engine/engine_plan.h"

namespace kiln {

struct LayerView {
  const PlanLayer& layer;
  std::vector<const PlanTensor*> inputs;   // nullptr for omitted optional inputs
  std::vector<const PlanTensor*> outputs;
  // Host copy of a weight tensor's bytes (kernels that read small constant
  // parameters or repack weights at creation).
  std::function<const uint8_t*(const PlanTensor&)> host_weight;

  const PlanTensor& in(size_t i) const { return *inputs[i]; }
  const PlanTensor& out(size_t i) const { return *outputs[i]; }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  // Builds the view of layer `index` of `plan`.
  static LayerView of(const EnginePlan& plan, size_t index);
};

}  // namespace kiln
