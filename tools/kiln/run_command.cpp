// `kiln run`: one inference on the chosen device with inputs from .npy files
// or random ones, a short report of each output, and the outputs as .npy.
// Order of checks: the command line first (exit 2), then the model and the
// data (exit 1), so a typo never costs an import.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <ostream>

#include "commands.h"
#include "execution_device.h"
#include "file_names.h"
#include "model_file.h"
#include "npy.h"
#include "onnx/importer.h"
#include "random_fill.h"
#include "shape_spec.h"
#include "tensor_summary.h"
#include "text_format.h"

namespace kiln::cli {
namespace {

const char* const kInputGrammar =
    "input grammar:  --input NAME=FILE.npy   (repeat for several inputs)\n"
    "  NAME  a graph input; FILE a NumPy .npy file (C order, little-endian)";

struct InputFile {
  std::string name, path;
  Tensor tensor;  // read after the command line is checked
};

const InputFile* find_file(const std::vector<InputFile>& files, const std::string& name) {
  for (const auto& f : files)
    if (f.name == name) return &f;
  return nullptr;
}

// NAME=FILE, where NAME is an input of the model. Names and paths may both
// contain '=': the first split whose left side is an input name wins.
CliResult parse_input_args(const std::vector<std::string>& args, const std::vector<const onnx::ValueInfoProto*>& inputs,
                           std::vector<InputFile>& out) {
  for (const std::string& arg : args) {
    size_t first = arg.find('=');
    if (first == std::string::npos || first == 0 || first + 1 == arg.size())
      return CliResult::usage(str("--input '", arg, "' is not NAME=FILE.npy"), kInputGrammar);
    std::string name, path;
    for (size_t eq = first; eq != std::string::npos && name.empty(); eq = arg.find('=', eq + 1))
      if (find_input(inputs, arg.substr(0, eq))) {
        name = arg.substr(0, eq);
        path = arg.substr(eq + 1);
      }
    if (name.empty())
      return CliResult::usage(str("--input '", arg.substr(0, first), "' is not an input of the model (inputs: ",
                                  input_names(inputs), ")"));
    if (path.empty()) return CliResult::usage(str("--input '", arg, "' gives no file"), kInputGrammar);
    if (find_file(out, name)) return CliResult::usage(str("--input '", name, "' is given twice"));
    out.push_back({name, path, {}});
  }
  return CliResult::ok();
}

// bfloat16 and fp8 inputs are stored as float32 in .npy (NumPy has no such
// types); converting back rounds to nearest, which is what the user means.
bool widened_from_npy(DType file, DType wanted) { return file == DType::kFloat32 && npy_storage_dtype(wanted) != wanted; }

// The file's type and dims must fit the declaration (symbolic dims take
// anything); checked before the import so data errors show first.
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

// Shapes to import with: --shapes, the dims of each .npy file, and 1 for any
// remaining symbolic dim (with a note).
CliResult resolve_input_shapes(const std::vector<const onnx::ValueInfoProto*>& inputs, const ShapeMap& specs,
                               const std::vector<InputFile>& files, ShapeMap& shapes, std::ostream& err) {
  shapes = specs;
  for (const auto& f : files) {
    auto it = shapes.find(f.name);
    if (it != shapes.end() && it->second != f.tensor.dims())
      return CliResult::usage(str("--shapes gives '", f.name, "' ", dims_to_string(it->second), " but its --input file ",
                                  f.path, " holds ", dims_to_string(f.tensor.dims())));
    if (CliResult r = check_file_fits(f, *find_input(inputs, f.name)); r.code != ExitCode::kOk) return r;
    shapes[f.name] = f.tensor.dims();
  }
  for (const auto* vi : inputs) {
    if (shapes.count(vi->name) || !has_unknown_dims(*vi)) continue;
    if (!vi->has_type || !vi->type.has_shape)
      return CliResult::usage(str("input '", vi->name, "' has no declared shape: give it with --shapes=", vi->name,
                                  ":DxD... or --input ", vi->name, "=FILE.npy"),
                              kShapeSpecGrammar);
    std::vector<int64_t> dims;
    for (const auto& d : vi->type.dims) dims.push_back(d.has_value && d.value >= 0 ? d.value : 1);
    err << "note: input '" << vi->name << "' is " << declared_type_string(*vi) << "; using " << dims_to_string(dims)
        << " (set it with --shapes=" << vi->name << ":" << format_spec_dims(dims) << ")\n";
    shapes[vi->name] = dims;
  }
  return CliResult::ok();
}

// The tensors to run with, in graph input order; random where no file was given.
CliResult build_inputs(const Graph& graph, std::vector<InputFile>& files, uint64_t seed,
                       std::map<std::string, Tensor>& out, std::ostream& report, std::ostream& err) {
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const Value& in = *graph.inputs[i];
    auto dims = in.shape.static_dims();
    if (!in.shape_known || !dims) return CliResult::failure(str("input '", in.name, "' has no static shape after import"));
    auto file = std::find_if(files.begin(), files.end(), [&](const InputFile& f) { return f.name == in.name; });
    if (file != files.end()) {
      const std::string& path = file->path;
      Tensor t = std::move(file->tensor);
      if (t.dtype() != in.dtype) {
        if (!widened_from_npy(t.dtype(), in.dtype))
          return CliResult::failure(str(path, ": input '", in.name, "' must be ", dtype_name(in.dtype), " but the file holds ",
                                        dtype_name(t.dtype())));
        auto converted = Tensor::alloc(in.dtype, t.dims());
        if (!converted.ok()) return CliResult::failure(converted.status(), path);
        for (int64_t e = 0; e < t.numel(); ++e) converted->set_f64(e, t.get_f64(e));
        err << "note: " << path << ": float32 values rounded to " << dtype_name(in.dtype) << " for input '" << in.name
            << "'\n";
        t = std::move(converted).value();
      }
      rows.push_back({in.name, in.type_string(), path});
      out[in.name] = std::move(t);
      continue;
    }
    auto t = Tensor::alloc(in.dtype, *dims);
    if (!t.ok()) return CliResult::failure(t.status().with_context(str("input '", in.name, "'")).message());
    fill_random(*t, derive_seed(seed, i));
    rows.push_back({in.name, in.type_string(), str("random (seed ", seed, ")")});
    out[in.name] = std::move(t).value();
  }
  report << "Inputs (" << rows.size() << ")\n" << format_table(rows);
  return CliResult::ok();
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

CliResult run_command(const RunOptions& options, std::ostream& out, std::ostream& err) {
  auto device = parse_execution_device(options.device);
  if (!device.ok()) return CliResult::usage("--device: " + device.status().message());
  auto specs = parse_shape_specs(options.shapes);
  if (!specs.ok()) return CliResult::usage("--shapes: " + specs.status().message(), kShapeSpecGrammar);
  if (Status s = check_device_available(*device); !s.ok()) return CliResult::failure(s.message());

  auto loaded = load_model_file(options.model);
  if (!loaded.ok()) return CliResult::failure(loaded.status(), options.model);
  std::vector<const onnx::ValueInfoProto*> graph_inputs = runtime_inputs(*loaded);
  if (CliResult r = check_shape_names(*specs, graph_inputs); r.code != ExitCode::kOk) return r;
  std::vector<InputFile> files;
  if (CliResult r = parse_input_args(options.inputs, graph_inputs, files); r.code != ExitCode::kOk) return r;

  for (auto& f : files) {
    auto t = read_npy(f.path);
    if (!t.ok()) return CliResult::failure(t.status(), f.path);
    f.tensor = std::move(t).value();
  }
  ImportOptions import_options;
  if (CliResult r = resolve_input_shapes(graph_inputs, *specs, files, import_options.input_shapes, err);
      r.code != ExitCode::kOk)
    return r;

  auto start = std::chrono::steady_clock::now();
  auto imported = import_onnx_model(std::move(loaded).value(), model_directory(options.model), import_options);
  if (!imported.ok()) return CliResult::failure(imported.status(), options.model);
  double import_ms = ms_since(start);
  const Graph& graph = *imported->graph;

  std::map<std::string, Tensor> inputs;
  if (CliResult r = build_inputs(graph, files, options.seed, inputs, out, err); r.code != ExitCode::kOk)
    return r;

  start = std::chrono::steady_clock::now();
  auto outputs = execute_graph(*device, graph, inputs);
  double run_ms = ms_since(start);
  if (!outputs.ok()) return CliResult::failure(outputs.status(), options.model);

  std::vector<std::string> names;
  for (const Value* v : graph.outputs) names.push_back(v->name);
  std::vector<std::string> stems = unique_file_stems(names);
  if (!options.output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.output_dir, ec);
    if (ec) return CliResult::failure(str(options.output_dir, ": cannot create the output directory: ", ec.message()));
  }
  out << "\nOutputs (" << outputs->size() << ")\n";
  for (size_t i = 0; i < outputs->size(); ++i) {
    const Tensor& t = (*outputs)[i];
    out << "  " << names[i] << "  " << dtype_name(t.dtype()) << dims_to_string(t.dims()) << "\n    "
        << summarize_tensor(t) << "\n";
    if (options.output_dir.empty()) continue;
    std::string path = (std::filesystem::path(options.output_dir) / (stems[i] + ".npy")).string();
    if (Status s = write_npy(path, t); !s.ok()) return CliResult::failure(s, path);
    out << "    -> " << path;
    if (npy_storage_dtype(t.dtype()) != t.dtype()) out << " (as float32: NumPy has no " << dtype_name(t.dtype()) << ")";
    out << "\n";
  }
  out << "\n" << execution_device_label(*device) << ": " << format_ms(run_ms) << " (import " << format_ms(import_ms)
      << ")\n";
  return CliResult::ok();
}

}  // namespace kiln::cli
