// `kiln bench` without a GPU: trtexec-style flags parsed through the real
// CLI11 declarations, their validation (usage errors name the option), the
// latency statistics on known data, the stable summary lines scripts parse,
// the profile ranking and the JSON exports.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <regex>
#include <sstream>

#include "bench_export.h"
#include "bench_options.h"
#include "bench_profile.h"
#include "bench_stats.h"
#include "input_files.h"
#include "random_fill.h"

namespace kiln::cli {
namespace {

// Parses `args` as `kiln bench ARGS`; parse errors come back as a usage
// CliResult carrying CLI11's message.
CliResult parse(std::vector<std::string> args, BenchOptions& o) {
  CLI::App app{"test", "kiln"};
  CLI::App* bench = app.add_subcommand("bench");
  add_bench_options(*bench, o);
  args.insert(args.begin(), "bench");
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector reversed
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return CliResult::usage(e.what());
  }
  return validate_bench_options(o);
}

TEST(BenchOptions, DefaultsMatchTrtexec) {
  BenchOptions o;
  CliResult r = parse({"--onnx=m.onnx"}, o);
  ASSERT_EQ(r.code, ExitCode::kOk) << r.message;
  EXPECT_EQ(o.onnx, "m.onnx");
  EXPECT_EQ(o.warm_up_ms, 200);
  EXPECT_EQ(o.iterations, 10);
  EXPECT_EQ(o.duration_s, 3);
  EXPECT_EQ(o.inf_streams, 1);
  EXPECT_TRUE(o.cuda_graph);  // replay is the default
  EXPECT_FALSE(o.no_data_transfers);
  EXPECT_FALSE(o.fp16);
  EXPECT_TRUE(o.shape_map.empty());
}

TEST(BenchOptions, ParsesEveryFlag) {
  BenchOptions o;
  CliResult r = parse({"--onnx=m.onnx", "--saveEngine=m.engine", "--fp16", "--noTune",
                       "--shapes=input:8x3x224x224,mask:8x128", "--warmUp=50", "--iterations=100", "--duration=0.5",
                       "--noCudaGraph", "--infStreams=4", "--noDataTransfers", "--loadInputs=input:x.npy,'a:0':b:c.npy",
                       "--dumpProfile", "--verbose", "--exportTimes=t.json", "--exportProfile=p.json",
                       "--exportLayerInfo=l.json", "--device=1"},
                      o);
  ASSERT_EQ(r.code, ExitCode::kOk) << r.message;
  EXPECT_EQ(o.save_engine, "m.engine");
  EXPECT_TRUE(o.fp16 && o.no_tune && o.no_data_transfers && o.dump_profile && o.verbose);
  EXPECT_EQ(o.shape_map.at("input"), (std::vector<int64_t>{8, 3, 224, 224}));
  EXPECT_EQ(o.shape_map.at("mask"), (std::vector<int64_t>{8, 128}));
  EXPECT_EQ(o.warm_up_ms, 50);
  EXPECT_EQ(o.iterations, 100);
  EXPECT_EQ(o.duration_s, 0.5);
  EXPECT_FALSE(o.cuda_graph);
  EXPECT_EQ(o.inf_streams, 4);
  EXPECT_EQ(o.load_input_entries, (std::vector<std::string>{"input:x.npy", "'a:0':b:c.npy"}));
  EXPECT_EQ(o.export_times, "t.json");
  EXPECT_EQ(o.export_profile, "p.json");
  EXPECT_EQ(o.export_layer_info, "l.json");
  EXPECT_EQ(o.device, 1);
}

TEST(BenchOptions, SpaceSeparatedValuesAndRepeatedShapes) {
  BenchOptions o;
  CliResult r = parse({"--loadEngine", "m.engine", "--shapes", "a:1x2", "--shapes", "b:3", "--useCudaGraph"}, o);
  ASSERT_EQ(r.code, ExitCode::kOk) << r.message;
  EXPECT_EQ(o.load_engine, "m.engine");
  EXPECT_EQ(o.shape_map.size(), 2u);
  EXPECT_TRUE(o.cuda_graph);
}

TEST(BenchOptions, RefusesBadValuesAndCombinations) {
  struct Case {
    std::vector<std::string> args;
    const char* says;  // a fragment the message must hold
  };
  const Case cases[] = {
      {{}, "--onnx"},
      {{"--onnx=m.onnx", "--loadEngine=m.engine"}, "exclude"},
      {{"--loadEngine=m.engine", "--saveEngine=x.engine"}, "--saveEngine"},
      {{"--loadEngine=m.engine", "--fp16"}, "--fp16"},
      {{"--loadEngine=m.engine", "--noTune"}, "--noTune"},
      {{"--onnx=m.onnx", "--batch=8"}, "--shapes"},
      {{"--onnx=m.onnx", "--shapes=x"}, "--shapes"},
      {{"--onnx=m.onnx", "--shapes=x:1x2,x:1x2"}, "twice"},
      {{"--onnx=m.onnx", "--warmUp=-1"}, "--warmUp"},
      {{"--onnx=m.onnx", "--iterations=0"}, "--iterations"},
      {{"--onnx=m.onnx", "--duration=-2"}, "--duration"},
      {{"--onnx=m.onnx", "--infStreams=0"}, "--infStreams"},
      {{"--onnx=m.onnx", "--infStreams=1000"}, "--infStreams"},
      {{"--onnx=m.onnx", "--device=-1"}, "--device"},
      {{"--onnx=m.onnx", "--useCudaGraph", "--noCudaGraph"}, "exclude"},
      {{"--onnx=m.onnx", "--loadInputs=x"}, "--loadInputs"},
      {{"--onnx=m.onnx", "--loadInputs=x:"}, "--loadInputs"},
      {{"--onnx=m.onnx", "--loadInputs=:x.npy"}, "--loadInputs"},
      {{"--onnx=m.onnx", "--loadInputs='x:y.npy"}, "--loadInputs"},
      {{"--onnx=m.onnx", "--loadInputs=a:x.npy,"}, "--loadInputs"},
      {{"--onnx=m.onnx", "--exportTimes=m.onnx"}, "model itself"},
      {{"--onnx=m.onnx", "--iterations=ten"}, "iterations"},
      {{"--onnx=m.onnx", "--noSuchFlag"}, "noSuchFlag"},
      {{"m.onnx"}, "m.onnx"},
  };
  for (const Case& c : cases) {
    BenchOptions o;
    CliResult r = parse(c.args, o);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    EXPECT_EQ(r.code, ExitCode::kUsage) << joined;
    EXPECT_NE(r.message.find(c.says), std::string::npos) << joined << ": " << r.message;
  }
}

TEST(BenchOptions, ResolvesLoadInputsAgainstInputNames) {
  std::map<std::string, std::string> m;
  CliResult r = resolve_load_inputs({"input:0:x.npy", "mask:dir/m:1.npy", "'ids':ids.npy"}, {"input:0", "mask", "ids"}, m);
  ASSERT_EQ(r.code, ExitCode::kOk) << r.message;
  EXPECT_EQ(m.at("input:0"), "x.npy");
  EXPECT_EQ(m.at("mask"), "dir/m:1.npy");
  EXPECT_EQ(m.at("ids"), "ids.npy");
  r = resolve_load_inputs({"nosuch:x.npy"}, {"input"}, m);
  EXPECT_EQ(r.code, ExitCode::kUsage);
  EXPECT_NE(r.message.find("'input'"), std::string::npos) << r.message;  // lists the inputs
  r = resolve_load_inputs({"input:a.npy", "input:b.npy"}, {"input"}, m);
  EXPECT_EQ(r.code, ExitCode::kUsage);
  EXPECT_NE(r.message.find("twice"), std::string::npos) << r.message;
}

TEST(BenchOptions, SettingsTextHasTrtexecSections) {
  BenchOptions o;
  ASSERT_EQ(parse({"--onnx=m.onnx", "--fp16", "--shapes=input:1x3x8x8", "--noCudaGraph", "--infStreams=2"}, o).code,
            ExitCode::kOk);
  std::string s = bench_settings_text(o);
  for (const char* text : {"[I] === Model Options ===\n", "[I] === Build Options ===\n",
                           "[I] === Inference Options ===\n", "[I] === Reporting Options ===\n",
                           "[I] === System Options ===\n", "[I] Model: m.onnx\n", "[I] Precision: FP32+FP16\n",
                           "[I] Input shapes: input:1x3x8x8\n", "[I] Warm up: 200 ms\n", "[I] Inference Streams: 2\n",
                           "[I] CUDA Graph: Disabled\n", "[I] Data transfers: Enabled\n", "[I] Device: 0\n"})
    EXPECT_NE(s.find(text), std::string::npos) << text << "\n" << s;
}

TEST(BenchOptions, CommandLineAndClosingLines) {
  const char* argv[] = {"kiln", "bench", "--onnx=my model.onnx", "--fp16"};
  std::string line = join_command_line(4, argv);
  EXPECT_EQ(line, "kiln bench '--onnx=my model.onnx' --fp16");
  EXPECT_EQ(bench_passed_line(line), "&&&& PASSED Kiln.bench # " + line);
  EXPECT_EQ(bench_failed_line(line), "&&&& FAILED Kiln.bench # " + line);
  EXPECT_EQ(bench_running_line(line), "&&&& RUNNING Kiln.bench # " + line);
}

TEST(BenchStats, PercentilesOfOneToHundred) {
  std::vector<double> v(100);
  std::iota(v.begin(), v.end(), 1.0);
  std::reverse(v.begin(), v.end());  // order must not matter
  LatencyStats s = compute_stats(v);
  EXPECT_EQ(s.count, 100u);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_DOUBLE_EQ(s.median, 50.5);
  EXPECT_EQ(s.p90, 90);
  EXPECT_EQ(s.p99, 99);
}

TEST(BenchStats, SmallAndOddSamples) {
  LatencyStats s = compute_stats({3, 1, 2});
  EXPECT_EQ(s.median, 2);
  EXPECT_EQ(s.p90, 3);  // nearest rank: ceil(0.9 * 3) = 3rd value
  EXPECT_EQ(s.p99, 3);
  s = compute_stats({5});
  EXPECT_EQ(s.min, 5);
  EXPECT_EQ(s.p99, 5);
  s = compute_stats({});
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.mean, 0);
  std::vector<double> ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(percentile_of_sorted(ten, 90), 9);
  EXPECT_EQ(percentile_of_sorted(ten, 91), 10);
  EXPECT_EQ(percentile_of_sorted(ten, 0), 1);
  EXPECT_EQ(percentile_of_sorted(ten, 100), 10);
}

