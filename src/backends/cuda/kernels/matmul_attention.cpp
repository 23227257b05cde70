// Attention (ONNX opset 23+, semantics of src/ops/matmul/attention.cpp) as
// one fused kernel "kiln.attention" (matmul_attention.cu): 3-D or 4-D
// inputs, GQA/MQA, boolean or additive masks of any broadcast shape, causal
// masking, past/present key-value cache, nonpad_kv_seqlen, scale, softcap
// and every qk_matmul_output_mode.
//
// Refused (with the reason): float64 and mixed Q/V types; head sizes above
// kAttentionMaxHead; and a mask whose last dim is 1 while the key sequence is
// longer: opset 23 broadcasts it, opset 24 pads it with -inf, and a layer
// does not record its opset.
#include <algorithm>
#include <cmath>

#include "backends/cuda/kernels/matmul_common.h"

namespace kiln {
namespace {

enum Input { kQ = 0, kK, kV, kMask, kPastKey, kPastValue, kNonpad };

struct AttnLayer {
  DType dtype = DType::kFloat32;
  mm::AttentionParams p;  // sizes, strides and attributes; pointers come at enqueue
  bool has_mask = false, has_past = false, has_nonpad = false;
};

bool fail(std::string* why, std::string msg) {
  *why = std::move(msg);
  return false;
}

bool mask_type_ok(DType t) {
  switch (t) {
    case DType::kBool:
    case DType::kUInt8:
    case DType::kInt8:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kFloat16:
    case DType::kBFloat16:
    case DType::kFloat32: return true;
    default: return false;
  }
}

bool describe(const LayerView& v, AttnLayer* L, std::string* why) {
  if (v.inputs.size() < 3 || v.inputs.size() > 7 || !v.has_input(kQ) || !v.has_input(kK) || !v.has_input(kV))
    return fail(why, "needs Q, K and V and at most 7 inputs");
  if (v.outputs.empty() || v.outputs.size() > 4) return fail(why, "expects 1 to 4 outputs");
  if (!mm::all_linear(v)) return fail(why, "needs linear layouts");
  static const char* const kKnown[] = {"is_causal",         "q_num_heads", "kv_num_heads", "qk_matmul_output_mode",
                                       "softmax_precision", "scale",       "softcap"};
  for (const auto& [key, value] : v.layer.attrs)
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown))
      return fail(why, str("attribute '", key, "' is not supported"));
  int64_t causal = 0, q_heads = 0, kv_heads = 0, mode = 0, precision = 1;
  float softcap = 0, scale = 0;
  if (!mm::attr_int(v.layer, "is_causal", 0, &causal, why) || !mm::attr_int(v.layer, "q_num_heads", 0, &q_heads, why) ||
      !mm::attr_int(v.layer, "kv_num_heads", 0, &kv_heads, why) ||
      !mm::attr_int(v.layer, "qk_matmul_output_mode", 0, &mode, why) ||
      !mm::attr_int(v.layer, "softmax_precision", 1, &precision, why) ||
      !mm::attr_float(v.layer, "softcap", 0.f, &softcap, why) || !mm::attr_float(v.layer, "scale", 0.f, &scale, why))
    return false;
  if (causal != 0 && causal != 1) return fail(why, "is_causal must be 0 or 1");
  if (mode < 0 || mode > 3) return fail(why, "qk_matmul_output_mode must be 0..3");

  const DType t = v.in(kQ).dtype;
  L->dtype = t;
  if (!mm::is_gpu_float(t)) return fail(why, str("takes float32/float16/bfloat16, Q is ", dtype_name(t)));
  for (int i : {kK, kV, kPastKey, kPastValue})
    if (v.has_input(static_cast<size_t>(i)) && v.in(static_cast<size_t>(i)).dtype != t)
      return fail(why, "K, V and the cache must have Q's type");
  for (size_t i = 0; i < v.outputs.size(); ++i)
    if (v.out(i).dtype != t) return fail(why, "outputs must have Q's type");

