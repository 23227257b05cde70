#include "onnx/importer.h"

#include <filesystem>
#include <set>

#include "backends/cpu/interpreter.h"
#include "ir/verifier.h"
#include "onnx/function_inliner.h"
#include "ops/infer.h"

namespace kiln {
namespace {

using onnx::canonical_domain;
using OpsetMap = std::map<std::string, int64_t>;

Expected<Attr> convert_attribute(const onnx::AttributeProto& a, const std::string& model_dir,
                                 const std::shared_ptr<const void>& owner, const Limits& limits) {
  Attr out;
  auto tensor = [&](const onnx::TensorProto& t) { return onnx::tensor_from_proto(t, model_dir, owner, limits); };
  switch (a.type) {
    case onnx::AttributeProto::kFloat: out = Attr::of_float(a.f); break;
    case onnx::AttributeProto::kInt: out = Attr::of_int(a.i); break;
    case onnx::AttributeProto::kString: out = Attr::of_string(a.s); break;
    case onnx::AttributeProto::kFloats: out = Attr::of_floats(a.floats); break;
    case onnx::AttributeProto::kInts: out = Attr::of_ints(a.ints); break;
    case onnx::AttributeProto::kStrings:
      out.kind = AttrKind::kStrings;
      out.strings = a.strings;
      break;
    case onnx::AttributeProto::kTensor: {
      KILN_ASSIGN_OR_RETURN(Tensor t, tensor(a.t));
      out = Attr::of_tensor(std::move(t));
      break;
    }
    case onnx::AttributeProto::kTensors:
      out.kind = AttrKind::kTensors;
      for (const auto& tp : a.tensors) {
        KILN_ASSIGN_OR_RETURN(Tensor t, tensor(tp));
        out.tensors.push_back(std::move(t));
      }
      break;
    // Subgraph attributes belong to control-flow ops, which Kiln reports as
    // unsupported before their attributes are needed.
    case onnx::AttributeProto::kGraph: out.kind = AttrKind::kGraph; break;
    case onnx::AttributeProto::kGraphs: out.kind = AttrKind::kGraphs; break;
    default:
      return Unsupported("attribute '", a.name, "' has type ", a.type, ", which Kiln does not read");
  }
  return out;
}

// Declared type and shape of a graph input or output.
Status apply_value_info(const onnx::ValueInfoProto& vi, Value& v, const ImportOptions& options) {
  if (!vi.has_type || vi.type.kind != onnx::TypeProto::Kind::kTensor)
    return Unsupported("graph input/output '", vi.name, "' is not a tensor (sequences, maps and optionals are not supported)");
  v.dtype = dtype_from_onnx(vi.type.elem_type);
  if (v.dtype == DType::kUndefined)
    return Unsupported("tensor '", vi.name, "' has type ", onnx_dtype_name(vi.type.elem_type),
                       ", which Kiln does not support");
  auto forced = options.input_shapes.find(vi.name);
  if (forced != options.input_shapes.end()) {
    if (vi.type.has_shape && vi.type.dims.size() != forced->second.size())
      return InvalidArgument("shape given for input '", vi.name, "' has rank ", forced->second.size(),
                             " but the model declares rank ", vi.type.dims.size());
    for (size_t i = 0; vi.type.has_shape && i < vi.type.dims.size(); ++i) {
      const auto& d = vi.type.dims[i];
      if (d.has_value && d.value != forced->second[i])
        return InvalidArgument("shape given for input '", vi.name, "' has ", forced->second[i], " at dim ", i,
                               " but the model fixes it to ", d.value);
    }
    v.shape = Shape::of(forced->second);
    v.shape_known = true;
    return Status::Ok();
  }
  if (!vi.type.has_shape) return Status::Ok();  // rank unknown
  v.shape_known = true;
  v.shape.dims.clear();
  for (size_t i = 0; i < vi.type.dims.size(); ++i) {
    const auto& d = vi.type.dims[i];
    if (d.has_value && d.value >= 0) {
      v.shape.dims.emplace_back(d.value);
    } else {
      v.shape.dims.push_back(Dim::symbolic(d.param.empty() ? str(vi.name, "_dim", i) : d.param));
    }
  }
  return Status::Ok();
}

std::string unsupported_message(const std::vector<UnsupportedNode>& list) {
  std::string msg = str(list.size(), " node", list.size() == 1 ? " is" : "s are", " not supported:");
  for (const auto& u : list)
    msg += str("\n  node '", u.node, "': ", u.domain.empty() ? "ai.onnx" : u.domain, ".", u.op, " (opset ",
               u.opset, ")", u.reason.empty() ? "" : " - " + u.reason);
  return msg;
}

std::vector<UnsupportedNode> find_unsupported_nodes(const std::vector<onnx::ResolvedNode>& nodes) {
  std::vector<UnsupportedNode> out;
  const OpRegistry& reg = OpRegistry::global();
  for (const auto& r : nodes) {
    std::string domain = canonical_domain(r.node.domain);
    auto it = r.opsets->find(domain);
    int64_t opset = it == r.opsets->end() ? 0 : it->second;
    std::string reason;
    if (it == r.opsets->end()) {
      reason = "the model imports no opset for this domain";
    } else if (const OpSchema* s = reg.find_any(domain, r.node.op_type); !s) {
      reason = "no such op in Kiln";
    } else if (opset < s->since_opset) {
      reason = str("Kiln supports it from opset ", s->since_opset);
    } else if (domain.empty() && opset > kMaxOnnxOpset) {
      reason = str("Kiln knows opsets up to ", kMaxOnnxOpset);
    } else {
      continue;
    }
    out.push_back({r.node.name, r.node.op_type, domain, opset, reason});
  }
  return out;
}

OpsetMap model_opsets(const onnx::ModelProto& model) {
  OpsetMap m;
  for (const auto& o : model.opset_imports) m[canonical_domain(o.domain)] = o.version;
  if (!m.count("") && model.ir_version < 3) m[""] = 1;
  return m;
}

class Importer {
 public:
  Importer(const ImportOptions& options, std::string model_dir) : options_(options), model_dir_(std::move(model_dir)) {}

