#include "builder/engine_builder.h"

#include <chrono>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <unordered_map>

#include "base/checked_math.h"
#include "builder/layout_assignment.h"
#include "builder/memory_planner.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"

namespace kiln {
namespace {

constexpr uint64_t kAlign = 256;

uint64_t align_up(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

std::string fmt_bytes(uint64_t b) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(2) << static_cast<double>(b) / (1 << 20) << " MiB";
  return os.str();
}

// Engines need static shapes, except that an engine output may have a
// data-dependent shape with a known bound (NonZero, NonMaxSuppression): it is
// planned at the bound and its kernel reports the actual dims.
Status check_engine_shapes(const Graph& g) {
  std::string dynamic;
  for (const Value* in : g.inputs)
    if (!in->shape_known || !in->shape.is_static())
      dynamic += str(" '", in->name, "' ", in->shape_known ? in->shape.to_string() : "[?]");
  if (!dynamic.empty())
    return InvalidArgument("engine inputs need static shapes; give them with --shapes (name:1x3x224x224):", dynamic);
  for (const auto& v : g.values()) {
    if (!(v->producer || v->is_graph_input) || (v->shape_known && v->shape.is_static())) continue;
    std::string what = str("value '", v->name, "' has data-dependent shape ",
                           v->shape_known ? v->shape.to_string() : "[?]", " (produced by ",
                           v->producer ? v->producer->label() : "the graph input", ")");
    if (!v->shape_known || !v->shape.bound_dims()) return Unsupported(what, "; engines need static shapes");
    if (!v->is_graph_output || !v->users.empty())
      return Unsupported(what, " and feeds ", v->users.empty() ? "no engine output" : v->users[0]->label(),
                         "; engines take data-dependent shapes only as engine outputs");
  }
  return Status::Ok();
}

class Lowering {
 public:
  Lowering(Graph& g, const BuildOptions& o, BuildTarget& t, BuildReport& r)
      : graph_(g), options_(o), target_(t), report_(r) {}

  Expected<EnginePlan> run() {
    target_.describe(plan_);
    KILN_RETURN_IF_ERROR(add_tensors());
    KILN_RETURN_IF_ERROR(add_layers());
    if (options_.channels_last) KILN_RETURN_IF_ERROR(assign_channels_last(plan_, target_).status());
    KILN_RETURN_IF_ERROR(choose_kernels());
    plan_memory_and_workspace();
    return std::move(plan_);
  }

 private:
  int32_t tensor_of(const Value* v) { return v ? index_.at(v) : -1; }

  Status add_tensors() {
    for (const auto& v : graph_.values()) {
      bool used = v->producer || v->is_graph_input || !v->users.empty() || v->is_graph_output;
      if (!used) continue;
      PlanTensor t;
      t.name = v->name;
      t.dtype = v->dtype;
      t.dims = *v->shape.bound_dims();  // check_engine_shapes let through only bounded shapes
      t.data_dependent = !v->shape.is_static();
      t.layout = v->layout;
      auto n = checked_product(t.dims);
      if (!n) return Unsupported("value '", v->name, "' of shape ", dims_to_string(t.dims), " is too large");
      t.bytes = static_cast<uint64_t>(*n) * dtype_size(v->dtype);
      if (v->is_graph_input) {
        t.storage = Storage::kInput;
      } else if (v->is_graph_output) {
        t.storage = Storage::kOutput;
      } else if (v->constant && !v->producer) {
        t.storage = Storage::kWeight;
        t.offset = align_up(plan_.weights.size());
        plan_.weights.resize(t.offset + t.bytes);
        if (t.bytes) std::memcpy(plan_.weights.data() + t.offset, v->constant->bytes(), t.bytes);
        report_.weight_bytes += t.bytes;
      } else {
        t.storage = Storage::kActivation;
      }
      index_[v.get()] = static_cast<int32_t>(plan_.tensors.size());
      plan_.tensors.push_back(std::move(t));
    }
    for (const Value* in : graph_.inputs) plan_.inputs.push_back(tensor_of(in));
    for (const Value* out : graph_.outputs) plan_.outputs.push_back(tensor_of(out));
    return Status::Ok();
  }

  Status add_layers() {
    for (const auto& node : graph_.nodes()) {
      PlanLayer l;
      l.name = node->name;
      l.op = node->domain.empty() ? node->op : node->domain + "." + node->op;
      for (const auto& [k, a] : node->attrs)
        if (a.kind != AttrKind::kGraph && a.kind != AttrKind::kGraphs) l.attrs[k] = a;
      for (const Value* in : node->inputs) l.inputs.push_back(tensor_of(in));
      for (const Value* out : node->outputs) {
        if (!out) return node->error(ErrorCode::kUnsupported, "omitted optional outputs are not supported by engines yet");
        l.outputs.push_back(tensor_of(out));
      }
      plan_.layers.push_back(std::move(l));
    }
    return Status::Ok();
  }

