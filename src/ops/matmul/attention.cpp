// Attention (opset 23 and 24): scaled dot-product attention with 3-D or 4-D
// inputs, GQA/MQA, boolean or additive masks, causal masking aligned
// bottom-right, past/present key-value cache, external-cache padding
// (nonpad_kv_seqlen, opset 24), softcap and the qk_matmul_output modes.
// Computed in double; a fully masked query row gives zeros, as the spec says.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "base/checked_math.h"
#include "ops/matmul/matmul_internal.h"

namespace kiln {

using matmul_detail::dtype_in;
using matmul_detail::dtype_list;

namespace {

enum Input { kQ = 0, kK, kV, kMask, kPastKey, kPastValue, kNonpad };
enum Output { kY = 0, kPresentKey, kPresentValue, kQk };

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr std::initializer_list<DType> kFloatTypes = {DType::kBFloat16, DType::kFloat16, DType::kFloat32,
                                                      DType::kFloat64};
constexpr std::initializer_list<DType> kMaskTypes = {DType::kBool,    DType::kUInt8,   DType::kInt8,
                                                     DType::kInt32,   DType::kInt64,   DType::kBFloat16,
                                                     DType::kFloat16, DType::kFloat32, DType::kFloat64};

struct AttnAttrs {
  bool causal = false;
  int64_t q_heads = 0, kv_heads = 0;  // 0 = not given
  int64_t mode = 0;                   // qk_matmul_output_mode
  std::optional<double> scale;
  double softcap = 0;
  int64_t left_window = -1, right_window = -1;  // opset 25 sliding window; -1 = unbounded
};

Expected<AttnAttrs> attention_attrs(const Node& node) {
  // Later opsets add attributes (opset 25's window sizes); ignoring one would
  // silently compute something else.
  static const char* const kKnown[] = {"is_causal",         "q_num_heads", "kv_num_heads", "qk_matmul_output_mode",
                                       "softmax_precision", "scale",       "softcap"};
  for (const auto& [key, value] : node.attrs) {
    bool window = (key == "left_window_size" || key == "right_window_size") && node.opset >= 25;
    if (!window && std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown))
      return node.error(ErrorCode::kInvalidArgument, "attribute '", key, "' is not an attribute of Attention-",
                        node.opset);
  }
  AttnAttrs a;
  KILN_ASSIGN_OR_RETURN(int64_t causal, node.attr_int("is_causal", 0));
  KILN_ASSIGN_OR_RETURN(a.q_heads, node.attr_int("q_num_heads", 0));
  KILN_ASSIGN_OR_RETURN(a.kv_heads, node.attr_int("kv_num_heads", 0));
  KILN_ASSIGN_OR_RETURN(a.mode, node.attr_int("qk_matmul_output_mode", 0));
  KILN_ASSIGN_OR_RETURN(float softcap, node.attr_float("softcap", 0.0f));
  KILN_ASSIGN_OR_RETURN(int64_t precision, node.attr_int("softmax_precision", 1));
  auto bad = [&](const char* what, auto v, const char* want) {
    return node.error(ErrorCode::kInvalidArgument, "attribute '", what, "' is ", v, "; it must be ", want);
  };
  if (causal != 0 && causal != 1) return bad("is_causal", causal, "0 or 1");
  if (node.has_attr("q_num_heads") && a.q_heads <= 0) return bad("q_num_heads", a.q_heads, "positive");
  if (node.has_attr("kv_num_heads") && a.kv_heads <= 0) return bad("kv_num_heads", a.kv_heads, "positive");
  if (a.mode < 0 || a.mode > 3) return bad("qk_matmul_output_mode", a.mode, "0, 1, 2 or 3");
  // Softmax runs in double here, which is at least as precise as any of these.
  if (precision != 1 && precision != 10 && precision != 11 && precision != 16)
    return bad("softmax_precision", precision, "a float type code (1, 10, 11 or 16)");
  if (node.has_attr("scale")) {
    KILN_ASSIGN_OR_RETURN(float scale, node.attr_float("scale", 1.0f));
    a.scale = scale;
  }
  KILN_ASSIGN_OR_RETURN(a.left_window, node.attr_int("left_window_size", -1));
  KILN_ASSIGN_OR_RETURN(a.right_window, node.attr_int("right_window_size", -1));
  if (a.left_window < -1) return bad("left_window_size", a.left_window, "-1 or non-negative");
  if (a.right_window < -1) return bad("right_window_size", a.right_window, "-1 or non-negative");
  a.causal = causal == 1;
  a.softcap = softcap;
  return a;
}

// The inputs' types and shapes, from inference or from run-time tensors.
struct AttnInputs {
  std::vector<std::optional<Shape>> shape;  // by Input; nullopt = omitted
  std::vector<DType> dtype;
};

// Sizes of one attention, possibly symbolic at inference.
struct AttnLayout {
  bool three_d = false;
  Dim batch, q_heads, kv_heads, q_seq, kv_seq, past, total, head, v_head;
  Dim y_hidden;  // 3-D only: q_heads * v_head
};

bool differ(const Dim& a, const Dim& b) { return a.is_static() && b.is_static() && a.value != b.value; }

Expected<AttnLayout> attention_layout(const Node& node, const AttnAttrs& at, const AttnInputs& in,
                                      const std::function<Dim(const std::string&)>& unknown) {
  auto err = [&](const auto&... args) { return node.error(ErrorCode::kInvalidArgument, args...); };
  auto unsupported = [&](const auto&... args) { return node.error(ErrorCode::kUnsupported, args...); };
  const char* names[] = {"Q", "K", "V", "attn_mask", "past_key", "past_value", "nonpad_kv_seqlen"};
  for (int i : {kQ, kK, kV, kPastKey, kPastValue}) {
    if (!in.shape[static_cast<size_t>(i)]) continue;
    DType t = in.dtype[static_cast<size_t>(i)];
    if (!dtype_in(t, kFloatTypes))
      return unsupported(names[i], " has type ", dtype_name(t), "; Attention takes ", dtype_list(kFloatTypes));
  }
  if (in.dtype[kK] != in.dtype[kQ])
    return err("K is ", dtype_name(in.dtype[kK]), " but Q is ", dtype_name(in.dtype[kQ]));
  if (in.shape[kPastKey] && in.dtype[kPastKey] != in.dtype[kQ])
    return err("past_key is ", dtype_name(in.dtype[kPastKey]), " but Q is ", dtype_name(in.dtype[kQ]));
  if (in.shape[kPastValue] && in.dtype[kPastValue] != in.dtype[kV])
    return err("past_value is ", dtype_name(in.dtype[kPastValue]), " but V is ", dtype_name(in.dtype[kV]));

  const Shape& q = *in.shape[kQ];
  const Shape& k = *in.shape[kK];
  const Shape& v = *in.shape[kV];
  if ((q.rank() != 3 && q.rank() != 4) || k.rank() != q.rank() || v.rank() != q.rank())
    return err("Q, K and V must all be 3-D or all 4-D, got Q ", q.to_string(), ", K ", k.to_string(), ", V ",
               v.to_string());
  AttnLayout L;
  L.three_d = q.rank() == 3;
  L.batch = q[0];
  if (L.three_d) {
    if (at.q_heads == 0 || at.kv_heads == 0) return err("3-D inputs need the attributes q_num_heads and kv_num_heads");
    L.q_heads = at.q_heads;
    L.kv_heads = at.kv_heads;
    L.q_seq = q[1];
    L.kv_seq = k[1];
    // hidden = heads * head_size: split the last dim by the head count.
    auto split = [&](const Dim& hidden, int64_t heads, const char* what) -> Expected<Dim> {
      if (!hidden.is_static()) return unknown(str(what, "_head_size"));
      if (hidden.value % heads != 0)
        return err(what, " hidden size ", hidden.value, " is not divisible by its ", heads, " heads");
      return Dim(hidden.value / heads);
    };
    KILN_ASSIGN_OR_RETURN(L.head, split(q[2], at.q_heads, "Q"));
    KILN_ASSIGN_OR_RETURN(Dim k_head, split(k[2], at.kv_heads, "K"));
    KILN_ASSIGN_OR_RETURN(L.v_head, split(v[2], at.kv_heads, "V"));
    if (differ(L.head, k_head)) return err("Q head size ", L.head.value, " differs from K head size ", k_head.value);
    if (differ(k[1], v[1])) return err("K ", k.to_string(), " and V ", v.to_string(), " differ in sequence length");
    if (L.v_head.is_static()) {
      auto hidden = checked_mul(L.v_head.value, at.q_heads);
      if (!hidden) return err("q_num_heads ", at.q_heads, " * v head size ", L.v_head.value, " overflows");
      L.y_hidden = Dim(*hidden);
    } else {
      L.y_hidden = at.q_heads == at.kv_heads ? v[2] : unknown("hidden_size");
    }
  } else {
    L.q_heads = q[1];
    L.q_seq = q[2];
    L.head = q[3];
    L.kv_heads = k[1];
    L.kv_seq = k[2];
    L.v_head = v[3];
    if (at.q_heads && differ(q[1], Dim(at.q_heads)))
      return err("q_num_heads is ", at.q_heads, " but Q ", q.to_string(), " has ", q[1].value, " heads");
    if (at.kv_heads && differ(k[1], Dim(at.kv_heads)))
      return err("kv_num_heads is ", at.kv_heads, " but K ", k.to_string(), " has ", k[1].value, " heads");
    if (differ(k[1], v[1]) || differ(k[2], v[2]))
      return err("K ", k.to_string(), " and V ", v.to_string(), " differ in heads or sequence length");
    if (differ(q[3], k[3])) return err("Q ", q.to_string(), " and K ", k.to_string(), " differ in head size");
  }
  if (differ(q[0], k[0]) || differ(q[0], v[0]))
    return err("Q ", q.to_string(), ", K ", k.to_string(), " and V ", v.to_string(), " differ in batch size");
  if (L.kv_heads.is_static() && L.kv_heads.value == 0) return err("K and V have 0 heads");
  if (L.q_heads.is_static() && L.kv_heads.is_static() && L.q_heads.value % L.kv_heads.value != 0)
    return err("q heads (", L.q_heads.value, ") must be a multiple of kv heads (", L.kv_heads.value, ")");

  // Cache: past_key and past_value come together, 4-D, and extend the kv sequence.
  L.past = Dim(0);
  L.total = L.kv_seq;
  if (in.shape[kPastKey].has_value() != in.shape[kPastValue].has_value())
    return err("past_key and past_value must be given together");
  if (in.shape[kPastKey]) {
    const Shape& pk = *in.shape[kPastKey];
    const Shape& pv = *in.shape[kPastValue];
    if (pk.rank() != 4 || pv.rank() != 4)
      return err("past_key ", pk.to_string(), " and past_value ", pv.to_string(), " must be 4-D");
    if (differ(pk[0], L.batch) || differ(pk[1], L.kv_heads) || differ(pk[3], L.head))
      return err("past_key ", pk.to_string(), " does not match (batch, kv heads, head size) of K");
    if (differ(pv[0], L.batch) || differ(pv[1], L.kv_heads) || differ(pv[3], L.v_head) || differ(pv[2], pk[2]))
      return err("past_value ", pv.to_string(), " does not match past_key ", pk.to_string(), " and V");
    L.past = pk[2];
    L.total = unknown("total_sequence_length");
    if (L.past.is_static() && L.kv_seq.is_static()) {
      auto total = checked_add(L.past.value, L.kv_seq.value);
      if (!total) return err("past length ", L.past.value, " + kv length ", L.kv_seq.value, " overflows");
      L.total = Dim(*total);
    }
  }
  if (in.shape[kNonpad]) {
    if (node.opset < 24) return err("nonpad_kv_seqlen (input 6) needs opset 24, the model has ", node.opset);
    if (in.shape[kPastKey]) return err("nonpad_kv_seqlen cannot be combined with past_key/past_value");
    const Shape& np = *in.shape[kNonpad];
    if (in.dtype[kNonpad] != DType::kInt64)
      return unsupported("nonpad_kv_seqlen has type ", dtype_name(in.dtype[kNonpad]), "; it must be int64");
    if (np.rank() != 1 || differ(np[0], L.batch))
      return err("nonpad_kv_seqlen ", np.to_string(), " must have shape (batch_size,)");
  }
  if (in.shape[kMask]) {
    const Shape& m = *in.shape[kMask];
    if (!dtype_in(in.dtype[kMask], kMaskTypes))
      return unsupported("attn_mask has type ", dtype_name(in.dtype[kMask]), "; Attention takes ",
                         dtype_list(kMaskTypes));
    if (m.rank() > 4) return err("attn_mask ", m.to_string(), " has rank > 4");
    Dim target[4] = {L.batch, L.q_heads, L.q_seq, L.total};
    for (size_t i = 0; i < m.rank(); ++i) {
      const Dim& md = m[i];
      const Dim& td = target[4 - m.rank() + i];
      bool last = i + 1 == m.rank();
      bool ok = !md.is_static() || !td.is_static() || md.value == 1 || md.value == td.value ||
                (last && node.opset >= 24 && md.value < td.value);  // opset 24 pads a short mask with -inf
      if (!ok)
        return err("attn_mask ", m.to_string(), " does not broadcast to (batch, q_heads, q_seq, total_seq) = (",
                   L.batch.to_string(), ", ", L.q_heads.to_string(), ", ", L.q_seq.to_string(), ", ",
                   L.total.to_string(), ")");
    }
  }
  return L;
}

AttnInputs infer_inputs(const InferContext& ctx) {
  AttnInputs in;
  in.shape.resize(7);
  in.dtype.resize(7, DType::kUndefined);
  for (size_t i = 0; i < 7; ++i)
    if (ctx.has_input(i)) {
      in.shape[i] = ctx.input_shape(i);
      in.dtype[i] = ctx.input_dtype(i);
    }
  return in;
}

Status infer_attention(InferContext& ctx) {
  KILN_ASSIGN_OR_RETURN(AttnAttrs at, attention_attrs(ctx.node()));
  KILN_ASSIGN_OR_RETURN(AttnLayout L, attention_layout(ctx.node(), at, infer_inputs(ctx),
                                                       [&](const std::string& h) { return ctx.unknown_dim(h); }));
  DType t1 = ctx.input_dtype(kQ), t2 = ctx.input_dtype(kV);
  if (L.three_d) {
    ctx.set_output(kY, t1, Shape({L.batch, L.q_seq, L.y_hidden}));
  } else {
    ctx.set_output(kY, t1, Shape({L.batch, L.q_heads, L.q_seq, L.v_head}));
  }
  ctx.set_output(kPresentKey, t1, Shape({L.batch, L.kv_heads, L.total, L.head}));
  ctx.set_output(kPresentValue, t2, Shape({L.batch, L.kv_heads, L.total, L.v_head}));
  ctx.set_output(kQk, t1, Shape({L.batch, L.q_heads, L.q_seq, L.total}));
  return Status::Ok();
}

// ---- CPU reference ----------------------------------------------------------

int64_t sz(const Dim& d) { return d.value; }

// Reads Q, K or V as (batch, heads, seq, head_size) in double; 3-D inputs
// (batch, seq, heads * head_size) are split by heads.
std::vector<double> read_bhsd(const Tensor& t, bool three_d, int64_t heads) {
  std::vector<double> flat = matmul_detail::read_f64(t);
  if (!three_d || flat.empty()) return flat;
  int64_t b_n = t.dim(0), s_n = t.dim(1), d_n = t.dim(2) / heads;
  std::vector<double> out(flat.size());
  for (int64_t b = 0; b < b_n; ++b)
    for (int64_t s = 0; s < s_n; ++s)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t d = 0; d < d_n; ++d)
          out[static_cast<size_t>(((b * heads + h) * s_n + s) * d_n + d)] =
              flat[static_cast<size_t>((b * s_n + s) * heads * d_n + h * d_n + d)];
  return out;
}

