// Einsum ("kiln.einsum"): the equation is planned at creation into output and
// summed axes with per-input strides, the same way the CPU reference
// (src/ops/matmul/einsum.cpp) resolves it: explicit or implicit output,
// repeated letters (diagonals), "..." broadcast right-aligned across inputs,
// size-1 dims broadcasting. The generic kernel is in matmul_einsum.cu.
// Refused: more than kEinsumMaxInputs inputs, or more than kEinsumMaxAxes
// output axes or summed axes.
#include <algorithm>

#include "backends/cuda/kernels/matmul_common.h"

namespace kiln {
namespace {

constexpr int kLetters = 52;
constexpr int kEllipsis = -1;

// 'A'..'Z' -> 0..25, 'a'..'z' -> 26..51 (ASCII order, as implicit outputs sort).
int letter_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -2;
}

bool fail(std::string* why, std::string msg) {
  *why = std::move(msg);
  return false;
}

// One term as letter indices, kEllipsis for "...".
bool parse_term(const std::string& term, std::vector<int>* items, std::string* why) {
  bool seen_ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    if (term[i] == '.') {
      if (term.compare(i, 3, "...") != 0 || seen_ellipsis) return fail(why, str("bad ellipsis in term '", term, "'"));
      seen_ellipsis = true;
      items->push_back(kEllipsis);
      i += 2;
      continue;
    }
    const int l = letter_index(term[i]);
    if (l < 0) return fail(why, str("term '", term, "' has a character other than a letter"));
    items->push_back(l);
  }
  return true;
}

// Fills the kernel parameters (all but the pointers) from the equation and the inputs' dims.
bool plan_einsum(const std::string& equation, const std::vector<std::vector<int64_t>>& dims, mm::EinsumParams* p,
                 std::vector<int64_t>* out_dims, std::string* why) {
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  std::string lhs = eq, rhs;
  const size_t arrow = eq.find("->");
  const bool explicit_out = arrow != std::string::npos;
  if (explicit_out) {
    lhs = eq.substr(0, arrow);
    rhs = eq.substr(arrow + 2);
  }
  if (lhs.find_first_of("->") != std::string::npos || rhs.find_first_of("->,") != std::string::npos)
    return fail(why, str("malformed equation '", equation, "'"));
  std::vector<std::vector<int>> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.emplace_back();
    if (!parse_term(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start), &terms.back(), why))
      return false;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != dims.size()) return fail(why, "equation and inputs differ in count");
  if (dims.size() > static_cast<size_t>(mm::kEinsumMaxInputs))
    return fail(why, str("more than ", mm::kEinsumMaxInputs, " inputs"));

  // Axes: ellipsis dims 0..ell_rank-1 (right-aligned), then letter L at ell_rank + L.
  int64_t ell_rank = 0;
  std::vector<int64_t> ell_dims(terms.size(), 0);
  int counts[kLetters] = {};
  for (size_t i = 0; i < terms.size(); ++i) {
    const bool has_ell = std::count(terms[i].begin(), terms[i].end(), kEllipsis) > 0;
    const int64_t letters = static_cast<int64_t>(terms[i].size()) - (has_ell ? 1 : 0);
    const auto rank = static_cast<int64_t>(dims[i].size());
    if (has_ell ? letters > rank : letters != rank) return fail(why, str("term ", i, " does not match its input's rank"));
    if (has_ell) ell_dims[i] = rank - letters;
    ell_rank = std::max(ell_rank, ell_dims[i]);
    for (int l : terms[i])
      if (l != kEllipsis) counts[l]++;
  }
  std::vector<std::vector<int64_t>> in_axes(terms.size());
  for (size_t i = 0; i < terms.size(); ++i)
    for (int l : terms[i]) {
      if (l != kEllipsis) {
        in_axes[i].push_back(ell_rank + l);
        continue;
      }
      for (int64_t e = ell_rank - ell_dims[i]; e < ell_rank; ++e) in_axes[i].push_back(e);
    }
  std::vector<int64_t> out_axes;
  if (!explicit_out) {  // the ellipsis, then letters used exactly once, in ASCII order
    for (int64_t e = 0; e < ell_rank; ++e) out_axes.push_back(e);
    for (int l = 0; l < kLetters; ++l)
      if (counts[l] == 1) out_axes.push_back(ell_rank + l);
  } else {
    std::vector<int> items;
    if (!parse_term(rhs, &items, why)) return false;
    bool used[kLetters] = {}, out_ell = false;
    for (int l : items) {
      if (l == kEllipsis) {
        out_ell = true;
        for (int64_t e = 0; e < ell_rank; ++e) out_axes.push_back(e);
        continue;
      }
      if (counts[l] == 0 || used[l]) return fail(why, "an output letter is repeated or in no input");
      used[l] = true;
      out_axes.push_back(ell_rank + l);
    }
    if (ell_rank > 0 && !out_ell) return fail(why, "the inputs' ellipsis is missing from the output");
  }

  // Axis sizes: a size-1 dim broadcasts against the others.
  const int64_t num_axes = ell_rank + kLetters;
  std::vector<int64_t> size(static_cast<size_t>(num_axes), 1);
  std::vector<bool> used(size.size(), false), is_out(size.size(), false);
  for (size_t i = 0; i < dims.size(); ++i)
    for (size_t d = 0; d < dims[i].size(); ++d) {
      const auto a = static_cast<size_t>(in_axes[i][d]);
      used[a] = true;
      if (dims[i][d] == 1) continue;
      if (size[a] != 1 && size[a] != dims[i][d]) return fail(why, "an axis has two different sizes");
      size[a] = dims[i][d];
    }
  std::vector<int64_t> sum_axes;
  out_dims->clear();
  for (int64_t a : out_axes) {
    is_out[static_cast<size_t>(a)] = true;
    out_dims->push_back(size[static_cast<size_t>(a)]);
  }
  for (size_t a = 0; a < size.size(); ++a)
    if (used[a] && !is_out[a]) sum_axes.push_back(static_cast<int64_t>(a));
  if (out_axes.size() > static_cast<size_t>(mm::kEinsumMaxAxes) ||
      sum_axes.size() > static_cast<size_t>(mm::kEinsumMaxAxes))
    return fail(why, str("more than ", mm::kEinsumMaxAxes, " output or summed axes"));

  p->n_in = static_cast<int>(dims.size());
  p->n_out = static_cast<int>(out_axes.size());
  p->n_sum = static_cast<int>(sum_axes.size());
  p->out_numel = mm::product(*out_dims);
  p->sum_count = 1;
  for (size_t k = 0; k < sum_axes.size(); ++k) {
    p->sum_sizes[k] = size[static_cast<size_t>(sum_axes[k])];
    p->sum_count *= p->sum_sizes[k];
  }
  for (size_t k = 0; k < out_axes.size(); ++k) p->out_sizes[k] = (*out_dims)[k];
  // Per input, the element stride of each output and summed axis; a repeated
  // letter adds its strides (a diagonal); a broadcast size-1 dim adds none.
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t stride = 1;
    for (size_t d = dims[i].size(); d-- > 0;) {
      const int64_t a = in_axes[i][d];
      if (!(dims[i][d] == 1 && size[static_cast<size_t>(a)] != 1)) {
        for (size_t k = 0; k < out_axes.size(); ++k)
          if (out_axes[k] == a) p->out_strides[i][k] += stride;
        for (size_t k = 0; k < sum_axes.size(); ++k)
          if (sum_axes[k] == a) p->sum_strides[i][k] += stride;
      }
      stride *= dims[i][d];
    }
  }
  return true;
}

