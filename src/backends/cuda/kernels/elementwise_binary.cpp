// Kernel definitions for the broadcasting ops: binary arithmetic and logic,
// comparisons, Pow (any base/exponent types), variadic Max/Min/Sum/Mean and
// Where. Inputs broadcast numpy-style up to rank 8, in any mix of linear and
// NHWC layouts; the index map is prepared at creation.
//
// In place: the builder lets output 0 reuse input 0's memory whenever the byte
// sizes match. That is element-for-element safe only when input 0 walks with
// the output (same dims, same layout); for the rare layer where it does not
// (e.g. a broadcast bool condition or a layout change of equal size) the
// kernel asks for workspace and, if it finds itself aliased, copies input 0
// there first.
#include <map>
#include <memory>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/elementwise_host.h"

namespace kiln::cuda::ew {
namespace {

// True if output 0 could alias input 0 without input 0 walking with it.
bool alias_needs_copy(const LayerView& v) {
  if (!v.has_input(0) || v.in(0).bytes != v.out(0).bytes || v.in(0).bytes == 0) return false;
  auto self = build_map(v.out(0), {v.inputs[0]});
  return !self.ok() || self->shape.kind[0] == -1 || (self->shape.kind[0] == 0 && self->numel > 1);
}

uint64_t alias_workspace(const LayerView& v) { return alias_needs_copy(v) ? v.in(0).bytes : 0; }

// The first n input addresses for this launch. When the output aliases
// input 0 unsafely, input 0 (and any operand that is the same tensor) reads a
// workspace copy taken first.
struct InputPtrs {
  const void* p[kMaxInputs] = {};
};

Expected<InputPtrs> inputs_for(const LaunchArgs& a, size_t n, bool needs_copy, uint64_t bytes) {
  InputPtrs in;
  for (size_t k = 0; k < n && k < static_cast<size_t>(kMaxInputs); ++k) in.p[k] = a.inputs[k];
  if (!needs_copy || a.outputs[0] != a.inputs[0]) return in;
  if (a.workspace_bytes < bytes) return Internal("kiln elementwise: aliased input needs ", bytes, " workspace bytes");
  KILN_CUDA_CHECK(cudaMemcpyAsync(a.workspace, a.inputs[0], bytes, cudaMemcpyDeviceToDevice, a.stream));
  for (size_t k = 0; k < n && k < static_cast<size_t>(kMaxInputs); ++k)
    if (in.p[k] == a.inputs[0]) in.p[k] = a.workspace;
  return in;
}

std::vector<const PlanTensor*> first_inputs(const LayerView& v, size_t n) {
  return std::vector<const PlanTensor*>(v.inputs.begin(), v.inputs.begin() + static_cast<std::ptrdiff_t>(n));
}

// All of inputs [0, n) share input 0's dtype, which is in `set`.
bool check_same_types(const LayerView& v, size_t first, size_t n, uint32_t set, std::string* why) {
  if (!check_dtype(v.in(first), "input", set, why)) return false;
  for (size_t i = first + 1; i < n; ++i) {
    if (v.in(i).dtype != v.in(first).dtype) {
      *why = str("input ", i, " is ", dtype_name(v.in(i).dtype), " but input ", first, " is ",
                 dtype_name(v.in(first).dtype));
      return false;
    }
  }
  return true;
}

// ---- binary (arithmetic, logic, comparisons) ------------------------------------------------
struct BinaryInfo {
  BinaryOp op;
  uint32_t types;
};

const std::map<std::string, BinaryInfo>& arith_table() {
  static const std::map<std::string, BinaryInfo> table = {
      {"Add", {BinaryOp::kAdd, kNumeric}},   {"Sub", {BinaryOp::kSub, kNumeric}},
      {"Mul", {BinaryOp::kMul, kNumeric}},   {"Div", {BinaryOp::kDiv, kNumeric}},
      {"Mod", {BinaryOp::kMod, kNumeric}},   {"Max", {BinaryOp::kMax, kNumeric}},
      {"Min", {BinaryOp::kMin, kNumeric}},   {"Sum", {BinaryOp::kAdd, kNumeric}},
      {"PRelu", {BinaryOp::kPRelu, kNumeric}}, {"And", {BinaryOp::kAnd, kBool}},
      {"Or", {BinaryOp::kOr, kBool}},        {"Xor", {BinaryOp::kXor, kBool}},
  };
  return table;
}

const std::map<std::string, BinaryInfo>& compare_table() {
  static const std::map<std::string, BinaryInfo> table = {
      {"Equal", {BinaryOp::kEqual, kNumeric | kBool}},
      {"Greater", {BinaryOp::kGreater, kNumeric}},
      {"Less", {BinaryOp::kLess, kNumeric}},
      {"GreaterOrEqual", {BinaryOp::kGreaterOrEqual, kNumeric}},
      {"LessOrEqual", {BinaryOp::kLessOrEqual, kNumeric}},
  };
  return table;
}

class BinaryKernel : public CudaKernel {
 public:
  BinaryKernel(BinaryParams p, bool needs_copy, uint64_t bytes) : p_(p), needs_copy_(needs_copy), bytes_(bytes) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.map.numel == 0) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(InputPtrs in, inputs_for(a, 2, needs_copy_, bytes_));
    return launch_binary(p_, in.p[0], in.p[1], a.outputs[0], a.stream);
  }

