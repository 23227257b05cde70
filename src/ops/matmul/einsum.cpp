// Einsum: equation parsing (explicit and implicit output, repeated letters,
// ellipsis broadcasting), shape inference and a generic CPU reference that
// walks the whole index space of every letter, multiplying and accumulating
// (double for floats, wrapping 64-bit for integers).
#include <algorithm>

#include "base/checked_math.h"
#include "ops/matmul/matmul_internal.h"
#include "ops/op_util.h"

namespace kiln {

using matmul_detail::dtype_in;
using matmul_detail::dtype_list;

namespace {

constexpr int kNumLetters = 52;
constexpr int kEllipsis = -1;
// Walking more index combinations than this would run for minutes: refuse instead.
constexpr int64_t kMaxIterations = int64_t{1} << 34;

constexpr std::initializer_list<DType> kEinsumTypes = {DType::kUInt8,   DType::kInt8,    DType::kInt32,
                                                       DType::kInt64,   DType::kFloat16, DType::kFloat32,
                                                       DType::kFloat64, DType::kBFloat16};

// 'A'..'Z' -> 0..25, 'a'..'z' -> 26..51: index order is ASCII order.
int letter_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -2;
}
char letter_char(int i) { return static_cast<char>(i < 26 ? 'A' + i : 'a' + (i - 26)); }

// A parsed equation, resolved against the inputs' ranks. Every dim of every
// operand refers to an axis: ellipsis axes are 0..ell_rank-1 (right-aligned
// across operands, as numpy broadcasts them), letter L is axis ell_rank + L.
struct EinsumSpec {
  int64_t ell_rank = 0;
  std::vector<std::vector<int64_t>> input_axes;
  std::vector<int64_t> output_axes;
  std::vector<std::string> terms;  // the input terms as written, for messages
  int64_t num_axes() const { return ell_rank + kNumLetters; }
};

// One term as a list of letter indices with kEllipsis for "...".
Expected<std::vector<int>> parse_term(const std::string& term) {
  std::vector<int> items;
  bool seen_ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    char c = term[i];
    if (c == '.') {
      if (term.compare(i, 3, "...") != 0 || (i + 3 < term.size() && term[i + 3] == '.'))
        return InvalidArgument("term '", term, "' has a '.' that is not part of an ellipsis '...'");
      if (seen_ellipsis) return InvalidArgument("term '", term, "' has more than one ellipsis");
      seen_ellipsis = true;
      items.push_back(kEllipsis);
      i += 2;
      continue;
    }
    int l = letter_index(c);
    if (l < 0)
      return InvalidArgument("term '", term, "' has the character '", std::string(1, c),
                             "'; only letters a-z, A-Z and '...' are allowed");
    items.push_back(l);
  }
  return items;
}

