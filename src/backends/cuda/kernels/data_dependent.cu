// NonZero and NonMaxSuppression: kernels whose output size depends on the
// data. The builder plans their output (an engine output) at an upper bound;
// each kernel writes the actual dims into the slot LaunchArgs::output_dims
// gives it, all on the stream, so an inference stays capturable into a CUDA
// graph. The context reads the dims back after the run (tensor_dims).
//  - NonZero, in three launches: count the nonzeros of each 1024-element tile;
//    one block turns the counts into tile offsets and the total n (the
//    output is [rank, n], so n is every row's length); each tile writes its
//    positions' coordinates in row-major order (warp ballots give each
//    thread its place within the tile).
//  - NonMaxSuppression: one block per (batch, class) bitonic-sorts the
//    candidates by score (descending, lower box first on ties, as the CPU
//    reference's stable sort) in shared memory, then keeps boxes greedily,
//    the block testing each candidate against every kept box at once. IoU is
//    computed in double from the same values as the CPU reference, so the
//    same boxes are kept. One block then gathers each (batch, class)'s kept
//    boxes into the [n, 3] output in (batch, class, score) order.
#include <cmath>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/movement_common.cuh"

namespace kiln::cumove {
namespace {

constexpr int kScanThreads = 1024;

// Exclusive prefix sum of `v` over a block of kScanThreads threads, and the
// block's total. `warp_sums` holds 32 values in shared memory.
__device__ int64_t block_exclusive_scan(int64_t v, int64_t* warp_sums, int64_t* total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int64_t inclusive = v;
  for (int d = 1; d < 32; d <<= 1) {
    int64_t up = __shfl_up_sync(0xffffffffu, inclusive, d);
    if (lane >= d) inclusive += up;
  }
  if (lane == 31) warp_sums[warp] = inclusive;
  __syncthreads();
  if (warp == 0) {
    int64_t s = lane < kScanThreads / 32 ? warp_sums[lane] : 0;
    for (int d = 1; d < 32; d <<= 1) {
      int64_t up = __shfl_up_sync(0xffffffffu, s, d);
      if (lane >= d) s += up;
    }
    warp_sums[lane] = s;  // inclusive over warps
  }
  __syncthreads();
  int64_t before = warp ? warp_sums[warp - 1] : 0;
  *total = warp_sums[kScanThreads / 32 - 1];
  __syncthreads();  // warp_sums is reused by the next call
  return before + inclusive - v;
}

// ---- NonZero ----

constexpr int kTileThreads = 256, kTileRounds = 4, kTile = kTileThreads * kTileRounds;

template <typename T>
__device__ __forceinline__ bool nonzero(T v) {
  return v != T(0);  // integers and bool; floats below (-0 is zero, NaN is not)
}
template <>
__device__ __forceinline__ bool nonzero<float>(float v) {
  return v != 0.f;
}
template <>
__device__ __forceinline__ bool nonzero<__half>(__half v) {
  return __half2float(v) != 0.f;
}
template <>
__device__ __forceinline__ bool nonzero<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v) != 0.f;
}

// Place of this thread's flag among the block's set flags (thread order),
// and their count. `warp_counts` holds kTileThreads / 32 ints in shared memory.
__device__ int tile_prefix_count(bool flag, int* warp_counts, int* total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  unsigned ballot = __ballot_sync(0xffffffffu, flag);
  if (lane == 0) warp_counts[warp] = __popc(ballot);
  __syncthreads();
  int before = __popc(ballot & ((1u << lane) - 1u)), sum = 0;
  for (int w = 0; w < kTileThreads / 32; ++w) {
    if (w == warp) before += sum;
    sum += warp_counts[w];
  }
  *total = sum;
  __syncthreads();
  return before;
}

template <typename T>
__global__ void __launch_bounds__(kTileThreads) nonzero_count_kernel(const T* __restrict__ in, int64_t n,
                                                                     int64_t* __restrict__ tile_counts) {
  __shared__ int warp_counts[kTileThreads / 32];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * kTile;
  int total = 0, count = 0;
  for (int r = 0; r < kTileRounds; ++r) {
    int64_t i = base + r * kTileThreads + threadIdx.x;
    tile_prefix_count(i < n && nonzero(in[i]), warp_counts, &count);
    total += count;
  }
  if (threadIdx.x == 0) tile_counts[blockIdx.x] = total;
}

