// ConvTranspose on cuDNN as the data gradient of a convolution
// (cudnnConvolutionBackwardData: W [C, M/group, k...] is exactly the forward
// filter whose input gradient we want), fp32 / fp16 / bf16, 1-D (as 2-D),
// 2-D and 3-D, groups, strides, dilations, pads, output_padding,
// output_shape and auto_pad, linear layout. Output geometry comes from the
// CPU reference's transpose_axis.
//
// Two paths:
//  - direct: when every axis' begin pad is >= 0 and cuDNN's size relation
//    (out + 2 * pad - span) / stride + 1 == in holds, cuDNN writes Y itself
//    (positions no input reaches get 0), then the epilogue adds the bias;
//  - full: otherwise (asymmetric pads, output_shape beyond the full size)
//    cuDNN writes the whole unpadded result into the workspace and a crop
//    kernel copies the window [pad_begin, pad_begin + out) plus the bias.
#include <algorithm>
#include <cstdint>

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

struct TransposePlan {
  DType dtype = DType::kFloat32;
  cudnnDataType_t cdt = CUDNN_DATA_FLOAT;
  bool empty = false;
  bool has_bias = false;
  bool full = false;            // cuDNN writes the unpadded result to the workspace
  uint64_t full_bytes = 0;      // workspace taken by that result
  int64_t N = 0, M = 0, out_spatial = 1;
  std::vector<int> x, w, dx, pad, stride, dil;  // cuDNN dims: dy = x, dx = Y or the full result
  int group = 1;
  CropGeom crop;
};

