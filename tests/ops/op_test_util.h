// Runs one op on the CPU reference through the same path as a real model:
// graph -> upgrade -> shape inference -> interpreter. For family unit tests.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ops/op_schema.h"

namespace kiln::testing {

struct OpInput {
  Tensor tensor;
  bool constant = false;  // an initializer (weights, shape inputs)
  bool omitted = false;   // optional input left out
};

inline OpInput in(Tensor t) { return {std::move(t), false, false}; }
inline OpInput constant(Tensor t) { return {std::move(t), true, false}; }
inline OpInput omitted() { return {Tensor(), false, true}; }

struct OpRun {
  std::vector<Tensor> outputs;
  std::vector<Value> inferred;  // the outputs' inferred dtype/shape (copies)
};

// opset 0 means Kiln's newest. Errors from import, inference or the kernel
// come back as the Status.
Expected<OpRun> run_op(const std::string& op, const std::map<std::string, Attr>& attrs,
                       const std::vector<OpInput>& inputs, int num_outputs = 1, int64_t opset = 0,
                       const std::string& domain = "");

// Float tensor from values (dtype converted from float32 by rounding).
Tensor make_tensor(DType dtype, std::vector<int64_t> dims, const std::vector<double>& values);

// Relative L2 distance between two tensors' elements (as doubles).
double rel_l2(const Tensor& a, const Tensor& b);

}  // namespace kiln::testing
