// Helpers shared by the conv, pool and resize family tests: deterministic
// input patterns (the Python snippets that produced the expected values use
// the same formula), running one family's declared cases, and inference on
// symbolic shapes.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backends/cpu/interpreter.h"
#include "ops/infer.h"
#include "ops/op_case.h"
#include "ops/op_util.h"
#include "op_test_util.h"

namespace kiln::testing {

// pattern(i) = ((i * 7919 + seed * 31) % 23 - 11) / 8, exact in every float
// type. Python: ((np.arange(n) * 7919 + seed * 31) % 23 - 11) / 8.
inline std::vector<double> pattern(int64_t n, int64_t seed = 0) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<double>((i * 7919 + seed * 31) % 23 - 11) / 8.0);
  return v;
}

inline Tensor pattern_tensor(DType t, std::vector<int64_t> dims, int64_t seed = 0) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return make_tensor(t, std::move(dims), pattern(n, seed));
}

inline Tensor i64s(std::vector<int64_t> v) {
  int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_i64(v, {n});
}

inline Tensor f32s(std::vector<float> v) {
  int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_f32(v, {n});
}

inline Attr ints(std::vector<int64_t> v) { return Attr::of_ints(std::move(v)); }
inline Attr one(int64_t v) { return Attr::of_int(v); }
inline Attr text(const char* s) { return Attr::of_string(s); }

// Expects every element of `got` within `tol` (absolute + relative) of `want`.
inline void expect_values(const Tensor& got, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << got.to_string();
  for (int64_t i = 0; i < got.numel(); ++i) {
    double w = want[static_cast<size_t>(i)];
    EXPECT_NEAR(got.get_f64(i), w, tol * (1 + std::abs(w))) << "element " << i;
  }
}

// Runs the declared cases of `ops` on the CPU reference (twice, checking the
// results are identical) and returns how many ran.
inline int run_family_cases(const std::set<std::string>& ops) {
  int ran = 0;
  for (const OpCase& c : OpRegistry::global().cases()) {
    if (!ops.count(c.op)) continue;
    SCOPED_TRACE(c.name);
    auto built = build_case_graph(c, 1);
    EXPECT_TRUE(built.ok()) << built.status().to_string();
    if (!built.ok()) continue;
    auto first = run_graph_cpu(*built->graph, built->inputs);
    EXPECT_TRUE(first.ok()) << first.status().to_string();
    if (!first.ok()) continue;
    auto second = run_graph_cpu(*built->graph, built->inputs);
    EXPECT_TRUE(second.ok()) << second.status().to_string();
    if (!second.ok()) continue;
    for (size_t i = 0; i < first->size(); ++i) {
      const Tensor& a = (*first)[i];
      const Tensor& b = (*second)[i];
      EXPECT_EQ(a.nbytes(), b.nbytes());
      if (a.nbytes() == b.nbytes()) {
        EXPECT_EQ(0, std::memcmp(a.bytes(), b.bytes(), a.nbytes())) << "output " << i;
      }
    }
    ++ran;
  }
  return ran;
}

// One input of an inference-only test: a type and a (possibly symbolic)
// shape, with an optional constant value.
struct InferInput {
  DType dtype = DType::kFloat32;
  Shape shape;
  std::optional<Tensor> value;
  bool omitted = false;
};

inline InferInput sym(std::vector<Dim> dims, DType t = DType::kFloat32) { return {t, Shape(std::move(dims)), {}, false}; }
inline InferInput known(Tensor t) {
  DType d = t.dtype();
  Shape s = t.shape();
  return {d, s, std::move(t), false};
}
inline InferInput absent() { return {DType::kFloat32, Shape(), {}, true}; }

// Infers one node; returns its output values' (dtype, shape) or the error.
inline Expected<std::vector<Value>> infer_op(const std::string& op, const std::map<std::string, Attr>& attrs,
                                             const std::vector<InferInput>& inputs, int num_outputs = 1,
                                             int64_t opset = 0) {
  Graph g;
  std::vector<Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].omitted) {
      ins.push_back(nullptr);
      continue;
    }
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(str("in", i)));
    v->dtype = inputs[i].dtype;
    v->shape = inputs[i].shape;
    v->shape_known = true;
    if (inputs[i].value) v->constant = std::make_shared<const Tensor>(*inputs[i].value);
    ins.push_back(v);
  }
  std::vector<Value*> outs;
  for (int i = 0; i < num_outputs; ++i) {
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(str("out", i)));
    outs.push_back(v);
  }
  KILN_ASSIGN_OR_RETURN(Node * node, g.add_node(op, "n", ins, outs, "", opset ? opset : kMaxOnnxOpset));
  node->attrs = attrs;
  const OpSchema* schema = OpRegistry::global().find("", op, node->opset);
  if (!schema) return Unsupported("op ", op, " is not registered");
  if (schema->upgrade) KILN_RETURN_IF_ERROR(schema->upgrade(*node, g));
  KILN_RETURN_IF_ERROR(infer_node(*node, Limits{}));
  std::vector<Value> result;
  for (Value* v : outs) {
    Value copy;
    copy.dtype = v->dtype;
    copy.shape = v->shape;
    copy.shape_known = v->shape_known;
    result.push_back(std::move(copy));
  }
  return result;
}

// Runs op and expects an error whose message contains `needle`.
inline void expect_error(const Expected<OpRun>& r, const std::string& needle) {
  ASSERT_FALSE(r.ok()) << "expected an error containing '" << needle << "'";
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().to_string();
}

// For extreme inputs that may be refused or computed: if computed, the output
// must at least have the expected rank.
inline void expect_rank_if_ok(const Expected<OpRun>& r, int64_t rank) {
  if (!r.ok()) return;
  ASSERT_FALSE(r->outputs.empty());
  EXPECT_EQ(r->outputs[0].rank(), rank);
}

}  // namespace kiln::testing
