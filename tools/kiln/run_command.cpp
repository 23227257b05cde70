// `kiln run`: one inference on the chosen device with inputs from .npy files
// or random ones, a short report of each output, and the outputs as .npy.
// The model is an ONNX file (CPU reference, or a CUDA engine built in memory)
// or a saved engine (--engine). Order of checks: the command line first
// (exit 2), then the device, then the model and the data (exit 1), so a typo
// never costs an import.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <ostream>

#include "commands.h"
#include "engine/engine_file.h"
#include "execution_device.h"
#include "file_names.h"
#include "input_files.h"
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

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += str(out.empty() ? "" : ", ", "'", n, "'");
  return out.empty() ? "(none)" : out;
}

// NAME=FILE, where NAME is an input. Names and paths may both contain '=':
// the first split whose left side is an input name wins.
CliResult parse_input_args(const std::vector<std::string>& args, const std::vector<std::string>& inputs,
                           std::vector<InputFile>& out) {
  auto is_input = [&](const std::string& n) { return std::find(inputs.begin(), inputs.end(), n) != inputs.end(); };
  for (const std::string& arg : args) {
    size_t first = arg.find('=');
    if (first == std::string::npos || first == 0 || first + 1 == arg.size())
      return CliResult::usage(str("--input '", arg, "' is not NAME=FILE.npy"), kInputGrammar);
    std::string name, path;
    for (size_t eq = first; eq != std::string::npos && name.empty(); eq = arg.find('=', eq + 1))
      if (is_input(arg.substr(0, eq))) {
        name = arg.substr(0, eq);
        path = arg.substr(eq + 1);
      }
    if (name.empty())
      return CliResult::usage(
          str("--input '", arg.substr(0, first), "' is not an input of the model (inputs: ", quoted_list(inputs), ")"));
    if (path.empty()) return CliResult::usage(str("--input '", arg, "' gives no file"), kInputGrammar);
    if (find_file(out, name)) return CliResult::usage(str("--input '", name, "' is given twice"));
    out.push_back({name, path, {}});
  }
  return CliResult::ok();
}

struct InputDecl {
  std::string name;
  DType dtype;
  std::vector<int64_t> dims;
};

// The tensors to run with, in input order; random where no file was given
// (seeded by position, so the CPU reference and an engine get the same data).
CliResult build_inputs(const std::vector<InputDecl>& decls, std::vector<InputFile>& files, uint64_t seed,
                       std::map<std::string, Tensor>& out, std::ostream& report, std::ostream& err) {
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < decls.size(); ++i) {
    const InputDecl& in = decls[i];
    std::string type = str(dtype_name(in.dtype), dims_to_string(in.dims));
    auto file = std::find_if(files.begin(), files.end(), [&](const InputFile& f) { return f.name == in.name; });
    if (file != files.end()) {
      Tensor t;
      if (CliResult r = conform_input(*file, in.dtype, in.dims, t, err); r.code != ExitCode::kOk) return r;
      rows.push_back({in.name, type, file->path});
      out[in.name] = std::move(t);
      continue;
    }
    auto t = Tensor::alloc(in.dtype, in.dims);
    if (!t.ok()) return CliResult::failure(t.status().with_context(str("input '", in.name, "'")).message());
    fill_random(*t, derive_seed(seed, i));
    rows.push_back({in.name, type, str("random (seed ", seed, ")")});
    out[in.name] = std::move(t).value();
  }
  report << "Inputs (" << rows.size() << ")\n" << format_table(rows);
  return CliResult::ok();
}

CliResult write_outputs(const std::vector<std::string>& names, const std::vector<Tensor>& outputs,
                        const std::string& output_dir, std::ostream& out) {
  std::vector<std::string> stems = unique_file_stems(names);
  if (!output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(output_dir, ec);
    if (ec) return CliResult::failure(str(output_dir, ": cannot create the output directory: ", ec.message()));
  }
  out << "\nOutputs (" << outputs.size() << ")\n";
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& t = outputs[i];
    out << "  " << names[i] << "  " << dtype_name(t.dtype()) << dims_to_string(t.dims()) << "\n    "
        << summarize_tensor(t) << "\n";
    if (output_dir.empty()) continue;
    std::string path = (std::filesystem::path(output_dir) / (stems[i] + ".npy")).string();
    if (Status s = write_npy(path, t); !s.ok()) return CliResult::failure(s, path);
    out << "    -> " << path;
    if (npy_storage_dtype(t.dtype()) != t.dtype()) out << " (as float32: NumPy has no " << dtype_name(t.dtype()) << ")";
    out << "\n";
  }
  return CliResult::ok();
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Combinations of options, before anything is read.
CliResult check_options(const RunOptions& options, ExecutionDevice& device) {
  bool engine = !options.engine.empty();
  if (engine && !options.model.empty())
    return CliResult::usage(str("give an ONNX model or --engine, not both ('", options.model, "' and --engine ",
                                options.engine, ")"));
  if (!engine && options.model.empty()) return CliResult::usage("give an ONNX model (or --engine FILE.engine)");
  auto parsed = parse_execution_device(options.device.empty() ? (engine ? "cuda" : "cpu") : options.device);
  if (!parsed.ok()) return CliResult::usage("--device: " + parsed.status().message());
  device = *parsed;
  if (engine && device != ExecutionDevice::kCuda)
    return CliResult::usage("--engine runs a CUDA engine: drop --device " + options.device);
  if (options.fp16 && device != ExecutionDevice::kCuda)
    return CliResult::usage("--fp16 needs --device cuda (the CPU reference computes in the model's own types)");
  if (options.fp16 && engine)
    return CliResult::usage("--fp16 is a build option: the engine's precision was fixed when it was built");
  return CliResult::ok();
}

