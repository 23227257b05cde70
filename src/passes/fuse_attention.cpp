// What fold_matmul_operands and fuse_softmax leave of attention,
//   S = kiln.FusedMatMul(Q, K, alpha, transB = 1)   (no bias, no activation)
//   P = kiln.FusedSoftmax(S, B?, nan_to_zero)
//   Y = MatMul(P, V)
// -> kiln.FusedAttention(Q, K, V, B?, alpha, nan_to_zero), one kernel that
// never writes the [.., Sq, Sk] scores or probabilities to memory. Q, K and
// V must share their batch dims, S and P must feed nothing else, and the
// sizes must fit the kernels (Sk <= kMaxKeys, head sizes <= kMaxHead).
#include "passes/pipeline.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

constexpr int64_t kMaxKeys = 4096;  // the row kernel keeps a row of scores in shared memory
constexpr int64_t kMaxHead = 256;

bool is_kiln(const Node* n, const char* op) { return n && n->op == op && n->domain == "kiln"; }

struct Match {
  Node* scores = nullptr;
  Node* softmax = nullptr;
  Node* product = nullptr;
};

bool fits(const Value* q, const Value* k, const Value* v) {
  const size_t r = q->shape.rank();
  if (r < 3 || k->shape.rank() != r || v->shape.rank() != r) return false;
  auto qd = q->shape.static_dims(), kd = k->shape.static_dims(), vd = v->shape.static_dims();
  if (!qd || !kd || !vd) return false;
  for (size_t i = 0; i + 2 < r; ++i)
    if ((*qd)[i] != (*kd)[i] || (*qd)[i] != (*vd)[i]) return false;
  const int64_t keys = (*kd)[r - 2];  // no keys: the product is 0, which the kernels do not special-case
  return keys >= 1 && keys <= kMaxKeys && (*qd)[r - 1] <= kMaxHead && (*vd)[r - 1] <= kMaxHead;
}

Match match(Node* mm) {
  if (mm->op != "MatMul" || !mm->domain.empty() || mm->inputs.size() != 2) return {};
  Value* p = mm->inputs[0];
  Node* softmax = p->producer;
  if (!is_kiln(softmax, "FusedSoftmax") || sole_user(p) != mm) return {};
  Value* s = softmax->inputs[0];
  Node* scores = s->producer;
  if (!is_kiln(scores, "FusedMatMul") || sole_user(s) != softmax || scores->inputs.size() != 2) return {};
  auto trans_b = scores->attr_int("transB", 0);
  auto act = scores->attr_string("activation", "");
  if (!trans_b.ok() || *trans_b != 1 || !act.ok() || !act->empty()) return {};
  if (!fits(scores->inputs[0], scores->inputs[1], mm->inputs[1])) return {};
  return {scores, softmax, mm};
}

}  // namespace

Status fuse_attention(Graph& graph) {
  std::vector<Match> matches;
  for (const auto& n : graph.nodes()) {
    Match m = match(n.get());
    if (m.product) matches.push_back(m);
  }
  for (const Match& m : matches) {
    std::vector<Value*> inputs = {m.scores->inputs[0], m.scores->inputs[1], m.product->inputs[1]};
    if (m.softmax->inputs.size() > 1 && m.softmax->inputs[1]) inputs.push_back(m.softmax->inputs[1]);
    KILN_ASSIGN_OR_RETURN(float alpha, m.scores->attr_float("alpha", 1.f));
    KILN_ASSIGN_OR_RETURN(int64_t nan_to_zero, m.softmax->attr_int("nan_to_zero", 0));
    std::map<std::string, Attr> attrs = {{"alpha", Attr::of_float(alpha)}, {"nan_to_zero", Attr::of_int(nan_to_zero)}};
    Value* y = m.product->outputs[0];
    std::string name = m.product->name;
    for (Node* n : {m.product, m.softmax, m.scores}) graph.remove_node(n);
    KILN_ASSIGN_OR_RETURN(Node * fused, graph.add_node("FusedAttention", name, inputs, {y}, "kiln", 1));
    fused->attrs = std::move(attrs);
  }
  if (!matches.empty()) KILN_RETURN_IF_ERROR(graph.sort_topologically());
  return Status::Ok();
}

}  // namespace kiln
