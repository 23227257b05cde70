// Turns an OpCase (test data declared by a family) into a one-node graph with
// random inputs, for the CPU harness and, later, every backend's harness.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "ir/graph.h"
#include "ops/op_schema.h"

namespace kiln {

struct CaseGraph {
  std::unique_ptr<Graph> graph;
  std::map<std::string, Tensor> inputs;  // non-constant inputs by name
};

// Random but deterministic for a given seed. Shape inference has run.
Expected<CaseGraph> build_case_graph(const OpCase& c, uint64_t seed, const Limits& limits = {});

// Fills a tensor with uniform values in [lo, hi] (integers rounded).
void fill_uniform(Tensor& t, double lo, double hi, uint64_t seed);

}  // namespace kiln
