// Pad (constant / reflect / edge / wrap, negative pads crop, optional
// constant_value and axes) as one thread per output element that maps each
// axis' output position to a source position, as the CPU reference does,
// and copies the element's bytes (exact for every dtype). The same kernel
// zero-pads convolution inputs whose pads cuDNN cannot express.
#include <algorithm>
#include <string>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/conv_util.h"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuconv {
namespace {

// Output element i of a pad (host-callable for tests).
template <typename E>
__host__ __device__ inline void pad_element(const E* x, E* y, const E* value, const PadGeom& g, int64_t i) {
  int64_t r = i, off = 0, stride = 1;
  bool constant = false;
  for (int j = g.rank - 1; j >= 0 && !constant; --j) {
    const int64_t o = r % g.out[j];
    r /= g.out[j];
    const int64_t len = g.core_len[j];
    int64_t q = o - g.lead[j];
    if (q < 0 || q >= len) {
      switch (g.mode) {
        case PadMode::kConstant:
          constant = true;
          break;
        case PadMode::kEdge:
          q = q < 0 ? 0 : len - 1;
          break;
        case PadMode::kWrap:
          q = ((q % len) + len) % len;
          break;
        case PadMode::kReflect:
          if (len == 1) {
            q = 0;
          } else {
            const int64_t period = 2 * (len - 1);
            q = ((q % period) + period) % period;
            if (q >= len) q = period - q;
          }
          break;
      }
    }
    off += (g.core_start[j] + q) * stride;
    stride *= g.in[j];
  }
  y[i] = constant ? (value ? *value : E(0)) : x[off];
}

template <typename E>
__global__ void pad_kernel(const E* x, E* y, const E* value, PadGeom g, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    pad_element(x, y, value, g, i);
}

template <typename E>
Status launch(const void* x, void* y, const void* value, const PadGeom& g, int64_t n, cudaStream_t s) {
  pad_kernel<E><<<cuda::grid_for(n), 256, 0, s>>>(static_cast<const E*>(x), static_cast<E*>(y),
                                                   static_cast<const E*>(value), g, n);
  KILN_CUDA_CHECK_LAUNCH("pad kernel");
  return Status::Ok();
}

struct PadPlan {
  PadGeom g;
  size_t es = 0;
  bool has_value = false;
};

Expected<PadPlan> plan_pad(const LayerView& v) {
  if (v.inputs.size() < 2 || v.inputs.size() > 4 || !v.has_input(0) || !v.has_input(1) || v.outputs.size() != 1)
    return Unsupported("expects data, pads, optional constant_value and axes, and one output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  PadPlan p;
  p.es = dtype_size(x.dtype);
  if (y.dtype != x.dtype || (p.es != 1 && p.es != 2 && p.es != 4 && p.es != 8))
    return Unsupported("data type ", dtype_name(x.dtype));
  if (x.layout != Layout::kLinear || y.layout != Layout::kLinear) return Unsupported("needs linear layout");
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  if (rank > kMaxPadRank || y.dims.size() != x.dims.size()) return Unsupported("rank ", rank, " (at most 8)");
  Node node = node_of(v.layer);
  KILN_ASSIGN_OR_RETURN(std::string mode, node.attr_string("mode", "constant"));
  if (mode == "constant") {
    p.g.mode = PadMode::kConstant;
  } else if (mode == "reflect") {
    p.g.mode = PadMode::kReflect;
  } else if (mode == "edge") {
    p.g.mode = PadMode::kEdge;
  } else if (mode == "wrap") {
    p.g.mode = PadMode::kWrap;
  } else {
    return Unsupported("mode '", mode, "'");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> pads, weight_ints(v, 1, "pads"));
  std::vector<int64_t> axes;
  if (v.has_input(3)) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> raw, weight_ints(v, 3, "axes"));
    for (int64_t a : raw) {
      KILN_ASSIGN_OR_RETURN(int64_t n, normalize_axis(a, rank, "axes"));
      axes.push_back(n);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size()) return Unsupported("pads has ", pads.size(), " values for ", axes.size(), " axes");
  std::vector<int64_t> begin(static_cast<size_t>(rank), 0), end(static_cast<size_t>(rank), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    begin[static_cast<size_t>(axes[i])] = pads[i];
    end[static_cast<size_t>(axes[i])] = pads[i + axes.size()];
  }
  if (v.has_input(2)) {
    const PlanTensor& c = v.in(2);
    if (c.dtype != x.dtype || c.bytes != p.es) return Unsupported("constant_value must be one value of data's type");
    p.has_value = true;
  }
  p.g.rank = static_cast<int>(rank);
  for (size_t j = 0; j < static_cast<size_t>(rank); ++j) {
    const int64_t in = x.dims[j];
    const int64_t out = in + begin[j] + end[j];
    if (out != y.dims[j]) return Unsupported("output axis ", j, " is ", y.dims[j], ", expected ", out);
    const int64_t core_start = std::max<int64_t>(0, -begin[j]);
    const int64_t core_len = in - core_start - std::max<int64_t>(0, -end[j]);
    if (core_len < 0) return Unsupported("pads crop more than axis ", j, " holds");
    if (core_len == 0 && p.g.mode != PadMode::kConstant && out > 0)
      return Unsupported("cannot pad empty axis ", j, " in ", mode, " mode");
    p.g.in[j] = in;
    p.g.out[j] = out;
    p.g.lead[j] = std::max<int64_t>(0, begin[j]);
    p.g.core_start[j] = core_start;
    p.g.core_len[j] = core_len;
  }
  return p;
}

class PadKernel : public CudaKernel {
 public:
  explicit PadKernel(PadPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    return pad_launch(p_.es, a.inputs[0], a.outputs[0], p_.has_value ? a.inputs[2] : nullptr, p_.g, a.stream);
  }

 private:
  PadPlan p_;
};

}  // namespace

Status pad_launch(size_t elem_bytes, const void* x, void* y, const void* value, const PadGeom& g, cudaStream_t s) {
  int64_t n = 1;
  for (int j = 0; j < g.rank; ++j) n *= g.out[j];
  if (n == 0) return Status::Ok();
  switch (elem_bytes) {
    case 1: return launch<uint8_t>(x, y, value, g, n, s);
    case 2: return launch<uint16_t>(x, y, value, g, n, s);
    case 4: return launch<uint32_t>(x, y, value, g, n, s);
    case 8: return launch<unsigned long long>(x, y, value, g, n, s);
    default: return Unsupported("pad: element size ", elem_bytes);
  }
}

void register_pad(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.pad";
  d.ops = {"Pad"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_pad(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(PadPlan p, plan_pad(v));
    return std::unique_ptr<CudaKernel>(new PadKernel(p));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cuconv
