#include "builder/layout_assignment.h"

#include <algorithm>
#include <map>

namespace kiln {
namespace {

bool is_anchor(const PlanLayer& l) { return l.op == "Conv" || l.op == "kiln.FusedConv"; }

class LayoutAssigner {
 public:
  LayoutAssigner(EnginePlan& plan, const BuildTarget& target) : plan_(plan), target_(target) {}

  int run() {
    std::vector<PlanLayer> layers = std::move(plan_.layers);
    plan_.layers.clear();
    for (PlanLayer& layer : layers) place(std::move(layer));
    return reformats_;
  }

 private:
  PlanTensor& tensor(int32_t i) { return plan_.tensors[static_cast<size_t>(i)]; }

  // 4-D float16 activations (not weights, not caller-bound I/O).
  bool candidate(int32_t i) {
    if (i < 0) return false;
    const PlanTensor& t = tensor(i);
    return t.dims.size() == 4 && t.dtype == DType::kFloat16 && t.storage == Storage::kActivation;
  }

  bool supported(const PlanLayer& layer) {
    plan_.layers.push_back(layer);
    std::string why;
    bool ok = !target_.options(LayerView::of(plan_, plan_.layers.size() - 1), &why).empty();
    plan_.layers.pop_back();
    return ok;
  }

  // A copy of tensor `src` in `layout`, made by a kiln.Reformat layer (once).
  int32_t reformatted(int32_t src, Layout layout) {
    auto key = std::make_pair(src, layout);
    if (auto it = copies_.find(key); it != copies_.end()) return it->second;
    PlanTensor t = tensor(src);
    t.name += layout == Layout::kNHWC ? "__nhwc" : "__linear";
    t.layout = layout;
    t.storage = Storage::kActivation;
    t.offset = 0;
    int32_t id = static_cast<int32_t>(plan_.tensors.size());
    plan_.tensors.push_back(t);
    PlanLayer r;
    r.name = t.name;
    r.op = "kiln.Reformat";
    r.inputs = {src};
    r.outputs = {id};
    plan_.layers.push_back(std::move(r));
    ++reformats_;
    copies_[key] = id;
    return id;
  }

  // Runs the layer on NHWC tensors if a kernel accepts that: its 4-D outputs
  // become NHWC and its linear 4-D inputs get NHWC copies.
  bool try_channels_last(const PlanLayer& layer) {
    std::vector<int32_t> flipped, copies;
    for (int32_t out : layer.outputs)
      if (candidate(out)) flipped.push_back(out);
    if (flipped.empty()) return false;
    for (int32_t in : layer.inputs)
      if (candidate(in) && tensor(in).layout == Layout::kLinear) copies.push_back(in);
    for (int32_t t : flipped) tensor(t).layout = Layout::kNHWC;
    for (int32_t t : copies) tensor(t).layout = Layout::kNHWC;  // probe as if already copied
    bool ok = supported(layer);
    for (int32_t t : copies) tensor(t).layout = Layout::kLinear;
    if (!ok) {
      for (int32_t t : flipped) tensor(t).layout = Layout::kLinear;
      return false;
    }
    PlanLayer placed = layer;
    for (int32_t& in : placed.inputs)
      if (std::find(copies.begin(), copies.end(), in) != copies.end()) in = reformatted(in, Layout::kNHWC);
    plan_.layers.push_back(std::move(placed));
    return true;
  }

  void place(PlanLayer layer) {
    bool any_nhwc = false;
    for (int32_t in : layer.inputs)
      if (in >= 0 && tensor(in).layout == Layout::kNHWC) any_nhwc = true;
    bool anchor = is_anchor(layer) && !layer.inputs.empty() && tensor(layer.inputs[0]).dims.size() == 4 &&
                  tensor(layer.inputs[0]).dtype == DType::kFloat16;
    if ((anchor || any_nhwc) && try_channels_last(layer)) return;
    for (int32_t& in : layer.inputs)
      if (in >= 0 && tensor(in).layout == Layout::kNHWC) in = reformatted(in, Layout::kLinear);
    plan_.layers.push_back(std::move(layer));
  }

  EnginePlan& plan_;
  const BuildTarget& target_;
  int reformats_ = 0;
  std::map<std::pair<int32_t, Layout>, int32_t> copies_;
};

}  // namespace

Expected<int> assign_channels_last(EnginePlan& plan, const BuildTarget& target) {
  // A graph that already carries layout decisions (set by its producer) is
  // taken as it is.
  for (const PlanTensor& t : plan.tensors)
    if (t.layout != Layout::kLinear) return 0;
  return LayoutAssigner(plan, target).run();
}

}  // namespace kiln
