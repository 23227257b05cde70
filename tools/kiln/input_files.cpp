#include "input_files.h"

#include <ostream>

#include "model_file.h"
#include "npy.h"

namespace kiln::cli {
namespace {

bool widened_from_npy(DType file, DType wanted) { return file == DType::kFloat32 && npy_storage_dtype(wanted) != wanted; }

}  // namespace

const InputFile* find_file(const std::vector<InputFile>& files, const std::string& name) {
  for (const auto& f : files)
    if (f.name == name) return &f;
  return nullptr;
}

CliResult read_input_files(std::vector<InputFile>& files) {
  for (auto& f : files) {
    auto t = read_npy(f.path);
    if (!t.ok()) return CliResult::failure(t.status(), f.path);
    f.tensor = std::move(t).value();
  }
  return CliResult::ok();
}

CliResult check_file_fits(const InputFile& f, const onnx::ValueInfoProto& vi) {
  if (!vi.has_type || vi.type.kind != onnx::TypeProto::Kind::kTensor) return CliResult::ok();  // the importer says why
  DType wanted = dtype_from_onnx(vi.type.elem_type);
  DType got = f.tensor.dtype();
  if (wanted != DType::kUndefined && got != wanted && !widened_from_npy(got, wanted))
    return CliResult::failure(str(f.path, ": input '", f.name, "' must be ", dtype_name(wanted), " (",
                                  npy_descr(npy_storage_dtype(wanted)), ") but the file holds ", dtype_name(got)));
  if (!vi.type.has_shape) return CliResult::ok();
  const auto& declared = vi.type.dims;
  bool fits = declared.size() == f.tensor.dims().size();
  for (size_t i = 0; fits && i < declared.size(); ++i)
    if (declared[i].has_value && declared[i].value >= 0 && declared[i].value != f.tensor.dims()[i]) fits = false;
  if (fits) return CliResult::ok();
  return CliResult::failure(str(f.path, ": input '", f.name, "' must have shape ", declared_type_string(vi),
                                " but the file holds ", dims_to_string(f.tensor.dims())));
}

CliResult resolve_input_shapes(const std::vector<const onnx::ValueInfoProto*>& inputs, const ShapeMap& specs,
                               const std::vector<InputFile>& files, ShapeMap& shapes, std::ostream& err) {
  shapes = specs;
  for (const auto& f : files) {
    auto it = shapes.find(f.name);
    if (it != shapes.end() && it->second != f.tensor.dims())
      return CliResult::usage(str("--shapes gives '", f.name, "' ", dims_to_string(it->second), " but its input file ",
                                  f.path, " holds ", dims_to_string(f.tensor.dims())));
    if (CliResult r = check_file_fits(f, *find_input(inputs, f.name)); r.code != ExitCode::kOk) return r;
    shapes[f.name] = f.tensor.dims();
  }
  for (const auto* vi : inputs) {
    if (shapes.count(vi->name) || !has_unknown_dims(*vi)) continue;
    if (!vi->has_type || !vi->type.has_shape)
      return CliResult::usage(str("input '", vi->name, "' has no declared shape: give it with --shapes=", vi->name,
                                  ":DxD... or an input file"),
                              kShapeSpecGrammar);
    std::vector<int64_t> dims;
    for (const auto& d : vi->type.dims) dims.push_back(d.has_value && d.value >= 0 ? d.value : 1);
    err << "note: input '" << vi->name << "' is " << declared_type_string(*vi) << "; using " << dims_to_string(dims)
        << " (set it with --shapes=" << vi->name << ":" << format_spec_dims(dims) << ")\n";
    shapes[vi->name] = dims;
  }
  return CliResult::ok();
}

CliResult conform_input(InputFile& file, DType dtype, const std::vector<int64_t>& dims, Tensor& out,
                        std::ostream& err) {
  Tensor t = std::move(file.tensor);
  if (t.dims() != dims)
    return CliResult::failure(str(file.path, ": input '", file.name, "' must have shape ", dtype_name(dtype),
                                  dims_to_string(dims), " but the file holds ", dims_to_string(t.dims())));
  if (t.dtype() != dtype) {
    if (!widened_from_npy(t.dtype(), dtype))
      return CliResult::failure(str(file.path, ": input '", file.name, "' must be ", dtype_name(dtype), " (",
                                    npy_descr(npy_storage_dtype(dtype)), ") but the file holds ", dtype_name(t.dtype())));
    auto converted = Tensor::alloc(dtype, t.dims());
    if (!converted.ok()) return CliResult::failure(converted.status(), file.path);
    for (int64_t e = 0; e < t.numel(); ++e) converted->set_f64(e, t.get_f64(e));
    err << "note: " << file.path << ": float32 values rounded to " << dtype_name(dtype) << " for input '" << file.name
        << "'\n";
    t = std::move(converted).value();
  }
  out = std::move(t);
  return CliResult::ok();
}

}  // namespace kiln::cli
