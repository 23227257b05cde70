// Resize / Upsample / Pad / DepthToSpace / SpaceToDepth cases: odd sizes,
// up- and downsampling, every mode x coordinate transformation, every
// nearest_mode, antialias, axes, aspect policies, tf_crop_and_resize with
// extrapolation, opset-13 input forms, runtime (non-constant) sizes and pads,
// every dtype.
#include "ops/resize/resize_family.h"

namespace kiln {

namespace {

CaseInput data(std::vector<int64_t> dims, DType t = DType::kFloat32) {
  CaseInput c;
  c.dtype = t;
  c.dims = std::move(dims);
  if (!dtype_is_float(t) && t != DType::kBool) {
    c.lo = t == DType::kUInt8 ? 0 : -100;
    c.hi = 100;
  }
  return c;
}

CaseInput floats(std::vector<double> v, bool constant = true) {
  CaseInput c;
  c.dims = {static_cast<int64_t>(v.size())};
  c.fvalues = std::move(v);
  c.constant = constant;
  return c;
}

CaseInput int64s(std::vector<int64_t> v, bool constant = true) {
  CaseInput c;
  c.dtype = DType::kInt64;
  c.dims = {static_cast<int64_t>(v.size())};
  c.values = std::move(v);
  c.constant = constant;
  return c;
}

CaseInput none() {
  CaseInput c;
  c.omitted = true;
  return c;
}

Attr text(const char* s) { return Attr::of_string(s); }

void add(OpRegistry& r, std::string name, const char* op, std::map<std::string, Attr> attrs,
         std::vector<CaseInput> inputs, int64_t opset = 0) {
  OpCase c;
  c.name = std::string(op) + "/" + name;
  c.op = op;
  c.attrs = std::move(attrs);
  DType t = inputs[0].dtype;
  c.tolerance = t == DType::kFloat16 ? 1e-2 : t == DType::kBFloat16 ? 5e-2 : 1e-5;
  c.inputs = std::move(inputs);
  c.opset = opset;
  r.add_case(std::move(c));
}

void add_resize(OpRegistry& r) {
  const char* coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                          "tf_crop_and_resize"};
  const char* modes[] = {"nearest", "linear", "cubic"};
  for (const char* mode : modes)
    for (const char* coord : coords) {
      std::map<std::string, Attr> attrs{{"mode", text(mode)}, {"coordinate_transformation_mode", text(coord)}};
      CaseInput roi = std::string(coord) == "tf_crop_and_resize" ? floats({0, 0, 0.1, 0.2, 1, 1, 0.9, 0.7}) : none();
      add(r, str(mode, "_", coord, "_up"), "Resize", attrs, {data({1, 2, 7, 9}), roi, floats({1, 1, 2, 1.5})});
      add(r, str(mode, "_", coord, "_down"), "Resize", attrs, {data({2, 1, 7, 9}), roi, floats({1, 1, 0.6, 0.35})});
      add(r, str(mode, "_", coord, "_sizes"), "Resize", attrs,
          {data({1, 2, 7, 9}), roi, none(), int64s({1, 2, 4, 13})});
    }
  const char* nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  for (const char* nm : nearest) {
    add(r, str("nearest_", nm, "_up"), "Resize", {{"nearest_mode", text(nm)}}, {data({1, 1, 5, 7}), none(), floats({1, 1, 3, 2.5})});
    add(r, str("nearest_", nm, "_asymmetric_sizes"), "Resize",
        {{"nearest_mode", text(nm)}, {"coordinate_transformation_mode", text("asymmetric")}},
        {data({1, 1, 5, 7}), none(), none(), int64s({1, 1, 8, 3})});
  }
  add(r, "cubic_a_half_exclude_outside", "Resize",
      {{"mode", text("cubic")}, {"cubic_coeff_a", Attr::of_float(-0.5f)}, {"exclude_outside", Attr::of_int(1)}},
      {data({1, 2, 6, 7}), none(), floats({1, 1, 1.7, 0.8})});
  add(r, "linear_exclude_outside", "Resize", {{"mode", text("linear")}, {"exclude_outside", Attr::of_int(1)}},
      {data({1, 2, 5, 5}), none(), floats({1, 1, 2, 2})});
  for (const char* mode : {"linear", "cubic"}) {
    add(r, str(mode, "_antialias_down"), "Resize", {{"mode", text(mode)}, {"antialias", Attr::of_int(1)}},
        {data({1, 2, 13, 11}), none(), floats({1, 1, 0.3, 0.55})});
    add(r, str(mode, "_antialias_sizes_exclude_outside"), "Resize",
        {{"mode", text(mode)}, {"antialias", Attr::of_int(1)}, {"exclude_outside", Attr::of_int(1)}},
        {data({1, 1, 16, 9}), none(), none(), int64s({1, 1, 5, 4})});
    add(r, str(mode, "_antialias_up"), "Resize", {{"mode", text(mode)}, {"antialias", Attr::of_int(1)}},
        {data({1, 1, 4, 5}), none(), floats({1, 1, 2, 1.5})});
  }
  add(r, "axes_2_3_sizes", "Resize", {{"axes", Attr::of_ints({2, 3})}}, {data({1, 2, 5, 7}), none(), none(), int64s({9, 4})});
  add(r, "axes_3_2_scales_linear", "Resize", {{"axes", Attr::of_ints({3, -2})}, {"mode", text("linear")}},
      {data({1, 2, 5, 7}), none(), floats({0.5, 2.2})});
  add(r, "tf_crop_axes_extrapolation", "Resize",
      {{"axes", Attr::of_ints({3, 2})}, {"mode", text("linear")},
       {"coordinate_transformation_mode", text("tf_crop_and_resize")}, {"extrapolation_value", Attr::of_float(7.5f)}},
      {data({1, 2, 5, 7}), floats({-0.2, 0.3, 1.3, 0.9}), none(), int64s({6, 4})});
  for (const char* policy : {"not_larger", "not_smaller"}) {
    add(r, str("nearest_", policy), "Resize", {{"keep_aspect_ratio_policy", text(policy)}, {"axes", Attr::of_ints({2, 3})}},
        {data({1, 2, 5, 7}), none(), none(), int64s({9, 9})});
    add(r, str("linear_", policy, "_down"), "Resize", {{"keep_aspect_ratio_policy", text(policy)}, {"mode", text("linear")}},
        {data({1, 2, 8, 6}), none(), none(), int64s({1, 2, 3, 5})});
  }
  add(r, "trilinear_5d", "Resize", {{"mode", text("linear")}}, {data({1, 2, 3, 4, 5}), none(), floats({1, 1, 2, 1.5, 0.8})});
  add(r, "linear_1d", "Resize", {{"mode", text("linear")}}, {data({7}), none(), floats({2.5})});
  add(r, "opset13_empty_roi_scales", "Resize", {{"mode", text("linear")}},
      {data({1, 2, 5, 5}), floats({}), floats({1, 1, 2, 2})}, 13);
  add(r, "opset13_sizes_empty_scales", "Resize", {{"mode", text("cubic")}},
      {data({1, 2, 5, 5}), floats({}), floats({}), int64s({1, 2, 3, 8})}, 13);
  add(r, "opset18_sizes", "Resize", {{"mode", text("nearest")}}, {data({1, 2, 5, 5}), none(), none(), int64s({1, 2, 3, 8})},
      18);
  add(r, "runtime_sizes", "Resize", {{"mode", text("linear")}},
      {data({1, 2, 5, 5}), none(), none(), int64s({1, 2, 7, 3}, false)});
  add(r, "runtime_scales", "Resize", {{"mode", text("nearest")}}, {data({1, 2, 5, 5}), none(), floats({1, 1, 2, 0.5}, false)});
  for (DType t : {DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt8, DType::kUInt8, DType::kInt32,
                  DType::kInt64}) {
    add(r, str("linear_", dtype_name(t)), "Resize", {{"mode", text("linear")}}, {data({1, 2, 5, 7}, t), none(), floats({1, 1, 1.6, 0.7})});
    add(r, str("nearest_", dtype_name(t)), "Resize", {}, {data({1, 2, 5, 7}, t), none(), floats({1, 1, 1.6, 0.7})});
  }
  add(r, "nearest_bool", "Resize", {}, {data({1, 1, 3, 4}, DType::kBool), none(), floats({1, 1, 2, 2})});
  add(r, "opset9_nearest", "Upsample", {}, {data({1, 2, 3, 4}), floats({1, 1, 2, 3})}, 9);
  add(r, "opset9_linear", "Upsample", {{"mode", text("linear")}}, {data({1, 2, 3, 4}), floats({1, 1, 2.5, 2})}, 9);
  add(r, "opset7_scales_attr", "Upsample", {{"scales", Attr::of_floats({1, 1, 2, 2})}}, {data({1, 2, 3, 3})}, 7);
}

void add_pad(OpRegistry& r) {
  for (const char* mode : {"constant", "reflect", "edge", "wrap"}) {
    add(r, str(mode, "_2d"), "Pad", {{"mode", text(mode)}}, {data({2, 3, 5, 4}), int64s({0, 1, 2, 1, 0, 2, 1, 3})});
    add(r, str(mode, "_negative_pads"), "Pad", {{"mode", text(mode)}}, {data({3, 7}), int64s({-1, 2, 1, -3})});
    add(r, str(mode, "_axes"), "Pad", {{"mode", text(mode)}},
        {data({2, 5, 6}), int64s({2, 1, 3, 0}), none(), int64s({-1, 1})});
    add(r, str(mode, "_long_pads"), "Pad", {{"mode", text(mode)}}, {data({1, 3}), int64s({0, 7, 0, 5})});
  }
  CaseInput value = floats({2.5});
  value.dims = {};
  add(r, "constant_value", "Pad", {}, {data({3, 4}), int64s({1, 0, 2, 3}), value});
  add(r, "runtime_pads", "Pad", {{"mode", text("reflect")}}, {data({2, 5, 4}), int64s({0, 1, 2, 0, 3, 1}, false)});
  add(r, "runtime_axes", "Pad", {}, {data({2, 5, 4}), int64s({1, 2}), none(), int64s({1}, false)});
  add(r, "opset13", "Pad", {{"mode", text("edge")}}, {data({1, 2, 3, 3}), int64s({0, 0, 1, 1, 0, 0, 1, 1})}, 13);
  add(r, "empty_axis_constant", "Pad", {}, {data({0, 3}), int64s({1, 1, 2, 0})});
  for (DType t : {DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kFloat8E4M3FN, DType::kFloat8E5M2,
                  DType::kInt8, DType::kUInt8, DType::kInt32, DType::kInt64, DType::kBool}) {
    add(r, str("reflect_", dtype_name(t)), "Pad", {{"mode", text("reflect")}}, {data({3, 5}, t), int64s({1, 2, 2, 1})});
    CaseInput cv = data({}, t);
    cv.constant = true;
    add(r, str("constant_", dtype_name(t)), "Pad", {}, {data({3, 5}, t), int64s({1, 2, 2, 1}), cv});
  }
}

void add_depth_space(OpRegistry& r) {
  add(r, "dcr_b2", "DepthToSpace", {{"blocksize", Attr::of_int(2)}}, {data({2, 8, 3, 5})});
  add(r, "crd_b2", "DepthToSpace", {{"blocksize", Attr::of_int(2)}, {"mode", text("CRD")}}, {data({2, 8, 3, 5})});
  add(r, "dcr_b3", "DepthToSpace", {{"blocksize", Attr::of_int(3)}}, {data({1, 18, 2, 3})});
  add(r, "b2", "SpaceToDepth", {{"blocksize", Attr::of_int(2)}}, {data({2, 3, 6, 4})});
  add(r, "b3", "SpaceToDepth", {{"blocksize", Attr::of_int(3)}}, {data({1, 2, 9, 6})});
  for (DType t : {DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt8, DType::kUInt8, DType::kInt32,
                  DType::kInt64, DType::kBool}) {
    add(r, str("dcr_", dtype_name(t)), "DepthToSpace", {{"blocksize", Attr::of_int(2)}}, {data({1, 8, 3, 3}, t)});
    add(r, str("b2_", dtype_name(t)), "SpaceToDepth", {{"blocksize", Attr::of_int(2)}}, {data({1, 2, 4, 6}, t)});
  }
}

}  // namespace

void add_resize_cases(OpRegistry& r) {
  add_resize(r);
  add_pad(r);
  add_depth_space(r);
}

}  // namespace kiln
