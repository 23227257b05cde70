#include "builder/memory_planner.h"

#include <algorithm>
#include <numeric>

namespace kiln {
namespace {

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

bool lifetimes_overlap(const BufferLifetime& a, const BufferLifetime& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

}  // namespace

MemoryPlanResult plan_memory(const std::vector<BufferLifetime>& buffers, uint64_t alignment) {
  MemoryPlanResult r;
  const size_t n = buffers.size();
  r.offsets.assign(n, 0);
  if (n == 0) return r;

  // Peak of simultaneously live bytes (a lower bound for any arena). A
  // buffer taking over a dying input in place counts once at the handover.
  int32_t last = 0;
  for (const auto& b : buffers) {
    r.sum_bytes += b.bytes;
    last = std::max(last, b.last_step);
  }
  int32_t first = 0;
  for (const auto& b : buffers) first = std::min(first, b.first_step);
  for (int32_t step = first; step <= last; ++step) {
    uint64_t live = 0;
    for (const auto& b : buffers) {
      if (b.first_step > step || step > b.last_step) continue;
      bool handover = b.inplace_of >= 0 && static_cast<size_t>(b.inplace_of) < n && b.first_step == step &&
                      buffers[static_cast<size_t>(b.inplace_of)].last_step == step &&
                      align_up(buffers[static_cast<size_t>(b.inplace_of)].bytes, alignment) >= align_up(b.bytes, alignment);
      if (!handover) live += b.bytes;
    }
    r.peak_bytes = std::max(r.peak_bytes, live);
  }

  // Largest first, then earliest, then index: deterministic best-fit order
  // (the order TFLite's arena planner uses).
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (buffers[a].bytes != buffers[b].bytes) return buffers[a].bytes > buffers[b].bytes;
    if (buffers[a].first_step != buffers[b].first_step) return buffers[a].first_step < buffers[b].first_step;
    return a < b;
  });
  std::vector<bool> placed(n, false);
  std::vector<size_t> placed_list;
  for (size_t idx : order) {
    const BufferLifetime& buf = buffers[idx];
    uint64_t size = align_up(std::max<uint64_t>(buf.bytes, 1), alignment);
    // In place: take the dying input's memory when it is already placed and
    // nothing else live at this buffer's lifetime sits there.
    int32_t src = buf.inplace_of;
    auto conflicts_at = [&](uint64_t offset, size_t except) {
      for (size_t other : placed_list) {
        if (other == except || !lifetimes_overlap(buf, buffers[other])) continue;
        uint64_t o_off = r.offsets[other];
        uint64_t o_size = align_up(std::max<uint64_t>(buffers[other].bytes, 1), alignment);
        if (offset < o_off + o_size && o_off < offset + size) return true;
      }
      return false;
    };
    if (src >= 0 && static_cast<size_t>(src) < n && placed[static_cast<size_t>(src)] &&
        buffers[static_cast<size_t>(src)].last_step == buf.first_step &&
        align_up(buffers[static_cast<size_t>(src)].bytes, alignment) >= size &&
        !conflicts_at(r.offsets[static_cast<size_t>(src)], static_cast<size_t>(src))) {
      r.offsets[idx] = r.offsets[static_cast<size_t>(src)];
    } else {
      // Best fit: the smallest gap between already-placed, lifetime-overlapping
      // buffers that holds this one; else after the last of them.
      std::vector<std::pair<uint64_t, uint64_t>> busy;  // [offset, end)
      for (size_t other : placed_list) {
        if (!lifetimes_overlap(buf, buffers[other])) continue;
        uint64_t o_size = align_up(std::max<uint64_t>(buffers[other].bytes, 1), alignment);
        busy.emplace_back(r.offsets[other], r.offsets[other] + o_size);
      }
      std::sort(busy.begin(), busy.end());
      uint64_t best = UINT64_MAX, best_gap = UINT64_MAX, cursor = 0;
      for (const auto& [begin, end] : busy) {
        if (begin > cursor && begin - cursor >= size && begin - cursor < best_gap) {
          best = cursor;
          best_gap = begin - cursor;
        }
        cursor = std::max(cursor, end);
      }
      r.offsets[idx] = best != UINT64_MAX ? best : cursor;
    }
    placed[idx] = true;
    placed_list.push_back(idx);
    r.arena_bytes = std::max(r.arena_bytes, r.offsets[idx] + size);
  }
  return r;
}

}  // namespace kiln
