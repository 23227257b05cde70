#include "ir/printer.h"

#include <sstream>

namespace kiln {

std::string print_graph(const Graph& graph) {
  std::ostringstream os;
  os << "graph " << (graph.name.empty() ? "main" : graph.name) << " (";
  for (size_t i = 0; i < graph.inputs.size(); ++i)
    os << (i ? ", " : "") << "%" << graph.inputs[i]->name << ": " << graph.inputs[i]->type_string();
  os << ") {\n";
  size_t constants = 0;
  for (const auto& v : graph.values())
    if (v->is_constant() && !v->producer) ++constants;
  if (constants) os << "  # " << constants << " constants\n";
  for (const auto& node : graph.nodes()) {
    os << "  ";
    for (size_t i = 0; i < node->outputs.size(); ++i) {
      const Value* v = node->outputs[i];
      os << (i ? ", " : "") << (v ? "%" + v->name + ": " + v->type_string() : std::string("_"));
    }
    os << " = " << (node->domain.empty() ? "" : node->domain + ".") << node->op << "(";
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const Value* v = node->inputs[i];
      os << (i ? ", " : "") << (v ? (v->is_constant() ? "$" : "%") + v->name : std::string("_"));
    }
    os << ")";
    if (!node->attrs.empty()) {
      os << " {";
      bool first = true;
      for (const auto& [key, attr] : node->attrs) {
        os << (first ? "" : ", ") << key << "=" << attr.to_string();
        first = false;
      }
      os << "}";
    }
    os << "  # " << node->name << "\n";
  }
  os << "  return ";
  for (size_t i = 0; i < graph.outputs.size(); ++i) os << (i ? ", " : "") << "%" << graph.outputs[i]->name;
  os << "\n}\n";
  return os.str();
}

}  // namespace kiln
