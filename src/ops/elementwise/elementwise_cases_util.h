// Short builders for OpCase data, shared by the elementwise, activation and
// quant case files.
#pragma once

#include <string>
#include <vector>

#include "ops/op_schema.h"

namespace kiln::case_util {

// Random uniform values in [lo, hi] (integers rounded).
inline CaseInput input(DType t, std::vector<int64_t> dims, double lo = -1.0, double hi = 1.0) {
  CaseInput c;
  c.dtype = t;
  c.dims = std::move(dims);
  c.lo = lo;
  c.hi = hi;
  return c;
}

// Explicit values (stored with the dtype's conversion).
inline CaseInput values(DType t, std::vector<int64_t> dims, std::vector<double> v) {
  CaseInput c = input(t, std::move(dims));
  c.fvalues = std::move(v);
  return c;
}

inline CaseInput as_constant(CaseInput c) {
  c.constant = true;
  return c;
}

inline CaseInput omitted(DType t) {
  CaseInput c = input(t, {});
  c.omitted = true;
  return c;
}

// Relative L2 tolerance for an output of type t.
inline double tol_for(DType t) {
  switch (t) {
    case DType::kFloat16:
      return 1e-3;
    case DType::kBFloat16:
      return 1e-2;
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E5M2:
      return 1e-1;
    default:
      return 1e-5;
  }
}

inline OpCase make_case(std::string name, std::string op, std::vector<CaseInput> inputs, double tolerance = 1e-5) {
  OpCase c;
  c.name = std::move(name);
  c.op = std::move(op);
  c.inputs = std::move(inputs);
  c.tolerance = tolerance;
  return c;
}

}  // namespace kiln::case_util
