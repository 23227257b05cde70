#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuda {

BroadcastMap make_broadcast_map(const std::vector<int64_t>& out_dims, const std::vector<int64_t>& in_dims) {
  BroadcastMap m;
  m.rank = static_cast<int>(out_dims.size());
  m.identity = out_dims == in_dims;
  size_t offset = out_dims.size() - in_dims.size();
  int64_t stride = 1;
  for (size_t i = 0; i < out_dims.size(); ++i) m.out_dims[i] = out_dims[i] == 0 ? 1 : out_dims[i];
  for (size_t i = in_dims.size(); i-- > 0;) {
    m.in_strides[offset + i] = in_dims[i] == 1 ? 0 : stride;
    stride *= in_dims[i];
  }
  return m;
}

int64_t numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

}  // namespace kiln::cuda
