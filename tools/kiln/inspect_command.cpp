// `kiln inspect`: the facts of a model file. The raw facts (producer,
// opsets, I/O, op histogram, parameters) come from the parsed protobuf, so
// they print even when the import fails; then every unsupported node is
// listed at once, and the import is tried (with --shapes) to report the
// inferred output shapes or the first error.
#include <algorithm>
#include <map>
#include <ostream>

#include "base/checked_math.h"
#include "commands.h"
#include "ir/printer.h"
#include "model_file.h"
#include "onnx/function_inliner.h"
#include "onnx/importer.h"
#include "shape_spec.h"
#include "text_format.h"

namespace kiln::cli {
namespace {

std::string domain_label(const std::string& domain) {
  std::string d = onnx::canonical_domain(domain);
  return d.empty() ? "ai.onnx" : d;
}

struct ParamStats {
  int64_t count = 0;
  uint64_t bytes = 0;
  int64_t tensors = 0;
  int64_t external = 0;  // weights in external data files
  bool exact = true;     // false when some size could not be computed
};

ParamStats parameter_stats(const onnx::GraphProto& graph) {
  ParamStats s;
  for (const auto& init : graph.initializers) {
    ++s.tensors;
    if (init.data_location == 1) ++s.external;
    auto numel = checked_product(init.dims);
    size_t elem = dtype_size(dtype_from_onnx(init.data_type));
    if (!numel) {
      s.exact = false;
      continue;
    }
    auto count = checked_add(s.count, *numel);
    if (!count) {
      s.exact = false;
      continue;
    }
    s.count = *count;
    // Types Kiln does not know (int16, strings, ...): take the stored size.
    s.bytes += elem ? static_cast<uint64_t>(*numel) * elem : init.raw_data.size();
    if (!elem && !init.has_raw_data) s.exact = false;
  }
  return s;
}

void print_header(const onnx::ModelProto& m, const std::string& path, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  std::string size = m.file ? str(" (", human_bytes(m.file->bytes().size()), ")") : "";
  rows.push_back({"Model", path + size});
  std::string producer = m.producer_name.empty() ? "(not set)" : m.producer_name;
  if (!m.producer_version.empty()) producer += " " + m.producer_version;
  rows.push_back({"Producer", producer});
  rows.push_back({"IR version", std::to_string(m.ir_version)});
  std::string opsets;
  for (const auto& o : m.opset_imports) opsets += str(opsets.empty() ? "" : ", ", domain_label(o.domain), " ", o.version);
  rows.push_back({"Opsets", opsets.empty() ? "(none)" : opsets});
  rows.push_back({"Graph", str(m.graph.name.empty() ? "(unnamed)" : m.graph.name, " (",
                               count_of(m.graph.nodes.size(), "node"), ", ",
                               count_of(m.graph.initializers.size(), "initializer"), ")")});
  if (!m.functions.empty()) {
    std::string names;
    for (const auto& f : m.functions) names += str(names.empty() ? "" : ", ", f.name);
    rows.push_back({"Functions", str(m.functions.size(), " model-local: ", names)});
  }
  out << format_table(rows, 0);
}

// Declared I/O; `inferred` (when the import succeeded) adds what shape
// inference found where it says more than the declaration.
void print_io(const char* title, const std::vector<const onnx::ValueInfoProto*>& values,
              const std::vector<Value*>* inferred, std::ostream& out) {
  out << "\n" << title << " (" << values.size() << ")\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto* vi : values) {
    std::vector<std::string> row = {vi->name, declared_type_string(*vi)};
    if (inferred) {
      for (const Value* v : *inferred)
        if (v->name == vi->name && v->shape_known && (has_unknown_dims(*vi) || !vi->has_type))
          row.push_back("-> " + v->type_string());
    }
    rows.push_back(std::move(row));
  }
  out << format_table(rows);
}

void print_histogram(const onnx::GraphProto& graph, std::ostream& out) {
  std::map<std::string, int64_t> counts;
  for (const auto& n : graph.nodes) {
    std::string d = onnx::canonical_domain(n.domain);
    ++counts[d.empty() ? n.op_type : d + "::" + n.op_type];
  }
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  out << "\nOps (" << count_of(sorted.size(), "kind") << ", " << count_of(graph.nodes.size(), "node") << ")\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& [op, n] : sorted) rows.push_back({op, std::to_string(n)});
  out << format_table(rows);
}

void print_unsupported(const std::vector<UnsupportedNode>& list, std::ostream& out) {
  out << "\nUnsupported ops (" << count_of(list.size(), "node") << ")\n";
  std::vector<std::vector<std::string>> rows = {{"node", "op", "domain", "opset", "reason"}};
  for (const auto& u : list)
    rows.push_back({u.node.empty() ? "(unnamed)" : u.node, u.op, domain_label(u.domain), std::to_string(u.opset),
                    u.reason});
  out << format_table(rows);
}

}  // namespace

CliResult inspect_command(const InspectOptions& options, std::ostream& out, std::ostream& /*err*/) {
  auto shapes = parse_shape_specs(options.shapes);
  if (!shapes.ok()) return CliResult::usage("--shapes: " + shapes.status().message(), kShapeSpecGrammar);

  auto loaded = load_model_file(options.model);
  if (!loaded.ok()) return CliResult::failure(loaded.status(), options.model);
  const onnx::ModelProto& model = *loaded;
  std::vector<const onnx::ValueInfoProto*> inputs = runtime_inputs(model);
  if (CliResult r = check_shape_names(*shapes, inputs); r.code != ExitCode::kOk) return r;

  // The import runs before printing so the I/O table can show inferred shapes.
  ImportOptions import_options;
  import_options.input_shapes = *shapes;
  auto imported = import_onnx_model(model, model_directory(options.model), import_options);

  print_header(model, options.model, out);
  std::vector<const onnx::ValueInfoProto*> outputs;
  for (const auto& vi : model.graph.outputs) outputs.push_back(&vi);
  print_io("Inputs", inputs, imported.ok() ? &imported->graph->inputs : nullptr, out);
  print_io("Outputs", outputs, imported.ok() ? &imported->graph->outputs : nullptr, out);
  print_histogram(model.graph, out);

  ParamStats params = parameter_stats(model.graph);
  out << "\nParameters  " << group_digits(params.count) << " (" << human_bytes(params.bytes) << ") in "
      << count_of(static_cast<uint64_t>(params.tensors), "initializer");
  if (params.external) out << ", " << params.external << " with external data";
  if (!params.exact) out << " (some sizes unknown)";
  out << "\n";

  auto unsupported = list_unsupported_nodes(model);
  if (unsupported.ok() && !unsupported->empty()) print_unsupported(*unsupported, out);

  if (!imported.ok()) {
    out << "\nImport      failed (see the error below)\n";
    return CliResult::failure(imported.status(), options.model);
  }
  out << "\nImport      ok: " << imported->graph->num_nodes() << " nodes after inlining, upgrades and folding\n";
  if (options.dump_ir) out << "\n" << print_graph(*imported->graph);
  return CliResult::ok();
}

}  // namespace kiln::cli
