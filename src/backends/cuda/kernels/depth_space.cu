// DepthToSpace (DCR / CRD) and SpaceToDepth on [N, C, H, W]: one thread per
// output element computes its source with the CPU reference's index maps and
// copies the element's bytes (exact for every dtype).
#include <string>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/conv_util.h"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuconv {
namespace {

// C, H, W of the space side, H and W counted in blocks of b x b.
struct BlockGeom {
  int64_t N = 0, C = 0, H = 0, W = 0, b = 1;
  bool crd = false;
  bool to_space = true;
};

// Output element i (host-callable for tests).
template <typename E>
__host__ __device__ inline void block_element(const E* x, E* y, const BlockGeom& g, int64_t i) {
  const int64_t b = g.b, bb = b * b;
  int64_t nn, c, h, w, bi, bj, dc;
  if (g.to_space) {  // output [N, C, H*b, W*b]
    const int64_t ww = i % (g.W * b);
    const int64_t hh = (i / (g.W * b)) % (g.H * b);
    const int64_t r = i / (g.W * b * g.H * b);
    c = r % g.C;
    nn = r / g.C;
    h = hh / b;
    bi = hh % b;
    w = ww / b;
    bj = ww % b;
    dc = g.crd ? c * bb + bi * b + bj : (bi * b + bj) * g.C + c;
    y[i] = x[((nn * g.C * bb + dc) * g.H + h) * g.W + w];
  } else {  // output [N, C*b*b, H, W]
    w = i % g.W;
    h = (i / g.W) % g.H;
    const int64_t r = i / (g.W * g.H);
    dc = r % (g.C * bb);
    nn = r / (g.C * bb);
    if (g.crd) {
      c = dc / bb;
      bi = (dc % bb) / b;
      bj = dc % b;
    } else {
      c = dc % g.C;
      bi = (dc / g.C) / b;
      bj = (dc / g.C) % b;
    }
    y[i] = x[((nn * g.C + c) * g.H * b + h * b + bi) * g.W * b + w * b + bj];
  }
}

template <typename E>
__global__ void block_kernel(const E* x, E* y, BlockGeom g, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    block_element(x, y, g, i);
}

struct BlockPlan {
  BlockGeom g;
  size_t es = 0;
  int64_t n = 0;
};

Expected<BlockPlan> plan_block(const LayerView& v) {
  if (v.inputs.size() != 1 || !v.has_input(0) || v.outputs.size() != 1) return Unsupported("expects one input and one output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  BlockPlan p;
  p.es = dtype_size(x.dtype);
  if (y.dtype != x.dtype || (p.es != 1 && p.es != 2 && p.es != 4 && p.es != 8))
    return Unsupported("data type ", dtype_name(x.dtype));
  if (x.dims.size() != 4 || y.dims.size() != 4) return Unsupported("needs 4-D [N, C, H, W] tensors");
  if (x.layout != Layout::kLinear || y.layout != Layout::kLinear) return Unsupported("needs linear layout");
  Node node = node_of(v.layer);
  KILN_ASSIGN_OR_RETURN(int64_t b, node.attr_int("blocksize"));
  KILN_ASSIGN_OR_RETURN(std::string mode, node.attr_string("mode", "DCR"));
  if (b < 1 || (mode != "DCR" && mode != "CRD")) return Unsupported("blocksize ", b, " / mode '", mode, "'");
  BlockGeom& g = p.g;
  g.b = b;
  g.crd = mode == "CRD";
  g.to_space = v.layer.op == "DepthToSpace";
  g.N = x.dims[0];
  std::vector<int64_t> want;
  if (g.to_space) {
    if (x.dims[1] % (b * b) != 0) return Unsupported("C is not divisible by blocksize^2");
    g.C = x.dims[1] / (b * b);
    g.H = x.dims[2];
    g.W = x.dims[3];
    want = {g.N, g.C, g.H * b, g.W * b};
  } else {
    if (x.dims[2] % b != 0 || x.dims[3] % b != 0) return Unsupported("H and W are not divisible by blocksize");
    g.C = x.dims[1];
    g.H = x.dims[2] / b;
    g.W = x.dims[3] / b;
    want = {g.N, g.C * b * b, g.H, g.W};
  }
  if (want != y.dims) return Unsupported("output dims ", dims_to_string(y.dims), ", expected ", dims_to_string(want));
  p.n = cuda::numel(y.dims);
  return p;
}

class BlockKernel : public CudaKernel {
 public:
  explicit BlockKernel(BlockPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.n == 0) return Status::Ok();
    switch (p_.es) {
      case 1: return launch<uint8_t>(a);
      case 2: return launch<uint16_t>(a);
      case 4: return launch<uint32_t>(a);
      default: return launch<unsigned long long>(a);
    }
  }

 private:
  template <typename E>
  Status launch(const LaunchArgs& a) {
    block_kernel<E><<<cuda::grid_for(p_.n), 256, 0, a.stream>>>(static_cast<const E*>(a.inputs[0]),
                                                                 static_cast<E*>(a.outputs[0]), p_.g, p_.n);
    KILN_CUDA_CHECK_LAUNCH("depth/space kernel");
    return Status::Ok();
  }
  BlockPlan p_;
};

}  // namespace

void register_depth_space(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.depth_space";
  d.ops = {"DepthToSpace", "SpaceToDepth"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_block(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(BlockPlan p, plan_block(v));
    return std::unique_ptr<CudaKernel>(new BlockKernel(p));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cuconv
