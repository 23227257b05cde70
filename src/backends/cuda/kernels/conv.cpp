// Conv and kiln.FusedConv (act(Conv(X, W, B) + Z), act "" or Relu) on cuDNN:
// 1-D (as 2-D with a unit axis), 2-D and 3-D, groups and depthwise, strides,
// dilations, explicit or auto pads, fp32 / fp16 / bf16, NCHW or channels
// last. Window geometry comes from the CPU reference's own functions.
//
// Tactics are the forward algorithms cuDNN's heuristics rank usable, as
// {algorithm, math type}, at most 8, best first; the builder times them.
// fp32 runs FMA math (no TF32) and skips the FFT / Winograd algorithms, so
// it meets a 1e-5 relative error; fp16 / bf16 use tensor cores with fp32
// accumulation. Per algorithm:
//  - Relu, or IMPLICIT_PRECOMP_GEMM (the only algorithm cuDNN allows with an
//    identity activation): one cudnnConvolutionBiasActivationForward call,
//    with a zero bias made at create when the layer has none;
//  - otherwise cudnnConvolutionForward, then Kiln's epilogue kernel for the
//    bias and the residual.
// Asymmetric pads (cuDNN pads both sides equally) are applied by copying X
// into the workspace with the pads, then convolving without padding.
// Channels-last layers repack the (constant) KCRS weights to KRSC at create,
// which cuDNN's NHWC tensor-core kernels want.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/conv_util.h"
#include "ops/conv/window.h"

