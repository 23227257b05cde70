// MatMul(A, W) + bias [+ Relu | Gelu] with constant W (2-D) and bias (1-D)
// -> kiln.FusedMatMul, which cuBLASLt runs with a bias/activation epilogue.
#include "passes/pipeline.h"
#include "passes/rewrite_util.h"

namespace kiln {

Status fuse_matmul(Graph& graph) {
  struct Chain {
    Node* mm;
    Node* add;
    Value* bias;
    Node* act;
    Value* out;
  };
  std::vector<Chain> chains;
  for (const auto& n : graph.nodes()) {
    Node* mm = n.get();
    if (mm->op != "MatMul" || !mm->domain.empty() || mm->inputs.size() != 2) continue;
    const Tensor* w = constant_of(mm->inputs[1]);
    if (!w || w->rank() != 2 || mm->inputs[0]->shape.rank() < 2) continue;
    Node* add = sole_user(mm->outputs[0]);
    if (!add || add->op != "Add" || !add->domain.empty()) continue;
    Value* bias = add->inputs[0] == mm->outputs[0] ? add->inputs[1] : add->inputs[0];
    const Tensor* b = constant_of(bias);
    if (!b || b->rank() != 1 || b->dim(0) != w->dim(1) || b->dtype() != w->dtype()) continue;
    Chain c{mm, add, bias, nullptr, add->outputs[0]};
    Node* act = sole_user(c.out);
    if (act && act->domain.empty() && (act->op == "Relu" || act->op == "Gelu")) {
      c.act = act;
      c.out = act->outputs[0];
    }
    chains.push_back(c);
  }
  for (const Chain& c : chains) {
    std::map<std::string, Attr> attrs;
    attrs["activation"] = Attr::of_string(c.act ? c.act->op : "");
    if (c.act && c.act->op == "Gelu") {
      const Attr* approx = c.act->find_attr("approximate");
      if (approx) attrs["approximate"] = *approx;
    }
    std::vector<Value*> inputs = {c.mm->inputs[0], c.mm->inputs[1], c.bias};
    std::string name = c.mm->name;
    for (Node* n : {c.act, c.add, c.mm})
      if (n) graph.remove_node(n);
    KILN_ASSIGN_OR_RETURN(Node * fused, graph.add_node("FusedMatMul", name, inputs, {c.out}, "kiln", 1));
    fused->attrs = std::move(attrs);
  }
  if (!chains.empty()) KILN_RETURN_IF_ERROR(graph.sort_topologically());
  return Status::Ok();
}

}  // namespace kiln
