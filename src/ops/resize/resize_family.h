// Internal to the resize family (Resize, Upsample, Pad, DepthToSpace,
// SpaceToDepth): the pieces register_resize_ops puts together, and the Resize
// attributes and sizing shared by its inference and its kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/op_schema.h"

namespace kiln {

void register_pad_op(OpRegistry& r);
void register_depth_space_ops(OpRegistry& r);
void add_resize_cases(OpRegistry& r);

enum class ResizeMode { kNearest, kLinear, kCubic };
enum class CoordMode { kHalfPixel, kHalfPixelSymmetric, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfCropAndResize };
enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };
enum class AspectPolicy { kStretch, kNotLarger, kNotSmaller };

struct ResizeAttrs {
  ResizeMode mode = ResizeMode::kNearest;
  CoordMode coord = CoordMode::kHalfPixel;
  NearestMode nearest = NearestMode::kRoundPreferFloor;
  AspectPolicy policy = AspectPolicy::kStretch;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0.0;
  bool antialias = false;
  std::vector<int64_t> axes;  // normalized; every axis when the attribute is absent
};

// Reads and checks the attributes for an input of rank `rank`.
Expected<ResizeAttrs> read_resize_attrs(const Node& node, int64_t rank);

// How each axis is resized, for static input dims.
struct ResizePlan {
  std::vector<int64_t> out;         // output dims
  std::vector<double> scale;        // output / input, as the coordinate transform uses it
  std::vector<double> out_width;    // scale * input: the fractional output length
  std::vector<double> roi_start;    // tf_crop_and_resize region, normalized
  std::vector<double> roi_end;
};

// `scales` / `sizes` / `roi` are null when omitted (or empty). Exactly one of
// scales and sizes must be given; their length is the number of axes.
Expected<ResizePlan> plan_resize(const Node& node, const ResizeAttrs& a, const std::vector<int64_t>& in,
                                 const std::vector<float>* scales, const std::vector<int64_t>* sizes,
                                 const std::vector<double>* roi);

// Writes the resized X into y (already allocated with plan.out dims).
Status resize_kernel(const Node& node, const ResizeAttrs& a, const ResizePlan& plan, const Tensor& x, Tensor& y,
                     const Limits& limits);

}  // namespace kiln