namespace kiln::cuconv {
namespace {

uint64_t align256(uint64_t v) { return (v + 255) / 256 * 256; }

int64_t product(const std::vector<int64_t>& v) {
  int64_t n = 1;
  for (int64_t d : v) n *= d;
  return n;
}

// One convolution as cuDNN runs it. Dims are (N, C, spatial...) with at
// least two spatial axes; x is the padded input when pre_pad.
struct ConvPlan {
  DType dtype = DType::kFloat32;
  cudnnDataType_t cdt = CUDNN_DATA_FLOAT;
  bool channels_last = false;
  bool empty = false;  // nothing to compute: the output has no elements
  bool has_bias = false, has_z = false, relu = false;
  bool repack_w = false;
  int64_t N = 0, M = 0, out_spatial = 1;
  std::vector<int> x, w, y, pad, stride, dil;
  int group = 1;
  bool pre_pad = false;
  PadGeom pad_geom;            // X -> padded X, physical axis order
  uint64_t padded_bytes = 0;  // workspace taken by the padded X
};

Status bad(const std::string& msg) { return Unsupported(msg); }

Expected<ConvPlan> plan_conv(const LayerView& v) {
  const PlanLayer& l = v.layer;
  const bool fused = l.op == "kiln.FusedConv";
  ConvPlan p;
  if (v.inputs.size() < 2 || v.inputs.size() > (fused ? 4u : 3u) || !v.has_input(0) || !v.has_input(1))
    return bad("expects inputs X, W, optional B" + std::string(fused ? " and Z" : ""));
  if (v.outputs.size() != 1) return bad("expects one output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& w = v.in(1);
  const PlanTensor& y = v.out(0);
  p.dtype = x.dtype;
  if (!cudnn_dtype(x.dtype, &p.cdt))
    return bad(str("input type ", dtype_name(x.dtype), " (the cuDNN convolution runs float32, float16, bfloat16)"));
  if (w.dtype != x.dtype || y.dtype != x.dtype) return bad("X, W and Y must have one type");
  const size_t rank = x.dims.size();
  if (rank < 3 || rank > 5) return bad(str("rank ", rank, " input (only 1-D, 2-D and 3-D convolutions)"));
  if (w.dims.size() != rank || y.dims.size() != rank) return bad("X, W and Y ranks differ");
  if (x.layout != y.layout) return bad("X and Y have different layouts");
  if (w.layout != Layout::kLinear) return bad("W must have linear (KCRS) layout");
  p.channels_last = x.layout == Layout::kNHWC;
  if (p.channels_last && w.storage != Storage::kWeight)
    return bad("channels-last convolution needs constant weights (they are repacked to KRSC)");
  p.has_bias = v.has_input(2);
  if (p.has_bias && (v.in(2).dtype != x.dtype || v.in(2).dims != std::vector<int64_t>{w.dims[0]}))
    return bad("B must be a 1-D tensor of X's type with one value per output channel");
  if (fused) {
    p.has_z = v.has_input(3);
    if (p.has_z && (v.in(3).dtype != y.dtype || v.in(3).dims != y.dims || v.in(3).layout != y.layout))
      return bad("the residual Z must match Y in type, dims and layout");
    auto act = l.attrs.find("activation");
    std::string a = act == l.attrs.end() ? "" : act->second.s;
    if (act != l.attrs.end() && act->second.kind != AttrKind::kString) return bad("activation must be a string");
    if (a != "" && a != "Relu") return bad("activation '" + a + "' (only Relu or none)");
    p.relu = a == "Relu";
  }

  Node node = node_of(l);
  node.attrs.erase("activation");
  const size_t nsp = rank - 2;
  KILN_ASSIGN_OR_RETURN(WindowAttrs wa, read_window_attrs(node, nsp, false));
  KILN_ASSIGN_OR_RETURN(int64_t group, node.attr_int("group", 1));
  KILN_RETURN_IF_ERROR(resolve_kernel(node, wa, std::vector<int64_t>(w.dims.begin() + 2, w.dims.end())));
  const int64_t N = x.dims[0], C = x.dims[1], M = w.dims[0], Cg = w.dims[1];
  if (group < 1 || M % group != 0 || Cg * group != C)
    return bad(str("group ", group, " does not fit X channels ", C, " and W ", dims_to_string(w.dims)));
  if (y.dims[0] != N || y.dims[1] != M) return bad("Y dims do not match N and W's output channels");
  std::vector<int64_t> in, out, k, s, d, pb, pe;
  for (size_t i = 0; i < nsp; ++i) {
    KILN_ASSIGN_OR_RETURN(AxisWindow aw, forward_axis(node, wa, i, x.dims[i + 2], false));
    if (aw.out != y.dims[i + 2]) return bad(str("Y spatial axis ", i, " is ", y.dims[i + 2], ", expected ", aw.out));
    in.push_back(x.dims[i + 2]);
    out.push_back(aw.out);
    k.push_back(wa.kernel[i]);
    s.push_back(wa.strides[i]);
    d.push_back(wa.dilations[i]);
    pb.push_back(aw.pad_begin);
    pe.push_back(aw.pad_end);
  }
  p.N = N;
  p.M = M;
  p.group = static_cast<int>(group);
  p.out_spatial = product(out);
  p.empty = product(y.dims) == 0;
  if (p.empty) return p;
  if (C == 0 || product(in) == 0) return bad("X is empty but Y is not (the output would be bias only)");
  p.repack_w = p.channels_last;
  // 1-D runs as 2-D with a leading unit axis.
  if (nsp == 1) {
    for (auto* v1 : {&in, &out, &k, &s, &d}) v1->insert(v1->begin(), 1);
    pb.insert(pb.begin(), 0);
    pe.insert(pe.begin(), 0);
  }
  const size_t ns = in.size();
  for (size_t i = 0; i < ns; ++i) p.pre_pad = p.pre_pad || pb[i] != pe[i];
  std::vector<int64_t> xin{N, C}, win{M, Cg}, yout{N, M};
  for (size_t i = 0; i < ns; ++i) {
    xin.push_back(p.pre_pad ? in[i] + pb[i] + pe[i] : in[i]);
    win.push_back(k[i]);
    yout.push_back(out[i]);
  }
  if (!fits_int(xin) || !fits_int(win) || !fits_int(yout))
    return bad("a tensor is too large for cuDNN's 32-bit dims and element counts");
  for (size_t i = 0; i < ns; ++i) {
    if (s[i] > INT32_MAX || d[i] > INT32_MAX || pb[i] > INT32_MAX) return bad("window values exceed 32 bits");
    p.pad.push_back(p.pre_pad ? 0 : static_cast<int>(pb[i]));
    p.stride.push_back(static_cast<int>(s[i]));
    p.dil.push_back(static_cast<int>(d[i]));
  }
  for (int64_t v1 : xin) p.x.push_back(static_cast<int>(v1));
  for (int64_t v1 : win) p.w.push_back(static_cast<int>(v1));
  for (int64_t v1 : yout) p.y.push_back(static_cast<int>(v1));
  if (p.pre_pad) {
    // Physical axis order: N, C, spatial... or N, spatial..., C.
    PadGeom& g = p.pad_geom;
    g.rank = static_cast<int>(ns + 2);
    g.mode = PadMode::kConstant;
    auto set_axis = [&](int j, int64_t size, int64_t lead, int64_t padded) {
      g.in[j] = size;
      g.out[j] = padded;
      g.lead[j] = lead;
      g.core_start[j] = 0;
      g.core_len[j] = size;
    };
    set_axis(0, N, 0, N);
    const int c_axis = p.channels_last ? g.rank - 1 : 1;
    const int first_spatial = p.channels_last ? 1 : 2;
    set_axis(c_axis, C, 0, C);
    for (size_t i = 0; i < ns; ++i)
      set_axis(first_spatial + static_cast<int>(i), in[i], pb[i], in[i] + pb[i] + pe[i]);
    p.padded_bytes = align256(static_cast<uint64_t>(product(xin)) * dtype_size(p.dtype));
  }
  return p;
}

struct ConvDescs {
  TensorDesc x, y, bias;
  FilterDesc w;
  ConvDesc conv;
  ActivationDesc act;
};

Status make_descs(const ConvPlan& p, ConvDescs& d) {
  KILN_RETURN_IF_ERROR(d.x.init());
  KILN_RETURN_IF_ERROR(d.y.init());
  KILN_RETURN_IF_ERROR(d.bias.init());
  KILN_RETURN_IF_ERROR(d.w.init());
  KILN_RETURN_IF_ERROR(d.conv.init());
  KILN_RETURN_IF_ERROR(d.act.init());
  const int nb = static_cast<int>(p.x.size());
  KILN_RETURN_IF_ERROR(set_tensor_desc(d.x.get(), p.cdt, p.x, p.channels_last));
  KILN_RETURN_IF_ERROR(set_tensor_desc(d.y.get(), p.cdt, p.y, p.channels_last));
  KILN_CUDNN_CHECK(cudnnSetFilterNdDescriptor(d.w.get(), p.cdt, p.channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                              nb, p.w.data()));
  KILN_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(d.conv.get(), nb - 2, p.pad.data(), p.stride.data(), p.dil.data(),
                                                   CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  KILN_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d.conv.get(), p.group));
  KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), default_math(p.cdt)));
  std::vector<int> out(p.y.size());
  KILN_CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(d.conv.get(), d.x.get(), d.w.get(), nb, out.data()));
  if (out != p.y) return Internal("cuDNN computes a different output shape than the layer's");
  std::vector<int> bias_dims(p.y.size(), 1);
  bias_dims[1] = p.y[1];
  KILN_RETURN_IF_ERROR(set_tensor_desc(d.bias.get(), p.cdt, bias_dims, false));
  KILN_CUDNN_CHECK(cudnnSetActivationDescriptor(d.act.get(), p.relu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
                                                CUDNN_PROPAGATE_NAN, 0.0));
  return Status::Ok();
}

