// kiln_dump_proto MODEL.onnx [--no-data]
//
// Prints the ModelProto as Kiln's reader parsed it, as JSON on stdout: model
// fields, opsets, graph (nodes, attributes, initializers, typed values),
// subgraphs and functions. Each tensor also shows what tensor_from_proto
// makes of it (dtype, dims, bytes in hex, whether it is a view of the model
// file). Used by tests/python/test_reader_crosscheck.py; exits 1 with
// {"error": ...} when the model cannot be read.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "onnx/onnx_model.h"

namespace kiln::onnx {
namespace {

class Json {
 public:
  explicit Json(bool with_data) : with_data_(with_data) {}

  void string(const std::string& s) {
    out_ += '"';
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += static_cast<char>(c);
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out_ += buf;
      } else {
        out_ += static_cast<char>(c);
      }
    }
    out_ += '"';
  }
  void number(int64_t v) { out_ += std::to_string(v); }
  // Floats with enough digits to round-trip; NaN/Infinity as Python's json reads them.
  void number(double v) {
    if (std::isnan(v)) {
      out_ += "NaN";
    } else if (std::isinf(v)) {
      out_ += v > 0 ? "Infinity" : "-Infinity";
    } else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v);
      out_ += buf;
    }
  }
  void boolean(bool b) { out_ += b ? "true" : "false"; }
  void hex(std::span<const uint8_t> bytes) {
    static const char* digits = "0123456789abcdef";
    out_ += '"';
    for (uint8_t b : bytes) {
      out_ += digits[b >> 4];
      out_ += digits[b & 15];
    }
    out_ += '"';
  }
  void hex(const std::string& s) { hex({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }

  // {"key": ...}: begin/end with a comma between members.
  void begin(char c) {
    out_ += c;
    first_ = true;
  }
  void end(char c) {
    out_ += c;
    first_ = false;
  }
  void key(const char* k) {
    if (!first_) out_ += ',';
    first_ = false;
    string(k);
    out_ += ':';
  }
  void item() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  template <typename T, typename Fn>
  void list(const char* k, const std::vector<T>& v, Fn each) {
    key(k);
    begin('[');
    for (const T& x : v) {
      item();
      each(x);
    }
    end(']');
  }
  void strings(const char* k, const std::vector<std::string>& v) {
    list(k, v, [&](const std::string& s) { string(s); });
  }
  void pairs(const char* k, const std::vector<std::pair<std::string, std::string>>& v) {
    list(k, v, [&](const auto& p) {
      begin('[');
      item();
      string(p.first);
      item();
      string(p.second);
      end(']');
    });
  }

  std::string out_;
  bool first_ = true;
  bool with_data_;
};

struct Dumper {
  Json& j;
  const std::string& model_dir;
  const ModelProto& model;

  void opsets(const char* k, const std::vector<OperatorSetId>& v) {
    j.list(k, v, [&](const OperatorSetId& o) {
      j.begin('{');
      j.key("domain");
      j.string(o.domain);
      j.key("version");
      j.number(o.version);
      j.end('}');
    });
  }

  void tensor(const TensorProto& t) {
    j.begin('{');
    j.key("name");
    j.string(t.name);
    j.key("data_type");
    j.number(int64_t{t.data_type});
    j.list("dims", t.dims, [&](int64_t d) { j.number(d); });
    j.key("data_location");
    j.number(int64_t{t.data_location});
    j.pairs("external_data", t.external_data);
    j.key("has_raw_data");
    j.boolean(t.has_raw_data);
    j.key("raw_data_size");
    j.number(static_cast<int64_t>(t.raw_data.size()));
    // What the importer would get.
    auto converted = tensor_from_proto(t, model_dir, model.file);
    j.key("kiln");
    j.begin('{');
    j.key("ok");
    j.boolean(converted.ok());
    if (!converted.ok()) {
      j.key("error");
      j.string(converted.status().to_string());
    } else {
      const Tensor& x = *converted;
      j.key("dtype");
      j.string(dtype_name(x.dtype()));
      j.list("dims", x.dims(), [&](int64_t d) { j.number(d); });
      j.key("nbytes");
      j.number(static_cast<int64_t>(x.nbytes()));
      auto file = model.file->bytes();
      auto lo = reinterpret_cast<uintptr_t>(file.data()), p = reinterpret_cast<uintptr_t>(x.bytes());
      bool in_file = x.nbytes() && p >= lo && p + x.nbytes() <= lo + file.size();
      j.key("view_of_model_file");
      j.boolean(in_file);
      if (j.with_data_) {
        j.key("hex");
        j.hex({x.bytes(), x.nbytes()});
      }
    }
    j.end('}');
    j.end('}');
  }

  void attribute(const AttributeProto& a) {
    j.begin('{');
    j.key("name");
    j.string(a.name);
    j.key("type");
    j.number(int64_t{a.type});
    j.key("ref_attr_name");
    j.string(a.ref_attr_name);
    j.key("f");
    j.number(static_cast<double>(a.f));
    j.key("i");
    j.number(a.i);
    j.key("s_hex");
    j.hex(a.s);
    j.key("t");
    if (a.has_t) tensor(a.t);
    else j.out_ += "null";
    j.key("g");
    if (a.g) graph(*a.g);
    else j.out_ += "null";
    j.list("floats", a.floats, [&](float f) { j.number(static_cast<double>(f)); });
    j.list("ints", a.ints, [&](int64_t i) { j.number(i); });
    j.list("strings_hex", a.strings, [&](const std::string& s) { j.hex(s); });
    j.list("tensors", a.tensors, [&](const TensorProto& t) { tensor(t); });
    j.list("graphs", a.graphs, [&](const std::shared_ptr<GraphProto>& g) { graph(*g); });
    j.end('}');
  }

  void node(const NodeProto& n) {
    j.begin('{');
    j.key("name");
    j.string(n.name);
    j.key("op_type");
    j.string(n.op_type);
    j.key("domain");
    j.string(n.domain);
    j.key("overload");
    j.string(n.overload);
    j.strings("input", n.inputs);
    j.strings("output", n.outputs);
    j.list("attribute", n.attributes, [&](const AttributeProto& a) { attribute(a); });
    j.end('}');
  }

  void value_info(const ValueInfoProto& v) {
    static const char* kinds[] = {"none", "tensor", "sequence", "map", "optional", "sparse_tensor", "other"};
    j.begin('{');
    j.key("name");
    j.string(v.name);
    j.key("type");
    if (!v.has_type) {
      j.out_ += "null";
    } else {
      j.begin('{');
      j.key("kind");
      j.string(kinds[static_cast<int>(v.type.kind)]);
      j.key("elem_type");
      j.number(int64_t{v.type.elem_type});
      j.key("has_shape");
      j.boolean(v.type.has_shape);
      j.list("dims", v.type.dims, [&](const Dimension& d) {
        j.begin('{');
        if (d.has_value) {
          j.key("value");
          j.number(d.value);
        }
        if (!d.param.empty()) {
          j.key("param");
          j.string(d.param);
        }
        j.end('}');
      });
      j.end('}');
    }
    j.end('}');
  }

  void graph(const GraphProto& g) {
    j.begin('{');
    j.key("name");
    j.string(g.name);
    j.list("node", g.nodes, [&](const NodeProto& n) { node(n); });
    j.list("initializer", g.initializers, [&](const TensorProto& t) { tensor(t); });
    j.key("sparse_initializer_count");
    j.number(g.sparse_initializer_count);
    j.list("input", g.inputs, [&](const ValueInfoProto& v) { value_info(v); });
    j.list("output", g.outputs, [&](const ValueInfoProto& v) { value_info(v); });
    j.list("value_info", g.value_info, [&](const ValueInfoProto& v) { value_info(v); });
    j.end('}');
  }

  void function(const FunctionProto& f) {
    j.begin('{');
    j.key("name");
    j.string(f.name);
    j.key("domain");
    j.string(f.domain);
    j.key("overload");
    j.string(f.overload);
    j.strings("input", f.inputs);
    j.strings("output", f.outputs);
    j.strings("attribute", f.attributes);
    j.list("attribute_proto", f.attribute_defaults, [&](const AttributeProto& a) { attribute(a); });
    j.list("node", f.nodes, [&](const NodeProto& n) { node(n); });
    opsets("opset_import", f.opset_imports);
    j.end('}');
  }

  void model_proto() {
    const ModelProto& m = model;
    j.begin('{');
    j.key("ir_version");
    j.number(m.ir_version);
    j.key("producer_name");
    j.string(m.producer_name);
    j.key("producer_version");
    j.string(m.producer_version);
    j.key("domain");
    j.string(m.domain);
    j.key("model_version");
    j.number(m.model_version);
    j.key("doc_string");
    j.string(m.doc_string);
    opsets("opset_import", m.opset_imports);
    j.pairs("metadata_props", m.metadata_props);
    j.key("graph");
    if (m.has_graph) graph(m.graph);
    else j.out_ += "null";
    j.list("functions", m.functions, [&](const FunctionProto& f) { function(f); });
    j.end('}');
  }
};

int run(int argc, char** argv) {
  std::string path;
  bool with_data = true;
  bool bad_args = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-data") with_data = false;
    else if (path.empty()) path = a;
    else bad_args = true;
  }
  if (path.empty() || bad_args) {
    std::fprintf(stderr, "usage: kiln_dump_proto MODEL.onnx [--no-data]\n");
    return 2;
  }
  Json j(with_data);
  auto model = load_model(path);
  if (!model.ok()) {
    j.begin('{');
    j.key("error");
    j.string(model.status().to_string());
    j.end('}');
    std::printf("%s\n", j.out_.c_str());
    return 1;
  }
  // External data is resolved against the model's directory.
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  Dumper{j, dir, *model}.model_proto();
  std::fwrite(j.out_.data(), 1, j.out_.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace
}  // namespace kiln::onnx

int main(int argc, char** argv) { return kiln::onnx::run(argc, argv); }
