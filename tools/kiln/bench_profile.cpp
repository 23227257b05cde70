#include "bench_profile.h"

#include <algorithm>
#include <cstdio>

#include "bench_stats.h"

namespace kiln::cli {

std::vector<ProfileRow> summarize_profile(const EnginePlan& plan, const std::vector<std::vector<float>>& runs) {
  std::vector<ProfileRow> rows;
  double all = 0;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const PlanLayer& l = plan.layers[i];
    ProfileRow row{l.name, l.op, l.kernel};
    std::vector<double> times;
    for (const auto& run : runs)
      if (i < run.size()) times.push_back(run[i]);
    LatencyStats s = compute_stats(times);
    row.total_ms = s.mean * static_cast<double>(s.count);
    row.average_ms = s.mean;
    row.median_ms = s.median;
    all += row.total_ms;
    rows.push_back(std::move(row));
  }
  for (auto& r : rows) r.percent = all > 0 ? 100.0 * r.total_ms / all : 0;
  std::stable_sort(rows.begin(), rows.end(), [](const ProfileRow& a, const ProfileRow& b) { return a.total_ms > b.total_ms; });
  return rows;
}

std::string profile_table(const std::vector<ProfileRow>& rows, size_t runs) {
  char buf[128];
  std::string out = "[I] === Profile (" + std::to_string(runs) + " runs, layer by layer without a CUDA graph) ===\n";
  out += "[I]     Time(ms)  Avg Time(ms)  Median Time(ms)  Time(%)  Layer\n";
  double total = 0, average = 0, median = 0;  // the Total line sums the columns
  auto line = [&](double t, double avg, double med, double pct, const std::string& what) {
    std::snprintf(buf, sizeof(buf), "[I] %12.4f  %12.5f  %15.5f  %7.1f  ", t, avg, med, pct);
    out += buf + what + "\n";
  };
  for (const auto& r : rows) {
    line(r.total_ms, r.average_ms, r.median_ms, r.percent, r.name + " (" + r.op + ", " + r.kernel + ")");
    total += r.total_ms;
    average += r.average_ms;
    median += r.median_ms;
  }
  line(total, average, median, rows.empty() ? 0.0 : 100.0, "Total");
  return out;
}

}  // namespace kiln::cli