Expected<EinsumSpec> parse_equation(const std::string& equation, const std::vector<size_t>& ranks) {
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  std::string lhs = eq, rhs;
  size_t arrow = eq.find("->");
  bool explicit_out = arrow != std::string::npos;
  if (explicit_out) {
    lhs = eq.substr(0, arrow);
    rhs = eq.substr(arrow + 2);
  }
  if (lhs.find_first_of("->") != std::string::npos || rhs.find_first_of("->,") != std::string::npos)
    return InvalidArgument("equation '", equation, "' must have the form 'term,term,...->output' with one '->'");

  EinsumSpec spec;
  std::vector<std::vector<int>> items;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    std::string term = lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto parsed = parse_term(term);
    if (!parsed.ok()) return InvalidArgument("equation '", equation, "': ", parsed.status().message());
    spec.terms.push_back(term);
    items.push_back(*parsed);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (items.size() != ranks.size())
    return InvalidArgument("equation '", equation, "' has ", items.size(), " input terms but the node has ",
                           ranks.size(), " inputs");

  // How many dims each ellipsis covers; the broadcast ellipsis takes the most.
  std::vector<int64_t> ell_dims(items.size(), 0);
  bool any_ellipsis = false;
  int counts[kNumLetters] = {};
  for (size_t i = 0; i < items.size(); ++i) {
    bool has_ell = std::count(items[i].begin(), items[i].end(), kEllipsis) > 0;
    int64_t letters = static_cast<int64_t>(items[i].size()) - (has_ell ? 1 : 0);
    int64_t rank = static_cast<int64_t>(ranks[i]);
    if (has_ell ? letters > rank : letters != rank)
      return InvalidArgument("equation '", equation, "': term '", spec.terms[i], "' has ", letters,
                             " letters but input ", i, " has rank ", rank);
    if (has_ell) {
      any_ellipsis = true;
      ell_dims[i] = rank - letters;
      spec.ell_rank = std::max(spec.ell_rank, ell_dims[i]);
    }
    for (int l : items[i])
      if (l != kEllipsis) counts[l]++;
  }
  for (size_t i = 0; i < items.size(); ++i) {
    std::vector<int64_t> axes;
    for (int l : items[i]) {
      if (l != kEllipsis) {
        axes.push_back(spec.ell_rank + l);
        continue;
      }
      for (int64_t e = spec.ell_rank - ell_dims[i]; e < spec.ell_rank; ++e) axes.push_back(e);
    }
    spec.input_axes.push_back(std::move(axes));
  }

  if (!explicit_out) {
    // Implicit output: the ellipsis, then letters used exactly once, in ASCII order.
    for (int64_t e = 0; e < spec.ell_rank; ++e) spec.output_axes.push_back(e);
    for (int l = 0; l < kNumLetters; ++l)
      if (counts[l] == 1) spec.output_axes.push_back(spec.ell_rank + l);
    return spec;
  }
  auto out = parse_term(rhs);
  if (!out.ok()) return InvalidArgument("equation '", equation, "' output: ", out.status().message());
  bool out_has_ell = false;
  bool used[kNumLetters] = {};
  for (int l : *out) {
    if (l == kEllipsis) {
      out_has_ell = true;
      for (int64_t e = 0; e < spec.ell_rank; ++e) spec.output_axes.push_back(e);
      continue;
    }
    if (counts[l] == 0)
      return InvalidArgument("equation '", equation, "': output letter '", std::string(1, letter_char(l)),
                             "' does not appear in any input term");
    if (used[l])
      return InvalidArgument("equation '", equation, "': output letter '", std::string(1, letter_char(l)),
                             "' appears more than once");
    used[l] = true;
    spec.output_axes.push_back(spec.ell_rank + l);
  }
  if (any_ellipsis && !out_has_ell && spec.ell_rank > 0)
    return InvalidArgument("equation '", equation, "': the inputs' ellipsis covers ", spec.ell_rank,
                           " dims but the output has no '...'");
  return spec;
}

// Size of each axis from the inputs' dims: occurrences must agree, except that
// a size-1 dim broadcasts (numpy); a letter repeated within one term (a
// diagonal) must have equal sizes.
Expected<std::vector<Dim>> axis_sizes(const EinsumSpec& spec, const std::vector<Shape>& shapes) {
  std::vector<Dim> size(static_cast<size_t>(spec.num_axes()), Dim(1));
  std::vector<bool> seen(size.size(), false);
  for (size_t i = 0; i < shapes.size(); ++i) {
    for (size_t d = 0; d < shapes[i].rank(); ++d) {
      int64_t a = spec.input_axes[i][d];
      const Dim& got = shapes[i][d];
      auto name = [&] {
        return a < spec.ell_rank ? str("ellipsis dim ", a)
                                 : str("letter '", letter_char(static_cast<int>(a - spec.ell_rank)), "'");
      };
      for (size_t d2 = 0; d2 < d; ++d2) {
        const Dim& other = shapes[i][d2];
        if (spec.input_axes[i][d2] == a && got.is_static() && other.is_static() && got.value != other.value)
          return InvalidArgument(name(), " is repeated in term '", spec.terms[i], "' with sizes ", other.value, " and ",
                                 got.value, " (input ", i, " ", shapes[i].to_string(), ")");
      }
      Dim& cur = size[static_cast<size_t>(a)];
      if (!seen[static_cast<size_t>(a)]) {
        cur = got;
        seen[static_cast<size_t>(a)] = true;
      } else if (got.is_static() && cur.is_static()) {
        if (got.value != cur.value && got.value != 1 && cur.value != 1)
          return InvalidArgument(name(), " has size ", cur.value, " in one operand and ", got.value, " in input ", i,
                                 " ", shapes[i].to_string());
        if (cur.value == 1) cur = got;
      } else if (cur.is_static() && cur.value == 1) {
        cur = got;  // a symbol against 1 stays the symbol
      }
    }
  }
  return size;
}

