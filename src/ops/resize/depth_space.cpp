// DepthToSpace (DCR / CRD) and SpaceToDepth on [N, C, H, W]: pure data
// movement, so the kernel copies element bytes (exact for every dtype).
// SpaceToDepth also honours a `mode` attribute (added by later opsets).
#include <cstring>

#include "base/checked_math.h"
#include "ops/resize/resize_family.h"

namespace kiln {

namespace {

struct BlockAttrs {
  int64_t b = 1;
  bool crd = false;
};

Expected<BlockAttrs> read_block_attrs(const Node& node) {
  BlockAttrs a;
  KILN_ASSIGN_OR_RETURN(a.b, node.attr_int("blocksize"));
  if (a.b < 1 || a.b > (int64_t{1} << 20))
    return node.error(ErrorCode::kInvalidArgument, "blocksize must be in [1, 2^20], got ", a.b);
  KILN_ASSIGN_OR_RETURN(std::string mode, node.attr_string("mode", "DCR"));
  if (mode != "DCR" && mode != "CRD")
    return node.error(ErrorCode::kInvalidArgument, "mode '", mode, "' is not one of DCR, CRD");
  a.crd = mode == "CRD";
  return a;
}

// Output dim = in * factor (factor > 0) or in / divisor; symbolic stays unknown.
Expected<Dim> scale_dim(const InferContext& ctx, const Dim& in, int64_t mul, int64_t div, const char* what) {
  if (!in.is_static()) return mul == 1 && div == 1 ? in : ctx.unknown_dim();
  if (in.value % div != 0)
    return ctx.error(what, " (", in.value, ") must be divisible by ", div);
  auto v = checked_mul(in.value / div, mul);
  if (!v) return ctx.error(what, " x blocksize overflows");
  return Dim(*v);
}

Status infer_block(InferContext& ctx, bool to_space) {
  DType t = ctx.input_dtype(0);
  if (t == DType::kFloat8E4M3FN || t == DType::kFloat8E5M2 || t == DType::kUndefined)
    return ctx.unsupported("input has type ", dtype_name(t), ", which ", ctx.node().op, " does not support");
  const Shape& xs = ctx.input_shape(0);
  if (xs.rank() != 4) return ctx.error("input must be 4-D [N, C, H, W], got shape ", xs.to_string());
  KILN_ASSIGN_OR_RETURN(BlockAttrs a, read_block_attrs(ctx.node()));
  const int64_t bb = a.b * a.b;
  std::vector<Dim> out{xs[0]};
  if (to_space) {
    KILN_ASSIGN_OR_RETURN(Dim c, scale_dim(ctx, xs[1], 1, bb, "C"));
    KILN_ASSIGN_OR_RETURN(Dim h, scale_dim(ctx, xs[2], a.b, 1, "H"));
    KILN_ASSIGN_OR_RETURN(Dim w, scale_dim(ctx, xs[3], a.b, 1, "W"));
    out.insert(out.end(), {c, h, w});
  } else {
    KILN_ASSIGN_OR_RETURN(Dim c, scale_dim(ctx, xs[1], bb, 1, "C"));
    KILN_ASSIGN_OR_RETURN(Dim h, scale_dim(ctx, xs[2], 1, a.b, "H"));
    KILN_ASSIGN_OR_RETURN(Dim w, scale_dim(ctx, xs[3], 1, a.b, "W"));
    out.insert(out.end(), {c, h, w});
  }
  ctx.set_output(0, ctx.input_dtype(0), Shape(out));
  return Status::Ok();
}

// The space side is [N, C, H*b, W*b], the depth side [N, C*b*b, H, W]. Depth
// channel of (c, i, j): DCR = (i*b + j)*C + c, CRD = c*b*b + i*b + j.
Status run_block(CpuContext& ctx, bool to_space) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 4) return ctx.error("input must be 4-D [N, C, H, W], got ", dims_to_string(x.dims()));
  KILN_ASSIGN_OR_RETURN(BlockAttrs a, read_block_attrs(ctx.node()));
  const int64_t b = a.b, bb = b * b, N = x.dim(0);
  int64_t C, H, W;  // of the space side, H and W in blocks
  if (to_space) {
    if (x.dim(1) % bb != 0) return ctx.error("C (", x.dim(1), ") must be divisible by blocksize^2 (", bb, ")");
    C = x.dim(1) / bb;
    H = x.dim(2);
    W = x.dim(3);
  } else {
    if (x.dim(2) % b != 0 || x.dim(3) % b != 0)
      return ctx.error("H and W (", x.dim(2), ", ", x.dim(3), ") must be divisible by blocksize ", b);
    C = x.dim(1);
    H = x.dim(2) / b;
    W = x.dim(3) / b;
  }
  auto hb = checked_mul(H, b), wb = checked_mul(W, b), cbb = checked_mul(C, bb);
  if (!hb || !wb || !cbb) return ctx.error("output size overflows");
  std::vector<int64_t> out_dims = to_space ? std::vector<int64_t>{N, C, *hb, *wb} : std::vector<int64_t>{N, *cbb, H, W};
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), out_dims));
  if (y->numel() == 0) return Status::Ok();
  const size_t es = dtype_size(x.dtype());
  const uint8_t* src = x.bytes();
  uint8_t* dst = y->mutable_bytes();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < b; ++i)
        for (int64_t j = 0; j < b; ++j) {
          int64_t dc = a.crd ? c * bb + i * b + j : (i * b + j) * C + c;
          for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w) {
              int64_t space = ((n * C + c) * H * b + h * b + i) * W * b + w * b + j;
              int64_t depth = ((n * C * bb + dc) * H + h) * W + w;
              int64_t from = to_space ? depth : space, to = to_space ? space : depth;
              std::memcpy(dst + static_cast<size_t>(to) * es, src + static_cast<size_t>(from) * es, es);
            }
        }
  return Status::Ok();
}

void add_schema(OpRegistry& r, const char* name, bool to_space) {
  OpSchema s;
  s.name = name;
  s.family = "resize";
  s.infer = [to_space](InferContext& ctx) { return infer_block(ctx, to_space); };
  s.cpu = [to_space](CpuContext& ctx) { return run_block(ctx, to_space); };
  r.add(std::move(s));
}

}  // namespace

void register_depth_space_ops(OpRegistry& r) {
  add_schema(r, "DepthToSpace", true);
  add_schema(r, "SpaceToDepth", false);
}

}  // namespace kiln
