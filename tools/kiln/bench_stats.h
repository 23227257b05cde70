// Latency statistics for `kiln bench`, and the one-line formats scripts parse:
//   [I] Latency: min = X ms, max = X ms, mean = X ms, median = X ms, percentile(90%) = X ms, percentile(99%) = X ms
//   [I] Throughput: X qps
// Numbers are plain decimals (never an exponent), so a regex such as
// `= ([0-9.]+) ms` reads them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace kiln::cli {

struct LatencyStats {
  size_t count = 0;
  double min = 0, max = 0, mean = 0, median = 0, p90 = 0, p99 = 0;
};

// Nearest-rank percentile of sorted values: the smallest value with at least
// `percent`% of the values at or below it (so p99 of 1..100 is 99). 0 for none.
double percentile_of_sorted(const std::vector<double>& sorted, double percent);

// Median is the mean of the two middle values for an even count.
LatencyStats compute_stats(std::vector<double> values);

// Iterations per second over `wall_seconds`; 0 when no time passed.
double throughput_qps(size_t iterations, double wall_seconds);

// One timed iteration of one stream, all in milliseconds. Times of a phase
// that was not run (copies under --noDataTransfers) are 0.
struct IterationRecord {
  int stream = 0;
  double start_ms = 0;    // iteration start, from the common start of the timed phase
  double latency_ms = 0;  // the whole iteration: H2D + compute + D2H
  double h2d_ms = 0, compute_ms = 0, d2h_ms = 0;
  double enqueue_ms = 0;  // host time spent in the enqueue call
};

struct BenchSummary {
  size_t iterations = 0;
  int streams = 1;
  double wall_seconds = 0;  // host wall time of the timed phase, all streams
  double qps = 0;           // iterations / wall time, all streams together
  int64_t batch = 1;        // dim 0 of the first input
  double items_per_second = 0;
  double total_compute_seconds = 0;  // GPU compute time added up
  LatencyStats latency, compute, h2d, d2h, enqueue;
};

BenchSummary summarize_iterations(const std::vector<IterationRecord>& records, int streams, double wall_seconds,
                                  int64_t batch);

// A decimal with `decimals` digits after the point and no exponent.
std::string fixed(double value, int decimals);

// "min = 0.81234 ms, max = ..., percentile(99%) = ... ms"
std::string format_stats(const LatencyStats& stats);
// "[I] Latency: min = ..." for the summary; `what` is "Latency",
// "GPU Compute Time", "H2D Latency", "D2H Latency" or "Enqueue Time".
std::string stats_line(const std::string& what, const LatencyStats& stats);
// "[I] Throughput: 1234.56 qps"
std::string throughput_line(double qps);
// The summary block after a run: Throughput, item throughput, Latency,
// Enqueue Time, H2D Latency, GPU Compute Time, D2H Latency (the copies only
// when `data_transfers`), Total Host Walltime, Total GPU Compute Time.
std::string summary_text(const BenchSummary& summary, bool data_transfers);

}  // namespace kiln::cli