 private:
  BinaryParams p_;
  bool needs_copy_;
  uint64_t bytes_;
};

Expected<std::unique_ptr<CudaKernel>> create_binary(const LayerView& v, BinaryOp op) {
  BinaryParams p;
  p.op = op;
  p.dtype = v.in(0).dtype;
  KILN_ASSIGN_OR_RETURN(MapSpec spec, build_map(v.out(0), first_inputs(v, 2)));
  p.map = to_index_map<2>(spec);
  p.shape = spec.shape;
  return std::unique_ptr<CudaKernel>(new BinaryKernel(p, alias_needs_copy(v), v.in(0).bytes));
}

CudaKernelDef binary_def() {
  CudaKernelDef d;
  d.id = "kiln.binary";
  for (const auto& [op, info] : arith_table()) d.ops.push_back(op);
  d.supports = [](const LayerView& v, std::string* why) {
    if (v.inputs.size() != 2) {
      *why = str("runs 2 inputs, got ", v.inputs.size(), " (kiln.variadic runs other counts)");
      return false;
    }
    if (!check_broadcast_layer(v, 2, why)) return false;
    const BinaryInfo& info = arith_table().at(v.layer.op);
    if (!check_same_types(v, 0, 2, info.types, why)) return false;
    if (v.out(0).dtype != v.in(0).dtype) {
      *why = str("output is ", dtype_name(v.out(0).dtype), " but the inputs are ", dtype_name(v.in(0).dtype));
      return false;
    }
    if (v.layer.op == "Mod") {
      int64_t fmod = attr_int(v.layer, "fmod", 0);
      if (fmod != 0 && fmod != 1) {
        *why = str("Mod fmod=", fmod, " (expects 0 or 1)");
        return false;
      }
    }
    return true;
  };
  d.workspace = alias_workspace;
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    BinaryOp op = arith_table().at(v.layer.op).op;
    if (op == BinaryOp::kMod && attr_int(v.layer, "fmod", 0) == 1) op = BinaryOp::kFmod;
    return create_binary(v, op);
  };
  d.in_place = true;
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  d.priority = 1;  // before kiln.variadic for two-input Max/Min/Sum (vector path)
  return d;
}

CudaKernelDef compare_def() {
  CudaKernelDef d;
  d.id = "kiln.compare";
  for (const auto& [op, info] : compare_table()) d.ops.push_back(op);
  d.supports = [](const LayerView& v, std::string* why) {
    if (v.inputs.size() != 2) {
      *why = str("expects 2 inputs, got ", v.inputs.size());
      return false;
    }
    if (!check_broadcast_layer(v, 2, why)) return false;
    if (!check_same_types(v, 0, 2, compare_table().at(v.layer.op).types, why)) return false;
    return check_dtype(v.out(0), "output", kBool, why);
  };
  d.create = [](const LayerView& v, CudaLibraries&) { return create_binary(v, compare_table().at(v.layer.op).op); };
  d.in_place = false;  // a bool output the size of a wider, broadcast input 0 would race with it
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  return d;
}

// ---- Pow --------------------------------------------------------------------------------
class PowKernel : public CudaKernel {
 public:
  PowKernel(PowParams p, bool needs_copy, uint64_t bytes) : p_(p), needs_copy_(needs_copy), bytes_(bytes) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.map.numel == 0) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(InputPtrs in, inputs_for(a, 2, needs_copy_, bytes_));
    return launch_pow_mixed(p_, in.p[0], in.p[1], a.outputs[0], a.stream);
  }

 private:
  PowParams p_;
  bool needs_copy_;
  uint64_t bytes_;
};

CudaKernelDef pow_def() {
  CudaKernelDef d;
  d.id = "kiln.pow";
  d.ops = {"Pow"};
  d.supports = [](const LayerView& v, std::string* why) {
    if (v.inputs.size() != 2) {
      *why = str("expects 2 inputs, got ", v.inputs.size());
      return false;
    }
    if (!check_broadcast_layer(v, 2, why)) return false;
    if (!check_dtype(v.in(0), "base", kNumeric, why) || !check_dtype(v.in(1), "exponent", kNumeric, why)) return false;
    if (v.out(0).dtype != v.in(0).dtype) {
      *why = str("output is ", dtype_name(v.out(0).dtype), " but the base is ", dtype_name(v.in(0).dtype));
      return false;
    }
    return true;
  };
  d.workspace = alias_workspace;
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    // Same types: the templated binary kernel (vector path); mixed: per element in double.
    if (v.in(0).dtype == v.in(1).dtype) return create_binary(v, BinaryOp::kPow);
    PowParams p;
    p.base = v.in(0).dtype;
    p.exponent = v.in(1).dtype;
    KILN_ASSIGN_OR_RETURN(MapSpec spec, build_map(v.out(0), first_inputs(v, 2)));
    p.map = to_index_map<2>(spec);
    return std::unique_ptr<CudaKernel>(new PowKernel(p, alias_needs_copy(v), v.in(0).bytes));
  };
  d.in_place = true;
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  return d;
}

