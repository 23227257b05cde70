// The `kiln` subcommands. Each takes its parsed options, writes its report to
// `out` and notes/warnings to `err`, and returns a CliResult; main turns that
// into the exit code. No command throws or exits.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "cli_result.h"

namespace kiln::cli {

struct InspectOptions {
  std::string model;
  std::vector<std::string> shapes;  // each a --shapes spec
  bool dump_ir = false;
};

struct RunOptions {
  std::string model;   // ONNX file; or
  std::string engine;  // a saved engine (runs on CUDA)
  std::vector<std::string> inputs;  // NAME=FILE.npy
  std::vector<std::string> shapes;
  std::string output_dir;  // empty: no files written
  uint64_t seed = 0;
  std::string device;  // "cpu" or "cuda"; empty: cpu, or cuda with --engine
  bool fp16 = false;   // --device cuda builds with fp16 layers
};

struct BuildCommandOptions {
  std::string model;
  std::string output;  // the engine file
  std::vector<std::string> shapes;
  bool fp16 = false;
  bool no_tune = false;
  int device = 0;
};

struct BenchOptions;  // bench_options.h

struct OpsOptions {
  bool markdown = false;
};

CliResult inspect_command(const InspectOptions& options, std::ostream& out, std::ostream& err);
CliResult run_command(const RunOptions& options, std::ostream& out, std::ostream& err);
CliResult build_command(const BuildCommandOptions& options, std::ostream& out, std::ostream& err);
// Prints trtexec-style "[I] ..." lines and ends with "&&&& PASSED Kiln.bench
// # <command line>" or "&&&& FAILED ..." on `out`.
CliResult bench_command(BenchOptions& options, std::ostream& out, std::ostream& err);
CliResult ops_command(const OpsOptions& options, std::ostream& out);
CliResult version_command(std::ostream& out);
CliResult devices_command(std::ostream& out);

}  // namespace kiln::cli
