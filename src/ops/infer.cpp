#include "ops/infer.h"

namespace kiln {

Status infer_node(Node& node, const Limits& limits, const OpRegistry& registry) {
  const OpSchema* schema = registry.find(node.domain, node.op, node.opset);
  if (!schema) return node.error(ErrorCode::kUnsupported, "op is not supported at opset ", node.opset);
  // Trailing omitted inputs/outputs do not count towards arity.
  size_t n_in = node.inputs.size();
  while (n_in > 0 && !node.inputs[n_in - 1]) --n_in;
  size_t n_out = node.outputs.size();
  while (n_out > 0 && !node.outputs[n_out - 1]) --n_out;
  if (static_cast<int>(n_in) < schema->min_inputs || static_cast<int>(n_in) > schema->max_inputs)
    return node.error(ErrorCode::kInvalidArgument, "has ", n_in, " inputs; ", node.op, " takes ", schema->min_inputs,
                      schema->min_inputs == schema->max_inputs ? "" : str(" to ", schema->max_inputs));
  if (static_cast<int>(n_out) < schema->min_outputs || static_cast<int>(n_out) > schema->max_outputs)
    return node.error(ErrorCode::kInvalidArgument, "has ", n_out, " outputs; ", node.op, " gives ",
                      schema->min_outputs,
                      schema->min_outputs == schema->max_outputs ? "" : str(" to ", schema->max_outputs));
  for (const Value* in : node.inputs) {
    if (in && in->dtype == DType::kUndefined)
      return node.error(ErrorCode::kInvalidArgument, "input '", in->name, "' has no known type");
    if (in && !in->shape_known)
      return node.error(ErrorCode::kUnsupported, "input '", in->name, "' has unknown rank");
  }
  InferContext ctx(node, limits);
  KILN_RETURN_IF_ERROR(schema->infer(ctx));
  const auto& outs = ctx.outputs();
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    Value* v = node.outputs[i];
    if (!v) continue;
    if (i >= outs.size() || !outs[i].set)
      return node.error(ErrorCode::kInternal, "shape inference did not set output ", i);
    v->dtype = outs[i].dtype;
    v->shape = outs[i].shape;
    v->shape_known = outs[i].rank_known;
    if (outs[i].value) v->constant = outs[i].value;
  }
  return Status::Ok();
}

Status infer_graph(Graph& graph, const Limits& limits, const OpRegistry& registry) {
  for (const auto& node : graph.nodes()) KILN_RETURN_IF_ERROR(infer_node(*node, limits, registry));
  return Status::Ok();
}

Value* add_constant_input(Graph& graph, Node& node, size_t index, Tensor value, const std::string& hint) {
  Value* v = graph.add_unique_value(node.name + "_" + hint);
  v->dtype = value.dtype();
  v->shape = value.shape();
  v->shape_known = true;
  v->constant = std::make_shared<const Tensor>(std::move(value));
  if (node.inputs.size() <= index) node.inputs.resize(index + 1, nullptr);
  node.inputs[index] = v;
  v->users.push_back(&node);
  return v;
}

}  // namespace kiln
