// libFuzzer target for the engine loader: any bytes are loaded as an engine
// file. Errors are fine; crashes, sanitizer reports, leaks and timeouts are
// not. The checksums make random mutations fail early, so the fuzzer also
// re-seals mutated sections (see LLVMFuzzerCustomMutator below) to reach the
// section parsers. Seeds: tests/fuzz/corpus/engine_loader/.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/engine_file.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

// Recomputes every section checksum and the header checksum of an engine
// file in place, so structurally mutated contents get past the integrity
// checks. Leaves anything that does not look like an engine file alone.
void reseal(uint8_t* data, size_t size) {
  if (size < 32 || std::memcmp(data, "KILNENG", 7) != 0) return;
  uint32_t count;
  std::memcpy(&count, data + 12, 4);
  if (count == 0 || count > 64 || 32 + size_t{count} * 32 > size) return;
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t* e = data + 32 + size_t{i} * 32;
    uint64_t off, len;
    std::memcpy(&off, e + 8, 8);
    std::memcpy(&len, e + 16, 8);
    if (off > size || len > size - off) continue;
    uint64_t sum = kiln::engine_checksum({data + off, len});
    std::memcpy(e + 24, &sum, 8);
  }
  uint64_t file_size = size;
  std::memcpy(data + 16, &file_size, 8);
  std::vector<uint8_t> covered(data, data + 24);
  covered.insert(covered.end(), data + 32, data + 32 + size_t{count} * 32);
  uint64_t header = kiln::engine_checksum(covered);
  std::memcpy(data + 24, &header, 8);
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  size_t n = LLVMFuzzerMutate(data, size, max_size);
  if (seed % 4 != 0) reseal(data, n);  // mostly sealed, sometimes raw corruption
  return n;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)kiln::load_engine(std::span<const uint8_t>(data, size), "fuzz");
  return 0;
}