TEST(BenchStats, ThroughputAndSummary) {
  EXPECT_DOUBLE_EQ(throughput_qps(300, 3.0), 100.0);
  EXPECT_EQ(throughput_qps(10, 0), 0);
  std::vector<IterationRecord> records;
  for (int i = 0; i < 4; ++i) records.push_back({i % 2, i * 1.0, 1.0 + i, 0.1, 0.8 + i, 0.1, 0.01});
  BenchSummary s = summarize_iterations(records, 2, 2.0, 8);
  EXPECT_EQ(s.iterations, 4u);
  EXPECT_DOUBLE_EQ(s.qps, 2.0);
  EXPECT_DOUBLE_EQ(s.items_per_second, 16.0);
  EXPECT_DOUBLE_EQ(s.latency.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.compute.min, 0.8);
  EXPECT_NEAR(s.total_compute_seconds, (0.8 + 1.8 + 2.8 + 3.8) / 1000.0, 1e-12);
}

// The lines scripts parse: exact shapes, plain decimals.
TEST(BenchStats, MachineReadableLines) {
  LatencyStats s = compute_stats({0.5, 1.25, 2.0, 1e-7});
  std::string line = stats_line("Latency", s);
  std::regex latency(
      R"(\[I\] Latency: min = [0-9]+\.[0-9]+ ms, max = [0-9]+\.[0-9]+ ms, mean = [0-9]+\.[0-9]+ ms, )"
      R"(median = [0-9]+\.[0-9]+ ms, percentile\(90%\) = [0-9]+\.[0-9]+ ms, percentile\(99%\) = [0-9]+\.[0-9]+ ms)");
  EXPECT_TRUE(std::regex_match(line, latency)) << line;
  EXPECT_EQ(throughput_line(1234.5678), "[I] Throughput: 1234.57 qps");
  EXPECT_EQ(fixed(1e-9, 5), "0.00000");
  EXPECT_EQ(fixed(NAN, 2), "0.00");

  BenchSummary sum = summarize_iterations({{0, 0, 1, 0.25, 0.5, 0.25, 0.01}}, 1, 1.0, 4);
  std::string with = summary_text(sum, true), without = summary_text(sum, false);
  for (const char* text : {"[I] Throughput: 1.00 qps\n", "[I] Items per second: 4.00 (batch 4)\n", "[I] Latency: min = 1.00000 ms",
                           "[I] GPU Compute Time: min = 0.50000 ms", "[I] H2D Latency: ", "[I] D2H Latency: ",
                           "[I] Enqueue Time: ", "[I] Total Host Walltime: 1.00000 s\n"})
    EXPECT_NE(with.find(text), std::string::npos) << text << "\n" << with;
  EXPECT_EQ(without.find("H2D"), std::string::npos) << without;
  EXPECT_NE(without.find("GPU Compute Time"), std::string::npos);
}

