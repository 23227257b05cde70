#include "run_case.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "backends/cpu/interpreter.h"
#include "execution_device.h"
#include "base/mapped_file.h"
#include "onnx/importer.h"
#include "onnx/onnx_model.h"
#include "ops/op_schema.h"

namespace kiln::conformance {
namespace {

namespace fs = std::filesystem;

// Long messages (a model with hundreds of unsupported nodes) would bloat the
// results file; the head says enough.
constexpr size_t kMaxReason = 2000;

std::string truncate(std::string s) {
  if (s.size() > kMaxReason) s = s.substr(0, kMaxReason) + " ...";
  return s;
}

std::string qualified_op(const onnx::NodeProto& n) {
  if (n.domain.empty() || n.domain == "ai.onnx") return n.op_type;
  return n.domain + "." + n.op_type;
}

std::vector<std::string> model_ops(const onnx::ModelProto& m) {
  std::set<std::string> ops;
  for (const auto& n : m.graph.nodes) ops.insert(qualified_op(n));
  return {ops.begin(), ops.end()};
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Why an import refused the model: an op Kiln lacks, a dtype, a non-tensor
// value, or something else (an attribute value, a limit).
std::string unsupported_category(const onnx::ModelProto* model, const std::string& message, std::string& reason) {
  if (model) {
    auto nodes = list_unsupported_nodes(*model);
    if (nodes.ok() && !nodes->empty()) {
      std::set<std::string> seen;
      std::string list;
      // "opset" when Kiln has every op but not at the model's opset version.
      bool all_known = true;
      for (const auto& u : *nodes) {
        std::string op = (u.domain.empty() ? "" : u.domain + ".") + u.op;
        if (!OpRegistry::global().find_any(u.domain, u.op)) all_known = false;
        if (!seen.insert(op).second) continue;
        list += str(list.empty() ? "" : "; ", op, " (opset ", u.opset, "): ", u.reason);
      }
      reason = (all_known ? "unsupported opset: " : "unsupported op: ") + list;
      return all_known ? "opset" : "op";
    }
  }
  reason = message;
  std::string m = lower(message);
  if (m.find("not a tensor") != std::string::npos || m.find("sequence") != std::string::npos ||
      m.find("optional") != std::string::npos)
    return "kind";
  if (m.find("type") != std::string::npos) return "dtype";
  return "other";
}

struct ReadTensor {
  Status status;
  Tensor tensor;
};

// A serialized TensorProto file as a Kiln tensor viewing the mapped file.
ReadTensor read_tensor_file(const std::string& path, const std::string& dir) {
  auto file = MappedFile::open(path);
  if (!file.ok()) return {file.status(), {}};
  auto proto = onnx::parse_tensor((*file)->bytes(), path);
  if (!proto.ok()) return {proto.status(), {}};
  std::shared_ptr<const void> owner = *file;
  auto t = onnx::tensor_from_proto(*proto, dir, owner);
  if (!t.ok()) return {t.status().with_context(path), {}};
  return {Status::Ok(), std::move(t).value()};
}

// test_data_set_N directories in numeric order.
std::vector<fs::path> data_sets(const std::string& dir) {
  std::vector<std::pair<long, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    const std::string prefix = "test_data_set_";
    if (!e.is_directory() || name.rfind(prefix, 0) != 0) continue;
    char* end = nullptr;
    long n = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (end && *end == '\0') found.emplace_back(n, e.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

// prefix_0.pb, prefix_1.pb, ... up to the first missing index.
std::vector<std::string> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (int k = 0;; ++k) {
    fs::path p = dir / str(prefix, "_", k, ".pb");
    if (!fs::exists(p)) break;
    out.push_back(p.string());
  }
  return out;
}

std::string format_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// numpy's assert_allclose rule for floats (|got - exp| <= atol + rtol * |exp|,
// NaN equal to NaN, infinities equal when of the same sign); exact otherwise.
// Returns an empty string on a match.
std::string compare(const Tensor& got, const Tensor& exp, double rtol, double atol, double& max_error) {
  if (got.dtype() != exp.dtype())
    return str("dtype ", dtype_name(got.dtype()), ", expected ", dtype_name(exp.dtype()));
  if (got.dims() != exp.dims())
    return str("shape ", dims_to_string(got.dims()), ", expected ", dims_to_string(exp.dims()));
  const bool is_float = dtype_is_float(exp.dtype());
  // onnx's runner allows two bfloat16 ulps, as bf16 results round coarsely.
  if (exp.dtype() == DType::kBFloat16) rtol = std::max(rtol, 1.0 / 64);
  int64_t bad = 0, worst = -1;
  double worst_excess = -1, worst_tol = 0;
  for (int64_t i = 0; i < exp.numel(); ++i) {
    double diff = 0, tol = 0;
    bool ok;
    if (is_float) {
      double g = got.get_f64(i), e = exp.get_f64(i);
      if (std::isnan(e) || std::isnan(g)) {
        ok = std::isnan(e) && std::isnan(g);
        diff = ok ? 0 : INFINITY;
      } else if (std::isinf(e) || std::isinf(g)) {
        ok = g == e;
        diff = ok ? 0 : INFINITY;
      } else {
        diff = std::fabs(g - e);
        tol = atol + rtol * std::fabs(e);
        ok = diff <= tol;
      }
    } else {
      int64_t g = got.get_i64(i), e = exp.get_i64(i);
      ok = g == e;
      diff = std::fabs(static_cast<double>(g) - static_cast<double>(e));
    }
    max_error = std::max(max_error, diff);
    if (ok) continue;
    ++bad;
    if (diff - tol > worst_excess) {
      worst_excess = diff - tol;
      worst = i;
      worst_tol = tol;
    }
  }
  if (bad == 0) return "";
  std::string got_v = is_float ? format_value(got.get_f64(worst)) : std::to_string(got.get_i64(worst));
  std::string exp_v = is_float ? format_value(exp.get_f64(worst)) : std::to_string(exp.get_i64(worst));
  return str(bad, " of ", exp.numel(), " ", dtype_name(exp.dtype()), " elements differ; worst at flat index ", worst,
             ": got ", got_v, ", expected ", exp_v,
             is_float ? str(" (tolerance ", format_value(worst_tol), ")") : std::string());
}

// Graph inputs that look like shape tensors: inputs that every consumer
// takes at a position other than 0 (Reshape's shape, Slice's starts,
// Resize's scales and sizes, a reduction's axes, TopK's k, ...), never as data.
std::vector<std::string> shape_like_inputs(const onnx::ModelProto& model, const std::map<std::string, Tensor>& inputs) {
  std::vector<std::string> out;
  for (const auto& [name, value] : inputs) {
    bool used = false, as_data = false;
    for (const auto& n : model.graph.nodes)
      for (size_t i = 0; i < n.inputs.size(); ++i)
        if (n.inputs[i] == name) {
          used = true;
          as_data = as_data || i == 0;
        }
    if (used && !as_data) out.push_back(name);
  }
  return out;
}

// Builds a CUDA engine (fp32, no tactic timing: the default kernels) from a
// fresh import, since a build rewrites its graph, and runs it once. Inputs
// named in `fixed` become constants of this data set's values first.
Expected<std::vector<Tensor>> build_and_run_cuda(const std::string& model_path, std::map<std::string, Tensor> inputs,
                                                 const std::vector<std::string>& fixed) {
  ImportOptions import;
  for (const auto& name : fixed) {
    import.input_values[name] = inputs.at(name);
    inputs.erase(name);
  }
  KILN_ASSIGN_OR_RETURN(auto imported, import_onnx_file(model_path, import));
  if (!fixed.empty() && imported.graph->num_nodes() == 0)
    return Unsupported("with its shape inputs fixed, every op folds into a constant: nothing would run on the GPU");
  cli::ExecuteOptions options;
  options.autotune = false;
  cli::ExecuteTimes times;
  return cli::execute_graph(cli::ExecutionDevice::kCuda, *imported.graph, inputs, options, times);
}

// Engines need static shapes, and some kernels plan from values (a
// reduction's axes, Resize's roi). Where the first build fails on a shape
// that depends on input values or on a value that must be a constant, the
// shape-like inputs are fixed at build time, as TensorRT takes the values of
// shape tensors when it builds; `fixed` receives their names.
Expected<std::vector<Tensor>> run_on_cuda(const std::string& model_path, const onnx::ModelProto& model,
                                          const std::map<std::string, Tensor>& inputs, std::vector<std::string>* fixed) {
  auto outputs = build_and_run_cuda(model_path, inputs, {});
  const std::string& why = outputs.ok() ? std::string() : outputs.status().message();
  if (outputs.ok() || (why.find("data-dependent shape") == std::string::npos &&
                       why.find("must be a constant") == std::string::npos))
    return outputs;
  std::vector<std::string> shape_inputs = shape_like_inputs(model, inputs);
  if (shape_inputs.empty()) return outputs;
  *fixed = shape_inputs;
  return build_and_run_cuda(model_path, inputs, shape_inputs);
}

CaseResult run_case_unguarded(const CaseSpec& spec, CaseDevice device) {
  CaseResult r;
  auto result = [&](const char* status, const char* category, std::string reason) {
    r.status = status;
    r.category = category;
    r.reason = truncate(std::move(reason));
    return r;
  };

  fs::path dir(spec.dir);
  fs::path marker = dir / kUnsupportedKindMarker;
  if (fs::exists(marker)) {
    std::ifstream in(marker);
    std::string why;
    std::getline(in, why);
    return result("unsupported", "kind", "non-tensor value: " + why);
  }

  std::string model_path = (dir / "model.onnx").string();
  auto imported = import_onnx_file(model_path);
  if (!imported.ok()) {
    // Every case's model is model.onnx: the path in front of the message is noise.
    std::string prefix = model_path + ": ";
    Status st = imported.status();
    if (st.message().rfind(prefix, 0) == 0) st = Status(st.code(), st.message().substr(prefix.size()));
    auto model = onnx::load_model(model_path);
    if (model.ok()) r.ops = model_ops(*model);
    if (st.code() == ErrorCode::kUnsupported) {
      std::string reason;
      std::string category = unsupported_category(model.ok() ? &*model : nullptr, st.message(), reason);
      return result("unsupported", category.c_str(), reason);
    }
    if (!model.ok()) return result("fail", "read", st.to_string());
    return result("fail", "import", st.to_string());
  }
  r.ops = model_ops(imported->proto);

  // Data files feed the graph inputs in declaration order, as onnx's runner does.
  std::set<std::string> initializers;
  for (const auto& t : imported->proto.graph.initializers) initializers.insert(t.name);
  std::vector<std::string> input_names;
  for (const auto& vi : imported->proto.graph.inputs)
    if (!initializers.count(vi.name)) input_names.push_back(vi.name);

  auto sets = data_sets(spec.dir);
  if (sets.empty()) return result("fail", "input", "the case has no test_data_set_N directory");
  for (const auto& set : sets) {
    std::string set_name = set.filename().string();
    auto in_files = numbered_files(set, "input");
    if (in_files.size() > input_names.size())
      return result("fail", "input", str(set_name, ": ", in_files.size(), " input files for ", input_names.size(),
                                         " graph inputs"));
    std::map<std::string, Tensor> inputs;
    for (size_t k = 0; k < in_files.size(); ++k) {
      ReadTensor t = read_tensor_file(in_files[k], spec.dir);
      if (!t.status.ok()) {
        if (t.status.code() == ErrorCode::kUnsupported) return result("unsupported", "dtype", t.status.message());
        return result("fail", "input", t.status.to_string());
      }
      inputs.emplace(input_names[k], std::move(t.tensor));
    }

    auto outputs = device == CaseDevice::kCpu ? run_graph_cpu(*imported->graph, inputs)
                                              : run_on_cuda(model_path, imported->proto, inputs, &r.fixed_inputs);
    if (!outputs.ok()) {
      if (device == CaseDevice::kCuda && outputs.status().code() == ErrorCode::kUnsupported)
        return result("unsupported", "cuda", outputs.status().message());
      return result("fail", "run", str(set_name, ": ", outputs.status().to_string()));
    }

    auto out_files = numbered_files(set, "output");
    if (out_files.size() != outputs->size())
      return result("fail", "compare", str(set_name, ": Kiln returned ", outputs->size(), " outputs, the case expects ",
                                           out_files.size()));
    double max_error = std::max(r.max_error, 0.0);
    std::string failures;
    for (size_t k = 0; k < out_files.size(); ++k) {
      ReadTensor exp = read_tensor_file(out_files[k], spec.dir);
      if (!exp.status.ok()) return result("fail", "input", "expected output: " + exp.status.to_string());
      std::string why = compare((*outputs)[k], exp.tensor, spec.rtol, spec.atol, max_error);
      if (!why.empty()) {
        std::string name = k < imported->graph->outputs.size() ? imported->graph->outputs[k]->name : "?";
        failures += str(failures.empty() ? "" : "; ", set_name, " output ", k, " '", name, "': ", why);
      }
    }
    r.max_error = max_error;
    if (!failures.empty()) return result("fail", "compare", failures);
  }
  return result("pass", "", "");
}

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

CaseResult run_case(const CaseSpec& spec, CaseDevice device) {
  auto start = std::chrono::steady_clock::now();
  CaseResult r;
  // Kiln's libraries report errors as Status; an exception escaping them is a
  // Kiln bug, recorded as such rather than ending the suite.
  try {
    r = run_case_unguarded(spec, device);
  } catch (const std::exception& e) {
    r.status = "fail";
    r.category = "crash";
    r.reason = truncate(str("exception escaped Kiln: ", e.what()));
  } catch (...) {
    r.status = "fail";
    r.category = "crash";
    r.reason = "non-standard exception escaped Kiln";
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

std::string to_json(const CaseSpec& spec, const CaseResult& r) {
  std::string out = "{\"case\":";
  append_json_string(out, spec.name);
  out += ",\"status\":";
  append_json_string(out, r.status);
  out += ",\"category\":";
  append_json_string(out, r.category);
  out += ",\"reason\":";
  append_json_string(out, r.reason);
  out += ",\"ops\":[";
  for (size_t i = 0; i < r.ops.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, r.ops[i]);
  }
  out += "],\"fixed_inputs\":[";
  for (size_t i = 0; i < r.fixed_inputs.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, r.fixed_inputs[i]);
  }
  out += "],\"max_error\":";
  // JSON has no infinity; a non-finite error is a mismatch of NaN or inf.
  if (r.max_error < 0) {
    out += "null";
  } else if (!std::isfinite(r.max_error)) {
    out += "\"inf\"";
  } else {
    out += format_value(r.max_error);
  }
  out += ",\"seconds\":" + format_value(r.seconds) + "}";
  return out;
}

}  // namespace kiln::conformance
