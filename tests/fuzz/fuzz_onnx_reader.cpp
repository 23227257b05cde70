// libFuzzer target for the ONNX reader: any bytes are parsed as a model, and
// every tensor that parsed (initializers and tensor attributes, at any
// subgraph depth) is converted. Errors are fine; crashes, sanitizer reports,
// leaks and timeouts are not. Seeds: tests/fuzz/corpus/onnx_reader/.
#include <cstddef>
#include <cstdint>

#include "onnx/onnx_model.h"

namespace {

using namespace kiln;
using namespace kiln::onnx;

void convert_graph(const GraphProto& g, const std::shared_ptr<MappedFile>& file, const Limits& limits);

void convert_attributes(const std::vector<NodeProto>& nodes, const std::shared_ptr<MappedFile>& file,
                        const Limits& limits) {
  for (const NodeProto& n : nodes) {
    for (const AttributeProto& a : n.attributes) {
      if (a.has_t) (void)tensor_from_proto(a.t, "", file, limits);
      for (const TensorProto& t : a.tensors) (void)tensor_from_proto(t, "", file, limits);
      if (a.g) convert_graph(*a.g, file, limits);
      for (const auto& g : a.graphs) convert_graph(*g, file, limits);
    }
  }
}

void convert_graph(const GraphProto& g, const std::shared_ptr<MappedFile>& file, const Limits& limits) {
  for (const TensorProto& t : g.initializers) {
    auto tensor = tensor_from_proto(t, "", file, limits);
    // Read the last element: a view running past the buffer shows up under ASan.
    if (tensor.ok() && tensor->numel() > 0) (void)tensor->get_f64(tensor->numel() - 1);
  }
  convert_attributes(g.nodes, file, limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Limits limits;
  // Small limits keep one input from allocating gigabytes (the fuzzer's
  // rss limit would report it as a crash).
  limits.max_tensor_bytes = int64_t{1} << 24;
  limits.max_nodes = 1 << 14;
  auto file = MappedFile::from_bytes({data, size}, "fuzz.onnx");
  auto model = parse_model(file, limits);
  if (!model.ok()) return 0;
  convert_graph(model->graph, file, limits);
  for (const FunctionProto& f : model->functions) convert_attributes(f.nodes, file, limits);
  return 0;
}
