// MaxPool (with the optional Indices output), AveragePool, LpPool and their
// Global forms. Window geometry (kernel, strides, dilations, pads, auto_pad,
// ceil_mode) comes from ops/conv/window.h, shared with Conv. The reference
// kernel precomputes, per spatial axis and output position, which input
// positions the window covers; the window of one output element is the
// product of those per-axis lists, walked in row-major order (which fixes
// MaxPool's tie-breaking: the first maximum wins).
#include <algorithm>
#include <cmath>

#include "base/checked_math.h"
#include "ops/conv/window.h"
#include "ops/families.h"

namespace kiln {

void add_pool_cases(OpRegistry& r);

namespace {

enum class PoolKind { kMax, kAverage, kLp };

struct PoolAttrs {
  WindowAttrs window;
  int64_t storage_order = 0;      // MaxPool
  bool count_include_pad = false;  // AveragePool
  int64_t p = 2;                   // LpPool
};

bool is_float(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16 || t == DType::kFloat64;
}

Status check_pool_dtype(const InferContext& ctx, PoolKind kind) {
  DType t = ctx.input_dtype(0);
  if (is_float(t)) return Status::Ok();
  if (kind == PoolKind::kMax && (t == DType::kInt8 || t == DType::kUInt8)) return Status::Ok();
  return ctx.unsupported("input X has type ", dtype_name(t), "; ", ctx.node().op, " supports float32, float16, ",
                         "bfloat16, float64", kind == PoolKind::kMax ? ", int8 and uint8" : "");
}

Expected<int64_t> read_flag(const Node& node, const char* key, int64_t dflt) {
  KILN_ASSIGN_OR_RETURN(int64_t v, node.attr_int(key, dflt));
  if (v != 0 && v != 1) return node.error(ErrorCode::kInvalidArgument, key, " must be 0 or 1, got ", v);
  return v;
}

Expected<int64_t> read_p(const Node& node) {
  KILN_ASSIGN_OR_RETURN(int64_t p, node.attr_int("p", 2));
  if (p < 1 || p > 1000) return node.error(ErrorCode::kInvalidArgument, "p must be in [1, 1000], got ", p);
  return p;
}

Expected<PoolAttrs> read_pool_attrs(const Node& node, PoolKind kind, size_t nsp) {
  PoolAttrs a;
  KILN_ASSIGN_OR_RETURN(a.window, read_window_attrs(node, nsp, true));
  if (kind == PoolKind::kMax) {
    KILN_ASSIGN_OR_RETURN(a.storage_order, read_flag(node, "storage_order", 0));
  } else if (kind == PoolKind::kAverage) {
    KILN_ASSIGN_OR_RETURN(int64_t cip, read_flag(node, "count_include_pad", 0));
    a.count_include_pad = cip == 1;
  } else {
    KILN_ASSIGN_OR_RETURN(a.p, read_p(node));
  }
  return a;
}

Status infer_pool(InferContext& ctx, PoolKind kind) {
  KILN_RETURN_IF_ERROR(check_pool_dtype(ctx, kind));
  const Shape& xs = ctx.input_shape(0);
  if (xs.rank() < 3) return ctx.error("X must have rank >= 3 (N, C, spatial...), got shape ", xs.to_string());
  size_t nsp = xs.rank() - 2;
  KILN_ASSIGN_OR_RETURN(PoolAttrs a, read_pool_attrs(ctx.node(), kind, nsp));
  std::vector<Dim> out{xs[0], xs[1]};
  for (size_t i = 0; i < nsp; ++i) {
    KILN_ASSIGN_OR_RETURN(Dim d, forward_dim(ctx, a.window, i, xs[i + 2], true));
    out.push_back(d);
  }
  ctx.set_output(0, ctx.input_dtype(0), Shape(out));
  if (kind == PoolKind::kMax && ctx.num_outputs() > 1) ctx.set_output(1, DType::kInt64, Shape(out));
  return Status::Ok();
}

// Per spatial axis and output position: the input positions the window
// covers (first, first + step, ... count of them), and how many taps fall
// inside the input or its pads (the divisor of AveragePool with
// count_include_pad).
struct AxisTaps {
  std::vector<int64_t> first, count, padded_count;
  int64_t step = 1;
};

AxisTaps axis_taps(const WindowAttrs& a, size_t axis, int64_t in, const AxisWindow& w) {
  AxisTaps t;
  const int64_t K = a.kernel[axis], s = a.strides[axis], d = a.dilations[axis];
  t.step = d;
  for (int64_t o = 0; o < w.out; ++o) {
    // Tap k reads position base + k * d.
    const int64_t base = o * s - w.pad_begin;
    const int64_t k_lo = std::max<int64_t>(0, -floor_div(base, d));
    const int64_t k_hi = std::min(K, floor_div(in - 1 - base, d) + 1);
    t.first.push_back(base + k_lo * d);
    t.count.push_back(std::max<int64_t>(0, k_hi - k_lo));
    t.padded_count.push_back(std::clamp<int64_t>(floor_div(in + w.pad_end - 1 - base, d) + 1, 0, K));
  }
  return t;
}

Status run_pool(CpuContext& ctx, PoolKind kind) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3) return ctx.error("X must have rank >= 3 (N, C, spatial...), got ", dims_to_string(x.dims()));
  const size_t nsp = static_cast<size_t>(x.rank() - 2);
  KILN_ASSIGN_OR_RETURN(PoolAttrs a, read_pool_attrs(node, kind, nsp));
  std::vector<int64_t> in(x.dims().begin() + 2, x.dims().end());
  std::vector<int64_t> out_dims{x.dim(0), x.dim(1)};
  std::vector<AxisWindow> windows;
  for (size_t i = 0; i < nsp; ++i) {
    KILN_ASSIGN_OR_RETURN(AxisWindow w, forward_axis(node, a.window, i, in[i], true));
    windows.push_back(w);
    out_dims.push_back(w.out);
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), out_dims));
  Tensor* indices = nullptr;
  if (kind == PoolKind::kMax && ctx.wants_output(1)) {
    KILN_ASSIGN_OR_RETURN(indices, ctx.alloc_output(1, DType::kInt64, out_dims));
  }
  if (y->numel() == 0) return Status::Ok();
  std::vector<AxisTaps> taps;
  for (size_t i = 0; i < nsp; ++i) taps.push_back(axis_taps(a.window, i, in[i], windows[i]));
  // Flat spatial index of an input position: row-major, or column-major for
  // MaxPool's storage_order = 1 (first spatial axis fastest).
  std::vector<int64_t> row_major = contiguous_strides(in), col_major(nsp, 1);
  for (size_t i = 1; i < nsp; ++i) col_major[i] = col_major[i - 1] * in[i - 1];
  const std::vector<int64_t>& index_strides = a.storage_order == 1 ? col_major : row_major;
  int64_t in_size = 1;
  for (int64_t d : in) in_size *= d;
  const int64_t out_size = y->numel() / (x.dim(0) * x.dim(1));
  std::vector<int64_t> o(nsp), t(nsp);
  for (int64_t plane = 0; plane < x.dim(0) * x.dim(1); ++plane) {
    std::fill(o.begin(), o.end(), 0);
    for (int64_t e = 0; e < out_size; ++e) {
      int64_t valid = 1;
      double divisor = 1;
      for (size_t j = 0; j < nsp; ++j) {
        valid *= taps[j].count[static_cast<size_t>(o[j])];
        divisor *= static_cast<double>(taps[j].padded_count[static_cast<size_t>(o[j])]);
      }
      // A window that covers only padding gives 0 (and index -1).
      double acc = 0;
      int64_t best = -1;
      std::fill(t.begin(), t.end(), 0);
      for (int64_t v = 0; v < valid; ++v) {
        int64_t off = 0, idx = 0;
        for (size_t j = 0; j < nsp; ++j) {
          int64_t p = taps[j].first[static_cast<size_t>(o[j])] + t[j] * taps[j].step;
          off += p * row_major[j];
          idx += p * index_strides[j];
        }
        double xv = x.get_f64(plane * in_size + off);
        if (kind == PoolKind::kMax) {
          if (v == 0 || xv > acc) {
            acc = xv;
            best = idx;
          }
        } else if (kind == PoolKind::kAverage) {
          acc += xv;
        } else {
          acc += a.p == 1 ? std::fabs(xv) : std::pow(std::fabs(xv), static_cast<double>(a.p));
        }
        for (size_t j = nsp; j-- > 0;) {  // next tap of the window
          if (++t[j] < taps[j].count[static_cast<size_t>(o[j])]) break;
          t[j] = 0;
        }
      }
      if (valid > 0 && kind == PoolKind::kAverage)
        acc /= a.count_include_pad ? divisor : static_cast<double>(valid);
      if (kind == PoolKind::kLp) acc = a.p == 1 ? acc : a.p == 2 ? std::sqrt(acc) : std::pow(acc, 1.0 / a.p);
      int64_t out_index = plane * out_size + e;
      y->set_f64(out_index, acc);
      if (indices) indices->set_i64(out_index, best < 0 ? -1 : plane * in_size + best);
      for (size_t j = nsp; j-- > 0;) {  // next output position
        if (++o[j] < out_dims[j + 2]) break;
        o[j] = 0;
      }
    }
  }
  return Status::Ok();
}

