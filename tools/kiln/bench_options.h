// `kiln bench` options in trtexec's vocabulary (--onnx=, --loadEngine=,
// --shapes=, --warmUp=, --duration=, --infStreams=, ...), because those are
// the flags people already type. Parsing and validation need no GPU, so they
// are unit-tested; the run itself is in bench_command.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cli_result.h"
#include "shape_spec.h"

namespace CLI {
class App;
}

namespace kiln::cli {

struct BenchOptions {
  // Model options
  std::string onnx;         // --onnx=MODEL.onnx: build an engine from it
  std::string load_engine;  // --loadEngine=FILE.engine
  std::string save_engine;  // --saveEngine=FILE.engine (with --onnx)
  // Build options
  bool fp16 = false;
  bool no_tune = false;
  std::vector<std::string> shapes;  // --shapes specs as given
  // Inference options
  double warm_up_ms = 200;
  int64_t iterations = 10;  // at least this many timed iterations ...
  double duration_s = 3;    // ... and at least this long
  bool use_cuda_graph = false, no_cuda_graph = false;  // flags as given
  int inf_streams = 1;
  bool no_data_transfers = false;
  std::vector<std::string> load_inputs;  // --loadInputs specs as given
  std::vector<std::string> batch;        // --batch: refused (explicit batch only)
  // Reporting options
  bool dump_profile = false;
  bool verbose = false;
  std::string export_times, export_profile, export_layer_info;
  // System options
  int device = 0;

  // Filled by validate_bench_options:
  ShapeMap shape_map;
  bool cuda_graph = true;                     // replay is the default
  std::vector<std::string> load_input_entries;  // NAME:FILE entries, split at ','
  std::string command_line;  // for the &&&& lines; set by main
};

// Most concurrent streams; each holds an activation arena and a host thread.
inline constexpr int kMaxInfStreams = 64;
// Per-layer profile runs averaged by --dumpProfile / --exportProfile.
inline constexpr int kProfileRuns = 10;

extern const char* const kLoadInputsGrammar;

// Declares every option on the `bench` subcommand.
void add_bench_options(CLI::App& command, BenchOptions& options);

// Checks values and combinations and fills the derived fields; a usage error
// (exit 2) naming the option otherwise. Needs neither the model nor a GPU.
CliResult validate_bench_options(BenchOptions& options);

// Maps --loadInputs entries to input names. An entry is 'NAME':FILE or
// NAME:FILE; unquoted, the first ':' whose left side is an input name
// splits it, so names with ':' ("input:0") work without quotes. Usage error
// for a name that is not an input or is given twice.
CliResult resolve_load_inputs(const std::vector<std::string>& entries, const std::vector<std::string>& input_names,
                              std::map<std::string, std::string>& out);

// trtexec's "=== Model Options ===" ... "=== System Options ===" sections
// with every effective setting, one "[I] Key: value" line each.
std::string bench_settings_text(const BenchOptions& options);

// trtexec's bracketing lines: "&&&& RUNNING Kiln.bench # <command line>"
// first, then "&&&& PASSED ..." or "&&&& FAILED ..." last.
std::string bench_running_line(const std::string& command_line);
std::string bench_passed_line(const std::string& command_line);
std::string bench_failed_line(const std::string& command_line);

// "kiln bench --onnx=m.onnx ..." from argv, quoting arguments with spaces.
std::string join_command_line(int argc, const char* const* argv);

}  // namespace kiln::cli