bool einsum_type_ok(DType t) {
  return mm::is_gpu_float(t) || t == DType::kInt8 || t == DType::kUInt8 || t == DType::kInt32 || t == DType::kInt64;
}

bool describe(const LayerView& v, mm::EinsumParams* p, std::string* why) {
  if (v.inputs.empty() || v.outputs.size() != 1) return fail(why, "expects inputs and one output");
  if (!mm::all_linear(v)) return fail(why, "needs linear layouts");
  std::string equation;
  if (!mm::attr_string(v.layer, "equation", "", &equation, why)) return false;
  if (equation.empty()) return fail(why, "attribute 'equation' is missing");
  const DType t = v.out(0).dtype;
  if (!einsum_type_ok(t)) return fail(why, str("type ", dtype_name(t), " is not supported"));
  std::vector<std::vector<int64_t>> dims;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    if (!v.has_input(i)) return fail(why, "an input is omitted");
    if (v.in(i).dtype != t) return fail(why, "inputs and output differ in type");
    dims.push_back(v.in(i).dims);
  }
  std::vector<int64_t> out_dims;
  if (!plan_einsum(equation, dims, p, &out_dims, why)) return false;
  if (out_dims != v.out(0).dims) return fail(why, "output dims differ from the equation's");
  return true;
}

class EinsumKernel : public CudaKernel {
 public:
  DType dtype = DType::kFloat32;
  mm::EinsumParams params;

  Status enqueue(const LaunchArgs& a) override {
    mm::EinsumParams p = params;
    for (int i = 0; i < p.n_in; ++i) p.in[i] = a.inputs[static_cast<size_t>(i)];
    return mm::launch_einsum(dtype, p, a.outputs[0], a.stream);
  }
};

}  // namespace

void register_matmul_einsum_kernels(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.einsum";
  d.ops = {"Einsum"};
  d.supports = [](const LayerView& v, std::string* why) {
    mm::EinsumParams p;
    return describe(v, &p, why);
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    auto k = std::make_unique<EinsumKernel>();
    std::string why;
    if (!describe(v, &k->params, &why)) return Unsupported("Einsum: ", why);
    k->dtype = v.out(0).dtype;
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  r.add(std::move(d));
}

}  // namespace kiln