// ---- variadic Max / Min / Sum / Mean ---------------------------------------------------------
class VariadicKernel : public CudaKernel {
 public:
  VariadicKernel(VariadicParams p, bool needs_copy, uint64_t bytes) : p_(p), needs_copy_(needs_copy), bytes_(bytes) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.map.numel == 0) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(InputPtrs in, inputs_for(a, static_cast<size_t>(p_.count), needs_copy_, bytes_));
    return launch_variadic(p_, in.p, a.outputs[0], a.stream);
  }

 private:
  VariadicParams p_;
  bool needs_copy_;
  uint64_t bytes_;
};

CudaKernelDef variadic_def() {
  CudaKernelDef d;
  d.id = "kiln.variadic";
  d.ops = {"Max", "Min", "Sum", "Mean"};
  d.supports = [](const LayerView& v, std::string* why) {
    size_t n = v.inputs.size();
    if (n < 1 || n > static_cast<size_t>(kMaxInputs)) {
      *why = str(n, " inputs; one kernel folds 1 to ", kMaxInputs);
      return false;
    }
    if (!check_broadcast_layer(v, n, why)) return false;
    bool float_only = v.layer.op == "Sum" || v.layer.op == "Mean";
    if (!check_same_types(v, 0, n, float_only ? kFloats : kNumeric, why)) return false;
    return check_dtype(v.out(0), "output", bit(v.in(0).dtype), why);
  };
  d.workspace = alias_workspace;
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    static const std::map<std::string, VariadicOp> ops = {
        {"Max", VariadicOp::kMax}, {"Min", VariadicOp::kMin}, {"Sum", VariadicOp::kSum}, {"Mean", VariadicOp::kMean}};
    VariadicParams p;
    p.op = ops.at(v.layer.op);
    p.dtype = v.in(0).dtype;
    p.count = static_cast<int>(v.inputs.size());
    KILN_ASSIGN_OR_RETURN(MapSpec spec, build_map(v.out(0), v.inputs));
    p.map = to_index_map<kMaxInputs>(spec);
    return std::unique_ptr<CudaKernel>(new VariadicKernel(p, alias_needs_copy(v), v.in(0).bytes));
  };
  d.in_place = true;
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  return d;
}

// ---- Where ------------------------------------------------------------------------------
class WhereKernel : public CudaKernel {
 public:
  WhereKernel(WhereParams p, bool needs_copy, uint64_t bytes) : p_(p), needs_copy_(needs_copy), bytes_(bytes) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.map.numel == 0) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(InputPtrs in, inputs_for(a, 3, needs_copy_, bytes_));
    return launch_where(p_, in.p[0], in.p[1], in.p[2], a.outputs[0], a.stream);
  }

 private:
  WhereParams p_;
  bool needs_copy_;
  uint64_t bytes_;
};

CudaKernelDef where_def() {
  CudaKernelDef d;
  d.id = "kiln.where";
  d.ops = {"Where"};
  d.supports = [](const LayerView& v, std::string* why) {
    if (v.inputs.size() != 3) {
      *why = str("expects 3 inputs, got ", v.inputs.size());
      return false;
    }
    if (!check_broadcast_layer(v, 3, why)) return false;
    if (!check_dtype(v.in(0), "condition", kBool, why)) return false;
    if (!check_same_types(v, 1, 3, kAllGpu, why)) return false;
    return check_dtype(v.out(0), "output", bit(v.in(1).dtype), why);
  };
  d.workspace = alias_workspace;
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    WhereParams p;
    p.elem_size = static_cast<int>(dtype_size(v.out(0).dtype));
    KILN_ASSIGN_OR_RETURN(MapSpec spec, build_map(v.out(0), first_inputs(v, 3)));
    p.map = to_index_map<3>(spec);
    return std::unique_ptr<CudaKernel>(new WhereKernel(p, alias_needs_copy(v), v.in(0).bytes));
  };
  d.in_place = true;
  d.layouts = {Layout::kLinear, Layout::kNHWC};
  return d;
}

}  // namespace

void register_elementwise_binary(CudaKernelRegistry& r) {
  r.add(binary_def());
  r.add(compare_def());
  r.add(pow_def());
  r.add(variadic_def());
  r.add(where_def());
}

}  // namespace kiln::cuda::ew
