// --fp16: every float32 activation becomes float16 where the op allows it,
// as TensorRT's FP16 mode does. Float32 weights feeding converted nodes get a
// float16 copy; engine inputs and outputs keep the model's types (Cast
// layers at the boundary). Kernels keep float32 accumulation and statistics
// internally (reductions, softmax, normalization) — that is their contract,
// not this pass's. Inference re-runs afterwards, so a wrong conversion shows
// as a type error naming the node.
#include <set>
#include <unordered_map>

#include "ops/infer.h"
#include "passes/pipeline.h"

namespace kiln {
namespace {

// Ops kept in float32: index/shape producers, quantization (its scales are
// float32 by definition) and ops whose outputs overflow fp16 easily.
const std::set<std::string> kKeepFloat32 = {
    "NonMaxSuppression", "Range", "QuantizeLinear", "DequantizeLinear", "ReduceProd", "ReduceSumSquare",
    "CumSum", "OneHot", "ConstantOfShape", "EyeLike", "RandomNormal", "RandomUniform", "Einsum"};

// Float inputs that are parameters of their own type, not data of type T.
bool keeps_input_type(const Node& n, size_t i) {
  if (n.op == "Resize") return i == 1 || i == 2;  // roi, scales
  if (n.op == "Dropout") return i == 1;          // ratio
  return false;
}

bool eligible(const Node& n) {
  if (!n.domain.empty() && n.domain != "kiln") return false;
  if (kKeepFloat32.count(n.op)) return false;
  if (n.op == "Cast") {
    const Attr* to = n.find_attr("to");
    return to && to->kind == AttrKind::kInt && to->i == static_cast<int64_t>(DType::kFloat32);
  }
  for (const Value* out : n.outputs)
    if (out && out->dtype == DType::kFloat32) return true;
  for (const Value* in : n.inputs)
    if (in && in->dtype == DType::kFloat32 && !in->constant) return true;
  return false;
}

class Fp16Rewriter {
 public:
  explicit Fp16Rewriter(Graph& g) : g_(g) {}

  Status run() {
    std::vector<Node*> order;
    for (const auto& n : g_.nodes()) {
      order.push_back(n.get());
      if (eligible(*n)) fp16_nodes_.insert(n.get());
    }
    for (Node* n : order) {
      if (!fp16_nodes_.count(n)) continue;
      for (size_t i = 0; i < n->inputs.size(); ++i) {
        Value* in = n->inputs[i];
        if (!in || in->dtype != DType::kFloat32 || keeps_input_type(*n, i)) continue;
        KILN_ASSIGN_OR_RETURN(Value * half, as_fp16(in));
        replace_input(*n, i, half);
      }
      for (Value* out : n->outputs) {
        if (out && out->dtype == DType::kFloat32) {
          out->dtype = DType::kFloat16;
          converted_.insert(out);
        }
      }
      if (n->op == "Cast") n->attrs["to"] = Attr::of_int(static_cast<int64_t>(DType::kFloat16));
    }
    // Remaining float32 consumers of converted values read them through a Cast back.
    for (Node* n : order) {
      if (fp16_nodes_.count(n)) continue;
      for (size_t i = 0; i < n->inputs.size(); ++i) {
        Value* in = n->inputs[i];
        if (!in || !converted_.count(in)) continue;
        KILN_ASSIGN_OR_RETURN(Value * full, cast_of(in, DType::kFloat32));
        replace_input(*n, i, full);
      }
    }
    KILN_RETURN_IF_ERROR(restore_output_types());
    KILN_RETURN_IF_ERROR(g_.sort_topologically());
    return infer_graph(g_, Limits{});
  }

 private:
  void replace_input(Node& n, size_t i, Value* v) {
    Value* old = n.inputs[i];
    auto& users = old->users;
    for (auto it = users.begin(); it != users.end(); ++it)
      if (*it == &n) {
        users.erase(it);
        break;
      }
    n.inputs[i] = v;
    v->users.push_back(&n);
  }

  // The float16 version of a float32 value: a converted constant, or a Cast.
  Expected<Value*> as_fp16(Value* v) {
    if (v->constant) {
      auto it = half_constants_.find(v);
      if (it != half_constants_.end()) return it->second;
      KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::alloc(DType::kFloat16, v->constant->dims()));
      for (int64_t k = 0; k < t.numel(); ++k) t.set_f64(k, v->constant->get_f64(k));
      Value* h = g_.add_unique_value(v->name + "_fp16");
      h->dtype = DType::kFloat16;
      h->shape = v->shape;
      h->shape_known = true;
      h->constant = std::make_shared<const Tensor>(std::move(t));
      half_constants_[v] = h;
      return h;
    }
    return cast_of(v, DType::kFloat16);
  }

  Expected<Value*> cast_of(Value* v, DType to) {
    auto key = std::make_pair(v, to);
    auto it = casts_.find(key);
    if (it != casts_.end()) return it->second;
    Value* c = g_.add_unique_value(v->name + (to == DType::kFloat16 ? "_to_fp16" : "_to_fp32"));
    c->dtype = to;
    c->shape = v->shape;
    c->shape_known = v->shape_known;
    KILN_ASSIGN_OR_RETURN(Node * n, g_.add_node("Cast", c->name, {v}, {c}, "", 21));
    n->attrs["to"] = Attr::of_int(static_cast<int64_t>(to));
    if (to == DType::kFloat16) converted_.insert(c);
    casts_[key] = c;
    return c;
  }

  // Graph outputs keep the model's float32 type: the fp16 value is renamed
  // and a Cast produces the output under its original name.
  Status restore_output_types() {
    for (Value*& out : g_.outputs) {
      if (!converted_.count(out)) continue;
      std::string name = out->name;
      KILN_RETURN_IF_ERROR(g_.rename_value(out, name + "__fp16"));
      out->is_graph_output = false;
      KILN_ASSIGN_OR_RETURN(Value * full, g_.add_value(name));
      full->dtype = DType::kFloat32;
      full->shape = out->shape;
      full->shape_known = out->shape_known;
      full->is_graph_output = true;
      KILN_ASSIGN_OR_RETURN(Node * n, g_.add_node("Cast", name + "_to_fp32", {out}, {full}, "", 21));
      n->attrs["to"] = Attr::of_int(static_cast<int64_t>(DType::kFloat32));
      out = full;
    }
    return Status::Ok();
  }

  Graph& g_;
  std::unordered_map<const Value*, Value*> half_constants_;
  std::map<std::pair<Value*, DType>, Value*> casts_;
  std::set<const Node*> fp16_nodes_;
  std::set<const Value*> converted_;  // values this pass turned into float16
};

}  // namespace

Status convert_to_fp16(Graph& graph) { return Fp16Rewriter(graph).run(); }

bool fp16_converts_input(const Node& node, size_t input) {
  return eligible(node) && !keeps_input_type(node, input);
}

}  // namespace kiln
