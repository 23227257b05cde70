// Kernel definitions for type and layout conversion: Cast / CastLike (every
// pair of GPU types), QuantizeLinear / DequantizeLinear (per tensor, per axis,
// blocked) and kiln.Reformat (NCHW <-> NHWC), which also runs Identity where
// kiln.copy cannot (a non-linear layout).
#include <memory>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/elementwise_host.h"

namespace kiln::cuda::ew {
namespace {

int64_t numel_of(const PlanTensor& t) {
  int64_t n = 1;
  for (int64_t d : t.dims) n *= d;
  return n;
}

// Input 0 and output 0 have the same dims and layout.
bool check_same_shape(const LayerView& v, std::string* why) {
  if (v.outputs.size() != 1 || !v.has_input(0)) {
    *why = "expects input 0 and one output";
    return false;
  }
  if (v.in(0).dims != v.out(0).dims) {
    *why = str("input '", v.in(0).name, "' and output '", v.out(0).name, "' differ in shape");
    return false;
  }
  if (v.in(0).layout != v.out(0).layout) {
    *why = str("input layout ", layout_name(v.in(0).layout), " differs from output layout ",
               layout_name(v.out(0).layout), " (a kiln.Reformat layer converts layouts)");
    return false;
  }
  return check_layouts(v, why);
}

bool check_binary_attr(const LayerView& v, const char* name, int64_t dflt, std::string* why) {
  int64_t x = attr_int(v.layer, name, dflt);
  if (x == 0 || x == 1) return true;
  *why = str(name, " is ", x, " (expects 0 or 1)");
  return false;
}

// ---- Cast / CastLike --------------------------------------------------------------------
class CastKernel : public CudaKernel {
 public:
  explicit CastKernel(CastParams p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override { return launch_cast(p_, a.inputs[0], a.outputs[0], a.stream); }

 private:
  CastParams p_;
};

CudaKernelDef cast_def() {
  CudaKernelDef d;
  d.id = "kiln.cast";
  d.ops = {"Cast", "CastLike"};
  d.supports = [](const LayerView& v, std::string* why) {
    if (!check_same_shape(v, why)) return false;
    if (!check_dtype(v.in(0), "input", kAllGpu, why) || !check_dtype(v.out(0), "output", kAllGpu, why)) return false;
    if (v.layer.op == "CastLike" && (!v.has_input(1) || v.in(1).dtype != v.out(0).dtype)) {
      *why = "CastLike's output type must be that of input 1";
      return false;
    }
    return check_binary_attr(v, "saturate", 1, why);
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    CastParams p;
    p.from = v.in(0).dtype;
    p.to = v.out(0).dtype;
    p.n = numel_of(v.in(0));
    p.saturate = attr_int(v.layer, "saturate", 1) == 1;
    return std::unique_ptr<CudaKernel>(new CastKernel(p));
  };
  d.in_place = true;  // equal byte sizes mean equal element sizes: element for element
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  return d;
}

// ---- kiln.Reformat (and non-linear Identity) -------------------------------------------------
class ReformatKernel : public CudaKernel {
 public:
  ReformatKernel(bool transpose, TransposeParams p, uint64_t bytes) : transpose_(transpose), p_(p), bytes_(bytes) {}
  Status enqueue(const LaunchArgs& a) override {
    if (transpose_) return launch_transpose(p_, a.inputs[0], a.outputs[0], a.stream);
    if (bytes_ == 0 || a.inputs[0] == a.outputs[0]) return Status::Ok();
    KILN_CUDA_CHECK(cudaMemcpyAsync(a.outputs[0], a.inputs[0], bytes_, cudaMemcpyDeviceToDevice, a.stream));
    return Status::Ok();
  }

