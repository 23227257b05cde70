// `kiln build MODEL.onnx -o MODEL.engine`: imports the model with the input
// shapes asked for, builds an engine for this GPU (passes, kernel choice with
// tactic timing, memory plan), prints the build report and the libraries it
// was built against, and saves the engine atomically.
#include <filesystem>
#include <ostream>

#include "commands.h"
#include "input_files.h"
#include "model_file.h"
#include "shape_spec.h"
#include "text_format.h"

#ifdef KILN_HAVE_CUDA
#include "cuda_runner.h"
#include "engine/engine_file.h"
#include "onnx/importer.h"
#endif

namespace kiln::cli {

#ifdef KILN_HAVE_CUDA
namespace {

// Device name, compute capability, SMs and memory on one line.
std::string describe_device(const CudaDeviceInfo& d) {
  return str(d.name, " (sm_", d.sm_major, d.sm_minor, ", ", d.multiprocessors, " SMs, ", human_bytes(d.memory_bytes),
             ")");
}

}  // namespace
#endif

CliResult build_command(const BuildCommandOptions& options, std::ostream& out, std::ostream& err) {
  auto specs = parse_shape_specs(options.shapes);
  if (!specs.ok()) return CliResult::usage("--shapes: " + specs.status().message(), kShapeSpecGrammar);
  if (options.device < 0) return CliResult::usage(str("--device ", options.device, ": want a device index >= 0"));
  std::error_code ec;
  if (std::filesystem::equivalent(options.model, options.output, ec))
    return CliResult::usage(str("-o ", options.output, " is the model itself: give another engine file"));
#ifndef KILN_HAVE_CUDA
  (void)out;
  (void)err;
  return CliResult::failure("this kiln was built without the CUDA backend (configure with -DKILN_CUDA=ON)");
#else
  auto device = find_cuda_device(options.device);
  if (!device.ok()) return CliResult::failure(device.status().message());

  auto loaded = load_model_file(options.model);
  if (!loaded.ok()) return CliResult::failure(loaded.status(), options.model);
  std::vector<const onnx::ValueInfoProto*> graph_inputs = runtime_inputs(*loaded);
  if (CliResult r = check_shape_names(*specs, graph_inputs); r.code != ExitCode::kOk) return r;
  ImportOptions import_options;
  if (CliResult r = resolve_input_shapes(graph_inputs, *specs, {}, import_options.input_shapes, err);
      r.code != ExitCode::kOk)
    return r;

  out << "Device     " << describe_device(*device) << "\n";
  out << "Libraries  " << library_versions() << "\n";
  out << "Precision  " << (options.fp16 ? "fp16 where eligible, fp32 elsewhere" : "fp32") << "; tactic timing "
      << (options.no_tune ? "off" : "on") << "\n\n";
  out << "build: importing " << options.model << "\n";
  out.flush();
  auto imported = import_onnx_model(std::move(loaded).value(), model_directory(options.model), import_options);
  if (!imported.ok()) return CliResult::failure(imported.status(), options.model);

  BuildOptions build;
  build.fp16 = options.fp16;
  build.autotune = !options.no_tune;
  build.progress = [&out](const std::string& line) { out << "build: " << line << "\n" << std::flush; };
  BuildReport report;
  auto plan = build_cuda_plan(*imported->graph, build, options.device, &report);
  if (!plan.ok()) return CliResult::failure(plan.status(), options.model);

  out << "\n" << report.to_text();
  if (Status s = save_engine(*plan, options.output); !s.ok()) return CliResult::failure(s, options.output);
  auto size = std::filesystem::file_size(options.output, ec);
  out << "\nEngine     " << options.output << " (" << (ec ? std::string("size unknown") : human_bytes(size)) << ", "
      << count_of(plan->layers.size(), "layer") << ", built for " << plan->device_name << " sm_" << plan->sm_major
      << plan->sm_minor << ")\n";
  return CliResult::ok();
#endif
}

}  // namespace kiln::cli
