#include "bench_export.h"

#include <cmath>
#include <cstdio>
#include <span>

#include "base/mapped_file.h"

namespace kiln::cli {
namespace {

std::string stats_json(const LatencyStats& s) {
  return "{\"min\": " + json_number(s.min) + ", \"max\": " + json_number(s.max) + ", \"mean\": " + json_number(s.mean) +
         ", \"median\": " + json_number(s.median) + ", \"p90\": " + json_number(s.p90) + ", \"p99\": " +
         json_number(s.p99) + "}";
}

std::string int_array(const std::vector<int64_t>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out + "]";
}

std::string tensor_json(const EnginePlan& plan, int32_t index) {
  if (index < 0) return "null";
  const PlanTensor& t = plan.tensors[static_cast<size_t>(index)];
  return "{\"Name\": " + json_quote(t.name) + ", \"Dimensions\": " + int_array(t.dims) +
         ", \"Precision\": " + json_quote(dtype_name(t.dtype)) + ", \"Layout\": " + json_quote(layout_name(t.layout)) + "}";
}

}  // namespace

std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;  // UTF-8 passes through
    }
  }
  return out + "\"";
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  std::string s = fixed(value, 6);
  // Trailing zeros carry nothing; keep at least one digit after the point.
  while (s.size() > 2 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

std::string times_json(const BenchSummary& s, const std::vector<IterationRecord>& records, bool data_transfers) {
  std::string out = "{\n  \"summary\": {\n";
  out += "    \"iterations\": " + std::to_string(s.iterations) + ",\n";
  out += "    \"streams\": " + std::to_string(s.streams) + ",\n";
  out += "    \"dataTransfers\": " + std::string(data_transfers ? "true" : "false") + ",\n";
  out += "    \"walltimeS\": " + json_number(s.wall_seconds) + ",\n";
  out += "    \"throughputQps\": " + json_number(s.qps) + ",\n";
  out += "    \"batch\": " + std::to_string(s.batch) + ",\n";
  out += "    \"itemsPerSecond\": " + json_number(s.items_per_second) + ",\n";
  out += "    \"totalGpuComputeS\": " + json_number(s.total_compute_seconds) + ",\n";
  out += "    \"latencyMs\": " + stats_json(s.latency) + ",\n";
  out += "    \"enqueueMs\": " + stats_json(s.enqueue) + ",\n";
  out += "    \"h2dMs\": " + (data_transfers ? stats_json(s.h2d) : "null") + ",\n";
  out += "    \"computeMs\": " + stats_json(s.compute) + ",\n";
  out += "    \"d2hMs\": " + (data_transfers ? stats_json(s.d2h) : "null") + "\n";
  out += "  },\n  \"iterations\": [";
  for (size_t i = 0; i < records.size(); ++i) {
    const IterationRecord& r = records[i];
    out += i ? ",\n    " : "\n    ";
    out += "{\"stream\": " + std::to_string(r.stream) + ", \"startMs\": " + json_number(r.start_ms) +
           ", \"latencyMs\": " + json_number(r.latency_ms) + ", \"h2dMs\": " + json_number(r.h2d_ms) +
           ", \"computeMs\": " + json_number(r.compute_ms) + ", \"d2hMs\": " + json_number(r.d2h_ms) +
           ", \"enqueueMs\": " + json_number(r.enqueue_ms) + "}";
  }
  out += records.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

std::string profile_json(const std::vector<ProfileRow>& rows, size_t runs) {
  std::string out = "[\n  {\"count\": " + std::to_string(runs) + "}";
  for (const auto& r : rows)
    out += ",\n  {\"name\": " + json_quote(r.name) + ", \"op\": " + json_quote(r.op) + ", \"kernel\": " +
           json_quote(r.kernel) + ", \"timeMs\": " + json_number(r.total_ms) + ", \"averageMs\": " +
           json_number(r.average_ms) + ", \"medianMs\": " + json_number(r.median_ms) + ", \"percentage\": " +
           json_number(r.percent) + "}";
  return out + "\n]\n";
}

std::string layer_info_json(const EnginePlan& plan) {
  std::string out = "{\n  \"Layers\": [";
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const PlanLayer& l = plan.layers[i];
    int32_t first_out = l.outputs.empty() ? -1 : l.outputs[0];
    const PlanTensor* out0 = first_out < 0 ? nullptr : &plan.tensors[static_cast<size_t>(first_out)];
    out += i ? ",\n    " : "\n    ";
    out += "{\"Name\": " + json_quote(l.name) + ", \"LayerType\": " + json_quote(l.op) + ", \"Kernel\": " +
           json_quote(l.kernel) + ", \"Precision\": " + (out0 ? json_quote(dtype_name(out0->dtype)) : "null") +
           ", \"Layout\": " + (out0 ? json_quote(layout_name(out0->layout)) : "null") + ", \"Tactic\": " +
           int_array(l.tactic) + ", \"WorkspaceBytes\": " + std::to_string(l.workspace_bytes) + ",\n     \"Inputs\": [";
    for (size_t k = 0; k < l.inputs.size(); ++k) out += (k ? ", " : "") + tensor_json(plan, l.inputs[k]);
    out += "],\n     \"Outputs\": [";
    for (size_t k = 0; k < l.outputs.size(); ++k) out += (k ? ", " : "") + tensor_json(plan, l.outputs[k]);
    out += "]}";
  }
  out += plan.layers.empty() ? "],\n  \"Bindings\": [" : "\n  ],\n  \"Bindings\": [";
  bool first = true;
  for (const auto* list : {&plan.inputs, &plan.outputs})
    for (int32_t t : *list) {
      out += (first ? "" : ", ") + json_quote(plan.tensors[static_cast<size_t>(t)].name);
      first = false;
    }
  out += "],\n  \"Device\": " + json_quote(plan.device_name) + ",\n  \"ComputeCapability\": " +
         json_quote(std::to_string(plan.sm_major) + "." + std::to_string(plan.sm_minor)) + ",\n  \"ArenaBytes\": " +
         std::to_string(plan.arena_bytes) + ",\n  \"WeightBytes\": " + std::to_string(plan.weights.size()) + "\n}\n";
  return out;
}

Status write_text_file(const std::string& path, const std::string& text) {
  Status s = write_file_atomic(path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  if (!s.ok() && s.message().find(path) == std::string::npos) return s.with_context(path);
  return s;
}

}  // namespace kiln::cli
