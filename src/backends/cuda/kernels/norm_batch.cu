// BatchNormalization in inference form (training_mode=0), for the layers the
// builder did not fold into a convolution: per channel,
//   y = (x - mean) / sqrt(var + epsilon) * scale + B
// one thread per element, in float32. scale/B and mean/var may each be of
// another float type than X (opset 15 allows it), so they are read through
// their run-time type.
#include "backends/cuda/kernels/reduce_common.cuh"

namespace kiln::cureduce {
namespace {

struct BnArgs {
  int64_t numel = 0, channels = 1, spatial = 1;
  float eps = 1e-5f;
  int scale_type = 1, stats_type = 1;  // DType codes of scale/B and mean/var
};

template <typename T>
__global__ void batch_norm_kernel(const T* x, const void* scale, const void* bias, const void* mean, const void* var,
                                  T* y, BnArgs a) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < a.numel;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = (i / a.spatial) % a.channels;
    const float inv = 1.f / sqrtf(load_any(var, a.stats_type, c) + a.eps);
    const float v = (cuda::load_f(x, i) - load_any(mean, a.stats_type, c)) * inv * load_any(scale, a.scale_type, c) +
                    load_any(bias, a.scale_type, c);
    cuda::store_f(y, i, v);
  }
}

struct BnPlan {
  DType dtype = DType::kFloat32;
  BnArgs a;
};

Expected<BnPlan> plan_bn(const LayerView& v) {
  std::string why;
  if (!check_layer(v, 5, 5, 1, 3, &why)) return Unsupported(why);
  if (attr_int(v.layer, "training_mode", 0) != 0 || v.outputs.size() > 1)
    return Unsupported("training_mode=1 (batch statistics, running mean/var outputs) is not supported on the GPU");
  const PlanTensor& x = v.in(0);
  if (!check_type(x, "X", true, false, &why)) return Unsupported(why);
  const char* names[] = {"X", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i < 5; ++i) {
    if (!v.has_input(i)) return Unsupported(names[i], " (input ", i, ") is missing");
    if (!check_type(v.in(i), names[i], true, false, &why)) return Unsupported(why);
  }
  if (v.in(1).dtype != v.in(2).dtype || v.in(3).dtype != v.in(4).dtype)
    return Unsupported("scale/B and input_mean/input_var must be pairs of one type");
  if (x.dims.size() < 2) return Unsupported("X must have rank >= 2 (N x C x ...)");
  const int64_t c = x.dims[1];
  for (size_t i = 1; i < 5; ++i)
    if (v.in(i).dims != std::vector<int64_t>{c})
      return Unsupported(names[i], " has dims ", dims_to_string(v.in(i).dims), "; expected [", c, "]");
  const PlanTensor& y = v.out(0);
  if (y.dtype != x.dtype || y.dims != x.dims) return Unsupported("Y must have X's type and dims");
  BnPlan p;
  p.dtype = x.dtype;
  p.a.numel = cuda::numel(x.dims);
  p.a.channels = c == 0 ? 1 : c;
  int64_t spatial = dims_product(x.dims, 2, x.dims.size());
  p.a.spatial = spatial == 0 ? 1 : spatial;
  p.a.eps = attr_float(v.layer, "epsilon", 1e-5f);
  p.a.scale_type = static_cast<int>(v.in(1).dtype);
  p.a.stats_type = static_cast<int>(v.in(3).dtype);
  return p;
}

class BnKernel : public CudaKernel {
 public:
  explicit BnKernel(BnPlan p) : p_(p) {}

  Status enqueue(const LaunchArgs& a) override {
    if (p_.a.numel == 0) return Status::Ok();
    switch (p_.dtype) {
      case DType::kFloat32: return launch<float>(a);
      case DType::kFloat16: return launch<__half>(a);
      default: return launch<__nv_bfloat16>(a);
    }
  }

 private:
  template <typename T>
  Status launch(const LaunchArgs& a) {
    batch_norm_kernel<T><<<cuda::grid_for(p_.a.numel), 256, 0, a.stream>>>(
        static_cast<const T*>(a.inputs[0]), a.inputs[1], a.inputs[2], a.inputs[3], a.inputs[4],
        static_cast<T*>(a.outputs[0]), p_.a);
    KILN_CUDA_CHECK_LAUNCH("batch norm kernel");
    return Status::Ok();
  }

  BnPlan p_;
};

}  // namespace

void register_channel_norms(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.batchnorm";
  d.ops = {"BatchNormalization"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_bn(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(BnPlan p, plan_bn(v));
    return std::unique_ptr<CudaKernel>(new BnKernel(p));
  };
  d.in_place = true;  // each element reads only itself
  r.add(std::move(d));
}

}  // namespace kiln::cureduce
