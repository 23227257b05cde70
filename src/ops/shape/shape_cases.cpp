// The shape family's op cases: odd and empty dims, negative axes, every
// attribute, constant and run-time shape inputs, several dtypes.
#include "ops/shape/shape_util.h"

namespace kiln::shape_family {
namespace {

using D = DType;
using Attrs = std::map<std::string, Attr>;

CaseInput data(D t, std::vector<int64_t> dims) {
  CaseInput in;
  in.dtype = t;
  in.dims = std::move(dims);
  in.lo = -4;
  in.hi = 4;
  return in;
}

// An int64 input with explicit values, an initializer unless `runtime`.
CaseInput ints(std::vector<int64_t> values, bool runtime = false, D t = D::kInt64) {
  CaseInput in;
  in.dtype = t;
  in.dims = {static_cast<int64_t>(values.size())};
  in.values = std::move(values);
  in.constant = !runtime;
  return in;
}

CaseInput scalar(D t, double v, bool runtime = false) {
  CaseInput in;
  in.dtype = t;
  in.fvalues = {v};
  in.constant = !runtime;
  return in;
}

CaseInput omitted() {
  CaseInput in;
  in.omitted = true;
  return in;
}

struct Adder {
  OpRegistry& r;
  void operator()(std::string name, std::string op, std::vector<CaseInput> inputs, Attrs attrs = {},
                  int outputs = 1, int64_t opset = 0) {
    OpCase c;
    c.name = op + "/" + name;
    c.op = std::move(op);
    c.inputs = std::move(inputs);
    c.attrs = std::move(attrs);
    c.num_outputs = outputs;
    c.opset = opset;
    r.add_case(std::move(c));
  }
};

Attr I(int64_t v) { return Attr::of_int(v); }
Attr Is(std::vector<int64_t> v) { return Attr::of_ints(std::move(v)); }

void layout_cases(Adder& add) {
  add("infer_last", "Reshape", {data(D::kFloat32, {2, 3, 5}), ints({5, -1})});
  add("copy_zero", "Reshape", {data(D::kFloat16, {2, 3, 5}), ints({0, -1, 1})});
  add("allowzero", "Reshape", {data(D::kFloat32, {0, 3}), ints({3, 0})}, {{"allowzero", I(1)}});
  add("empty_infer", "Reshape", {data(D::kInt64, {0, 3}), ints({-1, 3})});
  add("bool_runtime_shape", "Reshape", {data(D::kBool, {4, 6}), ints({2, 3, 4}, true)});
  add("to_scalar", "Reshape", {data(D::kInt8, {1, 1}), ints({})});
  add("opset13", "Reshape", {data(D::kBFloat16, {6, 7}), ints({0, 7, -1})}, {}, 1, 13);

  add("default", "Transpose", {data(D::kFloat32, {2, 3, 5})});
  add("perm102", "Transpose", {data(D::kInt8, {3, 1, 4})}, {{"perm", Is({1, 0, 2})}});
  add("rank5", "Transpose", {data(D::kFloat16, {2, 3, 1, 4, 2})}, {{"perm", Is({4, 2, 0, 3, 1})}});
  add("empty", "Transpose", {data(D::kInt64, {0, 3})}, {{"perm", Is({1, 0})}});
  add("scalar", "Transpose", {data(D::kFloat64, {})});
  add("fp8", "Transpose", {data(D::kFloat8E4M3FN, {3, 5})});

  add("default", "Flatten", {data(D::kFloat32, {2, 3, 4})});
  add("axis0", "Flatten", {data(D::kInt32, {2, 3, 4})}, {{"axis", I(0)}});
  add("axis_rank", "Flatten", {data(D::kBool, {2, 3, 4})}, {{"axis", I(3)}});
  add("axis_neg", "Flatten", {data(D::kFloat16, {2, 0, 4})}, {{"axis", I(-1)}});

  add("axes", "Squeeze", {data(D::kFloat32, {1, 3, 1, 5}), ints({0, -2})});
  add("all_ones", "Squeeze", {data(D::kBool, {1, 3, 1})});
  add("runtime_axes", "Squeeze", {data(D::kInt64, {2, 1}), ints({1}, true)});

  add("ends", "Unsqueeze", {data(D::kFloat32, {3, 4}), ints({0, 3})});
  add("negative", "Unsqueeze", {data(D::kUInt8, {3, 4}), ints({-1, 1})});
  add("scalar", "Unsqueeze", {data(D::kInt64, {}), ints({0})});
}

void concat_split_cases(Adder& add) {
  add("axis1_empty", "Concat", {data(D::kFloat32, {2, 3}), data(D::kFloat32, {2, 0}), data(D::kFloat32, {2, 5})},
      {{"axis", I(1)}});
  add("axis_neg", "Concat", {data(D::kFloat16, {2, 3, 1}), data(D::kFloat16, {2, 3, 2})}, {{"axis", I(-1)}});
  add("int64_axis0", "Concat", {data(D::kInt64, {1}), data(D::kInt64, {3})}, {{"axis", I(0)}});
  add("single", "Concat", {data(D::kBool, {3, 2})}, {{"axis", I(0)}});

  add("split_input", "Split", {data(D::kFloat32, {2, 6}), ints({2, 4})}, {{"axis", I(1)}}, 2);
  add("num_outputs_uneven", "Split", {data(D::kInt32, {7, 2})}, {{"num_outputs", I(3)}}, 3);
  add("equal_opset13", "Split", {data(D::kFloat16, {3, 6})}, {{"axis", I(-1)}}, 3, 13);
  add("zero_sizes", "Split", {data(D::kInt8, {0, 2}), ints({0, 0})}, {}, 2);
  add("runtime_split", "Split", {data(D::kBool, {5}), ints({1, 4}, true)}, {}, 2);
}

void slice_cases(Adder& add) {
  add("basic", "Slice", {data(D::kFloat32, {4, 7}), ints({1, 2}), ints({3, 6}), ints({0, 1}), ints({1, 2})});
  add("neg_steps", "Slice", {data(D::kInt64, {5, 6}), ints({-1, 4}), ints({-6, 0}), ints({0, 1}), ints({-2, -1})});
  add("clamped", "Slice", {data(D::kFloat16, {3, 4}), ints({-100, 1}), ints({100, 1000}), omitted(), omitted()});
  add("open_ends", "Slice",
      {data(D::kBool, {3, 4}), ints({0, -1}), ints({INT64_MAX, INT64_MIN}), ints({-2, -1}), ints({1, -1})});
  add("empty_result", "Slice", {data(D::kFloat32, {3, 4}), ints({2}), ints({1}), ints({0})});
  add("int32_runtime", "Slice",
      {data(D::kUInt8, {6, 3}), ints({1}, true, D::kInt32), ints({5}, true, D::kInt32), ints({0}, false, D::kInt32),
       ints({3}, true, D::kInt32)});

  add("broadcast", "Expand", {data(D::kFloat32, {3, 1}), ints({2, 1, 6})});
  add("shorter_shape", "Expand", {data(D::kBool, {2, 3}), ints({3})});
  add("to_empty", "Expand", {data(D::kInt64, {1, 4}), ints({0, 4})});
  add("runtime_shape", "Expand", {data(D::kFloat16, {3}), ints({2, 3}, true)});

  add("basic", "Tile", {data(D::kFloat32, {2, 3}), ints({2, 3})});
  add("zero_repeat", "Tile", {data(D::kInt8, {2, 3}), ints({0, 2})});
  add("runtime_repeats", "Tile", {data(D::kBFloat16, {1, 2, 3}), ints({3, 1, 2}, true)});
}

void source_cases(Adder& add) {
  add("basic", "Shape", {data(D::kFloat32, {2, 3, 5})});
  add("start_end", "Shape", {data(D::kInt8, {2, 3, 5, 7})}, {{"start", I(1)}, {"end", I(-1)}});
  add("start_past_end", "Shape", {data(D::kBool, {2, 3})}, {{"start", I(5)}});
  add("opset13", "Shape", {data(D::kFloat16, {4})}, {}, 1, 13);

  add("basic", "Size", {data(D::kFloat32, {2, 3, 5})});
  add("empty", "Size", {data(D::kInt64, {2, 0})});

  add("default_value", "ConstantOfShape", {ints({2, 3})});
  add("int64_value", "ConstantOfShape", {ints({3, 1})}, {{"value", Attr::of_tensor(i64_tensor({7}, {1}))}});
  add("scalar", "ConstantOfShape", {ints({})}, {{"value", Attr::of_tensor(f32_tensor({1.5f}, {1}))}});
  add("runtime_shape", "ConstantOfShape", {ints({0, 4}, true)});

  add("float", "Range", {scalar(D::kFloat32, -1.5), scalar(D::kFloat32, 3.2), scalar(D::kFloat32, 0.7)});
  add("int32_negative", "Range", {scalar(D::kInt32, 10), scalar(D::kInt32, -3), scalar(D::kInt32, -4)});
  add("int64_empty", "Range", {scalar(D::kInt64, 5), scalar(D::kInt64, 5), scalar(D::kInt64, 1)});
  add("runtime_fp64", "Range",
      {scalar(D::kFloat64, 0, true), scalar(D::kFloat64, 2.5, true), scalar(D::kFloat64, 0.5, true)});

  add("tensor", "Constant", {}, {{"value", Attr::of_tensor(i64_tensor({1, 2, 3, 4, 5, 6}, {2, 3}))}});
  add("value_floats", "Constant", {}, {{"value_floats", Attr::of_floats({1.5f, -2.0f})}});
  add("value_int", "Constant", {}, {{"value_int", I(-3)}});
  add("value_float", "Constant", {}, {{"value_float", Attr::of_float(0.25f)}});
  add("value_ints", "Constant", {}, {{"value_ints", Is({4, 5})}});

  add("basic", "Dropout", {data(D::kFloat32, {3, 5})});
  add("mask", "Dropout", {data(D::kFloat16, {2, 0, 3})}, {}, 2);
  add("inference_mode", "Dropout",
      {data(D::kBFloat16, {4}), scalar(D::kFloat32, 0.3), scalar(D::kBool, 0)}, {{"seed", I(3)}}, 2);
  add("training_ratio0", "Dropout", {data(D::kFloat64, {4}), scalar(D::kFloat64, 0), scalar(D::kBool, 1)}, {}, 2);
}

}  // namespace

void add_shape_cases(OpRegistry& r) {
  Adder add{r};
  layout_cases(add);
  concat_split_cases(add);
  slice_cases(add);
  source_cases(add);
}

}  // namespace kiln::shape_family
