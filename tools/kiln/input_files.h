// Input tensors given as .npy files (`kiln run --input`, `kiln bench
// --loadInputs`), checked against what they feed: an ONNX model's declared
// inputs before the import, or the fixed inputs of a built engine. Errors
// name the file and the input (exit 1); conflicts between options are usage
// errors (exit 2).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli_result.h"
#include "ir/tensor.h"
#include "onnx/onnx_model.h"
#include "shape_spec.h"

namespace kiln::cli {

struct InputFile {
  std::string name, path;
  Tensor tensor;  // read after the command line is checked
};

const InputFile* find_file(const std::vector<InputFile>& files, const std::string& name);

// Reads every file; the first failure names its path.
CliResult read_input_files(std::vector<InputFile>& files);

// The file's type and dims must fit the ONNX declaration (symbolic dims take
// anything); checked before the import so data errors show first.
CliResult check_file_fits(const InputFile& file, const onnx::ValueInfoProto& declared);

// Shapes to import with: --shapes, the dims of each file, and 1 for any
// remaining symbolic dim (with a note on `err` saying how to set it).
CliResult resolve_input_shapes(const std::vector<const onnx::ValueInfoProto*>& inputs, const ShapeMap& specs,
                               const std::vector<InputFile>& files, ShapeMap& shapes, std::ostream& err);

// The file's tensor as `dtype` with exactly `dims`. bfloat16 and fp8 inputs
// take float32 files (NumPy has no such types), rounded with a note.
CliResult conform_input(InputFile& file, DType dtype, const std::vector<int64_t>& dims, Tensor& out,
                        std::ostream& err);

}  // namespace kiln::cli
