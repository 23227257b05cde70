// The row-parallel product and operand readers shared by the matmul family.
#include <algorithm>
#include <system_error>
#include <thread>

#include "ops/matmul/matmul_internal.h"

namespace kiln::matmul_detail {

namespace {
// Below this many multiply-adds per thread, starting a thread costs more than it saves.
constexpr int64_t kMinWorkPerThread = int64_t{1} << 16;
// Elements of B's column panel kept hot in cache (256 KiB of doubles).
constexpr int64_t kPanelElements = int64_t{1} << 15;
}  // namespace

void parallel_for(int64_t n, int64_t cost, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int64_t hw = std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()));
  int64_t total = cost > 0 && n > INT64_MAX / cost ? INT64_MAX : n * std::max<int64_t>(cost, 1);
  int64_t threads = std::min({hw, n, std::max<int64_t>(1, total / kMinWorkPerThread)});
  if (threads <= 1) {
    fn(0, n);
    return;
  }
  std::vector<std::thread> pool;
  int64_t chunk = (n + threads - 1) / threads;
  for (int64_t begin = chunk; begin < n; begin += chunk) {
    int64_t end = std::min(n, begin + chunk);
    try {
      pool.emplace_back(fn, begin, end);
    } catch (const std::system_error&) {
      fn(begin, end);  // no thread available: do this chunk here (same result)
    }
  }
  fn(0, std::min(n, chunk));
  for (std::thread& t : pool) t.join();
}

template <typename T>
void run_row_product(const RowProduct<T>& job) {
  const int64_t k = job.k, n = job.n;
  // Columns go in blocks so that the k x block panel of B stays in cache while
  // every row of the chunk passes over it. Each output element is still one
  // sum over k in order, so blocking does not change results.
  const int64_t block = std::clamp<int64_t>(kPanelElements / std::max<int64_t>(k, 1), 64, std::max<int64_t>(n, 1));
  parallel_for(job.rows, std::max<int64_t>(1, k * n), [&](int64_t begin, int64_t end) {
    std::vector<T> acc(static_cast<size_t>(std::min(block, n)));
    for (int64_t j0 = 0; j0 < n; j0 += block) {
      const int64_t w = std::min(block, n - j0);
      for (int64_t r = begin; r < end; ++r) {
        std::fill(acc.begin(), acc.end(), T{0});
        const T* a = job.a_row(r);
        const T* b = job.b_mat(r) + j0;
        T* out = acc.data();
        for (int64_t kk = 0; kk < k; ++kk) {
          const T av = a[kk];
          const T* brow = b + kk * n;
          for (int64_t j = 0; j < w; ++j) out[j] += av * brow[j];
        }
        job.store(r, j0, w, out);
      }
    }
  });
}

template void run_row_product<double>(const RowProduct<double>& job);
template void run_row_product<uint64_t>(const RowProduct<uint64_t>& job);

std::vector<double> read_f64(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::kFloat32 && t.aligned()) {
    const float* p = t.data<float>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
  } else {
    for (int64_t i = 0; i < t.numel(); ++i) out[static_cast<size_t>(i)] = t.get_f64(i);
  }
  return out;
}

std::vector<uint64_t> read_u64(const Tensor& t) {
  std::vector<uint64_t> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) out[static_cast<size_t>(i)] = static_cast<uint64_t>(t.get_i64(i));
  return out;
}

bool dtype_in(DType t, std::initializer_list<DType> allowed) {
  return std::find(allowed.begin(), allowed.end(), t) != allowed.end();
}

std::string dtype_list(std::initializer_list<DType> allowed) {
  std::string s;
  for (DType t : allowed) s += (s.empty() ? "" : ", ") + std::string(dtype_name(t));
  return s;
}

}  // namespace kiln::matmul_detail
