// Host-side pieces shared by the elementwise kernel definitions: dtype sets,
// layer attribute reads, layout checks and the broadcast index map builder
// (operands of any layout, walked in the output's physical order, with
// adjacent dims coalesced so most broadcasts become rank 1 or 2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/kernel.h"
#include "backends/cuda/kernels/elementwise_launch.h"

namespace kiln::cuda::ew {

// ---- dtype sets -------------------------------------------------------------------
constexpr uint32_t bit(DType t) { return uint32_t{1} << static_cast<int>(t); }
inline constexpr uint32_t kFloats = bit(DType::kFloat32) | bit(DType::kFloat16) | bit(DType::kBFloat16);
inline constexpr uint32_t kFp8 = bit(DType::kFloat8E4M3FN) | bit(DType::kFloat8E5M2);
inline constexpr uint32_t kInts = bit(DType::kInt8) | bit(DType::kUInt8) | bit(DType::kInt32) | bit(DType::kInt64);
inline constexpr uint32_t kNumeric = kFloats | kInts;
inline constexpr uint32_t kBool = bit(DType::kBool);
inline constexpr uint32_t kAllGpu = kNumeric | kFp8 | kBool;  // every type a GPU tensor can have

inline bool in_set(DType t, uint32_t set) { return t != DType::kUndefined && (bit(t) & set) != 0; }
std::string set_names(uint32_t set);  // "float32, float16, ..."

// True if `t` is in `set`; otherwise *why names the tensor, its type and the set.
bool check_dtype(const PlanTensor& t, const char* role, uint32_t set, std::string* why);

// ---- attributes -----------------------------------------------------------------------
float attr_float(const PlanLayer& l, const char* name, float dflt);
int64_t attr_int(const PlanLayer& l, const char* name, int64_t dflt);
std::string attr_string(const PlanLayer& l, const char* name, const char* dflt);

// ---- layouts --------------------------------------------------------------------------
// Every tensor of the layer is linear, or NHWC with rank 4; otherwise *why says which is not.
bool check_layouts(const LayerView& v, std::string* why);
// Element strides of a tensor in its logical (ONNX) dim order, for its layout.
std::vector<int64_t> physical_strides(const std::vector<int64_t>& dims, Layout layout);
// Logical dim order of a tensor's memory, outermost first ({0,2,3,1} for 4-D NHWC).
std::vector<int> physical_order(size_t rank, Layout layout);

// ---- broadcast maps -------------------------------------------------------------------
struct MapSpec {
  int64_t numel = 0;
  std::vector<int64_t> dims;                  // coalesced physical dims of the output
  std::vector<std::vector<int64_t>> strides;  // per operand, per dim
  MapShape shape;                             // per operand: 1 contiguous, 0 single element, -1 other
};

// The map from output `out` to each operand in `ins` (numpy broadcasting,
// any layouts). Error text if an operand does not broadcast to the output.
Expected<MapSpec> build_map(const PlanTensor& out, const std::vector<const PlanTensor*>& ins);

template <int K>
IndexMap<K> to_index_map(const MapSpec& s) {
  IndexMap<K> m;
  m.rank = static_cast<int>(s.dims.size());
  m.numel = s.numel;
  m.small = s.numel <= int64_t{0xffffffff};
  for (size_t d = 0; d < s.dims.size(); ++d) {
    m.dims[d] = s.dims[d];
    for (size_t k = 0; k < s.strides.size() && k < static_cast<size_t>(K); ++k) m.strides[k][d] = s.strides[k][d];
  }
  return m;
}

// Checks shared by the broadcasting ops: one output, inputs [0, n_inputs)
// present, ranks within kMaxRank, layouts valid, and the inputs broadcast to
// the output.
bool check_broadcast_layer(const LayerView& v, size_t n_inputs, std::string* why);

// Family registration pieces (elementwise_*.cpp).
void register_elementwise_unary(CudaKernelRegistry& r);
void register_elementwise_binary(CudaKernelRegistry& r);
void register_elementwise_cast(CudaKernelRegistry& r);

}  // namespace kiln::cuda::ew
