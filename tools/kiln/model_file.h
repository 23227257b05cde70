// Loading an ONNX file for the commands, and the facts about its declared
// graph inputs that the commands check command-line arguments against.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "cli_result.h"
#include "onnx/onnx_model.h"
#include "shape_spec.h"

namespace kiln::cli {

// load_model with the path in every error message.
Expected<onnx::ModelProto> load_model_file(const std::string& path);
// The directory external weights are resolved against ("." for a bare name).
std::string model_directory(const std::string& path);

// Graph inputs that are not initializers (IR < 4 models list weights as inputs).
std::vector<const onnx::ValueInfoProto*> runtime_inputs(const onnx::ModelProto& model);
const onnx::ValueInfoProto* find_input(const std::vector<const onnx::ValueInfoProto*>& inputs, const std::string& name);
// "'a', 'b'" for messages.
std::string input_names(const std::vector<const onnx::ValueInfoProto*>& inputs);

// Every name in `shapes` must be an input, with the declared rank and static
// dims; a usage error otherwise.
CliResult check_shape_names(const ShapeMap& shapes, const std::vector<const onnx::ValueInfoProto*>& inputs);

// "float32[1,3,224,224]", "float32[batch,?]" (? = unnamed unknown dim),
// "float32[rank unknown]", "sequence".
std::string declared_type_string(const onnx::ValueInfoProto& vi);
bool has_unknown_dims(const onnx::ValueInfoProto& vi);

}  // namespace kiln::cli