  const std::vector<int64_t>& q = v.in(kQ).dims;
  const std::vector<int64_t>& k = v.in(kK).dims;
  const std::vector<int64_t>& vv = v.in(kV).dims;
  if ((q.size() != 3 && q.size() != 4) || k.size() != q.size() || vv.size() != q.size())
    return fail(why, "Q, K and V must all be 3-D or all 4-D");
  mm::AttentionParams& p = L->p;
  const bool three_d = q.size() == 3;
  int64_t B = q[0], Hq = 0, Hkv = 0, Sq = 0, S = 0, D = 0, Dv = 0;
  if (three_d) {
    if (q_heads <= 0 || kv_heads <= 0) return fail(why, "3-D inputs need q_num_heads and kv_num_heads");
    Hq = q_heads;
    Hkv = kv_heads;
    if (q[2] % Hq != 0 || k[2] % Hkv != 0 || vv[2] % Hkv != 0) return fail(why, "hidden sizes not divisible by heads");
    Sq = q[1];
    S = k[1];
    D = q[2] / Hq;
    Dv = vv[2] / Hkv;
    if (k[2] / Hkv != D || vv[1] != S) return fail(why, "Q, K and V sizes disagree");
  } else {
    Hq = q[1];
    Sq = q[2];
    D = q[3];
    Hkv = k[1];
    S = k[2];
    Dv = vv[3];
    if (k[3] != D || vv[1] != Hkv || vv[2] != S) return fail(why, "Q, K and V sizes disagree");
  }
  if (k[0] != B || vv[0] != B) return fail(why, "Q, K and V differ in batch size");
  if (Hkv <= 0 || Hq % Hkv != 0) return fail(why, "q heads must be a multiple of kv heads");
  if (D > mm::kAttentionMaxHead || Dv > mm::kAttentionMaxHead)
    return fail(why, str("head sizes above ", mm::kAttentionMaxHead, " are not supported"));

  int64_t P = 0;
  L->has_past = v.has_input(kPastKey) || v.has_input(kPastValue);
  if (L->has_past) {
    if (!v.has_input(kPastKey) || !v.has_input(kPastValue)) return fail(why, "past_key and past_value go together");
    const std::vector<int64_t>& pk = v.in(kPastKey).dims;
    const std::vector<int64_t>& pv = v.in(kPastValue).dims;
    if (pk.size() != 4 || pv.size() != 4 || pk[0] != B || pk[1] != Hkv || pk[3] != D || pv[0] != B ||
        pv[1] != Hkv || pv[2] != pk[2] || pv[3] != Dv)
      return fail(why, "past_key/past_value shapes do not match K and V");
    P = pk[2];
  }
  const int64_t T = P + S;
  L->has_nonpad = v.has_input(kNonpad);
  if (L->has_nonpad) {
    if (L->has_past) return fail(why, "nonpad_kv_seqlen with past_key is not allowed");
    if (v.in(kNonpad).dtype != DType::kInt64 || v.in(kNonpad).dims != std::vector<int64_t>{B})
      return fail(why, "nonpad_kv_seqlen must be int64 [batch]");
  }
  L->has_mask = v.has_input(kMask);
  if (L->has_mask) {
    const PlanTensor& m = v.in(kMask);
    if (!mask_type_ok(m.dtype)) return fail(why, str("mask type ", dtype_name(m.dtype), " is not supported"));
    if (m.dims.size() > 4) return fail(why, "mask rank above 4");
    std::vector<int64_t> md(4 - m.dims.size(), 1);
    md.insert(md.end(), m.dims.begin(), m.dims.end());
    const int64_t target[4] = {B, Hq, Sq, T};
    for (int i = 0; i < 3; ++i)
      if (md[static_cast<size_t>(i)] != 1 && md[static_cast<size_t>(i)] != target[i])
        return fail(why, "mask does not broadcast to (batch, q_heads, q_seq, total_seq)");
    if (md[3] > T) return fail(why, "mask is longer than the key sequence");
    if (md[3] == 1 && T != 1)
      return fail(why, "a mask with last dim 1 means broadcast in opset 23 and padding in opset 24; "
                       "the layer does not say which");
    int64_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      p.mask_strides[i] = md[static_cast<size_t>(i)] == 1 && target[i] != 1 ? 0 : stride;
      stride *= md[static_cast<size_t>(i)];
    }
    p.mask_last = md[3];
    p.mask_dtype = m.dtype;
  }

  // Output shapes as the op defines them.
  const std::vector<int64_t> y = three_d ? std::vector<int64_t>{B, Sq, Hq * Dv} : std::vector<int64_t>{B, Hq, Sq, Dv};
  const std::vector<int64_t> want[4] = {y, {B, Hkv, T, D}, {B, Hkv, T, Dv}, {B, Hq, Sq, T}};
  for (size_t i = 0; i < v.outputs.size(); ++i)
    if (v.out(i).dims != want[i]) return fail(why, str("output ", i, " has unexpected dims"));

  p.batch = B;
  p.q_heads = Hq;
  p.kv_heads = Hkv;
  p.q_seq = Sq;
  p.kv_seq = S;
  p.past = P;
  p.total = T;
  p.head = D;
  p.v_head = Dv;
  auto set3 = [](int64_t* s, int64_t a, int64_t b, int64_t c) {
    s[0] = a;
    s[1] = b;
    s[2] = c;
  };
  if (three_d) {  // [batch, seq, heads * dim]
    set3(p.q_s, Sq * Hq * D, D, Hq * D);
    set3(p.k_s, S * Hkv * D, D, Hkv * D);
    set3(p.v_s, S * Hkv * Dv, Dv, Hkv * Dv);
    set3(p.y_s, Sq * Hq * Dv, Dv, Hq * Dv);
  } else {  // [batch, heads, seq, dim]
    set3(p.q_s, Hq * Sq * D, Sq * D, D);
    set3(p.k_s, Hkv * S * D, S * D, D);
    set3(p.v_s, Hkv * S * Dv, S * Dv, Dv);
    set3(p.y_s, Hq * Sq * Dv, Sq * Dv, Dv);
  }
  // The reference computes 1/sqrt(head) in double; rounding it once to float.
  p.scale = v.layer.attrs.count("scale") ? scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  p.softcap = softcap;
  p.causal = causal == 1;
  p.qk_mode = static_cast<int>(mode);
  return true;
}

