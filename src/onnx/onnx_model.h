// The parts of the ONNX protobuf schema (onnx.proto3) that Kiln reads, as
// plain structs. Filled by Kiln's own bounds-checked wire-format reader
// (proto_reader.cpp); there is no dependency on libprotobuf. raw_data is a
// view into the mapped file, which the ModelProto keeps alive, so weights are
// not copied while parsing (strings are copied).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/limits.h"
#include "base/mapped_file.h"
#include "base/status.h"
#include "ir/tensor.h"

namespace kiln::onnx {

struct GraphProto;

struct TensorProto {
  std::string name;
  std::vector<int64_t> dims;
  int32_t data_type = 0;  // TensorProto.DataType code
  bool has_raw_data = false;
  std::span<const uint8_t> raw_data;  // view into the file
  // Typed fields (used when raw_data is absent). Packed and unpacked both accepted.
  std::vector<float> float_data;
  std::vector<int32_t> int32_data;  // also int8/uint8/int16/bool/fp16 bits/bf16 bits/fp8 bits
  std::vector<int64_t> int64_data;
  std::vector<double> double_data;
  std::vector<uint64_t> uint64_data;
  std::vector<std::string> string_data;
  int32_t data_location = 0;  // 0 default, 1 external
  std::vector<std::pair<std::string, std::string>> external_data;  // key/value: location, offset, length, checksum
  bool has_segment = false;  // segmented tensors are refused
};

struct Dimension {
  bool has_value = false;
  int64_t value = 0;
  std::string param;  // symbolic name ("batch"), may be empty
};

struct TypeProto {
  enum class Kind { kNone, kTensor, kSequence, kMap, kOptional, kSparseTensor, kOther };
  Kind kind = Kind::kNone;
  int32_t elem_type = 0;
  bool has_shape = false;
  std::vector<Dimension> dims;
};

struct ValueInfoProto {
  std::string name;
  bool has_type = false;
  TypeProto type;
};

struct AttributeProto {
  // AttributeProto.AttributeType codes.
  enum Type : int32_t {
    kUndefined = 0, kFloat = 1, kInt = 2, kString = 3, kTensor = 4, kGraph = 5,
    kFloats = 6, kInts = 7, kStrings = 8, kTensors = 9, kGraphs = 10,
    kSparseTensor = 11, kSparseTensors = 12, kTypeProto = 13, kTypeProtos = 14,
  };
  std::string name;
  std::string ref_attr_name;  // inside functions: refers to a function attribute
  int32_t type = kUndefined;
  float f = 0;
  int64_t i = 0;
  std::string s;  // bytes
  bool has_t = false;
  TensorProto t;
  std::shared_ptr<GraphProto> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<TensorProto> tensors;
  std::vector<std::shared_ptr<GraphProto>> graphs;
};

struct NodeProto {
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::string name;
  std::string op_type;
  std::string domain;
  std::string overload;
  std::vector<AttributeProto> attributes;
};

struct GraphProto {
  std::string name;
  std::vector<NodeProto> nodes;
  std::vector<TensorProto> initializers;
  int64_t sparse_initializer_count = 0;  // refused by the importer
  std::vector<ValueInfoProto> inputs;
  std::vector<ValueInfoProto> outputs;
  std::vector<ValueInfoProto> value_info;
};

struct OperatorSetId {
  std::string domain;
  int64_t version = 0;
};

struct FunctionProto {
  std::string name;
  std::string domain;
  std::string overload;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<std::string> attributes;             // attribute names without defaults
  std::vector<AttributeProto> attribute_defaults;  // attribute_proto: names with defaults
  std::vector<NodeProto> nodes;
  std::vector<OperatorSetId> opset_imports;
};

struct ModelProto {
  int64_t ir_version = 0;
  std::vector<OperatorSetId> opset_imports;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  bool has_graph = false;
  GraphProto graph;
  std::vector<FunctionProto> functions;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  std::shared_ptr<MappedFile> file;  // keeps raw_data views alive
};

// Parses a model from a mapped file. Every length and offset is checked
// against the buffer; nesting of graphs beyond limits.max_nesting_depth is
// refused. Errors name the file and the field being read.
Expected<ModelProto> parse_model(std::shared_ptr<MappedFile> file, const Limits& limits = {});
// Reads and parses a model file.
Expected<ModelProto> load_model(const std::string& path, const Limits& limits = {});
// Parses a serialized TensorProto (the node tests' input_0.pb files).
Expected<TensorProto> parse_tensor(std::span<const uint8_t> bytes, const std::string& what);

// Converts a TensorProto to a Kiln tensor. raw_data becomes a view (no copy)
// kept alive by `owner`. External data is read from files under `model_dir`
// only: absolute paths, ".." and symlinks leaving the directory are refused.
Expected<Tensor> tensor_from_proto(const TensorProto& proto, const std::string& model_dir,
                                   std::shared_ptr<const void> owner, const Limits& limits = {});

}  // namespace kiln::onnx
