// Importer behaviour on models built as ModelProto structs (no file needed):
// unsupported ops reported together, function inlining, shape-arithmetic
// folding, and structural errors naming the node or value.
#include <gtest/gtest.h>

#include "backends/cpu/interpreter.h"
#include "ir/printer.h"
#include "onnx/importer.h"

namespace kiln {
namespace {

using onnx::AttributeProto;
using onnx::ModelProto;
using onnx::NodeProto;
using onnx::ValueInfoProto;

NodeProto node(std::string op, std::vector<std::string> in, std::vector<std::string> out, std::string name = "",
               std::string domain = "") {
  NodeProto n;
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.name = std::move(name);
  n.domain = std::move(domain);
  return n;
}

ValueInfoProto tensor_info(std::string name, std::vector<int64_t> dims, int32_t elem = 1) {
  ValueInfoProto vi;
  vi.name = std::move(name);
  vi.has_type = true;
  vi.type.kind = onnx::TypeProto::Kind::kTensor;
  vi.type.elem_type = elem;
  vi.type.has_shape = true;
  for (int64_t d : dims) {
    onnx::Dimension dim;
    if (d >= 0) {
      dim.has_value = true;
      dim.value = d;
    } else {
      dim.param = "batch";
    }
    vi.type.dims.push_back(dim);
  }
  return vi;
}

onnx::TensorProto int64_initializer(std::string name, std::vector<int64_t> values, std::vector<int64_t> dims) {
  onnx::TensorProto t;
  t.name = std::move(name);
  t.data_type = 7;
  t.dims = std::move(dims);
  t.int64_data = std::move(values);
  return t;
}

ModelProto model_with(std::vector<NodeProto> nodes, std::vector<ValueInfoProto> inputs,
                      std::vector<ValueInfoProto> outputs, int64_t opset = 17) {
  ModelProto m;
  m.ir_version = 8;
  m.opset_imports.push_back({"", opset});
  m.has_graph = true;
  m.graph.name = "test";
  m.graph.nodes = std::move(nodes);
  m.graph.inputs = std::move(inputs);
  m.graph.outputs = std::move(outputs);
  return m;
}

TEST(Importer, ReportsEveryUnsupportedNodeAtOnce) {
  ModelProto m = model_with({node("FancyOp", {"x"}, {"a"}, "first"), node("Relu", {"a"}, {"b"}, "ok"),
                             node("Widget", {"b"}, {"y"}, "second", "com.example")},
                            {tensor_info("x", {2})}, {tensor_info("y", {2})});
  m.opset_imports.push_back({"com.example", 3});
  auto r = import_onnx_model(m, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("2 nodes are not supported"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'first': ai.onnx.FancyOp (opset 17)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'second': com.example.Widget (opset 3)"), std::string::npos) << msg;
  auto list = list_unsupported_nodes(m);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
}

TEST(Importer, RefusesUndefinedInputsAndDuplicateOutputs) {
  ModelProto undefined = model_with({node("Relu", {"nowhere"}, {"y"}, "r")}, {tensor_info("x", {2})},
                                    {tensor_info("y", {2})});
  auto a = import_onnx_model(undefined, "");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("'nowhere'"), std::string::npos) << a.status().message();

  ModelProto dup = model_with({node("Relu", {"x"}, {"y"}, "r1"), node("Relu", {"x"}, {"y"}, "r2")},
                              {tensor_info("x", {2})}, {tensor_info("y", {2})});
  auto b = import_onnx_model(dup, "");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("r2"), std::string::npos) << b.status().message();
}

TEST(Importer, RefusesCycles) {
  ModelProto m = model_with({node("Relu", {"b"}, {"a"}, "r1"), node("Relu", {"a"}, {"b"}, "r2")},
                            {tensor_info("x", {2})}, {tensor_info("b", {2})});
  auto r = import_onnx_model(m, "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cycle"), std::string::npos) << r.status().message();
}

TEST(Importer, SortsNodesGivenOutOfOrder) {
  ModelProto m = model_with({node("Neg", {"a"}, {"y"}, "second"), node("Relu", {"x"}, {"a"}, "first")},
                            {tensor_info("x", {3})}, {tensor_info("y", {3})});
  auto r = import_onnx_model(m, "");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->graph->nodes().size(), 2u);
  EXPECT_EQ(r->graph->nodes()[0]->name, "first");
}