struct Algo {
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  uint64_t workspace = 0;
};

// Workspace of one algorithm with its math type (set on the descriptor).
Expected<uint64_t> algo_workspace(cudnnHandle_t h, const ConvDescs& d, const Algo& a) {
  KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), a.math));
  size_t bytes = 0;
  KILN_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), a.algo,
                                                           &bytes));
  return static_cast<uint64_t>(bytes);
}

// The algorithms cuDNN's heuristics rank usable, best first, at most 8.
Expected<std::vector<Algo>> find_algos(cudnnHandle_t h, const ConvPlan& p, const ConvDescs& d) {
  int max_count = 0;
  KILN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count));
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(static_cast<size_t>(std::max(max_count, 1)));
  int n = 0;
  KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), default_math(p.cdt)));
  KILN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                          static_cast<int>(perf.size()), &n, perf.data()));
  std::vector<Algo> all;
  for (int i = 0; i < n; ++i) {
    const auto& r = perf[static_cast<size_t>(i)];
    if (r.status != CUDNN_STATUS_SUCCESS) continue;
    // FFT and Winograd transforms lose about a digit in fp32: not offered there.
    if (p.cdt == CUDNN_DATA_FLOAT &&
        (r.algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT || r.algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
         r.algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || r.algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED))
      continue;
    Algo a;
    a.algo = r.algo;
    // fp32 always runs FMA math: TF32 would miss the fp32 accuracy target.
    a.math = p.cdt == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH : r.mathType;
    bool seen = false;
    for (const Algo& b : all) seen = seen || (b.algo == a.algo && b.math == a.math);
    if (seen) continue;
    auto ws = algo_workspace(h, d, a);
    if (!ws.ok()) continue;
    a.workspace = *ws;
    all.push_back(a);
  }
  KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), default_math(p.cdt)));
  std::vector<Algo> fit;
  for (const Algo& a : all)
    if (a.workspace <= kMaxConvWorkspace && fit.size() < 8) fit.push_back(a);
  if (fit.empty() && !all.empty()) {
    Algo least = all[0];
    for (const Algo& a : all)
      if (a.workspace < least.workspace) least = a;
    fit.push_back(least);
  }
  return fit;
}

