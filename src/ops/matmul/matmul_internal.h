// Shared pieces of the matmul family: registration of each op group, the
// row-parallel product used by MatMul, Gemm and MatMulInteger, and operand
// conversion helpers. Internal to src/ops/matmul/.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ops/op_schema.h"

namespace kiln {

void register_matmul_core_ops(OpRegistry& r);  // MatMul, Gemm, MatMulInteger
void register_einsum_op(OpRegistry& r);
void register_attention_op(OpRegistry& r);
void add_matmul_cases(OpRegistry& r);

namespace matmul_detail {

// Runs fn(begin, end) over [0, n) in contiguous chunks, one chunk per thread.
// Each index is handled by exactly one thread in a fixed order, so results do
// not depend on the thread count. `cost` is the work per index (multiply-adds):
// small jobs stay on the calling thread.
void parallel_for(int64_t n, int64_t cost, const std::function<void(int64_t, int64_t)>& fn);

// One row-wise product: row r of the result is a_row(r) (k values) times the
// k x n matrix b_mat(r). Results come out in column blocks: store(r, j0, count,
// values) gets columns [j0, j0 + count) of row r. T is double for floats and
// uint64_t for integers (wrapping two's-complement arithmetic, no UB).
template <typename T>
struct RowProduct {
  int64_t rows = 0, k = 0, n = 0;
  std::function<const T*(int64_t)> a_row;
  std::function<const T*(int64_t)> b_mat;
  std::function<void(int64_t, int64_t, int64_t, const T*)> store;
};

// Computes every row (i-k-j order, contiguous inner loop), rows split over threads.
template <typename T>
void run_row_product(const RowProduct<T>& job);

// Whole tensor read once into contiguous memory.
std::vector<double> read_f64(const Tensor& t);
std::vector<uint64_t> read_u64(const Tensor& t);  // integers as two's complement

// The dtype list of an error message: "float16, float32".
bool dtype_in(DType t, std::initializer_list<DType> allowed);
std::string dtype_list(std::initializer_list<DType> allowed);

}  // namespace matmul_detail
}  // namespace kiln
