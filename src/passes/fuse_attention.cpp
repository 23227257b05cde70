// What fold_matmul_operands and fuse_softmax leave of attention,
//   S = kiln.FusedMatMul(Q, K, alpha, transB = 1)   (no bias, no activation)
//   P = kiln.FusedSoftmax(S, B?, nan_to_zero)
//   Y = MatMul(P, V)
// -> kiln.FusedAttention(Q, K, V, B?, alpha, nan_to_zero), one kernel that
// never writes the [.., Sq, Sk] scores or probabilities to memory. Q, K and
// V must share their batch dims, S and P must feed nothing else, and the
// sizes must fit the kernels (Sk <= kMaxKeys, head sizes <= kMaxHead).
//
// Only where the attention runs in float16/bfloat16 (tensor cores): in
// float32 the unfused cuBLASLt GEMMs and softmax beat a CUDA-core kernel.
//
// Then the head transposes around it go: a Q, K or V that is
// Transpose(X, perm swapping the heads and sequence axes) read only here
// becomes X with its transposed_heads flag set, and so does a Y read only by
// such a Transpose. BERT's projections write [b, s, h, d]; the op reads and
// writes that layout directly instead of four transpose kernels per layer.
#include "passes/pipeline.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

constexpr int64_t kMaxKeys = 4096;  // the row kernel keeps a row of scores in shared memory
constexpr int64_t kMaxHead = 256;

bool is_kiln(const Node* n, const char* op) { return n && n->op == op && n->domain == "kiln"; }

// A Transpose that swaps the last-but-two and last-but-one axes of a rank >= 3 tensor.
bool swaps_heads(const Node* n) {
  if (!n || n->op != "Transpose" || !n->domain.empty() || n->inputs.size() != 1) return false;
  auto perm = n->attr_ints("perm", {});
  const size_t r = n->inputs[0]->shape.rank();
  if (!perm.ok() || r < 3 || perm->size() != r) return false;
  for (size_t i = 0; i < r; ++i) {
    const size_t want = i == r - 3 ? r - 2 : i == r - 2 ? r - 3 : i;
    if ((*perm)[i] != static_cast<int64_t>(want)) return false;
  }
  return true;
}

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

bool reduced_precision(DType t) { return t == DType::kFloat16 || t == DType::kBFloat16; }

}  // namespace

Status fuse_attention(Graph& graph, bool fp16) {
  std::vector<Match> matches;
  for (const auto& n : graph.nodes()) {
    Match m = match(n.get());
    if (m.product && (fp16 || reduced_precision(m.scores->inputs[0]->dtype))) matches.push_back(m);
  }
  for (const Match& m : matches) {
    std::vector<Value*> inputs = {m.scores->inputs[0], m.scores->inputs[1], m.product->inputs[1]};
    if (m.softmax->inputs.size() > 1 && m.softmax->inputs[1]) inputs.push_back(m.softmax->inputs[1]);
    KILN_ASSIGN_OR_RETURN(float alpha, m.scores->attr_float("alpha", 1.f));
    KILN_ASSIGN_OR_RETURN(int64_t nan_to_zero, m.softmax->attr_int("nan_to_zero", 0));
    std::vector<int64_t> transposed(4, 0);
    for (size_t i = 0; i < 3; ++i) {
      Node* t = inputs[i]->producer;
      if (swaps_heads(t) && sole_user(inputs[i])) {
        inputs[i] = t->inputs[0];
        transposed[i] = 1;
      }
    }
    Value* y = m.product->outputs[0];
    Node* after = sole_user(y);
    std::vector<Node*> gone = {m.product, m.softmax, m.scores};
    if (swaps_heads(after)) {
      gone.push_back(after);
      y = after->outputs[0];
      transposed[3] = 1;
    }
    std::map<std::string, Attr> attrs = {{"alpha", Attr::of_float(alpha)},
                                         {"nan_to_zero", Attr::of_int(nan_to_zero)},
                                         {"transposed_heads", Attr::of_ints(transposed)}};
    std::string name = m.product->name;
    for (Node* n : gone) graph.remove_node(n);
    KILN_ASSIGN_OR_RETURN(Node * fused, graph.add_node("FusedAttention", name, inputs, {y}, "kiln", 1));
    fused->attrs = std::move(attrs);
  }
  if (!matches.empty()) {
    graph.remove_dead_nodes();  // the input transposes
    KILN_RETURN_IF_ERROR(graph.sort_topologically());
  }
  return Status::Ok();
}

}  // namespace kiln
