// Transpose. After size-1 dims are dropped and runs contiguous on both sides
// merged, two shapes remain:
//  - the input's innermost dim stays innermost (BERT's [B,S,H,D] ->
//    [B,H,S,D]): the strided copy moves whole 16-byte vectors of that run,
//    coalesced on both sides;
//  - it moves elsewhere ([B,S,H,D] -> [B,H,D,S], NHWC <-> NCHW): a batched
//    2-D transpose through a 32x32 shared-memory tile, so reads follow the
//    input's inner dim and writes the output's.
// Tactic {0} is the strided copy, {1} the tiled kernel (offered only for the
// second shape; the heuristic order puts the tile first when both tiled dims
// are at least 8 long).
#include <string>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/movement_common.cuh"

namespace kiln::cumove {
namespace {

constexpr int kTile = 32;
constexpr int kTileRows = 8;  // a 32x8 block moves a 32x32 tile in 4 steps

// out dims [batch..., p..., q] where dim p is read contiguously (input
// stride 1) and dim q written contiguously (output stride 1).
template <typename I>
struct TileGeom {
  int brank = 0;
  I bdims[kMaxMoveRank] = {};
  I b_in[kMaxMoveRank] = {};
  I b_out[kMaxMoveRank] = {};
  I np = 0, nq = 0;
  I in_q = 0;   // input stride of dim q
  I out_p = 0;  // output stride of dim p
  I tiles_p = 0, tiles_q = 0, tiles = 0;
};

template <typename E, typename I>
__global__ void __launch_bounds__(kTile * kTileRows) tiled_transpose_kernel(const E* __restrict__ in,
                                                                             E* __restrict__ out, TileGeom<I> g) {
  __shared__ E tile[kTile][kTile + 1];  // +1: column reads hit distinct banks
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  for (I t = static_cast<I>(blockIdx.x); t < g.tiles; t += static_cast<I>(gridDim.x)) {
    I tq = t % g.tiles_q;
    I rest = t / g.tiles_q;
    I tp = rest % g.tiles_p;
    I b = rest / g.tiles_p;
    I src = 0, dst = 0;
#pragma unroll
    for (int d = kMaxMoveRank - 1; d >= 0; --d) {
      if (d < g.brank) {
        I q = b / g.bdims[d];
        I x = b - q * g.bdims[d];
        src += x * g.b_in[d];
        dst += x * g.b_out[d];
        b = q;
      }
    }
    const I p0 = tp * kTile, q0 = tq * kTile;
    // Read: threadIdx.x walks p, the input's contiguous dim.
    const I p = p0 + tx;
    for (int y = ty; y < kTile; y += kTileRows) {
      const I q = q0 + y;
      if (p < g.np && q < g.nq) tile[y][tx] = in[src + p + q * g.in_q];
    }
    __syncthreads();
    // Write: threadIdx.x walks q, the output's contiguous dim.
    const I q = q0 + tx;
    for (int y = ty; y < kTile; y += kTileRows) {
      const I pp = p0 + y;
      if (pp < g.np && q < g.nq) out[dst + pp * g.out_p + q] = tile[tx][y];
    }
    __syncthreads();  // the next tile reuses the shared buffer
  }
}

struct TransposePlan {
  PreparedCopy copy;
  bool tiled_possible = false;
  bool tile_first = false;  // the heuristic's preference
  size_t elem = 1;
  bool use32 = true;
  TileGeom<int32_t> t32;
  TileGeom<int64_t> t64;
};

template <typename I>
TileGeom<I> tile_geom(const StridedCopy& s, size_t p) {
  TileGeom<I> g;
  size_t q = s.dims.size() - 1;
  for (size_t d = 0; d < s.dims.size(); ++d) {
    if (d == p || d == q) continue;
    g.bdims[g.brank] = static_cast<I>(s.dims[d]);
    g.b_in[g.brank] = static_cast<I>(s.in_strides[d]);
    g.b_out[g.brank] = static_cast<I>(s.out_strides[d]);
    ++g.brank;
  }
  g.np = static_cast<I>(s.dims[p]);
  g.nq = static_cast<I>(s.dims[q]);
  g.in_q = static_cast<I>(s.in_strides[q]);
  g.out_p = static_cast<I>(s.out_strides[p]);
  g.tiles_p = (g.np + kTile - 1) / kTile;
  g.tiles_q = (g.nq + kTile - 1) / kTile;
  int64_t batch = 1;
  for (int d = 0; d < g.brank; ++d) batch *= static_cast<int64_t>(g.bdims[d]);
  g.tiles = static_cast<I>(batch * static_cast<int64_t>(g.tiles_p) * static_cast<int64_t>(g.tiles_q));
  return g;
}

Expected<std::vector<int64_t>> perm_of(const LayerView& v) {
  int64_t rank = static_cast<int64_t>(v.in(0).dims.size());
  Node node = layer_node(v.layer);
  std::vector<int64_t> perm;
  if (node.has_attr("perm")) {
    KILN_ASSIGN_OR_RETURN(perm, node.attr_ints("perm"));
  } else {
    for (int64_t i = rank; i-- > 0;) perm.push_back(i);
  }
  if (static_cast<int64_t>(perm.size()) != rank) return Unsupported("perm has ", perm.size(), " entries for rank ", rank);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)]) return Unsupported("perm is not a permutation");
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