// One block: tile counts -> exclusive tile offsets; dims = [rank, total].
__global__ void __launch_bounds__(kScanThreads) nonzero_scan_kernel(int64_t* __restrict__ tile_offsets, int64_t tiles,
                                                                    int64_t rank, int64_t* __restrict__ dims) {
  __shared__ int64_t warp_sums[32];
  int64_t carry = 0;
  for (int64_t start = 0; start < tiles; start += kScanThreads) {
    int64_t i = start + threadIdx.x;
    int64_t total;
    int64_t before = block_exclusive_scan(i < tiles ? tile_offsets[i] : 0, warp_sums, &total);
    if (i < tiles) tile_offsets[i] = carry + before;
    carry += total;
  }
  if (threadIdx.x == 0) {
    dims[0] = rank;
    dims[1] = carry;
  }
}

struct NonZeroGeom {
  int rank = 0;
  int64_t dims[cuda::kMaxRank] = {};
};

template <typename T>
__global__ void __launch_bounds__(kTileThreads) nonzero_write_kernel(const T* __restrict__ in, int64_t n,
                                                                     const int64_t* __restrict__ tile_offsets,
                                                                     const int64_t* __restrict__ dims, NonZeroGeom g,
                                                                     int64_t* __restrict__ out) {
  __shared__ int warp_counts[kTileThreads / 32];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * kTile;
  const int64_t row = dims[1];  // the output is [rank, row]
  int64_t pos = tile_offsets[blockIdx.x];
  for (int r = 0; r < kTileRounds; ++r) {
    int64_t i = base + r * kTileThreads + threadIdx.x;
    bool flag = i < n && nonzero(in[i]);
    int count;
    int before = tile_prefix_count(flag, warp_counts, &count);
    if (flag) {
      int64_t rest = i;
      for (int d = g.rank - 1; d >= 0; --d) {
        int64_t q = rest / g.dims[d];
        out[d * row + pos + before] = rest - q * g.dims[d];
        rest = q;
      }
    }
    pos += count;
  }
}

struct NonZeroPlan {
  DType dtype = DType::kFloat32;
  int64_t n = 0, tiles = 0;
  NonZeroGeom g;
};

Expected<NonZeroPlan> plan_nonzero(const LayerView& v) {
  if (v.inputs.size() != 1 || !v.has_input(0) || v.outputs.size() != 1) return Unsupported("expects one input and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  switch (x.dtype) {
    case DType::kBool: case DType::kInt8: case DType::kUInt8: case DType::kInt32: case DType::kInt64:
    case DType::kFloat16: case DType::kBFloat16: case DType::kFloat32:
      break;
    default:
      return Unsupported("inputs of type ", dtype_name(x.dtype), " are not supported");
  }
  if (x.dims.size() > static_cast<size_t>(cuda::kMaxRank))
    return Unsupported("inputs of rank ", x.dims.size(), " exceed ", cuda::kMaxRank);
  NonZeroPlan p;
  p.dtype = x.dtype;
  p.n = numel_of(x.dims);
  p.tiles = (p.n + kTile - 1) / kTile;
  if (!y.data_dependent || y.dtype != DType::kInt64 || y.dims != std::vector<int64_t>{static_cast<int64_t>(x.dims.size()), p.n})
    return Unsupported("the output must be int64 [rank, numel] planned at its bound, got ", dims_to_string(y.dims));
  if (p.tiles > INT32_MAX) return Unsupported("inputs of ", p.n, " elements are too large");
  p.g.rank = static_cast<int>(x.dims.size());
  for (size_t d = 0; d < x.dims.size(); ++d) p.g.dims[d] = x.dims[d];
  return p;
}

class NonZeroKernel : public CudaKernel {
 public:
  explicit NonZeroKernel(NonZeroPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    switch (p_.dtype) {
      case DType::kBool: case DType::kInt8: case DType::kUInt8: return typed<uint8_t>(a);
      case DType::kInt32: return typed<int32_t>(a);
      case DType::kInt64: return typed<int64_t>(a);
      case DType::kFloat16: return typed<__half>(a);
      case DType::kBFloat16: return typed<__nv_bfloat16>(a);
      default: return typed<float>(a);
    }
  }

