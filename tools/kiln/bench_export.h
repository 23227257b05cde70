// The JSON files of `kiln bench` (names follow trtexec's options):
//   --exportTimes      {"summary": {...}, "iterations": [{"stream", "startMs", "latencyMs", "h2dMs",
//                      "computeMs", "d2hMs", "enqueueMs"}, ...]}; the summary holds the numbers of
//                      the printed lines (throughputQps, latencyMs.{min,max,mean,median,p90,p99}, ...)
//   --exportProfile    [{"count": runs}, {"name", "op", "kernel", "timeMs", "averageMs", "medianMs",
//                      "percentage"}, ...] (trtexec's shape, plus op and kernel)
//   --exportLayerInfo  {"Layers": [{"Name", "LayerType", "Kernel", "Precision", "Layout", "Tactic",
//                      "WorkspaceBytes", "Inputs", "Outputs"}], "Bindings": [...]}
// Non-finite numbers are written as null, so every file parses.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "bench_profile.h"
#include "bench_stats.h"
#include "engine/engine_plan.h"

namespace kiln::cli {

std::string json_quote(const std::string& text);  // "\"a\\\"b\"", control bytes escaped
std::string json_number(double value);             // plain decimal, or null

std::string times_json(const BenchSummary& summary, const std::vector<IterationRecord>& records, bool data_transfers);
std::string profile_json(const std::vector<ProfileRow>& rows, size_t runs);
std::string layer_info_json(const EnginePlan& plan);

// Writes atomically; errors name the file.
Status write_text_file(const std::string& path, const std::string& text);

}  // namespace kiln::cli