  Expected<ImportedModel> run(onnx::ModelProto model) {
    ImportedModel result;
    result.graph = std::make_unique<Graph>();
    graph_ = result.graph.get();
    owner_ = model.file;
    if (!model.has_graph) return InvalidArgument("the model has no graph");
    result.opsets = model_opsets(model);  // nodes of domains not imported are reported below
    if (model.graph.sparse_initializer_count)
      return Unsupported("the model has sparse initializers, which Kiln does not support");
    graph_->name = model.graph.name;

    std::vector<OpsetMap> fn_opsets;
    KILN_ASSIGN_OR_RETURN(auto nodes, onnx::inline_functions(model, result.opsets, fn_opsets, options_.limits));
    auto unsupported = find_unsupported_nodes(nodes);
    if (!unsupported.empty()) return Unsupported(unsupported_message(unsupported));

    KILN_RETURN_IF_ERROR(add_initializers(model.graph));
    KILN_RETURN_IF_ERROR(add_inputs(model.graph));
    KILN_RETURN_IF_ERROR(add_nodes(nodes));
    KILN_RETURN_IF_ERROR(add_outputs(model.graph));
    KILN_RETURN_IF_ERROR(graph_->sort_topologically());
    graph_->remove_dead_nodes();
    KILN_RETURN_IF_ERROR(infer_and_fold());
    graph_->remove_dead_nodes();
    graph_->remove_dead_values();
    KILN_RETURN_IF_ERROR(verify_graph(*graph_));
    result.proto = std::move(model);
    return result;
  }

 private:
  Status add_initializers(const onnx::GraphProto& g) {
    for (const auto& init : g.initializers) {
      if (init.name.empty()) return InvalidArgument("an initializer has no name");
      auto t = onnx::tensor_from_proto(init, model_dir_, owner_, options_.limits);
      if (!t.ok()) return t.status().with_context(str("initializer '", init.name, "'"));
      KILN_ASSIGN_OR_RETURN(Value * v, graph_->add_value(init.name));
      v->dtype = t->dtype();
      v->shape = t->shape();
      v->shape_known = true;
      v->constant = std::make_shared<const Tensor>(std::move(t).value());
    }
    return Status::Ok();
  }