EnginePlan three_layer_plan() {
  EnginePlan plan;
  plan.device_name = "Test GPU \"X\"";
  plan.sm_major = 9;
  plan.tensors = {{"in", DType::kFloat32, {1, 4}, Layout::kLinear, Storage::kInput, 0, 16},
                  {"mid", DType::kFloat16, {1, 4}, Layout::kNHWC, Storage::kActivation, 0, 8},
                  {"out", DType::kFloat32, {1, 4}, Layout::kLinear, Storage::kOutput, 0, 16}};
  plan.layers = {{"a", "Relu", "k.relu", {0}, {1}, {}, {}, 0},
                 {"b", "Conv", "k.conv", {1, -1}, {2}, {}, {3, 7}, 1024},
                 {"c", "Add", "k.add", {2}, {2}, {}, {}, 0}};
  plan.inputs = {0};
  plan.outputs = {2};
  return plan;
}

TEST(BenchProfile, RanksLayersByTime) {
  EnginePlan plan = three_layer_plan();
  std::vector<ProfileRow> rows = summarize_profile(plan, {{1.f, 6.f, 1.f}, {1.f, 2.f, 1.f}, {1.f, 4.f, 1.f}});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "b");
  EXPECT_DOUBLE_EQ(rows[0].total_ms, 12.0);
  EXPECT_DOUBLE_EQ(rows[0].average_ms, 4.0);
  EXPECT_DOUBLE_EQ(rows[0].median_ms, 4.0);
  EXPECT_DOUBLE_EQ(rows[0].percent, 100.0 * 12 / 18);
  EXPECT_EQ(rows[1].name, "a");  // ties keep plan order
  std::string table = profile_table(rows, 3);
  EXPECT_NE(table.find("Time(%)"), std::string::npos);
  EXPECT_NE(table.find("b (Conv, k.conv)"), std::string::npos) << table;
  EXPECT_NE(table.find("Total"), std::string::npos);
  EXPECT_LT(table.find("b (Conv"), table.find("a (Relu"));
}