Expected<TransposePlan> plan_transpose(const LayerView& v) {
  if (v.inputs.size() != 1 || !v.has_input(0) || v.outputs.size() != 1)
    return Unsupported("expects one input and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  if (x.dtype != y.dtype) return Unsupported("input and output types differ");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> perm, perm_of(v));
  StridedCopy c;
  c.elem = dtype_size(x.dtype);
  std::vector<int64_t> in_strides = contiguous_strides_of(x.dims);
  for (int64_t p : perm) {
    c.dims.push_back(x.dims[static_cast<size_t>(p)]);
    c.in_strides.push_back(in_strides[static_cast<size_t>(p)]);
  }
  if (c.dims != y.dims) return Unsupported("output dims do not match the permuted input dims");
  c.out_strides = contiguous_strides_of(c.dims);
  TransposePlan plan;
  plan.elem = c.elem;
  KILN_ASSIGN_OR_RETURN(plan.copy, prepare_copy(c));
  if (plan.copy.n == 0 || plan.copy.memcpy) return plan;
  // The tile applies when the input's stride-1 dim is not the output's last.
  StridedCopy s = simplify(c);
  size_t last = s.dims.size() - 1;
  size_t p = s.dims.size();
  for (size_t d = 0; d < s.dims.size(); ++d)
    if (s.in_strides[d] == 1) p = d;
  if (p == s.dims.size() || p == last || s.dims.size() > static_cast<size_t>(kMaxMoveRank)) return plan;
  plan.tiled_possible = true;
  plan.tile_first = s.dims[p] >= 8 && s.dims[last] >= 8;
  // Offsets stay below the tensor's size: both sides are dense.
  plan.use32 = plan.copy.n <= kMax32;
  if (plan.use32)
    plan.t32 = tile_geom<int32_t>(s, p);
  else
    plan.t64 = tile_geom<int64_t>(s, p);
  return plan;
}

template <typename E, typename I>
Status launch_tiled(const TileGeom<I>& g, const void* in, void* out, cudaStream_t s) {
  int64_t tiles = static_cast<int64_t>(g.tiles);
  unsigned blocks = static_cast<unsigned>(tiles < 65535LL * 16 ? tiles : 65535LL * 16);
  tiled_transpose_kernel<E, I><<<blocks, dim3(kTile, kTileRows), 0, s>>>(static_cast<const E*>(in),
                                                                          static_cast<E*>(out), g);
  KILN_CUDA_CHECK_LAUNCH("cumove tiled transpose");
  return Status::Ok();
}

template <typename E>
Status launch_tiled_elem(const TransposePlan& p, const void* in, void* out, cudaStream_t s) {
  return p.use32 ? launch_tiled<E, int32_t>(p.t32, in, out, s) : launch_tiled<E, int64_t>(p.t64, in, out, s);
}

class TransposeKernel : public CudaKernel {
 public:
  TransposeKernel(TransposePlan p, bool tiled) : p_(std::move(p)), tiled_(tiled) {}
  Status enqueue(const LaunchArgs& a) override {
    if (!tiled_) return launch_copy(p_.copy, a.inputs[0], a.outputs[0], a.stream);
    switch (p_.elem) {
      case 1: return launch_tiled_elem<uint8_t>(p_, a.inputs[0], a.outputs[0], a.stream);
      case 2: return launch_tiled_elem<uint16_t>(p_, a.inputs[0], a.outputs[0], a.stream);
      case 4: return launch_tiled_elem<uint32_t>(p_, a.inputs[0], a.outputs[0], a.stream);
      default: return launch_tiled_elem<uint2>(p_, a.inputs[0], a.outputs[0], a.stream);
    }
  }

 private:
  TransposePlan p_;
  bool tiled_;
};

}  // namespace

void register_transpose(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.transpose";
  d.ops = {"Transpose"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_transpose(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.tactics = [](const LayerView& v) -> std::vector<std::vector<int64_t>> {
    auto p = plan_transpose(v);
    if (!p.ok() || !p->tiled_possible) return {{0}};
    if (p->tile_first) return {{1}, {0}};
    return {{0}, {1}};
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(TransposePlan p, plan_transpose(v));
    bool tiled = p.tiled_possible && (v.layer.tactic.empty() ? p.tile_first : v.layer.tactic[0] == 1);
    return std::unique_ptr<CudaKernel>(new TransposeKernel(std::move(p), tiled));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cumove