 private:
  bool transpose_;
  TransposeParams p_;
  uint64_t bytes_;
};

CudaKernelDef reformat_def() {
  CudaKernelDef d;
  d.id = "kiln.reformat";
  d.ops = {"kiln.Reformat", "Identity"};
  d.supports = [](const LayerView& v, std::string* why) {
    if (v.outputs.size() != 1 || v.inputs.size() != 1 || !v.has_input(0)) {
      *why = "expects one input and one output";
      return false;
    }
    const PlanTensor& x = v.in(0);
    const PlanTensor& y = v.out(0);
    if (x.dtype != y.dtype || x.dims != y.dims) {
      *why = "input and output differ in type or shape";
      return false;
    }
    size_t size = dtype_size(x.dtype);
    if (size != 1 && size != 2 && size != 4 && size != 8) {
      *why = str("element size ", size, " of ", dtype_name(x.dtype));
      return false;
    }
    if (!check_layouts(v, why)) return false;
    if (v.layer.op == "Identity" && x.layout == Layout::kLinear && y.layout == Layout::kLinear) {
      *why = "linear Identity is kiln.copy's";
      return false;
    }
    return true;
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    const PlanTensor& x = v.in(0);
    const PlanTensor& y = v.out(0);
    TransposeParams p;
    p.elem_size = static_cast<int>(dtype_size(x.dtype));
    bool transpose = x.layout != y.layout;
    if (transpose) {
      // NCHW is [N][C][H*W], NHWC is [N][H*W][C]: a batched 2-D transpose either way.
      int64_t n = x.dims[0], c = x.dims[1], hw = x.dims[2] * x.dims[3];
      p.batch = n;
      p.rows = x.layout == Layout::kLinear ? c : hw;
      p.cols = x.layout == Layout::kLinear ? hw : c;
    }
    return std::unique_ptr<CudaKernel>(new ReformatKernel(transpose, p, x.bytes));
  };
  d.in_place = false;  // a transpose cannot run in place
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  return d;
}

// ---- QuantizeLinear / DequantizeLinear --------------------------------------------------------
// The scale granularity, as ops/quant/quant_util.cpp decides it, in x's
// physical order (per-axis works for NHWC too; blocked needs linear).
Expected<ScaleMap> scale_map(const LayerView& v) {
  const PlanTensor& x = v.in(0);
  const PlanTensor& scale = v.in(1);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  int64_t axis = attr_int(v.layer, "axis", 1);
  int64_t block = attr_int(v.layer, "block_size", 0);
  ScaleMap m;
  int64_t scale_rank = static_cast<int64_t>(scale.dims.size());
  if (scale_rank == 0 || (numel_of(scale) == 1 && (block == 0 || scale_rank != rank))) return m;
  if (axis < -rank || axis >= rank) return InvalidArgument("axis ", axis, " is out of range for rank ", rank);
  size_t a = static_cast<size_t>(axis < 0 ? axis + rank : axis);
  m.dim = x.dims[a];
  if (block == 0) {
    if (scale_rank != 1 || scale.dims[0] != x.dims[a])
      return InvalidArgument("per-axis scale must be 1-D of x's dim ", a);
    m.kind = 1;
    std::vector<int> order = physical_order(x.dims.size(), x.layout);
    size_t pos = 0;
    while (order[pos] != static_cast<int>(a)) ++pos;
    for (size_t j = pos + 1; j < order.size(); ++j) m.inner *= x.dims[static_cast<size_t>(order[j])];
    return m;
  }
  if (block < 0) return InvalidArgument("block_size ", block);
  if (x.layout != Layout::kLinear) return Unsupported("blocked scales need a linear x, not ", layout_name(x.layout));
  if (scale_rank != rank) return InvalidArgument("blocked scale must have x's rank");
  for (size_t d = 0; d < x.dims.size(); ++d) {
    int64_t want = d == a ? (x.dims[d] + block - 1) / block : x.dims[d];
    if (scale.dims[d] != want) return InvalidArgument("blocked scale dim ", d, " is ", scale.dims[d], ", expected ", want);
  }
  m.kind = 2;
  m.block = block;
  m.scale_dim = scale.dims[a];
  for (size_t d = a + 1; d < x.dims.size(); ++d) m.inner *= x.dims[d];
  return m;
}

class QuantKernel : public CudaKernel {
 public:
  explicit QuantKernel(QuantParams p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    const void* zp = a.inputs.size() > 2 ? a.inputs[2] : nullptr;
    return launch_quant(p_, a.inputs[0], a.inputs[1], zp, a.outputs[0], a.stream);
  }