TEST(BenchExport, JsonEscapingAndNumbers) {
  EXPECT_EQ(json_quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(json_number(1.5), "1.5");
  EXPECT_EQ(json_number(2), "2.0");
  EXPECT_EQ(json_number(NAN), "null");
  EXPECT_EQ(json_number(INFINITY), "null");
}

TEST(BenchExport, DocumentsHoldTheNumbers) {
  EnginePlan plan = three_layer_plan();
  std::string info = layer_info_json(plan);
  for (const char* text : {"\"Layers\"", "\"Name\": \"b\"", "\"LayerType\": \"Conv\"", "\"Kernel\": \"k.conv\"",
                           "\"Tactic\": [3, 7]", "\"WorkspaceBytes\": 1024", "\"Precision\": \"float16\"",
                           "\"Bindings\": [\"in\", \"out\"]", "Test GPU \\\"X\\\"", "null"})
    EXPECT_NE(info.find(text), std::string::npos) << text << "\n" << info;

  std::vector<IterationRecord> records = {{0, 0, 1, 0.25, 0.5, 0.25, 0.01}, {1, 0.5, 2, 0.5, 1, 0.5, 0.02}};
  BenchSummary s = summarize_iterations(records, 2, 1.0, 1);
  std::string times = times_json(s, records, true);
  for (const char* text : {"\"throughputQps\": 2.0", "\"latencyMs\": {\"min\": 1.0, \"max\": 2.0", "\"p99\": 2.0",
                           "\"iterations\": [", "{\"stream\": 1, \"startMs\": 0.5, \"latencyMs\": 2.0"})
    EXPECT_NE(times.find(text), std::string::npos) << text << "\n" << times;
  EXPECT_NE(times_json(s, records, false).find("\"h2dMs\": null"), std::string::npos);

  std::string profile = profile_json(summarize_profile(plan, {{1.f, 2.f, 1.f}}), 1);
  EXPECT_EQ(profile.rfind("[\n  {\"count\": 1}", 0), 0u) << profile;
  EXPECT_NE(profile.find("\"name\": \"b\", \"op\": \"Conv\", \"kernel\": \"k.conv\", \"timeMs\": 2.0"),
            std::string::npos)
      << profile;
}

TEST(BenchInputs, RandomDataIsSeededNonZeroAndTypeAppropriate) {
  auto f = Tensor::alloc(DType::kFloat32, {4096});
  auto ids = Tensor::alloc(DType::kInt64, {4096});
  auto mask = Tensor::alloc(DType::kBool, {64});
  auto small = Tensor::alloc(DType::kInt8, {4096});
  ASSERT_TRUE(f.ok() && ids.ok() && mask.ok() && small.ok());
  fill_bench_random(*f, 7);
  fill_bench_random(*ids, 7);
  fill_bench_random(*mask, 7);
  fill_bench_random(*small, 7);
  int64_t zeros = 0, max_id = 0;
  for (int64_t i = 0; i < 4096; ++i) {
    EXPECT_GE(f->get_f64(i), -1.0);
    EXPECT_LT(f->get_f64(i), 1.0);
    zeros += f->get_f64(i) == 0.0;
    EXPECT_GE(ids->get_i64(i), 0);
    EXPECT_LT(ids->get_i64(i), 1000);
    max_id = std::max(max_id, ids->get_i64(i));
    EXPECT_GE(small->get_i64(i), 0);
  }
  EXPECT_EQ(zeros, 0);
  EXPECT_GT(max_id, 900);  // the whole range is used, not [0, 10)
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(mask->get_i64(i), 1);
  auto again = Tensor::alloc(DType::kInt64, {4096});
  ASSERT_TRUE(again.ok());
  fill_bench_random(*again, 7);
  EXPECT_EQ(again->to_i64_vector(), ids->to_i64_vector());
}

TEST(BenchInputs, FilesMustMatchTheEngineInput) {
  std::ostringstream notes;
  Tensor out;
  InputFile good{"x", "x.npy", Tensor::from_f32({1, 2, 3, 4}, {2, 2})};
  EXPECT_EQ(conform_input(good, DType::kFloat32, {2, 2}, out, notes).code, ExitCode::kOk);
  EXPECT_EQ(out.dims(), (std::vector<int64_t>{2, 2}));

  InputFile shape{"x", "dir/x.npy", Tensor::from_f32({1, 2, 3, 4}, {4})};
  CliResult r = conform_input(shape, DType::kFloat32, {2, 2}, out, notes);
  EXPECT_EQ(r.code, ExitCode::kFailure);
  EXPECT_NE(r.message.find("dir/x.npy"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("'x'"), std::string::npos) << r.message;

  InputFile type{"ids", "ids.npy", Tensor::from_f32({1, 2}, {2})};
  r = conform_input(type, DType::kInt64, {2}, out, notes);
  EXPECT_EQ(r.code, ExitCode::kFailure);
  EXPECT_NE(r.message.find("int64"), std::string::npos) << r.message;

  // NumPy has no bfloat16: float32 files are rounded, with a note.
  InputFile widened{"h", "h.npy", Tensor::from_f32({1.5f, -2.f}, {2})};
  EXPECT_EQ(conform_input(widened, DType::kBFloat16, {2}, out, notes).code, ExitCode::kOk);
  EXPECT_EQ(out.dtype(), DType::kBFloat16);
  EXPECT_EQ(out.get_f64(0), 1.5);
  EXPECT_NE(notes.str().find("h.npy"), std::string::npos);
}

}  // namespace
}  // namespace kiln::cli
