// Recognises the erf form of GELU that exporters write out as five ops,
//   x * 0.5 * (1 + erf(x / sqrt(2)))   (any order of the two multiplications),
// and replaces it with one Gelu node (opset 20), which kernels run in one pass
// and fuse_matmul folds into a GEMM epilogue.
#include <cmath>

#include "passes/pipeline.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

// The other operand of a binary node, given one operand.
Value* other_input(const Node* n, const Value* v) {
  if (n->inputs.size() != 2) return nullptr;
  if (n->inputs[0] == v) return n->inputs[1];
  if (n->inputs[1] == v) return n->inputs[0];
  return nullptr;
}

struct GeluMatch {
  Value* x = nullptr;
  Value* out = nullptr;
  std::vector<Node*> nodes;
};

GeluMatch match(Node* erf) {
  GeluMatch m;
  if (erf->op != "Erf" || !erf->domain.empty()) return m;
  Node* scale = erf->inputs[0]->producer;  // x / sqrt(2) or x * (1/sqrt(2))
  if (!scale || sole_user(scale->outputs[0]) != erf) return m;
  Value* x = nullptr;
  if (scale->op == "Div" && is_scalar_constant(scale->inputs[1], std::sqrt(2.0), 1e-3)) x = scale->inputs[0];
  if (scale->op == "Mul") {
    if (is_scalar_constant(scale->inputs[1], 1 / std::sqrt(2.0), 1e-3)) x = scale->inputs[0];
    if (is_scalar_constant(scale->inputs[0], 1 / std::sqrt(2.0), 1e-3)) x = scale->inputs[1];
  }
  if (!x) return m;
  Node* add = sole_user(erf->outputs[0]);
  if (!add || add->op != "Add" || !is_scalar_constant(other_input(add, erf->outputs[0]), 1.0)) return m;
  Node* mul1 = sole_user(add->outputs[0]);
  if (!mul1 || mul1->op != "Mul") return m;
  Value* other = other_input(mul1, add->outputs[0]);
  std::vector<Node*> nodes = {scale, erf, add, mul1};
  Value* out = nullptr;
  if (other == x) {
    // x * (1 + erf) then * 0.5
    Node* mul2 = sole_user(mul1->outputs[0]);
    if (!mul2 || mul2->op != "Mul" || !is_scalar_constant(other_input(mul2, mul1->outputs[0]), 0.5)) return m;
    nodes.push_back(mul2);
    out = mul2->outputs[0];
  } else if (other && other->producer && other->producer->op == "Mul" && sole_user(other) == mul1) {
    // (x * 0.5) * (1 + erf)
    Node* half = other->producer;
    if (other_input(half, x) == nullptr || !is_scalar_constant(other_input(half, x), 0.5)) return m;
    nodes.push_back(half);
    out = mul1->outputs[0];
  } else {
    return m;
  }
  if (x->dtype != out->dtype || !dtype_is_float(x->dtype)) return m;
  m.x = x;
  m.out = out;
  m.nodes = nodes;
  return m;
}

}  // namespace

Status fuse_gelu(Graph& graph) {
  std::vector<GeluMatch> matches;
  for (const auto& n : graph.nodes()) {
    GeluMatch m = match(n.get());
    if (m.x) matches.push_back(m);
  }
  for (const GeluMatch& m : matches) {
    std::string name = m.nodes[1]->name + "_gelu";
    for (Node* n : m.nodes) graph.remove_node(n);
    KILN_RETURN_IF_ERROR(graph.add_node("Gelu", name, {m.x}, {m.out}, "", 20).status());
  }
  if (!matches.empty()) KILN_RETURN_IF_ERROR(graph.sort_topologically());
  return Status::Ok();
}

}  // namespace kiln
