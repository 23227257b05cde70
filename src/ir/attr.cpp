#include "ir/attr.h"

namespace kiln {

const char* attr_kind_name(AttrKind k) {
  switch (k) {
    case AttrKind::kFloat: return "float";
    case AttrKind::kInt: return "int";
    case AttrKind::kString: return "string";
    case AttrKind::kTensor: return "tensor";
    case AttrKind::kGraph: return "graph";
    case AttrKind::kFloats: return "floats";
    case AttrKind::kInts: return "ints";
    case AttrKind::kStrings: return "strings";
    case AttrKind::kTensors: return "tensors";
    case AttrKind::kGraphs: return "graphs";
  }
  return "?";
}

Attr Attr::of_int(int64_t v) {
  Attr a;
  a.kind = AttrKind::kInt;
  a.i = v;
  return a;
}
Attr Attr::of_float(float v) {
  Attr a;
  a.kind = AttrKind::kFloat;
  a.f = v;
  return a;
}
Attr Attr::of_string(std::string v) {
  Attr a;
  a.kind = AttrKind::kString;
  a.s = std::move(v);
  return a;
}
Attr Attr::of_ints(std::vector<int64_t> v) {
  Attr a;
  a.kind = AttrKind::kInts;
  a.ints = std::move(v);
  return a;
}
Attr Attr::of_floats(std::vector<float> v) {
  Attr a;
  a.kind = AttrKind::kFloats;
  a.floats = std::move(v);
  return a;
}
Attr Attr::of_tensor(Tensor v) {
  Attr a;
  a.kind = AttrKind::kTensor;
  a.t = std::move(v);
  return a;
}

namespace {
template <typename T>
std::string list_string(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ",";
    if (i == 16) return out + "...]";
    out += str(v[i]);
  }
  return out + "]";
}
}  // namespace

std::string Attr::to_string() const {
  switch (kind) {
    case AttrKind::kFloat: return str(f);
    case AttrKind::kInt: return str(i);
    case AttrKind::kString: return "\"" + s + "\"";
    case AttrKind::kTensor: return t.to_string(4);
    case AttrKind::kGraph: return "<graph>";
    case AttrKind::kFloats: return list_string(floats);
    case AttrKind::kInts: return list_string(ints);
    case AttrKind::kStrings: return list_string(strings);
    case AttrKind::kTensors: return str("<", tensors.size(), " tensors>");
    case AttrKind::kGraphs: return str("<", graphs.size(), " graphs>");
  }
  return "?";
}

}  // namespace kiln
