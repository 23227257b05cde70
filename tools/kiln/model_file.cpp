#include "model_file.h"

#include <filesystem>

#include "ir/dtype.h"

namespace kiln::cli {

namespace {
// The importer's rule: a negative dim_value is as good as no value.
bool is_static(const onnx::Dimension& d) { return d.has_value && d.value >= 0; }
}  // namespace

Expected<onnx::ModelProto> load_model_file(const std::string& path) {
  auto model = onnx::load_model(path);
  if (!model.ok()) {
    const std::string& m = model.status().message();
    if (m.find(path) != std::string::npos) return model.status();
    return model.status().with_context(path);
  }
  return model;
}

std::string model_directory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

std::vector<const onnx::ValueInfoProto*> runtime_inputs(const onnx::ModelProto& model) {
  std::vector<const onnx::ValueInfoProto*> out;
  for (const auto& vi : model.graph.inputs) {
    bool is_weight = false;
    for (const auto& init : model.graph.initializers) is_weight = is_weight || init.name == vi.name;
    if (!is_weight) out.push_back(&vi);
  }
  return out;
}

const onnx::ValueInfoProto* find_input(const std::vector<const onnx::ValueInfoProto*>& inputs, const std::string& name) {
  for (const auto* vi : inputs)
    if (vi->name == name) return vi;
  return nullptr;
}

std::string input_names(const std::vector<const onnx::ValueInfoProto*>& inputs) {
  std::string out;
  for (const auto* vi : inputs) out += str(out.empty() ? "" : ", ", "'", vi->name, "'");
  return out.empty() ? "(none)" : out;
}

CliResult check_shape_names(const ShapeMap& shapes, const std::vector<const onnx::ValueInfoProto*>& inputs) {
  for (const auto& [name, dims] : shapes) {
    const onnx::ValueInfoProto* vi = find_input(inputs, name);
    if (!vi) return CliResult::usage(str("--shapes names '", name, "', which is not an input of the model (inputs: ",
                                         input_names(inputs), ")"));
    if (!vi->has_type || !vi->type.has_shape) continue;
    const auto& declared = vi->type.dims;
    if (declared.size() != dims.size())
      return CliResult::usage(str("--shapes gives '", name, "' rank ", dims.size(), " (", dims_to_string(dims),
                                  ") but the model declares ", declared_type_string(*vi)));
    for (size_t i = 0; i < dims.size(); ++i)
      if (is_static(declared[i]) && declared[i].value != dims[i])
        return CliResult::usage(str("--shapes gives '", name, "' ", dims_to_string(dims), " but the model fixes dim ", i,
                                    " to ", declared[i].value, " (", declared_type_string(*vi), ")"));
  }
  return CliResult::ok();
}

std::string declared_type_string(const onnx::ValueInfoProto& vi) {
  using Kind = onnx::TypeProto::Kind;
  if (!vi.has_type) return "(no type)";
  switch (vi.type.kind) {
    case Kind::kTensor: break;
    case Kind::kSequence: return "sequence";
    case Kind::kMap: return "map";
    case Kind::kOptional: return "optional";
    case Kind::kSparseTensor: return "sparse tensor";
    default: return "(unknown kind)";
  }
  std::string s = onnx_dtype_name(vi.type.elem_type);
  if (!vi.type.has_shape) return s + "[rank unknown]";
  s += "[";
  for (size_t i = 0; i < vi.type.dims.size(); ++i) {
    const auto& d = vi.type.dims[i];
    s += i ? "," : "";
    s += is_static(d) ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param);
  }
  return s + "]";
}

bool has_unknown_dims(const onnx::ValueInfoProto& vi) {
  if (!vi.type.has_shape) return true;
  for (const auto& d : vi.type.dims)
    if (!is_static(d)) return true;
  return false;
}

}  // namespace kiln::cli
