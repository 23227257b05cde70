// The ONNX protobuf reader on hand-built bytes: every wire type, packed and
// unpacked repeated scalars, unknown fields, groups, hostile lengths and
// varints, truncation at every offset, bit flips, nesting bombs, and error
// messages that name the file, the field path and the offset.
#include <gtest/gtest.h>

#include <cmath>

#include "onnx/onnx_model.h"
#include "onnx/proto_wire.h"
#include "proto_writer.h"

namespace kiln::onnx {
namespace {

using testing::i64;
using testing::Pb;

Expected<ModelProto> parse(const Pb& p, const Limits& limits = {}) {
  return parse_model(MappedFile::from_bytes(p.data(), "model.onnx"), limits);
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

#define EXPECT_ERROR_HAS(expr, part)                                            \
  do {                                                                          \
    auto r_ = (expr);                                                           \
    ASSERT_FALSE(r_.ok()) << "expected an error containing: " << (part);        \
    EXPECT_TRUE(contains(r_.status().message(), part)) << r_.status().message(); \
  } while (0)

// ---- building blocks -----------------------------------------------------

Pb tensor_type(int elem, const std::vector<std::string>& dims) {
  Pb shape;
  for (const auto& d : dims) {
    Pb dim;
    if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0])))
      dim.varint(1, std::stoull(d));
    else
      dim.string(2, d);
    shape.msg(1, dim);
  }
  Pb tt;
  tt.varint(1, static_cast<uint64_t>(elem)).msg(2, shape);
  Pb type;
  type.msg(1, tt);
  return type;
}

Pb value_info(const std::string& name, int elem, const std::vector<std::string>& dims) {
  Pb vi;
  vi.string(1, name).msg(2, tensor_type(elem, dims));
  return vi;
}

Pb float_raw_tensor(const std::string& name, const std::vector<float>& values) {
  Pb t;
  t.packed_varints(1, {values.size()}).varint(2, 1).string(8, name);
  t.bytes(9, {reinterpret_cast<const uint8_t*>(values.data()), values.size() * 4});
  return t;
}

Pb opset(const std::string& domain, int64_t version) {
  Pb o;
  o.string(1, domain).varint(2, i64(version));
  return o;
}

// A small model with one node, one attribute of each common kind, an
// initializer and typed inputs. `boundaries` receives the offsets at which
// the top-level fields end (a prefix ending there is itself a valid model).
Pb small_model(std::vector<size_t>* boundaries = nullptr) {
  Pb axes;
  axes.string(1, "axes").varint(20, AttributeProto::kInts).packed_varints(8, {0, 1, i64(-1)});
  Pb alpha;
  alpha.string(1, "alpha").varint(20, AttributeProto::kFloat).f32(2, 0.5f);
  Pb mode;
  mode.string(1, "mode").varint(20, AttributeProto::kString).string(4, "constant");
  Pb node;
  node.string(1, "x").string(1, "w").string(2, "y").string(3, "n0").string(4, "Add").msg(5, axes).msg(5, alpha).msg(5, mode);
  Pb graph;
  graph.msg(1, node).string(2, "g").msg(5, float_raw_tensor("w", {1, 2, 3, 4}));
  graph.msg(11, value_info("x", 1, {"batch", "4"})).msg(12, value_info("y", 1, {"batch", "4"}));
  Pb model;
  auto mark = [&] {
    if (boundaries) boundaries->push_back(model.size());
  };
  model.varint(1, 8), mark();
  model.string(2, "kiln-test"), mark();
  model.msg(7, graph), mark();
  model.msg(8, opset("", 17)), mark();
  return model;
}

// ---- the wire decoder ----------------------------------------------------

