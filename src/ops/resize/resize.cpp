// Resize (opsets 13, 18, 19: nearest / linear / cubic, every coordinate
// transformation mode, antialias, axes, keep_aspect_ratio_policy) and the
// deprecated Upsample, which import rewrites into a Resize node. This file
// holds attributes, output sizing and inference; resize_kernel.cpp computes.
#include <cmath>

#include "ops/families.h"
#include "ops/infer.h"
#include "ops/resize/resize_family.h"

namespace kiln {

namespace {

Status bad(const Node& node, const std::string& msg) { return node.error(ErrorCode::kInvalidArgument, msg); }

template <typename E>
Expected<E> read_enum(const Node& node, const char* key, const char* dflt,
                      const std::vector<std::pair<const char*, E>>& values) {
  KILN_ASSIGN_OR_RETURN(std::string s, node.attr_string(key, dflt));
  std::string names;
  for (const auto& [name, v] : values) {
    if (s == name) return v;
    names += str(names.empty() ? "" : ", ", name);
  }
  return bad(node, str(key, " '", s, "' is not one of ", names));
}

Expected<bool> read_flag(const Node& node, const char* key) {
  KILN_ASSIGN_OR_RETURN(int64_t v, node.attr_int(key, 0));
  if (v != 0 && v != 1) return bad(node, str(key, " must be 0 or 1, got ", v));
  return v == 1;
}

// Output size of one axis from a scale: floor(in * scale) in float, as ONNX
// shape inference and onnxruntime compute it.
Expected<int64_t> scaled_size(const Node& node, int64_t in, float scale, int64_t axis) {
  if (!(scale > 0) || !std::isfinite(scale)) return bad(node, str("scale ", scale, " of axis ", axis, " must be > 0"));
  float out = std::floor(static_cast<float>(in) * scale);
  if (!(out < 4.6e18f)) return bad(node, str("output size of axis ", axis, " overflows"));
  return static_cast<int64_t>(out);
}

bool is_supported_data(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kFloat16: case DType::kBFloat16: case DType::kFloat64:
    case DType::kInt8: case DType::kUInt8: case DType::kInt32: case DType::kInt64: case DType::kBool:
      return true;
    default:
      return false;
  }
}

}  // namespace

Expected<ResizeAttrs> read_resize_attrs(const Node& node, int64_t rank) {
  ResizeAttrs a;
  KILN_ASSIGN_OR_RETURN(a.mode, read_enum<ResizeMode>(node, "mode", "nearest",
                                                     {{"nearest", ResizeMode::kNearest},
                                                      {"linear", ResizeMode::kLinear},
                                                      {"cubic", ResizeMode::kCubic}}));
  KILN_ASSIGN_OR_RETURN(a.coord, read_enum<CoordMode>(node, "coordinate_transformation_mode", "half_pixel",
                                                     {{"half_pixel", CoordMode::kHalfPixel},
                                                      {"half_pixel_symmetric", CoordMode::kHalfPixelSymmetric},
                                                      {"pytorch_half_pixel", CoordMode::kPytorchHalfPixel},
                                                      {"align_corners", CoordMode::kAlignCorners},
                                                      {"asymmetric", CoordMode::kAsymmetric},
                                                      {"tf_crop_and_resize", CoordMode::kTfCropAndResize}}));
  KILN_ASSIGN_OR_RETURN(a.nearest, read_enum<NearestMode>(node, "nearest_mode", "round_prefer_floor",
                                                         {{"round_prefer_floor", NearestMode::kRoundPreferFloor},
                                                          {"round_prefer_ceil", NearestMode::kRoundPreferCeil},
                                                          {"floor", NearestMode::kFloor},
                                                          {"ceil", NearestMode::kCeil}}));
  KILN_ASSIGN_OR_RETURN(a.policy, read_enum<AspectPolicy>(node, "keep_aspect_ratio_policy", "stretch",
                                                         {{"stretch", AspectPolicy::kStretch},
                                                          {"not_larger", AspectPolicy::kNotLarger},
                                                          {"not_smaller", AspectPolicy::kNotSmaller}}));
  KILN_ASSIGN_OR_RETURN(float cubic_a, node.attr_float("cubic_coeff_a", -0.75f));
  KILN_ASSIGN_OR_RETURN(float extrapolation, node.attr_float("extrapolation_value", 0.0f));
  a.cubic_a = cubic_a;
  a.extrapolation = extrapolation;
  KILN_ASSIGN_OR_RETURN(a.exclude_outside, read_flag(node, "exclude_outside"));
  KILN_ASSIGN_OR_RETURN(a.antialias, read_flag(node, "antialias"));
  if (node.has_attr("axes")) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, node.attr_ints("axes"));
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    for (int64_t axis : axes) {
      auto n = normalize_axis(axis, rank, "axes");
      if (!n.ok()) return n.status().with_context(node.label());
      if (seen[static_cast<size_t>(*n)]) return bad(node, str("axis ", axis, " appears twice in axes"));
      seen[static_cast<size_t>(*n)] = true;
      a.axes.push_back(*n);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) a.axes.push_back(i);
  }
  return a;
}

