#include "ops/op_case.h"

#include <cmath>
#include <random>

#include "ops/infer.h"

namespace kiln {

void fill_uniform(Tensor& t, double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  bool integral = !dtype_is_float(t.dtype());
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = dist(rng);
    t.set_f64(i, integral ? std::round(v) : v);
  }
}

Expected<CaseGraph> build_case_graph(const OpCase& c, uint64_t seed, const Limits& limits) {
  CaseGraph out;
  out.graph = std::make_unique<Graph>();
  Graph& g = *out.graph;
  g.name = c.name;
  std::vector<Value*> ins;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const CaseInput& ci = c.inputs[i];
    if (ci.omitted) {
      ins.push_back(nullptr);
      continue;
    }
    KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::alloc(ci.dtype, ci.dims, limits));
    if (!ci.values.empty()) {
      if (static_cast<int64_t>(ci.values.size()) != t.numel())
        return InvalidArgument("case ", c.name, " input ", i, ": ", ci.values.size(), " values for ", t.numel(),
                               " elements");
      for (int64_t k = 0; k < t.numel(); ++k) t.set_i64(k, ci.values[static_cast<size_t>(k)]);
    } else if (!ci.fvalues.empty()) {
      if (static_cast<int64_t>(ci.fvalues.size()) != t.numel())
        return InvalidArgument("case ", c.name, " input ", i, ": ", ci.fvalues.size(), " values for ",
                               t.numel(), " elements");
      for (int64_t k = 0; k < t.numel(); ++k) t.set_f64(k, ci.fvalues[static_cast<size_t>(k)]);
    } else {
      fill_uniform(t, ci.lo, ci.hi, seed * 1000003 + i);
    }
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(str("in", i)));
    v->dtype = ci.dtype;
    v->shape = Shape::of(ci.dims);
    v->shape_known = true;
    if (ci.constant) {
      v->constant = std::make_shared<const Tensor>(std::move(t));
    } else {
      v->is_graph_input = true;
      g.inputs.push_back(v);
      out.inputs[v->name] = std::move(t);
    }
    ins.push_back(v);
  }
  std::vector<Value*> outs;
  for (int i = 0; i < c.num_outputs; ++i) {
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(str("out", i)));
    v->is_graph_output = true;
    g.outputs.push_back(v);
    outs.push_back(v);
  }
  const OpSchema* schema = OpRegistry::global().find_any(c.domain, c.op);
  int64_t opset = c.opset ? c.opset : kMaxOnnxOpset;
  if (!schema) return Unsupported("case ", c.name, ": op ", c.op, " is not registered");
  KILN_ASSIGN_OR_RETURN(Node * node, g.add_node(c.op, c.name, ins, outs, c.domain, opset));
  node->attrs = c.attrs;
  if (schema->upgrade) KILN_RETURN_IF_ERROR(schema->upgrade(*node, g));
  KILN_RETURN_IF_ERROR(infer_node(*node, limits));
  return out;
}

}  // namespace kiln
