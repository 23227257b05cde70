// NonMaxSuppression: per batch and class, greedily keeps the highest-scoring
// boxes whose IoU with every kept box is at most iou_threshold. The output
// ([selected, 3] of batch, class, box) has a data-dependent length.
#include <algorithm>
#include <cmath>

#include "base/checked_math.h"
#include "ops/index/index_util.h"

namespace kiln::index_family {
namespace {

struct NmsParams {
  int64_t max_per_class = 0;  // absent: no box is selected
  double iou_threshold = 0;
  bool has_score_threshold = false;
  double score_threshold = 0;
  bool center_point_box = false;
};

Status check_nms_shapes(const Node& node, const Shape& boxes, const Shape& scores) {
  if (boxes.rank() != 3 || scores.rank() != 3)
    return node.error(ErrorCode::kInvalidArgument, "boxes must be [batch, boxes, 4] and scores [batch, classes, ",
                      "boxes], got ", boxes.to_string(), " and ", scores.to_string());
  auto differ = [](const Dim& a, const Dim& b) { return a.is_static() && b.is_static() && a.value != b.value; };
  if (boxes[2].is_static() && boxes[2].value != 4)
    return node.error(ErrorCode::kInvalidArgument, "boxes' last dim must be 4, got ", boxes.to_string());
  if (differ(boxes[0], scores[0]) || differ(boxes[1], scores[2]))
    return node.error(ErrorCode::kInvalidArgument, "boxes ", boxes.to_string(), " and scores ", scores.to_string(),
                      " disagree on batch or box count");
  return Status::Ok();
}

Expected<bool> center_point_attr(const Node& node) {
  KILN_ASSIGN_OR_RETURN(int64_t c, node.attr_int("center_point_box", 0));
  if (c != 0 && c != 1) return node.error(ErrorCode::kInvalidArgument, "center_point_box must be 0 or 1, got ", c);
  return c == 1;
}

// Most boxes NMS can select: batch x classes x min(max_output_boxes_per_class,
// boxes), with the box count where the maximum comes at run time; -1 when
// the shapes are not static.
int64_t selected_bound(const InferContext& ctx) {
  const Shape& boxes = ctx.input_shape(0);
  const Shape& scores = ctx.input_shape(1);
  if (!boxes[0].is_static() || !boxes[1].is_static() || !scores[1].is_static()) return -1;
  int64_t per_class = boxes[1].value;
  if (!ctx.has_input(2)) return 0;
  if (const Tensor* m = ctx.input_value(2)) per_class = m->numel() ? std::clamp<int64_t>(m->get_i64(0), 0, per_class) : 0;
  const std::vector<int64_t> dims = {boxes[0].value, scores[1].value, per_class};
  auto n = checked_product(dims);
  return n ? *n : -1;
}

Status infer_nms(InferContext& ctx) {
  const Node& node = ctx.node();
  if (!dtype_is_float(ctx.input_dtype(0)) || !dtype_is_float(ctx.input_dtype(1)))
    return ctx.error("boxes and scores must be float tensors");
  KILN_RETURN_IF_ERROR(check_nms_shapes(node, ctx.input_shape(0), ctx.input_shape(1)));
  KILN_RETURN_IF_ERROR(center_point_attr(node).status());
  if (ctx.has_input(2) && ctx.input_dtype(2) != DType::kInt64)
    return ctx.error("max_output_boxes_per_class must be int64");
  for (size_t i = 3; i < 5; ++i)
    if (ctx.has_input(i) && !dtype_is_float(ctx.input_dtype(i))) return ctx.error("thresholds must be float");
  for (size_t i = 2; i < 5; ++i)
    if (ctx.has_input(i) && ctx.input_rank(i) > 1) return ctx.error("input ", i, " must be a scalar");
  ctx.set_output(0, DType::kInt64, Shape({ctx.unknown_dim("selected", selected_bound(ctx)), Dim(3)}));
  return Status::Ok();
}

// Corners (y1, x1, y2, x2) of box b, ordered min/max per axis.
struct Box {
  double y1, x1, y2, x2;
};

Box read_box(const Tensor& boxes, int64_t offset, bool center) {
  double a = boxes.get_f64(offset), b = boxes.get_f64(offset + 1);
  double c = boxes.get_f64(offset + 2), d = boxes.get_f64(offset + 3);
  if (center)  // [x_center, y_center, width, height]
    return {b - d / 2, a - c / 2, b + d / 2, a + c / 2};
  return {std::min(a, c), std::min(b, d), std::max(a, c), std::max(b, d)};
}

// Whether `b` overlaps `a` by more than the threshold (no overlap, or an
// empty box, never suppresses).
bool suppresses(const Box& a, const Box& b, double threshold) {
  double ix = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  double iy = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (ix <= 0 || iy <= 0) return false;
  double inter = ix * iy;
  double area_a = (a.x2 - a.x1) * (a.y2 - a.y1);
  double area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  double uni = area_a + area_b - inter;
  if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > threshold;
}

Expected<NmsParams> read_params(const CpuContext& ctx) {
  NmsParams p;
  KILN_ASSIGN_OR_RETURN(p.center_point_box, center_point_attr(ctx.node()));
  // An empty optional tensor means the same as an absent one.
  auto given = [&](size_t i) { return ctx.has_input(i) && ctx.input(i).numel() > 0; };
  if (given(2)) p.max_per_class = std::max<int64_t>(ctx.input(2).get_i64(0), 0);
  if (given(3)) p.iou_threshold = ctx.input(3).get_f64(0);
  if (given(4)) {
    p.has_score_threshold = true;
    p.score_threshold = ctx.input(4).get_f64(0);
  }
  return p;
}

Status cpu_nms(CpuContext& ctx) {
  const Tensor& boxes = ctx.input(0);
  const Tensor& scores = ctx.input(1);
  KILN_RETURN_IF_ERROR(check_nms_shapes(ctx.node(), boxes.shape(), scores.shape()));
  KILN_ASSIGN_OR_RETURN(NmsParams p, read_params(ctx));
  int64_t batches = boxes.dim(0), n = boxes.dim(1), classes = scores.dim(1);
  std::vector<int64_t> selected;  // (batch, class, box) triples
  std::vector<int64_t> order;
  std::vector<double> key(static_cast<size_t>(n));
  std::vector<Box> kept;
  for (int64_t b = 0; b < batches; ++b)
    for (int64_t c = 0; c < classes; ++c) {
      int64_t score_base = (b * classes + c) * n;
      order.clear();
      for (int64_t i = 0; i < n; ++i) {
        double s = scores.get_f64(score_base + i);
        // NaN sorts last, which keeps the ordering strict.
        key[static_cast<size_t>(i)] = std::isnan(s) ? -INFINITY : s;
        if (!p.has_score_threshold || s > p.score_threshold) order.push_back(i);
      }
      // Highest score first; equal scores keep the lower box index first.
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
        return key[static_cast<size_t>(x)] > key[static_cast<size_t>(y)];
      });
      kept.clear();
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= p.max_per_class) break;
        Box box = read_box(boxes, (b * n + i) * 4, p.center_point_box);
        bool keep = true;
        for (const Box& k : kept)
          if (suppresses(k, box, p.iou_threshold)) {
            keep = false;
            break;
          }
        if (!keep) continue;
        kept.push_back(box);
        selected.insert(selected.end(), {b, c, i});
      }
    }
  int64_t count = static_cast<int64_t>(selected.size() / 3);
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, DType::kInt64, {count, 3}));
  for (int64_t i = 0; i < count * 3; ++i) out->set_i64(i, selected[static_cast<size_t>(i)]);
  return Status::Ok();
}

}  // namespace

void register_nms_ops(OpRegistry& r) {
  OpSchema s = make_schema("NonMaxSuppression", 2, 5, infer_nms, cpu_nms);
  // Version 11 only states what 10 meant: IoU equal to the threshold keeps the box.
  s.since_opset = 11;
  r.add(std::move(s));
}

}  // namespace kiln::index_family