TEST(ProtoWire, VarintLimits) {
  auto decode = [](std::vector<uint8_t> b, uint64_t& v) {
    size_t pos = 0;
    return wire::read_varint(b, pos, v);
  };
  uint64_t v = 0;
  EXPECT_EQ(decode({0x00}, v), nullptr);
  EXPECT_EQ(v, 0u);
  EXPECT_EQ(decode({0xac, 0x02}, v), nullptr);
  EXPECT_EQ(v, 300u);
  EXPECT_EQ(decode({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, v), nullptr);
  EXPECT_EQ(v, UINT64_MAX);
  // Overlong but in range: ten bytes with a zero top byte is still valid.
  EXPECT_EQ(decode({0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, v), nullptr);
  EXPECT_EQ(v, 1u);
  EXPECT_STREQ(decode({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, v), "varint overflows 64 bits");
  EXPECT_STREQ(decode({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, v), "varint overflows 64 bits");
  EXPECT_STREQ(decode({0x80, 0x80}, v), "truncated varint");
  EXPECT_STREQ(decode({}, v), "truncated varint");
}

TEST(ProtoReader, ParsesSmallModel) {
  auto m = parse(small_model());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->ir_version, 8);
  EXPECT_EQ(m->producer_name, "kiln-test");
  ASSERT_EQ(m->opset_imports.size(), 1u);
  EXPECT_EQ(m->opset_imports[0].version, 17);
  ASSERT_TRUE(m->has_graph);
  const GraphProto& g = m->graph;
  EXPECT_EQ(g.name, "g");
  ASSERT_EQ(g.nodes.size(), 1u);
  const NodeProto& n = g.nodes[0];
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"x", "w"}));
  EXPECT_EQ(n.outputs, (std::vector<std::string>{"y"}));
  EXPECT_EQ(n.op_type, "Add");
  ASSERT_EQ(n.attributes.size(), 3u);
  EXPECT_EQ(n.attributes[0].ints, (std::vector<int64_t>{0, 1, -1}));
  EXPECT_EQ(n.attributes[1].f, 0.5f);
  EXPECT_EQ(n.attributes[2].s, "constant");
  ASSERT_EQ(g.initializers.size(), 1u);
  EXPECT_EQ(g.initializers[0].dims, (std::vector<int64_t>{4}));
  EXPECT_EQ(g.initializers[0].raw_data.size(), 16u);
  // raw_data points into the file the model keeps alive.
  auto file = m->file->bytes();
  EXPECT_GE(g.initializers[0].raw_data.data(), file.data());
  EXPECT_LE(g.initializers[0].raw_data.data() + 16, file.data() + file.size());
  ASSERT_EQ(g.inputs.size(), 1u);
  const TypeProto& t = g.inputs[0].type;
  EXPECT_EQ(t.kind, TypeProto::Kind::kTensor);
  EXPECT_EQ(t.elem_type, 1);
  ASSERT_EQ(t.dims.size(), 2u);
  EXPECT_FALSE(t.dims[0].has_value);
  EXPECT_EQ(t.dims[0].param, "batch");
  EXPECT_TRUE(t.dims[1].has_value);
  EXPECT_EQ(t.dims[1].value, 4);
}