 private:
  template <typename T>
  Status typed(const LaunchArgs& a) {
    const T* in = static_cast<const T*>(a.inputs[0]);
    auto* offsets = static_cast<int64_t*>(a.workspace);
    const unsigned tiles = static_cast<unsigned>(p_.tiles);
    if (tiles) nonzero_count_kernel<T><<<tiles, kTileThreads, 0, a.stream>>>(in, p_.n, offsets);
    nonzero_scan_kernel<<<1, kScanThreads, 0, a.stream>>>(offsets, p_.tiles, p_.g.rank, a.output_dims[0]);
    if (tiles)
      nonzero_write_kernel<T><<<tiles, kTileThreads, 0, a.stream>>>(in, p_.n, offsets, a.output_dims[0], p_.g,
                                                                     static_cast<int64_t*>(a.outputs[0]));
    KILN_CUDA_CHECK_LAUNCH("cumove nonzero");
    return Status::Ok();
  }
  NonZeroPlan p_;
};

// ---- NonMaxSuppression ----

constexpr int kNmsThreads = 512;
constexpr int64_t kNmsMaxBoxes = 16384;  // keys and indices of one class fill 128 KiB of shared memory

struct NmsGeom {
  int64_t batches = 0, classes = 0, boxes = 0;
  int64_t cap = 0;   // most boxes one (batch, class) can keep: the plan's bound
  int padded = 1;    // boxes rounded up to a power of two, for the bitonic sort
  bool center = false, has_max = false, has_iou = false, has_score = false;
};

struct NmsBox {
  double y1, x1, y2, x2;
};

__device__ NmsBox nms_box(const float* boxes, int64_t offset, bool center) {
  double a = boxes[offset], b = boxes[offset + 1], c = boxes[offset + 2], d = boxes[offset + 3];
  if (center) return {b - d / 2, a - c / 2, b + d / 2, a + c / 2};
  return {fmin(a, c), fmin(b, d), fmax(a, c), fmax(b, d)};
}

// The CPU reference's rule: more than `threshold` IoU; no overlap or an empty box never suppresses.
__device__ bool nms_suppresses(const NmsBox& a, const NmsBox& b, double threshold) {
  double ix = fmin(a.x2, b.x2) - fmax(a.x1, b.x1);
  double iy = fmin(a.y2, b.y2) - fmax(a.y1, b.y1);
  if (ix <= 0 || iy <= 0) return false;
  double inter = ix * iy;
  double area_a = (a.x2 - a.x1) * (a.y2 - a.y1);
  double area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  double uni = area_a + area_b - inter;
  if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > threshold;
}

// Entry p sorts before entry q: higher score, then lower index. Entries that
// are not candidates carry index >= padded, so they sort after every candidate.
__device__ __forceinline__ bool sorts_before(const float* key, const int* idx, int p, int q) {
  return key[p] > key[q] || (key[p] == key[q] && idx[p] < idx[q]);
}

