// A float32 graph under construction for the rewrite-pass tests: seeded
// random inputs (kept as feeds), constants, and nodes whose outputs are
// inferred as they are added.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ops/infer.h"
#include "ops/op_case.h"

namespace kiln::testing {

class PassNet {
 public:
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  std::map<std::string, Tensor> feeds;

  // An input of uniform values in [lo, hi), seeded by its position.
  Value* input(const std::string& name, std::vector<int64_t> dims, double lo = -3, double hi = 3) {
    Tensor t = Tensor::alloc(DType::kFloat32, dims).value();
    fill_uniform(t, lo, hi, 31 + feeds.size());
    return input(name, std::move(t));
  }
  Value* input(const std::string& name, Tensor t) {
    Value* v = value(name, t.dims(), t.dtype());
    v->is_graph_input = true;
    graph->inputs.push_back(v);
    feeds[name] = std::move(t);
    return v;
  }
  // A constant with every element x (dims {} for a scalar).
  Value* filled(const std::string& name, std::vector<int64_t> dims, float x) {
    Tensor t = Tensor::alloc(DType::kFloat32, dims).value();
    for (int64_t k = 0; k < t.numel(); ++k) t.set_f64(k, x);
    return constant(name, std::move(t));
  }
  // A constant of uniform values in [lo, hi).
  Value* uniform(const std::string& name, std::vector<int64_t> dims, double lo, double hi) {
    Tensor t = Tensor::alloc(DType::kFloat32, dims).value();
    fill_uniform(t, lo, hi, 71 + counter_++);
    return constant(name, std::move(t));
  }
  // A 1-D int64 constant (Reshape shapes, axes).
  Value* ints(const std::string& name, const std::vector<int64_t>& values) {
    Tensor t = Tensor::alloc(DType::kInt64, {static_cast<int64_t>(values.size())}).value();
    for (size_t i = 0; i < values.size(); ++i) t.set_i64(static_cast<int64_t>(i), values[i]);
    return constant(name, std::move(t));
  }
  // A node with `n_outputs` outputs, inferred; returns them.
  std::vector<Value*> nodes(const std::string& op, std::vector<Value*> ins, std::map<std::string, Attr> attrs = {},
                            int n_outputs = 1) {
    std::vector<Value*> outs;
    for (int i = 0; i < n_outputs; ++i) outs.push_back(graph->add_value(str(op, "_", counter_, "_out", i)).value());
    Node* n = graph->add_node(op, str(op, "_", counter_++), std::move(ins), outs, "", kMaxOnnxOpset).value();
    n->attrs = std::move(attrs);
    Status s = infer_node(*n, Limits{});
    EXPECT_TRUE(s.ok()) << s.to_string();
    return outs;
  }
  Value* node(const std::string& op, std::vector<Value*> ins, std::map<std::string, Attr> attrs = {}) {
    return nodes(op, std::move(ins), std::move(attrs))[0];
  }
  void output(Value* v) {
    v->is_graph_output = true;
    graph->outputs.push_back(v);
  }
  int count(const std::string& op) const {
    int k = 0;
    for (const auto& n : graph->nodes()) k += n->op == op;
    return k;
  }
  const Node* find(const std::string& op) const {
    for (const auto& n : graph->nodes())
      if (n->op == op) return n.get();
    return nullptr;
  }

 private:
  Value* constant(const std::string& name, Tensor t) {
    Value* v = value(name, t.dims(), t.dtype());
    v->constant = std::make_shared<const Tensor>(std::move(t));
    return v;
  }
  Value* value(const std::string& name, const std::vector<int64_t>& dims, DType dtype) {
    Value* v = graph->add_value(name).value();
    v->dtype = dtype;
    v->shape = Shape::of(dims);
    v->shape_known = true;
    return v;
  }
  int counter_ = 0;
};

}  // namespace kiln::testing
