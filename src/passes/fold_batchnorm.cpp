// Conv -> BatchNormalization with constant weights and statistics becomes one
// Conv with scaled weights and a bias:
//   s = scale / sqrt(var + eps);  W' = W * s (per output channel);  B' = (B - mean) * s + bias
#include <cmath>

#include "passes/pipeline.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

Status fold_one(Graph& g, Node& conv, Node& bn) {
  const Tensor* w = constant_of(conv.inputs[1]);
  const Tensor* b = conv.has_input(2) ? constant_of(conv.inputs[2]) : nullptr;
  const Tensor* scale = constant_of(bn.inputs[1]);
  const Tensor* bias = constant_of(bn.inputs[2]);
  const Tensor* mean = constant_of(bn.inputs[3]);
  const Tensor* var = constant_of(bn.inputs[4]);
  KILN_ASSIGN_OR_RETURN(float eps, bn.attr_float("epsilon", 1e-5f));
  const int64_t m = w->dim(0);
  const int64_t per_channel = m ? w->numel() / m : 0;
  KILN_ASSIGN_OR_RETURN(Tensor w2, Tensor::alloc(w->dtype(), w->dims()));
  KILN_ASSIGN_OR_RETURN(Tensor b2, Tensor::alloc(w->dtype(), {m}));
  for (int64_t c = 0; c < m; ++c) {
    double s = scale->get_f64(c) / std::sqrt(var->get_f64(c) + static_cast<double>(eps));
    for (int64_t k = 0; k < per_channel; ++k) w2.set_f64(c * per_channel + k, w->get_f64(c * per_channel + k) * s);
    double b0 = b ? b->get_f64(c) : 0.0;
    b2.set_f64(c, (b0 - mean->get_f64(c)) * s + bias->get_f64(c));
  }
  Value* w_value = conv.inputs[1];
  Value* new_w = add_constant(g, w_value->name + "_bnfolded", std::move(w2));
  Value* new_b = add_constant(g, conv.name + "_bnfolded_bias", std::move(b2));
  // Rewire the conv to the folded constants.
  auto relink = [&](size_t i, Value* v) {
    if (conv.inputs.size() <= i) conv.inputs.resize(i + 1, nullptr);
    if (Value* old = conv.inputs[i]) {
      auto& u = old->users;
      for (auto it = u.begin(); it != u.end(); ++it)
        if (*it == &conv) {
          u.erase(it);
          break;
        }
    }
    conv.inputs[i] = v;
    v->users.push_back(&conv);
  };
  relink(1, new_w);
  relink(2, new_b);
  Value* bn_out = bn.outputs[0];
  Value* conv_out = conv.outputs[0];
  g.remove_node(&bn);
  return replace_value(g, bn_out, conv_out);
}

bool foldable(const Node& conv, const Node& bn) {
  if (bn.op != "BatchNormalization" || !bn.domain.empty() || bn.outputs.size() > 1) return false;
  if (bn.inputs.size() < 5 || conv.inputs.size() < 2 || !constant_of(conv.inputs[1])) return false;
  if (conv.has_input(2) && !constant_of(conv.inputs[2])) return false;
  for (size_t i = 1; i < 5; ++i)
    if (!constant_of(bn.inputs[i])) return false;
  const Tensor* w = constant_of(conv.inputs[1]);
  if (w->rank() < 3 || !dtype_is_float(w->dtype())) return false;
  for (size_t i = 1; i < 5; ++i)
    if (constant_of(bn.inputs[i])->numel() != w->dim(0)) return false;
  return true;
}

}  // namespace

Status fold_batchnorm(Graph& graph) {
  std::vector<std::pair<Node*, Node*>> pairs;
  for (const auto& n : graph.nodes()) {
    if (n->op != "Conv" || !n->domain.empty()) continue;
    Node* bn = sole_user(n->outputs[0]);
    if (bn && bn->inputs[0] == n->outputs[0] && foldable(*n, *bn)) pairs.emplace_back(n.get(), bn);
  }
  for (auto& [conv, bn] : pairs) KILN_RETURN_IF_ERROR(fold_one(graph, *conv, *bn));
  return Status::Ok();
}

}  // namespace kiln