Expected<ResizePlan> plan_resize(const Node& node, const ResizeAttrs& a, const std::vector<int64_t>& in,
                                 const std::vector<float>* scales, const std::vector<int64_t>* sizes,
                                 const std::vector<double>* roi) {
  const size_t r = in.size(), n = a.axes.size();
  if (scales && sizes) return bad(node, "scales and sizes cannot both be given");
  if (!scales && !sizes) return bad(node, "one of scales and sizes must be given");
  ResizePlan p;
  p.out = in;
  p.scale.assign(r, 1.0);
  p.roi_start.assign(r, 0.0);
  p.roi_end.assign(r, 1.0);
  for (int64_t d : in) p.out_width.push_back(static_cast<double>(d));
  if (roi && a.coord == CoordMode::kTfCropAndResize) {
    if (roi->size() != 2 * n) return bad(node, str("roi has ", roi->size(), " values; expected ", 2 * n));
    for (size_t i = 0; i < n; ++i) {
      p.roi_start[static_cast<size_t>(a.axes[i])] = (*roi)[i];
      p.roi_end[static_cast<size_t>(a.axes[i])] = (*roi)[n + i];
    }
  }
  const std::vector<int64_t>& axes = a.axes;
  if (scales) {
    if (scales->size() != n) return bad(node, str("scales has ", scales->size(), " values; expected ", n));
    for (size_t i = 0; i < n; ++i) {
      size_t d = static_cast<size_t>(axes[i]);
      KILN_ASSIGN_OR_RETURN(p.out[d], scaled_size(node, in[d], (*scales)[i], axes[i]));
      p.scale[d] = (*scales)[i];
      p.out_width[d] = p.scale[d] * static_cast<double>(in[d]);
    }
    return p;
  }
  if (sizes->size() != n) return bad(node, str("sizes has ", sizes->size(), " values; expected ", n));
  for (size_t i = 0; i < n; ++i) {
    int64_t s = (*sizes)[i], d = in[static_cast<size_t>(axes[i])];
    if (s < 0 || s > (int64_t{1} << 40)) return bad(node, str("sizes value ", s, " of axis ", axes[i], " is out of range"));
    if (d == 0 && s != 0) return bad(node, str("cannot resize axis ", axes[i], " of size 0 to size ", s));
  }
  if (a.policy == AspectPolicy::kStretch) {
    for (size_t i = 0; i < n; ++i) {
      size_t d = static_cast<size_t>(axes[i]);
      p.out[d] = (*sizes)[i];
      p.scale[d] = in[d] == 0 ? 1.0 : static_cast<double>(p.out[d]) / static_cast<double>(in[d]);
      p.out_width[d] = static_cast<double>(p.out[d]);
    }
    return p;
  }
  // One scale for every axis, so the aspect ratio is kept.
  double scale = a.policy == AspectPolicy::kNotLarger ? INFINITY : 0.0;
  for (size_t i = 0; i < n; ++i) {
    int64_t d = in[static_cast<size_t>(axes[i])];
    if (d == 0) continue;
    double s = static_cast<double>((*sizes)[i]) / static_cast<double>(d);
    scale = a.policy == AspectPolicy::kNotLarger ? std::min(scale, s) : std::max(scale, s);
  }
  if (!std::isfinite(scale)) scale = 1.0;
  for (size_t i = 0; i < n; ++i) {
    size_t d = static_cast<size_t>(axes[i]);
    p.out[d] = static_cast<int64_t>(std::floor(scale * static_cast<double>(in[d]) + 0.5));
    p.scale[d] = scale;
    p.out_width[d] = scale * static_cast<double>(in[d]);
  }
  return p;
}