// Plans, describes and ranks on the build-time handle (supports, tactics, workspace).
Expected<std::vector<Algo>> build_time_algos(const LayerView& v, ConvPlan* plan_out) {
  KILN_ASSIGN_OR_RETURN(ConvPlan p, plan_conv(v));
  if (plan_out) *plan_out = p;
  if (p.empty) return std::vector<Algo>{};
  KILN_ASSIGN_OR_RETURN(cudnnHandle_t h, build_time_cudnn());
  ConvDescs d;
  KILN_RETURN_IF_ERROR(make_descs(p, d));
  return find_algos(h, p, d);
}

bool valid_algo(int64_t a) { return a >= 0 && a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; }
bool valid_math(int64_t m) { return m >= CUDNN_DEFAULT_MATH && m <= CUDNN_FMA_MATH; }

// cuDNN refusing a configuration (rather than failing to run it).
bool is_refusal(cudnnStatus_t s) {
  int category = static_cast<int>(s) / 1000;
  return category == 2 || category == 3;  // BAD_PARAM*, NOT_SUPPORTED*
}

class ConvKernel : public CudaKernel {
 public:
  Status init(const LayerView& v, CudaLibraries& libs) {
    KILN_ASSIGN_OR_RETURN(p_, plan_conv(v));
    if (p_.empty) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(cudnnHandle_t h, libs.cudnn());
    KILN_RETURN_IF_ERROR(make_descs(p_, d_));
    const std::vector<int64_t>& t = v.layer.tactic;
    if (t.size() == 2 && valid_algo(t[0]) && valid_math(t[1])) {
      algo_.algo = static_cast<cudnnConvolutionFwdAlgo_t>(t[0]);
      algo_.math = p_.cdt == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH : static_cast<cudnnMathType_t>(t[1]);
    } else if (t.empty()) {
      KILN_ASSIGN_OR_RETURN(std::vector<Algo> algos, find_algos(h, p_, d_));
      if (algos.empty()) return Unsupported("cuDNN offers no forward algorithm for this convolution");
      algo_ = algos[0];
    } else {
      return InvalidArgument("conv tactic ", dims_to_string(t), " is not {algorithm, math type}");
    }
    KILN_ASSIGN_OR_RETURN(algo_.workspace, algo_workspace(h, d_, algo_));  // leaves the math type set
    if (p_.has_bias || p_.has_z || p_.relu) {
      fused_ = p_.relu || algo_.algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
      epilogue_ = true;
    }
    const size_t es = dtype_size(p_.dtype);
    if (fused_ && !p_.has_bias) KILN_RETURN_IF_ERROR(zero_bias_.upload(nullptr, static_cast<uint64_t>(p_.M) * es));
    if (p_.repack_w) KILN_RETURN_IF_ERROR(repack_weights(v, es));
    return Status::Ok();
  }

