#include "ops/fused/fused_util.h"

#include <utility>

namespace kiln {

namespace {

Expected<Tensor> run_in(const std::string& domain, int64_t opset, const std::string& op, const Node& parent,
                        const std::map<std::string, Attr>& attrs, const std::vector<const Tensor*>& inputs,
                        const Limits& limits) {
  const OpSchema* schema = OpRegistry::global().find(domain, op, opset);
  if (!schema) return Internal("fused op needs ", domain.empty() ? "" : domain + ".", op, ", which is not registered");
  Node node;
  node.name = parent.name;
  node.op = op;
  node.domain = domain;
  node.opset = opset;
  node.attrs = attrs;
  Value dummy_in, dummy_out;
  for (const Tensor* t : inputs) node.inputs.push_back(t ? &dummy_in : nullptr);
  node.outputs.push_back(&dummy_out);
  CpuContext ctx(node, inputs, limits);
  KILN_RETURN_IF_ERROR(schema->cpu(ctx));
  return std::move(ctx.outputs()[0]);
}

}  // namespace

OpSchema fused_schema(const char* name, int min_inputs, int max_inputs) {
  OpSchema s;
  s.domain = "kiln";
  s.name = name;
  s.family = "fused";
  s.min_inputs = min_inputs;
  s.max_inputs = max_inputs;
  s.since_opset = 1;
  return s;
}

std::vector<int64_t> perm_swapping(size_t rank, size_t a, size_t b) {
  std::vector<int64_t> perm(rank);
  for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(i);
  std::swap(perm[a], perm[b]);
  return perm;
}

Expected<Tensor> run_component(const std::string& op, const Node& parent, const std::map<std::string, Attr>& attrs,
                               const std::vector<const Tensor*>& inputs, const Limits& limits) {
  return run_in("", kMaxOnnxOpset, op, parent, attrs, inputs, limits);
}

Expected<Tensor> run_kiln_component(const std::string& op, const Node& parent,
                                    const std::map<std::string, Attr>& attrs,
                                    const std::vector<const Tensor*>& inputs, const Limits& limits) {
  return run_in("kiln", 1, op, parent, attrs, inputs, limits);
}

Status infer_component(const std::string& op, InferContext& ctx, const std::vector<Value*>& inputs,
                       const std::map<std::string, Attr>& attrs) {
  const OpSchema* schema = OpRegistry::global().find("", op, kMaxOnnxOpset);
  if (!schema) return Internal("fused op needs ", op, ", which is not registered");
  Node node;
  node.name = ctx.node().name;
  node.op = op;
  node.opset = kMaxOnnxOpset;
  node.attrs = attrs;
  node.inputs = inputs;
  Value out;
  node.outputs.push_back(&out);
  InferContext inner(node, ctx.limits());
  KILN_RETURN_IF_ERROR(schema->infer(inner));
  ctx.set_output(0, inner.outputs()[0].dtype, inner.outputs()[0].shape);
  return Status::Ok();
}

}  // namespace kiln
