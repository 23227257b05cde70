// Per-layer times for `kiln bench --dumpProfile`: several profiled runs
// (ExecutionContext::profile_layers) summed, averaged and ranked, so the
// layers worth optimizing come first.
#pragma once

#include <string>
#include <vector>

#include "engine/engine_plan.h"

namespace kiln::cli {

struct ProfileRow {
  std::string name, op, kernel;
  double total_ms = 0;    // over all runs
  double average_ms = 0;  // per run
  double median_ms = 0;
  double percent = 0;     // of the sum over all layers
};

// `runs[r][layer]` are one run's per-layer milliseconds, layers in plan
// order. Rows sorted by total time, largest first (ties in plan order).
std::vector<ProfileRow> summarize_profile(const EnginePlan& plan, const std::vector<std::vector<float>>& runs);

// The table, one "[I] " line per layer and a Total line:
//   [I]   Time(ms)  Avg Time(ms)  Median Time(ms)  Time(%)  Layer
std::string profile_table(const std::vector<ProfileRow>& rows, size_t runs);

}  // namespace kiln::cli