  Status enqueue(const LaunchArgs& a) override {
    if (p_.empty) return Status::Ok();
    const uint64_t need = p_.padded_bytes + algo_.workspace;
    if (a.workspace_bytes < need || (need && !a.workspace))
      return Internal("convolution needs ", need, " bytes of workspace; the plan gives ", a.workspace_bytes);
    KILN_ASSIGN_OR_RETURN(cudnnHandle_t h, a.libs->cudnn());
    KILN_CUDNN_CHECK(cudnnSetStream(h, a.stream));
    const void* x = a.inputs[0];
    uint8_t* ws = static_cast<uint8_t*>(a.workspace);
    if (p_.pre_pad) {
      KILN_RETURN_IF_ERROR(pad_launch(dtype_size(p_.dtype), x, ws, nullptr, p_.pad_geom, a.stream));
      x = ws;
      ws += p_.padded_bytes;
    }
    const void* w = p_.repack_w ? w_repacked_.get() : a.inputs[1];
    const void* bias = p_.has_bias ? a.inputs[2] : nullptr;
    const void* z = p_.has_z ? a.inputs[3] : nullptr;
    void* y = a.outputs[0];
    const float one = 1.f, zero = 0.f, alpha2 = z ? 1.f : 0.f;
    if (fused_) {
      // Without a residual, z aliases y with alpha2 = 0, as cuDNN allows.
      cudnnStatus_t s = cudnnConvolutionBiasActivationForward(
          h, &one, d_.x.get(), x, d_.w.get(), w, d_.conv.get(), algo_.algo, ws, algo_.workspace, &alpha2,
          d_.y.get(), z ? z : y, d_.bias.get(), bias ? bias : zero_bias_.get(), d_.act.get(), d_.y.get(), y);
      if (s == CUDNN_STATUS_SUCCESS) return Status::Ok();
      // A configuration the fused call refuses runs unfused from now on;
      // the refusal happens before any work is queued.
      if (!is_refusal(s)) return cudnn_status(s, "cudnnConvolutionBiasActivationForward");
      fused_ = false;
    }
    KILN_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d_.x.get(), x, d_.w.get(), w, d_.conv.get(), algo_.algo, ws,
                                             algo_.workspace, &zero, d_.y.get(), y));
    if (epilogue_)
      KILN_RETURN_IF_ERROR(conv_epilogue(p_.dtype, y, bias, z, p_.N, p_.M, p_.out_spatial, p_.channels_last, p_.relu,
                                         a.stream));
    return Status::Ok();
  }

 private:
  Status repack_weights(const LayerView& v, size_t es) {
    const PlanTensor& wt = v.in(1);
    const uint8_t* src = v.host_weight ? v.host_weight(wt) : nullptr;
    if (!src) return Internal("channels-last convolution: no host copy of the weights");
    std::vector<uint8_t> dst = repack_krsc(src, wt.dims, es);
    return w_repacked_.upload(dst.data(), dst.size());
  }

  ConvPlan p_;
  ConvDescs d_;
  Algo algo_;
  bool fused_ = false;     // one cudnnConvolutionBiasActivationForward call
  bool epilogue_ = false;  // bias / residual / relu to apply after the plain conv
  DeviceBuffer w_repacked_, zero_bias_;
};

}  // namespace

void register_conv(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "cudnn.conv";
  d.ops = {"Conv", "kiln.FusedConv"};
  d.supports = [](const LayerView& v, std::string* why) {
    ConvPlan p;
    auto algos = build_time_algos(v, &p);
    if (!algos.ok()) return refuse(why, algos.status().message());
    if (!p.empty && algos->empty()) return refuse(why, "cuDNN offers no forward algorithm for this convolution");
    return true;
  };
  d.tactics = [](const LayerView& v) {
    std::vector<std::vector<int64_t>> out;
    auto algos = build_time_algos(v, nullptr);
    if (algos.ok())
      for (const Algo& a : *algos) out.push_back({static_cast<int64_t>(a.algo), static_cast<int64_t>(a.math)});
    return out;
  };
  d.workspace = [](const LayerView& v) -> uint64_t {
    ConvPlan p;
    auto algos = build_time_algos(v, &p);
    if (!algos.ok()) return 0;
    uint64_t most = 0;
    for (const Algo& a : *algos) most = std::max(most, a.workspace);
    return p.padded_bytes + most;
  };
  d.create = [](const LayerView& v, CudaLibraries& libs) -> Expected<std::unique_ptr<CudaKernel>> {
    auto k = std::make_unique<ConvKernel>();
    KILN_RETURN_IF_ERROR(k->init(v, libs));
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  r.add(std::move(d));
}

}  // namespace kiln::cuconv