  Status add_inputs(const onnx::GraphProto& g) {
    std::set<std::string> seen;
    for (const auto& vi : g.inputs) {
      if (!seen.insert(vi.name).second) return InvalidArgument("graph input '", vi.name, "' is listed twice");
      if (Value* existing = graph_->find_value(vi.name); existing && existing->constant) continue;  // IR < 4 style
      KILN_ASSIGN_OR_RETURN(Value * v, graph_->add_value(vi.name));
      KILN_RETURN_IF_ERROR(apply_value_info(vi, *v, options_));
      if (auto fixed = options_.input_values.find(vi.name); fixed != options_.input_values.end()) {
        KILN_RETURN_IF_ERROR(fix_input(*v, fixed->second));
        continue;
      }
      v->is_graph_input = true;
      graph_->inputs.push_back(v);
    }
    for (const auto& [name, dims] : options_.input_shapes) {
      Value* v = graph_->find_value(name);
      if (!v || !v->is_graph_input) return InvalidArgument("a shape was given for '", name, "', which is not a graph input");
    }
    for (const auto& [name, value] : options_.input_values)
      if (!seen.count(name)) return InvalidArgument("a value was given for '", name, "', which is not a graph input");
    return Status::Ok();
  }

  // Makes input `v` the constant `value`, which must fit its declaration.
  static Status fix_input(Value& v, const Tensor& value) {
    if (value.dtype() != v.dtype)
      return InvalidArgument("the value given for input '", v.name, "' is ", dtype_name(value.dtype()),
                             "; the model declares ", dtype_name(v.dtype));
    if (v.shape_known) {
      bool fits = static_cast<int64_t>(v.shape.rank()) == value.rank();
      for (size_t i = 0; fits && i < v.shape.rank(); ++i)
        fits = !v.shape.dims[i].is_static() || v.shape.dims[i].value == value.dim(static_cast<int64_t>(i));
      if (!fits)
        return InvalidArgument("the value given for input '", v.name, "' has shape ", dims_to_string(value.dims()),
                               "; the model declares ", v.shape.to_string());
    }
    v.shape = Shape::of(value.dims());
    v.shape_known = true;
    v.constant = std::make_shared<const Tensor>(value);
    return Status::Ok();
  }

  Status add_nodes(const std::vector<onnx::ResolvedNode>& nodes) {
    std::set<std::string> names;
    for (size_t index = 0; index < nodes.size(); ++index) {
      const onnx::NodeProto& np = nodes[index].node;
      std::string name = np.name.empty() ? str(np.op_type, "_", index) : np.name;
      while (!names.insert(name).second) name = str(name, "_", index);
      std::vector<Value*> ins, outs;
      for (const std::string& in : np.inputs) {
        if (in.empty()) {
          ins.push_back(nullptr);
          continue;
        }
        Value* v = graph_->find_value(in);
        if (!v) v = pending_value(in);
        ins.push_back(v);
      }
      for (const std::string& out : np.outputs) {
        if (out.empty()) {
          outs.push_back(nullptr);
          continue;
        }
        Value* v = graph_->find_value(out);
        if (v && (v->producer || v->is_graph_input || v->constant))
          return InvalidArgument("node '", name, "' (", np.op_type, "): output '", out, "' is already defined");
        if (!v) {
          KILN_ASSIGN_OR_RETURN(v, graph_->add_value(out));
        }
        outs.push_back(v);
      }
      std::string domain = canonical_domain(np.domain);
      int64_t opset = nodes[index].opsets->at(domain);
      KILN_ASSIGN_OR_RETURN(Node * node, graph_->add_node(np.op_type, name, ins, outs, domain, opset));
      for (const auto& a : np.attributes) {
        if (a.name.empty()) return node->error(ErrorCode::kInvalidArgument, "an attribute has no name");
        auto attr = convert_attribute(a, model_dir_, owner_, options_.limits);
        if (!attr.ok()) return attr.status().with_context(node->label());
        if (!node->attrs.emplace(a.name, std::move(attr).value()).second)
          return node->error(ErrorCode::kInvalidArgument, "attribute '", a.name, "' is given twice");
      }
    }
    for (const auto& [name, v] : pending_)
      if (!v->producer)
        return InvalidArgument("value '", name, "' is used by node '", v->users.empty() ? "?" : v->users.front()->name,
                               "' but is not a graph input, an initializer or a node output");
    return Status::Ok();
  }

