// Internal to the conv family: pieces registered by register_conv_ops.
#pragma once

#include <algorithm>
#include <vector>

#include "ops/conv/window.h"
#include "ops/op_schema.h"

namespace kiln {

void register_conv_transpose_op(OpRegistry& r);
void add_conv_cases(OpRegistry& r);

// Conv and ConvTranspose accept fp32, fp16, bf16 and fp64.
Status check_conv_dtypes(const InferContext& ctx);

// Static dims of a shape, -1 where symbolic.
std::vector<int64_t> dims_or_unknown(const Shape& s);

// The elements of a float tensor as T (float for narrow types, double for fp64).
template <typename T>
std::vector<T> to_vector(const Tensor& t) {
  std::vector<T> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = static_cast<T>(t.get_f64(i));
  return v;
}

// Y[n, m] = plane(n, m) + bias[m] for every (n, m) output plane of `out_size`
// elements, planes spread over threads. `plane(x, w, n, m, acc)` adds its
// sums into the zeroed double plane `acc`; `work` sizes the threading.
template <typename T, typename PlaneFn>
void run_planes(int64_t N, int64_t M, int64_t out_size, double work, const Tensor& xt, const Tensor& wt,
                const Tensor* bt, Tensor& yt, PlaneFn plane) {
  std::vector<T> x = to_vector<T>(xt);
  std::vector<T> w = to_vector<T>(wt);
  std::vector<double> bias(static_cast<size_t>(M), 0.0);
  if (bt)
    for (int64_t m = 0; m < M; ++m) bias[static_cast<size_t>(m)] = bt->get_f64(m);
  yt.mutable_bytes();  // make the output's storage unique before threads write to it
  parallel_for(N * M, work, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(out_size));
    for (int64_t p = begin; p < end; ++p) {
      const int64_t n = p / M, m = p % M;
      std::fill(acc.begin(), acc.end(), 0.0);
      plane(x.data(), w.data(), n, m, acc.data());
      for (int64_t i = 0; i < out_size; ++i)
        yt.set_f64(p * out_size + i, acc[static_cast<size_t>(i)] + bias[static_cast<size_t>(m)]);
    }
  });
}

}  // namespace kiln
