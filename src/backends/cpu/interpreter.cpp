#include "backends/cpu/interpreter.h"

#include <unordered_map>

namespace kiln {

namespace {

Status check_output(const Node& node, size_t i, const Tensor& t) {
  const Value* v = node.outputs[i];
  if (t.dtype() != v->dtype)
    return node.error(ErrorCode::kInternal, "output '", v->name, "' is ", dtype_name(t.dtype()),
                      " but inference said ", dtype_name(v->dtype));
  if (!v->shape_known) return Status::Ok();
  bool match = static_cast<size_t>(t.rank()) == v->shape.rank();
  for (size_t d = 0; match && d < v->shape.rank(); ++d)
    if (v->shape[d].is_static() && v->shape[d].value != t.dim(static_cast<int64_t>(d))) match = false;
  if (!match)
    return node.error(ErrorCode::kInternal, "output '", v->name, "' has shape ", dims_to_string(t.dims()),
                      " but inference said ", v->shape.to_string());
  return Status::Ok();
}

}  // namespace

Expected<std::vector<Tensor>> run_node_cpu(const Node& node, const std::vector<const Tensor*>& inputs,
                                           const Limits& limits, const OpRegistry& registry) {
  const OpSchema* schema = registry.find(node.domain, node.op, node.opset);
  if (!schema || !schema->cpu) return node.error(ErrorCode::kUnsupported, "no CPU reference kernel");
  CpuContext ctx(node, inputs, limits);
  KILN_RETURN_IF_ERROR(schema->cpu(ctx));
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    if (!node.outputs[i]) continue;
    if (ctx.outputs()[i].dtype() == DType::kUndefined)
      return node.error(ErrorCode::kInternal, "the CPU kernel did not produce output ", i);
    KILN_RETURN_IF_ERROR(check_output(node, i, ctx.outputs()[i]));
  }
  return std::move(ctx.outputs());
}

Status check_input(const Value& decl, const Tensor& t, std::map<std::string, int64_t>& symbols) {
  if (t.dtype() != decl.dtype)
    return InvalidArgument("input '", decl.name, "' must be ", dtype_name(decl.dtype), ", got ",
                           dtype_name(t.dtype()));
  if (!decl.shape_known) return Status::Ok();
  if (static_cast<size_t>(t.rank()) != decl.shape.rank())
    return InvalidArgument("input '", decl.name, "' must have shape ", decl.shape.to_string(), ", got ",
                           dims_to_string(t.dims()));
  for (size_t d = 0; d < decl.shape.rank(); ++d) {
    const Dim& dim = decl.shape[d];
    int64_t got = t.dim(static_cast<int64_t>(d));
    if (dim.is_static() && dim.value != got)
      return InvalidArgument("input '", decl.name, "' must have shape ", decl.shape.to_string(), ", got ",
                             dims_to_string(t.dims()));
    if (!dim.is_static() && !dim.symbol.empty()) {
      auto [it, inserted] = symbols.emplace(dim.symbol, got);
      if (!inserted && it->second != got)
        return InvalidArgument("input '", decl.name, "' dim '", dim.symbol, "' is ", got,
                               " but another input bound it to ", it->second);
    }
  }
  return Status::Ok();
}

Expected<std::vector<Tensor>> run_graph_cpu(const Graph& graph, const std::map<std::string, Tensor>& inputs,
                                            const Limits& limits) {
  std::unordered_map<const Value*, Tensor> env;
  std::map<std::string, int64_t> symbols;
  for (const Value* in : graph.inputs) {
    auto it = inputs.find(in->name);
    if (it == inputs.end()) return InvalidArgument("no tensor given for graph input '", in->name, "'");
    KILN_RETURN_IF_ERROR(check_input(*in, it->second, symbols));
    env[in] = it->second;
  }
  for (const auto& [name, t] : inputs)
    if (!graph.find_value(name) || !graph.find_value(name)->is_graph_input)
      return InvalidArgument("'", name, "' is not an input of the graph");

  // Last use of each value, so intermediates are freed as soon as possible.
  std::unordered_map<const Value*, size_t> last_use;
  for (size_t n = 0; n < graph.nodes().size(); ++n)
    for (const Value* in : graph.nodes()[n]->inputs)
      if (in) last_use[in] = n;

  for (size_t n = 0; n < graph.nodes().size(); ++n) {
    const Node& node = *graph.nodes()[n];
    std::vector<const Tensor*> args;
    for (const Value* in : node.inputs) {
      if (!in) {
        args.push_back(nullptr);
      } else if (in->constant) {
        args.push_back(in->constant.get());
      } else {
        auto it = env.find(in);
        if (it == env.end()) return Internal(node.label(), ": input '", in->name, "' was not computed");
        args.push_back(&it->second);
      }
    }
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outs, run_node_cpu(node, args, limits));
    for (size_t i = 0; i < node.outputs.size(); ++i)
      if (node.outputs[i]) env[node.outputs[i]] = std::move(outs[i]);
    for (const Value* in : node.inputs)
      if (in && !in->is_graph_output && last_use[in] == n) env.erase(in);
  }

  std::vector<Tensor> results;
  for (const Value* out : graph.outputs) {
    if (out->constant) {
      results.push_back(*out->constant);
      continue;
    }
    auto it = env.find(out);
    if (it == env.end()) return Internal("graph output '", out->name, "' was not computed");
    results.push_back(it->second);
  }
  return results;
}

}  // namespace kiln
