// Kiln's own fused ops (domain "kiln"), created by the build passes and run
// as one kernel on the GPU. Their CPU reference is the composition of the
// ONNX ops they replace, run through those ops' own reference kernels, so a
// fused GPU kernel is checked against exactly what the unfused graph computes.
//
//   kiln.FusedConv(X, W, B?, Z?)  = act(Conv(X, W, B) + Z)      act: "" | Relu
//   kiln.FusedMatMul(A, B, bias?) = act(alpha * MatMul(A, B') + bias)    act: "" | Relu | Gelu
//                                   B' = B, or B with its last two axes swapped when transB = 1
//   kiln.Reformat(X)              = X   (a layout change only; layouts are physical)
#include <cmath>

#include "ops/families.h"
#include "ops/fused/fused_util.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

std::map<std::string, Attr> without(const std::map<std::string, Attr>& attrs, std::initializer_list<const char*> keys) {
  std::map<std::string, Attr> out = attrs;
  for (const char* k : keys) out.erase(k);
  return out;
}

Expected<std::string> activation_of(const Node& n, std::initializer_list<const char*> allowed) {
  KILN_ASSIGN_OR_RETURN(std::string act, n.attr_string("activation", ""));
  for (const char* a : allowed)
    if (act == a) return act;
  return n.error(ErrorCode::kInvalidArgument, "unknown activation '", act, "'");
}

Status apply_activation(Tensor& t, const std::string& act, const Node& n, const Limits& limits) {
  if (act.empty()) return Status::Ok();
  std::map<std::string, Attr> attrs;
  if (act == "Gelu") {
    KILN_ASSIGN_OR_RETURN(std::string approx, n.attr_string("approximate", "none"));
    attrs["approximate"] = Attr::of_string(approx);
  }
  KILN_ASSIGN_OR_RETURN(t, run_component(act, n, attrs, {&t}, limits));
  return Status::Ok();
}

Status add_into(Tensor& acc, const Tensor& other, const Node& n, const Limits& limits) {
  KILN_ASSIGN_OR_RETURN(acc, run_component("Add", n, {}, {&acc, &other}, limits));
  return Status::Ok();
}

void register_fused_conv(OpRegistry& r) {
  OpSchema s = fused_schema("FusedConv", 2, 4);
  s.infer = [](InferContext& ctx) -> Status {
    KILN_RETURN_IF_ERROR(activation_of(ctx.node(), {"", "Relu"}).status());
    const auto& in = ctx.node().inputs;
    KILN_RETURN_IF_ERROR(infer_component("Conv", ctx, {in[0], in[1], in.size() > 2 ? in[2] : nullptr},
                                         without(ctx.node().attrs, {"activation"})));
    if (ctx.has_input(3)) {
      const auto& out = ctx.outputs()[0];
      if (ctx.input_dtype(3) != out.dtype || !(ctx.input_shape(3) == out.shape))
        return ctx.error("residual input must match the convolution output ", out.shape.to_string(), ", got ",
                         ctx.input_shape(3).to_string());
    }
    return Status::Ok();
  };
  s.cpu = [](CpuContext& ctx) -> Status {
    const Node& n = ctx.node();
    KILN_ASSIGN_OR_RETURN(std::string act, activation_of(n, {"", "Relu"}));
    std::vector<const Tensor*> ins = {&ctx.input(0), &ctx.input(1), ctx.has_input(2) ? &ctx.input(2) : nullptr};
    KILN_ASSIGN_OR_RETURN(Tensor y, run_component("Conv", n, without(n.attrs, {"activation"}), ins, ctx.limits()));
    if (ctx.has_input(3)) KILN_RETURN_IF_ERROR(add_into(y, ctx.input(3), n, ctx.limits()));
    KILN_RETURN_IF_ERROR(apply_activation(y, act, n, ctx.limits()));
    ctx.set_output(0, std::move(y));
    return Status::Ok();
  };
  r.add(std::move(s));
}

// FusedMatMul's transB (0 or 1), checked against B's rank.
Expected<bool> trans_b_of(const Node& n, size_t b_rank) {
  KILN_ASSIGN_OR_RETURN(int64_t tb, n.attr_int("transB", 0));
  if (tb != 0 && tb != 1) return n.error(ErrorCode::kInvalidArgument, "transB must be 0 or 1, got ", tb);
  if (tb == 1 && b_rank < 2) return n.error(ErrorCode::kInvalidArgument, "transB needs a B of rank >= 2");
  return tb == 1;
}