  Status choose_kernels() {
    std::string missing;
    options_per_layer_.resize(plan_.layers.size());
    for (size_t i = 0; i < plan_.layers.size(); ++i) {
      std::string why;
      LayerView view = LayerView::of(plan_, i);
      auto opts = target_.options(view, &why);
      if (opts.empty()) {
        missing += str("\n  layer '", plan_.layers[i].name, "' (", plan_.layers[i].op, "): ", why);
        continue;
      }
      options_per_layer_[i] = opts;
    }
    if (!missing.empty()) return Unsupported("no ", target_.name(), " kernel can run:", missing);
    for (size_t i = 0; i < plan_.layers.size(); ++i) {
      const auto& opts = options_per_layer_[i];
      size_t best = 0, best_tactic = 0;
      double best_ms = -1;
      int candidates = 0;
      for (const auto& o : opts) candidates += static_cast<int>(std::max<size_t>(1, o.tactics.size()));
      if (options_.autotune && candidates > 1) {
        for (size_t k = 0; k < opts.size(); ++k) {
          for (size_t t = 0; t < opts[k].tactics.size(); ++t) {
            auto ms = target_.time_layer(plan_, i, opts[k], opts[k].tactics[t]);
            if (!ms.ok()) continue;  // a tactic that cannot run here is skipped
            if (best_ms < 0 || *ms < best_ms) {
              best_ms = *ms;
              best = k;
              best_tactic = t;
            }
          }
        }
      }
      PlanLayer& l = plan_.layers[i];
      l.kernel = opts[best].kernel;
      l.tactic = opts[best].tactics.empty() ? std::vector<int64_t>{} : opts[best].tactics[best_tactic];
      l.workspace_bytes = opts[best].workspace_bytes;
      chosen_.push_back(opts[best]);
      const PlanTensor& out0 = plan_.tensors[static_cast<size_t>(l.outputs[0])];
      report_.layers.push_back({l.name, l.op, l.kernel, dtype_name(out0.dtype), layout_name(out0.layout), l.tactic,
                                best_ms, candidates});
      if (l.op == "kiln.Reformat") ++report_.reformat_layers;
      if (options_.progress && (i + 1) % 50 == 0)
        options_.progress(str("bound ", i + 1, " of ", plan_.layers.size(), " layers"));
    }
    return Status::Ok();
  }

  void plan_memory_and_workspace() {
    // One buffer per activation; lifetimes over the final layer order.
    std::vector<int32_t> buffer_of(plan_.tensors.size(), -1);
    std::vector<BufferLifetime> buffers;
    std::vector<int32_t> tensor_of_buffer;
    for (size_t t = 0; t < plan_.tensors.size(); ++t) {
      if (plan_.tensors[t].storage != Storage::kActivation) continue;
      buffer_of[t] = static_cast<int32_t>(buffers.size());
      buffers.push_back({plan_.tensors[t].bytes, INT32_MAX, -1, -1});
      tensor_of_buffer.push_back(static_cast<int32_t>(t));
    }
    for (size_t i = 0; i < plan_.layers.size(); ++i) {
      const PlanLayer& l = plan_.layers[i];
      for (int32_t t : l.outputs) {
        int32_t b = buffer_of[static_cast<size_t>(t)];
        if (b >= 0) buffers[static_cast<size_t>(b)].first_step = static_cast<int32_t>(i);
      }
      for (int32_t t : l.inputs) {
        if (t < 0) continue;
        int32_t b = buffer_of[static_cast<size_t>(t)];
        if (b >= 0) buffers[static_cast<size_t>(b)].last_step = static_cast<int32_t>(i);
      }
    }
    for (auto& b : buffers) {
      if (b.first_step == INT32_MAX) b.first_step = 0;
      if (b.last_step < b.first_step) b.last_step = b.first_step;  // written, never read
    }
    // In-place: output 0 may take input 0's memory when that input dies here.
    for (size_t i = 0; i < plan_.layers.size(); ++i) {
      const PlanLayer& l = plan_.layers[i];
      if (!chosen_[i].in_place || l.inputs.empty() || l.inputs[0] < 0) continue;
      int32_t bin = buffer_of[static_cast<size_t>(l.inputs[0])];
      int32_t bout = buffer_of[static_cast<size_t>(l.outputs[0])];
      if (bin < 0 || bout < 0) continue;
      const auto& in = buffers[static_cast<size_t>(bin)];
      if (in.last_step == static_cast<int32_t>(i) && in.bytes == buffers[static_cast<size_t>(bout)].bytes)
        buffers[static_cast<size_t>(bout)].inplace_of = bin;
    }
    MemoryPlanResult mp = plan_memory(buffers, kAlign);
    for (size_t b = 0; b < buffers.size(); ++b)
      plan_.tensors[static_cast<size_t>(tensor_of_buffer[b])].offset = mp.offsets[b];
    uint64_t workspace = 0;
    for (const auto& l : plan_.layers) workspace = std::max(workspace, l.workspace_bytes);
    plan_.workspace_offset = align_up(mp.arena_bytes);
    plan_.workspace_bytes = workspace;
    plan_.arena_bytes = plan_.workspace_offset + align_up(workspace);
    // After the workspace: the actual dims of each data-dependent output.
    uint64_t dims_end = plan_.arena_bytes;
    for (auto& t : plan_.tensors)
      if (t.data_dependent) {
        t.dims_offset = dims_end;
        dims_end += 8 * t.dims.size();
      }
    plan_.arena_bytes = align_up(dims_end);
    report_.activation_sum_bytes = mp.sum_bytes;
    report_.activation_peak_bytes = mp.peak_bytes;
    report_.arena_bytes = plan_.arena_bytes;
    report_.activation_arena_bytes = mp.arena_bytes;
    report_.workspace_bytes = workspace;
  }