TEST(ProtoReader, PackedAndUnpackedRepeatedScalars) {
  Pb attr;
  attr.string(1, "v").varint(8, 5).packed_varints(8, {6, i64(-7)}).varint(8, 8);  // mixed: all appended
  attr.f32(7, 1.5f).packed_f32(7, {2.5f, 3.5f});
  Pb tensor;
  tensor.varint(1, 2).varint(1, 3).packed_varints(1, {4});
  tensor.varint(5, 1).packed_varints(5, {2, 3});
  tensor.f64(10, 0.25).packed_f64(10, {0.5});
  tensor.varint(11, UINT64_MAX).packed_varints(11, {1});
  tensor.packed_varints(7, {i64(INT64_MIN), i64(INT64_MAX)}).varint(7, 9);
  tensor.f32(4, -1.0f).packed_f32(4, {});
  Pb node;
  node.string(4, "Foo").msg(5, attr);
  Pb graph;
  graph.msg(1, node).msg(5, tensor);
  Pb model;
  model.msg(7, graph);
  auto m = parse(model);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const AttributeProto& a = m->graph.nodes[0].attributes[0];
  EXPECT_EQ(a.ints, (std::vector<int64_t>{5, 6, -7, 8}));
  EXPECT_EQ(a.floats, (std::vector<float>{1.5f, 2.5f, 3.5f}));
  const TensorProto& t = m->graph.initializers[0];
  EXPECT_EQ(t.dims, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(t.int32_data, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(t.double_data, (std::vector<double>{0.25, 0.5}));
  EXPECT_EQ(t.uint64_data, (std::vector<uint64_t>{UINT64_MAX, 1}));
  EXPECT_EQ(t.int64_data, (std::vector<int64_t>{INT64_MIN, INT64_MAX, 9}));
  EXPECT_EQ(t.float_data, (std::vector<float>{-1.0f}));
}

TEST(ProtoReader, NegativeInt32IsTenByteVarint) {
  // protobuf sign-extends negative int32 values to 64 bits on the wire.
  Pb tensor;
  tensor.varint(5, i64(-3)).packed_varints(5, {i64(-128)});
  auto t = parse_tensor(tensor.data(), "t.pb");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->int32_data, (std::vector<int32_t>{-3, -128}));
}

// Unknown fields of every wire type, including nested groups, at every level.
Pb unknowns() {
  Pb inner_group;
  inner_group.varint(1, 1).string(2, "in a group").fixed32(3, 7);
  Pb group;
  group.varint(5, 300).group(6, inner_group).fixed64(7, 1);
  Pb u;
  u.varint(900, 12345).fixed64(901, 0x1122334455667788ull).string(902, "unknown bytes").group(903, group);
  u.fixed32(904, 0xdeadbeef).group(905, Pb());
  return u;
}

TEST(ProtoReader, SkipsUnknownFieldsOfEveryWireType) {
  const Pb u = unknowns();
  auto with_unknowns = [&](Pb p) {
    p.append(u.data().data(), u.size());
    return p;
  };
  Pb attr;
  attr.string(1, "k").varint(20, AttributeProto::kInt).varint(3, 42);
  Pb node;
  node.string(4, "Relu").msg(5, with_unknowns(attr));
  Pb tensor = float_raw_tensor("w", {1, 2});
  Pb graph;
  graph.msg(1, with_unknowns(node)).msg(5, with_unknowns(tensor)).msg(11, with_unknowns(value_info("x", 1, {"2"})));
  Pb model;
  model.append(u.data().data(), u.size());
  model.varint(1, 9).msg(7, with_unknowns(graph)).msg(8, with_unknowns(opset("", 13)));
  // Known-but-skipped fields too: doc strings, training_info, metadata.
  model.string(6, "doc").msg(20, Pb().string(1, "ignored")).msg(14, Pb().string(1, "k").string(2, "v"));
  auto m = parse(model);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->ir_version, 9);
  EXPECT_EQ(m->graph.nodes.at(0).attributes.at(0).i, 42);
  EXPECT_EQ(m->graph.initializers.at(0).raw_data.size(), 8u);
  EXPECT_EQ(m->graph.inputs.at(0).type.dims.at(0).value, 2);
  EXPECT_EQ(m->opset_imports.at(0).version, 13);
  ASSERT_EQ(m->metadata_props.size(), 1u);
  EXPECT_EQ(m->metadata_props[0], (std::pair<std::string, std::string>{"k", "v"}));
}

TEST(ProtoReader, RefusesBrokenGroups) {
  EXPECT_ERROR_HAS(parse(Pb().varint(1, 1).tag(50, 4)), "end-group without a matching start-group");
  EXPECT_ERROR_HAS(parse(Pb().tag(50, 3).varint(1, 1)), "group has no end-group tag");
  EXPECT_ERROR_HAS(parse(Pb().tag(50, 3).tag(51, 4)), "end-group tag for field 51 closes group 50");
  Pb deep;
  for (int i = 0; i < 40; ++i) deep.tag(50, 3);
  for (int i = 0; i < 40; ++i) deep.tag(50, 4);
  EXPECT_ERROR_HAS(parse(deep), "groups nested deeper than 32");
  Pb ok;
  for (int i = 0; i < 30; ++i) ok.tag(50, 3);
  for (int i = 0; i < 30; ++i) ok.tag(50, 4);
  EXPECT_TRUE(parse(ok.varint(1, 3)).ok());
  // A known field sent as a group is a wire-type error, not silently skipped.
  EXPECT_ERROR_HAS(parse(Pb().group(7, Pb())), "graph: expected wire type length-delimited, found start-group");
}