  // A value used before the node that produces it (unsorted models).
  Value* pending_value(const std::string& name) {
    Value* v = graph_->add_value(name).value();
    pending_[name] = v;
    return v;
  }

  Status add_outputs(const onnx::GraphProto& g) {
    for (const auto& vi : g.outputs) {
      Value* v = graph_->find_value(vi.name);
      if (!v) return InvalidArgument("graph output '", vi.name, "' is not produced by any node");
      if (!v->is_graph_output) {
        v->is_graph_output = true;
        graph_->outputs.push_back(v);
      }
    }
    if (graph_->outputs.empty()) return InvalidArgument("the graph has no outputs");
    return Status::Ok();
  }

  // Runs each node's upgrade and inference in order; nodes whose inputs are
  // all constant and whose outputs are small are evaluated on the CPU
  // reference and replaced by their values (shape arithmetic).
  Status infer_and_fold() {
    const OpRegistry& reg = OpRegistry::global();
    std::vector<Node*> order;
    for (const auto& n : graph_->nodes()) order.push_back(n.get());
    std::vector<Node*> folded;
    for (Node* node : order) {
      const OpSchema* schema = reg.find(node->domain, node->op, node->opset);
      if (schema->upgrade) KILN_RETURN_IF_ERROR(schema->upgrade(*node, *graph_));
      KILN_RETURN_IF_ERROR(infer_node(*node, options_.limits, reg));
      if (!options_.fold_constants) continue;
      bool outputs_known = true;
      for (Value* out : node->outputs)
        if (out && !out->constant) outputs_known = false;
      if (!outputs_known && should_fold(*node)) {
        std::vector<const Tensor*> args;
        for (Value* in : node->inputs) args.push_back(in ? in->constant.get() : nullptr);
        KILN_ASSIGN_OR_RETURN(std::vector<Tensor> values, run_node_cpu(*node, args, options_.limits, reg));
        for (size_t i = 0; i < node->outputs.size(); ++i)
          if (node->outputs[i]) node->outputs[i]->constant = std::make_shared<const Tensor>(std::move(values[i]));
        outputs_known = true;
      }
      if (outputs_known) folded.push_back(node);
    }
    for (Node* node : folded) graph_->remove_node(node);
    return Status::Ok();
  }

  bool should_fold(const Node& node) const {
    bool any_input = false;
    for (const Value* in : node.inputs) {
      if (!in) continue;
      if (!in->constant) return false;
      any_input = true;
    }
    for (const Value* out : node.outputs) {
      if (!out) continue;
      if (!out->shape_known) return false;
      auto n = out->shape.numel();
      // A node without inputs (Constant) only materialises its attribute.
      if (!n.ok() || (any_input && *n > options_.limits.max_folded_elements)) return false;
    }
    return true;
  }

  const ImportOptions& options_;
  std::string model_dir_;
  Graph* graph_ = nullptr;
  std::shared_ptr<const void> owner_;
  std::map<std::string, Value*> pending_;
};

}  // namespace

Expected<std::vector<UnsupportedNode>> list_unsupported_nodes(const onnx::ModelProto& model, const Limits& limits) {
  OpsetMap opsets = model_opsets(model);
  std::vector<OpsetMap> fn_opsets;
  KILN_ASSIGN_OR_RETURN(auto nodes, onnx::inline_functions(model, opsets, fn_opsets, limits));
  return find_unsupported_nodes(nodes);
}

Expected<ImportedModel> import_onnx_model(onnx::ModelProto model, const std::string& model_dir,
                                          const ImportOptions& options) {
  return Importer(options, model_dir).run(std::move(model));
}

Expected<ImportedModel> import_onnx_file(const std::string& path, const ImportOptions& options) {
  auto model = onnx::load_model(path, options.limits);
  if (!model.ok()) return model.status();  // the reader's messages start with the path
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  auto imported = import_onnx_model(std::move(model).value(), dir, options);
  if (!imported.ok()) return imported.status().with_context(path);
  return imported;
}

}  // namespace kiln