namespace {

// Whether optional input i is given and not an empty tensor (opset 13
// models pass an empty scales next to sizes). Unknown when not static.
bool present(const InferContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return false;
  const Shape& s = ctx.input_shape(i);
  return !(s.rank() == 1 && s[0].is_static() && s[0].value == 0);
}

Status infer_resize(InferContext& ctx) {
  const Node& node = ctx.node();
  DType t = ctx.input_dtype(0);
  if (!is_supported_data(t)) return ctx.unsupported("input X has type ", dtype_name(t), ", which Resize does not support");
  const Shape& xs = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(xs.rank());
  KILN_ASSIGN_OR_RETURN(ResizeAttrs a, read_resize_attrs(node, rank));
  const char* names[] = {"X", "roi", "scales", "sizes"};
  for (size_t i = 1; i < 4 && i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    if (ctx.input_rank(i) != 1) return ctx.error(names[i], " must be 1-D, got shape ", ctx.input_shape(i).to_string());
    DType it = ctx.input_dtype(i);
    bool ok = i == 3 ? (it == DType::kInt64 || it == DType::kInt32) : dtype_is_float(it);
    if (!ok) return ctx.error(names[i], " has type ", dtype_name(it), i == 3 ? "; expected int64" : "; expected float");
  }
  bool has_scales = present(ctx, 2), has_sizes = present(ctx, 3);
  if (has_scales && has_sizes && ctx.input_shape(2)[0].is_static() && ctx.input_shape(3)[0].is_static())
    return ctx.error("scales and sizes cannot both be given");
  if (!has_scales && !has_sizes) return ctx.error("one of scales and sizes must be given");
  const Tensor* scales_t = has_scales ? ctx.input_value(2) : nullptr;
  const Tensor* sizes_t = has_sizes ? ctx.input_value(3) : nullptr;
  std::vector<Dim> out = xs.dims;
  if (!scales_t && !sizes_t) {  // sizes come at run time
    for (int64_t axis : a.axes) out[static_cast<size_t>(axis)] = ctx.unknown_dim();
    ctx.set_output(0, t, Shape(out));
    return Status::Ok();
  }
  // Validate the constants on a stand-in input (symbolic dims as 1), then keep
  // only the dims that do not depend on a symbolic input size.
  std::vector<int64_t> in;
  bool resized_static = true;
  for (const Dim& d : xs.dims) in.push_back(d.is_static() ? d.value : 1);
  for (int64_t axis : a.axes) resized_static = resized_static && xs[static_cast<size_t>(axis)].is_static();
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  if (scales_t)
    for (double v : scales_t->to_f64_vector()) scales.push_back(static_cast<float>(v));
  if (sizes_t) sizes = sizes_t->to_i64_vector();
  const Tensor* roi_t = ctx.has_input(1) ? ctx.input_value(1) : nullptr;
  std::vector<double> roi;
  if (roi_t) roi = roi_t->to_f64_vector();
  KILN_ASSIGN_OR_RETURN(ResizePlan plan, plan_resize(node, a, in, scales_t ? &scales : nullptr,
                                                     sizes_t ? &sizes : nullptr, roi_t ? &roi : nullptr));
  for (int64_t axis : a.axes) {
    size_t d = static_cast<size_t>(axis);
    if (scales_t)
      out[d] = xs[d].is_static() ? Dim(plan.out[d]) : plan.scale[d] == 1.0 ? xs[d] : ctx.unknown_dim();
    else
      out[d] = a.policy == AspectPolicy::kStretch || resized_static ? Dim(plan.out[d]) : ctx.unknown_dim();
  }
  ctx.set_output(0, t, Shape(out));
  return Status::Ok();
}

Status run_resize(CpuContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(ResizeAttrs a, read_resize_attrs(node, x.rank()));
  auto given = [&](size_t i) { return ctx.has_input(i) && ctx.input(i).numel() > 0; };
  std::vector<double> roi;
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  if (given(1)) roi = ctx.input(1).to_f64_vector();
  if (given(2))
    for (double v : ctx.input(2).to_f64_vector()) scales.push_back(static_cast<float>(v));
  if (given(3)) sizes = ctx.input(3).to_i64_vector();
  KILN_ASSIGN_OR_RETURN(ResizePlan plan, plan_resize(node, a, x.dims(), given(2) ? &scales : nullptr,
                                                     given(3) ? &sizes : nullptr, given(1) ? &roi : nullptr));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), plan.out));
  if (y->numel() == 0) return Status::Ok();
  return resize_kernel(node, a, plan, x, *y, ctx.limits());
}

