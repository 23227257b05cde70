#include "bench_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace kiln::cli {

double percentile_of_sorted(const std::vector<double>& sorted, double percent) {
  if (sorted.empty()) return 0;
  double rank = std::ceil(percent / 100.0 * static_cast<double>(sorted.size()));
  size_t index = rank <= 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

LatencyStats compute_stats(std::vector<double> values) {
  LatencyStats s;
  s.count = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  s.min = values.front();
  s.max = values.back();
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(n);
  s.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  s.p90 = percentile_of_sorted(values, 90);
  s.p99 = percentile_of_sorted(values, 99);
  return s;
}

double throughput_qps(size_t iterations, double wall_seconds) {
  return wall_seconds > 0 ? static_cast<double>(iterations) / wall_seconds : 0;
}

BenchSummary summarize_iterations(const std::vector<IterationRecord>& records, int streams, double wall_seconds,
                                  int64_t batch) {
  BenchSummary s;
  s.iterations = records.size();
  s.streams = streams;
  s.wall_seconds = wall_seconds;
  s.qps = throughput_qps(records.size(), wall_seconds);
  s.batch = batch;
  s.items_per_second = s.qps * static_cast<double>(batch);
  std::vector<double> latency, compute, h2d, d2h, enqueue;
  for (const auto& r : records) {
    latency.push_back(r.latency_ms);
    compute.push_back(r.compute_ms);
    h2d.push_back(r.h2d_ms);
    d2h.push_back(r.d2h_ms);
    enqueue.push_back(r.enqueue_ms);
    s.total_compute_seconds += r.compute_ms / 1000.0;
  }
  s.latency = compute_stats(std::move(latency));
  s.compute = compute_stats(std::move(compute));
  s.h2d = compute_stats(std::move(h2d));
  s.d2h = compute_stats(std::move(d2h));
  s.enqueue = compute_stats(std::move(enqueue));
  return s;
}

std::string fixed(double value, int decimals) {
  if (!std::isfinite(value)) value = 0;  // keeps the lines parseable
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

std::string format_stats(const LatencyStats& s) {
  auto ms = [](double v) { return fixed(v, 5) + " ms"; };
  return "min = " + ms(s.min) + ", max = " + ms(s.max) + ", mean = " + ms(s.mean) + ", median = " + ms(s.median) +
         ", percentile(90%) = " + ms(s.p90) + ", percentile(99%) = " + ms(s.p99);
}

std::string stats_line(const std::string& what, const LatencyStats& stats) {
  return "[I] " + what + ": " + format_stats(stats);
}

std::string throughput_line(double qps) { return "[I] Throughput: " + fixed(qps, 2) + " qps"; }

std::string summary_text(const BenchSummary& s, bool data_transfers) {
  std::string out = "[I] === Performance summary ===\n";
  out += throughput_line(s.qps) + "\n";
  out += "[I] Items per second: " + fixed(s.items_per_second, 2) + " (batch " + std::to_string(s.batch) + ")\n";
  out += stats_line("Latency", s.latency) + "\n";
  out += stats_line("Enqueue Time", s.enqueue) + "\n";
  if (data_transfers) out += stats_line("H2D Latency", s.h2d) + "\n";
  out += stats_line("GPU Compute Time", s.compute) + "\n";
  if (data_transfers) out += stats_line("D2H Latency", s.d2h) + "\n";
  out += "[I] Total Host Walltime: " + fixed(s.wall_seconds, 5) + " s\n";
  out += "[I] Total GPU Compute Time: " + fixed(s.total_compute_seconds, 5) + " s\n";
  out += "[I] Iterations: " + std::to_string(s.iterations) + " over " + std::to_string(s.streams) +
         (s.streams == 1 ? " stream" : " streams") + "\n";
  return out;
}

}  // namespace kiln::cli
