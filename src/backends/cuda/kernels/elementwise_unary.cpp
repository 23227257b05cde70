// Kernel definitions for the unary ops: math (Sqrt, Exp, ..., Round), the
// activations (Relu, Sigmoid, Gelu, ...), Clip, Not, IsNaN and IsInf. Each
// runs in one pass over the tensor, in place when the builder allows.
#include <map>
#include <memory>

#include "backends/cuda/kernels/elementwise_host.h"

namespace kiln::cuda::ew {
namespace {

struct UnaryInfo {
  UnaryOp op;
  uint32_t types;  // dtypes the kernel runs
};

const std::map<std::string, UnaryInfo>& unary_table() {
  static const std::map<std::string, UnaryInfo> table = {
      {"Abs", {UnaryOp::kAbs, kNumeric}},
      {"Neg", {UnaryOp::kNeg, kNumeric}},
      {"Sign", {UnaryOp::kSign, kNumeric}},
      {"Relu", {UnaryOp::kRelu, kNumeric}},
      {"Not", {UnaryOp::kNot, kBool}},
      {"Sqrt", {UnaryOp::kSqrt, kFloats}},
      {"Exp", {UnaryOp::kExp, kFloats}},
      {"Log", {UnaryOp::kLog, kFloats}},
      {"Reciprocal", {UnaryOp::kReciprocal, kFloats}},
      {"Floor", {UnaryOp::kFloor, kFloats}},
      {"Ceil", {UnaryOp::kCeil, kFloats}},
      {"Round", {UnaryOp::kRound, kFloats}},
      {"Sin", {UnaryOp::kSin, kFloats}},
      {"Cos", {UnaryOp::kCos, kFloats}},
      {"Tan", {UnaryOp::kTan, kFloats}},
      {"Asin", {UnaryOp::kAsin, kFloats}},
      {"Acos", {UnaryOp::kAcos, kFloats}},
      {"Atan", {UnaryOp::kAtan, kFloats}},
      {"Sinh", {UnaryOp::kSinh, kFloats}},
      {"Cosh", {UnaryOp::kCosh, kFloats}},
      {"Asinh", {UnaryOp::kAsinh, kFloats}},
      {"Acosh", {UnaryOp::kAcosh, kFloats}},
      {"Atanh", {UnaryOp::kAtanh, kFloats}},
      {"Tanh", {UnaryOp::kTanh, kFloats}},
      {"Sigmoid", {UnaryOp::kSigmoid, kFloats}},
      {"Erf", {UnaryOp::kErf, kFloats}},
      {"Softplus", {UnaryOp::kSoftplus, kFloats}},
      {"Softsign", {UnaryOp::kSoftsign, kFloats}},
      {"HardSwish", {UnaryOp::kHardSwish, kFloats}},
      {"Mish", {UnaryOp::kMish, kFloats}},
      {"LeakyRelu", {UnaryOp::kLeakyRelu, kFloats}},
      {"HardSigmoid", {UnaryOp::kHardSigmoid, kFloats}},
      {"Elu", {UnaryOp::kElu, kFloats}},
      {"Selu", {UnaryOp::kSelu, kFloats}},
      {"Celu", {UnaryOp::kCelu, kFloats}},
      {"ThresholdedRelu", {UnaryOp::kThresholdedRelu, kFloats}},
      {"Gelu", {UnaryOp::kGelu, kFloats}},
  };
  return table;
}

// One input, one output of the same type, dims and layout.
bool check_same_tensor(const LayerView& v, std::string* why) {
  if (v.outputs.size() != 1 || !v.has_input(0)) {
    *why = "expects input 0 and one output";
    return false;
  }
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  if (x.dims != y.dims) {
    *why = str("input '", x.name, "' and output '", y.name, "' differ in shape");
    return false;
  }
  if (x.layout != y.layout) {
    *why = str("input layout ", layout_name(x.layout), " differs from output layout ", layout_name(y.layout),
               " (a kiln.Reformat layer converts layouts)");
    return false;
  }
  return check_layouts(v, why);
}

int64_t numel_of(const PlanTensor& t) {
  int64_t n = 1;
  for (int64_t d : t.dims) n *= d;
  return n;
}

// Reads the op's attributes into launch parameters (defaults as the ONNX spec).
UnaryParams unary_params(const LayerView& v) {
  const PlanLayer& l = v.layer;
  UnaryParams p;
  p.op = l.op == "Clip" ? UnaryOp::kClip : unary_table().at(l.op).op;
  p.dtype = v.in(0).dtype;
  p.n = numel_of(v.in(0));
  if (l.op == "LeakyRelu") p.alpha = attr_float(l, "alpha", 0.01f);
  if (l.op == "HardSigmoid") {
    p.alpha = attr_float(l, "alpha", 0.2f);
    p.beta = attr_float(l, "beta", 0.5f);
  }
  if (l.op == "Elu" || l.op == "Celu" || l.op == "ThresholdedRelu") p.alpha = attr_float(l, "alpha", 1.0f);
  if (l.op == "Selu") {
    p.alpha = attr_float(l, "alpha", 1.67326319217681884765625f);
    p.gamma = attr_float(l, "gamma", 1.05070102214813232421875f);
  }
  if (l.op == "Gelu" && attr_string(l, "approximate", "none") == "tanh") p.op = UnaryOp::kGeluTanh;
  return p;
}

class UnaryKernel : public CudaKernel {
 public:
  explicit UnaryKernel(UnaryParams p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    const void* lo = a.inputs.size() > 1 ? a.inputs[1] : nullptr;  // Clip bounds, nullptr if omitted
    const void* hi = a.inputs.size() > 2 ? a.inputs[2] : nullptr;
    return launch_unary(p_, a.inputs[0], a.outputs[0], lo, hi, a.stream);
  }

