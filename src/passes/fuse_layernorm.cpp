// Add(X, Z) -> LayerNormalization(last axis) with X and Z activations of one
// static shape (the residual connection before each of BERT's layer norms)
// -> kiln.FusedLayerNorm(X, Z, Scale, B), which reads X and Z once and never
// writes the sum. The Add must feed only the norm's X, and the norm's Mean
// and InvStdDev outputs must be absent or unused (the fused op has none).
#include "passes/pipeline.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

// Output i of `n` is absent, or read by no node and not a graph output.
bool output_unused(const Node& n, size_t i) {
  if (!n.has_output(i)) return true;
  const Value* v = n.outputs[i];
  return v->users.empty() && !v->is_graph_output;
}

bool same_static_activations(const Value* x, const Value* z) {
  return x && z && !x->constant && !z->constant && x->shape_known && z->shape_known && x->shape.rank() > 0 &&
         x->shape.is_static() && x->shape == z->shape && x->dtype == z->dtype && dtype_is_float(x->dtype);
}

// The LayerNormalization that the Add's sum feeds, if the pair fuses.
Node* fusable_norm(const Node& add) {
  if (add.op != "Add" || !add.domain.empty() || add.inputs.size() != 2 || !add.has_output(0)) return nullptr;
  if (!same_static_activations(add.inputs[0], add.inputs[1])) return nullptr;
  Value* sum = add.outputs[0];
  Node* ln = sole_user(sum);  // also refuses a sum that is a graph output
  if (!ln || ln->op != "LayerNormalization" || !ln->domain.empty() || ln->opset < 17) return nullptr;
  if (ln->inputs.size() < 2 || ln->inputs[0] != sum || !ln->has_input(1)) return nullptr;
  for (size_t i = 1; i < ln->inputs.size(); ++i)
    if (ln->inputs[i] == sum) return nullptr;  // the sum is also Scale or B
  if (!ln->has_output(0) || !output_unused(*ln, 1) || !output_unused(*ln, 2)) return nullptr;
  auto axis = ln->attr_int("axis", -1);
  const int64_t rank = static_cast<int64_t>(sum->shape.rank());
  if (!axis.ok() || (*axis != -1 && *axis != rank - 1)) return nullptr;
  return ln;
}

}  // namespace

Status fuse_layernorm(Graph& graph) {
  std::vector<std::pair<Node*, Node*>> pairs;  // (Add, LayerNormalization)
  for (const auto& n : graph.nodes())
    if (Node* ln = fusable_norm(*n)) pairs.emplace_back(n.get(), ln);
  for (auto [add, ln] : pairs) {
    std::vector<Value*> inputs = {add->inputs[0], add->inputs[1], ln->inputs[1]};
    if (ln->has_input(2)) inputs.push_back(ln->inputs[2]);
    Value* y = ln->outputs[0];
    std::string name = ln->name;
    std::map<std::string, Attr> attrs = ln->attrs;  // axis, epsilon, stash_type
    graph.remove_node(ln);
    graph.remove_node(add);
    KILN_ASSIGN_OR_RETURN(Node * fused, graph.add_node("FusedLayerNorm", name, inputs, {y}, "kiln", 1));
    fused->attrs = std::move(attrs);
  }
  if (!pairs.empty()) KILN_RETURN_IF_ERROR(graph.sort_topologically());
  return Status::Ok();
}

}  // namespace kiln
