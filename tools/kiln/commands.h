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
  std::string model;
  std::vector<std::string> inputs;  // NAME=FILE.npy
  std::vector<std::string> shapes;
  std::string output_dir;  // empty: no files written
  uint64_t seed = 0;
  std::string device = "cpu";
};

struct OpsOptions {
  bool markdown = false;
};

CliResult inspect_command(const InspectOptions& options, std::ostream& out, std::ostream& err);
CliResult run_command(const RunOptions& options, std::ostream& out, std::ostream& err);
CliResult ops_command(const OpsOptions& options, std::ostream& out);
CliResult version_command(std::ostream& out);
CliResult devices_command(std::ostream& out);

}  // namespace kiln::cli
