// NonZero and NonMaxSuppression engines on the GPU: outputs planned at their
// bound, actual dims reported by the context, values equal to the CPU
// reference's on random inputs of awkward shapes (guard bytes around every
// output), and a CUDA graph replayed on new data reporting the new dims.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/cuda_target.h"
#include "gpu_test_util.h"
#include "../unit/pass_test_net.h"

namespace kiln {
namespace {

// Uniform values in [-1, 1), with every value below `zero_below` set to 0.
Tensor sparse(DType dtype, std::vector<int64_t> dims, double zero_below, uint64_t seed) {
  Tensor t = Tensor::alloc(dtype, dims).value();
  Tensor u = Tensor::alloc(DType::kFloat32, dims).value();
  fill_uniform(u, -1, 1, seed);
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = u.get_f64(i);
    // Integers in [1, 101]: nonzero and in range for every integer type.
    double x = v < zero_below ? 0 : dtype_is_float(dtype) ? v : dtype == DType::kBool ? 1 : std::ceil(std::fabs(v) * 100) + 1;
    t.set_f64(i, x);
  }
  return t;
}

// Builds `net` on the GPU and compares every output with the CPU reference, exactly.
void expect_matches_cpu(testing::PassNet& net, bool fp16 = false) {
  auto want = run_graph_cpu(*net.graph, net.feeds);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  BuildOptions options;
  options.autotune = false;
  options.fp16 = fp16;
  auto got = testing::run_graph_gpu(*net.graph, net.feeds, options);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_TRUE(got->guards_intact) << "a kernel wrote outside its output";
  ASSERT_EQ(got->outputs.size(), want->size());
  for (size_t i = 0; i < want->size(); ++i) {
    const Tensor& w = (*want)[i];
    const Tensor& g = got->outputs[i];
    ASSERT_EQ(g.dims(), w.dims()) << "output " << i;
    for (int64_t k = 0; k < w.numel(); ++k) ASSERT_EQ(g.get_i64(k), w.get_i64(k)) << "output " << i << " element " << k;
  }
}

TEST(CudaDataDependent, NonZeroMatchesCpuReference) {
  KILN_REQUIRE_GPU();
  struct Case {
    DType dtype;
    std::vector<int64_t> dims;
    double zero_below;
  };
  const std::vector<Case> cases = {
      {DType::kFloat32, {37, 129, 5}, 0.4},      {DType::kFloat32, {0, 3}, 0},
      {DType::kBool, {7}, 0},                    {DType::kInt32, {3, 1025}, 0.9},
      {DType::kInt64, {2, 3, 4, 5, 6, 7}, -0.5}, {DType::kInt8, {1023}, 2},  // all zeros
      {DType::kFloat16, {11, 1, 13}, 0},         {DType::kUInt8, {4099}, -2},  // all nonzero
      {DType::kFloat32, {(1 << 22) + 3}, 0.2}};
  uint64_t seed = 5;
  for (const Case& c : cases) {
    SCOPED_TRACE(str(dtype_name(c.dtype), dims_to_string(c.dims)));
    testing::PassNet net;
    net.output(net.node("NonZero", {net.input("x", sparse(c.dtype, c.dims, c.zero_below, seed++))}));
    expect_matches_cpu(net);
  }
}

// Boxes with corners in [0, 1) overlap often, so many are suppressed.
testing::PassNet nms_net(int64_t batches, int64_t classes, int64_t boxes, bool runtime_max, bool center, uint64_t seed) {
  testing::PassNet net;
  Tensor b = Tensor::alloc(DType::kFloat32, {batches, boxes, 4}).value();
  fill_uniform(b, 0, 1, seed);
  if (center)  // [x, y, w, h] with small sizes
    for (int64_t i = 0; i < b.numel(); i += 4) {
      b.set_f64(i + 2, b.get_f64(i + 2) * 0.2);
      b.set_f64(i + 3, b.get_f64(i + 3) * 0.2);
    }
  Tensor s = Tensor::alloc(DType::kFloat32, {batches, classes, boxes}).value();
  fill_uniform(s, 0, 1, seed + 1);
  for (int64_t i = 0; i < s.numel(); i += 97) s.set_f64(i, s.get_f64(i + 1 < s.numel() ? i + 1 : i));  // ties
  Value* max = nullptr;
  if (runtime_max) {
    Tensor m = Tensor::alloc(DType::kInt64, {1}).value();
    m.set_i64(0, 23);
    max = net.input("max_per_class", std::move(m));
  } else {
    max = net.ints("max_per_class", {37});
  }
  std::map<std::string, Attr> attrs;
  if (center) attrs["center_point_box"] = Attr::of_int(1);
  Value* x = net.input("boxes", std::move(b));
  Value* y = net.input("scores", std::move(s));
  net.output(net.node("NonMaxSuppression", {x, y, max, net.filled("iou", {}, 0.45f), net.filled("score", {}, 0.3f)},
                      attrs));
  return net;
}

TEST(CudaDataDependent, NonMaxSuppressionMatchesCpuReference) {
  KILN_REQUIRE_GPU();
  struct Case {
    int64_t batches, classes, boxes;
    bool runtime_max, center;
  };
  for (const Case& c : std::vector<Case>{{1, 1, 1, false, false},
                                         {3, 5, 1000, false, false},
                                         {2, 3, 333, true, true},
                                         {1, 2, 5000, false, false},
                                         {2, 1, 16384, true, false},
                                         {2, 0, 10, false, false}}) {
    SCOPED_TRACE(str(c.batches, "x", c.classes, "x", c.boxes, c.runtime_max ? " runtime max" : "",
                     c.center ? " center" : ""));
    testing::PassNet net = nms_net(c.batches, c.classes, c.boxes, c.runtime_max, c.center, 40 + c.boxes);
    expect_matches_cpu(net);
  }
}

// An fp16 engine keeps NMS in float32 (its spec's only type): it keeps the
// same boxes as the float32 reference.
TEST(CudaDataDependent, NonMaxSuppressionInAnFp16Engine) {
  KILN_REQUIRE_GPU();
  testing::PassNet net = nms_net(2, 3, 700, false, false, 9);
  expect_matches_cpu(net, /*fp16=*/true);
}

// No GPU needed: NMS is planned at batch x classes x min(max per class,
// boxes), or x boxes where the maximum comes at run time (as in ONNX's node
// tests, whose scalars are all inputs).
TEST(CudaDataDependent, NmsIsPlannedAtItsBound) {
  for (int64_t max : {-1, 4, 100}) {
    SCOPED_TRACE(max);
    testing::PassNet net;
    Value* boxes = net.input("boxes", {2, 6, 4});
    Value* scores = net.input("scores", {2, 3, 6});
    Value* m = max < 0 ? net.input("max", Tensor::alloc(DType::kInt64, {1}).value()) : net.ints("max", {max});
    net.output(net.node("NonMaxSuppression", {boxes, scores, m, net.input("iou", {1}), net.input("score", {1})}));
    CudaBuildTarget target;
    BuildOptions options;
    options.autotune = false;
    auto plan = build_engine_from_graph(*net.graph, options, target, nullptr);
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    const PlanTensor& y = plan->tensors[static_cast<size_t>(plan->outputs[0])];
    EXPECT_TRUE(y.data_dependent);
    EXPECT_EQ(y.dims, (std::vector<int64_t>{2 * 3 * (max == 4 ? 4 : 6), 3}));
  }
}

// The dims are written on the stream: a captured graph replayed on new data
// reports the new count.
TEST(CudaDataDependent, CudaGraphReplayReportsNewDims) {
  KILN_REQUIRE_GPU();
  testing::PassNet net;
  net.output(net.node("NonZero", {net.input("x", {64, 33})}));
  BuildOptions options;
  options.autotune = false;
  auto built = testing::build_gpu_engine(*net.graph, options);
  ASSERT_TRUE(built.ok()) << built.status().to_string();
  ExecutionContext& ctx = *built->context;
  const EnginePlan& p = built->plan();
  const PlanTensor& y = p.tensors[static_cast<size_t>(p.outputs[0])];
  EXPECT_EQ(y.dims, (std::vector<int64_t>{2, 64 * 33}));
  void *dx = nullptr, *dy = nullptr;
  ASSERT_EQ(cudaMalloc(&dx, 64 * 33 * 4), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&dy, y.bytes), cudaSuccess);
  ASSERT_TRUE(ctx.set_tensor_address("x", dx).ok());
  ASSERT_TRUE(ctx.set_tensor_address(y.name, dy).ok());
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  for (double zero_below : {0.5, -2.0, 0.9, 2.0}) {
    Tensor x = sparse(DType::kFloat32, {64, 33}, zero_below, 77);
    int64_t count = 0;
    for (int64_t i = 0; i < x.numel(); ++i) count += x.get_f64(i) != 0;
    ASSERT_EQ(cudaMemcpy(dx, x.bytes(), x.nbytes(), cudaMemcpyHostToDevice), cudaSuccess);
    ASSERT_TRUE(ctx.enqueue_graph(stream).ok());
    auto dims = ctx.tensor_dims(y.name, stream);
    ASSERT_TRUE(dims.ok()) << dims.status().to_string();
    EXPECT_EQ(*dims, (std::vector<int64_t>{2, count})) << zero_below;
  }
  cudaStreamDestroy(stream);
  cudaFree(dx);
  cudaFree(dy);
}

}  // namespace
}  // namespace kiln