// Global pools: one window covering every spatial position.
Status infer_global(InferContext& ctx, PoolKind kind) {
  KILN_RETURN_IF_ERROR(check_pool_dtype(ctx, PoolKind::kAverage));
  const Shape& xs = ctx.input_shape(0);
  if (xs.rank() < 2) return ctx.error("X must have rank >= 2 (N, C, spatial...), got shape ", xs.to_string());
  if (kind == PoolKind::kLp) KILN_RETURN_IF_ERROR(read_p(ctx.node()).status());
  std::vector<Dim> out{xs[0], xs[1]};
  for (size_t i = 2; i < xs.rank(); ++i) out.push_back(Dim(1));
  ctx.set_output(0, ctx.input_dtype(0), Shape(out));
  return Status::Ok();
}

Status run_global(CpuContext& ctx, PoolKind kind) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.error("X must have rank >= 2, got ", dims_to_string(x.dims()));
  int64_t p = 2;
  if (kind == PoolKind::kLp) {
    KILN_ASSIGN_OR_RETURN(p, read_p(ctx.node()));
  }
  std::vector<int64_t> out_dims{x.dim(0), x.dim(1)};
  int64_t spatial = 1;
  for (int64_t i = 2; i < x.rank(); ++i) {
    out_dims.push_back(1);
    spatial *= x.dim(i);
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), out_dims));
  if (y->numel() == 0) return Status::Ok();
  if (spatial == 0) return ctx.error("cannot pool over an empty spatial extent ", dims_to_string(x.dims()));
  for (int64_t plane = 0; plane < y->numel(); ++plane) {
    double acc = kind == PoolKind::kMax ? x.get_f64(plane * spatial) : 0.0;
    for (int64_t i = 0; i < spatial; ++i) {
      double v = x.get_f64(plane * spatial + i);
      if (kind == PoolKind::kMax)
        acc = v > acc ? v : acc;
      else if (kind == PoolKind::kAverage)
        acc += v;
      else
        acc += p == 1 ? std::fabs(v) : std::pow(std::fabs(v), static_cast<double>(p));
    }
    if (kind == PoolKind::kAverage) acc /= static_cast<double>(spatial);
    if (kind == PoolKind::kLp) acc = p == 1 ? acc : p == 2 ? std::sqrt(acc) : std::pow(acc, 1.0 / p);
    y->set_f64(plane, acc);
  }
  return Status::Ok();
}

void add_schema(OpRegistry& r, const char* name, PoolKind kind, bool global) {
  OpSchema s;
  s.name = name;
  s.family = "pool";
  s.max_outputs = kind == PoolKind::kMax && !global ? 2 : 1;
  if (global) {
    s.infer = [kind](InferContext& ctx) { return infer_global(ctx, kind); };
    s.cpu = [kind](CpuContext& ctx) { return run_global(ctx, kind); };
  } else {
    s.infer = [kind](InferContext& ctx) { return infer_pool(ctx, kind); };
    s.cpu = [kind](CpuContext& ctx) { return run_pool(ctx, kind); };
  }
  r.add(std::move(s));
}

}  // namespace

void register_pool_ops(OpRegistry& r) {
  add_schema(r, "MaxPool", PoolKind::kMax, false);
  add_schema(r, "AveragePool", PoolKind::kAverage, false);
  add_schema(r, "LpPool", PoolKind::kLp, false);
  add_schema(r, "GlobalMaxPool", PoolKind::kMax, true);
  add_schema(r, "GlobalAveragePool", PoolKind::kAverage, true);
  add_schema(r, "GlobalLpPool", PoolKind::kLp, true);
  add_pool_cases(r);
}

}  // namespace kiln