__global__ void __launch_bounds__(kNmsThreads) nms_select_kernel(const float* __restrict__ boxes,
                                                                 const float* __restrict__ scores,
                                                                 const int64_t* max_per_class, const float* iou,
                                                                 const float* score_threshold, NmsGeom g,
                                                                 int* __restrict__ kept_boxes,
                                                                 int64_t* __restrict__ kept_counts) {
  extern __shared__ float smem[];
  float* key = smem;
  int* idx = reinterpret_cast<int*>(smem + g.padded);
  __shared__ int kept;
  const int64_t b = blockIdx.y, bc = b * g.classes + blockIdx.x;
  const float* s = scores + bc * g.boxes;
  const float threshold = g.has_score ? *score_threshold : 0.f;
  int candidates = 0;
  for (int base = 0; base < g.padded; base += kNmsThreads) {
    int i = base + threadIdx.x;
    bool cand = false;
    if (i < g.padded) {
      float v = i < g.boxes ? s[i] : -INFINITY;
      cand = i < g.boxes && (!g.has_score || v > threshold);
      key[i] = cand && !isnan(v) ? v : -INFINITY;  // NaN sorts last, as in the CPU reference
      idx[i] = cand ? i : g.padded + i;
    }
    candidates += __syncthreads_count(cand);
  }
  for (int k = 2; k <= g.padded; k <<= 1)
    for (int j = k >> 1; j > 0; j >>= 1) {
      for (int i = threadIdx.x; i < g.padded; i += kNmsThreads) {
        int partner = i ^ j;
        if (partner <= i) continue;
        bool ascending = (i & k) == 0;  // this run keeps sort order; the other runs reverse it
        if (ascending == sorts_before(key, idx, partner, i)) {
          float tk = key[i];
          key[i] = key[partner];
          key[partner] = tk;
          int ti = idx[i];
          idx[i] = idx[partner];
          idx[partner] = ti;
        }
      }
      __syncthreads();
    }
  // Greedy selection; the scores are no longer needed, so `key` holds the kept boxes.
  int* kept_list = reinterpret_cast<int*>(key);
  int64_t limit = g.has_max ? *max_per_class : 0;
  limit = limit < 0 ? 0 : limit > g.cap ? g.cap : limit;
  const double iou_threshold = g.has_iou ? *iou : 0.0;
  const float* box_base = boxes + b * g.boxes * 4;
  if (threadIdx.x == 0) kept = 0;
  __syncthreads();
  for (int k = 0; k < candidates && kept < limit; ++k) {
    int cand = idx[k];
    NmsBox box = nms_box(box_base, int64_t{cand} * 4, g.center);
    bool suppressed = false;
    for (int j = threadIdx.x; j < kept && !suppressed; j += kNmsThreads)
      suppressed = nms_suppresses(nms_box(box_base, int64_t{kept_list[j]} * 4, g.center), box, iou_threshold);
    if (!__syncthreads_or(suppressed) && threadIdx.x == 0) kept_list[kept++] = cand;
    __syncthreads();
  }
  for (int j = threadIdx.x; j < kept; j += kNmsThreads) kept_boxes[bc * g.cap + j] = kept_list[j];
  if (threadIdx.x == 0) kept_counts[bc] = kept;
}

// One block: every (batch, class)'s kept boxes, in order, as rows of [n, 3].
__global__ void __launch_bounds__(kScanThreads) nms_gather_kernel(const int* __restrict__ kept_boxes,
                                                                  const int64_t* __restrict__ kept_counts, NmsGeom g,
                                                                  int64_t* __restrict__ out, int64_t* __restrict__ dims) {
  __shared__ int64_t warp_sums[32];
  const int64_t lists = g.batches * g.classes;
  int64_t carry = 0;
  for (int64_t start = 0; start < lists; start += kScanThreads) {
    int64_t bc = start + threadIdx.x;
    int64_t count = bc < lists ? kept_counts[bc] : 0, total;
    int64_t row = carry + block_exclusive_scan(count, warp_sums, &total);
    for (int64_t j = 0; j < count; ++j, ++row) {
      out[row * 3] = bc / g.classes;
      out[row * 3 + 1] = bc % g.classes;
      out[row * 3 + 2] = kept_boxes[bc * g.cap + j];
    }
    carry += total;
  }
  if (threadIdx.x == 0) {
    dims[0] = carry;
    dims[1] = 3;
  }
}

struct NmsPlan {
  NmsGeom g;
  uint64_t counts_bytes = 0;  // workspace: kept counts, then kept box indices
  uint64_t workspace = 0;
  size_t smem = 0;
};

// An optional input that is present and not empty.
bool given(const LayerView& v, size_t i) { return v.has_input(i) && v.in(i).bytes > 0; }

