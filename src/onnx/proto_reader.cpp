// ONNX ModelProto reader on top of the wire decoder (proto_wire.h). Field
// numbers follow onnx/onnx.proto (onnx 1.23); fields Kiln has no use for
// (doc strings, metadata, training info, device configurations, type
// denotations) are skipped without being decoded.
#include <algorithm>
#include <bit>

#include "onnx/onnx_model.h"
#include "onnx/proto_wire.h"

namespace kiln::onnx {
namespace {

using wire::Decoder;
using wire::Field;
using wire::FieldName;
using wire::FieldNames;
using wire::Message;
using wire::WireType;

constexpr FieldName kModelFields[] = {
    {1, "ir_version"}, {2, "producer_name"}, {3, "producer_version"}, {4, "domain"},
    {5, "model_version"}, {6, "doc_string"}, {7, "graph"}, {8, "opset_import"},
    {14, "metadata_props"}, {20, "training_info"}, {25, "functions"}, {26, "configuration"}};
constexpr FieldName kGraphFields[] = {
    {1, "node"}, {2, "name"}, {5, "initializer"}, {10, "doc_string"}, {11, "input"}, {12, "output"},
    {13, "value_info"}, {14, "quantization_annotation"}, {15, "sparse_initializer"}, {16, "metadata_props"}};
constexpr FieldName kNodeFields[] = {
    {1, "input"}, {2, "output"}, {3, "name"}, {4, "op_type"}, {5, "attribute"}, {6, "doc_string"},
    {7, "domain"}, {8, "overload"}, {9, "metadata_props"}, {10, "device_configurations"}};
constexpr FieldName kAttributeFields[] = {
    {1, "name"}, {2, "f"}, {3, "i"}, {4, "s"}, {5, "t"}, {6, "g"}, {7, "floats"}, {8, "ints"},
    {9, "strings"}, {10, "tensors"}, {11, "graphs"}, {13, "doc_string"}, {14, "tp"}, {15, "type_protos"},
    {20, "type"}, {21, "ref_attr_name"}, {22, "sparse_tensor"}, {23, "sparse_tensors"}};
constexpr FieldName kTensorFields[] = {
    {1, "dims"}, {2, "data_type"}, {3, "segment"}, {4, "float_data"}, {5, "int32_data"},
    {6, "string_data"}, {7, "int64_data"}, {8, "name"}, {9, "raw_data"}, {10, "double_data"},
    {11, "uint64_data"}, {12, "doc_string"}, {13, "external_data"}, {14, "data_location"},
    {16, "metadata_props"}};
constexpr FieldName kValueInfoFields[] = {{1, "name"}, {2, "type"}, {3, "doc_string"}, {4, "metadata_props"}};
constexpr FieldName kTypeFields[] = {{1, "tensor_type"},  {4, "sequence_type"},      {5, "map_type"},
                                     {6, "denotation"},   {7, "opaque_type"},        {8, "sparse_tensor_type"},
                                     {9, "optional_type"}};
constexpr FieldName kTensorTypeFields[] = {{1, "elem_type"}, {2, "shape"}};
constexpr FieldName kShapeFields[] = {{1, "dim"}};
constexpr FieldName kDimFields[] = {{1, "dim_value"}, {2, "dim_param"}, {3, "denotation"}};
constexpr FieldName kOpsetFields[] = {{1, "domain"}, {2, "version"}};
constexpr FieldName kFunctionFields[] = {
    {1, "name"}, {4, "input"}, {5, "output"}, {6, "attribute"}, {7, "node"}, {8, "doc_string"},
    {9, "opset_import"}, {10, "domain"}, {11, "attribute_proto"}, {12, "value_info"}, {13, "overload"},
    {14, "metadata_props"}};
constexpr FieldName kStringPairFields[] = {{1, "key"}, {2, "value"}};

template <typename T>
int64_t next_index(const std::vector<T>& v) {
  return static_cast<int64_t>(v.size());
}

class Parser {
 public:
  Parser(Decoder& d, const Limits& limits)
      : d_(d), limits_(limits), max_messages_(std::max<int64_t>(limits.max_nodes, 1) * kMessagesPerNode) {}

