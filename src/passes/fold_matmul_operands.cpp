// Work an activation x activation MatMul can absorb from its operands:
//   MatMul(Mul(A, s1), Mul(swap(K), s2))  ->  kiln.FusedMatMul(A, K, alpha = s1 * s2, transB = 1)
// where s1, s2 are scalar constants and swap(K) exchanges K's last two axes,
// written as Transpose(K, [..., r-1, r-2]) or, as torch's dynamo export of
// scaled_dot_product_attention writes K^T, as
//   Reshape(Transpose(Reshape(K, [P, S, D]), [0, 2, 1]), [..., D, S]).
// cuBLASLt applies alpha in float32 and reads B transposed, so attention's
// two scaling Muls and K's transpose stop being memory-bound layers.
#include "passes/pipeline.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

bool is_onnx(const Node* n, const char* op) { return n && n->op == op && n->domain.empty(); }

// The value's dims when all are known; empty otherwise.
std::vector<int64_t> dims_of(const Value* v) {
  if (!v->shape_known) return {};
  auto d = v->shape.static_dims();
  return d ? *d : std::vector<int64_t>{};
}

// x = Mul(y, s) (either order) with a single-element float constant s that
// does not broadcast x beyond y: returns y and multiplies *scale by s.
Value* strip_scalar_mul(Value* x, double* scale) {
  Node* mul = x->producer;
  if (!is_onnx(mul, "Mul") || mul->inputs.size() != 2 || x->is_graph_output || x->users.size() != 1) return x;
  for (int i = 0; i < 2; ++i) {
    const Tensor* s = constant_of(mul->inputs[i]);
    Value* y = mul->inputs[1 - i];
    if (!s || s->numel() != 1 || !dtype_is_float(s->dtype()) || y->constant) continue;
    if (!y->shape_known || !x->shape_known || !(y->shape == x->shape) || y->dtype != x->dtype) continue;
    *scale *= s->get_f64(0);
    return y;
  }
  return x;
}

bool single_use(const Value* v) { return !v->is_graph_output && v->users.size() == 1; }

// K if x is K with its last two axes exchanged (and every value between is
// read only on the way to x); nullptr otherwise.
Value* swapped_source(Value* x) {
  Node* n = x->producer;
  if (!single_use(x)) return nullptr;
  if (is_onnx(n, "Transpose") && n->inputs.size() == 1) {
    auto perm = n->attr_ints("perm");
    const size_t r = x->shape.rank();
    if (!perm.ok() || perm->size() != r || r < 2) return nullptr;
    for (size_t i = 0; i < r; ++i) {
      const size_t want = i + 2 < r ? i : (i + 2 == r ? r - 1 : r - 2);
      if ((*perm)[i] != static_cast<int64_t>(want)) return nullptr;
    }
    return n->inputs[0];
  }
  // Reshape(Transpose(Reshape(K, [P, S, D]), [0, 2, 1]), [..., D, S]).
  if (!is_onnx(n, "Reshape")) return nullptr;
  Value* t_out = n->inputs[0];
  Node* t = t_out->producer;
  if (!single_use(t_out) || !is_onnx(t, "Transpose")) return nullptr;
  auto perm = t->attr_ints("perm");
  if (!perm.ok() || *perm != std::vector<int64_t>{0, 2, 1}) return nullptr;
  Value* r1_out = t->inputs[0];
  Node* r1 = r1_out->producer;
  if (!single_use(r1_out) || !is_onnx(r1, "Reshape")) return nullptr;
  Value* k = r1->inputs[0];
  const std::vector<int64_t> kd = dims_of(k), md = dims_of(r1_out), xd = dims_of(x);
  if (kd.size() < 2 || md.size() != 3 || xd.size() != kd.size()) return nullptr;
  const int64_t S = kd[kd.size() - 2], D = kd[kd.size() - 1];
  if (md[1] != S || md[2] != D) return nullptr;  // the first Reshape only merges the leading axes
  std::vector<int64_t> want(kd.begin(), kd.end() - 2);
  want.push_back(D);
  want.push_back(S);
  return xd == want ? k : nullptr;
}

struct Fold {
  Node* mm = nullptr;
  Value* a = nullptr;
  Value* b = nullptr;
  double alpha = 1;
  bool trans_b = false;
};

}  // namespace

Status fold_matmul_operands(Graph& graph) {
  std::vector<Fold> folds;
  for (const auto& n : graph.nodes()) {
    Node* mm = n.get();
    if (!is_onnx(mm, "MatMul") || mm->inputs.size() != 2) continue;
    Value* a = mm->inputs[0];
    Value* b = mm->inputs[1];
    if (a->constant || b->constant || a == b || !a->shape_known || !b->shape_known) continue;
    if (a->shape.rank() < 2 || b->shape.rank() < 2) continue;
    Fold f;
    f.mm = mm;
    f.a = strip_scalar_mul(a, &f.alpha);
    b = strip_scalar_mul(b, &f.alpha);
    if (Value* k = swapped_source(b)) {
      b = strip_scalar_mul(k, &f.alpha);
      f.trans_b = true;
    }
    f.b = b;
    if (f.a == mm->inputs[0] && f.b == mm->inputs[1]) continue;
    folds.push_back(f);
  }
  for (const Fold& f : folds) {
    std::string name = f.mm->name;
    std::vector<Value*> outs = {f.mm->outputs[0]};
    graph.remove_node(f.mm);
    KILN_ASSIGN_OR_RETURN(Node * fused, graph.add_node("FusedMatMul", name, {f.a, f.b}, outs, "kiln", 1));
    fused->attrs["activation"] = Attr::of_string("");
    if (f.alpha != 1) fused->attrs["alpha"] = Attr::of_float(static_cast<float>(f.alpha));
    if (f.trans_b) fused->attrs["transB"] = Attr::of_int(1);
  }
  // The Muls, Transposes and Reshapes left without readers go.
  if (!folds.empty()) {
    graph.remove_dead_nodes();
    KILN_RETURN_IF_ERROR(graph.sort_topologically());
  }
  return Status::Ok();
}

}  // namespace kiln