Expected<NmsPlan> plan_nms(const LayerView& v) {
  if (v.inputs.size() < 2 || !v.has_input(0) || !v.has_input(1) || v.outputs.size() != 1)
    return Unsupported("expects boxes, scores and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& boxes = v.in(0);
  const PlanTensor& scores = v.in(1);
  const PlanTensor& y = v.out(0);
  // The spec's only type; fp16 engines keep NMS in float32 (precision_fp16.cpp).
  if (boxes.dtype != DType::kFloat32 || scores.dtype != DType::kFloat32)
    return Unsupported("boxes and scores must be float32");
  NmsPlan p;
  if (boxes.dims.size() != 3 || scores.dims.size() != 3 || boxes.dims[2] != 4 || boxes.dims[0] != scores.dims[0] ||
      boxes.dims[1] != scores.dims[2])
    return Unsupported("boxes must be [batch, boxes, 4] and scores [batch, classes, boxes]");
  NmsGeom& g = p.g;
  g.batches = boxes.dims[0];
  g.boxes = boxes.dims[1];
  g.classes = scores.dims[1];
  if (g.boxes > kNmsMaxBoxes) return Unsupported(g.boxes, " boxes exceed the ", kNmsMaxBoxes, " this kernel sorts at once");
  if (g.batches > 65535 || g.classes > INT32_MAX) return Unsupported("more than 65535 batches or 2^31 classes");
  g.has_max = given(v, 2);
  g.has_iou = given(v, 3);
  g.has_score = given(v, 4);
  if (g.has_max && v.in(2).dtype != DType::kInt64) return Unsupported("max_output_boxes_per_class must be int64");
  for (size_t i = 3; i < 5; ++i)
    if (given(v, i) && v.in(i).dtype != DType::kFloat32) return Unsupported("thresholds must be float32");
  Node node = layer_node(v.layer);
  KILN_ASSIGN_OR_RETURN(int64_t center, node.attr_int("center_point_box", 0));
  g.center = center == 1;
  const int64_t lists = g.batches * g.classes;
  if (!y.data_dependent || y.dtype != DType::kInt64 || y.dims.size() != 2 || y.dims[1] != 3 ||
      (lists && y.dims[0] % lists))
    return Unsupported("the output must be int64 [selected, 3] planned at its bound, got ", dims_to_string(y.dims));
  g.cap = lists ? y.dims[0] / lists : 0;
  while (g.padded < g.boxes) g.padded <<= 1;
  p.smem = static_cast<size_t>(g.padded) * (sizeof(float) + sizeof(int));
  p.counts_bytes = (static_cast<uint64_t>(lists) * 8 + 255) / 256 * 256;
  p.workspace = p.counts_bytes + static_cast<uint64_t>(lists * g.cap) * sizeof(int);
  return p;
}

class NmsKernel : public CudaKernel {
 public:
  explicit NmsKernel(NmsPlan p) : p_(p) {}
  Status init() {
    KILN_CUDA_CHECK(cudaFuncSetAttribute(nms_select_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(p_.smem)));
    return Status::Ok();
  }
  Status enqueue(const LaunchArgs& a) override {
    const NmsGeom& g = p_.g;
    auto* counts = static_cast<int64_t*>(a.workspace);
    auto* kept = reinterpret_cast<int*>(static_cast<uint8_t*>(a.workspace) + p_.counts_bytes);
    auto opt = [&](size_t i) { return i < a.inputs.size() ? a.inputs[i] : nullptr; };
    if (g.batches * g.classes) {
      dim3 grid(static_cast<unsigned>(g.classes), static_cast<unsigned>(g.batches));
      nms_select_kernel<<<grid, kNmsThreads, p_.smem, a.stream>>>(
          static_cast<const float*>(a.inputs[0]), static_cast<const float*>(a.inputs[1]),
          static_cast<const int64_t*>(opt(2)), static_cast<const float*>(opt(3)), static_cast<const float*>(opt(4)), g,
          kept, counts);
    }
    nms_gather_kernel<<<1, kScanThreads, 0, a.stream>>>(kept, counts, g, static_cast<int64_t*>(a.outputs[0]),
                                                        a.output_dims[0]);
    KILN_CUDA_CHECK_LAUNCH("cumove nms");
    return Status::Ok();
  }

 private:
  NmsPlan p_;
};

}  // namespace

void register_data_dependent(CudaKernelRegistry& r) {
  CudaKernelDef nz;
  nz.id = "kiln.nonzero";
  nz.ops = {"NonZero"};
  nz.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_nonzero(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  nz.workspace = [](const LayerView& v) -> uint64_t {
    auto p = plan_nonzero(v);
    return p.ok() ? static_cast<uint64_t>(p->tiles) * 8 : 0;
  };
  nz.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(NonZeroPlan p, plan_nonzero(v));
    return std::unique_ptr<CudaKernel>(new NonZeroKernel(p));
  };
  r.add(std::move(nz));

  CudaKernelDef nms;
  nms.id = "kiln.nms";
  nms.ops = {"NonMaxSuppression"};
  nms.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_nms(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  nms.workspace = [](const LayerView& v) -> uint64_t {
    auto p = plan_nms(v);
    return p.ok() ? p->workspace : 0;
  };
  nms.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(NmsPlan p, plan_nms(v));
    auto k = std::make_unique<NmsKernel>(p);
    KILN_RETURN_IF_ERROR(k->init());
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  r.add(std::move(nms));
}

}  // namespace kiln::cumove