void register_fused_matmul(OpRegistry& r) {
  OpSchema s = fused_schema("FusedMatMul", 2, 3);
  s.infer = [](InferContext& ctx) -> Status {
    KILN_RETURN_IF_ERROR(activation_of(ctx.node(), {"", "Relu", "Gelu"}).status());
    KILN_RETURN_IF_ERROR(ctx.node().attr_float("alpha", 1.f).status());
    Value b = *ctx.node().inputs[1];  // B as the product sees it
    KILN_ASSIGN_OR_RETURN(bool trans_b, trans_b_of(ctx.node(), b.shape_known ? b.shape.rank() : 2));
    if (trans_b && b.shape_known) std::swap(b.shape.dims[b.shape.rank() - 1], b.shape.dims[b.shape.rank() - 2]);
    b.constant = nullptr;
    KILN_RETURN_IF_ERROR(infer_component("MatMul", ctx, {ctx.node().inputs[0], &b}, {}));
    if (ctx.has_input(2)) {
      const Shape& out = ctx.outputs()[0].shape;
      const Shape& bias = ctx.input_shape(2);
      if (bias.rank() != 1 || out.rank() == 0 || !(bias[0] == out[out.rank() - 1]))
        return ctx.error("bias must be 1-D with the output's last dim, got ", bias.to_string(), " for ",
                         out.to_string());
    }
    return Status::Ok();
  };
  s.cpu = [](CpuContext& ctx) -> Status {
    const Node& n = ctx.node();
    KILN_ASSIGN_OR_RETURN(std::string act, activation_of(n, {"", "Relu", "Gelu"}));
    KILN_ASSIGN_OR_RETURN(float alpha, n.attr_float("alpha", 1.f));
    const Tensor* b = &ctx.input(1);
    const size_t rb = static_cast<size_t>(b->rank());
    KILN_ASSIGN_OR_RETURN(bool trans_b, trans_b_of(n, rb));
    Tensor swapped;
    if (trans_b) {
      std::map<std::string, Attr> perm = {{"perm", Attr::of_ints(perm_swapping(rb, rb - 1, rb - 2))}};
      KILN_ASSIGN_OR_RETURN(swapped, run_component("Transpose", n, perm, {b}, ctx.limits()));
      b = &swapped;
    }
    KILN_ASSIGN_OR_RETURN(Tensor y, run_component("MatMul", n, {}, {&ctx.input(0), b}, ctx.limits()));
    // One rounding of alpha * (A x B) from double, as the GPU scales in float32 before it stores.
    if (alpha != 1.f)
      for (int64_t i = 0; i < y.numel(); ++i) y.set_f64(i, static_cast<double>(alpha) * y.get_f64(i));
    if (ctx.has_input(2)) KILN_RETURN_IF_ERROR(add_into(y, ctx.input(2), n, ctx.limits()));
    KILN_RETURN_IF_ERROR(apply_activation(y, act, n, ctx.limits()));
    ctx.set_output(0, std::move(y));
    return Status::Ok();
  };
  r.add(std::move(s));
}

void register_reformat(OpRegistry& r) {
  OpSchema s = fused_schema("Reformat", 1, 1);
  s.infer = infer_same_as_input0;
  s.cpu = [](CpuContext& ctx) -> Status {
    ctx.set_output(0, ctx.input(0));
    return Status::Ok();
  };
  s.elementwise = true;
  r.add(std::move(s));
}

CaseInput f32(std::vector<int64_t> dims, bool constant = false) {
  CaseInput c;
  c.dims = std::move(dims);
  c.constant = constant;
  return c;
}

void add_fused_cases(OpRegistry& r) {
  OpCase conv;
  conv.name = "kiln.FusedConv/bias_residual_relu";
  conv.op = "FusedConv";
  conv.domain = "kiln";
  conv.attrs["activation"] = Attr::of_string("Relu");
  conv.attrs["pads"] = Attr::of_ints({1, 1, 1, 1});
  conv.inputs = {f32({2, 5, 9, 7}), f32({6, 5, 3, 3}, true), f32({6}, true), f32({2, 6, 9, 7})};
  r.add_case(conv);
  OpCase conv2 = conv;
  conv2.name = "kiln.FusedConv/stride2_relu_no_residual";
  conv2.attrs["strides"] = Attr::of_ints({2, 2});
  conv2.inputs = {f32({1, 3, 11, 10}), f32({4, 3, 3, 3}, true), f32({4}, true)};
  r.add_case(conv2);
  OpCase mm;
  mm.name = "kiln.FusedMatMul/bias_gelu";
  mm.op = "FusedMatMul";
  mm.domain = "kiln";
  mm.attrs["activation"] = Attr::of_string("Gelu");
  mm.inputs = {f32({2, 7, 13}), f32({13, 9}, true), f32({9}, true)};
  r.add_case(mm);
  OpCase mm2 = mm;
  mm2.name = "kiln.FusedMatMul/bias_relu";
  mm2.attrs["activation"] = Attr::of_string("Relu");
  mm2.inputs = {f32({5, 16}), f32({16, 33}, true), f32({33}, true)};
  r.add_case(mm2);
  OpCase mm3 = mm;
  mm3.name = "kiln.FusedMatMul/alpha_transb_batched";
  mm3.attrs = {{"activation", Attr::of_string("")}, {"alpha", Attr::of_float(0.125f)}, {"transB", Attr::of_int(1)}};
  mm3.inputs = {f32({2, 3, 5, 8}), f32({2, 3, 7, 8})};
  r.add_case(mm3);
  OpCase mm4 = mm;
  mm4.name = "kiln.FusedMatMul/alpha_bias_relu_transb_weight";
  mm4.attrs = {{"activation", Attr::of_string("Relu")}, {"alpha", Attr::of_float(-0.5f)}, {"transB", Attr::of_int(1)}};
  mm4.inputs = {f32({6, 16}), f32({24, 16}, true), f32({24}, true)};
  r.add_case(mm4);
  OpCase ref;
  ref.name = "kiln.Reformat/4d";
  ref.op = "Reformat";
  ref.domain = "kiln";
  ref.inputs = {f32({2, 3, 5, 7})};
  r.add_case(ref);
}

}  // namespace

void register_fused_ops(OpRegistry& r) {
  register_fused_conv(r);
  register_fused_matmul(r);
  register_reformat(r);
  add_fused_cases(r);
}

}  // namespace kiln
