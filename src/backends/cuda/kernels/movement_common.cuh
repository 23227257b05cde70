// Shared by the cumove kernel family (data movement: Transpose, Concat/Split,
// Slice/Expand/Tile, Gather*, Scatter*, OneHot, Trilu, Compress, NonZero,
// NonMaxSuppression, Range and the fills). Holds the per-file registration
// hooks, the host helpers every `supports`/`create` uses, and the
// dtype-generic strided copy that most layout ops lower to. Elements move as
// raw bytes (1, 2, 4, 8 or, where strides and pointers allow, 16-byte
// vectors), so every dtype is exact.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/kernel.h"
#include "ir/graph.h"

namespace kiln::cumove {

void register_transpose(CudaKernelRegistry& r);      // transpose.cu
void register_concat_split(CudaKernelRegistry& r);   // movement_concat.cu
void register_slice_expand_tile(CudaKernelRegistry& r);  // movement_slice.cu
void register_fills(CudaKernelRegistry& r);          // movement_fill.cu: Range, ConstantOfShape, Shape, Size
void register_select(CudaKernelRegistry& r);         // movement_select.cu: OneHot, Trilu, Compress
void register_data_dependent(CudaKernelRegistry& r); // data_dependent.cu: NonZero, NonMaxSuppression
void register_gather(CudaKernelRegistry& r);         // gather.cu: Gather, GatherElements
void register_gather_nd(CudaKernelRegistry& r);      // gather_nd.cu
void register_scatter(CudaKernelRegistry& r);        // scatter.cu: ScatterND, ScatterElements

// Most dims a kernel's geometry holds after size-1 dims are dropped and
// contiguous runs merged (Tile doubles the rank before merging).
constexpr int kMaxMoveRank = 16;

// ---- host helpers ----

// A stand-in node carrying the layer's name, op and attributes, so the IR's
// typed attribute readers (and their messages) apply.
Node layer_node(const PlanLayer& layer);

// Sets *why and returns false: the shape of every `supports` refusal.
inline bool refuse(std::string* why, const std::string& reason) {
  if (why) *why = reason;
  return false;
}

// kUnsupported unless the given tensors are linear (row-major) and their
// elements are 1, 2, 4 or 8 bytes.
Status check_plain(const PlanTensor& t, const char* what);
// check_plain on every present input and output of the layer.
Status check_plain_layer(const LayerView& v);

// Values of a constant (weight) int32/int64 input; kUnsupported naming
// `what` when it comes at run time.
Expected<std::vector<int64_t>> const_ints(const LayerView& v, size_t i, const char* what);
// True when input i is present and stored in the engine's weights.
bool is_constant(const LayerView& v, size_t i);

int64_t numel_of(const std::vector<int64_t>& dims);
std::vector<int64_t> contiguous_strides_of(const std::vector<int64_t>& dims);
// Axis in [-rank, rank) normalised; kUnsupported otherwise (the builder has
// already checked, so this only guards hand-made plans).
Expected<int64_t> norm_axis(int64_t axis, int64_t rank, const char* what);
// Largest count an int32 kernel index may reach: half of INT32_MAX, so a
// grid-stride step added to an in-range index cannot overflow.
constexpr int64_t kMax32 = int64_t{1} << 30;

// Device memory a kernel owns from `create` to its destruction (index
// tables, constant outputs). Never allocated in enqueue.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  Status upload(const void* host, uint64_t bytes);
  const void* get() const { return p_; }

 private:
  void* p_ = nullptr;
};

// ---- strided copy ----

// out[out_base + sum(idx[d] * out_strides[d])] = in[in_base + sum(idx[d] *
// in_strides[d])] for every multi-index idx of `dims`; offsets in elements
// of `elem` bytes. Transpose, Slice, Expand and Tile read a strided input
// into a contiguous output; Concat writes a contiguous input into a strided
// slab of its output, Split the reverse.
struct StridedCopy {
  std::vector<int64_t> dims, in_strides, out_strides;
  int64_t in_base = 0, out_base = 0;
  size_t elem = 1;
};

