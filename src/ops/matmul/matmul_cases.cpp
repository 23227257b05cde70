// Test cases of the matmul family, as data: odd sizes, batch broadcasting,
// 1-D operands, empty dims, every attribute and every accepted dtype.
#include "ops/matmul/matmul_internal.h"

namespace kiln {

namespace {

CaseInput in(DType t, std::vector<int64_t> dims, double lo = -1, double hi = 1) {
  CaseInput c;
  c.dtype = t;
  c.dims = std::move(dims);
  c.lo = lo;
  c.hi = hi;
  return c;
}
CaseInput f32(std::vector<int64_t> dims) { return in(DType::kFloat32, std::move(dims)); }
CaseInput weights(std::vector<int64_t> dims) {
  CaseInput c = f32(std::move(dims));
  c.constant = true;
  return c;
}
CaseInput ints(DType t, std::vector<int64_t> dims, std::vector<int64_t> values) {
  CaseInput c = in(t, std::move(dims));
  c.values = std::move(values);
  return c;
}
CaseInput omitted() {
  CaseInput c;
  c.omitted = true;
  return c;
}

// Relative L2 tolerance for float outputs of each dtype.
double tol(DType t) {
  switch (t) {
    case DType::kFloat16:
      return 2e-3;
    case DType::kBFloat16:
      return 1e-2;
    default:
      return 1e-5;
  }
}

void add(OpRegistry& r, std::string name, std::string op, std::vector<CaseInput> inputs,
         std::map<std::string, Attr> attrs = {}, int num_outputs = 1, int64_t opset = 0) {
  OpCase c;
  c.name = op + "/" + name;
  c.op = std::move(op);
  c.inputs = std::move(inputs);
  c.attrs = std::move(attrs);
  c.num_outputs = num_outputs;
  c.opset = opset;
  c.tolerance = tol(c.inputs[0].dtype);
  r.add_case(std::move(c));
}

void add_matmul(OpRegistry& r) {
  add(r, "7x13_13x5", "MatMul", {f32({7, 13}), f32({13, 5})});
  add(r, "batch_broadcast", "MatMul", {f32({2, 1, 3, 4}), f32({5, 4, 6})});
  add(r, "batch_broadcast_b", "MatMul", {f32({3, 4}), f32({2, 3, 4, 2})});
  add(r, "1d_1d", "MatMul", {f32({13}), f32({13})});
  add(r, "1d_2d", "MatMul", {f32({4}), f32({4, 3})});
  add(r, "2d_1d", "MatMul", {f32({3, 4}), f32({4})});
  add(r, "1d_3d", "MatMul", {f32({4}), f32({2, 4, 3})});
  add(r, "4d_1d", "MatMul", {f32({2, 3, 4, 5}), f32({5})});
  add(r, "size1_dims", "MatMul", {f32({1, 1, 1}), f32({1, 1})});
  add(r, "empty_k", "MatMul", {f32({3, 0}), f32({0, 4})});
  add(r, "empty_m", "MatMul", {f32({0, 4}), f32({4, 5})});
  add(r, "empty_batch", "MatMul", {f32({0, 2, 4}), f32({4, 5})});
  add(r, "constant_weights", "MatMul", {f32({2, 9, 16}), weights({16, 11})});
  add(r, "threaded_64x768x96", "MatMul", {f32({64, 768}), weights({768, 96})});
  add(r, "fp16", "MatMul", {in(DType::kFloat16, {3, 17}), in(DType::kFloat16, {17, 9})});
  add(r, "bf16", "MatMul", {in(DType::kBFloat16, {2, 3, 17}), in(DType::kBFloat16, {17, 9})});
  add(r, "fp64", "MatMul", {in(DType::kFloat64, {5, 7}), in(DType::kFloat64, {3, 7, 2})});
  add(r, "int32", "MatMul", {in(DType::kInt32, {4, 6}, -50, 50), in(DType::kInt32, {6, 3}, -50, 50)});
  add(r, "int64", "MatMul", {in(DType::kInt64, {2, 4, 6}, -1000, 1000), in(DType::kInt64, {6}, -1000, 1000)});
}

void add_gemm(OpRegistry& r) {
  // Every transpose combination; A is (M, K) = (7, 13) after transposes, B is (K, N) = (13, 5).
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      std::vector<int64_t> a = ta ? std::vector<int64_t>{13, 7} : std::vector<int64_t>{7, 13};
      std::vector<int64_t> b = tb ? std::vector<int64_t>{5, 13} : std::vector<int64_t>{13, 5};
      std::map<std::string, Attr> attrs = {{"transA", Attr::of_int(ta)}, {"transB", Attr::of_int(tb)}};
      std::string t = "tA" + std::to_string(ta) + "_tB" + std::to_string(tb);
      add(r, t + "_no_c", "Gemm", {f32(a), f32(b)}, attrs);
      add(r, t + "_c_scalar", "Gemm", {f32(a), f32(b), f32({})}, attrs);
      add(r, t + "_c_1", "Gemm", {f32(a), f32(b), f32({1})}, attrs);
      add(r, t + "_c_n", "Gemm", {f32(a), f32(b), f32({5})}, attrs);
      add(r, t + "_c_1xn", "Gemm", {f32(a), f32(b), f32({1, 5})}, attrs);
      add(r, t + "_c_mx1", "Gemm", {f32(a), f32(b), f32({7, 1})}, attrs);
      add(r, t + "_c_mxn", "Gemm", {f32(a), f32(b), f32({7, 5})}, attrs);
    }
  std::map<std::string, Attr> ab = {{"alpha", Attr::of_float(0.25f)}, {"beta", Attr::of_float(-1.5f)}};
  add(r, "alpha_beta", "Gemm", {f32({3, 4}), f32({4, 6}), f32({6})}, ab);
  add(r, "beta0", "Gemm", {f32({3, 4}), f32({4, 6}), f32({3, 6})}, {{"beta", Attr::of_float(0.0f)}});
  add(r, "all_attrs", "Gemm", {f32({4, 3}), weights({6, 4}), weights({1, 6})},
      {{"alpha", Attr::of_float(0.5f)},
       {"beta", Attr::of_float(0.35f)},
       {"transA", Attr::of_int(1)},
       {"transB", Attr::of_int(1)}});
  add(r, "empty_k", "Gemm", {f32({3, 0}), f32({0, 4}), f32({4})});
  add(r, "bert_dense_128x768x768", "Gemm", {f32({128, 768}), weights({768, 768}), weights({768})},
      {{"transB", Attr::of_int(1)}});
  add(r, "fp16", "Gemm", {in(DType::kFloat16, {5, 9}), in(DType::kFloat16, {9, 3}), in(DType::kFloat16, {3})});
  add(r, "bf16", "Gemm", {in(DType::kBFloat16, {9, 5}), in(DType::kBFloat16, {9, 3}), in(DType::kBFloat16, {5, 1})},
      {{"transA", Attr::of_int(1)}});
  add(r, "fp64", "Gemm", {in(DType::kFloat64, {5, 9}), in(DType::kFloat64, {3, 9})}, {{"transB", Attr::of_int(1)}});
  add(r, "int32", "Gemm",
      {in(DType::kInt32, {4, 6}, -20, 20), in(DType::kInt32, {6, 3}, -20, 20), in(DType::kInt32, {3}, -9, 9)});
  add(r, "int64_alpha", "Gemm",
      {in(DType::kInt64, {4, 6}, -20, 20), in(DType::kInt64, {6, 3}, -20, 20), in(DType::kInt64, {4, 1}, -9, 9)},
      {{"alpha", Attr::of_float(2.0f)}, {"beta", Attr::of_float(0.5f)}});
}

void add_matmul_integer(OpRegistry& r) {
  add(r, "uint8_no_zp", "MatMulInteger", {in(DType::kUInt8, {4, 3}, 0, 255), in(DType::kUInt8, {3, 2}, 0, 255)});
  add(r, "uint8_scalar_zp", "MatMulInteger",
      {in(DType::kUInt8, {4, 3}, 0, 255), in(DType::kUInt8, {3, 2}, 0, 255), ints(DType::kUInt8, {}, {12}),
       ints(DType::kUInt8, {}, {0})});
  add(r, "int8_per_row_col_zp", "MatMulInteger",
      {in(DType::kInt8, {4, 3}, -128, 127), in(DType::kInt8, {3, 2}, -128, 127), ints(DType::kInt8, {4}, {1, -2, 3, 0}),
       ints(DType::kInt8, {2}, {5, -5})});
  add(r, "mixed_batched_nd_zp", "MatMulInteger",
      {in(DType::kUInt8, {2, 3, 5}, 0, 255), in(DType::kInt8, {2, 5, 4}, -128, 127),
       in(DType::kUInt8, {2, 3, 1}, 0, 255), in(DType::kInt8, {2, 1, 4}, -128, 127)});
  add(r, "b_zp_only", "MatMulInteger",
      {in(DType::kInt8, {6}, -128, 127), in(DType::kUInt8, {6, 3}, 0, 255), omitted(),
       ints(DType::kUInt8, {3}, {1, 2, 3})});
}

void add_einsum(OpRegistry& r) {
  auto eq = [](const char* e) { return std::map<std::string, Attr>{{"equation", Attr::of_string(e)}}; };
  add(r, "matmul", "Einsum", {f32({7, 13}), f32({13, 5})}, eq("ij,jk->ik"));
  add(r, "batch_matmul_spaces", "Einsum", {f32({3, 2, 5}), f32({3, 5, 4})}, eq("bij, bjk -> bik"));
  add(r, "transpose", "Einsum", {f32({3, 4})}, eq("ij->ji"));
  add(r, "sum_rows", "Einsum", {f32({3, 4})}, eq("ij->i"));
  add(r, "sum_all", "Einsum", {f32({3, 4})}, eq("ij->"));
  add(r, "inner_implicit", "Einsum", {f32({5}), f32({5})}, eq("i,i"));
  add(r, "outer", "Einsum", {f32({3}), f32({4})}, eq("i,j->ij"));
  add(r, "diagonal", "Einsum", {f32({4, 4})}, eq("ii->i"));
  add(r, "trace_implicit", "Einsum", {f32({4, 4})}, eq("ii"));
  add(r, "repeated_sum", "Einsum", {f32({3, 3, 2})}, eq("iij->ji"));
  add(r, "batch_diagonal", "Einsum", {f32({2, 3, 3})}, eq("...ii->...i"));
  add(r, "ellipsis_broadcast", "Einsum", {f32({2, 3, 4}), f32({4, 5})}, eq("...ij,...jk"));
  add(r, "ellipsis_size1", "Einsum", {f32({2, 1, 3, 4}), f32({5, 4, 6})}, eq("...ij,...jk->...ik"));
  add(r, "implicit_sorted", "Einsum", {f32({3, 4}), f32({4, 2})}, eq("ba,aC"));
  add(r, "three_inputs", "Einsum", {f32({2, 3}), f32({3, 4}), f32({4, 5})}, eq("ij,jk,kl->il"));
  add(r, "attention_scores", "Einsum", {f32({2, 3, 5, 8}), f32({2, 3, 7, 8})}, eq("bhqd,bhkd->bhqk"));
  add(r, "scalar", "Einsum", {f32({})}, eq("->"));
  add(r, "empty_sum", "Einsum", {f32({3, 0}), f32({0, 4})}, eq("ij,jk->ik"));
  add(r, "fp16", "Einsum", {in(DType::kFloat16, {3, 6}), in(DType::kFloat16, {6, 2})}, eq("ij,jk->ik"));
  add(r, "bf16", "Einsum", {in(DType::kBFloat16, {2, 3, 6}), in(DType::kBFloat16, {2, 6, 2})}, eq("bij,bjk->bik"));
  add(r, "fp64", "Einsum", {in(DType::kFloat64, {3, 4})}, eq("ij->ji"));
  add(r, "int32", "Einsum", {in(DType::kInt32, {3, 4}, -9, 9), in(DType::kInt32, {4}, -9, 9)}, eq("ij,j->i"));
  add(r, "int64", "Einsum", {in(DType::kInt64, {3, 3}, -9, 9)}, eq("ii->"));
  add(r, "int8", "Einsum", {in(DType::kInt8, {2, 3}, -9, 9)}, eq("ij->ji"));
  add(r, "uint8", "Einsum", {in(DType::kUInt8, {2, 3}, 0, 9), in(DType::kUInt8, {3}, 0, 9)}, eq("ij,j->ij"));
}

void add_attention(OpRegistry& r) {
  using A = std::map<std::string, Attr>;
  auto heads = [](int64_t q, int64_t kv) {
    return A{{"q_num_heads", Attr::of_int(q)}, {"kv_num_heads", Attr::of_int(kv)}};
  };
  auto with = [](A a, const char* key, Attr v) {
    a[key] = std::move(v);
    return a;
  };
  add(r, "4d", "Attention", {f32({2, 3, 4, 8}), f32({2, 3, 6, 8}), f32({2, 3, 6, 8})});
  add(r, "4d_diff_v_head", "Attention", {f32({2, 3, 4, 8}), f32({2, 3, 6, 8}), f32({2, 3, 6, 5})});
  add(r, "4d_gqa", "Attention", {f32({2, 6, 4, 8}), f32({2, 2, 6, 8}), f32({2, 2, 6, 8})});
  add(r, "4d_mqa", "Attention", {f32({1, 4, 3, 8}), f32({1, 1, 5, 8}), f32({1, 1, 5, 8})});
  add(r, "3d", "Attention", {f32({2, 4, 24}), f32({2, 6, 24}), f32({2, 6, 24})}, heads(3, 3));
  add(r, "3d_gqa_diff_v", "Attention", {f32({2, 4, 72}), f32({2, 6, 24}), f32({2, 6, 15})}, heads(9, 3));
  add(r, "scaled", "Attention", {f32({1, 2, 3, 4}), f32({1, 2, 3, 4}), f32({1, 2, 3, 4})},
      A{{"scale", Attr::of_float(0.1f)}});
  add(r, "softcap", "Attention", {f32({1, 2, 3, 4}), f32({1, 2, 5, 4}), f32({1, 2, 5, 4})},
      A{{"softcap", Attr::of_float(0.5f)}});
  add(r, "causal_square", "Attention", {f32({2, 2, 5, 4}), f32({2, 2, 5, 4}), f32({2, 2, 5, 4})},
      A{{"is_causal", Attr::of_int(1)}});
  add(r, "causal_3d_gqa", "Attention", {f32({1, 5, 16}), f32({1, 5, 8}), f32({1, 5, 8})},
      with(heads(4, 2), "is_causal", Attr::of_int(1)));
  add(r, "mask_bool_2d", "Attention",
      {f32({2, 2, 3, 4}), f32({2, 2, 5, 4}), f32({2, 2, 5, 4}), in(DType::kBool, {3, 5}, 0, 1)});
  add(r, "mask_float_4d", "Attention", {f32({2, 2, 3, 4}), f32({2, 2, 5, 4}), f32({2, 2, 5, 4}), f32({2, 1, 3, 5})});
  add(r, "mask_float16_with_fp32", "Attention",
      {f32({1, 2, 3, 4}), f32({1, 2, 5, 4}), f32({1, 2, 5, 4}), in(DType::kFloat16, {2, 3, 5})});
  add(r, "mask_int32_additive", "Attention",
      {f32({1, 2, 3, 4}), f32({1, 2, 5, 4}), f32({1, 2, 5, 4}), in(DType::kInt32, {5}, -2, 2)});
  add(r, "mask_bool_causal", "Attention",
      {f32({1, 2, 4, 4}), f32({1, 2, 4, 4}), f32({1, 2, 4, 4}), in(DType::kBool, {1, 1, 4, 4}, 0, 1)},
      A{{"is_causal", Attr::of_int(1)}});
  // KV cache: past (2) + new (3) keys; present outputs and every qk output mode.
  std::vector<CaseInput> cache = {f32({1, 2, 3, 4}), f32({1, 2, 3, 4}), f32({1, 2, 3, 6}),
                                  f32({1, 3, 5}),    f32({1, 2, 2, 4}), f32({1, 2, 2, 6})};
  add(r, "past_present", "Attention", cache, {}, 3);
  add(r, "past_present_causal", "Attention", cache, A{{"is_causal", Attr::of_int(1)}}, 3);
  for (int mode = 0; mode < 4; ++mode)
    add(r, "qk_mode" + std::to_string(mode), "Attention", cache,
        A{{"qk_matmul_output_mode", Attr::of_int(mode)}, {"softcap", Attr::of_float(2.0f)}}, 4);
  add(r, "3d_past_present_qk", "Attention",
      {f32({1, 3, 16}), f32({1, 3, 8}), f32({1, 3, 8}), omitted(), f32({1, 2, 2, 4}), f32({1, 2, 2, 4})},
      with(heads(4, 2), "is_causal", Attr::of_int(1)), 4);
  add(r, "softmax_precision", "Attention",
      {in(DType::kFloat16, {1, 2, 3, 4}), in(DType::kFloat16, {1, 2, 3, 4}), in(DType::kFloat16, {1, 2, 3, 4})},
      A{{"softmax_precision", Attr::of_int(1)}, {"qk_matmul_output_mode", Attr::of_int(3)}}, 4);
  add(r, "fp16", "Attention",
      {in(DType::kFloat16, {1, 2, 3, 8}), in(DType::kFloat16, {1, 2, 4, 8}), in(DType::kFloat16, {1, 2, 4, 8})},
      A{{"is_causal", Attr::of_int(1)}});
  add(r, "bf16", "Attention",
      {in(DType::kBFloat16, {1, 2, 3, 8}), in(DType::kBFloat16, {1, 2, 4, 8}), in(DType::kBFloat16, {1, 2, 4, 8})});
  add(r, "fp64_v_fp32", "Attention",
      {in(DType::kFloat64, {1, 2, 3, 8}), in(DType::kFloat64, {1, 2, 4, 8}), f32({1, 2, 4, 8})});
  add(r, "opset23", "Attention", {f32({1, 2, 3, 4}), f32({1, 2, 3, 4}), f32({1, 2, 3, 4}), f32({3, 1})}, {}, 1, 23);
  // Opset 24 external cache: nonpad_kv_seqlen, alone, with causal, and with a short padded mask.
  std::vector<CaseInput> ext = {f32({2, 4, 3, 4}),
                                f32({2, 2, 6, 4}),
                                f32({2, 2, 6, 4}),
                                omitted(),
                                omitted(),
                                omitted(),
                                ints(DType::kInt64, {2}, {4, 6})};
  add(r, "nonpad", "Attention", ext);
  add(r, "nonpad_causal", "Attention", ext, A{{"is_causal", Attr::of_int(1)}});
  ext[3] = in(DType::kBool, {2, 1, 3, 5}, 0, 1);
  add(r, "nonpad_short_mask", "Attention", ext, A{{"is_causal", Attr::of_int(1)}});
  add(r, "empty_kv", "Attention", {f32({1, 2, 3, 4}), f32({1, 2, 0, 4}), f32({1, 2, 0, 4})}, {}, 4);
}

}  // namespace

void add_matmul_cases(OpRegistry& r) {
  add_matmul(r);
  add_gemm(r);
  add_matmul_integer(r);
  add_einsum(r);
  add_attention(r);
}

}  // namespace kiln
