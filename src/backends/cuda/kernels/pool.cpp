// MaxPool (with Indices, both storage orders), AveragePool
// (count_include_pad), LpPool, and their Global forms, on Kiln's own kernels
// (pool.cu): every auto_pad, ceil_mode, dilation and 1-D/2-D/3-D window the
// CPU reference takes, computed exactly as it does (cuDNN's pooling has no
// ceil_mode, no dilation and a different count_include_pad divisor there).
// Geometry comes from the CPU reference's forward_axis. NCHW or channels
// last, per tensor.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/conv_util.h"
#include "ops/conv/window.h"

namespace kiln::cuconv {
namespace {

bool pool_float(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16 || t == DType::kFloat64;
}

PoolKind kind_of(const std::string& op) {
  if (op == "MaxPool" || op == "GlobalMaxPool") return PoolKind::kMax;
  if (op == "AveragePool" || op == "GlobalAveragePool") return PoolKind::kAverage;
  return PoolKind::kLp;
}

Expected<int64_t> read_flag(const Node& node, const char* key) {
  KILN_ASSIGN_OR_RETURN(int64_t v, node.attr_int(key, 0));
  if (v != 0 && v != 1) return InvalidArgument(key, " must be 0 or 1, got ", v);
  return v;
}

Expected<int> read_p(const Node& node) {
  KILN_ASSIGN_OR_RETURN(int64_t p, node.attr_int("p", 2));
  if (p < 1 || p > 1000) return InvalidArgument("p must be in [1, 1000], got ", p);
  return static_cast<int>(p);
}

struct PoolPlan {
  PoolGeom g;
  DType dtype = DType::kFloat32;
  bool indices = false;
};

Expected<PoolPlan> plan_pool(const LayerView& v) {
  PoolPlan p;
  PoolGeom& g = p.g;
  g.kind = kind_of(v.layer.op);
  if (v.inputs.size() != 1 || !v.has_input(0)) return Unsupported("expects one input");
  const size_t max_out = g.kind == PoolKind::kMax ? 2 : 1;
  if (v.outputs.empty() || v.outputs.size() > max_out) return Unsupported("unexpected outputs");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  p.dtype = x.dtype;
  const bool int8 = x.dtype == DType::kInt8 || x.dtype == DType::kUInt8;
  if (!(pool_float(x.dtype) || (g.kind == PoolKind::kMax && int8)) || y.dtype != x.dtype)
    return Unsupported("type ", dtype_name(x.dtype));
  const size_t rank = x.dims.size();
  if (rank < 3 || rank > 5 || y.dims.size() != rank) return Unsupported("rank ", rank, " (only 1-D, 2-D and 3-D pools)");
  p.indices = v.outputs.size() == 2;
  if (p.indices && (v.out(1).dtype != DType::kInt64 || v.out(1).dims != y.dims))
    return Unsupported("Indices must be int64 with Y's dims");
  Node node = node_of(v.layer);
  const size_t nsp = rank - 2;
  KILN_ASSIGN_OR_RETURN(WindowAttrs wa, read_window_attrs(node, nsp, true));
  if (g.kind == PoolKind::kMax) {
    KILN_ASSIGN_OR_RETURN(int64_t order, read_flag(node, "storage_order"));
    g.col_major_index = order == 1;
  } else if (g.kind == PoolKind::kAverage) {
    KILN_ASSIGN_OR_RETURN(int64_t cip, read_flag(node, "count_include_pad"));
    g.count_include_pad = cip == 1;
  } else {
    KILN_ASSIGN_OR_RETURN(g.p, read_p(node));
  }
  g.N = x.dims[0];
  g.C = x.dims[1];
  if (y.dims[0] != g.N || y.dims[1] != g.C) return Unsupported("Y's N and C differ from X's");
  for (size_t i = 0; i < nsp; ++i) {
    KILN_ASSIGN_OR_RETURN(AxisWindow aw, forward_axis(node, wa, i, x.dims[i + 2], true));
    if (aw.out != y.dims[i + 2]) return Unsupported("Y spatial axis ", i, " is ", y.dims[i + 2], ", expected ", aw.out);
    g.in[i] = x.dims[i + 2];
    g.out[i] = aw.out;
    g.k[i] = wa.kernel[i];
    g.s[i] = wa.strides[i];
    g.d[i] = wa.dilations[i];
    g.pb[i] = aw.pad_begin;
    g.pe[i] = aw.pad_end;
  }
  g.x_cl = x.layout == Layout::kNHWC;
  g.y_cl = y.layout == Layout::kNHWC;
  g.i_cl = p.indices && v.out(1).layout == Layout::kNHWC;
  return p;
}

class PoolKernel : public CudaKernel {
 public:
  explicit PoolKernel(PoolPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    int64_t* ind = p_.indices ? static_cast<int64_t*>(a.outputs[1]) : nullptr;
    return pool_launch(p_.dtype, a.inputs[0], a.outputs[0], ind, p_.g, a.stream);
  }

 private:
  PoolPlan p_;
};

struct GlobalPlan {
  GlobalPoolGeom g;
  DType dtype = DType::kFloat32;
};

Expected<GlobalPlan> plan_global(const LayerView& v) {
  GlobalPlan p;
  p.g.kind = kind_of(v.layer.op);
  if (v.inputs.size() != 1 || !v.has_input(0) || v.outputs.size() != 1) return Unsupported("expects one input and output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  p.dtype = x.dtype;
  if (!pool_float(x.dtype) || y.dtype != x.dtype) return Unsupported("type ", dtype_name(x.dtype));
  if (x.dims.size() < 2 || y.dims.size() != x.dims.size()) return Unsupported("X must have rank >= 2");
  if (p.g.kind == PoolKind::kLp) {
    KILN_ASSIGN_OR_RETURN(p.g.p, read_p(node_of(v.layer)));
  }
  p.g.N = x.dims[0];
  p.g.C = x.dims[1];
  for (size_t i = 2; i < x.dims.size(); ++i) {
    p.g.S *= x.dims[i];
    if (y.dims[i] != 1) return Unsupported("Y's spatial dims must be 1");
  }
  if (y.dims[0] != p.g.N || y.dims[1] != p.g.C) return Unsupported("Y's N and C differ from X's");
  if (p.g.S == 0 && p.g.N * p.g.C > 0) return Unsupported("cannot pool over an empty spatial extent");
  // Y has unit spatial dims, so its memory is [N, C] in either layout.
  p.g.x_cl = x.layout == Layout::kNHWC && x.dims.size() > 2;
  return p;
}

class GlobalPoolKernel : public CudaKernel {
 public:
  explicit GlobalPoolKernel(GlobalPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    return global_pool_launch(p_.dtype, a.inputs[0], a.outputs[0], p_.g, a.stream);
  }

 private:
  GlobalPlan p_;
};

}  // namespace

void register_pool(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.pool";
  d.ops = {"MaxPool", "AveragePool", "LpPool"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_pool(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(PoolPlan p, plan_pool(v));
    return std::unique_ptr<CudaKernel>(new PoolKernel(p));
  };
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  r.add(std::move(d));

  CudaKernelDef gd;
  gd.id = "kiln.global_pool";
  gd.ops = {"GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool"};
  gd.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_global(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  gd.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(GlobalPlan p, plan_global(v));
    return std::unique_ptr<CudaKernel>(new GlobalPoolKernel(p));
  };
  gd.layouts = {Layout::kLinear, Layout::kNHWC};
  r.add(std::move(gd));
}

}  // namespace kiln::cuconv
