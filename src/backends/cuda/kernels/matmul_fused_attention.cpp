// kiln.FusedAttention(Q, K, V, B?) on two kernels (matmul_fused_attention.cu):
//  - "kiln.attention_tc": tensor cores, float16 / bfloat16, head sizes
//    d == dv a multiple of 16 up to 128 (BERT's 64);
//  - "kiln.attention_rows": one warp per query row, any GPU float type,
//    sk <= kRowsMaxKeys, d, dv <= kRowsMaxHead.
// Where both apply the builder times them. Q, K, V and Y share their batch
// dims and are each stored [.., H, S, D] or, per `transposed_heads`,
// [.., S, H, D]; the mask B broadcasts to the scores [..., sq, sk].
#include <algorithm>
#include <utility>

#include "backends/cuda/kernels/matmul_common.h"

namespace kiln {
namespace {

bool fail(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return false;
}

struct FusedAttentionLayer {
  DType dtype = DType::kFloat32;
  mm::FusedAttentionParams p;
  bool has_mask = false;
};

// The logical [.., H, S, D] dims of a tensor stored with heads and sequence
// swapped when `transposed`.
std::vector<int64_t> logical_dims(std::vector<int64_t> dims, bool transposed) {
  if (transposed) std::swap(dims[dims.size() - 3], dims[dims.size() - 2]);
  return dims;
}

// Strides of the logical [.., H, S, D] tensor `dims` as stored.
mm::AttentionLayout layout_of(const std::vector<int64_t>& dims, bool transposed) {
  const size_t r = dims.size();
  const int64_t s = dims[r - 2], d = dims[r - 1], h = r >= 3 ? dims[r - 3] : 1;
  if (transposed) return {s * h * d, d, h * d};
  return {h * s * d, s * d, d};
}

// Reads the layer into `out`; false (with `why`) when it is malformed.
bool describe(const LayerView& v, FusedAttentionLayer* out, std::string* why) {
  if (v.inputs.size() < 3 || v.inputs.size() > 4 || v.outputs.size() != 1 || !v.has_input(0) || !v.has_input(1) ||
      !v.has_input(2))
    return fail(why, "expects Q, K, V, an optional mask B and one output");
  if (!mm::all_linear(v)) return fail(why, "needs linear layouts");
  const DType t = v.in(0).dtype;
  if (!mm::is_gpu_float(t)) return fail(why, str("type ", dtype_name(t), " (float32, float16, bfloat16 only)"));
  for (const PlanTensor* x : {&v.in(1), &v.in(2), &v.out(0)})
    if (x->dtype != t) return fail(why, "Q, K, V and Y must have one type");
  const size_t r = v.in(0).dims.size();
  for (const PlanTensor* x : {&v.in(1), &v.in(2), &v.out(0)})
    if (r < 2 || x->dims.size() != r) return fail(why, "Q, K, V and Y must have one rank >= 2");
  std::vector<int64_t> swapped;
  if (!mm::attr_ints(v.layer, "transposed_heads", {0, 0, 0, 0}, &swapped, why)) return false;
  if (swapped.size() != 4 || (r < 3 && std::count(swapped.begin(), swapped.end(), 0) != 4))
    return fail(why, "transposed_heads must be 4 flags, and 0 below rank 3");
  const std::vector<int64_t> q = logical_dims(v.in(0).dims, swapped[0]), k = logical_dims(v.in(1).dims, swapped[1]),
                             val = logical_dims(v.in(2).dims, swapped[2]), y = logical_dims(v.out(0).dims, swapped[3]);
  if (!std::equal(q.begin(), q.end() - 2, k.begin()) || !std::equal(q.begin(), q.end() - 2, val.begin()))
    return fail(why, "Q, K and V must share their batch dims");
  mm::FusedAttentionParams& p = out->p;
  p.batch = mm::product(std::vector<int64_t>(q.begin(), q.end() - 2));
  p.heads = r >= 3 ? q[r - 3] : 1;
  const int64_t sq = q[r - 2], d = q[r - 1], sk = k[r - 2], dv = val[r - 1];
  if (k[r - 1] != d || val[r - 2] != sk) return fail(why, "K must be [.., sk, d] and V [.., sk, dv]");
  std::vector<int64_t> want_y = q;
  want_y[r - 1] = dv;
  if (y != want_y) return fail(why, "Y must be [.., sq, dv]");
  if (sq > INT32_MAX || sk > INT32_MAX || d > INT32_MAX || dv > INT32_MAX) return fail(why, "dims beyond 2^31 - 1");
  p.sq = static_cast<int>(sq);
  p.sk = static_cast<int>(sk);
  p.d = static_cast<int>(d);
  p.dv = static_cast<int>(dv);
  p.q = layout_of(q, swapped[0]);
  p.k = layout_of(k, swapped[1]);
  p.v = layout_of(val, swapped[2]);
  p.y = layout_of(y, swapped[3]);
  int64_t nan_to_zero = 0;
  if (!mm::attr_float(v.layer, "alpha", 1.f, &p.alpha, why) ||
      !mm::attr_int(v.layer, "nan_to_zero", 0, &nan_to_zero, why))
    return false;
  p.nan_to_zero = nan_to_zero != 0;
  out->dtype = t;
  out->has_mask = v.has_input(3);
  if (out->has_mask) {
    // The mask's element strides over the score dims [batch..., sq, sk],
    // 0 where it broadcasts; the row map walks [batch..., sq].
    const PlanTensor& m = v.in(3);
    if (m.dtype != t) return fail(why, "the mask must have Q's type");
    if (m.dims.size() > r) return fail(why, "the mask has a higher rank than the scores");
    std::vector<int64_t> scores = q;
    scores[r - 1] = sk;
    std::vector<int64_t> md(r, 1), st(r, 0);
    std::copy(m.dims.begin(), m.dims.end(), md.begin() + static_cast<int64_t>(r - m.dims.size()));
    int64_t stride = 1;
    for (size_t i = r; i-- > 0;) {
      if (md[i] != 1 && md[i] != scores[i]) return fail(why, "the mask does not broadcast to the scores");
      st[i] = md[i] == 1 ? 0 : stride;
      stride *= md[i];
    }
    if (r - 1 > static_cast<size_t>(cuda::kMaxRank)) return fail(why, "too many batch dims for the mask map");
    p.mask_col = static_cast<int>(st[r - 1]);
    // (outer, head, row) strides: the dims before the heads must be one
    // stride apart as a whole (all broadcast, or contiguous among the
    // non-unit dims).
    const size_t heads_at = r >= 3 ? r - 3 : 0;
    p.mask.head = r >= 3 ? st[r - 3] : 0;
    p.mask.row = st[r - 2];
    p.mask_collapses = true;
    int64_t span = -1;  // elements one outer step covers, once an inner dim is seen
    for (size_t i = heads_at; i-- > 0;) {
      if (scores[i] == 1) continue;
      if (span < 0) {
        p.mask.outer = st[i];
        span = st[i] * scores[i];
      } else if (st[i] != span) {
        p.mask_collapses = false;
      } else {
        span *= scores[i];
      }
    }
    p.mask_staged = p.mask_col == 1 && p.mask.outer % 8 == 0 && p.mask.head % 8 == 0 && p.mask.row % 8 == 0 &&
                    p.sk % 8 == 0;
    p.mask_row.rank = static_cast<int>(r - 1);
    p.mask_row.identity = false;
    for (size_t i = 0; i + 1 < r; ++i) {
      p.mask_row.out_dims[i] = scores[i];
      p.mask_row.in_strides[i] = st[i];
    }
  }
  return true;
}

bool tc_supports(const LayerView& v, std::string* why) {
  FusedAttentionLayer l;
  if (!describe(v, &l, why)) return false;
  if (l.dtype != DType::kFloat16 && l.dtype != DType::kBFloat16) return fail(why, "tensor cores take float16/bfloat16");
  if (l.p.d != l.p.dv || l.p.d % 16 != 0 || l.p.d > mm::kMmaMaxHead)
    return fail(why, str("head sizes ", l.p.d, " and ", l.p.dv, " (equal, a multiple of 16 up to ", mm::kMmaMaxHead,
                         ")"));
  if (l.p.heads > 65535 || l.p.batch / std::max<int64_t>(l.p.heads, 1) > 65535)
    return fail(why, "more than 65535 heads or outer batches");
  if (l.has_mask && !l.p.mask_collapses) return fail(why, "the mask's batch dims do not collapse to one stride");
  return true;
}

bool rows_supports(const LayerView& v, std::string* why) {
  FusedAttentionLayer l;
  if (!describe(v, &l, why)) return false;
  if (l.p.sk > mm::kRowsMaxKeys) return fail(why, str(l.p.sk, " keys (at most ", mm::kRowsMaxKeys, ")"));
  if (l.p.d > mm::kRowsMaxHead || l.p.dv > mm::kRowsMaxHead)
    return fail(why, str("head sizes above ", mm::kRowsMaxHead));
  return true;
}

class FusedAttentionKernel : public CudaKernel {
 public:
  FusedAttentionKernel(FusedAttentionLayer l, bool tensor_cores) : l_(l), tc_(tensor_cores) {}
  Status enqueue(const LaunchArgs& a) override {
    const void* mask = l_.has_mask ? a.inputs[3] : nullptr;
    return tc_ ? mm::launch_fused_attention_tc(l_.dtype, a.inputs[0], a.inputs[1], a.inputs[2], mask, a.outputs[0],
                                               l_.p, a.stream)
               : mm::launch_fused_attention_rows(l_.dtype, a.inputs[0], a.inputs[1], a.inputs[2], mask,
                                                 a.outputs[0], l_.p, a.stream);
  }

 private:
  FusedAttentionLayer l_;
  bool tc_;
};

CudaKernelDef make_def(const char* id, bool tensor_cores) {
  CudaKernelDef d;
  d.id = id;
  d.ops = {"kiln.FusedAttention"};
  d.supports = tensor_cores ? tc_supports : rows_supports;
  d.create = [tensor_cores](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    std::string why;
    FusedAttentionLayer l;
    if (!(tensor_cores ? tc_supports(v, &why) : rows_supports(v, &why)) || !describe(v, &l, &why))
      return Unsupported(v.layer.op, ": ", why);
    return std::unique_ptr<CudaKernel>(new FusedAttentionKernel(l, tensor_cores));
  };
  d.priority = tensor_cores ? 1 : 0;
  return d;
}

}  // namespace

void register_fused_attention_kernels(CudaKernelRegistry& r) {
  r.add(make_def("kiln.attention_tc", true));
  r.add(make_def("kiln.attention_rows", false));
}

}  // namespace kiln
