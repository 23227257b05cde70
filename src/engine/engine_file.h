// The engine file: a versioned header, a section table with a checksum per
// section, and the sections (META, TENSORS, LAYERS, IO, WEIGHTS). Weights
// start at a 256-byte aligned file offset so they can be uploaded directly.
// No host code is stored: layers name their kernels. The loader refuses a
// wrong magic, an unknown version, truncation at any offset and any flipped
// byte, saying which.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine_plan.h"

namespace kiln {

// 2: tensors carry data_dependent and dims_offset.
inline constexpr uint32_t kEngineFormatVersion = 2;

std::vector<uint8_t> serialize_engine(const EnginePlan& plan);
// Writes atomically (temporary file + rename).
Status save_engine(const EnginePlan& plan, const std::string& path);
// `what` names the source in messages (a file name).
Expected<EnginePlan> load_engine(std::span<const uint8_t> bytes, const std::string& what);
Expected<EnginePlan> load_engine_file(const std::string& path);

// The 64-bit checksum used for sections (a multiply-rotate chain over 8-byte
// words: every step is a bijection of the state, so any single changed word
// changes the result).
uint64_t engine_checksum(std::span<const uint8_t> bytes);

}  // namespace kiln
