#include "passes/rewrite_util.h"

#include <cmath>

namespace kiln {

Node* sole_user(const Value* v) {
  if (!v || v->is_graph_output || v->users.empty()) return nullptr;
  Node* first = v->users.front();
  for (Node* u : v->users)
    if (u != first) return nullptr;
  return first;
}

const Tensor* constant_of(const Value* v) { return v ? v->constant.get() : nullptr; }

bool is_scalar_constant(const Value* v, double x, double tol) {
  const Tensor* t = constant_of(v);
  if (!t || t->numel() != 1 || !dtype_is_float(t->dtype())) return false;
  return std::fabs(t->get_f64(0) - x) <= tol * std::max(1.0, std::fabs(x));
}

Status replace_value(Graph& g, Value* old_value, Value* new_value) {
  bool was_output = old_value->is_graph_output;
  std::string name = old_value->name;
  g.replace_all_uses(old_value, new_value);
  if (was_output) {
    KILN_RETURN_IF_ERROR(g.rename_value(old_value, name + "__replaced"));
    KILN_RETURN_IF_ERROR(g.rename_value(new_value, name));
  }
  return Status::Ok();
}

Value* add_constant(Graph& g, const std::string& hint, Tensor t) {
  Value* v = g.add_unique_value(hint);
  v->dtype = t.dtype();
  v->shape = t.shape();
  v->shape_known = true;
  v->constant = std::make_shared<const Tensor>(std::move(t));
  return v;
}

}  // namespace kiln
