#include "onnx/function_inliner.h"

#include <deque>

namespace kiln::onnx {
namespace {

using OpsetMap = std::map<std::string, int64_t>;

struct Inliner {
  const ModelProto& model;
  std::map<std::pair<std::string, std::string>, const FunctionProto*> functions;
  std::deque<OpsetMap>& function_opsets;  // stable addresses
  std::map<const FunctionProto*, const OpsetMap*> opsets_of;
  const Limits& limits;
  std::vector<ResolvedNode> out;
  int64_t call_counter = 0;

  const FunctionProto* find(const NodeProto& n) const {
    auto it = functions.find({canonical_domain(n.domain), n.op_type});
    return it == functions.end() ? nullptr : it->second;
  }

  // Binds attribute references inside a function body to the call's values.
  static void bind_attributes(NodeProto& node, const std::map<std::string, const AttributeProto*>& bound) {
    std::vector<AttributeProto> attrs;
    for (AttributeProto& a : node.attributes) {
      if (a.ref_attr_name.empty()) {
        attrs.push_back(std::move(a));
        continue;
      }
      auto it = bound.find(a.ref_attr_name);
      if (it == bound.end()) continue;  // unbound reference: the attribute is absent
      AttributeProto copy = *it->second;
      copy.name = a.name;
      copy.ref_attr_name.clear();
      attrs.push_back(std::move(copy));
    }
    node.attributes = std::move(attrs);
  }

  Status expand(const NodeProto& call, const OpsetMap* opsets, int depth, const std::string& prefix) {
    const FunctionProto* fn = find(call);
    if (!fn) {
      ResolvedNode r;
      r.node = call;
      r.opsets = opsets;
      if (static_cast<int64_t>(out.size()) >= limits.max_nodes)
        return ResourceExhausted("more than ", limits.max_nodes, " nodes after inlining functions");
      out.push_back(std::move(r));
      return Status::Ok();
    }
    if (depth >= limits.max_nesting_depth)
      return ResourceExhausted("function '", fn->name, "' is nested deeper than ", limits.max_nesting_depth,
                               " calls (recursive functions are not allowed)");
    std::string scope = str(prefix, call.name.empty() ? fn->name : call.name, "#", call_counter++, "/");
    // Formal -> actual names; values internal to the body get the scope prefix.
    std::map<std::string, std::string> rename;
    for (size_t i = 0; i < fn->inputs.size(); ++i)
      rename[fn->inputs[i]] = i < call.inputs.size() ? call.inputs[i] : std::string();
    for (size_t i = 0; i < fn->outputs.size(); ++i)
      rename[fn->outputs[i]] = i < call.outputs.size() ? call.outputs[i] : std::string();
    auto map_name = [&](const std::string& name) -> std::string {
      if (name.empty()) return name;
      auto it = rename.find(name);
      return it != rename.end() ? it->second : scope + name;
    };
    std::map<std::string, const AttributeProto*> bound;
    for (const AttributeProto& d : fn->attribute_defaults) bound[d.name] = &d;
    for (const AttributeProto& a : call.attributes) bound[a.name] = &a;
    const OpsetMap* inner = opsets_of.at(fn);
    for (const NodeProto& body : fn->nodes) {
      NodeProto n = body;
      for (auto& s : n.inputs) s = map_name(s);
      for (auto& s : n.outputs) s = map_name(s);
      n.name = scope + (n.name.empty() ? n.op_type : n.name);
      bind_attributes(n, bound);
      KILN_RETURN_IF_ERROR(expand(n, inner, depth + 1, scope));
    }
    return Status::Ok();
  }
};

}  // namespace

Expected<std::vector<ResolvedNode>> inline_functions(const ModelProto& model, const OpsetMap& model_opsets,
                                                     std::vector<OpsetMap>& opset_storage, const Limits& limits) {
  std::deque<OpsetMap> fn_opsets;
  Inliner inl{model, {}, fn_opsets, {}, limits, {}, 0};
  for (const FunctionProto& f : model.functions) {
    auto key = std::make_pair(canonical_domain(f.domain), f.name);
    if (inl.functions.count(key))
      return InvalidArgument("function '", f.domain, ".", f.name, "' is defined twice");
    inl.functions[key] = &f;
    OpsetMap m = model_opsets;  // a function inherits the model's imports it does not override
    for (const OperatorSetId& o : f.opset_imports) m[canonical_domain(o.domain)] = o.version;
    fn_opsets.push_back(std::move(m));
    inl.opsets_of[&f] = &fn_opsets.back();
  }
  for (const NodeProto& n : model.graph.nodes) KILN_RETURN_IF_ERROR(inl.expand(n, &model_opsets, 0, ""));
  // Move the function opset maps into caller-owned storage and re-point nodes.
  opset_storage.assign(fn_opsets.begin(), fn_opsets.end());
  std::map<const OpsetMap*, const OpsetMap*> moved;
  for (size_t i = 0; i < fn_opsets.size(); ++i) moved[&fn_opsets[i]] = &opset_storage[i];
  for (ResolvedNode& r : inl.out) {
    auto it = moved.find(r.opsets);
    if (it != moved.end()) r.opsets = it->second;
  }
  return std::move(inl.out);
}

}  // namespace kiln::onnx
