// Typed node attributes (ONNX AttributeProto without the protobuf).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/tensor.h"

namespace kiln {

class Graph;

enum class AttrKind { kFloat, kInt, kString, kTensor, kGraph, kFloats, kInts, kStrings, kTensors, kGraphs };
const char* attr_kind_name(AttrKind k);

struct Attr {
  AttrKind kind = AttrKind::kInt;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;

  static Attr of_int(int64_t v);
  static Attr of_float(float v);
  static Attr of_string(std::string v);
  static Attr of_ints(std::vector<int64_t> v);
  static Attr of_floats(std::vector<float> v);
  static Attr of_tensor(Tensor v);
  std::string to_string() const;  // short text for dumps
};

}  // namespace kiln
