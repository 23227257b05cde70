#include "op_test_util.h"

#include <cmath>

#include "backends/cpu/interpreter.h"
#include "ops/infer.h"

namespace kiln::testing {

Expected<OpRun> run_op(const std::string& op, const std::map<std::string, Attr>& attrs,
                       const std::vector<OpInput>& inputs, int num_outputs, int64_t opset,
                       const std::string& domain) {
  Graph g;
  std::map<std::string, Tensor> feeds;
  std::vector<Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].omitted) {
      ins.push_back(nullptr);
      continue;
    }
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(str("in", i)));
    v->dtype = inputs[i].tensor.dtype();
    v->shape = inputs[i].tensor.shape();
    v->shape_known = true;
    if (inputs[i].constant) {
      v->constant = std::make_shared<const Tensor>(inputs[i].tensor);
    } else {
      v->is_graph_input = true;
      g.inputs.push_back(v);
      feeds[v->name] = inputs[i].tensor;
    }
    ins.push_back(v);
  }
  std::vector<Value*> outs;
  for (int i = 0; i < num_outputs; ++i) {
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(str("out", i)));
    v->is_graph_output = true;
    g.outputs.push_back(v);
    outs.push_back(v);
  }
  KILN_ASSIGN_OR_RETURN(Node * node, g.add_node(op, "test_" + op, ins, outs, domain, opset ? opset : kMaxOnnxOpset));
  node->attrs = attrs;
  const OpSchema* schema = OpRegistry::global().find(domain, op, node->opset);
  if (!schema) return Unsupported("op ", op, " is not registered");
  if (schema->upgrade) KILN_RETURN_IF_ERROR(schema->upgrade(*node, g));
  KILN_RETURN_IF_ERROR(infer_node(*node, Limits{}));
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> results, run_graph_cpu(g, feeds));
  OpRun run;
  run.outputs = std::move(results);
  for (Value* v : outs) {
    Value copy;
    copy.name = v->name;
    copy.dtype = v->dtype;
    copy.shape = v->shape;
    copy.shape_known = v->shape_known;
    run.inferred.push_back(std::move(copy));
  }
  return run;
}

Tensor make_tensor(DType dtype, std::vector<int64_t> dims, const std::vector<double>& values) {
  Tensor t = Tensor::alloc(dtype, std::move(dims)).value();
  for (int64_t i = 0; i < t.numel() && i < static_cast<int64_t>(values.size()); ++i)
    t.set_f64(i, values[static_cast<size_t>(i)]);
  return t;
}

double rel_l2(const Tensor& a, const Tensor& b) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel() && i < b.numel(); ++i) {
    double d = a.get_f64(i) - b.get_f64(i);
    num += d * d;
    den += b.get_f64(i) * b.get_f64(i);
  }
  if (a.numel() != b.numel()) return INFINITY;
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

}  // namespace kiln::testing