  Status model(Message m, ModelProto& out) {
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      switch (f.number) {
        case 1: KILN_RETURN_IF_ERROR(d_.to_int64(f, out.ir_version)); break;
        case 2: KILN_RETURN_IF_ERROR(d_.to_string(f, out.producer_name)); break;
        case 3: KILN_RETURN_IF_ERROR(d_.to_string(f, out.producer_version)); break;
        case 4: KILN_RETURN_IF_ERROR(d_.to_string(f, out.domain)); break;
        case 5: KILN_RETURN_IF_ERROR(d_.to_int64(f, out.model_version)); break;
        case 6: KILN_RETURN_IF_ERROR(d_.to_string(f, out.doc_string)); break;
        case 7:
          // A repeated singular message merges into the first, as protobuf does.
          out.has_graph = true;
          KILN_RETURN_IF_ERROR(nested(f, -1, kGraphFields, [&](Message s) { return graph(s, out.graph); }));
          break;
        case 8:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.opset_imports), kOpsetFields,
                                      [&](Message s) { return opset(s, out.opset_imports.emplace_back()); }));
          break;
        case 14:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.metadata_props), kStringPairFields,
                                      [&](Message s) { return string_pair(s, out.metadata_props.emplace_back()); }));
          break;
        case 25:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.functions), kFunctionFields,
                                      [&](Message s) { return function(s, out.functions.emplace_back()); }));
          break;
        default: break;  // training_info, configuration, unknown fields
      }
    }
    return Status::Ok();
  }

  Status tensor(Message m, TensorProto& out) {
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      switch (f.number) {
        case 1: KILN_RETURN_IF_ERROR(d_.append(f, out.dims)); break;
        case 2: KILN_RETURN_IF_ERROR(d_.to_int32(f, out.data_type)); break;
        case 3:
          KILN_RETURN_IF_ERROR(expect_len(f));
          out.has_segment = true;
          break;
        case 4: KILN_RETURN_IF_ERROR(d_.append(f, out.float_data)); break;
        case 5: KILN_RETURN_IF_ERROR(d_.append(f, out.int32_data)); break;
        case 6: KILN_RETURN_IF_ERROR(d_.to_string(f, out.string_data.emplace_back())); break;
        case 7: KILN_RETURN_IF_ERROR(d_.append(f, out.int64_data)); break;
        case 8: KILN_RETURN_IF_ERROR(d_.to_string(f, out.name)); break;
        case 9:
          KILN_RETURN_IF_ERROR(d_.to_bytes(f, out.raw_data));
          out.has_raw_data = true;
          break;
        case 10: KILN_RETURN_IF_ERROR(d_.append(f, out.double_data)); break;
        case 11: KILN_RETURN_IF_ERROR(d_.append(f, out.uint64_data)); break;
        case 13:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.external_data), kStringPairFields,
                                      [&](Message s) { return string_pair(s, out.external_data.emplace_back()); }));
          break;
        case 14: KILN_RETURN_IF_ERROR(d_.to_int32(f, out.data_location)); break;
        default: break;  // doc_string, metadata_props
      }
    }
    return Status::Ok();
  }

 private:
  // Each message parsed costs a struct of up to a few hundred bytes while its
  // encoding may be two bytes; this bound keeps hostile files of empty
  // messages from turning a small file into gigabytes of structs.
  static constexpr int64_t kMessagesPerNode = 16;

  template <typename Fn>
  Status nested(const Field& f, int64_t index, FieldNames names, Fn&& parse) {
    Message sub;
    KILN_RETURN_IF_ERROR(d_.to_message(f, names, sub));
    if (++messages_ > max_messages_)
      return d_.fail(ErrorCode::kResourceExhausted, &f, "the model has more than ", max_messages_,
                     " messages (", kMessagesPerNode, " x limits.max_nodes)");
    auto scope = d_.enter(f, index);
    return parse(sub);
  }

  Status expect_len(const Field& f) {
    std::span<const uint8_t> unused;
    return d_.to_bytes(f, unused);
  }

  // Graph bodies (the main graph, subgraph attributes, function bodies) nest
  // through attributes; the depth is bounded before anything is read.
  struct DepthGuard {
    explicit DepthGuard(int& d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
    int& depth;
  };
  Status check_depth() const {
    if (depth_ > limits_.max_nesting_depth)
      return d_.fail(ErrorCode::kResourceExhausted, nullptr, "subgraphs nested deeper than ",
                     limits_.max_nesting_depth, " levels (limits.max_nesting_depth)");
    return Status::Ok();
  }

  Status graph(Message m, GraphProto& out) {
    KILN_RETURN_IF_ERROR(check_depth());
    DepthGuard guard(depth_);
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      switch (f.number) {
        case 1:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.nodes), kNodeFields,
                                      [&](Message s) { return node(s, out.nodes.emplace_back()); }));
          break;
        case 2: KILN_RETURN_IF_ERROR(d_.to_string(f, out.name)); break;
        case 5:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.initializers), kTensorFields,
                                      [&](Message s) { return tensor(s, out.initializers.emplace_back()); }));
          break;
        case 11:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.inputs), kValueInfoFields,
                                      [&](Message s) { return value_info(s, out.inputs.emplace_back()); }));
          break;
        case 12:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.outputs), kValueInfoFields,
                                      [&](Message s) { return value_info(s, out.outputs.emplace_back()); }));
          break;
        case 13:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.value_info), kValueInfoFields,
                                      [&](Message s) { return value_info(s, out.value_info.emplace_back()); }));
          break;
        case 15:
          // Counted only: the importer refuses sparse initializers.
          KILN_RETURN_IF_ERROR(expect_len(f));
          ++out.sparse_initializer_count;
          break;
        default: break;  // doc_string, quantization_annotation, metadata_props
      }
    }
    return Status::Ok();
  }

  Status node(Message m, NodeProto& out) {
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      switch (f.number) {
        case 1: KILN_RETURN_IF_ERROR(d_.to_string(f, out.inputs.emplace_back())); break;
        case 2: KILN_RETURN_IF_ERROR(d_.to_string(f, out.outputs.emplace_back())); break;
        case 3: KILN_RETURN_IF_ERROR(d_.to_string(f, out.name)); break;
        case 4: KILN_RETURN_IF_ERROR(d_.to_string(f, out.op_type)); break;
        case 5:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.attributes), kAttributeFields,
                                      [&](Message s) { return attribute(s, out.attributes.emplace_back()); }));
          break;
        case 7: KILN_RETURN_IF_ERROR(d_.to_string(f, out.domain)); break;
        case 8: KILN_RETURN_IF_ERROR(d_.to_string(f, out.overload)); break;
        default: break;  // doc_string, metadata_props, device_configurations
      }
    }
    return Status::Ok();
  }

  Status attribute(Message m, AttributeProto& out) {
    using A = AttributeProto;
    uint32_t seen = 0;  // bit per AttributeType whose value field appeared
    auto saw = [&](A::Type t) { seen |= 1u << t; };
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      switch (f.number) {
        case 1: KILN_RETURN_IF_ERROR(d_.to_string(f, out.name)); break;
        case 2: KILN_RETURN_IF_ERROR(d_.to_float(f, out.f)); saw(A::kFloat); break;
        case 3: KILN_RETURN_IF_ERROR(d_.to_int64(f, out.i)); saw(A::kInt); break;
        case 4: KILN_RETURN_IF_ERROR(d_.to_string(f, out.s)); saw(A::kString); break;
        case 5:
          out.has_t = true;
          saw(A::kTensor);
          KILN_RETURN_IF_ERROR(nested(f, -1, kTensorFields, [&](Message s) { return tensor(s, out.t); }));
          break;
        case 6:
          if (!out.g) out.g = std::make_shared<GraphProto>();
          saw(A::kGraph);
          KILN_RETURN_IF_ERROR(nested(f, -1, kGraphFields, [&](Message s) { return graph(s, *out.g); }));
          break;
        case 7: KILN_RETURN_IF_ERROR(d_.append(f, out.floats)); saw(A::kFloats); break;
        case 8: KILN_RETURN_IF_ERROR(d_.append(f, out.ints)); saw(A::kInts); break;
        case 9: KILN_RETURN_IF_ERROR(d_.to_string(f, out.strings.emplace_back())); saw(A::kStrings); break;
        case 10:
          saw(A::kTensors);
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.tensors), kTensorFields,
                                      [&](Message s) { return tensor(s, out.tensors.emplace_back()); }));
          break;
        case 11:
          saw(A::kGraphs);
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.graphs), kGraphFields, [&](Message s) {
            out.graphs.push_back(std::make_shared<GraphProto>());
            return graph(s, *out.graphs.back());
          }));
          break;
        case 14: KILN_RETURN_IF_ERROR(expect_len(f)); saw(A::kTypeProto); break;
        case 15: KILN_RETURN_IF_ERROR(expect_len(f)); saw(A::kTypeProtos); break;
        case 20: KILN_RETURN_IF_ERROR(d_.to_int32(f, out.type)); break;
        case 21: KILN_RETURN_IF_ERROR(d_.to_string(f, out.ref_attr_name)); break;
        case 22: KILN_RETURN_IF_ERROR(expect_len(f)); saw(A::kSparseTensor); break;
        case 23: KILN_RETURN_IF_ERROR(expect_len(f)); saw(A::kSparseTensors); break;
        default: break;  // doc_string
      }
    }
    // Models from before the type field (IR version 1) leave it unset: the one
    // value field present says what the attribute is.
    if (out.type == A::kUndefined && std::popcount(seen) == 1) out.type = std::countr_zero(seen);
    return Status::Ok();
  }

  Status value_info(Message m, ValueInfoProto& out) {
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      switch (f.number) {
        case 1: KILN_RETURN_IF_ERROR(d_.to_string(f, out.name)); break;
        case 2:
          out.has_type = true;
          KILN_RETURN_IF_ERROR(nested(f, -1, kTypeFields, [&](Message s) { return type(s, out.type); }));
          break;
        default: break;
      }
    }
    return Status::Ok();
  }

  // TypeProto's value is a oneof: a later member replaces an earlier one.
  // Sequence, map, optional and opaque types are recorded by kind only (Kiln
  // imports tensors), so their nested TypeProtos are never decoded.
  Status type(Message m, TypeProto& out) {
    using K = TypeProto::Kind;
    auto set_kind = [&](K k) {
      if (out.kind == k) return;  // the same member again merges
      out = TypeProto{};
      out.kind = k;
    };
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      switch (f.number) {
        case 1:
        case 8:
          set_kind(f.number == 1 ? K::kTensor : K::kSparseTensor);
          KILN_RETURN_IF_ERROR(nested(f, -1, kTensorTypeFields, [&](Message s) { return tensor_type(s, out); }));
          break;
        case 4: KILN_RETURN_IF_ERROR(expect_len(f)); set_kind(K::kSequence); break;
        case 5: KILN_RETURN_IF_ERROR(expect_len(f)); set_kind(K::kMap); break;
        case 7: KILN_RETURN_IF_ERROR(expect_len(f)); set_kind(K::kOther); break;
        case 9: KILN_RETURN_IF_ERROR(expect_len(f)); set_kind(K::kOptional); break;
        default: break;  // denotation
      }
    }
    return Status::Ok();
  }

  Status tensor_type(Message m, TypeProto& out) {
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      switch (f.number) {
        case 1: KILN_RETURN_IF_ERROR(d_.to_int32(f, out.elem_type)); break;
        case 2:
          out.has_shape = true;
          KILN_RETURN_IF_ERROR(nested(f, -1, kShapeFields, [&](Message s) { return shape(s, out.dims); }));
          break;
        default: break;
      }
    }
    return Status::Ok();
  }

  Status shape(Message m, std::vector<Dimension>& dims) {
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      if (f.number != 1) continue;
      KILN_RETURN_IF_ERROR(nested(f, next_index(dims), kDimFields, [&](Message s) { return dim(s, dims.emplace_back()); }));
    }
    return Status::Ok();
  }

  Status dim(Message m, Dimension& out) {
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      switch (f.number) {
        case 1:
          KILN_RETURN_IF_ERROR(d_.to_int64(f, out.value));
          out.has_value = true;
          out.param.clear();  // oneof: the later member wins
          break;
        case 2:
          KILN_RETURN_IF_ERROR(d_.to_string(f, out.param));
          out.has_value = false;
          out.value = 0;
          break;
        default: break;  // denotation
      }
    }
    return Status::Ok();
  }

  Status opset(Message m, OperatorSetId& out) {
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      if (f.number == 1) KILN_RETURN_IF_ERROR(d_.to_string(f, out.domain));
      if (f.number == 2) KILN_RETURN_IF_ERROR(d_.to_int64(f, out.version));
    }
    return Status::Ok();
  }

  Status string_pair(Message m, std::pair<std::string, std::string>& out) {
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      if (f.number == 1) KILN_RETURN_IF_ERROR(d_.to_string(f, out.first));
      if (f.number == 2) KILN_RETURN_IF_ERROR(d_.to_string(f, out.second));
    }
    return Status::Ok();
  }

  Status function(Message m, FunctionProto& out) {
    // A function body is a graph of its own: its subgraphs count from here.
    KILN_RETURN_IF_ERROR(check_depth());
    DepthGuard guard(depth_);
    Field f;
    while (!m.done()) {
      KILN_RETURN_IF_ERROR(d_.next(m, f));
      switch (f.number) {
        case 1: KILN_RETURN_IF_ERROR(d_.to_string(f, out.name)); break;
        case 4: KILN_RETURN_IF_ERROR(d_.to_string(f, out.inputs.emplace_back())); break;
        case 5: KILN_RETURN_IF_ERROR(d_.to_string(f, out.outputs.emplace_back())); break;
        case 6: KILN_RETURN_IF_ERROR(d_.to_string(f, out.attributes.emplace_back())); break;
        case 7:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.nodes), kNodeFields,
                                      [&](Message s) { return node(s, out.nodes.emplace_back()); }));
          break;
        case 9:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.opset_imports), kOpsetFields,
                                      [&](Message s) { return opset(s, out.opset_imports.emplace_back()); }));
          break;
        case 10: KILN_RETURN_IF_ERROR(d_.to_string(f, out.domain)); break;
        case 11:
          KILN_RETURN_IF_ERROR(nested(f, next_index(out.attribute_defaults), kAttributeFields, [&](Message s) {
            return attribute(s, out.attribute_defaults.emplace_back());
          }));
          break;
        case 13: KILN_RETURN_IF_ERROR(d_.to_string(f, out.overload)); break;
        default: break;  // doc_string, value_info, metadata_props
      }
    }
    return Status::Ok();
  }

  Decoder& d_;
  const Limits& limits_;
  int64_t max_messages_;
  int64_t messages_ = 0;
  int depth_ = 0;
};

}  // namespace

Expected<ModelProto> parse_model(std::shared_ptr<MappedFile> file, const Limits& limits) {
  if (!file) return InvalidArgument("parse_model: no file");
  if (file->bytes().empty()) return InvalidArgument(file->path(), ": the file is empty, not an ONNX model");
  Decoder d(file->path(), file->bytes());
  ModelProto model;
  Parser parser(d, limits);
  KILN_RETURN_IF_ERROR(parser.model(d.root(kModelFields), model));
  model.file = std::move(file);
  return model;
}

Expected<ModelProto> load_model(const std::string& path, const Limits& limits) {
  KILN_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  return parse_model(std::move(file), limits);
}

Expected<TensorProto> parse_tensor(std::span<const uint8_t> bytes, const std::string& what) {
  Decoder d(what, bytes);
  Limits limits;
  Parser parser(d, limits);
  TensorProto t;
  KILN_RETURN_IF_ERROR(parser.tensor(d.root(kTensorFields), t));
  return t;
}

}  // namespace kiln::onnx
