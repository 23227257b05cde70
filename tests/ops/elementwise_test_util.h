// Small helpers for the elementwise, activation and quant unit tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "op_test_util.h"
#include "ops/infer.h"

namespace kiln::elemtest {

// A tensor of dtype t holding integer values (set_i64 conversion).
inline Tensor ints(DType t, std::vector<int64_t> dims, const std::vector<int64_t>& v) {
  Tensor out = Tensor::alloc(t, std::move(dims)).value();
  for (int64_t i = 0; i < out.numel() && i < static_cast<int64_t>(v.size()); ++i)
    out.set_i64(i, v[static_cast<size_t>(i)]);
  return out;
}

// Elementwise comparison: NaN matches NaN, infinities match exactly, others
// within tol relative to max(1, |expected|).
inline void expect_values(const Tensor& t, const std::vector<double>& expected, double tol) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size())) << t.to_string();
  for (int64_t i = 0; i < t.numel(); ++i) {
    double got = t.get_f64(i), want = expected[static_cast<size_t>(i)];
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << "element " << i << ": got " << got << ", want nan";
    } else if (std::isinf(want)) {
      EXPECT_EQ(got, want) << "element " << i;
    } else {
      EXPECT_NEAR(got, want, tol * std::max(1.0, std::fabs(want))) << "element " << i;
    }
  }
}

inline void expect_ints(const Tensor& t, const std::vector<int64_t>& expected) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size())) << t.to_string();
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t.get_i64(i), expected[static_cast<size_t>(i)]) << "element " << i;
}

// Runs shape inference alone on a one-node graph whose inputs have the given
// types and (possibly symbolic) shapes; returns output 0's inferred value.
inline Expected<Value> infer_one(const std::string& op, const std::vector<std::pair<DType, Shape>>& inputs,
                                 const std::map<std::string, Attr>& attrs = {}, int64_t opset = kMaxOnnxOpset) {
  Graph g;
  std::vector<Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(str("in", i)));
    v->dtype = inputs[i].first;
    v->shape = inputs[i].second;
    v->shape_known = true;
    v->is_graph_input = true;
    g.inputs.push_back(v);
    ins.push_back(v);
  }
  KILN_ASSIGN_OR_RETURN(Value * out, g.add_value("out"));
  KILN_ASSIGN_OR_RETURN(Node * node, g.add_node(op, "test_" + op, ins, {out}, "", opset));
  node->attrs = attrs;
  KILN_RETURN_IF_ERROR(infer_node(*node, Limits{}));
  Value copy;
  copy.dtype = out->dtype;
  copy.shape = out->shape;
  copy.shape_known = out->shape_known;
  return copy;
}

}  // namespace kiln::elemtest