Expected<TransposePlan> plan_transpose(const LayerView& v) {
  TransposePlan p;
  if (v.inputs.size() < 2 || v.inputs.size() > 3 || !v.has_input(0) || !v.has_input(1) || v.outputs.size() != 1)
    return Unsupported("expects inputs X, W, optional B and one output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& w = v.in(1);
  const PlanTensor& y = v.out(0);
  p.dtype = x.dtype;
  if (!cudnn_dtype(x.dtype, &p.cdt))
    return Unsupported("input type ", dtype_name(x.dtype), " (cuDNN runs float32, float16, bfloat16)");
  if (w.dtype != x.dtype || y.dtype != x.dtype) return Unsupported("X, W and Y must have one type");
  const size_t rank = x.dims.size();
  if (rank < 3 || rank > 5 || w.dims.size() != rank || y.dims.size() != rank)
    return Unsupported("rank ", rank, " (only 1-D, 2-D and 3-D, with W and Y of the same rank)");
  if (x.layout != Layout::kLinear || y.layout != Layout::kLinear || w.layout != Layout::kLinear)
    return Unsupported("needs linear layout");
  Node node = node_of(v.layer);
  const size_t nsp = rank - 2;
  KILN_ASSIGN_OR_RETURN(WindowAttrs wa, read_window_attrs(node, nsp, false));
  KILN_ASSIGN_OR_RETURN(int64_t group, node.attr_int("group", 1));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> out_pad, node.attr_ints("output_padding", std::vector<int64_t>(nsp, 0)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> out_shape, node.attr_ints("output_shape", {}));
  if (out_shape.size() == nsp + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (out_pad.size() != nsp || (!out_shape.empty() && out_shape.size() != nsp))
    return Unsupported("output_padding / output_shape lengths do not match the spatial rank");
  KILN_RETURN_IF_ERROR(resolve_kernel(node, wa, std::vector<int64_t>(w.dims.begin() + 2, w.dims.end())));
  const int64_t N = x.dims[0], C = x.dims[1], Mg = w.dims[1];
  if (group < 1 || C % group != 0 || w.dims[0] != C) return Unsupported("group ", group, " does not fit X and W");
  const int64_t M = Mg * group;
  if (y.dims[0] != N || y.dims[1] != M) return Unsupported("Y dims do not match N and the output channels");
  p.has_bias = v.has_input(2);
  if (p.has_bias && (v.in(2).dtype != x.dtype || v.in(2).dims != std::vector<int64_t>{M}))
    return Unsupported("B must be a 1-D tensor of X's type with one value per output channel");
  std::vector<int64_t> in, out, k, s, d, pb, span;
  for (size_t i = 0; i < nsp; ++i) {
    KILN_ASSIGN_OR_RETURN(AxisWindow aw, transpose_axis(node, wa, i, x.dims[i + 2], out_pad[i],
                                                        out_shape.empty() ? -1 : out_shape[i]));
    if (aw.out != y.dims[i + 2]) return Unsupported("Y spatial axis ", i, " is ", y.dims[i + 2], ", expected ", aw.out);
    in.push_back(x.dims[i + 2]);
    out.push_back(aw.out);
    k.push_back(wa.kernel[i]);
    s.push_back(wa.strides[i]);
    d.push_back(wa.dilations[i]);
    pb.push_back(aw.pad_begin);
    span.push_back((wa.kernel[i] - 1) * wa.dilations[i] + 1);
  }
  p.N = N;
  p.M = M;
  p.group = static_cast<int>(group);
  p.out_spatial = product(out);
  p.empty = product(y.dims) == 0;
  if (p.empty) return p;
  if (C == 0 || product(in) == 0) return Unsupported("X is empty but Y is not (the output would be bias only)");
  if (nsp == 1) {
    for (auto* a : {&in, &out, &k, &s, &d, &span}) a->insert(a->begin(), 1);
    pb.insert(pb.begin(), 0);
  }
  const size_t ns = in.size();
  for (size_t i = 0; i < ns; ++i) {
    const int64_t num = out[i] + 2 * pb[i] - span[i];
    p.full = p.full || pb[i] < 0 || num < 0 || num / s[i] + 1 != in[i];
  }
  std::vector<int64_t> xd{N, C}, wd{C, Mg}, dxd{N, M};
  for (size_t i = 0; i < ns; ++i) {
    xd.push_back(in[i]);
    wd.push_back(k[i]);
    dxd.push_back(p.full ? s[i] * (in[i] - 1) + span[i] : out[i]);
  }
  if (!fits_int(xd) || !fits_int(wd) || !fits_int(dxd) || !fits_int(y.dims))
    return Unsupported("a tensor is too large for cuDNN's 32-bit dims and element counts");
  for (size_t i = 0; i < ns; ++i) {
    if (s[i] > INT32_MAX || d[i] > INT32_MAX || pb[i] > INT32_MAX) return Unsupported("window values exceed 32 bits");
    p.pad.push_back(p.full ? 0 : static_cast<int>(pb[i]));
    p.stride.push_back(static_cast<int>(s[i]));
    p.dil.push_back(static_cast<int>(d[i]));
  }
  for (int64_t a : xd) p.x.push_back(static_cast<int>(a));
  for (int64_t a : wd) p.w.push_back(static_cast<int>(a));
  for (int64_t a : dxd) p.dx.push_back(static_cast<int>(a));
  if (p.full) {
    p.full_bytes = align256(static_cast<uint64_t>(product(dxd)) * dtype_size(p.dtype));
    p.crop.nsp = static_cast<int>(ns);
    p.crop.N = N;
    p.crop.C = M;
    for (size_t i = 0; i < ns; ++i) {
      p.crop.out[i] = out[i];
      p.crop.full[i] = dxd[i + 2];
      p.crop.pb[i] = pb[i];
    }
  }
  return p;
}

struct TransposeDescs {
  TensorDesc dy, dx;
  FilterDesc w;
  ConvDesc conv;
};

Status make_descs(const TransposePlan& p, TransposeDescs& d) {
  KILN_RETURN_IF_ERROR(d.dy.init());
  KILN_RETURN_IF_ERROR(d.dx.init());
  KILN_RETURN_IF_ERROR(d.w.init());
  KILN_RETURN_IF_ERROR(d.conv.init());
  const int nb = static_cast<int>(p.x.size());
  KILN_RETURN_IF_ERROR(set_tensor_desc(d.dy.get(), p.cdt, p.x, false));
  KILN_RETURN_IF_ERROR(set_tensor_desc(d.dx.get(), p.cdt, p.dx, false));
  KILN_CUDNN_CHECK(cudnnSetFilterNdDescriptor(d.w.get(), p.cdt, CUDNN_TENSOR_NCHW, nb, p.w.data()));
  KILN_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(d.conv.get(), nb - 2, p.pad.data(), p.stride.data(), p.dil.data(),
                                                   CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  KILN_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d.conv.get(), p.group));
  KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), default_math(p.cdt)));
  // The forward convolution of dx must give dy's shape.
  std::vector<int> fwd(p.x.size());
  KILN_CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(d.conv.get(), d.dx.get(), d.w.get(), nb, fwd.data()));
  if (fwd != p.x) return Internal("cuDNN's forward shape of the ConvTranspose output does not give X's shape");
  return Status::Ok();
}

struct Algo {
  cudnnConvolutionBwdDataAlgo_t algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  uint64_t workspace = 0;
};

Expected<uint64_t> algo_workspace(cudnnHandle_t h, const TransposeDescs& d, const Algo& a) {
  KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), a.math));
  size_t bytes = 0;
  KILN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w.get(), d.dy.get(), d.conv.get(), d.dx.get(),
                                                                a.algo, &bytes));
  return static_cast<uint64_t>(bytes);
}

