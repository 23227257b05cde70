// What Kiln knows about one op: arity, how to infer output types and shapes,
// how to run it on the CPU reference, and how to upgrade older opset forms to
// the canonical (newest) form at import. Each op family registers its schemas
// in its own folder through one function listed in families.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/limits.h"
#include "base/status.h"
#include "ir/graph.h"
#include "ir/tensor.h"

namespace kiln {

// Shape/type inference for one node. Inputs may carry a constant value
// (initializers, folded shape arithmetic); an op may set an output's value
// when it can compute it from shapes alone (Shape, Size).
class InferContext {
 public:
  InferContext(const Node& node, const Limits& limits) : node_(node), limits_(limits) {}
  const Node& node() const { return node_; }
  const Limits& limits() const { return limits_; }

  size_t num_inputs() const { return node_.inputs.size(); }
  size_t num_outputs() const { return node_.outputs.size(); }
  bool has_input(size_t i) const { return node_.has_input(i); }
  DType input_dtype(size_t i) const { return node_.inputs[i]->dtype; }
  const Shape& input_shape(size_t i) const { return node_.inputs[i]->shape; }
  int64_t input_rank(size_t i) const { return static_cast<int64_t>(node_.inputs[i]->shape.rank()); }
  // The input's value when it is a constant, else nullptr.
  const Tensor* input_value(size_t i) const;

  void set_output(size_t i, DType dtype, Shape shape);
  void set_output_value(size_t i, Tensor value);  // also sets type and shape
  // Type known, rank not (e.g. Reshape to a shape whose length is unknown).
  void set_output_unknown_rank(size_t i, DType dtype);

  // A fresh symbolic dim for data-dependent sizes (NonZero, TopK with a
  // runtime k); `max` bounds it where the op knows how large it can get.
  Dim unknown_dim(const std::string& hint = "", int64_t max = -1) const;

  template <typename... Args>
  Status error(const Args&... args) const {
    return node_.error(ErrorCode::kInvalidArgument, args...);
  }
  template <typename... Args>
  Status unsupported(const Args&... args) const {
    return node_.error(ErrorCode::kUnsupported, args...);
  }

  struct Output {
    bool set = false;
    bool rank_known = true;
    DType dtype = DType::kUndefined;
    Shape shape;
    std::shared_ptr<const Tensor> value;
  };
  const std::vector<Output>& outputs() const { return outputs_; }

 private:
  const Node& node_;
  const Limits& limits_;
  std::vector<Output> outputs_;
};

// Inputs and outputs of one CPU reference execution of a node.
class CpuContext {
 public:
  CpuContext(const Node& node, std::vector<const Tensor*> inputs, const Limits& limits)
      : node_(node), inputs_(std::move(inputs)), limits_(limits), outputs_(node.outputs.size()) {}
  const Node& node() const { return node_; }
  const Limits& limits() const { return limits_; }

  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const Tensor& input(size_t i) const { return *inputs_[i]; }
  size_t num_outputs() const { return outputs_.size(); }
  bool wants_output(size_t i) const { return node_.has_output(i); }

  // Allocates output i (zeroed), checked against the limits.
  Expected<Tensor*> alloc_output(size_t i, DType dtype, std::vector<int64_t> dims);
  // Sets output i to an existing tensor (views, Identity, Reshape).
  void set_output(size_t i, Tensor t) { outputs_[i] = std::move(t); }
  std::vector<Tensor>& outputs() { return outputs_; }

  template <typename... Args>
  Status error(const Args&... args) const {
    return node_.error(ErrorCode::kInvalidArgument, args...);
  }

 private:
  const Node& node_;
  std::vector<const Tensor*> inputs_;
  const Limits& limits_;
  std::vector<Tensor> outputs_;
};

using InferFn = std::function<Status(InferContext&)>;
using CpuFn = std::function<Status(CpuContext&)>;
// Rewrites a node of an older opset into the canonical form (e.g. moves an
// attribute that became an input into a constant input). Runs at import.
using UpgradeFn = std::function<Status(Node&, Graph&)>;

struct OpSchema {
  std::string domain;  // "" = ai.onnx
  std::string name;
  std::string family;  // "elementwise", "conv", ...
  int min_inputs = 1;
  int max_inputs = 1;
  int min_outputs = 1;
  int max_outputs = 1;
  int64_t since_opset = 13;  // oldest opset Kiln accepts for this op
  InferFn infer;
  CpuFn cpu;
  UpgradeFn upgrade;  // optional
  bool elementwise = false;
};

// One test case of an op, as data: run on the CPU reference (and later on
// every backend) with random inputs of the given types and shapes.
struct CaseInput {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> dims;
  double lo = -1.0, hi = 1.0;     // uniform range of random values
  std::vector<int64_t> values;    // explicit integer values (shape / index inputs)
  std::vector<double> fvalues;    // explicit float values
  bool constant = false;          // becomes an initializer (weights, shapes)
  bool omitted = false;           // optional input left out

  // Random values of `t` in [lo, hi); a constant (initializer) if asked.
  static CaseInput random(DType t, std::vector<int64_t> dims, double lo, double hi, bool constant = false) {
    CaseInput c;
    c.dtype = t;
    c.dims = std::move(dims);
    c.lo = lo;
    c.hi = hi;
    c.constant = constant;
    return c;
  }
};

struct OpCase {
  std::string name;  // unique, e.g. "Conv/stride2_pad1"
  std::string op;
  std::string domain;
  int64_t opset = 0;  // 0 = Kiln's newest supported
  std::map<std::string, Attr> attrs;
  std::vector<CaseInput> inputs;
  int num_outputs = 1;
  double tolerance = 1e-5;  // relative L2 error for float outputs, float32
};

class OpRegistry {
 public:
  // The registry with every family registered (built on first use).
  static const OpRegistry& global();

  // Registers a schema; a duplicate is reported by self_check().
  void add(OpSchema schema);
  void add_case(OpCase c) { cases_.push_back(std::move(c)); }
  // The schema for (domain, op) if `opset` is at least its since_opset.
  const OpSchema* find(const std::string& domain, const std::string& op, int64_t opset) const;
  // The schema regardless of opset (for messages).
  const OpSchema* find_any(const std::string& domain, const std::string& op) const;
  const std::map<std::pair<std::string, std::string>, OpSchema>& schemas() const { return schemas_; }
  const std::vector<OpCase>& cases() const { return cases_; }
  // Every op has inference, a CPU kernel and at least one case.
  Status self_check() const;

 private:
  std::map<std::pair<std::string, std::string>, OpSchema> schemas_;
  std::vector<OpCase> cases_;
  std::string problems_;
};

// Newest ai.onnx opset Kiln knows: that of the onnx package the conformance
// suite pins (onnx 1.23.1). Ops check the attributes of newer versions.
inline constexpr int64_t kMaxOnnxOpset = 28;

}  // namespace kiln