// Drops size-1 dims and merges neighbours that are contiguous on both sides
// (fewer divisions per element, and the inner run grows for vectorising).
StridedCopy simplify(const StridedCopy& c);

template <typename I>
struct StridedGeom {
  int rank = 0;
  I dims[kMaxMoveRank] = {};
  I in_strides[kMaxMoveRank] = {};
  I out_strides[kMaxMoveRank] = {};
  I in_base = 0, out_base = 0;
};

// A copy prepared at `create`: a plain memcpy when both sides are one
// contiguous run, else the strided kernel in up to five element widths (16,
// 8, 4, 2, 1 bytes) that the strides allow; enqueue takes the widest one the
// pointers' alignment allows.
struct PreparedCopy {
  int64_t n = 0;  // elements; 0 = nothing to do
  bool memcpy = false;
  uint64_t bytes = 0, in_byte_offset = 0, out_byte_offset = 0;
  struct Variant {
    size_t unit = 0;  // bytes per moved element
    int64_t n = 0;
    bool use32 = false;
    StridedGeom<int32_t> g32;
    StridedGeom<int64_t> g64;
  };
  Variant variants[5];
  int num_variants = 0;
};

Expected<PreparedCopy> prepare_copy(const StridedCopy& c);
Status launch_copy(const PreparedCopy& p, const void* in, void* out, cudaStream_t s);

// ---- gather (Gather, and Compress with a constant condition) ----

// out[o, j, k] = data[o, idx[j], k] for o < outer, j < nidx, k < inner; an
// index outside [-axis_dim, axis_dim) writes zeros.
struct GatherGeom {
  int64_t outer = 0, axis_dim = 0, nidx = 0, inner = 0;
  size_t elem = 1;
  bool idx64 = true;  // int64 indices, else int32
};
Status launch_gather(const GatherGeom& g, const void* data, const void* idx, void* out, cudaStream_t s);

// ---- device helpers ----

// Raw element types by size; a 16-byte vector for the widest moves.
template <size_t N> struct Raw;
template <> struct Raw<1> { using T = uint8_t; };
template <> struct Raw<2> { using T = uint16_t; };
template <> struct Raw<4> { using T = uint32_t; };
template <> struct Raw<8> { using T = uint2; };
template <> struct Raw<16> { using T = uint4; };

// Grid-stride loop bounds in index type I.
template <typename I>
__device__ __forceinline__ I first_index() {
  return static_cast<I>(blockIdx.x) * static_cast<I>(blockDim.x) + static_cast<I>(threadIdx.x);
}
template <typename I>
__device__ __forceinline__ I grid_step() {
  return static_cast<I>(gridDim.x) * static_cast<I>(blockDim.x);
}

// An index read from device data: negatives count from the end once
// (as the CPU reference does); false when still outside [0, dim).
__device__ __forceinline__ bool wrap_device_index(int64_t& v, int64_t dim) {
  if (v < 0) v += dim;
  return v >= 0 && v < dim;
}

// The first k dims an index tuple of GatherND/ScatterND addresses: `dims`
// bound each entry, `strides` turn the tuple into a slot number.
template <typename I>
struct NdIndex {
  int k = 0;
  I dims[kMaxMoveRank] = {};
  I strides[kMaxMoveRank] = {};
};

// The slot of one index tuple; false when an entry is out of range.
template <typename Idx, typename I>
__device__ __forceinline__ bool nd_slot(const Idx* tuple, const NdIndex<I>& g, I& slot) {
  slot = 0;
  for (int m = 0; m < g.k; ++m) {
    int64_t v = static_cast<int64_t>(tuple[m]);
    if (!wrap_device_index(v, static_cast<int64_t>(g.dims[m]))) return false;
    slot += static_cast<I>(v) * g.strides[m];
  }
  return true;
}

}  // namespace kiln::cumove