 private:
  QuantParams p_;
};

constexpr uint32_t kQuantized = bit(DType::kInt8) | bit(DType::kUInt8) | kFp8;

bool quant_supports(const LayerView& v, bool quantize, std::string* why) {
  if (v.inputs.size() < 2 || !v.has_input(1)) {
    *why = "expects x and scale";
    return false;
  }
  if (!check_same_shape(v, why)) return false;
  bool has_zp = v.has_input(2);
  if (quantize) {
    if (!check_dtype(v.in(0), "x", kFloats | bit(DType::kInt32), why)) return false;
    if (!check_dtype(v.in(1), "scale", kFloats | bit(DType::kInt32), why)) return false;
    if (!check_dtype(v.out(0), "output", kQuantized, why)) return false;
    if (has_zp && v.in(2).dtype != v.out(0).dtype) {
      *why = "zero point and output types differ";
      return false;
    }
    if (!check_binary_attr(v, "saturate", 1, why)) return false;
    DType precision = dtype_from_onnx(static_cast<int32_t>(attr_int(v.layer, "precision", 0)));
    if (attr_int(v.layer, "precision", 0) != 0 &&
        !in_set(precision, kFloats | bit(DType::kInt32)) && precision != DType::kFloat64) {
      *why = str("precision ", attr_int(v.layer, "precision", 0), " is not float32/float16/bfloat16/float64/int32");
      return false;
    }
  } else {
    if (!check_dtype(v.in(0), "x", kQuantized | bit(DType::kInt32), why)) return false;
    if (!check_dtype(v.in(1), "scale", kFloats, why)) return false;
    if (!check_dtype(v.out(0), "output", kFloats, why)) return false;
    if (has_zp && v.in(2).dtype != v.in(0).dtype) {
      *why = "zero point and x types differ";
      return false;
    }
  }
  if (has_zp && v.in(2).dims != v.in(1).dims && !(numel_of(v.in(2)) == 1 && numel_of(v.in(1)) == 1)) {
    *why = "zero point shape differs from the scale's";
    return false;
  }
  auto m = scale_map(v);
  if (!m.ok()) {
    *why = m.status().message();
    return false;
  }
  return true;
}

Expected<std::unique_ptr<CudaKernel>> create_quant(const LayerView& v, bool quantize) {
  QuantParams p;
  p.quantize = quantize;
  p.x = v.in(0).dtype;
  p.scale = v.in(1).dtype;
  p.zero_point = v.has_input(2) ? v.in(2).dtype : DType::kUndefined;
  p.y = v.out(0).dtype;
  int64_t precision = attr_int(v.layer, "precision", 0);
  p.precision = precision != 0 ? dtype_from_onnx(static_cast<int32_t>(precision)) : p.scale;
  p.saturate = attr_int(v.layer, "saturate", 1) == 1;
  p.n = numel_of(v.in(0));
  KILN_ASSIGN_OR_RETURN(p.smap, scale_map(v));
  return std::unique_ptr<CudaKernel>(new QuantKernel(p));
}

CudaKernelDef quantize_def(bool quantize) {
  CudaKernelDef d;
  d.id = quantize ? "kiln.quantize" : "kiln.dequantize";
  d.ops = {quantize ? "QuantizeLinear" : "DequantizeLinear"};
  d.supports = [quantize](const LayerView& v, std::string* why) { return quant_supports(v, quantize, why); };
  d.create = [quantize](const LayerView& v, CudaLibraries&) { return create_quant(v, quantize); };
  d.in_place = true;  // equal byte sizes (int32 -> float32) mean element for element
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  return d;
}

}  // namespace

void register_elementwise_cast(CudaKernelRegistry& r) {
  r.add(cast_def());
  r.add(reformat_def());
  r.add(quantize_def(true));
  r.add(quantize_def(false));
}

}  // namespace kiln::cuda::ew
