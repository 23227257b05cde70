// Pool cases: odd spatial sizes, strides that do not divide the input,
// ceil_mode (with its last-window rule), dilations, every auto_pad,
// count_include_pad, MaxPool's Indices in both storage orders, 1D/3D, each dtype.
#include "ops/op_schema.h"

namespace kiln {

namespace {

CaseInput data(std::vector<int64_t> dims, DType t = DType::kFloat32) {
  CaseInput c;
  c.dtype = t;
  c.dims = std::move(dims);
  if (t == DType::kInt8 || t == DType::kUInt8) {
    c.lo = t == DType::kInt8 ? -100 : 0;
    c.hi = 100;
  }
  return c;
}

Attr ints(std::vector<int64_t> v) { return Attr::of_ints(std::move(v)); }
Attr one(int64_t v) { return Attr::of_int(v); }
Attr text(const char* s) { return Attr::of_string(s); }

void add(OpRegistry& r, std::string name, const char* op, std::map<std::string, Attr> attrs,
         std::vector<int64_t> dims, DType t = DType::kFloat32, int outputs = 1, int64_t opset = 0) {
  OpCase c;
  c.name = std::string(op) + "/" + name;
  c.op = op;
  c.attrs = std::move(attrs);
  c.inputs = {data(std::move(dims), t)};
  c.num_outputs = outputs;
  c.opset = opset;
  c.tolerance = t == DType::kFloat16 ? 1e-2 : t == DType::kBFloat16 ? 5e-2 : 1e-5;
  r.add_case(std::move(c));
}

void add_max(OpRegistry& r) {
  const char* op = "MaxPool";
  add(r, "2d_k3_s2_7x9", op, {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}}, {2, 3, 7, 9});
  add(r, "2d_k3_s2_pad1_indices", op,
      {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}}, {1, 3, 7, 9},
      DType::kFloat32, 2);
  add(r, "2d_indices_storage_order1", op,
      {{"kernel_shape", ints({2, 3})}, {"strides", ints({2, 2})}, {"storage_order", one(1)}}, {2, 2, 5, 7},
      DType::kFloat32, 2);
  add(r, "2d_ceil_mode", op, {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}, {"ceil_mode", one(1)}},
      {1, 2, 7, 9}, DType::kFloat32, 2);
  add(r, "2d_ceil_mode_last_window_dropped", op,
      {{"kernel_shape", ints({3, 3})}, {"strides", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}, {"ceil_mode", one(1)}},
      {1, 1, 5, 5});
  add(r, "2d_dilations_ceil", op,
      {{"kernel_shape", ints({2, 2})}, {"dilations", ints({2, 3})}, {"strides", ints({2, 1})}, {"ceil_mode", one(1)}},
      {1, 2, 8, 9}, DType::kFloat32, 2);
  add(r, "2d_same_upper", op, {{"kernel_shape", ints({3, 2})}, {"strides", ints({2, 2})}, {"auto_pad", text("SAME_UPPER")}},
      {1, 2, 7, 9});
  add(r, "2d_same_lower", op, {{"kernel_shape", ints({3, 2})}, {"strides", ints({2, 2})}, {"auto_pad", text("SAME_LOWER")}},
      {1, 2, 7, 9});
  add(r, "2d_valid", op, {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 3})}, {"auto_pad", text("VALID")}},
      {1, 2, 7, 9});
  add(r, "1d_pad_stride", op, {{"kernel_shape", ints({3})}, {"strides", ints({2})}, {"pads", ints({1, 1})}}, {2, 3, 10},
      DType::kFloat32, 2);
  add(r, "3d_indices", op, {{"kernel_shape", ints({2, 2, 2})}, {"strides", ints({2, 2, 2})}}, {1, 2, 5, 4, 7},
      DType::kFloat32, 2);
  add(r, "3d_indices_storage_order1", op,
      {{"kernel_shape", ints({2, 3, 2})}, {"pads", ints({1, 0, 1, 0, 1, 0})}, {"storage_order", one(1)}},
      {1, 1, 3, 4, 5}, DType::kFloat32, 2);
  add(r, "opset13", op, {{"kernel_shape", ints({2, 2})}}, {1, 2, 5, 5}, DType::kFloat32, 1, 13);
  for (DType t : {DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt8, DType::kUInt8})
    add(r, std::string("2d_") + dtype_name(t), op, {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}},
        {1, 2, 7, 9}, t, 2);
}

