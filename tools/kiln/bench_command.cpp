// `kiln bench`: trtexec's measurement for Kiln engines. Prints every
// effective setting, the device and libraries, builds (or loads) the engine,
// then times it: warm up for --warmUp ms, then run until both --iterations
// and --duration are reached, on --infStreams contexts at once (each on its
// own stream and host thread). Each iteration is H2D copy, enqueue (CUDA
// graph replay by default), D2H copy on the context's stream, timed with
// CUDA events; the summary gives latency and GPU compute time apart from
// the copies, and throughput over the wall time of all streams together.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <exception>
#include <system_error>
#include <map>
#include <ostream>
#include <thread>

#include "bench_export.h"
#include "bench_options.h"
#include "bench_profile.h"
#include "bench_stats.h"
#include "commands.h"
#include "input_files.h"
#include "model_file.h"
#include "random_fill.h"
#include "text_format.h"

#ifdef KILN_HAVE_CUDA
#include "backends/cuda/cuda_check.h"
#include "cuda_runner.h"
#include "engine/engine_file.h"
#include "onnx/importer.h"
#endif

namespace kiln::cli {

#ifdef KILN_HAVE_CUDA
namespace {

using Clock = std::chrono::steady_clock;

// Iterations in flight per stream: the host enqueues the next one while the
// GPU runs the current one, so host overhead does not leak into throughput.
constexpr size_t kDepth = 2;
constexpr uint64_t kInputSeed = 1;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The engine to time and the host tensors to feed it.
struct Prepared {
  EnginePlan plan;
  std::vector<Tensor> inputs;  // in plan input order
  std::string source;          // the model or engine file, for messages
};

// Events of one iteration: start, after H2D, after compute, end.
struct Slot {
  CudaEvent start, h2d, compute, end;
  double enqueue_ms = 0;
  bool busy = false;
};

// Runs once, when every stream has warmed up: the common start of the timed
// phase on the host clock and on the GPU's event clock.
struct OnReady {
  const CudaEvent* reference;
  cudaStream_t stream;
  Clock::time_point* timed_start;
  void operator()() noexcept {
    cudaEventRecord(reference->get(), stream);
    cudaEventSynchronize(reference->get());
    *timed_start = Clock::now();
  }
};

struct TimingShared {
  const BenchOptions& options;
  std::barrier<OnReady>& barrier;
  std::atomic<bool>& abort;
  const CudaEvent& reference;  // recorded when the timed phase starts
  Clock::time_point& timed_start;
};

Status issue(ContextRunner& r, Slot& slot, bool transfers, bool graph) {
  cudaStream_t s = r.stream();
  KILN_CUDA_CHECK(cudaEventRecord(slot.start.get(), s));
  if (transfers) KILN_RETURN_IF_ERROR(r.copy_inputs_async());
  KILN_CUDA_CHECK(cudaEventRecord(slot.h2d.get(), s));
  auto t0 = Clock::now();
  KILN_RETURN_IF_ERROR(r.enqueue(graph));
  slot.enqueue_ms = ms_between(t0, Clock::now());
  KILN_CUDA_CHECK(cudaEventRecord(slot.compute.get(), s));
  if (transfers) KILN_RETURN_IF_ERROR(r.copy_outputs_async());
  KILN_CUDA_CHECK(cudaEventRecord(slot.end.get(), s));
  slot.busy = true;
  return Status::Ok();
}

Expected<IterationRecord> collect(Slot& slot, int stream, const CudaEvent& reference) {
  slot.busy = false;
  KILN_RETURN_IF_ERROR(explain_gpu_error(cuda_status(cudaEventSynchronize(slot.end.get()), "an inference")));
  IterationRecord r;
  r.stream = stream;
  KILN_ASSIGN_OR_RETURN(float start, elapsed_ms(reference, slot.start));
  KILN_ASSIGN_OR_RETURN(float h2d, elapsed_ms(slot.start, slot.h2d));
  KILN_ASSIGN_OR_RETURN(float compute, elapsed_ms(slot.h2d, slot.compute));
  KILN_ASSIGN_OR_RETURN(float d2h, elapsed_ms(slot.compute, slot.end));
  KILN_ASSIGN_OR_RETURN(float latency, elapsed_ms(slot.start, slot.end));
  r.start_ms = start;
  r.h2d_ms = h2d;
  r.compute_ms = compute;
  r.d2h_ms = d2h;
  r.latency_ms = latency;
  r.enqueue_ms = slot.enqueue_ms;
  return r;
}

Status make_slots(std::vector<Slot>& slots) {
  for (size_t i = 0; i < kDepth; ++i) {
    KILN_ASSIGN_OR_RETURN(CudaEvent a, CudaEvent::create());
    KILN_ASSIGN_OR_RETURN(CudaEvent b, CudaEvent::create());
    KILN_ASSIGN_OR_RETURN(CudaEvent c, CudaEvent::create());
    KILN_ASSIGN_OR_RETURN(CudaEvent d, CudaEvent::create());
    slots.push_back({std::move(a), std::move(b), std::move(c), std::move(d)});
  }
  return Status::Ok();
}

// Whole iterations, one at a time, for --warmUp milliseconds.
Status warm_up(ContextRunner& r, const BenchOptions& o, std::vector<Slot>& slots, const std::atomic<bool>& abort) {
  KILN_CUDA_CHECK(cudaSetDevice(o.device));
  KILN_RETURN_IF_ERROR(make_slots(slots));
  auto start = Clock::now();
  while (!abort && ms_between(start, Clock::now()) < o.warm_up_ms) {
    KILN_RETURN_IF_ERROR(issue(r, slots[0], !o.no_data_transfers, o.cuda_graph));
    KILN_RETURN_IF_ERROR(r.synchronize());
  }
  slots[0].busy = false;  // warm-up iterations are not recorded
  return Status::Ok();
}

// Issues iterations kDepth deep until both --iterations and --duration are
// reached (or another stream failed), recording each as it completes.
Status timed_phase(ContextRunner& r, int index, TimingShared& shared, std::vector<Slot>& slots,
                   std::vector<IterationRecord>& records) {
  const BenchOptions& o = shared.options;
  double duration_ms = o.duration_s * 1000.0;
  records.reserve(static_cast<size_t>(std::min<int64_t>(o.iterations, 1 << 20)) + 1024);
  uint64_t issued = 0;
  Status status = Status::Ok();
  while (status.ok() && !shared.abort) {
    Slot& slot = slots[issued % kDepth];
    if (slot.busy) {
      auto rec = collect(slot, index, shared.reference);
      if (!rec.ok()) return rec.status();
      records.push_back(*rec);
    }
    if (issued >= static_cast<uint64_t>(o.iterations) && ms_between(shared.timed_start, Clock::now()) >= duration_ms)
      break;
    status = issue(r, slot, !o.no_data_transfers, o.cuda_graph);
    ++issued;
  }
  for (size_t k = 0; k < kDepth && status.ok(); ++k) {  // drain what is in flight, oldest first
    Slot& slot = slots[(issued + k) % kDepth];
    if (!slot.busy) continue;
    KILN_ASSIGN_OR_RETURN(IterationRecord rec, collect(slot, index, shared.reference));
    records.push_back(rec);
  }
  return status;
}

// One stream's thread. Every worker reaches the barrier exactly once, even
// after an error or an exception, so none waits forever; a failure makes the
// others stop early.
Status stream_worker(ContextRunner& r, int index, TimingShared& shared, std::vector<IterationRecord>& records,
                     Clock::time_point& end) {
  std::vector<Slot> slots;
  Status status = Status::Ok();
  try {
    status = warm_up(r, shared.options, slots, shared.abort);
  } catch (const std::exception& e) {
    status = Internal("warm-up: ", e.what());
  }
  if (!status.ok()) shared.abort = true;
  shared.barrier.arrive_and_wait();
  if (status.ok() && !shared.abort) {
    try {
      status = timed_phase(r, index, shared, slots, records);
    } catch (const std::exception& e) {
      status = Internal("timing: ", e.what());
    }
  }
  end = Clock::now();
  if (!status.ok()) {
    shared.abort = true;
    (void)r.synchronize();  // leave nothing running on a failed stream
  }
  return status;
}

struct TimingResult {
  std::vector<IterationRecord> records;
  double wall_seconds = 0;
};

Expected<TimingResult> time_streams(std::vector<std::unique_ptr<ContextRunner>>& runners, const BenchOptions& o) {
  KILN_ASSIGN_OR_RETURN(CudaEvent reference, CudaEvent::create());
  Clock::time_point timed_start = Clock::now();
  std::barrier<OnReady> barrier(static_cast<std::ptrdiff_t>(runners.size()),
                                OnReady{&reference, runners[0]->stream(), &timed_start});
  std::atomic<bool> abort{false};
  TimingShared shared{o, barrier, abort, reference, timed_start};
  size_t n = runners.size();
  std::vector<std::vector<IterationRecord>> records(n);
  std::vector<Clock::time_point> ends(n);
  std::vector<Status> statuses(n);
  std::vector<std::thread> threads;
  threads.reserve(n);  // only the thread starts below can throw
  try {
    for (size_t k = 0; k < n; ++k)
      threads.emplace_back(
          [&, k] { statuses[k] = stream_worker(*runners[k], static_cast<int>(k), shared, records[k], ends[k]); });
  } catch (const std::system_error& e) {
    // The streams that did start must not wait at the barrier for the others.
    abort = true;
    statuses[threads.size()] = Internal("cannot start a host thread: ", e.what());
    for (size_t k = threads.size(); k < n; ++k) barrier.arrive_and_drop();
  }
  for (auto& t : threads) t.join();
  for (size_t k = 0; k < n; ++k)
    if (!statuses[k].ok()) return statuses[k].with_context(str("stream ", k));
  TimingResult result;
  Clock::time_point last = timed_start;
  for (size_t k = 0; k < n; ++k) {
    result.records.insert(result.records.end(), records[k].begin(), records[k].end());
    if (ends[k] > last) last = ends[k];
  }
  result.wall_seconds = ms_between(timed_start, last) / 1000.0;
  return result;
}

CliResult check_shapes_against_plan(const ShapeMap& specs, const EnginePlan& plan, const std::string& path) {
  for (const auto& [name, dims] : specs) {
    const PlanTensor* found = nullptr;
    for (int32_t t : plan.inputs)
      if (plan.tensors[static_cast<size_t>(t)].name == name) found = &plan.tensors[static_cast<size_t>(t)];
    if (!found) return CliResult::usage(str("--shapes names '", name, "', which is not an input of ", path));
    if (found->dims != dims)
      return CliResult::usage(str("--shapes gives '", name, "' ", dims_to_string(dims), " but ", path, " was built for ",
                                  dims_to_string(found->dims), " (rebuild with --onnx and --shapes)"));
  }
  return CliResult::ok();
}

CliResult resolve_files(const BenchOptions& o, const std::vector<std::string>& names, std::vector<InputFile>& files) {
  std::map<std::string, std::string> paths;
  if (CliResult r = resolve_load_inputs(o.load_input_entries, names, paths); r.code != ExitCode::kOk) return r;
  for (const auto& [name, path] : paths) files.push_back({name, path, {}});
  return read_input_files(files);
}

// --onnx: import with the shapes asked for (or of the --loadInputs files),
// build, print the build summary and save the engine if asked.
CliResult build_from_onnx(const BenchOptions& o, std::vector<InputFile>& files, Prepared& p, std::ostream& out,
                          std::ostream& err) {
  auto loaded = load_model_file(o.onnx);
  if (!loaded.ok()) return CliResult::failure(loaded.status(), o.onnx);
  std::vector<const onnx::ValueInfoProto*> graph_inputs = runtime_inputs(*loaded);
  if (CliResult r = check_shape_names(o.shape_map, graph_inputs); r.code != ExitCode::kOk) return r;
  std::vector<std::string> names;
  for (const auto* vi : graph_inputs) names.push_back(vi->name);
  if (CliResult r = resolve_files(o, names, files); r.code != ExitCode::kOk) return r;
  ImportOptions import_options;
  if (CliResult r = resolve_input_shapes(graph_inputs, o.shape_map, files, import_options.input_shapes, err);
      r.code != ExitCode::kOk)
    return r;
  out << "[I] [build] importing " << o.onnx << "\n" << std::flush;
  auto imported = import_onnx_model(std::move(loaded).value(), model_directory(o.onnx), import_options);
  if (!imported.ok()) return CliResult::failure(imported.status(), o.onnx);

  BuildOptions build;
  build.fp16 = o.fp16;
  build.autotune = !o.no_tune;
  build.progress = [&out](const std::string& line) { out << "[I] [build] " << line << "\n" << std::flush; };
  BuildReport report;
  auto plan = build_cuda_plan(*imported->graph, build, o.device, &report);
  if (!plan.ok()) return CliResult::failure(plan.status(), o.onnx);
  if (o.verbose) out << "[I] === Build Report ===\n" << report.to_text();
  out << "[I] Engine built in " << fixed(report.seconds, 3) << " s: " << count_of(plan->layers.size(), "layer")
      << ", activation arena " << human_bytes(report.activation_arena_bytes) << " (sum of activations "
      << human_bytes(report.activation_sum_bytes) << ", peak live " << human_bytes(report.activation_peak_bytes)
      << "), workspace " << human_bytes(report.workspace_bytes) << ", weights " << human_bytes(report.weight_bytes)
      << "\n";
  if (!o.save_engine.empty()) {
    if (Status s = save_engine(*plan, o.save_engine); !s.ok()) return CliResult::failure(s, o.save_engine);
    out << "[I] Engine saved to " << o.save_engine << "\n";
  }
  p.plan = std::move(plan).value();
  p.source = o.onnx;
  return CliResult::ok();
}

CliResult load_from_file(const BenchOptions& o, std::vector<InputFile>& files, Prepared& p, std::ostream& out) {
  auto plan = load_engine_file(o.load_engine);
  if (!plan.ok()) return CliResult::failure(plan.status(), o.load_engine);
  if (CliResult r = check_shapes_against_plan(o.shape_map, *plan, o.load_engine); r.code != ExitCode::kOk) return r;
  std::vector<std::string> names;
  for (int32_t t : plan->inputs) names.push_back(plan->tensors[static_cast<size_t>(t)].name);
  if (CliResult r = resolve_files(o, names, files); r.code != ExitCode::kOk) return r;
  out << "[I] Engine loaded from " << o.load_engine << ": " << count_of(plan->layers.size(), "layer") << ", built on "
      << plan->device_name << " (sm_" << plan->sm_major << plan->sm_minor << ")\n";
  p.plan = std::move(plan).value();
  p.source = o.load_engine;
  return CliResult::ok();
}

// Host tensors in plan input order: the --loadInputs files, else random.
CliResult make_inputs(const EnginePlan& plan, std::vector<InputFile>& files, Prepared& p, std::ostream& out,
                      std::ostream& err) {
  for (size_t i = 0; i < plan.inputs.size(); ++i) {
    const PlanTensor& pt = plan.tensors[static_cast<size_t>(plan.inputs[i])];
    auto file = std::find_if(files.begin(), files.end(), [&](const InputFile& f) { return f.name == pt.name; });
    Tensor t;
    std::string from;
    if (file != files.end()) {
      from = file->path;
      if (CliResult r = conform_input(*file, pt.dtype, pt.dims, t, err); r.code != ExitCode::kOk) return r;
    } else {
      auto alloc = Tensor::alloc(pt.dtype, pt.dims);
      if (!alloc.ok()) return CliResult::failure(alloc.status().with_context(str("input '", pt.name, "'")).message());
      t = std::move(alloc).value();
      fill_bench_random(t, derive_seed(kInputSeed, i));
      from = "random";
    }
    out << "[I] Input '" << pt.name << "': " << dtype_name(pt.dtype) << dims_to_string(pt.dims) << " from " << from
        << "\n";
    p.inputs.push_back(std::move(t));
  }
  return CliResult::ok();
}

CliResult write_export(const std::string& path, const std::string& text, const char* what, std::ostream& out) {
  if (path.empty()) return CliResult::ok();
  if (Status s = write_text_file(path, text); !s.ok()) return CliResult::failure(s, path);
  out << "[I] " << what << " written to " << path << "\n";
  return CliResult::ok();
}

CliResult run_bench(const BenchOptions& o, std::ostream& out, std::ostream& err) {
  auto device = find_cuda_device(o.device);
  if (!device.ok()) return CliResult::failure(device.status().message());
  out << "[I] === Device Information ===\n";
  out << "[I] Selected Device: " << device->name << "\n";
  out << "[I] Compute Capability: " << device->sm_major << "." << device->sm_minor << "\n";
  out << "[I] SMs: " << device->multiprocessors << "\n";
  out << "[I] Device Global Memory: " << device->memory_bytes / (1024 * 1024) << " MiB\n";
  out << "[I] Libraries: " << library_versions() << "\n";

  Prepared p;
  std::vector<InputFile> files;
  CliResult r = o.onnx.empty() ? load_from_file(o, files, p, out) : build_from_onnx(o, files, p, out, err);
  if (r.code != ExitCode::kOk) return r;
  if (r = make_inputs(p.plan, files, p, out, err); r.code != ExitCode::kOk) return r;
  if (r = write_export(o.export_layer_info, layer_info_json(p.plan), "Layer info", out); r.code != ExitCode::kOk)
    return r;
  int64_t batch = 1;
  if (!p.plan.inputs.empty()) {
    const auto& dims = p.plan.tensors[static_cast<size_t>(p.plan.inputs[0])].dims;
    if (!dims.empty()) batch = dims[0];
  }

  auto engine = create_engine(std::move(p.plan), o.device);
  if (!engine.ok()) return CliResult::failure(engine.status(), p.source);
  std::vector<std::unique_ptr<ContextRunner>> runners;
  for (int k = 0; k < o.inf_streams; ++k) {
    auto runner = ContextRunner::create(*engine);
    Status s = runner.ok() ? Status::Ok() : runner.status();
    for (size_t i = 0; s.ok() && i < p.inputs.size(); ++i) s = (*runner)->set_input(i, p.inputs[i]);
    // One untimed inference per context: uploads the inputs (kept on the
    // device under --noDataTransfers) and captures the CUDA graph.
    if (s.ok()) s = (*runner)->copy_inputs_async();
    if (s.ok()) s = (*runner)->enqueue(o.cuda_graph);
    if (s.ok()) s = (*runner)->synchronize();
    if (!s.ok())
      return CliResult::failure(s.with_context(str("execution context ", k + 1, " of ", o.inf_streams)), p.source);
    runners.push_back(std::move(runner).value());
  }
  uint64_t arena = runners[0]->context().arena_bytes();
  out << "[I] " << count_of(runners.size(), "execution context") << ", " << human_bytes(arena)
      << " arena (activations and workspace) each; timing...\n"
      << std::flush;

  auto timing = time_streams(runners, o);
  if (!timing.ok()) return CliResult::failure(timing.status(), p.source);
  BenchSummary summary = summarize_iterations(timing->records, o.inf_streams, timing->wall_seconds, batch);
  out << summary_text(summary, !o.no_data_transfers);

  if (o.dump_profile || !o.export_profile.empty()) {
    std::vector<std::vector<float>> runs;
    for (int k = 0; k <= kProfileRuns; ++k) {
      auto ms = runners[0]->context().profile_layers(runners[0]->stream());
      if (!ms.ok()) return CliResult::failure(explain_gpu_error(ms.status()).with_context("profiling"), p.source);
      if (k > 0) runs.push_back(std::move(ms).value());  // the first run warms the eager path up
    }
    std::vector<ProfileRow> rows = summarize_profile((*engine)->plan(), runs);
    if (o.dump_profile) out << profile_table(rows, runs.size());
    if (r = write_export(o.export_profile, profile_json(rows, runs.size()), "Profile", out); r.code != ExitCode::kOk)
      return r;
  }
  return write_export(o.export_times, times_json(summary, timing->records, !o.no_data_transfers), "Times", out);
}

}  // namespace
#endif  // KILN_HAVE_CUDA

CliResult bench_command(BenchOptions& options, std::ostream& out, std::ostream& err) {
  CliResult result = validate_bench_options(options);
  if (result.code != ExitCode::kOk) {
    out << bench_failed_line(options.command_line) << "\n";
    return result;
  }
  out << bench_running_line(options.command_line) << "\n" << bench_settings_text(options);
#ifdef KILN_HAVE_CUDA
  try {
    result = run_bench(options, out, err);
  } catch (const std::exception& e) {
    result = CliResult::failure(str("unexpected error: ", e.what()));
  }
#else
  (void)err;
  result = CliResult::failure("this kiln was built without the CUDA backend (configure with -DKILN_CUDA=ON); "
                              "no CUDA device can be used");
#endif
  if (result.code == ExitCode::kOk) {
    out << bench_passed_line(options.command_line) << "\n";
  } else {
    out << "[E] " << result.message << "\n" << bench_failed_line(options.command_line) << "\n";
  }
  return result;
}

}  // namespace kiln::cli
