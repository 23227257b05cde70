// Property tests of the activation memory planner on random lifetimes, plus
// small hand-checked cases.
#include <gtest/gtest.h>

#include <random>

#include "builder/memory_planner.h"

namespace kiln {
namespace {

uint64_t aligned(uint64_t b) { return (std::max<uint64_t>(b, 1) + 255) / 256 * 256; }

void expect_valid(const std::vector<BufferLifetime>& bufs, const MemoryPlanResult& r) {
  ASSERT_EQ(r.offsets.size(), bufs.size());
  for (size_t a = 0; a < bufs.size(); ++a) {
    EXPECT_EQ(r.offsets[a] % 256, 0u);
    EXPECT_LE(r.offsets[a] + aligned(bufs[a].bytes), r.arena_bytes);
    for (size_t b = a + 1; b < bufs.size(); ++b) {
      bool live_together = bufs[a].first_step <= bufs[b].last_step && bufs[b].first_step <= bufs[a].last_step;
      if (!live_together) continue;
      bool alias = (bufs[b].inplace_of == static_cast<int32_t>(a) && bufs[a].last_step == bufs[b].first_step) ||
                   (bufs[a].inplace_of == static_cast<int32_t>(b) && bufs[b].last_step == bufs[a].first_step);
      if (alias && r.offsets[a] == r.offsets[b]) continue;
      bool disjoint = r.offsets[a] + aligned(bufs[a].bytes) <= r.offsets[b] ||
                      r.offsets[b] + aligned(bufs[b].bytes) <= r.offsets[a];
      EXPECT_TRUE(disjoint) << "buffers " << a << " and " << b << " overlap while both live";
    }
  }
  EXPECT_GE(r.arena_bytes, r.peak_bytes);
}

TEST(MemoryPlanner, RandomLifetimesNeverOverlapAndAreDeterministic) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    int n = 1 + static_cast<int>(rng() % 60);
    std::vector<BufferLifetime> bufs;
    for (int i = 0; i < n; ++i) {
      int32_t first = static_cast<int32_t>(rng() % 50);
      int32_t last = first + static_cast<int32_t>(rng() % 10);
      bufs.push_back({1 + rng() % 100000, first, last, -1});
    }
    // Some in-place candidates: a buffer starting where another one ends.
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        if (i != j && bufs[static_cast<size_t>(j)].last_step == bufs[static_cast<size_t>(i)].first_step &&
            rng() % 3 == 0)
          bufs[static_cast<size_t>(i)].inplace_of = j;
    MemoryPlanResult a = plan_memory(bufs);
    expect_valid(bufs, a);
    MemoryPlanResult b = plan_memory(bufs);
    EXPECT_EQ(a.offsets, b.offsets);
    EXPECT_EQ(a.arena_bytes, b.arena_bytes);
    uint64_t sum_aligned = 0;
    for (const auto& x : bufs) sum_aligned += aligned(x.bytes);
    EXPECT_LE(a.arena_bytes, sum_aligned);
  }
}

TEST(MemoryPlanner, ChainReusesTwoBuffers) {
  // x0 -> x1 -> ... -> x9, each read only by the next step.
  std::vector<BufferLifetime> bufs;
  for (int32_t i = 0; i < 10; ++i) bufs.push_back({1024, i, i + 1, -1});
  MemoryPlanResult r = plan_memory(bufs);
  expect_valid(bufs, r);
  EXPECT_EQ(r.arena_bytes, 2048u);
  EXPECT_EQ(r.sum_bytes, 10240u);
}

TEST(MemoryPlanner, InPlaceChainUsesOneBuffer) {
  std::vector<BufferLifetime> bufs;
  for (int32_t i = 0; i < 10; ++i) bufs.push_back({1024, i, i + 1, i == 0 ? -1 : i - 1});
  MemoryPlanResult r = plan_memory(bufs);
  expect_valid(bufs, r);
  EXPECT_EQ(r.arena_bytes, 1024u);
}

TEST(MemoryPlanner, ResidualBlockKeepsSkipAlive) {
  // skip (0..3), a (1..2), b (2..3), sum (3..4): skip must not share with a or b.
  std::vector<BufferLifetime> bufs = {{4096, 0, 3, -1}, {4096, 1, 2, -1}, {4096, 2, 3, -1}, {4096, 3, 4, -1}};
  MemoryPlanResult r = plan_memory(bufs);
  expect_valid(bufs, r);
  EXPECT_EQ(r.peak_bytes, 3u * 4096);
  EXPECT_EQ(r.arena_bytes, 3u * 4096);
}

}  // namespace
}  // namespace kiln