Expected<EinsumSpec> spec_of(const Node& node, const std::vector<size_t>& ranks) {
  if (!node.has_attr("equation"))
    return node.error(ErrorCode::kInvalidArgument, "required attribute 'equation' is missing");
  KILN_ASSIGN_OR_RETURN(std::string equation, node.attr_string("equation", ""));
  auto spec = parse_equation(equation, ranks);
  if (!spec.ok()) return node.error(ErrorCode::kInvalidArgument, spec.status().message());
  return spec;
}

Status infer_einsum(InferContext& ctx) {
  DType t = ctx.input_dtype(0);
  if (!dtype_in(t, kEinsumTypes))
    return ctx.unsupported("input 0 has type ", dtype_name(t), "; Einsum takes ", dtype_list(kEinsumTypes));
  std::vector<size_t> ranks;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.error("input ", i, " is omitted; Einsum inputs are not optional");
    if (ctx.input_dtype(i) != t)
      return ctx.error("input ", i, " has type ", dtype_name(ctx.input_dtype(i)), " but input 0 has ", dtype_name(t),
                       "; they must match");
    ranks.push_back(ctx.input_shape(i).rank());
    shapes.push_back(ctx.input_shape(i));
  }
  KILN_ASSIGN_OR_RETURN(EinsumSpec spec, spec_of(ctx.node(), ranks));
  auto sizes = axis_sizes(spec, shapes);
  if (!sizes.ok()) return ctx.error(sizes.status().message());
  Shape out;
  for (int64_t a : spec.output_axes) out.dims.push_back((*sizes)[static_cast<size_t>(a)]);
  ctx.set_output(0, t, std::move(out));
  return Status::Ok();
}

// Walks the output elements [begin, end); for each, the whole summed index space.
template <typename T>
void einsum_range(const std::vector<std::vector<T>>& vals, const std::vector<std::vector<int64_t>>& out_strides,
                  const std::vector<std::vector<int64_t>>& sum_strides, const std::vector<int64_t>& out_sizes,
                  const std::vector<int64_t>& sum_sizes, int64_t sum_count, int64_t begin, int64_t end, Tensor& y) {
  const size_t n_in = vals.size();
  std::vector<int64_t> idx;
  std::vector<int64_t> base(n_in, 0), off(n_in, 0), sidx(sum_sizes.size(), 0);
  unravel(begin, out_sizes, idx);
  for (size_t i = 0; i < n_in; ++i)
    for (size_t a = 0; a < idx.size(); ++a) base[i] += idx[a] * out_strides[i][a];
  for (int64_t o = begin; o < end; ++o) {
    T acc = 0;
    off = base;
    std::fill(sidx.begin(), sidx.end(), 0);
    for (int64_t s = 0; s < sum_count; ++s) {
      T prod = 1;
      for (size_t i = 0; i < n_in; ++i) prod *= vals[i][static_cast<size_t>(off[i])];
      acc += prod;
      for (size_t a = sidx.size(); a-- > 0;) {  // odometer over the summed letters
        for (size_t i = 0; i < n_in; ++i) off[i] += sum_strides[i][a];
        if (++sidx[a] < sum_sizes[a]) break;
        for (size_t i = 0; i < n_in; ++i) off[i] -= sum_strides[i][a] * sum_sizes[a];
        sidx[a] = 0;
      }
    }
    if constexpr (std::is_same_v<T, double>) {
      y.set_f64(o, acc);
    } else {
      y.set_i64(o, static_cast<int64_t>(acc));
    }
    for (size_t a = idx.size(); a-- > 0;) {  // odometer over the output
      for (size_t i = 0; i < n_in; ++i) base[i] += out_strides[i][a];
      if (++idx[a] < out_sizes[a]) break;
      for (size_t i = 0; i < n_in; ++i) base[i] -= out_strides[i][a] * out_sizes[a];
      idx[a] = 0;
    }
  }
}

