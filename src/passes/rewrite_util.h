// Small helpers the rewrite passes share: matching a value's only consumer,
// reading constants, and replacing a node's output while keeping its name
// (graph outputs are bound by name).
#pragma once

#include <string>

#include "ir/graph.h"

namespace kiln {

// The one node reading `v`, if exactly one does and `v` is not a graph output.
Node* sole_user(const Value* v);
// The value's constant, or nullptr.
const Tensor* constant_of(const Value* v);
// True if `v` is a scalar (or single-element) constant equal to `x` within tol.
bool is_scalar_constant(const Value* v, double x, double tol = 1e-6);
// Makes every reader of `old_value` read `new_value`, and gives `new_value`
// the old name if `old_value` was a graph output.
Status replace_value(Graph& g, Value* old_value, Value* new_value);
// A new constant value.
Value* add_constant(Graph& g, const std::string& hint, Tensor t);

}  // namespace kiln
