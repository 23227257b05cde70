// Conv and kiln.FusedConv as one cuBLASLt GEMM ("cublaslt.conv"): 2-D,
// group 1, channels last (NHWC), float32 / float16 / bfloat16.
//
// Why: at small batch the cuDNN algorithms reachable through the legacy API
// run ResNet-50's 1x1 convolutions (a GEMM of M = H*W rows) several times
// slower than a tuned GEMM. The builder times this kernel's tactics against
// cudnn.conv's, layer by layer, and keeps the faster.
//
// In NHWC a convolution is Y[N*OH*OW, M] = cols(X)[N*OH*OW, R*S*C] x W'^T,
// with W' the weights repacked KCRS -> KRSC at create. cols(X) is X itself
// for a 1x1 window with stride 1 and no pads; otherwise im2col writes it
// into the workspace (each (output pixel, tap) row is one contiguous run of
// C channels, or zeros over the padding). A residual Z is cuBLASLt's C
// (beta = 1), and the bias and Relu its epilogue, which applies them after
// adding C: Relu(cols x W'^T + bias + Z), ResNet's bottleneck output, is one
// GEMM (a separate pass over Y for Z took two thirds of those layers' time).
#include <algorithm>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_libraries.h"
#include "backends/cuda/kernels/conv_util.h"
#include "backends/cuda/kernels/matmul_lt.h"
#include "ops/conv/window.h"

