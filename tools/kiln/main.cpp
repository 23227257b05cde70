// The `kiln` command line: option parsing (CLI11), dispatch to the
// subcommands, and the exit codes: 0 success, 1 the model or data is at
// fault, 2 the command line is at fault. CLI11's exceptions are caught here
// and nowhere else.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "bench_options.h"
#include "commands.h"
#include "execution_device.h"
#include "shape_spec.h"

namespace {

using kiln::cli::CliResult;
using kiln::cli::ExitCode;

constexpr int kUsageExit = static_cast<int>(ExitCode::kUsage);

// The subcommand being parsed when an error happened, else the app.
const CLI::App* current_app(const CLI::App& app) {
  auto subs = app.get_subcommands();
  return subs.empty() ? &app : subs.back();
}

// Help text of `sub` with the full command in its "Usage:" line.
std::string help_of(const CLI::App& app, const CLI::App* sub) { return sub == &app ? app.help() : sub->help("kiln"); }

int finish(const CliResult& result, const CLI::App& app) {
  if (result.code == ExitCode::kOk) return 0;
  std::cout.flush();
  const CLI::App* sub = current_app(app);
  std::string name = sub == &app ? "kiln" : "kiln " + sub->get_name();
  std::cerr << name << ": error: " << result.message << "\n";
  if (result.code == ExitCode::kUsage) {
    std::cerr << "\n" << (result.hint.empty() ? help_of(app, sub) : result.hint + "\n");
    if (!result.hint.empty()) std::cerr << "Run '" << name << " --help' for all options.\n";
  }
  return static_cast<int>(result.code);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kiln: a deep-learning inference optimizer and runtime.", "kiln"};
  app.require_subcommand(0, 1);
  app.footer("Exit codes: 0 success, 1 model or data error, 2 usage error.");
  bool show_version = false;
  app.add_flag("--version", show_version, "Print the version (same as 'kiln version')");

  const std::string shapes_help = "Input shapes, trtexec grammar NAME:1x3x224x224[,NAME:DxD...]; may be repeated";

  kiln::cli::InspectOptions inspect;
  CLI::App* inspect_cmd = app.add_subcommand("inspect", "Print a model's facts, op histogram and unsupported ops");
  inspect_cmd->add_option("model", inspect.model, "ONNX model file")->required();
  inspect_cmd->add_option("--shapes", inspect.shapes, shapes_help)->allow_extra_args(false);
  inspect_cmd->add_flag("--dump-ir", inspect.dump_ir, "Print the imported graph IR");
  inspect_cmd->footer(kiln::cli::kShapeSpecGrammar);

  kiln::cli::RunOptions run;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a model once and summarize (and save) its outputs");
  run_cmd->add_option("model", run.model, "ONNX model file (or give --engine)");
  run_cmd->add_option("--engine", run.engine, "Run a saved engine (from 'kiln build') on the GPU instead");
  run_cmd->add_option("-i,--input", run.inputs, "Input from a .npy file, NAME=FILE.npy; may be repeated (random if absent)")
      ->allow_extra_args(false);
  run_cmd->add_option("-o,--output-dir", run.output_dir, "Write each output as NAME.npy into this directory");
  run_cmd->add_option("--shapes", run.shapes, shapes_help)->allow_extra_args(false);
  run_cmd->add_option("--seed", run.seed, "Seed of the random inputs")->capture_default_str();
  run_cmd->add_option("--device", run.device,
                      "Where to run: cpu (the CPU reference, default) or cuda (an engine built in memory; "
                      "the default with --engine)")
      ->check(CLI::IsMember(kiln::cli::kDeviceNames));
  run_cmd->add_flag("--fp16", run.fp16, "With --device cuda: let eligible layers run in fp16 (default fp32)");
  run_cmd->footer(std::string(kiln::cli::kShapeSpecGrammar) +
                  "\nRandom inputs: floats uniform in [-1,1), integers in [0,10), bools 0/1.");

  kiln::cli::BuildCommandOptions build;
  CLI::App* build_cmd = app.add_subcommand("build", "Build a CUDA engine for this GPU and save it");
  build_cmd->add_option("model", build.model, "ONNX model file")->required();
  build_cmd->add_option("-o,--output", build.output, "Engine file to write")->required();
  build_cmd->add_flag("--fp16", build.fp16, "Let eligible layers run in fp16 (default fp32)");
  build_cmd->add_option("--shapes", build.shapes, shapes_help)->allow_extra_args(false);
  build_cmd->add_flag("--no-tune", build.no_tune, "Take each layer's first kernel instead of timing every tactic");
  build_cmd->add_option("--device", build.device, "CUDA device index")->capture_default_str();
  build_cmd->footer(kiln::cli::kShapeSpecGrammar);

  kiln::cli::BenchOptions bench;
  bench.command_line = kiln::cli::join_command_line(argc, argv);
  CLI::App* bench_cmd = app.add_subcommand("bench", "Build or load an engine and time it (trtexec's options)");
  kiln::cli::add_bench_options(*bench_cmd, bench);
  bench_cmd->footer(std::string(kiln::cli::kShapeSpecGrammar) + "\n" + kiln::cli::kLoadInputsGrammar +
                    "\nEnds with '&&&& PASSED Kiln.bench # <command line>' or '&&&& FAILED ...'.");

  CLI::App* version_cmd = app.add_subcommand("version", "Print the version, build type and CUDA support");
  CLI::App* devices_cmd = app.add_subcommand("devices", "List the CUDA devices, or say why there are none");
  kiln::cli::OpsOptions ops;
  CLI::App* ops_cmd = app.add_subcommand("ops", "Print the op support table");
  ops_cmd->add_flag("--markdown", ops.markdown, "Print it as the Markdown table of docs/ops.md");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    const CLI::App* sub = current_app(app);
    std::cerr << (sub == &app ? "kiln" : "kiln " + sub->get_name()) << ": error: " << e.what() << "\n\n"
              << help_of(app, sub);
    if (sub == bench_cmd) std::cout << kiln::cli::bench_failed_line(bench.command_line) << "\n";
    return kUsageExit;
  }

  try {
    if (show_version || version_cmd->parsed()) return finish(kiln::cli::version_command(std::cout), app);
    if (inspect_cmd->parsed()) return finish(kiln::cli::inspect_command(inspect, std::cout, std::cerr), app);
    if (run_cmd->parsed()) return finish(kiln::cli::run_command(run, std::cout, std::cerr), app);
    if (build_cmd->parsed()) return finish(kiln::cli::build_command(build, std::cout, std::cerr), app);
    if (bench_cmd->parsed()) return finish(kiln::cli::bench_command(bench, std::cout, std::cerr), app);
    if (devices_cmd->parsed()) return finish(kiln::cli::devices_command(std::cout), app);
    if (ops_cmd->parsed()) return finish(kiln::cli::ops_command(ops, std::cout), app);
  } catch (const std::exception& e) {
    // Kiln's libraries return errors as values; this catches allocation
    // failures and the like so the user still gets a message, not a core.
    std::cout.flush();
    std::cerr << "kiln: error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::kFailure);
  }
  std::cerr << "kiln: error: no command given\n\n" << app.help();
  return kUsageExit;
}
