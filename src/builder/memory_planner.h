// Offsets for every activation of one inference inside a single arena,
// assigned from liveness over the final layer order: buffers whose lifetimes
// do not overlap share memory (interval best-fit), a buffer may take over the
// memory of an input that dies at its producing step when the kernel works in
// place, and the result is deterministic.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln {

struct BufferLifetime {
  uint64_t bytes = 0;
  int32_t first_step = 0;  // layer that writes it (or -1: live from the start, e.g. inputs)
  int32_t last_step = 0;   // last layer that reads it
  int32_t inplace_of = -1; // buffer whose memory this one may reuse (it dies at first_step)
};

struct MemoryPlanResult {
  std::vector<uint64_t> offsets;  // per buffer
  uint64_t arena_bytes = 0;
  uint64_t sum_bytes = 0;   // all buffers added up
  uint64_t peak_bytes = 0;  // most bytes live at one step
};

MemoryPlanResult plan_memory(const std::vector<BufferLifetime>& buffers, uint64_t alignment = 256);

}  // namespace kiln