void add_average(OpRegistry& r) {
  const char* op = "AveragePool";
  add(r, "2d_k3_s2_7x9", op, {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}}, {2, 3, 7, 9});
  add(r, "2d_pads_exclude_pad", op,
      {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 2, 1, 0})}}, {1, 2, 7, 9});
  add(r, "2d_pads_count_include_pad", op,
      {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 2, 1, 0})},
       {"count_include_pad", one(1)}},
      {1, 2, 7, 9});
  add(r, "2d_ceil_count_include_pad", op,
      {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}, {"ceil_mode", one(1)},
       {"count_include_pad", one(1)}},
      {1, 2, 8, 6});
  add(r, "2d_ceil_no_pads", op, {{"kernel_shape", ints({3, 3})}, {"strides", ints({3, 3})}, {"ceil_mode", one(1)}},
      {1, 2, 7, 8});
  add(r, "2d_dilations", op,
      {{"kernel_shape", ints({2, 2})}, {"dilations", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})},
       {"count_include_pad", one(1)}, {"ceil_mode", one(1)}, {"strides", ints({2, 2})}},
      {1, 2, 7, 9});
  add(r, "2d_same_upper_count_include_pad", op,
      {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"auto_pad", text("SAME_UPPER")},
       {"count_include_pad", one(1)}},
      {1, 2, 7, 9});
  add(r, "2d_same_lower", op, {{"kernel_shape", ints({4, 4})}, {"strides", ints({2, 2})}, {"auto_pad", text("SAME_LOWER")}},
      {1, 2, 7, 9});
  add(r, "1d", op, {{"kernel_shape", ints({2})}}, {2, 3, 9});
  add(r, "3d_pads", op, {{"kernel_shape", ints({2, 3, 2})}, {"pads", ints({1, 1, 0, 0, 1, 1})}, {"strides", ints({2, 1, 2})}},
      {1, 2, 5, 4, 7});
  add(r, "opset13", op, {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}}, {1, 1, 5, 5}, DType::kFloat32,
      1, 13);
  for (DType t : {DType::kFloat16, DType::kBFloat16, DType::kFloat64})
    add(r, std::string("2d_") + dtype_name(t), op, {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}},
        {1, 2, 7, 9}, t);
}

void add_lp_and_global(OpRegistry& r) {
  add(r, "2d_p2", "LpPool", {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}},
      {1, 2, 7, 9});
  add(r, "2d_p1_ceil_dilations", "LpPool",
      {{"kernel_shape", ints({2, 2})}, {"p", one(1)}, {"ceil_mode", one(1)}, {"dilations", ints({2, 1})},
       {"strides", ints({2, 2})}},
      {1, 2, 7, 9});
  add(r, "1d_p3_same_upper", "LpPool", {{"kernel_shape", ints({3})}, {"p", one(3)}, {"auto_pad", text("SAME_UPPER")}},
      {2, 2, 9});
  add(r, "opset13", "LpPool", {{"kernel_shape", ints({2, 2})}}, {1, 2, 5, 5}, DType::kFloat32, 1, 13);
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}) {
    add(r, "2d_7x9", op, {}, {2, 3, 7, 9});
    add(r, "1d", op, {}, {2, 3, 5});
    add(r, "3d", op, {}, {1, 2, 3, 4, 5});
    add(r, "2d_fp16", op, {}, {1, 3, 7, 9}, DType::kFloat16);
    add(r, "2d_bf16", op, {}, {1, 3, 7, 9}, DType::kBFloat16);
    add(r, "empty_batch", op, {}, {0, 3, 4, 4});
  }
  add(r, "p3", "GlobalLpPool", {{"p", one(3)}}, {1, 3, 4, 5});
  add(r, "2d_fp64", "GlobalMaxPool", {}, {1, 3, 4, 5}, DType::kFloat64);
}

}  // namespace

void add_pool_cases(OpRegistry& r) {
  add_max(r);
  add_average(r);
  add_lp_and_global(r);
}

}  // namespace kiln