 private:
  UnaryParams p_;
};

class IsSpecialKernel : public CudaKernel {
 public:
  explicit IsSpecialKernel(IsSpecialParams p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override { return launch_is_special(p_, a.inputs[0], a.outputs[0], a.stream); }

 private:
  IsSpecialParams p_;
};

Expected<std::unique_ptr<CudaKernel>> create_unary(const LayerView& v, CudaLibraries&) {
  return std::unique_ptr<CudaKernel>(new UnaryKernel(unary_params(v)));
}

CudaKernelDef unary_def() {
  CudaKernelDef d;
  d.id = "kiln.unary";
  for (const auto& [op, info] : unary_table()) d.ops.push_back(op);
  d.supports = [](const LayerView& v, std::string* why) {
    if (!check_same_tensor(v, why)) return false;
    const UnaryInfo& info = unary_table().at(v.layer.op);
    if (!check_dtype(v.in(0), "input", info.types, why)) return false;
    if (v.layer.op == "Gelu") {
      std::string mode = attr_string(v.layer, "approximate", "none");
      if (mode != "none" && mode != "tanh") {
        *why = str("Gelu approximate='", mode, "' (expects 'none' or 'tanh')");
        return false;
      }
    }
    if (v.layer.op == "Celu" && attr_float(v.layer, "alpha", 1.0f) == 0.0f) {
      *why = "Celu alpha is 0";
      return false;
    }
    return true;
  };
  d.create = create_unary;
  d.in_place = true;
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  return d;
}

// Clip: bounds are inputs 1 and 2 (either may be omitted), one value each of
// x's type; the kernel reads them on the device, so constant and computed
// bounds work alike.
CudaKernelDef clip_def() {
  CudaKernelDef d;
  d.id = "kiln.clip";
  d.ops = {"Clip"};
  d.supports = [](const LayerView& v, std::string* why) {
    if (!check_same_tensor(v, why)) return false;
    if (!check_dtype(v.in(0), "input", kNumeric, why)) return false;
    if (v.inputs.size() > 3) {
      *why = str("expects at most 3 inputs, got ", v.inputs.size());
      return false;
    }
    for (size_t i = 1; i < v.inputs.size(); ++i) {
      if (!v.has_input(i)) continue;
      if (v.in(i).dtype != v.in(0).dtype || numel_of(v.in(i)) != 1) {
        *why = str(i == 1 ? "min" : "max", " must be one value of the input's type, got ", dtype_name(v.in(i).dtype),
                   " with ", numel_of(v.in(i)), " elements");
        return false;
      }
    }
    return true;
  };
  d.create = create_unary;
  d.in_place = true;
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  return d;
}

CudaKernelDef is_special_def() {
  CudaKernelDef d;
  d.id = "kiln.is_special";
  d.ops = {"IsNaN", "IsInf"};
  d.supports = [](const LayerView& v, std::string* why) {
    if (!check_same_tensor(v, why)) return false;
    if (!check_dtype(v.in(0), "input", kFloats | kFp8, why)) return false;
    if (!check_dtype(v.out(0), "output", kBool, why)) return false;
    for (const char* flag : {"detect_negative", "detect_positive"}) {
      int64_t f = attr_int(v.layer, flag, 1);
      if (f != 0 && f != 1) {
        *why = str(flag, " is ", f, " (expects 0 or 1)");
        return false;
      }
    }
    return true;
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    IsSpecialParams p;
    p.dtype = v.in(0).dtype;
    p.n = numel_of(v.in(0));
    p.is_inf = v.layer.op == "IsInf";
    p.negative = attr_int(v.layer, "detect_negative", 1) == 1;
    p.positive = attr_int(v.layer, "detect_positive", 1) == 1;
    return std::unique_ptr<CudaKernel>(new IsSpecialKernel(p));
  };
  // Output 0 can only share input 0's bytes when both are 1-byte (fp8 -> bool), element for element.
  d.in_place = true;
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  return d;
}

}  // namespace

void register_elementwise_unary(CudaKernelRegistry& r) {
  r.add(unary_def());
  r.add(clip_def());
  r.add(is_special_def());
}

}  // namespace kiln::cuda::ew