TEST(Importer, InlinesLocalFunctionsWithAttributeReferences) {
  // local.Scaled(X) = LeakyRelu(X, alpha=@a) + X, called twice.
  onnx::FunctionProto f;
  f.name = "Scaled";
  f.domain = "local";
  f.inputs = {"X"};
  f.outputs = {"Y"};
  f.attributes = {"a"};
  f.opset_imports.push_back({"", 17});
  NodeProto leaky = node("LeakyRelu", {"X"}, {"T"}, "leaky");
  AttributeProto ref;
  ref.name = "alpha";
  ref.ref_attr_name = "a";
  ref.type = AttributeProto::kFloat;
  leaky.attributes.push_back(ref);
  f.nodes = {leaky, node("Add", {"T", "X"}, {"Y"}, "add")};

  NodeProto call1 = node("Scaled", {"x"}, {"h"}, "call1", "local");
  NodeProto call2 = node("Scaled", {"h"}, {"y"}, "call2", "local");
  AttributeProto a;
  a.name = "a";
  a.type = AttributeProto::kFloat;
  a.f = 0.5f;
  call1.attributes.push_back(a);
  a.f = 0.25f;
  call2.attributes.push_back(a);
  ModelProto m = model_with({call1, call2}, {tensor_info("x", {4})}, {tensor_info("y", {4})});
  m.opset_imports.push_back({"local", 1});
  m.functions.push_back(f);

  auto r = import_onnx_model(m, "");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->graph->nodes().size(), 4u) << print_graph(*r->graph);
  EXPECT_FLOAT_EQ(r->graph->nodes()[0]->attrs.at("alpha").f, 0.5f);
  EXPECT_FLOAT_EQ(r->graph->nodes()[2]->attrs.at("alpha").f, 0.25f);

  std::map<std::string, Tensor> feeds;
  feeds["x"] = Tensor::from_f32({-4, -1, 0, 2}, {4});
  auto out = run_graph_cpu(*r->graph, feeds);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  // call1: x + leaky(x, .5) = {-6, -1.5, 0, 4}; call2: h + leaky(h, .25) = {-7.5, -1.875, 0, 8}
  std::vector<double> want = {-7.5, -1.875, 0, 8};
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ((*out)[0].get_f64(i), want[static_cast<size_t>(i)]);
}

TEST(Importer, RefusesRecursiveFunctions) {
  onnx::FunctionProto f;
  f.name = "Loop";
  f.domain = "local";
  f.inputs = {"X"};
  f.outputs = {"Y"};
  f.nodes = {node("Loop", {"X"}, {"Y"}, "again", "local")};
  ModelProto m = model_with({node("Loop", {"x"}, {"y"}, "call", "local")}, {tensor_info("x", {1})},
                            {tensor_info("y", {1})});
  m.opset_imports.push_back({"local", 1});
  m.functions.push_back(f);
  auto r = import_onnx_model(m, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kResourceExhausted) << r.status().to_string();
}

