#include "ops/quant/quant_util.h"

namespace kiln {

Expected<QuantLayoutAttrs> read_layout_attrs(const Node& node) {
  QuantLayoutAttrs a;
  KILN_ASSIGN_OR_RETURN(a.axis, node.attr_int("axis", 1));
  KILN_ASSIGN_OR_RETURN(a.block_size, node.attr_int("block_size", 0));
  if (a.block_size < 0)
    return node.error(ErrorCode::kInvalidArgument, "attribute 'block_size' is ", a.block_size,
                      "; it must be 0 (not blocked) or positive");
  return a;
}

namespace {

bool differ(const Dim& a, const Dim& b) { return a.is_static() && b.is_static() && a.value != b.value; }

bool holds_one_value(const Shape& s) {
  auto n = s.numel();
  return n.ok() && *n == 1;
}

}  // namespace

Expected<QuantLayout> check_layout(const Node& node, const QuantLayoutAttrs& attrs, const Shape& x, const Shape& scale,
                                   const Shape* zero_point) {
  if (zero_point) {
    // Exporters pair a scalar scale with a [1] zero point; allow any one-value pair.
    bool same_rank = zero_point->rank() == scale.rank();
    bool match = same_rank;
    for (size_t d = 0; match && d < scale.rank(); ++d)
      if (differ((*zero_point)[d], scale[d])) match = false;
    if (!match && !(holds_one_value(*zero_point) && holds_one_value(scale)))
      return node.error(ErrorCode::kInvalidArgument, "zero point shape ", zero_point->to_string(),
                        " must equal the scale shape ", scale.to_string());
  }
  QuantLayout layout;
  int64_t xr = static_cast<int64_t>(x.rank());
  // One scale value is per tensor (a blocked scale of x's rank is still checked).
  if (scale.rank() == 0 ||
      (holds_one_value(scale) && (attrs.block_size == 0 || static_cast<int64_t>(scale.rank()) != xr)))
    return layout;
  auto axis = normalize_axis(attrs.axis, xr, "axis");
  if (!axis.ok()) return node.error(ErrorCode::kInvalidArgument, axis.status().message(), " (x has rank ", xr, ")");
  layout.axis = *axis;
  size_t ax = static_cast<size_t>(*axis);
  if (attrs.block_size == 0) {
    if (scale.rank() != 1)
      return node.error(ErrorCode::kInvalidArgument, "scale shape ", scale.to_string(),
                        " must be a scalar or 1-D (per-axis) unless block_size is set");
    if (differ(scale[0], x[ax]))
      return node.error(ErrorCode::kInvalidArgument, "per-axis scale has ", scale[0].value, " values but x dim ", ax,
                        " is ", x[ax].value);
    layout.kind = QuantLayout::kPerAxis;
    return layout;
  }
  if (static_cast<int64_t>(scale.rank()) != xr)
    return node.error(ErrorCode::kInvalidArgument, "blocked quantization needs a scale of x's rank ", xr, ", got ",
                      scale.to_string());
  for (size_t d = 0; d < scale.rank(); ++d) {
    if (d != ax) {
      if (differ(scale[d], x[d]))
        return node.error(ErrorCode::kInvalidArgument, "blocked scale shape ", scale.to_string(),
                          " must match x shape ", x.to_string(), " except on axis ", ax);
      continue;
    }
    if (!x[d].is_static() || !scale[d].is_static()) continue;
    int64_t n = x[d].value, b = attrs.block_size;
    int64_t blocks = n / b + (n % b != 0 ? 1 : 0);
    if (scale[d].value != blocks)
      return node.error(ErrorCode::kInvalidArgument, "blocked scale has ", scale[d].value, " blocks on axis ", ax,
                        " but x dim ", n, " with block_size ", b, " needs ", blocks);
  }
  layout.kind = QuantLayout::kBlocked;
  layout.block_size = attrs.block_size;
  return layout;
}

ScaleIndex::ScaleIndex(const QuantLayout& layout, const std::vector<int64_t>& x_dims) : kind_(layout.kind) {
  if (kind_ == QuantLayout::kPerTensor) return;
  size_t ax = static_cast<size_t>(layout.axis);
  dim_ = x_dims[ax];
  for (size_t d = ax + 1; d < x_dims.size(); ++d) inner_ *= x_dims[d];
  if (kind_ == QuantLayout::kBlocked) {
    block_ = layout.block_size;
    scale_dim_ = dim_ / block_ + (dim_ % block_ != 0 ? 1 : 0);
  }
}

int64_t ScaleIndex::operator()(int64_t i) const {
  switch (kind_) {
    case QuantLayout::kPerTensor:
      return 0;
    case QuantLayout::kPerAxis:
      return (i / inner_) % dim_;
    case QuantLayout::kBlocked: {
      int64_t outer = i / (dim_ * inner_);
      int64_t along = (i / inner_) % dim_;
      int64_t within = i % inner_;
      return (outer * scale_dim_ + along / block_) * inner_ + within;
    }
  }
  return 0;
}

}  // namespace kiln