Status run_einsum(CpuContext& ctx) {
  std::vector<size_t> ranks;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    ranks.push_back(static_cast<size_t>(ctx.input(i).rank()));
    shapes.push_back(ctx.input(i).shape());
  }
  KILN_ASSIGN_OR_RETURN(EinsumSpec spec, spec_of(ctx.node(), ranks));
  auto dim_sizes = axis_sizes(spec, shapes);
  if (!dim_sizes.ok()) return ctx.error(dim_sizes.status().message());
  std::vector<int64_t> size;
  for (const Dim& d : *dim_sizes) size.push_back(d.value);

  // Output axes first, then every other axis some input uses (summed).
  std::vector<bool> is_out(size.size(), false), is_used(size.size(), false);
  std::vector<int64_t> out_sizes, sum_axes, sum_sizes;
  for (int64_t a : spec.output_axes) {
    is_out[static_cast<size_t>(a)] = true;
    out_sizes.push_back(size[static_cast<size_t>(a)]);
  }
  for (const auto& axes : spec.input_axes)
    for (int64_t a : axes) is_used[static_cast<size_t>(a)] = true;
  for (size_t a = 0; a < size.size(); ++a)
    if (is_used[a] && !is_out[a]) {
      sum_axes.push_back(static_cast<int64_t>(a));
      sum_sizes.push_back(size[a]);
    }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, ctx.input(0).dtype(), out_sizes));
  auto sum_count = checked_product(sum_sizes);
  auto iterations = sum_count ? checked_mul(*sum_count, y->numel()) : std::nullopt;
  if (!iterations) return ctx.error("the summed index space ", dims_to_string(sum_sizes), " overflows");
  if (*iterations > kMaxIterations)
    return ctx.node().error(ErrorCode::kUnsupported, "the equation walks ", *iterations,
                            " index combinations; the reference kernel stops at ", kMaxIterations);
  if (y->numel() == 0 || *sum_count == 0) return Status::Ok();

  // Per input, the element stride of each output axis and each summed axis;
  // a letter repeated in one term (a diagonal) adds its strides; a broadcast
  // size-1 dim has stride 0.
  const size_t n_in = ctx.num_inputs();
  std::vector<std::vector<int64_t>> out_strides(n_in, std::vector<int64_t>(out_sizes.size(), 0));
  std::vector<std::vector<int64_t>> sum_strides(n_in, std::vector<int64_t>(sum_axes.size(), 0));
  for (size_t i = 0; i < n_in; ++i) {
    const Tensor& x = ctx.input(i);
    std::vector<int64_t> strides = contiguous_strides(x.dims());
    for (size_t d = 0; d < strides.size(); ++d) {
      int64_t a = spec.input_axes[i][d];
      if (x.dims()[d] == 1 && size[static_cast<size_t>(a)] != 1) continue;
      for (size_t k = 0; k < spec.output_axes.size(); ++k)
        if (spec.output_axes[k] == a) out_strides[i][k] += strides[d];
      for (size_t k = 0; k < sum_axes.size(); ++k)
        if (sum_axes[k] == a) sum_strides[i][k] += strides[d];
    }
  }
  int64_t cost = *sum_count * static_cast<int64_t>(n_in);
  if (dtype_is_float(y->dtype())) {
    std::vector<std::vector<double>> vals;
    for (size_t i = 0; i < n_in; ++i) vals.push_back(matmul_detail::read_f64(ctx.input(i)));
    matmul_detail::parallel_for(y->numel(), cost, [&](int64_t b, int64_t e) {
      einsum_range<double>(vals, out_strides, sum_strides, out_sizes, sum_sizes, *sum_count, b, e, *y);
    });
  } else {
    std::vector<std::vector<uint64_t>> vals;
    for (size_t i = 0; i < n_in; ++i) vals.push_back(matmul_detail::read_u64(ctx.input(i)));
    matmul_detail::parallel_for(y->numel(), cost, [&](int64_t b, int64_t e) {
      einsum_range<uint64_t>(vals, out_strides, sum_strides, out_sizes, sum_sizes, *sum_count, b, e, *y);
    });
  }
  return Status::Ok();
}

}  // namespace

void register_einsum_op(OpRegistry& r) {
  OpSchema s;
  s.name = "Einsum";
  s.family = "matmul";
  s.min_inputs = 1;
  s.max_inputs = 1 << 20;  // variadic
  s.infer = infer_einsum;
  s.cpu = run_einsum;
  r.add(std::move(s));
}

}  // namespace kiln
