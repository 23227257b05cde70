// A float32 graph under construction for the rewrite-pass tests: seeded
// random inputs (kept as feeds), constants, and nodes whose outputs are
// inferred as they are added.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/cpu/interpreter.h"
#include "ir/graph.h"
#include "ir/verifier.h"
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

// Builds `recipe` twice, runs `pass` on one copy (`rewritten`, kept for the
// caller's own checks) and checks that it stays a valid graph giving the
// other copy's CPU outputs: bit for bit (NaN where the other has NaN), or
// within `rel_tol` of each element when a rewrite rounds differently.
template <typename NetT>
void expect_pass_keeps_outputs(const std::function<void(NetT&)>& recipe, NetT& rewritten,
                               const std::function<Status(Graph&)>& pass, double rel_tol = 0) {
  NetT plain;
  recipe(plain);
  recipe(rewritten);
  Status s = pass(*rewritten.graph);
  ASSERT_TRUE(s.ok()) << s.to_string();
  Status v = verify_graph(*rewritten.graph);
  ASSERT_TRUE(v.ok()) << v.to_string();
  ASSERT_TRUE(infer_graph(*rewritten.graph, Limits{}).ok());
  auto want = run_graph_cpu(*plain.graph, plain.feeds);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  auto got = run_graph_cpu(*rewritten.graph, rewritten.feeds);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < want->size(); ++i) {
    const Tensor& a = (*got)[i];
    const Tensor& b = (*want)[i];
    ASSERT_EQ(a.dims(), b.dims()) << "output " << i;
    for (int64_t k = 0; k < b.numel(); ++k) {
      const double x = a.get_f64(k), y = b.get_f64(k);
      if (std::isnan(y)) {
        EXPECT_TRUE(std::isnan(x)) << "output " << i << " element " << k;
      } else if (rel_tol == 0) {
        ASSERT_EQ(x, y) << "output " << i << " element " << k;
      } else {
        ASSERT_NEAR(x, y, rel_tol * (1 + std::fabs(y))) << "output " << i << " element " << k;
      }
    }
  }
}

}  // namespace kiln::testing
