#include "engine/layer_view.h"

namespace kiln {

LayerView LayerView::of(const EnginePlan& plan, size_t index) {
  const PlanLayer& layer = plan.layers[index];
  LayerView v{layer, {}, {}, {}};
  for (int32_t t : layer.inputs) v.inputs.push_back(t < 0 ? nullptr : &plan.tensors[static_cast<size_t>(t)]);
  for (int32_t t : layer.outputs) v.outputs.push_back(&plan.tensors[static_cast<size_t>(t)]);
  v.host_weight = [&plan](const PlanTensor& t) -> const uint8_t* {
    if (t.storage != Storage::kWeight || t.offset + t.bytes > plan.weights.size()) return nullptr;
    return plan.weights.data() + t.offset;
  };
  return v;
}

}  // namespace kiln
