#include "bench_options.h"

#include <CLI/CLI.hpp>

#include <cmath>
#include <set>

#include "base/status.h"

namespace kiln::cli {

const char* const kLoadInputsGrammar =
    "loadInputs grammar:  NAME:FILE.npy[,NAME:FILE.npy...]\n"
    "  NAME  an input name; quote it ('input:0':x.npy) when it holds ',' or\n"
    "        when the file name holds ':'\n"
    "  FILE  a NumPy .npy file of the input's type and shape";

void add_bench_options(CLI::App& cmd, BenchOptions& o) {
  cmd.option_defaults()->group("Model Options");
  cmd.add_option("--onnx", o.onnx, "ONNX model to build an engine from");
  cmd.add_option("--loadEngine", o.load_engine, "Load a serialized engine instead of building one");
  cmd.option_defaults()->group("Build Options");
  cmd.add_option("--saveEngine", o.save_engine, "Save the built engine to this file");
  cmd.add_flag("--fp16", o.fp16, "Let eligible layers run in fp16 (default fp32)");
  cmd.add_flag("--noTune", o.no_tune, "Take each layer's first kernel instead of timing every tactic");
  cmd.add_option("--shapes", o.shapes, "Input shapes NAME:1x3x224x224[,NAME:DxD...]; may be repeated")
      ->allow_extra_args(false);
  cmd.option_defaults()->group("Inference Options");
  cmd.add_option("--warmUp", o.warm_up_ms, "Warm up for this many milliseconds")->capture_default_str();
  cmd.add_option("--iterations", o.iterations, "Run at least this many timed iterations")->capture_default_str();
  cmd.add_option("--duration", o.duration_s, "Run for at least this many seconds")->capture_default_str();
  cmd.add_flag("--useCudaGraph", o.use_cuda_graph, "Replay each inference as a CUDA graph (the default)");
  cmd.add_flag("--noCudaGraph", o.no_cuda_graph, "Enqueue layer by layer instead of replaying a CUDA graph");
  cmd.add_option("--infStreams", o.inf_streams,
                 "Run N execution contexts at once, each on its own stream and host thread")
      ->capture_default_str();
  cmd.add_flag("--noDataTransfers", o.no_data_transfers, "Time the inference alone, without host<->device copies");
  cmd.add_option("--loadInputs", o.load_inputs, "Inputs from .npy files NAME:FILE.npy[,...] (random if absent)")
      ->allow_extra_args(false);
  cmd.add_option("--batch", o.batch, "Refused: Kiln networks have an explicit batch; use --shapes")
      ->allow_extra_args(false);
  cmd.option_defaults()->group("Reporting Options");
  cmd.add_flag("--dumpProfile", o.dump_profile, "Print per-layer times (averaged over several runs)");
  cmd.add_flag("--verbose", o.verbose, "Print the build report (kernel, precision, layout per layer)");
  cmd.add_option("--exportTimes", o.export_times, "Write per-iteration times and the summary as JSON");
  cmd.add_option("--exportProfile", o.export_profile, "Write per-layer times as JSON");
  cmd.add_option("--exportLayerInfo", o.export_layer_info, "Write the layers (kernel, precision, layout, tactic) as JSON");
  cmd.option_defaults()->group("System Options");
  cmd.add_option("--device", o.device, "CUDA device index")->capture_default_str();
  cmd.option_defaults()->group("Options");
}

namespace {

// Splits at ',' outside single quotes; an unterminated quote is an error.
Expected<std::vector<std::string>> split_outside_quotes(const std::string& spec) {
  std::vector<std::string> out;
  bool in_quote = false;
  size_t start = 0;
  for (size_t i = 0; i <= spec.size(); ++i) {
    if (i < spec.size() && spec[i] == '\'') in_quote = !in_quote;
    if (i == spec.size() || (spec[i] == ',' && !in_quote)) {
      out.push_back(spec.substr(start, i - start));
      start = i + 1;
    }
  }
  if (in_quote) return InvalidArgument("unterminated quote in '", spec, "'");
  return out;
}

Status check_load_input_entry(const std::string& e) {
  if (e.empty()) return InvalidArgument("empty entry (stray ',')");
  if (e.front() == '\'') {
    size_t close = e.find('\'', 1);
    if (close == 1) return InvalidArgument("entry '", e, "' has an empty name");
    if (close + 1 >= e.size() || e[close + 1] != ':') return InvalidArgument("entry '", e, "': expected ':' after the quoted name");
    if (close + 2 == e.size()) return InvalidArgument("entry '", e, "' gives no file");
    return Status::Ok();
  }
  size_t colon = e.find(':');
  if (colon == std::string::npos) return InvalidArgument("entry '", e, "' has no ':' (want NAME:FILE.npy)");
  if (colon == 0) return InvalidArgument("entry '", e, "' has an empty name");
  if (e.back() == ':') return InvalidArgument("entry '", e, "' gives no file");
  return Status::Ok();
}

std::string on_off(bool on) { return on ? "Enabled" : "Disabled"; }

std::string shell_quote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_of(" \t\n'\"\\$`;&|<>()*?[]{}!#~") == std::string::npos) return arg;
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

CliResult validate_bench_options(BenchOptions& o) {
  if (!o.batch.empty())
    return CliResult::usage(
        "--batch: Kiln networks have an explicit batch dimension; set the batch in --shapes instead "
        "(e.g. --shapes=input:8x3x224x224)");
  if (o.onnx.empty() && o.load_engine.empty())
    return CliResult::usage("give a model with --onnx=MODEL.onnx or an engine with --loadEngine=FILE.engine");
  if (!o.onnx.empty() && !o.load_engine.empty())
    return CliResult::usage("--onnx and --loadEngine exclude each other: build from the model or load an engine");
  if (!o.load_engine.empty()) {
    if (!o.save_engine.empty()) return CliResult::usage("--saveEngine needs --onnx: --loadEngine's engine is saved already");
    if (o.fp16) return CliResult::usage("--fp16 is a build option: --loadEngine's precision was fixed when it was built");
    if (o.no_tune) return CliResult::usage("--noTune is a build option and does not apply to --loadEngine");
  }
  auto shapes = parse_shape_specs(o.shapes);
  if (!shapes.ok()) return CliResult::usage("--shapes: " + shapes.status().message(), kShapeSpecGrammar);
  o.shape_map = std::move(shapes).value();

  if (!std::isfinite(o.warm_up_ms) || o.warm_up_ms < 0)
    return CliResult::usage(str("--warmUp=", o.warm_up_ms, ": want milliseconds >= 0"));
  if (o.iterations < 1) return CliResult::usage(str("--iterations=", o.iterations, ": want at least 1"));
  if (!std::isfinite(o.duration_s) || o.duration_s < 0)
    return CliResult::usage(str("--duration=", o.duration_s, ": want seconds >= 0"));
  if (o.inf_streams < 1 || o.inf_streams > kMaxInfStreams)
    return CliResult::usage(str("--infStreams=", o.inf_streams, ": want 1 to ", kMaxInfStreams));
  if (o.device < 0) return CliResult::usage(str("--device=", o.device, ": want a device index >= 0"));
  if (o.use_cuda_graph && o.no_cuda_graph) return CliResult::usage("--useCudaGraph and --noCudaGraph exclude each other");
  o.cuda_graph = !o.no_cuda_graph;

  o.load_input_entries.clear();
  for (const std::string& spec : o.load_inputs) {
    auto entries = split_outside_quotes(spec);
    if (!entries.ok()) return CliResult::usage("--loadInputs: " + entries.status().message(), kLoadInputsGrammar);
    for (const std::string& e : *entries) {
      if (Status s = check_load_input_entry(e); !s.ok())
        return CliResult::usage("--loadInputs: " + s.message(), kLoadInputsGrammar);
      o.load_input_entries.push_back(e);
    }
  }
  for (const std::string* path : {&o.export_times, &o.export_profile, &o.export_layer_info, &o.save_engine})
    if (!path->empty() && (*path == o.onnx || *path == o.load_engine))
      return CliResult::usage(str("'", *path, "' is the model itself: give another output file"));
  return CliResult::ok();
}

CliResult resolve_load_inputs(const std::vector<std::string>& entries, const std::vector<std::string>& input_names,
                              std::map<std::string, std::string>& out) {
  std::set<std::string> names(input_names.begin(), input_names.end());
  std::string listed;
  for (const auto& n : input_names) listed += str(listed.empty() ? "" : ", ", "'", n, "'");
  out.clear();
  for (const std::string& e : entries) {
    if (Status s = check_load_input_entry(e); !s.ok())
      return CliResult::usage("--loadInputs: " + s.message(), kLoadInputsGrammar);
    std::string name, path;
    if (e.front() == '\'') {
      size_t close = e.find('\'', 1);
      name = e.substr(1, close - 1);
      path = e.substr(close + 2);
    } else {
      for (size_t colon = e.find(':'); colon != std::string::npos && name.empty(); colon = e.find(':', colon + 1))
        if (names.count(e.substr(0, colon))) {
          name = e.substr(0, colon);
          path = e.substr(colon + 1);
        }
      if (name.empty()) name = e.substr(0, e.find(':'));  // for the message below
    }
    if (!names.count(name))
      return CliResult::usage(str("--loadInputs: '", name, "' is not an input (inputs: ", listed.empty() ? "(none)" : listed,
                                  ")"),
                              kLoadInputsGrammar);
    if (path.empty()) return CliResult::usage(str("--loadInputs: entry '", e, "' gives no file"), kLoadInputsGrammar);
    if (!out.emplace(name, path).second) return CliResult::usage(str("--loadInputs: input '", name, "' is given twice"));
  }
  return CliResult::ok();
}

std::string bench_settings_text(const BenchOptions& o) {
  std::string s;
  auto line = [&s](const std::string& key, const std::string& value) { s += "[I] " + key + ": " + value + "\n"; };
  bool engine = !o.load_engine.empty();
  s += "[I] === Model Options ===\n";
  line("Format", engine ? "Kiln engine" : "ONNX");
  line("Model", engine ? o.load_engine : o.onnx);
  s += "[I] === Build Options ===\n";
  line("Precision", engine ? "as built" : (o.fp16 ? "FP32+FP16" : "FP32"));
  line("Tactic tuning", engine ? "as built" : on_off(!o.no_tune));
  std::string shapes;
  for (const auto& [name, dims] : o.shape_map) shapes += str(shapes.empty() ? "" : ",", name, ":", format_spec_dims(dims));
  line("Input shapes", shapes.empty() ? (engine ? "as built" : "model") : shapes);
  line("Save engine", o.save_engine.empty() ? "(none)" : o.save_engine);
  s += "[I] === Inference Options ===\n";
  std::string inputs;
  for (const auto& e : o.load_input_entries) inputs += (inputs.empty() ? "" : ",") + e;
  line("Inputs", inputs.empty() ? "random (seeded)" : inputs);
  line("Warm up", str(o.warm_up_ms, " ms"));
  line("Iterations", str(o.iterations, " (at least)"));
  line("Duration", str(o.duration_s, " s (at least)"));
  line("Inference Streams", std::to_string(o.inf_streams));
  line("CUDA Graph", on_off(o.cuda_graph));
  line("Data transfers", on_off(!o.no_data_transfers));
  s += "[I] === Reporting Options ===\n";
  line("Verbose", on_off(o.verbose));
  line("Percentiles", "90,99");
  line("Profile", o.dump_profile ? str("Enabled (average of ", kProfileRuns, " runs)") : "Disabled");
  line("Export timing to JSON file", o.export_times);
  line("Export profile to JSON file", o.export_profile);
  line("Export layer info to JSON file", o.export_layer_info);
  s += "[I] === System Options ===\n";
  line("Device", std::to_string(o.device));
  return s;
}

std::string bench_running_line(const std::string& command_line) { return "&&&& RUNNING Kiln.bench # " + command_line; }
std::string bench_passed_line(const std::string& command_line) { return "&&&& PASSED Kiln.bench # " + command_line; }
std::string bench_failed_line(const std::string& command_line) { return "&&&& FAILED Kiln.bench # " + command_line; }

std::string join_command_line(int argc, const char* const* argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) out += (i ? " " : "") + shell_quote(argv[i] ? argv[i] : "");
  return out;
}

}  // namespace kiln::cli
