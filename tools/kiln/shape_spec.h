// The --shapes grammar users know from trtexec:
//   name:1x3x224x224,other:1x128
// A name runs up to the last ':' of its entry, so names that contain ':'
// (TF-style "input:0") need no quoting; a name may also be written in single
// quotes, which is the only way to put ',' in one. Pure and allocation-bounded
// so it can be fuzzed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kiln::cli {

using ShapeMap = std::map<std::string, std::vector<int64_t>>;

// Largest single dim accepted on the command line.
inline constexpr int64_t kMaxSpecDim = (int64_t{1} << 31) - 1;
// Most dims in one entry (ONNX tensors of higher rank do not occur in practice).
inline constexpr size_t kMaxSpecRank = 32;

// One line per rule, for usage messages.
extern const char* const kShapeSpecGrammar;

// Parses a whole spec. Errors (kInvalidArgument) quote the entry at fault.
Expected<ShapeMap> parse_shape_spec(std::string_view spec);

// The inverse for one entry's dims: {1,3,224,224} -> "1x3x224x224".
std::string format_spec_dims(const std::vector<int64_t>& dims);

// Parses several specs (--shapes given more than once) into one map; a name
// given twice is an error.
Expected<ShapeMap> parse_shape_specs(const std::vector<std::string>& specs);

}  // namespace kiln::cli