TEST(ProtoReader, RefusesBadTagsAndWireTypes) {
  EXPECT_ERROR_HAS(parse(Pb().raw({0x0e, 0x00})), "invalid wire type 6");
  EXPECT_ERROR_HAS(parse(Pb().raw({0x0f, 0x00})), "invalid wire type 7");
  EXPECT_ERROR_HAS(parse(Pb().raw({0x00, 0x00})), "field number 0");
  EXPECT_ERROR_HAS(parse(Pb().raw_varint(uint64_t{1} << 35)), "field tag overflows 32 bits");
  EXPECT_ERROR_HAS(parse(Pb().string(1, "x")), "ir_version: expected wire type varint, found length-delimited");
  EXPECT_ERROR_HAS(parse(Pb().varint(2, 1)), "producer_name: expected wire type length-delimited, found varint");
  Pb attr;
  attr.varint(2, 1);  // f must be fixed32
  Pb node;
  node.msg(5, attr);
  Pb graph;
  graph.msg(1, node);
  EXPECT_ERROR_HAS(parse(Pb().msg(7, graph)), "graph.node[0].attribute[0].f: expected wire type fixed32, found varint");
  EXPECT_ERROR_HAS(parse(Pb().msg(7, Pb().msg(5, Pb().fixed64(4, 0)))),
                   "graph.initializer[0].float_data: expected wire type fixed32 or packed, found fixed64");
  EXPECT_ERROR_HAS(parse(Pb().msg(7, Pb().msg(5, Pb().bytes(4, std::vector<uint8_t>(6))))),
                   "float_data: packed length 6 is not a multiple of 4");
}

