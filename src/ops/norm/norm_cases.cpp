// Test cases of the norm family, as data: odd channel counts, size-1 and
// empty dims, every attribute, the older opset forms, fp16/bf16/fp64.
#include <string>

#include "ops/norm/norm_util.h"

namespace kiln::norm_ops {
namespace {

CaseInput data(DType t, std::vector<int64_t> dims, double lo = -2.0, double hi = 2.0, bool constant = false) {
  return CaseInput::random(t, std::move(dims), lo, hi, constant);
}

CaseInput omitted() {
  CaseInput in;
  in.omitted = true;
  return in;
}

OpCase make(const std::string& op, const std::string& name, std::vector<CaseInput> inputs,
            std::map<std::string, Attr> attrs = {}, int64_t opset = 0, int num_outputs = 1) {
  OpCase c;
  c.name = op + "/" + name;
  c.op = op;
  c.inputs = std::move(inputs);
  c.attrs = std::move(attrs);
  c.opset = opset;
  c.num_outputs = num_outputs;
  return c;
}

// X plus the four per-channel inputs of BatchNormalization (var > 0).
std::vector<CaseInput> bn_inputs(DType t, std::vector<int64_t> dims, DType stats = DType::kUndefined) {
  int64_t c = dims[1];
  DType s = stats == DType::kUndefined ? t : stats;
  return {data(t, dims), data(t, {c}, 0.5, 1.5, true), data(t, {c}, -1, 1, true), data(s, {c}, -0.5, 0.5, true),
          data(s, {c}, 0.2, 2.0, true)};
}

void add_batch_instance_cases(OpRegistry& r) {
  const std::string bn = "BatchNormalization";
  r.add_case(make(bn, "nchw", bn_inputs(DType::kFloat32, {2, 3, 5, 7})));
  r.add_case(make(bn, "nc", bn_inputs(DType::kFloat32, {4, 5})));
  r.add_case(make(bn, "ncd", bn_inputs(DType::kFloat32, {2, 3, 9}), {{"epsilon", Attr::of_float(0.1f)}}));
  r.add_case(make(bn, "fp16", bn_inputs(DType::kFloat16, {1, 4, 3, 3})));
  r.add_case(make(bn, "bf16_fp32_stats", bn_inputs(DType::kBFloat16, {2, 3, 4}, DType::kFloat32)));
  r.add_case(make(bn, "fp64", bn_inputs(DType::kFloat64, {2, 3, 4})));
  r.add_case(make(bn, "empty_batch", bn_inputs(DType::kFloat32, {0, 3, 4})));
  r.add_case(make(bn, "opset13", bn_inputs(DType::kFloat32, {2, 3, 4, 4}), {}, 13));
  r.add_case(make(bn, "opset14", bn_inputs(DType::kFloat32, {2, 3, 4}), {}, 14));
  r.add_case(make(bn, "training", bn_inputs(DType::kFloat32, {3, 4, 5, 2}),
                  {{"training_mode", Attr::of_int(1)}, {"momentum", Attr::of_float(0.7f)}}, 0, 3));
  r.add_case(make(bn, "training_y_only", bn_inputs(DType::kFloat32, {3, 4, 5}), {{"training_mode", Attr::of_int(1)}}));
  r.add_case(make(bn, "opset13_training_outputs", bn_inputs(DType::kFloat32, {3, 2, 5}), {}, 13, 3));

  const std::string in = "InstanceNormalization";
  auto in_inputs = [](DType t, std::vector<int64_t> dims) {
    int64_t c = dims[1];
    return std::vector<CaseInput>{data(t, dims), data(t, {c}, 0.5, 1.5, true), data(t, {c}, -1, 1, true)};
  };
  r.add_case(make(in, "nchw", in_inputs(DType::kFloat32, {2, 3, 5, 7})));
  r.add_case(make(in, "ncd_eps", in_inputs(DType::kFloat32, {3, 5, 11}), {{"epsilon", Attr::of_float(0.01f)}}));
  r.add_case(make(in, "size1_spatial", in_inputs(DType::kFloat32, {2, 3, 1, 1})));
  r.add_case(make(in, "fp16", in_inputs(DType::kFloat16, {1, 4, 6, 5})));
  r.add_case(make(in, "bf16", in_inputs(DType::kBFloat16, {2, 2, 9})));
  r.add_case(make(in, "fp64", in_inputs(DType::kFloat64, {2, 2, 9})));
  r.add_case(make(in, "empty_batch", in_inputs(DType::kFloat32, {0, 3, 4})));
  r.add_case(make(in, "opset13", in_inputs(DType::kFloat32, {2, 3, 4}), {}, 13));
}

void add_layer_rms_lp_cases(OpRegistry& r) {
  const std::string ln = "LayerNormalization";
  auto ln_inputs = [](DType t, std::vector<int64_t> dims, std::vector<int64_t> param, bool bias = true) {
    std::vector<CaseInput> v = {data(t, dims), data(t, param, 0.5, 1.5, true)};
    v.push_back(bias ? data(t, param, -1, 1, true) : omitted());
    return v;
  };
  r.add_case(make(ln, "last_axis", ln_inputs(DType::kFloat32, {3, 5, 7}, {7})));
  r.add_case(make(ln, "axis1_stats", ln_inputs(DType::kFloat32, {3, 5, 7}, {5, 7}), {{"axis", Attr::of_int(1)}}, 0, 3));
  r.add_case(make(ln, "axis0", ln_inputs(DType::kFloat32, {4, 6}, {4, 6}), {{"axis", Attr::of_int(0)}}, 0, 3));
  r.add_case(make(ln, "neg_axis_eps", ln_inputs(DType::kFloat32, {2, 3, 4, 5}, {4, 5}),
                  {{"axis", Attr::of_int(-2)}, {"epsilon", Attr::of_float(0.1f)}}));
  r.add_case(make(ln, "no_bias", ln_inputs(DType::kFloat32, {3, 9}, {9}, false)));
  r.add_case(make(ln, "broadcast_scale", ln_inputs(DType::kFloat32, {2, 3, 4}, {1, 4}), {{"axis", Attr::of_int(1)}}));
  r.add_case(make(ln, "fp16_stats", ln_inputs(DType::kFloat16, {4, 33}, {33}), {}, 0, 3));
  r.add_case(make(ln, "bf16_bf16_stats", ln_inputs(DType::kBFloat16, {4, 9}, {9}), {{"stash_type", Attr::of_int(16)}},
                  0, 3));
  r.add_case(make(ln, "fp64", ln_inputs(DType::kFloat64, {3, 8}, {8})));
  r.add_case(make(ln, "empty_rows", ln_inputs(DType::kFloat32, {0, 8}, {8}), {}, 0, 3));
  r.add_case(make(ln, "size1_row", ln_inputs(DType::kFloat32, {5, 1}, {1})));
  r.add_case(make(ln, "rank1", ln_inputs(DType::kFloat32, {10}, {10})));

  const std::string rms = "RMSNormalization";
  auto rms_inputs = [](DType t, std::vector<int64_t> dims, std::vector<int64_t> param, DType v = DType::kUndefined) {
    return std::vector<CaseInput>{data(t, dims), data(v == DType::kUndefined ? t : v, param, 0.5, 1.5, true)};
  };
  r.add_case(make(rms, "last_axis", rms_inputs(DType::kFloat32, {3, 5, 7}, {7})));
  r.add_case(make(rms, "axis1", rms_inputs(DType::kFloat32, {3, 5, 7}, {5, 7}), {{"axis", Attr::of_int(1)}}));
  r.add_case(make(rms, "axis0_eps", rms_inputs(DType::kFloat32, {4, 6}, {4, 6}),
                  {{"axis", Attr::of_int(0)}, {"epsilon", Attr::of_float(0.1f)}}));
  r.add_case(make(rms, "neg_axis", rms_inputs(DType::kFloat32, {2, 3, 4, 5}, {1, 5}), {{"axis", Attr::of_int(-2)}}));
  r.add_case(make(rms, "fp16", rms_inputs(DType::kFloat16, {4, 33}, {33})));
  r.add_case(make(rms, "bf16_x_fp32_scale", rms_inputs(DType::kBFloat16, {4, 9}, {9}, DType::kFloat32)));
  r.add_case(make(rms, "fp32_x_fp16_scale", rms_inputs(DType::kFloat32, {4, 9}, {9}, DType::kFloat16),
                  {{"stash_type", Attr::of_int(1)}}));
  r.add_case(make(rms, "fp64", rms_inputs(DType::kFloat64, {3, 8}, {8})));
  r.add_case(make(rms, "empty", rms_inputs(DType::kFloat32, {0, 8}, {8})));

  const std::string lp = "LpNormalization";
  r.add_case(make(lp, "l2_default", {data(DType::kFloat32, {3, 7})}));
  r.add_case(make(lp, "l1_axis0", {data(DType::kFloat32, {4, 5})}, {{"p", Attr::of_int(1)}, {"axis", Attr::of_int(0)}}));
  r.add_case(make(lp, "l2_axis1_rank3", {data(DType::kFloat32, {2, 5, 3})}, {{"axis", Attr::of_int(1)}}));
  CaseInput zeros = data(DType::kFloat32, {2, 3});
  zeros.fvalues = {0, 0, 0, 1, 2, 2};
  r.add_case(make(lp, "zero_norm", {zeros}));
  r.add_case(make(lp, "fp16", {data(DType::kFloat16, {3, 17})}));
  r.add_case(make(lp, "bf16", {data(DType::kBFloat16, {3, 17})}, {{"p", Attr::of_int(1)}}));
  r.add_case(make(lp, "fp64", {data(DType::kFloat64, {3, 5})}));
  r.add_case(make(lp, "empty", {data(DType::kFloat32, {0, 5})}));
}

void add_group_norm_cases(OpRegistry& r) {
  const std::string gn = "GroupNormalization";
  auto gn_inputs = [](DType t, std::vector<int64_t> dims, int64_t params, bool constant = true) {
    return std::vector<CaseInput>{data(t, dims), data(t, {params}, 0.5, 1.5, constant),
                                  data(t, {params}, -1, 1, constant)};
  };
  auto groups = [](int64_t g) { return std::map<std::string, Attr>{{"num_groups", Attr::of_int(g)}}; };
  r.add_case(make(gn, "g2", gn_inputs(DType::kFloat32, {2, 6, 3, 5}, 6), groups(2)));
  r.add_case(make(gn, "g1_layer_like", gn_inputs(DType::kFloat32, {3, 4, 7}, 4), groups(1)));
  r.add_case(make(gn, "gc_instance_like", gn_inputs(DType::kFloat32, {2, 5, 3}, 5), groups(5)));
  r.add_case(make(gn, "eps", gn_inputs(DType::kFloat32, {2, 9, 2, 2}, 9),
                  {{"num_groups", Attr::of_int(3)}, {"epsilon", Attr::of_float(0.05f)}}));
  r.add_case(make(gn, "nc_only", gn_inputs(DType::kFloat32, {4, 6}, 6), groups(3)));
  r.add_case(make(gn, "fp16", gn_inputs(DType::kFloat16, {2, 8, 5}, 8), groups(4)));
  r.add_case(make(gn, "bf16", gn_inputs(DType::kBFloat16, {2, 4, 5}, 4), groups(2)));
  r.add_case(make(gn, "fp64", gn_inputs(DType::kFloat64, {2, 4, 5}, 4), groups(2)));
  r.add_case(make(gn, "stash_fp32", gn_inputs(DType::kFloat16, {1, 4, 6}, 4),
                  {{"num_groups", Attr::of_int(2)}, {"stash_type", Attr::of_int(1)}}));
  r.add_case(make(gn, "empty_batch", gn_inputs(DType::kFloat32, {0, 4, 3}, 4), groups(2)));
  // Opset 18: one scale/bias per group. Constant ones are expanded by the
  // upgrade; runtime ones run in the per-group form.
  r.add_case(make(gn, "opset18_const", gn_inputs(DType::kFloat32, {2, 6, 4}, 3), groups(3), 18));
  r.add_case(make(gn, "opset18_runtime", gn_inputs(DType::kFloat32, {2, 6, 4}, 2, false), groups(2), 18));
  r.add_case(make(gn, "opset18_per_channel_equal", gn_inputs(DType::kFloat32, {2, 3, 4}, 3), groups(3), 18));
}

}  // namespace

void add_norm_cases(OpRegistry& r) {
  add_batch_instance_cases(r);
  add_layer_rms_lp_cases(r);
  add_group_norm_cases(r);
}

}  // namespace kiln::norm_ops