// --engine FILE: inputs checked against the engine's fixed input shapes.
CliResult run_engine_file(const RunOptions& options, const ShapeMap& specs, std::ostream& out, std::ostream& err) {
  auto start = std::chrono::steady_clock::now();
  auto plan = load_engine_file(options.engine);
  if (!plan.ok()) return CliResult::failure(plan.status(), options.engine);
  std::vector<InputDecl> decls;
  std::vector<std::string> names;
  for (int32_t t : plan->inputs) {
    const PlanTensor& pt = plan->tensors[static_cast<size_t>(t)];
    decls.push_back({pt.name, pt.dtype, pt.dims});
    names.push_back(pt.name);
  }
  for (const auto& spec : specs) {
    const std::string& name = spec.first;
    const std::vector<int64_t>& dims = spec.second;
    auto d = std::find_if(decls.begin(), decls.end(), [&](const InputDecl& x) { return x.name == name; });
    if (d == decls.end())
      return CliResult::usage(str("--shapes names '", name, "', which is not an input of the engine (inputs: ",
                                  quoted_list(names), ")"));
    if (d->dims != dims)
      return CliResult::usage(str("--shapes gives '", name, "' ", dims_to_string(dims), " but ", options.engine,
                                  " was built for ", dims_to_string(d->dims), " (rebuild it with kiln build --shapes)"));
  }
  std::vector<InputFile> files;
  if (CliResult r = parse_input_args(options.inputs, names, files); r.code != ExitCode::kOk) return r;
  if (CliResult r = read_input_files(files); r.code != ExitCode::kOk) return r;
  double load_ms = ms_since(start);

  std::map<std::string, Tensor> inputs;
  if (CliResult r = build_inputs(decls, files, options.seed, inputs, out, err); r.code != ExitCode::kOk) return r;
  std::vector<std::string> output_names;
  for (int32_t t : plan->outputs) output_names.push_back(plan->tensors[static_cast<size_t>(t)].name);
  ExecuteTimes times;
  auto outputs = execute_plan(std::move(plan).value(), inputs, times);
  if (!outputs.ok()) return CliResult::failure(outputs.status(), options.engine);
  if (CliResult r = write_outputs(output_names, *outputs, options.output_dir, out); r.code != ExitCode::kOk) return r;
  out << "\n" << execution_device_label(ExecutionDevice::kCuda) << ": " << format_ms(times.run_ms) << " (load "
      << format_ms(load_ms + times.build_ms) << ")\n";
  return CliResult::ok();
}

}  // namespace

CliResult run_command(const RunOptions& options, std::ostream& out, std::ostream& err) {
  ExecutionDevice device = ExecutionDevice::kCpu;
  if (CliResult r = check_options(options, device); r.code != ExitCode::kOk) return r;
  auto specs = parse_shape_specs(options.shapes);
  if (!specs.ok()) return CliResult::usage("--shapes: " + specs.status().message(), kShapeSpecGrammar);
  if (Status s = check_device_available(device); !s.ok()) return CliResult::failure(s.message());
  if (!options.engine.empty()) return run_engine_file(options, *specs, out, err);

  auto loaded = load_model_file(options.model);
  if (!loaded.ok()) return CliResult::failure(loaded.status(), options.model);
  std::vector<const onnx::ValueInfoProto*> graph_inputs = runtime_inputs(*loaded);
  if (CliResult r = check_shape_names(*specs, graph_inputs); r.code != ExitCode::kOk) return r;
  std::vector<std::string> input_names;
  for (const auto* vi : graph_inputs) input_names.push_back(vi->name);
  std::vector<InputFile> files;
  if (CliResult r = parse_input_args(options.inputs, input_names, files); r.code != ExitCode::kOk) return r;
  if (CliResult r = read_input_files(files); r.code != ExitCode::kOk) return r;
  ImportOptions import_options;
  if (CliResult r = resolve_input_shapes(graph_inputs, *specs, files, import_options.input_shapes, err);
      r.code != ExitCode::kOk)
    return r;

  auto start = std::chrono::steady_clock::now();
  auto imported = import_onnx_model(std::move(loaded).value(), model_directory(options.model), import_options);
  if (!imported.ok()) return CliResult::failure(imported.status(), options.model);
  double import_ms = ms_since(start);
  Graph& graph = *imported->graph;

  std::vector<InputDecl> decls;
  for (const Value* in : graph.inputs) {
    auto dims = in->shape.static_dims();
    if (!in->shape_known || !dims) return CliResult::failure(str("input '", in->name, "' has no static shape after import"));
    decls.push_back({in->name, in->dtype, *dims});
  }
  std::map<std::string, Tensor> inputs;
  if (CliResult r = build_inputs(decls, files, options.seed, inputs, out, err); r.code != ExitCode::kOk) return r;

  std::vector<std::string> names;  // before a CUDA build rewrites the graph
  for (const Value* v : graph.outputs) names.push_back(v->name);
  ExecuteTimes times;
  auto outputs = execute_graph(device, graph, inputs, {options.fp16, true}, times);
  if (!outputs.ok()) return CliResult::failure(outputs.status(), options.model);
  if (CliResult r = write_outputs(names, *outputs, options.output_dir, out); r.code != ExitCode::kOk) return r;
  out << "\n" << execution_device_label(device) << ": " << format_ms(times.run_ms) << " (import " << format_ms(import_ms);
  if (device == ExecutionDevice::kCuda) out << ", build " << format_ms(times.build_ms);
  out << ")\n";
  return CliResult::ok();
}

}  // namespace kiln::cli
