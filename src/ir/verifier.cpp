#include "ir/verifier.h"

#include <algorithm>
#include <set>

namespace kiln {

Status verify_graph(const Graph& graph) {
  std::set<const Value*> known;
  std::set<std::string> names;
  for (const auto& v : graph.values()) {
    if (!names.insert(v->name).second) return InvalidArgument("value '", v->name, "' is defined twice");
  }
  std::set<const Value*> available;
  for (const Value* in : graph.inputs) {
    if (!in->is_graph_input) return Internal("graph input '", in->name, "' is not marked as one");
    available.insert(in);
  }
  for (const auto& v : graph.values())
    if (v->is_constant() && !v->producer) available.insert(v.get());
  for (const auto& node : graph.nodes()) {
    for (const Value* in : node->inputs) {
      if (!in) continue;
      if (!available.count(in))
        return InvalidArgument(node->label(), ": input '", in->name, "' is not computed before it is used");
      if (std::find(in->users.begin(), in->users.end(), node.get()) == in->users.end())
        return Internal(node->label(), ": input '", in->name, "' does not list it as a user");
    }
    for (const Value* out : node->outputs) {
      if (!out) continue;
      if (out->producer != node.get())
        return Internal(node->label(), ": output '", out->name, "' names another producer");
      if (!available.insert(out).second)
        return InvalidArgument(node->label(), ": output '", out->name, "' is defined twice");
    }
  }
  for (const Value* out : graph.outputs) {
    if (!available.count(out)) return InvalidArgument("graph output '", out->name, "' is never computed");
  }
  return Status::Ok();
}

}  // namespace kiln