// past (B, H, P, D) followed by new (B, H, S, D) along the sequence.
std::vector<double> concat_seq(const std::vector<double>& past, const std::vector<double>& cur, int64_t bh, int64_t p,
                               int64_t s, int64_t d) {
  std::vector<double> out(past.size() + cur.size());
  if (out.empty()) return out;  // d == 0: the loops below would only count
  for (int64_t i = 0; i < bh; ++i) {
    for (int64_t j = 0; j < p * d; ++j)
      out[static_cast<size_t>(i * (p + s) * d + j)] = past[static_cast<size_t>(i * p * d + j)];
    for (int64_t j = 0; j < s * d; ++j)
      out[static_cast<size_t>(i * (p + s) * d + p * d + j)] = cur[static_cast<size_t>(i * s * d + j)];
  }
  return out;
}

Status run_attention(CpuContext& ctx) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(AttnAttrs at, attention_attrs(node));
  AttnInputs in;
  in.shape.resize(7);
  in.dtype.resize(7, DType::kUndefined);
  for (size_t i = 0; i < 7; ++i)
    if (ctx.has_input(i)) {
      in.shape[i] = ctx.input(i).shape();
      in.dtype[i] = ctx.input(i).dtype();
    }
  KILN_ASSIGN_OR_RETURN(AttnLayout L, attention_layout(node, at, in, [](const std::string&) { return Dim(); }));
  const int64_t B = sz(L.batch), Hq = sz(L.q_heads), Hkv = sz(L.kv_heads), Sq = sz(L.q_seq), S = sz(L.kv_seq),
                P = sz(L.past), T = sz(L.total), D = sz(L.head), Dv = sz(L.v_head);
  const int64_t group = std::max<int64_t>(1, Hkv > 0 ? Hq / Hkv : 1);

  std::vector<double> q = read_bhsd(ctx.input(kQ), L.three_d, Hq);
  std::vector<double> k = read_bhsd(ctx.input(kK), L.three_d, Hkv);
  std::vector<double> v = read_bhsd(ctx.input(kV), L.three_d, Hkv);
  if (ctx.has_input(kPastKey)) {
    k = concat_seq(matmul_detail::read_f64(ctx.input(kPastKey)), k, B * Hkv, P, S, D);
    v = concat_seq(matmul_detail::read_f64(ctx.input(kPastValue)), v, B * Hkv, P, S, Dv);
  }
  std::vector<int64_t> nonpad;
  if (ctx.has_input(kNonpad)) {
    nonpad = ctx.input(kNonpad).to_i64_vector();
    for (int64_t b = 0; b < B; ++b)
      if (nonpad[static_cast<size_t>(b)] < 0 || nonpad[static_cast<size_t>(b)] > T)
        return ctx.error("nonpad_kv_seqlen[", b, "] is ", nonpad[static_cast<size_t>(b)], ", outside [0, ", T, "]");
  }

  auto rows = checked_product(std::vector<int64_t>{B, Hq, Sq});
  if (!rows) return ctx.error("batch * q_heads * q_sequence_length overflows");
  std::vector<int64_t> y_dims =
      L.three_d ? std::vector<int64_t>{B, Sq, L.y_hidden.value} : std::vector<int64_t>{B, Hq, Sq, Dv};
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(kY, in.dtype[kQ], y_dims));
  Tensor* qk_out = nullptr;
  if (ctx.wants_output(kQk)) {
    KILN_ASSIGN_OR_RETURN(qk_out, ctx.alloc_output(kQk, in.dtype[kQ], {B, Hq, Sq, T}));
  }
  if (ctx.wants_output(kPresentKey)) {
    KILN_ASSIGN_OR_RETURN(Tensor * pk, ctx.alloc_output(kPresentKey, in.dtype[kK], {B, Hkv, T, D}));
    for (int64_t i = 0; i < pk->numel(); ++i) pk->set_f64(i, k[static_cast<size_t>(i)]);
  }
  if (ctx.wants_output(kPresentValue)) {
    KILN_ASSIGN_OR_RETURN(Tensor * pv, ctx.alloc_output(kPresentValue, in.dtype[kV], {B, Hkv, T, Dv}));
    for (int64_t i = 0; i < pv->numel(); ++i) pv->set_f64(i, v[static_cast<size_t>(i)]);
  }

  // The mask, right-aligned to (B, Hq, Sq, last); broadcast dims get stride 0.
  const Tensor* mask = ctx.has_input(kMask) ? &ctx.input(kMask) : nullptr;
  std::vector<double> mask_vals;
  int64_t mstride[4] = {0, 0, 0, 0}, mask_last = T;
  bool mask_bool = mask && mask->dtype() == DType::kBool;
  if (mask) {
    mask_vals = matmul_detail::read_f64(*mask);
    std::vector<int64_t> md(4 - static_cast<size_t>(mask->rank()), 1);
    md.insert(md.end(), mask->dims().begin(), mask->dims().end());
    mask_last = md[3];
    int64_t target[4] = {B, Hq, Sq, T};
    int64_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      mstride[i] = md[static_cast<size_t>(i)] == 1 && target[i] != 1 ? 0 : stride;
      stride *= md[static_cast<size_t>(i)];
    }
    // Opset 23 broadcasts a last dim of 1; opset 24 pads a short mask instead.
    if (mask_last == 1 && node.opset < 24) mask_last = T;
  }
  const double scale = at.scale ? *at.scale : 1.0 / std::sqrt(static_cast<double>(D));
  const int64_t causal_base = ctx.has_input(kPastKey) ? P : 0;

  // Nothing to compute (also keeps the row count bounded by an allocated output).
  if (y->numel() == 0 && (!qk_out || qk_out->numel() == 0)) return Status::Ok();

  // One query row (b, h, i) per index; each thread owns whole rows.
  matmul_detail::parallel_for(*rows, T * (D + Dv), [&](int64_t begin, int64_t end) {
    std::vector<double> raw(static_cast<size_t>(T)), capped(raw.size()), biased(raw.size()), p(raw.size());
    for (int64_t row = begin; row < end; ++row) {
      const int64_t i = row % Sq, h = (row / Sq) % Hq, b = row / (Sq * Hq), hk = h / group;
      const double* qr = q.data() + row * D;
      const double* kb = k.data() + (b * Hkv + hk) * T * D;
      const double* vb = v.data() + (b * Hkv + hk) * T * Dv;
      const int64_t offset = nonpad.empty() ? causal_base : nonpad[static_cast<size_t>(b)] - Sq;
      bool all_masked = true;
      for (int64_t j = 0; j < T; ++j) {
        double s = 0;
        for (int64_t d = 0; d < D; ++d) s += qr[d] * kb[j * D + d];
        s = D > 0 ? s * scale : 0.0;
        raw[static_cast<size_t>(j)] = s;
        if (at.softcap > 0) s = at.softcap * std::tanh(s / at.softcap);
        capped[static_cast<size_t>(j)] = s;
        double bias = 0;
        if (mask) {
          if (j >= mask_last) {
            bias += kNegInf;
          } else {
            double m =
                mask_vals[static_cast<size_t>(b * mstride[0] + h * mstride[1] + i * mstride[2] + j * mstride[3])];
            bias += mask_bool ? (m != 0 ? 0.0 : kNegInf) : m;
          }
        }
        if (at.causal && j > i + offset) bias += kNegInf;
        // Sliding window around the query's absolute position i + offset.
        const int64_t diff = i + offset - j;
        if ((at.left_window >= 0 && diff > at.left_window) || (at.right_window >= 0 && -diff > at.right_window))
          bias += kNegInf;
        if (!nonpad.empty() && j >= nonpad[static_cast<size_t>(b)]) bias += kNegInf;
        if (bias != kNegInf) all_masked = false;
        biased[static_cast<size_t>(j)] = s + bias;
      }
      // Softmax; a row whose bias is -inf everywhere attends nothing: zeros.
      double mx = kNegInf;
      for (double x : biased) mx = std::isnan(x) || std::isnan(mx) ? NAN : std::max(mx, x);
      double safe = mx == kNegInf ? 0.0 : mx, sum = 0;
      for (size_t j = 0; j < p.size(); ++j) {
        p[j] = std::exp(biased[j] - safe);
        sum += p[j];
      }
      if (sum == 0) sum = 1;  // every score -inf: the zeros stay zeros
      for (double& x : p) x = all_masked ? 0.0 : x / sum;

      for (int64_t dv = 0; dv < Dv; ++dv) {
        double acc = 0;
        for (int64_t j = 0; j < T; ++j) acc += p[static_cast<size_t>(j)] * vb[j * Dv + dv];
        int64_t o = L.three_d ? (b * Sq + i) * Hq * Dv + h * Dv + dv : row * Dv + dv;
        y->set_f64(o, acc);
      }
      if (qk_out) {
        const std::vector<double>& src = at.mode == 0 ? raw : at.mode == 1 ? capped : at.mode == 2 ? biased : p;
        for (int64_t j = 0; j < T; ++j) qk_out->set_f64(row * T + j, src[static_cast<size_t>(j)]);
      }
    }
  });
  return Status::Ok();
}

}  // namespace

void register_attention_op(OpRegistry& r) {
  OpSchema s;
  s.name = "Attention";
  s.family = "matmul";
  s.since_opset = 23;
  s.min_inputs = 3;
  s.max_inputs = 7;
  s.min_outputs = 1;
  s.max_outputs = 4;
  s.infer = infer_attention;
  s.cpu = run_attention;
  r.add(std::move(s));
}

}  // namespace kiln
