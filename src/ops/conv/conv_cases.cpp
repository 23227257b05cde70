// Conv and ConvTranspose cases: odd spatial sizes, strides that do not divide
// the input, asymmetric pads, every auto_pad, groups and depthwise, dilations,
// 1D/3D, bias present and absent, each float dtype.
#include "ops/conv/conv_family.h"

namespace kiln {

namespace {

CaseInput data(std::vector<int64_t> dims, DType t = DType::kFloat32) {
  CaseInput c;
  c.dtype = t;
  c.dims = std::move(dims);
  return c;
}

CaseInput weight(std::vector<int64_t> dims, DType t = DType::kFloat32) {
  CaseInput c = data(std::move(dims), t);
  c.constant = true;
  return c;
}

CaseInput none() {
  CaseInput c;
  c.omitted = true;
  return c;
}

Attr ints(std::vector<int64_t> v) { return Attr::of_ints(std::move(v)); }

void add(OpRegistry& r, std::string name, const char* op, std::map<std::string, Attr> attrs,
         std::vector<CaseInput> inputs, double tol = 1e-5, int64_t opset = 0) {
  OpCase c;
  c.name = std::string(op) + "/" + name;
  c.op = op;
  c.attrs = std::move(attrs);
  c.inputs = std::move(inputs);
  c.tolerance = tol;
  c.opset = opset;
  r.add_case(std::move(c));
}

double tol_for(DType t) {
  switch (t) {
    case DType::kFloat16: return 1e-2;
    case DType::kBFloat16: return 5e-2;
    case DType::kFloat64: return 1e-12;
    default: return 1e-5;
  }
}

void add_conv(OpRegistry& r) {
  const char* op = "Conv";
  add(r, "2d_7x9_k3_pad1_bias", op, {{"pads", ints({1, 1, 1, 1})}},
      {data({2, 3, 7, 9}), weight({4, 3, 3, 3}), weight({4})});
  add(r, "2d_7x9_stride2_pad1", op, {{"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}},
      {data({1, 3, 7, 9}), weight({5, 3, 3, 3}), weight({5})});
  add(r, "2d_stride3x2_asym_pads", op, {{"strides", ints({3, 2})}, {"pads", ints({0, 1, 2, 0})}},
      {data({1, 2, 8, 7}), weight({3, 2, 3, 2})});
  add(r, "2d_group2", op, {{"group", Attr::of_int(2)}, {"pads", ints({1, 0, 1, 0})}},
      {data({2, 4, 6, 5}), weight({6, 2, 3, 3}), weight({6})});
  add(r, "2d_depthwise_stride2_same_upper", op,
      {{"group", Attr::of_int(5)}, {"strides", ints({2, 2})}, {"auto_pad", Attr::of_string("SAME_UPPER")}},
      {data({1, 5, 7, 9}), weight({5, 1, 3, 3}), weight({5})});
  add(r, "2d_depthwise_multiplier2", op, {{"group", Attr::of_int(3)}, {"pads", ints({2, 2, 2, 2})}},
      {data({1, 3, 5, 5}), weight({6, 1, 5, 5})});
  add(r, "2d_same_lower_k4_stride3", op, {{"strides", ints({3, 3})}, {"auto_pad", Attr::of_string("SAME_LOWER")}},
      {data({1, 2, 7, 8}), weight({2, 2, 4, 4})});
  add(r, "2d_valid_stride2", op, {{"strides", ints({2, 2})}, {"auto_pad", Attr::of_string("VALID")}},
      {data({1, 2, 7, 9}), weight({3, 2, 3, 2})});
  add(r, "2d_dilation2_pad2", op, {{"dilations", ints({2, 2})}, {"pads", ints({2, 2, 2, 2})}},
      {data({1, 2, 7, 9}), weight({2, 2, 3, 3})});
  add(r, "2d_dilation_same_upper", op, {{"dilations", ints({2, 3})}, {"auto_pad", Attr::of_string("SAME_UPPER")}},
      {data({1, 1, 6, 7}), weight({2, 1, 2, 3})});
  add(r, "2d_kernel_shape_attr_1x1_stride2", op, {{"kernel_shape", ints({1, 1})}, {"strides", ints({2, 2})}},
      {data({2, 8, 7, 9}), weight({4, 8, 1, 1})});
  add(r, "2d_weights_not_constant", op, {{"pads", ints({1, 1, 1, 1})}},
      {data({1, 2, 5, 4}), data({3, 2, 3, 3}), data({3})});
  add(r, "2d_kernel_equals_input", op, {}, {data({1, 3, 4, 5}), weight({2, 3, 4, 5}), weight({2})});
  add(r, "1d_dilation2_stride2", op, {{"dilations", ints({2})}, {"strides", ints({2})}, {"pads", ints({1, 2})}},
      {data({2, 3, 11}), weight({4, 3, 3}), weight({4})});
  add(r, "3d_k2_stride2_pad", op, {{"strides", ints({2, 2, 2})}, {"pads", ints({1, 0, 1, 0, 1, 1})}},
      {data({1, 2, 5, 6, 7}), weight({3, 2, 2, 3, 2}), weight({3})});
  add(r, "3d_group2_same_upper", op, {{"group", Attr::of_int(2)}, {"auto_pad", Attr::of_string("SAME_UPPER")}},
      {data({1, 4, 3, 4, 5}), weight({4, 2, 3, 3, 3})});
  add(r, "empty_batch", op, {{"pads", ints({1, 1, 1, 1})}}, {data({0, 2, 5, 5}), weight({3, 2, 3, 3})});
  add(r, "opset13", op, {{"pads", ints({1, 1, 1, 1})}}, {data({1, 2, 5, 6}), weight({3, 2, 3, 3}), weight({3})},
      1e-5, 13);
  for (DType t : {DType::kFloat16, DType::kBFloat16, DType::kFloat64})
    add(r, std::string("2d_stride2_") + dtype_name(t), op, {{"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}},
        {data({1, 3, 7, 9}, t), weight({4, 3, 3, 3}, t), weight({4}, t)}, tol_for(t));
}

void add_conv_transpose(OpRegistry& r) {
  const char* op = "ConvTranspose";
  add(r, "2d_stride2_bias", op, {{"strides", ints({2, 2})}},
      {data({1, 3, 3, 4}), weight({3, 2, 3, 3}), weight({2})});
  add(r, "2d_stride2_pads_output_padding", op,
      {{"strides", ints({2, 3})}, {"pads", ints({1, 0, 1, 2})}, {"output_padding", ints({1, 2})}},
      {data({2, 2, 4, 3}), weight({2, 3, 3, 3}), weight({3})});
  add(r, "2d_output_shape", op, {{"strides", ints({2, 2})}, {"output_shape", ints({8, 9})}},
      {data({1, 2, 4, 4}), weight({2, 2, 3, 3})});
  add(r, "2d_output_shape_same_upper", op,
      {{"strides", ints({2, 2})}, {"output_shape", ints({7, 8})}, {"auto_pad", Attr::of_string("SAME_UPPER")}},
      {data({1, 2, 4, 4}), weight({2, 2, 3, 3})});
  add(r, "2d_same_upper", op, {{"strides", ints({2, 2})}, {"auto_pad", Attr::of_string("SAME_UPPER")}},
      {data({1, 1, 3, 5}), weight({1, 2, 3, 4})});
  add(r, "2d_same_lower", op, {{"strides", ints({2, 2})}, {"auto_pad", Attr::of_string("SAME_LOWER")}},
      {data({1, 1, 3, 5}), weight({1, 2, 3, 4})});
  add(r, "2d_valid_dilations", op, {{"dilations", ints({2, 3})}, {"auto_pad", Attr::of_string("VALID")}},
      {data({1, 2, 3, 4}), weight({2, 1, 2, 3})});
  add(r, "2d_group2", op, {{"group", Attr::of_int(2)}, {"strides", ints({2, 1})}},
      {data({1, 4, 3, 5}), weight({4, 3, 3, 2}), weight({6})});
  add(r, "2d_depthwise", op, {{"group", Attr::of_int(3)}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}},
      {data({2, 3, 4, 5}), weight({3, 1, 4, 4})});
  add(r, "1d_stride3_dilation2", op,
      {{"strides", ints({3})}, {"dilations", ints({2})}, {"output_padding", ints({2})}},
      {data({2, 2, 5}), weight({2, 3, 3}), weight({3})});
  add(r, "3d_stride2", op, {{"strides", ints({2, 2, 2})}, {"pads", ints({0, 1, 0, 1, 0, 1})}},
      {data({1, 2, 3, 4, 3}), weight({2, 2, 2, 3, 3})});
  add(r, "opset13_kernel_shape", op, {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}},
      {data({1, 2, 3, 3}), weight({2, 2, 3, 3})}, 1e-5, 13);
  for (DType t : {DType::kFloat16, DType::kBFloat16, DType::kFloat64})
    add(r, std::string("2d_stride2_") + dtype_name(t), op, {{"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}},
        {data({1, 2, 5, 4}, t), weight({2, 3, 3, 3}, t), weight({3}, t)}, tol_for(t));
  add(r, "2d_bias_omitted", op, {{"strides", ints({2, 2})}}, {data({1, 2, 3, 3}), weight({2, 2, 3, 3}), none()});
}

}  // namespace

void add_conv_cases(OpRegistry& r) {
  add_conv(r);
  add_conv_transpose(r);
}

}  // namespace kiln
