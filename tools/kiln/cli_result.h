// What a command returns to main: an exit code and, on failure, the message
// main prints. Exit codes follow the usual tool convention: 0 success,
// 1 the model or data is at fault (message names the file, node, tensor),
// 2 the command line is at fault (main prints the usage too).
#pragma once

#include <string>

#include "base/status.h"

namespace kiln::cli {

enum class ExitCode : int { kOk = 0, kFailure = 1, kUsage = 2 };

struct CliResult {
  ExitCode code = ExitCode::kOk;
  std::string message;
  std::string hint;  // extra usage text (a grammar) printed after a usage error

  static CliResult ok() { return {}; }
  static CliResult usage(std::string message, std::string hint = "") {
    return {ExitCode::kUsage, std::move(message), std::move(hint)};
  }
  static CliResult failure(std::string message) { return {ExitCode::kFailure, std::move(message), {}}; }
  // A failure whose message starts with `path` unless it already names it.
  static CliResult failure(const Status& status, const std::string& path) {
    const std::string& m = status.message();
    if (path.empty() || m.find(path) != std::string::npos) return failure(m);
    return failure(path + ": " + m);
  }
};

}  // namespace kiln::cli
