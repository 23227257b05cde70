// Attention's masked softmax, as exporters write it,
//   p = Softmax(Add(scores, mask), axis = last)   [ then Where(IsNaN(p), 0, p) ]
// -> kiln.FusedSoftmax(scores, mask, nan_to_zero), which reads the scores once
// and writes once instead of making three memory-bound passes. The NaN guard
// (torch's dynamo export of Hugging Face attention) is absorbed only when p
// feeds nothing else; otherwise Add + Softmax fuse alone and the guard stays.
#include "passes/pipeline.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

struct SoftmaxChain {
  Node* add = nullptr;
  Node* softmax = nullptr;
  Node* isnan = nullptr;  // with `where`, when the NaN guard is absorbed
  Node* where = nullptr;
  Value* x = nullptr;
  Value* bias = nullptr;
  Value* out = nullptr;
};

// `b` broadcasts to `x` without enlarging it (numpy, one way).
bool broadcasts_into(const Value* b, const Value* x) {
  if (!b->shape_known || b->shape.rank() > x->shape.rank()) return false;
  const size_t skip = x->shape.rank() - b->shape.rank();
  for (size_t i = 0; i < b->shape.rank(); ++i)
    if (!(b->shape[i] == Dim(1)) && !(b->shape[i] == x->shape[skip + i])) return false;
  return true;
}

// Opset 13+ Softmax along the last axis (older opsets flatten to 2-D from
// `axis` on, which is another operation).
bool softmax_on_last_axis(const Node* sm) {
  if (sm->op != "Softmax" || !sm->domain.empty() || sm->opset < 13 || sm->inputs.size() != 1) return false;
  const Value* in = sm->inputs[0];
  if (!in->shape_known || in->shape.rank() == 0) return false;
  auto axis = sm->attr_int("axis", -1);
  const int64_t rank = static_cast<int64_t>(in->shape.rank());
  return axis.ok() && (*axis == -1 || *axis == rank - 1);
}

bool all_zero(const Value* v) {
  const Tensor* t = constant_of(v);
  if (!t || !dtype_is_float(t->dtype())) return false;
  for (int64_t k = 0; k < t->numel(); ++k)
    if (t->get_f64(k) != 0.0) return false;
  return true;
}

// Where(IsNaN(p), 0, p) when p feeds exactly that IsNaN and that Where.
void match_nan_guard(SoftmaxChain& c) {
  Value* p = c.softmax->outputs[0];
  if (p->is_graph_output || p->users.size() != 2) return;
  Node* isnan = p->users[0]->op == "IsNaN" ? p->users[0] : p->users[1];
  Node* where = isnan == p->users[0] ? p->users[1] : p->users[0];
  if (isnan->op != "IsNaN" || !isnan->domain.empty() || isnan->inputs.size() != 1 || isnan->inputs[0] != p) return;
  if (where->op != "Where" || !where->domain.empty() || where->inputs.size() != 3) return;
  if (sole_user(isnan->outputs[0]) != where || where->inputs[0] != isnan->outputs[0] || where->inputs[2] != p) return;
  Value* zero = where->inputs[1];
  if (!all_zero(zero) || zero->dtype != p->dtype || !broadcasts_into(zero, p)) return;
  c.isnan = isnan;
  c.where = where;
  c.out = where->outputs[0];
}

SoftmaxChain match(Node* sm) {
  SoftmaxChain c;
  if (!softmax_on_last_axis(sm)) return c;
  Value* sum = sm->inputs[0];
  Node* add = sum->producer;
  if (!add || add->op != "Add" || !add->domain.empty() || add->inputs.size() != 2 || sole_user(sum) != sm) return c;
  // Either operand may be the scores (Add commutes): the one with the full
  // shape that is not a constant; the other must broadcast into it.
  for (int i = 0; i < 2; ++i) {
    Value* x = add->inputs[i];
    Value* b = add->inputs[1 - i];
    if (x->constant || !x->shape_known || !(x->shape == sum->shape) || x->dtype != sum->dtype) continue;
    if (b->dtype != x->dtype || !broadcasts_into(b, x)) continue;
    c.x = x;
    c.bias = b;
    break;
  }
  if (!c.x) return c;
  c.add = add;
  c.softmax = sm;
  c.out = sm->outputs[0];
  match_nan_guard(c);
  return c;
}

}  // namespace

Status fuse_softmax(Graph& graph) {
  std::vector<SoftmaxChain> chains;
  for (const auto& n : graph.nodes()) {
    SoftmaxChain c = match(n.get());
    if (c.add) chains.push_back(c);
  }
  for (const SoftmaxChain& c : chains) {
    std::string name = c.softmax->name;
    for (Node* n : {c.where, c.isnan, c.softmax, c.add})
      if (n) graph.remove_node(n);
    KILN_ASSIGN_OR_RETURN(Node * fused, graph.add_node("FusedSoftmax", name, {c.x, c.bias}, {c.out}, "kiln", 1));
    fused->attrs["axis"] = Attr::of_int(-1);
    fused->attrs["nan_to_zero"] = Attr::of_int(c.where ? 1 : 0);
  }
  if (!chains.empty()) KILN_RETURN_IF_ERROR(graph.sort_topologically());
  return Status::Ok();
}

}  // namespace kiln
