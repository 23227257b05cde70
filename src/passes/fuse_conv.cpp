// Conv [+ residual Add] [+ Relu] -> kiln.FusedConv, which cuDNN runs as one
// convolution with bias, residual and activation fused. Only chains whose
// intermediate values have no other reader are fused.
#include <set>

#include "passes/pipeline.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

struct ConvChain {
  Node* conv = nullptr;
  Node* add = nullptr;
  Value* residual = nullptr;
  Node* relu = nullptr;
  Value* out = nullptr;
};

bool same_type(const Value* a, const Value* b) {
  return a->dtype == b->dtype && a->shape_known && b->shape_known && a->shape == b->shape;
}

ConvChain match(Node* conv) {
  ConvChain c;
  if (conv->op != "Conv" || !conv->domain.empty() || conv->inputs.size() < 2 || !conv->inputs[1]->constant ||
      (conv->has_input(2) && !conv->inputs[2]->constant))
    return c;
  c.conv = conv;
  c.out = conv->outputs[0];
  Node* next = sole_user(c.out);
  if (next && next->op == "Add" && next->domain.empty() && next->inputs.size() == 2 &&
      next->inputs[0] != next->inputs[1]) {
    Value* other = next->inputs[0] == c.out ? next->inputs[1] : next->inputs[0];
    if (same_type(other, c.out)) {
      c.add = next;
      c.residual = other;
      c.out = next->outputs[0];
      next = sole_user(c.out);
    }
  }
  if (next && next->op == "Relu" && next->domain.empty()) {
    c.relu = next;
    c.out = next->outputs[0];
  }
  if (!c.add && !c.relu) c.conv = nullptr;  // nothing to fuse
  return c;
}

}  // namespace

Status fuse_conv(Graph& graph) {
  std::vector<ConvChain> chains;
  std::set<const Node*> taken;
  for (const auto& n : graph.nodes()) {
    ConvChain c = match(n.get());
    if (!c.conv || taken.count(c.conv) || (c.add && taken.count(c.add))) continue;
    // The residual must not be produced by this chain's own conv.
    taken.insert(c.conv);
    if (c.add) taken.insert(c.add);
    if (c.relu) taken.insert(c.relu);
    chains.push_back(c);
  }
  for (const ConvChain& c : chains) {
    std::vector<Value*> inputs = {c.conv->inputs[0], c.conv->inputs[1], c.conv->has_input(2) ? c.conv->inputs[2] : nullptr};
    if (c.residual) inputs.push_back(c.residual);
    std::map<std::string, Attr> attrs = c.conv->attrs;
    attrs["activation"] = Attr::of_string(c.relu ? "Relu" : "");
    std::string name = c.conv->name;
    Value* out = c.out;
    for (Node* n : {c.relu, c.add, c.conv})
      if (n) graph.remove_node(n);
    KILN_ASSIGN_OR_RETURN(Node * fused, graph.add_node("FusedConv", name, inputs, {out}, "kiln", 1));
    fused->attrs = std::move(attrs);
  }
  if (!chains.empty()) KILN_RETURN_IF_ERROR(graph.sort_topologically());
  return Status::Ok();
}

}  // namespace kiln