  Graph& graph_;
  const BuildOptions& options_;
  BuildTarget& target_;
  BuildReport& report_;
  EnginePlan plan_;
  std::unordered_map<const Value*, int32_t> index_;
  std::vector<std::vector<KernelOption>> options_per_layer_;
  std::vector<KernelOption> chosen_;
};

}  // namespace

std::string BuildReport::to_text() const {
  std::ostringstream os;
  os << "layers: " << layers.size() << " (" << reformat_layers << " reformat)\n";
  os << std::left << std::setw(40) << "  layer" << std::setw(22) << "op" << std::setw(22) << "kernel" << std::setw(10)
     << "precision" << std::setw(8) << "layout" << "tuned\n";
  for (const auto& l : layers) {
    std::string name = l.name.size() > 37 ? l.name.substr(0, 34) + "..." : l.name;
    os << "  " << std::setw(38) << name << std::setw(22) << l.op << std::setw(22) << l.kernel << std::setw(10)
       << l.precision << std::setw(8) << l.layout;
    if (l.tuned_ms >= 0) os << std::fixed << std::setprecision(4) << l.tuned_ms << " ms of " << l.candidates;
    os << "\n";
  }
  os << "memory: activations sum " << fmt_bytes(activation_sum_bytes) << ", peak live "
     << fmt_bytes(activation_peak_bytes) << ", arena " << fmt_bytes(arena_bytes) << " (activations "
     << fmt_bytes(activation_arena_bytes) << " + workspace " << fmt_bytes(workspace_bytes) << ")";
  if (activation_sum_bytes) {
    auto pct = [&](uint64_t b) { return 100.0 * static_cast<double>(b) / static_cast<double>(activation_sum_bytes); };
    os << ", activations/sum " << std::fixed << std::setprecision(1) << pct(activation_arena_bytes)
       << "%, arena/sum " << pct(arena_bytes) << "%";
  }
  os << "\nweights: " << fmt_bytes(weight_bytes) << "\nbuild time: " << std::fixed << std::setprecision(2) << seconds
     << " s\n";
  return os.str();
}

Expected<EnginePlan> build_engine_from_graph(Graph& graph, const BuildOptions& options, BuildTarget& target,
                                             BuildReport* report) {
  auto start = std::chrono::steady_clock::now();
  BuildReport local;
  BuildReport& r = report ? *report : local;
  KILN_RETURN_IF_ERROR(check_engine_shapes(graph));
  PassOptions passes;
  passes.fp16 = options.fp16;
  passes.limits = options.limits;
  if (options.progress) options.progress("optimizing the graph");
  KILN_RETURN_IF_ERROR(run_build_passes(graph, passes));
  if (options.progress) options.progress(str("binding ", graph.num_nodes(), " layers to kernels"));
  auto plan = Lowering(graph, options, target, r).run();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return plan;
}

Expected<EnginePlan> build_engine_from_onnx(const std::string& path, const BuildOptions& options, BuildTarget& target,
                                            BuildReport* report) {
  ImportOptions io;
  io.limits = options.limits;
  io.input_shapes = options.input_shapes;
  if (options.progress) options.progress("importing " + path);
  KILN_ASSIGN_OR_RETURN(ImportedModel model, import_onnx_file(path, io));
  auto plan = build_engine_from_graph(*model.graph, options, target, report);
  if (!plan.ok()) return plan.status().with_context(path);
  plan->weights.shrink_to_fit();
  return plan;
}

}  // namespace kiln