Expected<std::vector<Algo>> find_algos(cudnnHandle_t h, const TransposePlan& p, const TransposeDescs& d) {
  int max_count = 0;
  KILN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count));
  std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(static_cast<size_t>(std::max(max_count, 1)));
  int n = 0;
  KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), default_math(p.cdt)));
  KILN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w.get(), d.dy.get(), d.conv.get(), d.dx.get(),
                                                               static_cast<int>(perf.size()), &n, perf.data()));
  std::vector<Algo> all;
  for (int i = 0; i < n; ++i) {
    const auto& r = perf[static_cast<size_t>(i)];
    if (r.status != CUDNN_STATUS_SUCCESS) continue;
    // FFT and Winograd transforms lose about a digit in fp32: not offered there.
    if (p.cdt == CUDNN_DATA_FLOAT &&
        (r.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || r.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
         r.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD ||
         r.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED))
      continue;
    Algo a;
    a.algo = r.algo;
    a.math = p.cdt == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH : r.mathType;  // no TF32 for fp32
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

Expected<std::vector<Algo>> build_time_algos(const LayerView& v, TransposePlan* plan_out) {
  KILN_ASSIGN_OR_RETURN(TransposePlan p, plan_transpose(v));
  if (plan_out) *plan_out = p;
  if (p.empty) return std::vector<Algo>{};
  KILN_ASSIGN_OR_RETURN(cudnnHandle_t h, build_time_cudnn());
  TransposeDescs d;
  KILN_RETURN_IF_ERROR(make_descs(p, d));
  return find_algos(h, p, d);
}

class ConvTransposeKernel : public CudaKernel {
 public:
  Status init(const LayerView& v, CudaLibraries& libs) {
    KILN_ASSIGN_OR_RETURN(p_, plan_transpose(v));
    if (p_.empty) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(cudnnHandle_t h, libs.cudnn());
    KILN_RETURN_IF_ERROR(make_descs(p_, d_));
    const std::vector<int64_t>& t = v.layer.tactic;
    if (t.size() == 2 && t[0] >= 0 && t[0] < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT && t[1] >= CUDNN_DEFAULT_MATH &&
        t[1] <= CUDNN_FMA_MATH) {
      algo_.algo = static_cast<cudnnConvolutionBwdDataAlgo_t>(t[0]);
      algo_.math = p_.cdt == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH : static_cast<cudnnMathType_t>(t[1]);
    } else if (t.empty()) {
      KILN_ASSIGN_OR_RETURN(std::vector<Algo> algos, find_algos(h, p_, d_));
      if (algos.empty()) return Unsupported("cuDNN offers no algorithm for this ConvTranspose");
      algo_ = algos[0];
    } else {
      return InvalidArgument("conv transpose tactic ", dims_to_string(t), " is not {algorithm, math type}");
    }
    KILN_ASSIGN_OR_RETURN(algo_.workspace, algo_workspace(h, d_, algo_));  // leaves the math type set
    return Status::Ok();
  }

  Status enqueue(const LaunchArgs& a) override {
    if (p_.empty) return Status::Ok();
    const uint64_t need = p_.full_bytes + algo_.workspace;
    if (a.workspace_bytes < need || (need && !a.workspace))
      return Internal("ConvTranspose needs ", need, " bytes of workspace; the plan gives ", a.workspace_bytes);
    KILN_ASSIGN_OR_RETURN(cudnnHandle_t h, a.libs->cudnn());
    KILN_CUDNN_CHECK(cudnnSetStream(h, a.stream));
    uint8_t* ws = static_cast<uint8_t*>(a.workspace);
    void* dx = p_.full ? static_cast<void*>(ws) : a.outputs[0];
    if (p_.full) ws += p_.full_bytes;
    const void* bias = p_.has_bias ? a.inputs[2] : nullptr;
    const float one = 1.f, zero = 0.f;
    KILN_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d_.w.get(), a.inputs[1], d_.dy.get(), a.inputs[0],
                                                  d_.conv.get(), algo_.algo, ws, algo_.workspace, &zero, d_.dx.get(),
                                                  dx));
    if (p_.full) return transpose_crop(p_.dtype, dx, bias, a.outputs[0], p_.crop, a.stream);
    if (bias)
      return conv_epilogue(p_.dtype, a.outputs[0], bias, nullptr, p_.N, p_.M, p_.out_spatial, false, false, a.stream);
    return Status::Ok();
  }

 private:
  TransposePlan p_;
  TransposeDescs d_;
  Algo algo_;
};

}  // namespace

void register_conv_transpose(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "cudnn.conv_transpose";
  d.ops = {"ConvTranspose"};
  d.supports = [](const LayerView& v, std::string* why) {
    TransposePlan p;
    auto algos = build_time_algos(v, &p);
    if (!algos.ok()) return refuse(why, algos.status().message());
    if (!p.empty && algos->empty()) return refuse(why, "cuDNN offers no algorithm for this ConvTranspose");
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
    TransposePlan p;
    auto algos = build_time_algos(v, &p);
    if (!algos.ok()) return 0;
    uint64_t most = 0;
    for (const Algo& a : *algos) most = std::max(most, a.workspace);
    return p.full_bytes + most;
  };
  d.create = [](const LayerView& v, CudaLibraries& libs) -> Expected<std::unique_ptr<CudaKernel>> {
    auto k = std::make_unique<ConvTransposeKernel>();
    KILN_RETURN_IF_ERROR(k->init(v, libs));
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cuconv
