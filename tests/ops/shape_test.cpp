// Shape family: hand-checked values (expected numbers from numpy / the ONNX
// reference), inference with symbolic dims and run-time shape inputs, value
// folding of Shape/Size, and refusal of bad or hostile inputs.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <optional>

#include "backends/cpu/interpreter.h"
#include "op_test_util.h"
#include "ops/infer.h"

namespace kiln {
namespace {

using kiln::testing::constant;
using kiln::testing::in;
using kiln::testing::make_tensor;
using kiln::testing::omitted;
using kiln::testing::OpInput;
using kiln::testing::run_op;
using Attrs = std::map<std::string, Attr>;

Tensor i64(const std::vector<int64_t>& v, std::vector<int64_t> dims) {
  Tensor t = Tensor::alloc(DType::kInt64, std::move(dims)).value();
  for (size_t i = 0; i < v.size(); ++i) t.set_i64(static_cast<int64_t>(i), v[i]);
  return t;
}
Tensor i64(const std::vector<int64_t>& v) { return i64(v, {static_cast<int64_t>(v.size())}); }
Tensor arange(DType t, std::vector<int64_t> dims) {
  Tensor x = Tensor::alloc(t, std::move(dims)).value();
  for (int64_t i = 0; i < x.numel(); ++i) x.set_f64(i, static_cast<double>(i));
  return x;
}
std::vector<int64_t> ints(const Tensor& t) { return t.to_i64_vector(); }
std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

// A shape from "batch,3,4": numbers are static dims, names symbols.
Shape S(const std::string& text) {
  Shape s;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string d = text.substr(pos, end - pos);
    if (!d.empty() && (isdigit(static_cast<unsigned char>(d[0])) != 0))
      s.dims.emplace_back(std::stoll(d));
    else
      s.dims.push_back(Dim::symbolic(d));
    pos = end + 1;
  }
  return s;
}

// Inference only (no kernel), for inputs with symbolic dims; a null value
// marks a run-time input.
struct InferIn {
  DType dtype;
  Shape shape;
  std::optional<Tensor> value;
};
InferIn sym(DType t, const std::string& shape) { return {t, S(shape), std::nullopt}; }
InferIn cst(Tensor t) { return {t.dtype(), t.shape(), t}; }

struct Inferred {
  std::vector<Value> outs;
};
Expected<Inferred> infer(const std::string& op, const Attrs& attrs, const std::vector<InferIn>& ins, int outputs = 1,
                         int64_t opset = kMaxOnnxOpset) {
  Graph g;
  std::vector<Value*> vs;
  for (size_t i = 0; i < ins.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(str("in", i)));
    v->dtype = ins[i].dtype;
    v->shape = ins[i].shape;
    v->shape_known = true;
    if (ins[i].value) v->constant = std::make_shared<const Tensor>(*ins[i].value);
    vs.push_back(v);
  }
  std::vector<Value*> os;
  for (int i = 0; i < outputs; ++i) os.push_back(g.add_unique_value("out"));
  KILN_ASSIGN_OR_RETURN(Node * node, g.add_node(op, "n", vs, os, "", opset));
  node->attrs = attrs;
  const OpSchema* schema = OpRegistry::global().find("", op, opset);
  if (!schema) return Unsupported("no ", op);
  if (schema->upgrade) KILN_RETURN_IF_ERROR(schema->upgrade(*node, g));
  KILN_RETURN_IF_ERROR(infer_node(*node, Limits{}));
  Inferred r;
  for (Value* v : os) {
    Value c;
    c.dtype = v->dtype;
    c.shape = v->shape;
    c.shape_known = v->shape_known;
    c.constant = v->constant;
    r.outs.push_back(std::move(c));
  }
  return r;
}

std::string shape_str(const Expected<Inferred>& r, size_t i = 0) {
  if (!r.ok()) return r.status().to_string();
  if (!r->outs[i].shape_known) return "unknown rank";
  return r->outs[i].shape.to_string();
}

// Symbolic dims made by unknown_dim are fresh names: compare them as "?".
std::string masked(const Expected<Inferred>& r, size_t i = 0) {
  std::string s = shape_str(r, i);
  if (!r.ok() || !r->outs[i].shape_known) return s;
  std::string out = "[";
  for (size_t d = 0; d < r->outs[i].shape.rank(); ++d) {
    const Dim& dim = r->outs[i].shape[d];
    if (d) out += ",";
    bool named = !dim.is_static() && dim.symbol.find('_') == std::string::npos;
    out += dim.is_static() || named ? dim.to_string() : "?";
  }
  return out + "]";
}