TEST(Importer, FoldsShapeArithmeticToConstants) {
  // y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): the chain an
  // exporter writes for "flatten all but the batch dim".
  ModelProto m = model_with({node("Shape", {"x"}, {"s"}, "shape"), node("Gather", {"s", "zero"}, {"b"}, "gather"),
                             node("Unsqueeze", {"b", "axes0"}, {"b1"}, "unsq"),
                             node("Concat", {"b1", "minus1"}, {"target"}, "concat"),
                             node("Reshape", {"x", "target"}, {"y"}, "reshape")},
                            {tensor_info("x", {2, 3, 4})}, {tensor_info("y", {2, 12})});
  AttributeProto axis;
  axis.name = "axis";
  axis.type = AttributeProto::kInt;
  axis.i = 0;
  m.graph.nodes[3].attributes.push_back(axis);
  m.graph.initializers = {int64_initializer("zero", {0}, {}), int64_initializer("axes0", {0}, {1}),
                          int64_initializer("minus1", {-1}, {1})};
  auto r = import_onnx_model(m, "");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->graph->nodes().size(), 1u) << print_graph(*r->graph);
  const Node& reshape = *r->graph->nodes()[0];
  EXPECT_EQ(reshape.op, "Reshape");
  ASSERT_TRUE(reshape.inputs[1]->constant);
  EXPECT_EQ(reshape.inputs[1]->constant->to_i64_vector(), (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(r->graph->outputs[0]->shape.to_string(), "[2,12]");
}

TEST(Importer, InputShapesOverrideSymbolicDims) {
  ModelProto m = model_with({node("Relu", {"x"}, {"y"}, "r")}, {tensor_info("x", {-1, 8})},
                            {tensor_info("y", {-1, 8})});
  auto sym = import_onnx_model(m, "");
  ASSERT_TRUE(sym.ok()) << sym.status().to_string();
  EXPECT_EQ(sym->graph->outputs[0]->shape.to_string(), "[batch,8]");
  ImportOptions opts;
  opts.input_shapes["x"] = {5, 8};
  auto fixed = import_onnx_model(m, "", opts);
  ASSERT_TRUE(fixed.ok()) << fixed.status().to_string();
  EXPECT_EQ(fixed->graph->outputs[0]->shape.to_string(), "[5,8]");
  opts.input_shapes["x"] = {5, 9};
  EXPECT_FALSE(import_onnx_model(m, "", opts).ok());
  opts.input_shapes.clear();
  opts.input_shapes["nope"] = {1};
  EXPECT_FALSE(import_onnx_model(m, "", opts).ok());
}

// A shape input fixed at import becomes a constant: the Reshape's output
// shape resolves and the input leaves the graph. A value of another type or
// shape, or for no input, is an error naming the input.
TEST(Importer, InputValuesFixShapeInputs) {
  ModelProto m = model_with({node("Reshape", {"x", "shape"}, {"y"}, "reshape")},
                            {tensor_info("x", {2, 6}), tensor_info("shape", {2}, 7)}, {tensor_info("y", {-1, -1})});
  auto dynamic = import_onnx_model(m, "");
  ASSERT_TRUE(dynamic.ok()) << dynamic.status().to_string();
  EXPECT_FALSE(dynamic->graph->outputs[0]->shape.is_static());
  ImportOptions opts;
  Tensor shape = Tensor::alloc(DType::kInt64, {2}).value();
  shape.set_i64(0, 3);
  shape.set_i64(1, 4);
  opts.input_values["shape"] = shape;
  auto fixed = import_onnx_model(m, "", opts);
  ASSERT_TRUE(fixed.ok()) << fixed.status().to_string();
  EXPECT_EQ(fixed->graph->outputs[0]->shape.to_string(), "[3,4]");
  ASSERT_EQ(fixed->graph->inputs.size(), 1u);
  EXPECT_EQ(fixed->graph->inputs[0]->name, "x");

  opts.input_values["shape"] = Tensor::alloc(DType::kInt32, {2}).value();
  auto wrong_type = import_onnx_model(m, "", opts);
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("'shape'"), std::string::npos) << wrong_type.status().to_string();
  opts.input_values["shape"] = Tensor::alloc(DType::kInt64, {3}).value();
  EXPECT_FALSE(import_onnx_model(m, "", opts).ok());
  opts.input_values.clear();
  opts.input_values["nope"] = shape;
  auto unknown = import_onnx_model(m, "", opts);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'nope'"), std::string::npos) << unknown.status().to_string();
}

}  // namespace
}  // namespace kiln
