// What the elementwise kernel definitions (*.cpp, host only) hand to the
// launchers (*.cu): op codes, plain parameter structs prepared at kernel
// creation, and one launcher per kernel family. Launchers run on the given
// stream, launch nothing for empty tensors, and report launch errors.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "base/status.h"
#include "ir/dtype.h"

namespace kiln::cuda::ew {

constexpr int kMaxRank = 8;
constexpr int kMaxInputs = 8;  // variadic Max/Min/Sum/Mean inputs in one kernel

// Output element index -> element offset of each of K operands. The output
// is walked in its physical order; `dims` are its (coalesced) physical dims
// and strides[k][d] the element stride of operand k along dim d (0 where it
// broadcasts). Rank 0 means a single element.
template <int K>
struct IndexMap {
  int rank = 0;
  bool small = true;  // numel fits 32 bits: cheaper index arithmetic
  int64_t numel = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[K][kMaxRank] = {};
};

// Per operand, after coalescing: 1 = walks with the output (contiguous,
// same order), 0 = a single element, -1 = anything else.
struct MapShape {
  int kind[kMaxInputs] = {};
};

// ---- unary -------------------------------------------------------------------
enum class UnaryOp : int32_t {
  // Integer-capable (also float): Abs, Neg, Sign, Relu, Clip; Not is bool only.
  kAbs, kNeg, kSign, kRelu, kClip, kNot,
  // Float only.
  kSqrt, kExp, kLog, kReciprocal, kFloor, kCeil, kRound,
  kSin, kCos, kTan, kAsin, kAcos, kAtan, kSinh, kCosh, kAsinh, kAcosh, kAtanh,
  kTanh, kSigmoid, kErf, kSoftplus, kSoftsign, kHardSwish, kMish,
  kLeakyRelu, kHardSigmoid, kElu, kSelu, kCelu, kThresholdedRelu, kGelu, kGeluTanh,
};

struct UnaryParams {
  UnaryOp op = UnaryOp::kAbs;
  DType dtype = DType::kFloat32;
  int64_t n = 0;
  float alpha = 0, beta = 0, gamma = 0;  // op attributes (LeakyRelu alpha, Selu gamma, ...)
};

// x and y have dtype p.dtype and n elements (y may be x). Clip reads its
// bounds from `lo` / `hi` (device scalars of x's type, nullptr = unbounded).
Status launch_unary(const UnaryParams& p, const void* x, void* y, const void* lo, const void* hi, cudaStream_t s);

// IsNaN (is_inf = false) or IsInf with its detect flags; y is bool.
struct IsSpecialParams {
  DType dtype = DType::kFloat32;
  int64_t n = 0;
  bool is_inf = false, negative = true, positive = true;
};
Status launch_is_special(const IsSpecialParams& p, const void* x, void* y, cudaStream_t s);

// ---- binary --------------------------------------------------------------------
enum class BinaryOp : int32_t {
  kAdd, kSub, kMul, kDiv, kPow, kMod, kFmod, kMax, kMin, kPRelu,  // output: input type
  kEqual, kGreater, kLess, kGreaterOrEqual, kLessOrEqual,          // output: bool
  kAnd, kOr, kXor,                                                  // bool -> bool
};

inline bool binary_is_comparison(BinaryOp op) { return op >= BinaryOp::kEqual && op <= BinaryOp::kLessOrEqual; }
inline bool binary_is_logic(BinaryOp op) { return op >= BinaryOp::kAnd; }

struct BinaryParams {
  BinaryOp op = BinaryOp::kAdd;
  DType dtype = DType::kFloat32;  // of both inputs
  IndexMap<2> map;
  MapShape shape;
};
Status launch_binary(const BinaryParams& p, const void* a, const void* b, void* y, cudaStream_t s);

// Pow with any base/exponent type pair (the output has the base's type).
struct PowParams {
  DType base = DType::kFloat32, exponent = DType::kFloat32;
  IndexMap<2> map;
};
Status launch_pow_mixed(const PowParams& p, const void* a, const void* b, void* y, cudaStream_t s);

// ---- variadic Max / Min / Sum / Mean over 1..kMaxInputs inputs --------------------
enum class VariadicOp : int32_t { kMax, kMin, kSum, kMean };
struct VariadicParams {
  VariadicOp op = VariadicOp::kSum;
  DType dtype = DType::kFloat32;
  int count = 0;
  IndexMap<kMaxInputs> map;
};
Status launch_variadic(const VariadicParams& p, const void* const* inputs, void* y, cudaStream_t s);

// ---- Where: byte copies selected by a bool condition ----------------------------
struct WhereParams {
  int elem_size = 4;
  IndexMap<3> map;  // operands: cond, x, y
};
Status launch_where(const WhereParams& p, const void* cond, const void* x, const void* y, void* out, cudaStream_t s);

// ---- Cast ------------------------------------------------------------------------
struct CastParams {
  DType from = DType::kFloat32, to = DType::kFloat32;
  int64_t n = 0;
  bool saturate = true;  // fp8 targets
};
Status launch_cast(const CastParams& p, const void* x, void* y, cudaStream_t s);

// ---- QuantizeLinear / DequantizeLinear ----------------------------------------------
// Which scale element applies to flat element i (in x's physical order):
// per tensor: 0; per axis: (i / inner) % dim; blocked: as ops/quant/quant_util.h.
struct ScaleMap {
  int kind = 0;  // 0 per tensor, 1 per axis, 2 blocked
  int64_t dim = 1, inner = 1, scale_dim = 1, block = 1;
};

struct QuantParams {
  bool quantize = true;
  DType x = DType::kFloat32, scale = DType::kFloat32, zero_point = DType::kUndefined, y = DType::kUInt8;
  DType precision = DType::kFloat32;  // Quantize: the type x / scale is computed in
  bool saturate = true;
  int64_t n = 0;
  ScaleMap smap;
};
Status launch_quant(const QuantParams& p, const void* x, const void* scale, const void* zero_point, void* y,
                    cudaStream_t s);

// ---- Reformat: batched 2-D transpose (NCHW <-> NHWC) ---------------------------------
// y[b][c][r] = x[b][r][c] for x of shape [batch, rows, cols].
struct TransposeParams {
  int elem_size = 4;
  int64_t batch = 0, rows = 0, cols = 0;
};
Status launch_transpose(const TransposeParams& p, const void* x, void* y, cudaStream_t s);

}  // namespace kiln::cuda::ew