// ---- Reshape / Flatten / Squeeze / Unsqueeze / Transpose ----

TEST(ShapeReshape, ZeroAndMinusOne) {
  auto r = run_op("Reshape", {}, {in(arange(DType::kFloat32, {2, 3, 4})), constant(i64({2, 0, 1, -1}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{2, 3, 1, 4}));
  EXPECT_EQ(ints(r->outputs[0]), iota(24));
  EXPECT_EQ(r->inferred[0].shape.to_string(), "[2,3,1,4]");
}

TEST(ShapeReshape, AllowZero) {
  auto r = run_op("Reshape", {{"allowzero", Attr::of_int(1)}}, {in(arange(DType::kInt64, {0, 3, 4})), in(i64({3, 4, 0}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{3, 4, 0}));
  // allowzero with both 0 and -1 is invalid.
  EXPECT_FALSE(run_op("Reshape", {{"allowzero", Attr::of_int(1)}}, {in(arange(DType::kFloat32, {2, 3})), constant(i64({0, -1}))}).ok());
  EXPECT_FALSE(run_op("Reshape", {{"allowzero", Attr::of_int(2)}}, {in(arange(DType::kFloat32, {2, 3})), constant(i64({6}))}).ok());
}

TEST(ShapeReshape, BadShapes) {
  Tensor x = arange(DType::kFloat32, {2, 3});
  for (auto target : {std::vector<int64_t>{-1, -1}, {4, 2}, {-2, 3}, {0, 0, 0, 6}, {4, -1}, {0, -1, 0}}) {
    auto r = run_op("Reshape", {}, {in(x), constant(i64(target))});
    EXPECT_FALSE(r.ok()) << dims_to_string(target);
    // The same target at run time fails in the kernel, not with a crash.
    EXPECT_FALSE(run_op("Reshape", {}, {in(x), in(i64(target))}).ok()) << dims_to_string(target);
  }
  EXPECT_FALSE(run_op("Reshape", {}, {in(x), constant(make_tensor(DType::kFloat32, {1}, {6}))}).ok());
  EXPECT_FALSE(run_op("Reshape", {}, {in(x), constant(i64({6}, {1, 1}))}).ok());
}

TEST(ShapeReshape, SymbolicDims) {
  auto target = [](std::vector<int64_t> v) { return cst(i64(v)); };
  EXPECT_EQ(masked(infer("Reshape", {}, {sym(DType::kFloat32, "batch,3,4"), target({0, -1})})), "[batch,12]");
  EXPECT_EQ(masked(infer("Reshape", {}, {sym(DType::kFloat32, "batch,3,4"), target({-1, 12})})), "[batch,12]");
  EXPECT_EQ(masked(infer("Reshape", {}, {sym(DType::kFloat32, "batch,seq,4"), target({0, 0, 2, -1})})),
            "[batch,seq,2,2]");
  EXPECT_EQ(masked(infer("Reshape", {}, {sym(DType::kFloat32, "2,batch"), target({0, 1, -1})})), "[2,1,batch]");
  EXPECT_EQ(masked(infer("Reshape", {}, {sym(DType::kFloat32, "batch,seq,4"), target({-1, 4})})), "[?,4]");
  EXPECT_EQ(masked(infer("Reshape", {}, {sym(DType::kFloat32, "batch,6"), target({-1, 4})})), "[?,4]");
  // A run-time shape of static length gives the rank; of symbolic length, nothing.
  EXPECT_EQ(masked(infer("Reshape", {}, {sym(DType::kFloat32, "batch,6"), sym(DType::kInt64, "3")})), "[?,?,?]");
  EXPECT_EQ(masked(infer("Reshape", {}, {sym(DType::kFloat32, "batch,6"), sym(DType::kInt64, "n")})),
            "unknown rank");
  EXPECT_FALSE(infer("Reshape", {}, {sym(DType::kFloat32, "2,3"), sym(DType::kFloat32, "3")}).ok());
}

TEST(ShapeReshape, Opset13HasNoAllowzero) {
  auto r = run_op("Reshape", {}, {in(arange(DType::kFloat16, {2, 3})), constant(i64({0, 1, 3}))}, 1, 13);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{2, 1, 3}));
}

TEST(ShapeFlatten, Axes) {
  Tensor x = arange(DType::kInt32, {2, 3, 4});
  std::vector<std::pair<int64_t, std::vector<int64_t>>> expect = {
      {0, {1, 24}}, {1, {2, 12}}, {2, {6, 4}}, {3, {24, 1}}, {-1, {6, 4}}, {-3, {1, 24}}};
  for (const auto& [axis, dims] : expect) {
    auto r = run_op("Flatten", {{"axis", Attr::of_int(axis)}}, {in(x)});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->outputs[0].dims(), dims) << axis;
    EXPECT_EQ(ints(r->outputs[0]), iota(24));
  }
  EXPECT_FALSE(run_op("Flatten", {{"axis", Attr::of_int(4)}}, {in(x)}).ok());
  EXPECT_FALSE(run_op("Flatten", {{"axis", Attr::of_int(-4)}}, {in(x)}).ok());
  EXPECT_FALSE(run_op("Flatten", {{"axis", Attr::of_float(1)}}, {in(x)}).ok());
  EXPECT_EQ(masked(infer("Flatten", {}, {sym(DType::kFloat32, "batch,3,4")})), "[batch,12]");
  EXPECT_EQ(masked(infer("Flatten", {{"axis", Attr::of_int(2)}}, {sym(DType::kFloat32, "batch,3,4")})), "[?,4]");
  EXPECT_EQ(masked(infer("Flatten", {{"axis", Attr::of_int(2)}}, {sym(DType::kFloat32, "1,seq,4")})), "[seq,4]");
}

TEST(ShapeSqueeze, AxesAndDefaults) {
  Tensor x = arange(DType::kFloat32, {1, 3, 1, 2});
  auto r = run_op("Squeeze", {}, {in(x), constant(i64({0, -2}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{3, 2}));
  r = run_op("Squeeze", {}, {in(x)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{3, 2}));
  EXPECT_FALSE(run_op("Squeeze", {}, {in(x), constant(i64({1}))}).ok());   // size 3
  EXPECT_FALSE(run_op("Squeeze", {}, {in(x), in(i64({1}))}).ok());         // same, at run time
  EXPECT_FALSE(run_op("Squeeze", {}, {in(x), constant(i64({4}))}).ok());   // axis == rank
  EXPECT_FALSE(run_op("Squeeze", {}, {in(x), constant(i64({0, -4}))}).ok());  // twice
  EXPECT_EQ(masked(infer("Squeeze", {}, {sym(DType::kFloat32, "1,batch,3")})), "unknown rank");
  EXPECT_EQ(masked(infer("Squeeze", {}, {sym(DType::kFloat32, "1,batch,1"), cst(i64({1}))})), "[1,1]");
  EXPECT_EQ(masked(infer("Squeeze", {}, {sym(DType::kFloat32, "1,batch,1"), sym(DType::kInt64, "2")})), "[?]");
}

TEST(ShapeUnsqueeze, Axes) {
  Tensor x = arange(DType::kBool, {3, 4});
  auto r = run_op("Unsqueeze", {}, {in(x), constant(i64({3, 0}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{1, 3, 4, 1}));
  r = run_op("Unsqueeze", {}, {in(x), in(i64({-1, 1}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{3, 1, 4, 1}));
  EXPECT_FALSE(run_op("Unsqueeze", {}, {in(x), constant(i64({3}))}).ok());  // axis == output rank
  EXPECT_FALSE(run_op("Unsqueeze", {}, {in(x), constant(i64({1, -3}))}).ok());
  EXPECT_EQ(masked(infer("Unsqueeze", {}, {sym(DType::kFloat32, "batch,3"), cst(i64({1}))})), "[batch,1,3]");
}

TEST(ShapeTranspose, PermAndDefault) {
  Tensor x = arange(DType::kInt64, {2, 3, 4});
  auto r = run_op("Transpose", {}, {in(x)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{4, 3, 2}));
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21,
                                                       2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23}));
  r = run_op("Transpose", {{"perm", Attr::of_ints({1, 0, 2})}}, {in(arange(DType::kFloat16, {2, 3, 4}))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7,
                                                       16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23}));
  for (auto perm : {std::vector<int64_t>{0, 1}, {0, 0, 1}, {0, 1, 3}, {-1, 0, 1}})
    EXPECT_FALSE(run_op("Transpose", {{"perm", Attr::of_ints(perm)}}, {in(x)}).ok()) << dims_to_string(perm);
  EXPECT_EQ(masked(infer("Transpose", {}, {sym(DType::kFloat32, "batch,seq,8")})), "[8,seq,batch]");
}

// ---- Concat / Split ----

TEST(ShapeConcat, AxisAndErrors) {
  Tensor a = arange(DType::kFloat32, {2, 2});
  Tensor b = Tensor::alloc(DType::kFloat32, {2, 0}).value();
  Tensor c = make_tensor(DType::kFloat32, {2, 1}, {9, 8});
  auto r = run_op("Concat", {{"axis", Attr::of_int(-1)}}, {in(a), in(b), in(c)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_f64_vector(), (std::vector<double>{0, 1, 9, 2, 3, 8}));
  EXPECT_FALSE(run_op("Concat", {{"axis", Attr::of_int(2)}}, {in(a), in(a)}).ok());
  EXPECT_FALSE(run_op("Concat", {}, {in(a), in(a)}).ok());  // axis is required
  EXPECT_FALSE(run_op("Concat", {{"axis", Attr::of_int(0)}}, {in(a), in(c)}).ok());
  EXPECT_FALSE(run_op("Concat", {{"axis", Attr::of_int(0)}}, {in(a), in(i64({1, 2}, {1, 2}))}).ok());
  EXPECT_FALSE(run_op("Concat", {{"axis", Attr::of_int(0)}}, {in(i64({1})), in(i64({}, {}))}).ok());
  Attrs ax1 = {{"axis", Attr::of_int(1)}};
  EXPECT_EQ(masked(infer("Concat", ax1, {sym(DType::kFloat32, "batch,3"), sym(DType::kFloat32, "batch,5")})),
            "[batch,8]");
  EXPECT_EQ(masked(infer("Concat", ax1, {sym(DType::kFloat32, "batch,3"), sym(DType::kFloat32, "2,n")})), "[2,?]");
  EXPECT_EQ(masked(infer("Concat", ax1, {sym(DType::kFloat32, "2,0"), sym(DType::kFloat32, "2,n")})), "[2,n]");
}

TEST(ShapeSplit, SplitInputAndNumOutputs) {
  Tensor x = arange(DType::kInt64, {7});
  auto r = run_op("Split", {{"num_outputs", Attr::of_int(4)}}, {in(x)}, 4);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(ints(r->outputs[3]), (std::vector<int64_t>{6}));
  r = run_op("Split", {}, {in(x), constant(i64({2, 0, 5}))}, 3);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[1].numel(), 0);
  EXPECT_EQ(ints(r->outputs[2]), (std::vector<int64_t>{2, 3, 4, 5, 6}));
  // 2-D, axis 1, uneven (the ONNX split_2d_uneven example).
  r = run_op("Split", {{"axis", Attr::of_int(1)}, {"num_outputs", Attr::of_int(3)}}, {in(arange(DType::kFloat32, {2, 8}))}, 3);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[2].to_f64_vector(), (std::vector<double>{6, 7, 14, 15}));
  // Opset 13 without split: equal parts only.
  r = run_op("Split", {}, {in(arange(DType::kFloat32, {6}))}, 3, 13);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[2].to_f64_vector(), (std::vector<double>{4, 5}));
  EXPECT_FALSE(run_op("Split", {}, {in(x)}, 2, 13).ok());
  EXPECT_FALSE(run_op("Split", {{"num_outputs", Attr::of_int(4)}}, {in(arange(DType::kFloat32, {5}))}, 4).ok());
  EXPECT_FALSE(run_op("Split", {}, {in(x), constant(i64({2, 4}))}, 2).ok());        // sum 6 != 7
  EXPECT_FALSE(run_op("Split", {}, {in(x), in(i64({8, -1}))}, 2).ok());             // negative at run time
  EXPECT_FALSE(run_op("Split", {{"num_outputs", Attr::of_int(2)}}, {in(x), constant(i64({3, 4}))}, 2).ok());
  EXPECT_FALSE(run_op("Split", {{"num_outputs", Attr::of_int(3)}}, {in(x)}, 2).ok());
  EXPECT_FALSE(run_op("Split", {{"axis", Attr::of_int(1)}}, {in(x), constant(i64({7}))}, 1).ok());
  auto s = infer("Split", {{"num_outputs", Attr::of_int(2)}}, {sym(DType::kFloat32, "batch,4")}, 2);
  EXPECT_EQ(masked(s, 0), "[?,4]");
}

// ---- Slice / Expand / Tile ----

TEST(ShapeSlice, StepsAndClamping) {
  Tensor x = arange(DType::kInt64, {4, 5});
  auto r = run_op("Slice", {}, {in(x), constant(i64({-1, 4})), constant(i64({-5, 0})), constant(i64({0, 1})),
                                constant(i64({-2, -3}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{19, 16, 9, 6}));
  // Out-of-range starts/ends clamp; default axes and steps.
  r = run_op("Slice", {}, {in(x), in(i64({1, -100})), in(i64({1000, 2}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{5, 6, 10, 11, 15, 16}));
  // Reverse everything with the exporters' open ends, and huge steps.
  r = run_op("Slice", {}, {in(x), constant(i64({-1})), constant(i64({INT64_MIN})), constant(i64({1})),
                           constant(i64({INT64_MIN}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{4, 9, 14, 19}));
  r = run_op("Slice", {}, {in(x), constant(i64({INT64_MIN})), constant(i64({INT64_MAX})), constant(i64({0})),
                           constant(i64({INT64_MAX}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(run_op("Slice", {}, {in(x), in(i64({0})), in(i64({1})), in(i64({0})), in(i64({0}))}).ok());
  EXPECT_FALSE(run_op("Slice", {}, {in(x), in(i64({0})), in(i64({1})), in(i64({2}))}).ok());
  EXPECT_FALSE(run_op("Slice", {}, {in(x), in(i64({0, 0})), in(i64({1, 1})), in(i64({1, -1}))}).ok());
  EXPECT_FALSE(run_op("Slice", {}, {in(x), in(i64({0, 0})), in(i64({1}))}).ok());
  EXPECT_FALSE(run_op("Slice", {}, {in(x), in(i64({0, 0, 0})), in(i64({1, 1, 1}))}).ok());
}

TEST(ShapeSlice, SymbolicInference) {
  auto v = [](std::vector<int64_t> x) { return cst(i64(x)); };
  InferIn data = sym(DType::kFloat32, "batch,seq,8");
  EXPECT_EQ(masked(infer("Slice", {}, {data, v({0, 1}), v({INT64_MAX, -1}), v({0, 2})})), "[batch,seq,6]");
  EXPECT_EQ(masked(infer("Slice", {}, {data, v({-1}), v({INT64_MIN}), v({1}), v({-1})})), "[batch,seq,8]");
  EXPECT_EQ(masked(infer("Slice", {}, {data, v({1}), v({INT64_MAX}), v({1})})), "[batch,?,8]");
  EXPECT_EQ(masked(infer("Slice", {}, {data, sym(DType::kInt64, "1"), sym(DType::kInt64, "1"), v({-1})})),
            "[batch,seq,?]");
  EXPECT_EQ(masked(infer("Slice", {}, {data, sym(DType::kInt64, "2"), sym(DType::kInt64, "2")})), "[?,?,8]");
  EXPECT_EQ(masked(infer("Slice", {}, {data, v({0}), v({1}), sym(DType::kInt64, "1")})), "[?,?,?]");
}

TEST(ShapeExpand, BroadcastAndBombs) {
  auto r = run_op("Expand", {}, {in(arange(DType::kInt64, {3, 1})), constant(i64({2, 1, 4}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                                       0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
  Tensor x = arange(DType::kFloat32, {3, 1});
  EXPECT_FALSE(run_op("Expand", {}, {in(x), constant(i64({2, 4}))}).ok());
  EXPECT_FALSE(run_op("Expand", {}, {in(x), in(i64({-1, 1}))}).ok());
  for (bool runtime : {false, true}) {
    OpInput shape = runtime ? in(i64({1 << 20, 1 << 20, 1 << 20})) : constant(i64({1 << 20, 1 << 20, 1 << 20}));
    auto bomb = run_op("Expand", {}, {in(make_tensor(DType::kFloat32, {1}, {1})), shape});
    ASSERT_FALSE(bomb.ok());
    EXPECT_TRUE(bomb.status().code() == ErrorCode::kResourceExhausted || bomb.status().code() == ErrorCode::kOutOfRange)
        << bomb.status().to_string();
  }
  EXPECT_EQ(masked(infer("Expand", {}, {sym(DType::kFloat32, "batch,1"), sym(DType::kInt64, "3")})), "[?,?,?]");
  EXPECT_EQ(masked(infer("Expand", {}, {sym(DType::kFloat32, "5,1"), sym(DType::kInt64, "2")})), "[5,?]");
  EXPECT_EQ(masked(infer("Expand", {}, {sym(DType::kFloat32, "batch,1"), cst(i64({1, 6}))})), "[batch,6]");
}

TEST(ShapeTile, RepeatsAndBombs) {
  auto r = run_op("Tile", {}, {in(arange(DType::kInt64, {2, 3})), constant(i64({2, 2}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5,
                                                       0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5}));
  Tensor x = arange(DType::kFloat32, {2, 3});
  EXPECT_FALSE(run_op("Tile", {}, {in(x), constant(i64({2}))}).ok());
  EXPECT_FALSE(run_op("Tile", {}, {in(x), in(i64({2, -1}))}).ok());
  auto bomb = run_op("Tile", {}, {in(x), in(i64({int64_t{1} << 40, int64_t{1} << 40}))});
  ASSERT_FALSE(bomb.ok());
  EXPECT_TRUE(bomb.status().code() == ErrorCode::kResourceExhausted || bomb.status().code() == ErrorCode::kOutOfRange);
  auto overflow = run_op("Tile", {}, {in(x), constant(i64({INT64_MAX, 1}))});
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.status().code(), ErrorCode::kOutOfRange) << overflow.status().to_string();
  EXPECT_EQ(masked(infer("Tile", {}, {sym(DType::kFloat32, "batch,3"), cst(i64({1, 2}))})), "[batch,6]");
}

// ---- Shape / Size / ConstantOfShape / Range / Constant / Dropout ----

TEST(ShapeShape, FoldsStaticShapes) {
  auto r = infer("Shape", {}, {sym(DType::kFloat32, "2,3,5")});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_TRUE(r->outs[0].constant);
  EXPECT_EQ(ints(*r->outs[0].constant), (std::vector<int64_t>{2, 3, 5}));
  r = infer("Shape", {{"start", Attr::of_int(-2)}}, {sym(DType::kFloat32, "batch,3,5")});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->outs[0].constant);  // the symbolic dim is not in the range
  EXPECT_EQ(ints(*r->outs[0].constant), (std::vector<int64_t>{3, 5}));
  r = infer("Shape", {{"end", Attr::of_int(2)}}, {sym(DType::kFloat32, "batch,3,5")});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->outs[0].constant);
  EXPECT_EQ(r->outs[0].shape.to_string(), "[2]");
  r = infer("Shape", {{"start", Attr::of_int(10)}, {"end", Attr::of_int(-10)}}, {sym(DType::kFloat32, "batch,3")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outs[0].shape.to_string(), "[0]");
  auto k = run_op("Shape", {{"start", Attr::of_int(1)}, {"end", Attr::of_int(-1)}}, {in(arange(DType::kInt8, {2, 3, 4, 5}))});
  ASSERT_TRUE(k.ok()) << k.status().to_string();
  EXPECT_EQ(ints(k->outputs[0]), (std::vector<int64_t>{3, 4}));
}

TEST(ShapeSize, FoldsStaticShapes) {
  auto r = infer("Size", {}, {sym(DType::kFloat32, "2,3,5")});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_TRUE(r->outs[0].constant);
  EXPECT_EQ(r->outs[0].constant->get_i64(0), 30);
  r = infer("Size", {}, {sym(DType::kFloat32, "batch,3")});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->outs[0].constant);
  EXPECT_EQ(r->outs[0].shape.to_string(), "[]");
  auto k = run_op("Size", {}, {in(arange(DType::kBool, {4, 0}))});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->outputs[0].get_i64(0), 0);
}

// Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds to a constant
// target when x's shape is static (what the importer does node by node).
TEST(ShapeShape, ShapeArithmeticFolds) {
  Graph g;
  Value* x = g.add_value("x").value();
  x->dtype = DType::kFloat32;
  x->shape = S("2,3,4");
  x->shape_known = true;
  auto cval = [&](const char* name, Tensor t) {
    Value* v = g.add_value(name).value();
    v->dtype = t.dtype();
    v->shape = t.shape();
    v->shape_known = true;
    v->constant = std::make_shared<const Tensor>(t);
    return v;
  };
  Value* zero = cval("zero", i64({0}, {}));
  Value* axes = cval("axes", i64({0}));
  Value* minus1 = cval("minus1", i64({-1}));
  Value* s = g.add_value("s").value();
  Value* b = g.add_value("b").value();
  Value* b1 = g.add_value("b1").value();
  Value* target = g.add_value("target").value();
  Value* y = g.add_value("y").value();
  ASSERT_TRUE(g.add_node("Shape", "shape", {x}, {s}, "", 18).ok());
  ASSERT_TRUE(g.add_node("Gather", "gather", {s, zero}, {b}, "", 18).ok());
  ASSERT_TRUE(g.add_node("Unsqueeze", "unsq", {b, axes}, {b1}, "", 18).ok());
  Node* concat = g.add_node("Concat", "concat", {b1, minus1}, {target}, "", 18).value();
  concat->attrs["axis"] = Attr::of_int(0);
  ASSERT_TRUE(g.add_node("Reshape", "reshape", {x, target}, {y}, "", 18).ok());
  for (const auto& node : g.nodes()) {
    ASSERT_TRUE(infer_node(*node, Limits{}).ok()) << node->name;
    bool all_const = true;
    for (Value* v : node->inputs) all_const &= v->constant != nullptr;
    if (all_const && !node->outputs[0]->constant) {
      std::vector<const Tensor*> args;
      for (Value* v : node->inputs) args.push_back(v->constant.get());
      auto out = run_node_cpu(*node, args, Limits{});
      ASSERT_TRUE(out.ok()) << out.status().to_string();
      node->outputs[0]->constant = std::make_shared<const Tensor>((*out)[0]);
    }
  }
  ASSERT_TRUE(target->constant);
  EXPECT_EQ(ints(*target->constant), (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(y->shape.to_string(), "[2,12]");
}

TEST(ShapeConstantOfShape, ValuesAndBombs) {
  auto r = run_op("ConstantOfShape", {}, {in(i64({2, 3}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dtype(), DType::kFloat32);
  EXPECT_EQ(r->outputs[0].to_f64_vector(), std::vector<double>(6, 0.0));
  Attrs seven = {{"value", Attr::of_tensor(i64({7}))}};
  r = run_op("ConstantOfShape", seven, {constant(i64({3}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{7, 7, 7}));
  r = run_op("ConstantOfShape", seven, {constant(i64({}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].rank(), 0);
  EXPECT_EQ(r->outputs[0].get_i64(0), 7);
  for (bool runtime : {false, true}) {
    for (int64_t d : {int64_t{1} << 20, int64_t{1} << 30}) {
      Tensor dims = i64({d, d, d});
      auto bomb = run_op("ConstantOfShape", {}, {runtime ? in(dims) : constant(dims)});
      ASSERT_FALSE(bomb.ok());
      EXPECT_TRUE(bomb.status().code() == ErrorCode::kResourceExhausted ||
                  bomb.status().code() == ErrorCode::kOutOfRange)
          << bomb.status().to_string();
    }
  }
  EXPECT_FALSE(run_op("ConstantOfShape", {}, {in(i64({2, -1}))}).ok());
  EXPECT_FALSE(run_op("ConstantOfShape", {{"value", Attr::of_tensor(i64({1, 2}))}}, {in(i64({2}))}).ok());
  EXPECT_FALSE(run_op("ConstantOfShape", {{"value", Attr::of_float(1)}}, {in(i64({2}))}).ok());
  EXPECT_EQ(masked(infer("ConstantOfShape", {}, {sym(DType::kInt64, "2")})), "[?,?]");
}

TEST(ShapeRange, CountsAndBombs) {
  auto scal = [](DType t, double v) { return make_tensor(t, {}, {v}); };
  auto r = run_op("Range", {}, {in(scal(DType::kInt32, 10)), in(scal(DType::kInt32, -3)), in(scal(DType::kInt32, -4))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{10, 6, 2, -2}));
  r = run_op("Range", {}, {constant(scal(DType::kFloat32, 1)), constant(scal(DType::kFloat32, 2)),
                           constant(scal(DType::kFloat32, 0.25))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_f64_vector(), (std::vector<double>{1, 1.25, 1.5, 1.75}));
  EXPECT_EQ(r->inferred[0].shape.to_string(), "[4]");
  EXPECT_FALSE(run_op("Range", {}, {in(scal(DType::kInt64, 0)), in(scal(DType::kInt64, 5)), in(scal(DType::kInt64, 0))}).ok());
  EXPECT_FALSE(run_op("Range", {}, {in(scal(DType::kInt8, 0)), in(scal(DType::kInt8, 5)), in(scal(DType::kInt8, 1))}).ok());
  EXPECT_FALSE(run_op("Range", {}, {in(scal(DType::kInt64, 0)), in(scal(DType::kFloat32, 5)), in(scal(DType::kInt64, 1))}).ok());
  Tensor inf = scal(DType::kFloat32, INFINITY);
  EXPECT_FALSE(run_op("Range", {}, {in(scal(DType::kFloat32, 0)), in(inf), in(scal(DType::kFloat32, 1))}).ok());
  auto bomb = run_op("Range", {}, {in(i64({INT64_MIN}, {})), in(i64({INT64_MAX}, {})), in(i64({1}, {}))});
  ASSERT_FALSE(bomb.ok());
  bomb = run_op("Range", {}, {in(i64({0}, {})), in(i64({int64_t{1} << 40}, {})), in(i64({1}, {}))});
  ASSERT_FALSE(bomb.ok());
  EXPECT_EQ(bomb.status().code(), ErrorCode::kResourceExhausted) << bomb.status().to_string();
}

TEST(ShapeConstant, Attributes) {
  auto r = run_op("Constant", {{"value", Attr::of_tensor(i64({1, 2, 3, 4}, {2, 2}))}}, {});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(ints(r->outputs[0]), (std::vector<int64_t>{1, 2, 3, 4}));
  r = run_op("Constant", {{"value_floats", Attr::of_floats({})}}, {});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{0}));
  r = run_op("Constant", {{"value_int", Attr::of_int(-5)}}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].rank(), 0);
  EXPECT_EQ(r->outputs[0].get_i64(0), -5);
  auto u = run_op("Constant", {{"value_string", Attr::of_string("x")}}, {});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), ErrorCode::kUnsupported);
  EXPECT_FALSE(run_op("Constant", {}, {}).ok());
  EXPECT_FALSE(run_op("Constant", {{"value_int", Attr::of_int(1)}, {"value_float", Attr::of_float(1)}}, {}).ok());
  EXPECT_FALSE(run_op("Constant", {{"value_ints", Attr::of_float(1)}}, {}).ok());
  auto c = infer("Constant", {{"value_floats", Attr::of_floats({1, 2})}}, {});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->outs[0].constant);
}

TEST(ShapeDropout, InferenceOnly) {
  Tensor x = make_tensor(DType::kFloat16, {2, 3}, {1, -2, 3, 0.5, 0, 7});
  auto r = run_op("Dropout", {}, {in(x)}, 2);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_f64_vector(), x.to_f64_vector());
  EXPECT_EQ(r->outputs[1].dtype(), DType::kBool);
  EXPECT_EQ(ints(r->outputs[1]), std::vector<int64_t>(6, 1));
  Tensor yes = make_tensor(DType::kBool, {}, {1});
  Tensor ratio = make_tensor(DType::kFloat32, {}, {0.5});
  auto t = run_op("Dropout", {}, {in(x), omitted(), constant(yes)});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kUnsupported);
  EXPECT_FALSE(run_op("Dropout", {}, {in(x), in(ratio), in(yes)}).ok());  // caught at run time
  EXPECT_TRUE(run_op("Dropout", {}, {in(x), constant(make_tensor(DType::kFloat32, {}, {0})), constant(yes)}).ok());
  EXPECT_FALSE(run_op("Dropout", {}, {in(i64({1}))}).ok());
  EXPECT_FALSE(run_op("Dropout", {}, {in(make_tensor(DType::kFloat8E4M3FN, {1}, {1}))}, 1, 21).ok());
  EXPECT_TRUE(run_op("Dropout", {}, {in(make_tensor(DType::kFloat8E4M3FN, {1}, {1}))}, 1, 22).ok());
}

}  // namespace
}  // namespace kiln