namespace kiln::cuconv {
namespace {

uint64_t align256(uint64_t v) { return (v + 255) / 256 * 256; }

struct GemmConv {
  DType dtype = DType::kFloat32;
  bool has_bias = false, has_z = false, relu = false;
  bool direct = false;  // 1x1, stride 1, no pads: X is already the GEMM's A
  Im2colGeom geom;
  int64_t rows = 0, M = 0, K = 0;
  uint64_t col_bytes = 0;  // im2col workspace (0 when direct)
};

Status bad(const std::string& msg) { return Unsupported(msg); }

Expected<GemmConv> plan_gemm_conv(const LayerView& v) {
  const PlanLayer& l = v.layer;
  const bool fused = l.op == "kiln.FusedConv";
  if (v.inputs.size() < 2 || v.inputs.size() > (fused ? 4u : 3u) || !v.has_input(0) || !v.has_input(1) ||
      v.outputs.size() != 1)
    return bad("expects inputs X, W, optional B (and Z) and one output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& w = v.in(1);
  const PlanTensor& y = v.out(0);
  GemmConv g;
  g.dtype = x.dtype;
  if (x.dtype != DType::kFloat32 && x.dtype != DType::kFloat16 && x.dtype != DType::kBFloat16)
    return bad(str("input type ", dtype_name(x.dtype), " (the GEMM convolution runs float32, float16, bfloat16)"));
  if (w.dtype != x.dtype || y.dtype != x.dtype) return bad("X, W and Y must have one type");
  if (x.dims.size() != 4 || w.dims.size() != 4 || y.dims.size() != 4) return bad("only 2-D convolutions");
  if (x.layout != Layout::kNHWC || y.layout != Layout::kNHWC) return bad("only channels-last (NHWC) X and Y");
  if (w.storage != Storage::kWeight || w.layout != Layout::kLinear) return bad("W must be a constant in KCRS layout");
  g.has_bias = v.has_input(2);
  if (g.has_bias && (v.in(2).dtype != x.dtype || v.in(2).dims != std::vector<int64_t>{w.dims[0]}))
    return bad("B must be a 1-D tensor of X's type with one value per output channel");
  if (fused) {
    g.has_z = v.has_input(3);
    if (g.has_z && (v.in(3).dtype != y.dtype || v.in(3).dims != y.dims || v.in(3).layout != y.layout))
      return bad("the residual Z must match Y in type, dims and layout");
    auto act = l.attrs.find("activation");
    if (act != l.attrs.end() && (act->second.kind != AttrKind::kString || (act->second.s != "" && act->second.s != "Relu")))
      return bad("activation must be Relu or none");
    g.relu = act != l.attrs.end() && act->second.s == "Relu";
  }
  Node node = node_of(l);
  node.attrs.erase("activation");
  KILN_ASSIGN_OR_RETURN(WindowAttrs wa, read_window_attrs(node, 2, false));
  KILN_ASSIGN_OR_RETURN(int64_t group, node.attr_int("group", 1));
  if (group != 1) return bad("only group 1");
  KILN_RETURN_IF_ERROR(resolve_kernel(node, wa, {w.dims[2], w.dims[3]}));
  Im2colGeom& m = g.geom;
  m.N = x.dims[0];
  m.C = x.dims[1];
  m.H = x.dims[2];
  m.W = x.dims[3];
  g.M = w.dims[0];
  if (w.dims[1] != m.C || y.dims[0] != m.N || y.dims[1] != g.M) return bad("X, W and Y channels do not match");
  m.R = w.dims[2];
  m.S = w.dims[3];
  int64_t out[2], pb[2], pe[2];
  for (size_t i = 0; i < 2; ++i) {
    KILN_ASSIGN_OR_RETURN(AxisWindow aw, forward_axis(node, wa, i, x.dims[i + 2], false));
    if (aw.out != y.dims[i + 2]) return bad("Y's spatial dims do not match the window");
    out[i] = aw.out;
    pb[i] = aw.pad_begin;
    pe[i] = aw.pad_end;
  }
  m.OH = out[0];
  m.OW = out[1];
  m.stride_h = wa.strides[0];
  m.stride_w = wa.strides[1];
  m.dil_h = wa.dilations[0];
  m.dil_w = wa.dilations[1];
  m.pad_h = pb[0];
  m.pad_w = pb[1];
  g.rows = m.N * m.OH * m.OW;
  g.K = m.R * m.S * m.C;
  if (g.rows == 0 || g.M == 0) return g;
  if (g.K == 0) return bad("X has no channels");
  g.direct = m.R == 1 && m.S == 1 && m.stride_h == 1 && m.stride_w == 1 && pb[0] == 0 && pb[1] == 0 && pe[0] == 0 &&
             pe[1] == 0;
  if (!g.direct) {
    g.col_bytes = align256(static_cast<uint64_t>(g.rows) * static_cast<uint64_t>(g.K) * dtype_size(g.dtype));
    if (g.col_bytes > kMaxConvWorkspace) return bad("the im2col buffer would exceed the workspace limit");
  }
  return g;
}

mm::LtProblem lt_problem(const GemmConv& g) {
  mm::LtProblem p;
  p.dtype = g.dtype;
  p.m = g.rows;
  p.n = g.M;
  p.k = g.K;
  p.trans_b = true;  // W' is [M, K] row-major
  p.epilogue = g.has_bias ? (g.relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                          : (g.relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT);
  const uint64_t es = dtype_size(g.dtype);
  // A rows start every K elements (im2col and X alike); the arena aligns
  // tensors and the workspace to 256 bytes.
  p.align_a = mm::alignment_of(static_cast<uint64_t>(g.K) * es);
  p.align_b = mm::alignment_of(static_cast<uint64_t>(g.K) * es);
  p.align_d = mm::alignment_of(static_cast<uint64_t>(g.M) * es);
  return p;
}

class GemmConvKernel : public CudaKernel {
 public:
  Status init(const LayerView& v, CudaLibraries& libs) {
    KILN_ASSIGN_OR_RETURN(g_, plan_gemm_conv(v));
    if (g_.rows == 0 || g_.M == 0) return Status::Ok();
    const PlanTensor& wt = v.in(1);
    const uint8_t* src = v.host_weight ? v.host_weight(wt) : nullptr;
    if (!src) return Internal("GEMM convolution: no host copy of the weights");
    std::vector<uint8_t> krsc = repack_krsc(src, wt.dims, dtype_size(g_.dtype));
    KILN_RETURN_IF_ERROR(w_.upload(krsc.data(), krsc.size()));
    KILN_ASSIGN_OR_RETURN(cublasLtHandle_t h, libs.cublaslt());
    const int64_t tactic = v.layer.tactic.empty() ? 0 : v.layer.tactic[0];
    KILN_ASSIGN_OR_RETURN(int found, gemm_.init(h, lt_problem(g_), tactic, mm::kLtWorkspaceBytes));
    if (found == 0) return Unsupported("cuBLASLt offers no algorithm for this convolution's GEMM");
    return Status::Ok();
  }

  Status enqueue(const LaunchArgs& a) override {
    if (g_.rows == 0 || g_.M == 0) return Status::Ok();
    const uint64_t need = g_.col_bytes + mm::kLtWorkspaceBytes;
    if (a.workspace_bytes < need || !a.workspace)
      return Internal("GEMM convolution needs ", need, " bytes of workspace; the plan gives ", a.workspace_bytes);
    auto* ws = static_cast<uint8_t*>(a.workspace);
    const void* cols = a.inputs[0];
    if (!g_.direct) {
      KILN_RETURN_IF_ERROR(im2col_nhwc(dtype_size(g_.dtype), a.inputs[0], ws, g_.geom, a.stream));
      cols = ws;
    }
    KILN_ASSIGN_OR_RETURN(cublasLtHandle_t h, a.libs->cublaslt());
    return gemm_.run(h, 1.f, g_.has_z ? 1.f : 0.f, cols, w_.get(), a.outputs[0], g_.has_bias ? a.inputs[2] : nullptr,
                     ws + g_.col_bytes, mm::kLtWorkspaceBytes, a.stream, g_.has_z ? a.inputs[3] : nullptr);
  }

 private:
  GemmConv g_;
  DeviceBuffer w_;
  mm::LtGemm gemm_;
};

// How many cuBLASLt heuristic results the layer's GEMM gets (at least 1).
int count_algorithms(const LayerView& v) {
  auto g = plan_gemm_conv(v);
  if (!g.ok() || g->rows == 0 || g->M == 0) return 1;
  cublasLtHandle_t handle = nullptr;
  if (cublasLtCreate(&handle) != CUBLAS_STATUS_SUCCESS) return 1;
  int found = 0;
  {
    mm::LtGemm gemm;  // destroyed before the handle
    auto r = gemm.init(handle, lt_problem(*g), 0, mm::kLtWorkspaceBytes);
    found = r.ok() ? *r : 0;
  }
  cublasLtDestroy(handle);
  return std::max(1, found);
}

}  // namespace

void register_gemm_conv(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "cublaslt.conv";
  d.ops = {"Conv", "kiln.FusedConv"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto g = plan_gemm_conv(v);
    return g.ok() ? true : refuse(why, g.status().message());
  };
  d.tactics = [](const LayerView& v) {
    std::vector<std::vector<int64_t>> out;
    for (int i = 0; i < count_algorithms(v); ++i) out.push_back({i});
    return out;
  };
  d.workspace = [](const LayerView& v) -> uint64_t {
    auto g = plan_gemm_conv(v);
    if (!g.ok() || g->rows == 0 || g->M == 0) return 0;
    return g->col_bytes + mm::kLtWorkspaceBytes;
  };
  d.create = [](const LayerView& v, CudaLibraries& libs) -> Expected<std::unique_ptr<CudaKernel>> {
    auto k = std::make_unique<GemmConvKernel>();
    KILN_RETURN_IF_ERROR(k->init(v, libs));
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  d.layouts = {Layout::kNHWC};
  d.priority = -1;  // without timing, cuDNN stays the choice
  r.add(std::move(d));
}

}  // namespace kiln::cuconv