TEST(ProtoReader, ErrorNamesFileFieldPathAndOffset) {
  auto r = parse(Pb().raw({0x08, 0x80}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "model.onnx: ir_version: truncated varint at offset 0");

  // graph.node[1].attribute[3].ints with a packed run whose last varint is cut.
  Pb attr;
  attr.string(1, "bad");
  attr.tag(8, 2).raw_varint(3).raw({0x01, 0x02, 0x83});
  Pb node0, node1;
  node0.string(4, "A");
  node1.string(4, "B");
  for (int i = 0; i < 3; ++i) node1.msg(5, Pb().string(1, "ok").varint(3, 1));
  node1.msg(5, attr);
  Pb graph;
  graph.msg(1, node0).msg(1, node1);
  Pb model;
  model.varint(1, 8).msg(7, graph);
  r = parse(model);
  ASSERT_FALSE(r.ok());
  const std::string& msg = r.status().message();
  size_t bad = model.size() - 1;  // the truncated element is the last byte
  EXPECT_EQ(msg, "model.onnx: graph.node[1].attribute[3].ints: truncated varint in packed element 2 at offset " +
                     std::to_string(bad));
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
}

TEST(ProtoReader, RefusesHugeDeclaredLengths) {
  for (uint64_t len : {uint64_t{6}, uint64_t{1} << 31, uint64_t{1} << 32, uint64_t{1} << 62, UINT64_MAX}) {
    Pb p;
    p.varint(1, 8).tag(7, 2).raw_varint(len).raw({1, 2, 3, 4, 5});
    EXPECT_ERROR_HAS(parse(p), "graph: length " + std::to_string(len) + " exceeds the 5 bytes left");
  }
  // Nested: the inner length is checked against the inner message, not the file.
  Pb inner;
  inner.tag(1, 2).raw_varint(100);
  Pb p;
  p.msg(7, inner).string(2, std::string(200, 'x'));
  EXPECT_ERROR_HAS(parse(p), "graph.node: length 100 exceeds the 0 bytes left");
  // A packed run that declares more than it has.
  Pb t;
  t.tag(1, 2).raw_varint(1000).raw({1, 2});
  EXPECT_ERROR_HAS(parse_tensor(t.data(), "t.pb"), "t.pb: dims: length 1000 exceeds the 2 bytes left at offset 0");
}

TEST(ProtoReader, RefusesVarintOverflow) {
  Pb p;
  p.tag(1, 0).raw({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
  EXPECT_ERROR_HAS(parse(p), "ir_version: varint overflows 64 bits");
  Pb len;
  len.tag(7, 2).raw({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f});
  EXPECT_ERROR_HAS(parse(len), "graph: varint overflows 64 bits (length)");
  Pb packed;
  packed.tag(1, 2).raw_varint(11).raw({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
  EXPECT_ERROR_HAS(parse_tensor(packed.data(), "t.pb"), "dims: varint overflows 64 bits in packed element 0");
}

TEST(ProtoReader, TruncationAtEveryOffsetIsAnError) {
  std::vector<size_t> boundaries;
  Pb model = small_model(&boundaries);
  const auto& bytes = model.data();
  ASSERT_TRUE(parse(model).ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = parse_model(MappedFile::from_bytes({bytes.data(), n}, "model.onnx"));
    bool at_boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    // A prefix that ends between top-level fields is a valid, shorter model.
    EXPECT_EQ(r.ok(), at_boundary) << "prefix of " << n << " bytes: "
                                   << (r.ok() ? std::string("ok") : r.status().message());
    if (!r.ok()) {
      EXPECT_TRUE(contains(r.status().message(), "model.onnx: ")) << r.status().message();
    }
  }
}

TEST(ProtoReader, BitFlipsNeverCrash) {
  Pb model = small_model();
  size_t ok = 0, failed = 0;
  for (size_t i = 0; i < model.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> b = model.data();
      b[i] ^= static_cast<uint8_t>(1u << bit);
      auto file = MappedFile::from_bytes(b, "flipped.onnx");
      auto r = parse_model(file);
      if (!r.ok()) {
        ++failed;
        EXPECT_FALSE(r.status().message().empty());
        continue;
      }
      ++ok;
      // Whatever parsed must also convert (or fail) cleanly.
      for (const TensorProto& t : r->graph.initializers) (void)tensor_from_proto(t, "", file);
      for (const NodeProto& n : r->graph.nodes)
        for (const AttributeProto& a : n.attributes)
          if (a.has_t) (void)tensor_from_proto(a.t, "", file);
    }
  }
  EXPECT_GT(ok, 0u);
  EXPECT_GT(failed, 0u);
}

// graph -> node -> attribute g -> graph ... `levels` subgraphs deep.
Pb nested_graphs(int levels, bool as_graphs_list = false) {
  Pb g;
  g.string(2, "leaf");
  for (int i = 0; i < levels; ++i) {
    Pb attr;
    attr.string(1, "body").varint(20, as_graphs_list ? AttributeProto::kGraphs : AttributeProto::kGraph);
    attr.msg(as_graphs_list ? 11 : 6, g);
    Pb node;
    node.string(4, "If").msg(5, attr);
    g = Pb();
    g.msg(1, node);
  }
  return g;
}

TEST(ProtoReader, RefusesNestingBomb) {
  Limits limits;
  ASSERT_EQ(limits.max_nesting_depth, 16);
  // 16 nested subgraphs under the main graph is the limit; 17 is refused.
  auto ok = parse(Pb().msg(7, nested_graphs(16)));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  const GraphProto* g = &ok->graph;
  for (int i = 0; i < 16; ++i) g = g->nodes.at(0).attributes.at(0).g.get();
  EXPECT_EQ(g->name, "leaf");

  auto r = parse(Pb().msg(7, nested_graphs(17)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_TRUE(contains(r.status().message(), "subgraphs nested deeper than 16")) << r.status().message();
  EXPECT_TRUE(contains(r.status().message(), "model.onnx: graph.node[0].attribute[0].g.node[0]")) << r.status().message();

  EXPECT_ERROR_HAS(parse(Pb().msg(7, nested_graphs(300, true))), "subgraphs nested deeper than 16");
  // A function body counts like a graph: its subgraphs nest from there.
  auto function_with = [](int levels) {
    Pb fnode;
    fnode.string(4, "If").msg(5, Pb().string(1, "body").varint(20, 5).msg(6, nested_graphs(levels)));
    return Pb().msg(25, Pb().string(1, "F").msg(7, fnode));
  };
  EXPECT_TRUE(parse(function_with(15)).ok());
  EXPECT_ERROR_HAS(parse(function_with(16)), "model.onnx: functions[0].node[0].attribute[0].g.node[0]");
  limits.max_nesting_depth = 2;
  EXPECT_TRUE(parse(Pb().msg(7, nested_graphs(2)), limits).ok());
  EXPECT_ERROR_HAS(parse(Pb().msg(7, nested_graphs(3)), limits), "subgraphs nested deeper than 2");
}

TEST(ProtoReader, BoundsMessageCount) {
  Limits limits;
  limits.max_nodes = 2;  // 32 messages
  Pb graph;
  for (int i = 0; i < 40; ++i) graph.msg(1, Pb());
  auto r = parse(Pb().msg(7, graph), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_TRUE(contains(r.status().message(), "graph.node: the model has more than 32 messages")) << r.status().message();
}

TEST(ProtoReader, AttributesOfEveryKind) {
  Pb sub;
  sub.string(2, "then");
  Pb attrs[] = {
      Pb().string(1, "f").varint(20, 1).f32(2, -2.5f),
      Pb().string(1, "i").varint(20, 2).varint(3, i64(-42)),
      Pb().string(1, "s").varint(20, 3).string(4, std::string("a\0b", 3)),
      Pb().string(1, "t").varint(20, 4).msg(5, float_raw_tensor("tv", {7})),
      Pb().string(1, "g").varint(20, 5).msg(6, sub),
      Pb().string(1, "floats").varint(20, 6).packed_f32(7, {1, 2}),
      Pb().string(1, "ints").varint(20, 7).packed_varints(8, {3, 4, 5}),
      Pb().string(1, "strings").varint(20, 8).string(9, "x").string(9, ""),
      Pb().string(1, "tensors").varint(20, 9).msg(10, float_raw_tensor("a", {1})).msg(10, float_raw_tensor("b", {2})),
      Pb().string(1, "graphs").varint(20, 10).msg(11, sub).msg(11, Pb().string(2, "else")),
      Pb().string(1, "sparse").varint(20, 11).msg(22, Pb()),
      Pb().string(1, "tp").varint(20, 13).msg(14, tensor_type(1, {"3"})),
      Pb().string(1, "ref").varint(20, 2).string(21, "outer_attr").string(13, "doc"),
      Pb().string(1, "old_style").f32(2, 3.0f),  // IR v1: no type field
  };
  Pb node;
  node.string(4, "Op").string(7, "com.example").string(8, "v2");
  for (const Pb& a : attrs) node.msg(5, a);
  auto m = parse(Pb().msg(7, Pb().msg(1, node)));
  ASSERT_TRUE(m.ok()) << m.status().message();
  const auto& n = m->graph.nodes[0];
  EXPECT_EQ(n.domain, "com.example");
  EXPECT_EQ(n.overload, "v2");
  const auto& a = n.attributes;
  ASSERT_EQ(a.size(), std::size(attrs));
  EXPECT_EQ(a[0].f, -2.5f);
  EXPECT_EQ(a[1].i, -42);
  EXPECT_EQ(a[2].s, std::string("a\0b", 3));
  EXPECT_TRUE(a[3].has_t);
  EXPECT_EQ(a[3].t.name, "tv");
  ASSERT_TRUE(a[4].g);
  EXPECT_EQ(a[4].g->name, "then");
  EXPECT_EQ(a[5].floats, (std::vector<float>{1, 2}));
  EXPECT_EQ(a[6].ints, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(a[7].strings, (std::vector<std::string>{"x", ""}));
  ASSERT_EQ(a[8].tensors.size(), 2u);
  EXPECT_EQ(a[8].tensors[1].name, "b");
  ASSERT_EQ(a[9].graphs.size(), 2u);
  EXPECT_EQ(a[9].graphs[1]->name, "else");
  EXPECT_EQ(a[10].type, AttributeProto::kSparseTensor);
  EXPECT_EQ(a[11].type, AttributeProto::kTypeProto);
  EXPECT_EQ(a[12].ref_attr_name, "outer_attr");
  EXPECT_EQ(a[13].type, AttributeProto::kFloat);
  EXPECT_EQ(a[13].f, 3.0f);
}

TEST(ProtoReader, TypesOfEveryKind) {
  Pb seq;
  seq.msg(4, Pb().msg(1, tensor_type(1, {"2"})));
  Pb opt;
  opt.msg(9, Pb().msg(1, tensor_type(7, {})));
  Pb map;
  map.msg(5, Pb().varint(1, 8));
  Pb sparse;
  sparse.msg(8, Pb().varint(1, 1).msg(2, Pb().msg(1, Pb().varint(1, 5)))).string(6, "denotation");
  Pb scalar;
  scalar.msg(1, Pb().varint(1, 7).msg(2, Pb()));
  Pb unranked;
  unranked.msg(1, Pb().varint(1, 10));
  Pb anon;  // a dim with neither value nor param
  anon.msg(1, Pb().varint(1, 1).msg(2, Pb().msg(1, Pb()).msg(1, Pb().varint(1, 3).string(2, "n"))));
  Pb graph;
  for (const Pb* t : {&seq, &opt, &map, &sparse, &scalar, &unranked, &anon})
    graph.msg(13, Pb().string(1, "v").msg(2, *t));
  graph.msg(13, Pb().string(1, "untyped"));
  auto m = parse(Pb().msg(7, graph));
  ASSERT_TRUE(m.ok()) << m.status().message();
  const auto& v = m->graph.value_info;
  ASSERT_EQ(v.size(), 8u);
  using K = TypeProto::Kind;
  EXPECT_EQ(v[0].type.kind, K::kSequence);
  EXPECT_EQ(v[1].type.kind, K::kOptional);
  EXPECT_EQ(v[2].type.kind, K::kMap);
  EXPECT_EQ(v[3].type.kind, K::kSparseTensor);
  EXPECT_EQ(v[3].type.dims.at(0).value, 5);
  EXPECT_EQ(v[4].type.kind, K::kTensor);
  EXPECT_TRUE(v[4].type.has_shape);
  EXPECT_TRUE(v[4].type.dims.empty());
  EXPECT_EQ(v[5].type.elem_type, 10);
  EXPECT_FALSE(v[5].type.has_shape);
  ASSERT_EQ(v[6].type.dims.size(), 2u);
  EXPECT_FALSE(v[6].type.dims[0].has_value);
  EXPECT_TRUE(v[6].type.dims[0].param.empty());
  // dim_value then dim_param: a oneof, the later member wins.
  EXPECT_FALSE(v[6].type.dims[1].has_value);
  EXPECT_EQ(v[6].type.dims[1].param, "n");
  EXPECT_FALSE(v[7].has_type);
}

TEST(ProtoReader, FunctionsAndModelFields) {
  Pb fn;
  fn.string(1, "MyFn").string(10, "local").string(13, "ov").string(4, "a").string(4, "b").string(5, "c");
  fn.string(6, "alpha").msg(11, Pb().string(1, "beta").varint(20, 2).varint(3, 7));
  fn.msg(7, Pb().string(4, "Add").string(1, "a").string(1, "b").string(2, "c"));
  fn.msg(9, opset("", 18)).string(8, "doc").msg(12, value_info("c", 1, {}));
  Pb model;
  model.varint(1, 10).string(2, "p").string(3, "1.0").string(4, "org.test").varint(5, 3).string(6, "doc");
  model.msg(8, opset("", 18)).msg(8, opset("local", 1)).msg(25, fn).msg(7, Pb().string(2, "first"));
  model.msg(7, Pb().msg(1, Pb().string(4, "Relu")));  // a second graph field merges into the first
  auto m = parse(model);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->producer_version, "1.0");
  EXPECT_EQ(m->domain, "org.test");
  EXPECT_EQ(m->model_version, 3);
  EXPECT_EQ(m->doc_string, "doc");
  ASSERT_EQ(m->opset_imports.size(), 2u);
  EXPECT_EQ(m->opset_imports[1].domain, "local");
  EXPECT_EQ(m->graph.name, "first");
  EXPECT_EQ(m->graph.nodes.size(), 1u);
  ASSERT_EQ(m->functions.size(), 1u);
  const FunctionProto& f = m->functions[0];
  EXPECT_EQ(f.name, "MyFn");
  EXPECT_EQ(f.domain, "local");
  EXPECT_EQ(f.overload, "ov");
  EXPECT_EQ(f.inputs, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f.outputs, (std::vector<std::string>{"c"}));
  EXPECT_EQ(f.attributes, (std::vector<std::string>{"alpha"}));
  ASSERT_EQ(f.attribute_defaults.size(), 1u);
  EXPECT_EQ(f.attribute_defaults[0].i, 7);
  ASSERT_EQ(f.nodes.size(), 1u);
  EXPECT_EQ(f.nodes[0].op_type, "Add");
  ASSERT_EQ(f.opset_imports.size(), 1u);
  EXPECT_EQ(f.opset_imports[0].version, 18);
}

TEST(ProtoReader, TensorFieldsAndSparseInitializers) {
  Pb t;
  t.string(8, "t").varint(2, 8).string(6, "s0").string(6, "s1").msg(3, Pb().varint(1, 0).varint(2, 1));
  t.varint(14, 1).msg(13, Pb().string(1, "location").string(2, "w.bin")).string(12, "doc");
  Pb graph;
  graph.msg(5, t).msg(15, Pb()).msg(15, Pb());
  auto m = parse(Pb().msg(7, graph));
  ASSERT_TRUE(m.ok()) << m.status().message();
  const TensorProto& p = m->graph.initializers[0];
  EXPECT_EQ(p.string_data, (std::vector<std::string>{"s0", "s1"}));
  EXPECT_TRUE(p.has_segment);
  EXPECT_EQ(p.data_location, 1);
  ASSERT_EQ(p.external_data.size(), 1u);
  EXPECT_EQ(p.external_data[0].second, "w.bin");
  EXPECT_EQ(m->graph.sparse_initializer_count, 2);
}

TEST(ProtoReader, EmptyAndMissingFiles) {
  EXPECT_ERROR_HAS(parse(Pb()), "model.onnx: the file is empty");
  auto r = load_model("/nonexistent/dir/model.onnx");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kIoError);
  EXPECT_TRUE(contains(r.status().message(), "/nonexistent/dir/model.onnx"));
}

TEST(ProtoReader, ParseTensorNamesItsSource) {
  Pb t = float_raw_tensor("input", {1, 2, 3});
  auto ok = parse_tensor(t.data(), "input_0.pb");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->name, "input");
  EXPECT_EQ(ok->raw_data.data(), t.data().data() + (t.size() - 12));  // a view into the caller's bytes
  std::vector<uint8_t> cut(t.data().begin(), t.data().end() - 1);
  auto bad = parse_tensor(cut, "input_0.pb");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.status().message(), "input_0.pb: raw_data: length 12 exceeds the 11 bytes left"))
      << bad.status().message();
}

}  // namespace
}  // namespace kiln::onnx