class AttentionKernel : public CudaKernel {
 public:
  AttnLayer L;

  Status enqueue(const LaunchArgs& a) override {
    auto input = [&](size_t i) { return i < a.inputs.size() ? a.inputs[i] : nullptr; };
    mm::AttentionParams p = L.p;
    p.q = input(kQ);
    p.k = input(kK);
    p.v = input(kV);
    p.mask = L.has_mask ? input(kMask) : nullptr;
    p.past_k = L.has_past ? input(kPastKey) : nullptr;
    p.past_v = L.has_past ? input(kPastValue) : nullptr;
    p.nonpad = L.has_nonpad ? static_cast<const int64_t*>(input(kNonpad)) : nullptr;
    p.y = a.outputs[0];
    p.qk = a.outputs.size() > 3 ? a.outputs[3] : nullptr;
    if (a.outputs.size() > 1)
      KILN_RETURN_IF_ERROR(mm::launch_present(L.dtype, a.outputs[1], p.past_k, p.k, p.batch, p.kv_heads, p.past,
                                              p.total, p.head, p.k_s, a.stream));
    if (a.outputs.size() > 2)
      KILN_RETURN_IF_ERROR(mm::launch_present(L.dtype, a.outputs[2], p.past_v, p.v, p.batch, p.kv_heads, p.past,
                                              p.total, p.v_head, p.v_s, a.stream));
    return mm::launch_attention(L.dtype, p, a.stream);
  }
};

}  // namespace

void register_matmul_attention_kernels(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.attention";
  d.ops = {"Attention"};
  d.supports = [](const LayerView& v, std::string* why) {
    AttnLayer L;
    return describe(v, &L, why);
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    auto k = std::make_unique<AttentionKernel>();
    std::string why;
    if (!describe(v, &k->L, &why)) return Unsupported("Attention: ", why);
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  r.add(std::move(d));
}

}  // namespace kiln