// Upsample (opsets 7-10) is Resize with asymmetric coordinates: nearest
// rounds down, linear interpolates. Opset 7/8 give scales as an attribute.
Status upgrade_upsample(Node& node, Graph& graph) {
  KILN_ASSIGN_OR_RETURN(std::string mode, node.attr_string("mode", "nearest"));
  if (mode == "nearest") {
    node.attrs["nearest_mode"] = Attr::of_string("floor");
  } else if (mode == "linear" || mode == "bilinear") {
    mode = "linear";
  } else {
    return bad(node, str("mode '", mode, "' is not one of nearest, linear"));
  }
  node.attrs["mode"] = Attr::of_string(mode);
  node.attrs["coordinate_transformation_mode"] = Attr::of_string("asymmetric");
  Value* x = node.inputs.empty() ? nullptr : node.inputs[0];
  if (!x) return bad(node, "input X is missing");
  if (node.opset < 9) {
    if (node.inputs.size() > 1) return bad(node, str("takes 1 input at opset ", node.opset));
    if (!node.has_attr("scales")) return bad(node, "attribute scales is required");
    KILN_ASSIGN_OR_RETURN(std::vector<float> scales, node.attr_floats("scales"));
    node.attrs.erase("scales");
    add_constant_input(graph, node, 2, Tensor::from_f32(scales, {static_cast<int64_t>(scales.size())}), "scales");
  } else {
    if (node.inputs.size() != 2 || !node.inputs[1]) return bad(node, "takes inputs X and scales");
    node.inputs = {x, nullptr, node.inputs[1]};
  }
  node.op = "Resize";
  node.opset = 13;
  return Status::Ok();
}

Status upsample_not_upgraded(const Node& node) {
  return node.error(ErrorCode::kInternal, "Upsample must be rewritten to Resize (its upgrade) before use");
}

}  // namespace

void register_resize_ops(OpRegistry& r) {
  OpSchema resize;
  resize.name = "Resize";
  resize.family = "resize";
  resize.min_inputs = 1;
  resize.max_inputs = 4;
  resize.infer = infer_resize;
  resize.cpu = run_resize;
  r.add(std::move(resize));

  OpSchema upsample;
  upsample.name = "Upsample";
  upsample.family = "resize";
  upsample.since_opset = 7;
  upsample.max_inputs = 2;
  upsample.upgrade = upgrade_upsample;
  upsample.infer = [](InferContext& ctx) { return upsample_not_upgraded(ctx.node()); };
  upsample.cpu = [](CpuContext& ctx) { return upsample_not_upgraded(ctx.node()); };
  r.add(std::move(upsample));

  register_pad_op(r);
  register_depth_space_ops(r);
  add_resize_cases(r);
}

}  // namespace kiln
