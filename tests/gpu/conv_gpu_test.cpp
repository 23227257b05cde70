// Targeted GPU tests of the cuconv family (cudnn.conv, cublaslt.conv,
// cudnn.conv_transpose, kiln.pool, kiln.global_pool): ResNet-50 and MobileNetV2-like blocks in fp16
// (NCHW and channels last), every conv tactic in fp32 and fp16, asymmetric
// pads, ConvTranspose's two paths, pools in channels last, CUDA-graph replay
// and refusal messages. Every result is compared with the CPU reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "backends/cpu/interpreter.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/cuda_target.h"
#include "gpu_test_util.h"
#include "ops/infer.h"
#include "ops/op_case.h"

namespace kiln {
namespace {

// ---- graphs ----

class TestGraph {
 public:
  TestGraph() : g_(std::make_unique<Graph>()) {}

  Value* input(const std::string& name, DType t, std::vector<int64_t> dims, uint64_t seed) {
    Tensor x = Tensor::alloc(t, dims).value();
    fill_uniform(x, -1, 1, seed);
    Value* v = g_->add_value(name).value();
    v->dtype = t;
    v->shape = Shape::of(dims);
    v->shape_known = true;
    v->is_graph_input = true;
    g_->inputs.push_back(v);
    inputs_[name] = std::move(x);
    return v;
  }

  // Uniform in +-scale.
  Value* constant(const std::string& name, DType t, std::vector<int64_t> dims, uint64_t seed, double scale) {
    Tensor x = Tensor::alloc(t, dims).value();
    fill_uniform(x, -scale, scale, seed);
    Value* v = g_->add_value(name).value();
    v->dtype = t;
    v->shape = Shape::of(dims);
    v->shape_known = true;
    v->constant = std::make_shared<const Tensor>(std::move(x));
    return v;
  }

  // Conv weights scaled by 1/sqrt(fan in), so activations stay near 1.
  Value* weight(const std::string& name, DType t, std::vector<int64_t> dims, uint64_t seed) {
    int64_t fan_in = 1;
    for (size_t i = 1; i < dims.size(); ++i) fan_in *= dims[i];
    return constant(name, t, dims, seed, 1.0 / std::sqrt(static_cast<double>(fan_in)));
  }

  std::vector<Value*> node(const std::string& op, const std::string& name, std::vector<Value*> ins,
                           std::map<std::string, Attr> attrs = {}, int outputs = 1) {
    std::vector<Value*> outs;
    for (int i = 0; i < outputs; ++i) outs.push_back(g_->add_value(str(name, "_out", i)).value());
    Node* n = g_->add_node(op, name, ins, outs, "", kMaxOnnxOpset).value();
    n->attrs = std::move(attrs);
    return outs;
  }
  Value* op(const std::string& op, const std::string& name, std::vector<Value*> ins,
            std::map<std::string, Attr> attrs = {}) {
    return node(op, name, std::move(ins), std::move(attrs))[0];
  }

  void output(Value* v) {
    v->is_graph_output = true;
    g_->outputs.push_back(v);
  }

  // Infers every value; with channels_last, every non-constant 4-D value
  // (engine inputs and outputs included) is laid out NHWC.
  std::unique_ptr<Graph> finish(bool channels_last) {
    Status s = infer_graph(*g_, Limits{});
    EXPECT_TRUE(s.ok()) << s.to_string();
    if (channels_last)
      for (const auto& v : g_->values())
        if (!v->constant && v->shape.rank() == 4) v->layout = Layout::kNHWC;
    return std::move(g_);
  }
  const std::map<std::string, Tensor>& inputs() const { return inputs_; }

 private:
  std::unique_ptr<Graph> g_;
  std::map<std::string, Tensor> inputs_;
};

using Recipe = std::function<void(TestGraph&)>;

Attr ints(std::vector<int64_t> v) { return Attr::of_ints(std::move(v)); }

// ---- host helpers ----

// NCHW <-> NHWC byte permutation of a 4-D tensor (dims stay N, C, H, W).
Tensor permute4(const Tensor& t, bool to_nhwc) {
  const int64_t N = t.dim(0), C = t.dim(1), H = t.dim(2), W = t.dim(3);
  const size_t es = dtype_size(t.dtype());
  Tensor out = Tensor::alloc(t.dtype(), t.dims()).value();
  uint8_t* dst = out.mutable_bytes();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          const int64_t nchw = ((n * C + c) * H + h) * W + w, nhwc = ((n * H + h) * W + w) * C + c;
          const int64_t from = to_nhwc ? nchw : nhwc, to = to_nhwc ? nhwc : nchw;
          std::memcpy(dst + static_cast<size_t>(to) * es, t.bytes() + static_cast<size_t>(from) * es, es);
        }
  return out;
}

double rel_l2(const Tensor& got, const Tensor& want) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double a = got.get_f64(i), b = want.get_f64(i);
    num += (a - b) * (a - b);
    den += b * b;
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

Expected<EnginePlan> build(Graph& g, bool autotune, BuildReport* report = nullptr) {
  CudaBuildTarget target;
  BuildOptions o;
  o.autotune = autotune;
  return build_engine_from_graph(g, o, target, report);
}

// Runs a plan once (or through a captured CUDA graph), with guard bytes
// around every output. NHWC engine I/O is permuted on the host.
Expected<std::vector<Tensor>> run_plan(const EnginePlan& plan, const std::map<std::string, Tensor>& inputs,
                                       bool cuda_graph = false) {
  constexpr size_t kGuard = 256;
  KILN_ASSIGN_OR_RETURN(auto engine, CudaEngine::create(plan));
  KILN_ASSIGN_OR_RETURN(auto ctx, engine->create_context());
  const EnginePlan& p = engine->plan();
  std::vector<void*> buffers;
  struct Free {
    std::vector<void*>& b;
    ~Free() {
      for (void* x : b) cudaFree(x);
    }
  } free_all{buffers};
  for (int32_t t : p.inputs) {
    const PlanTensor& pt = p.tensors[static_cast<size_t>(t)];
    auto it = inputs.find(pt.name);
    if (it == inputs.end()) return InvalidArgument("no input ", pt.name);
    Tensor host = pt.layout == Layout::kNHWC ? permute4(it->second, true) : it->second;
    void* d = nullptr;
    KILN_CUDA_CHECK(cudaMalloc(&d, pt.bytes + 1));
    buffers.push_back(d);
    KILN_CUDA_CHECK(cudaMemcpy(d, host.bytes(), pt.bytes, cudaMemcpyHostToDevice));
    KILN_RETURN_IF_ERROR(ctx->set_tensor_address(pt.name, d));
  }
  std::vector<uint8_t*> outs;
  for (int32_t t : p.outputs) {
    const PlanTensor& pt = p.tensors[static_cast<size_t>(t)];
    void* d = nullptr;
    KILN_CUDA_CHECK(cudaMalloc(&d, pt.bytes + 2 * kGuard));
    buffers.push_back(d);
    KILN_CUDA_CHECK(cudaMemset(d, 0xA5, pt.bytes + 2 * kGuard));
    outs.push_back(static_cast<uint8_t*>(d));
    KILN_RETURN_IF_ERROR(ctx->set_tensor_address(pt.name, outs.back() + kGuard));
  }
  cudaStream_t stream = nullptr;
  KILN_CUDA_CHECK(cudaStreamCreate(&stream));
  Status s = cuda_graph ? ctx->enqueue_graph(stream) : ctx->enqueue(stream);
  if (s.ok() && cuda_graph) s = ctx->enqueue_graph(stream);  // a replay of the captured graph
  if (s.ok()) s = cuda_status(cudaStreamSynchronize(stream), "running the engine");
  cudaStreamDestroy(stream);
  KILN_RETURN_IF_ERROR(s);
  std::vector<Tensor> result;
  for (size_t i = 0; i < p.outputs.size(); ++i) {
    const PlanTensor& pt = p.tensors[static_cast<size_t>(p.outputs[i])];
    std::vector<uint8_t> host(pt.bytes + 2 * kGuard);
    KILN_CUDA_CHECK(cudaMemcpy(host.data(), outs[i], host.size(), cudaMemcpyDeviceToHost));
    for (size_t k = 0; k < kGuard; ++k)
      if (host[k] != 0xA5 || host[kGuard + pt.bytes + k] != 0xA5)
        return Internal("a kernel wrote outside output ", pt.name);
    KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::alloc(pt.dtype, pt.dims));
    if (pt.bytes) std::memcpy(t.mutable_bytes(), host.data() + kGuard, pt.bytes);
    result.push_back(pt.layout == Layout::kNHWC ? permute4(t, false) : std::move(t));
  }
  return result;
}

std::vector<Tensor> cpu_reference(const Recipe& recipe) {
  TestGraph tg;
  recipe(tg);
  auto g = tg.finish(false);
  auto want = run_graph_cpu(*g, tg.inputs());
  EXPECT_TRUE(want.ok()) << want.status().to_string();
  return want.ok() ? *want : std::vector<Tensor>{};
}

void expect_close(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].dims(), want[i].dims()) << "output " << i;
    if (dtype_is_float(want[i].dtype())) {
      EXPECT_LE(rel_l2(got[i], want[i]), tol) << "output " << i;
    } else {
      for (int64_t k = 0; k < want[i].numel(); ++k)
        ASSERT_EQ(got[i].get_i64(k), want[i].get_i64(k)) << "output " << i << " element " << k;
    }
  }
}

// Builds the recipe for the GPU (optionally channels last), runs it and
// compares with the CPU reference. Returns the build report.
BuildReport check_recipe(const Recipe& recipe, bool channels_last, double tol, bool autotune = false) {
  std::vector<Tensor> want = cpu_reference(recipe);
  TestGraph tg;
  recipe(tg);
  auto g = tg.finish(channels_last);
  BuildReport report;
  auto plan = build(*g, autotune, &report);
  EXPECT_TRUE(plan.ok()) << plan.status().to_string();
  if (!plan.ok()) return report;
  auto got = run_plan(*plan, tg.inputs());
  EXPECT_TRUE(got.ok()) << got.status().to_string();
  if (got.ok()) expect_close(*got, want, tol);
  return report;
}

int count_kernel(const BuildReport& r, const std::string& kernel) {
  int n = 0;
  for (const auto& l : r.layers) n += l.kernel == kernel;
  return n;
}

// ---- recipes ----

// ResNet-50 style basic block: conv3x3+bias+relu, conv3x3+bias + x, relu.
Recipe resnet_block(DType t, int64_t n, int64_t c, int64_t hw) {
  return [=](TestGraph& g) {
    Value* x = g.input("x", t, {n, c, hw, hw}, 1);
    Value* a = g.op("Conv", "conv1", {x, g.weight("w1", t, {c, c, 3, 3}, 2), g.constant("b1", t, {c}, 3, 0.1)},
                    {{"pads", ints({1, 1, 1, 1})}});
    a = g.op("Relu", "relu1", {a});
    Value* b = g.op("Conv", "conv2", {a, g.weight("w2", t, {c, c, 3, 3}, 4), g.constant("b2", t, {c}, 5, 0.1)},
                    {{"pads", ints({1, 1, 1, 1})}});
    b = g.op("Add", "add", {b, x});
    g.output(g.op("Relu", "relu2", {b}));
  };
}

// ResNet-50 bottleneck: 1x1 reduce, 3x3, 1x1 expand + residual.
Recipe bottleneck(DType t, int64_t n, int64_t c, int64_t mid, int64_t hw) {
  return [=](TestGraph& g) {
    Value* x = g.input("x", t, {n, c, hw, hw}, 11);
    Value* a = g.op("Relu", "r1", {g.op("Conv", "c1", {x, g.weight("w1", t, {mid, c, 1, 1}, 12),
                                                       g.constant("b1", t, {mid}, 13, 0.1)})});
    Value* b = g.op("Relu", "r2", {g.op("Conv", "c2", {a, g.weight("w2", t, {mid, mid, 3, 3}, 14),
                                                       g.constant("b2", t, {mid}, 15, 0.1)},
                                        {{"pads", ints({1, 1, 1, 1})}})});
    Value* y = g.op("Conv", "c3", {b, g.weight("w3", t, {c, mid, 1, 1}, 16), g.constant("b3", t, {c}, 17, 0.1)});
    g.output(g.op("Relu", "r3", {g.op("Add", "add", {y, x})}));
  };
}

// MobileNetV2 inverted residual (stride 2): expand 1x1 + relu, depthwise 3x3
// stride 2 + relu, project 1x1 without activation.
Recipe mobilenet_block(DType t, int64_t n, int64_t c, int64_t hw) {
  return [=](TestGraph& g) {
    const int64_t e = c * 6;
    Value* x = g.input("x", t, {n, c, hw, hw}, 21);
    Value* a = g.op("Relu", "r1", {g.op("Conv", "expand", {x, g.weight("w1", t, {e, c, 1, 1}, 22),
                                                           g.constant("b1", t, {e}, 23, 0.1)})});
    Value* b = g.op("Relu", "r2", {g.op("Conv", "dw", {a, g.weight("w2", t, {e, 1, 3, 3}, 24),
                                                       g.constant("b2", t, {e}, 25, 0.1)},
                                        {{"group", Attr::of_int(e)}, {"strides", ints({2, 2})},
                                         {"pads", ints({1, 1, 1, 1})}})});
    g.output(g.op("Conv", "project", {b, g.weight("w3", t, {24, e, 1, 1}, 26), g.constant("b3", t, {24}, 27, 0.1)}));
  };
}

// ---- tests ----

TEST(CudaConv, ResNetBlockFp16) {
  KILN_REQUIRE_GPU();
  for (bool nhwc : {false, true}) {
    SCOPED_TRACE(nhwc ? "nhwc" : "nchw");
    BuildReport r = check_recipe(resnet_block(DType::kFloat16, 1, 64, 56), nhwc, 5e-3);
    EXPECT_EQ(count_kernel(r, "cudnn.conv"), 2) << r.to_text();
    EXPECT_EQ(r.layers.size(), 2u) << "conv+relu and conv+add+relu should each be one layer\n" << r.to_text();
  }
}

TEST(CudaConv, ResNetBottleneckFp16Batch32) {
  KILN_REQUIRE_GPU();
  for (bool nhwc : {false, true}) {
    SCOPED_TRACE(nhwc ? "nhwc" : "nchw");
    BuildReport r = check_recipe(bottleneck(DType::kFloat16, 32, 256, 64, 14), nhwc, 5e-3, /*autotune=*/true);
    // Timing picks cuDNN or the channels-last GEMM convolution per layer (the
    // builder may reformat an NCHW layer to NHWC where that is faster).
    EXPECT_EQ(count_kernel(r, "cudnn.conv") + count_kernel(r, "cublaslt.conv"), 3) << r.to_text();
  }
}

TEST(CudaConv, MobileNetV2BlockFp16) {
  KILN_REQUIRE_GPU();
  for (bool nhwc : {false, true}) {
    SCOPED_TRACE(nhwc ? "nhwc" : "nchw");
    check_recipe(mobilenet_block(DType::kFloat16, 2, 16, 56), nhwc, 5e-3, /*autotune=*/true);
  }
}

TEST(CudaConv, Fp32BlocksMatchReferenceTightly) {
  KILN_REQUIRE_GPU();
  check_recipe(resnet_block(DType::kFloat32, 2, 16, 15), false, 1e-5, /*autotune=*/true);
  check_recipe(mobilenet_block(DType::kFloat32, 1, 8, 17), false, 1e-5, /*autotune=*/true);
  check_recipe(resnet_block(DType::kFloat32, 1, 16, 15), true, 1e-5);
}

// Every tactic the kernel offers gives the reference result (fused and
// unfused paths, every algorithm), in fp32 and fp16.
TEST(CudaConv, EveryTacticMatches) {
  KILN_REQUIRE_GPU();
  for (DType t : {DType::kFloat32, DType::kFloat16}) {
    SCOPED_TRACE(dtype_name(t));
    const double tol = t == DType::kFloat32 ? 1e-5 : 5e-3;
    Recipe recipe = [t](TestGraph& g) {
      Value* x = g.input("x", t, {2, 32, 20, 20}, 31);
      Value* z = g.input("z", t, {2, 48, 20, 20}, 32);
      // conv + bias (identity epilogue), conv + bias + residual + relu, conv alone.
      Value* a = g.op("Conv", "plain_bias", {x, g.weight("w1", t, {48, 32, 3, 3}, 33), g.constant("b1", t, {48}, 34, 0.1)},
                      {{"pads", ints({1, 1, 1, 1})}});
      Value* b = g.op("Conv", "fused", {x, g.weight("w2", t, {48, 32, 3, 3}, 35), g.constant("b2", t, {48}, 36, 0.1)},
                      {{"pads", ints({1, 1, 1, 1})}});
      Value* c = g.op("Conv", "no_bias", {x, g.weight("w3", t, {48, 32, 5, 5}, 37)}, {{"pads", ints({2, 2, 2, 2})}});
      g.output(a);
      g.output(g.op("Relu", "relu", {g.op("Add", "add", {b, z})}));
      g.output(c);
    };
    std::vector<Tensor> want = cpu_reference(recipe);
    TestGraph tg;
    recipe(tg);
    auto g = tg.finish(false);
    auto plan = build(*g, false);
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    const CudaKernelDef* def = CudaKernelRegistry::global().find("cudnn.conv");
    ASSERT_NE(def, nullptr);
    for (size_t i = 0; i < plan->layers.size(); ++i) {
      ASSERT_EQ(plan->layers[i].kernel, "cudnn.conv");
      auto tactics = def->tactics(LayerView::of(*plan, i));
      EXPECT_FALSE(tactics.empty()) << plan->layers[i].name;
      for (const auto& tactic : tactics) {
        SCOPED_TRACE(str(plan->layers[i].name, " tactic ", dims_to_string(tactic)));
        EnginePlan p = *plan;
        p.layers[i].tactic = tactic;
        auto got = run_plan(p, tg.inputs());
        ASSERT_TRUE(got.ok()) << got.status().to_string();
        expect_close(*got, want, tol);
      }
    }
  }
}

// Runs layer i of `p` on kernel `def` with `tactic`, the shared workspace
// grown to what that kernel asks for.
EnginePlan with_kernel(EnginePlan p, size_t i, const CudaKernelDef& def, std::vector<int64_t> tactic) {
  p.layers[i].kernel = def.id;
  p.layers[i].tactic = std::move(tactic);
  p.layers[i].workspace_bytes = def.workspace ? def.workspace(LayerView::of(p, i)) : 0;
  p.workspace_bytes = std::max(p.workspace_bytes, p.layers[i].workspace_bytes);
  p.arena_bytes = p.workspace_offset + (p.workspace_bytes + 255) / 256 * 256;
  return p;
}

// The GEMM convolution (cublaslt.conv) on every layer shape it takes: 1x1
// read in place (bias + relu, no bias, residual), im2col for 3x3 with pads,
// 7x7 stride 2 over 3 channels, asymmetric SAME_UPPER pads, dilation, odd
// channel counts; every cuBLASLt tactic, fp32 and fp16, channels last.
TEST(CudaConv, GemmConvEveryLayerAndTactic) {
  KILN_REQUIRE_GPU();
  for (DType t : {DType::kFloat32, DType::kFloat16}) {
    SCOPED_TRACE(dtype_name(t));
    const double tol = t == DType::kFloat32 ? 1e-5 : 5e-3;
    Recipe recipe = [t](TestGraph& g) {
      Value* x = g.input("x", t, {2, 24, 9, 11}, 41);
      Value* x3 = g.input("x3", t, {2, 3, 17, 17}, 42);
      Value* x5 = g.input("x5", t, {1, 5, 10, 7}, 43);
      Value* a = g.op("Relu", "r1", {g.op("Conv", "c1x1_relu", {x, g.weight("w1", t, {40, 24, 1, 1}, 44),
                                                                g.constant("b1", t, {40}, 45, 0.1)})});
      Value* b = g.op("Conv", "c3x3_residual", {a, g.weight("w2", t, {40, 40, 3, 3}, 46), g.constant("b2", t, {40}, 47, 0.1)},
                      {{"pads", ints({1, 1, 1, 1})}});
      g.output(g.op("Relu", "r2", {g.op("Add", "add", {b, a})}));
      g.output(g.op("Conv", "c1x1_no_bias", {x, g.weight("w3", t, {16, 24, 1, 1}, 48)}));
      g.output(g.op("Conv", "c7x7_s2", {x3, g.weight("w4", t, {8, 3, 7, 7}, 49), g.constant("b4", t, {8}, 50, 0.1)},
                    {{"strides", ints({2, 2})}, {"pads", ints({3, 3, 3, 3})}}));
      g.output(g.op("Conv", "same_upper_s2", {x, g.weight("w5", t, {12, 24, 3, 3}, 51)},
                    {{"strides", ints({2, 2})}, {"auto_pad", Attr::of_string("SAME_UPPER")}}));
      g.output(g.op("Conv", "dilated", {x, g.weight("w6", t, {8, 24, 3, 3}, 52), g.constant("b6", t, {8}, 53, 0.1)},
                    {{"dilations", ints({2, 2})}, {"pads", ints({2, 1, 2, 1})}}));
      g.output(g.op("Conv", "odd_1x1_s2", {x5, g.weight("w7", t, {7, 5, 1, 1}, 54), g.constant("b7", t, {7}, 55, 0.1)},
                    {{"strides", ints({2, 2})}}));
    };
    std::vector<Tensor> want = cpu_reference(recipe);
    TestGraph tg;
    recipe(tg);
    auto g = tg.finish(true);
    auto plan = build(*g, false);
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    const CudaKernelDef* def = CudaKernelRegistry::global().find("cublaslt.conv");
    ASSERT_NE(def, nullptr);
    int convs = 0;
    for (size_t i = 0; i < plan->layers.size(); ++i) {
      if (plan->layers[i].kernel != "cudnn.conv") continue;
      ++convs;
      LayerView view = LayerView::of(*plan, i);
      std::string why;
      ASSERT_TRUE(def->supports(view, &why)) << plan->layers[i].name << ": " << why;
      auto tactics = def->tactics(view);
      EXPECT_FALSE(tactics.empty()) << plan->layers[i].name;
      for (const auto& tactic : tactics) {
        SCOPED_TRACE(str(plan->layers[i].name, " tactic ", dims_to_string(tactic)));
        auto got = run_plan(with_kernel(*plan, i, *def, tactic), tg.inputs());
        ASSERT_TRUE(got.ok()) << got.status().to_string();
        expect_close(*got, want, tol);
      }
    }
    EXPECT_EQ(convs, 7);
  }
}

// The GEMM convolution takes 2-D, group-1, channels-last layers only, and
// says why it refuses the others.
TEST(CudaConv, GemmConvRefusals) {
  KILN_REQUIRE_GPU();
  const CudaKernelDef* def = CudaKernelRegistry::global().find("cublaslt.conv");
  ASSERT_NE(def, nullptr);
  int linear_refusals = 0, group_refusals = 0, taken = 0;
  // fp32 stays NCHW (the builder lays out only fp16 convolutions channels last).
  for (bool nhwc : {false, true}) {
    TestGraph tg;
    mobilenet_block(nhwc ? DType::kFloat16 : DType::kFloat32, 1, 8, 16)(tg);
    auto g = tg.finish(nhwc);
    auto plan = build(*g, false);
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    for (size_t i = 0; i < plan->layers.size(); ++i) {
      if (plan->layers[i].kernel != "cudnn.conv") continue;
      std::string why;
      LayerView view = LayerView::of(*plan, i);
      const bool ok = def->supports(view, &why);
      // The builder lays fp16 convolutions out as it finds fastest, so the
      // expectation follows each layer's layout.
      const bool channels_last = view.in(0).layout == Layout::kNHWC;
      const bool depthwise = plan->layers[i].name.find("dw") != std::string::npos;
      EXPECT_EQ(ok, channels_last && !depthwise) << plan->layers[i].name << ": " << why;
      if (!channels_last) {
        EXPECT_NE(why.find("channels-last"), std::string::npos) << why;
        ++linear_refusals;
      } else if (depthwise) {
        EXPECT_NE(why.find("group"), std::string::npos) << why;
        ++group_refusals;
      } else {
        ++taken;
      }
    }
  }
  EXPECT_EQ(linear_refusals, 3);
  EXPECT_EQ(group_refusals, 1);
  EXPECT_EQ(taken, 2);
}

// Pads cuDNN cannot express (SAME_UPPER with stride 2 on an even size, explicit
// asymmetric pads) go through the zero-padded copy; 1-D and 3-D too.
TEST(CudaConv, AsymmetricPadsAnd1d3d) {
  KILN_REQUIRE_GPU();
  for (DType t : {DType::kFloat32, DType::kFloat16}) {
    for (bool nhwc : {false, true}) {
      SCOPED_TRACE(str(dtype_name(t), nhwc ? " nhwc" : " nchw"));
      Recipe r = [t](TestGraph& g) {
        Value* x = g.input("x", t, {2, 8, 32, 31}, 41);
        Value* a = g.op("Conv", "same_upper", {x, g.weight("w1", t, {16, 8, 3, 3}, 42), g.constant("b", t, {16}, 43, .1)},
                        {{"strides", ints({2, 2})}, {"auto_pad", Attr::of_string("SAME_UPPER")}});
        g.output(g.op("Relu", "relu", {a}));
        g.output(g.op("Conv", "asym", {x, g.weight("w2", t, {4, 4, 3, 2}, 44)},
                      {{"pads", ints({0, 1, 2, 0})}, {"strides", ints({3, 2})}, {"group", Attr::of_int(2)}}));
      };
      check_recipe(r, nhwc, t == DType::kFloat32 ? 1e-5 : 5e-3);
    }
    Recipe r13 = [t](TestGraph& g) {
      Value* x1 = g.input("x1", t, {2, 6, 40}, 51);
      g.output(g.op("Conv", "c1d", {x1, g.weight("w1", t, {8, 3, 5}, 52), g.constant("b1", t, {8}, 53, .1)},
                    {{"group", Attr::of_int(2)}, {"pads", ints({1, 3})}, {"dilations", ints({2})}}));
      Value* x3 = g.input("x3", t, {1, 4, 6, 7, 8}, 54);
      g.output(g.op("Conv", "c3d", {x3, g.weight("w3", t, {6, 4, 3, 3, 3}, 55), g.constant("b3", t, {6}, 56, .1)},
                    {{"pads", ints({1, 1, 1, 1, 1, 1})}, {"strides", ints({1, 2, 2})}}));
    };
    check_recipe(r13, false, t == DType::kFloat32 ? 1e-5 : 5e-3);
  }
}

// The direct path (symmetric pads, output_padding) and the full-result crop
// (asymmetric pads, output_shape beyond the full size), with and without bias.
TEST(CudaConv, ConvTransposeBothPaths) {
  KILN_REQUIRE_GPU();
  for (DType t : {DType::kFloat32, DType::kFloat16}) {
    SCOPED_TRACE(dtype_name(t));
    Recipe r = [t](TestGraph& g) {
      Value* x = g.input("x", t, {2, 16, 9, 11}, 61);
      g.output(g.op("ConvTranspose", "direct",
                    {x, g.weight("w1", t, {16, 8, 3, 3}, 62), g.constant("b1", t, {8}, 63, .1)},
                    {{"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}, {"output_padding", ints({1, 1})}}));
      g.output(g.op("ConvTranspose", "asym", {x, g.weight("w2", t, {16, 4, 4, 3}, 64), g.constant("b2", t, {8}, 65, .1)},
                    {{"strides", ints({2, 3})}, {"pads", ints({0, 2, 1, 0})}, {"group", Attr::of_int(2)}}));
      g.output(g.op("ConvTranspose", "beyond", {x, g.weight("w3", t, {16, 3, 3, 3}, 66)},
                    {{"strides", ints({2, 2})}, {"output_shape", ints({21, 24})}}));
    };
    BuildReport rep = check_recipe(r, false, t == DType::kFloat32 ? 1e-5 : 5e-3, /*autotune=*/true);
    EXPECT_EQ(count_kernel(rep, "cudnn.conv_transpose"), 3) << rep.to_text();
  }
}

TEST(CudaPool, ResNetStemAndHeadFp16ChannelsLast) {
  KILN_REQUIRE_GPU();
  for (bool nhwc : {false, true}) {
    SCOPED_TRACE(nhwc ? "nhwc" : "nchw");
    Recipe r = [](TestGraph& g) {
      Value* x = g.input("x", DType::kFloat16, {2, 64, 112, 112}, 71);
      g.output(g.op("MaxPool", "stem_pool", {x},
                    {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}}));
      Value* h = g.input("h", DType::kFloat16, {2, 2048, 7, 7}, 72);
      g.output(g.op("GlobalAveragePool", "head_pool", {h}));
      g.output(g.op("GlobalMaxPool", "head_max", {h}));
      g.output(g.op("AveragePool", "avg", {h},
                    {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}, {"count_include_pad", Attr::of_int(1)},
                     {"strides", ints({2, 2})}, {"ceil_mode", Attr::of_int(1)}}));
    };
    BuildReport rep = check_recipe(r, nhwc, 5e-3);
    EXPECT_EQ(count_kernel(rep, "kiln.pool"), 2) << rep.to_text();
    EXPECT_EQ(count_kernel(rep, "kiln.global_pool"), 2) << rep.to_text();
  }
}

// The channels-last pool kernel at each lane width (8 fp16/bf16 or 4 float
// channels per thread, one where channels do not divide), max and average,
// with pads, dilations, ceil mode and a 1-D pool.
TEST(CudaPool, ChannelsLastLaneWidths) {
  KILN_REQUIRE_GPU();
  for (DType t : {DType::kFloat16, DType::kBFloat16, DType::kFloat32}) {
    for (int64_t c : {24, 12, 5}) {
      SCOPED_TRACE(str(dtype_name(t), " C=", c));
      Recipe r = [t, c](TestGraph& g) {
        Value* x = g.input("x", t, {3, c, 17, 14}, 91);
        g.output(g.op("MaxPool", "max", {x},
                      {{"kernel_shape", ints({3, 2})}, {"strides", ints({2, 1})}, {"pads", ints({1, 0, 1, 1})},
                       {"dilations", ints({1, 2})}}));
        g.output(g.op("AveragePool", "avg", {x},
                      {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 0, 1})},
                       {"ceil_mode", Attr::of_int(1)}}));
        g.output(g.op("AveragePool", "avg_pad", {x},
                      {{"kernel_shape", ints({2, 3})}, {"pads", ints({1, 1, 1, 1})}, {"count_include_pad", Attr::of_int(1)}}));
      };
      BuildReport rep = check_recipe(r, true, t == DType::kFloat32 ? 1e-6 : 5e-3);
      EXPECT_EQ(count_kernel(rep, "kiln.pool"), 3) << rep.to_text();
    }
  }
}

// Indices count positions of the logical NCHW tensor whatever the layout.
TEST(CudaPool, MaxPoolIndicesChannelsLast) {
  KILN_REQUIRE_GPU();
  for (int64_t order : {0, 1}) {
    Recipe r = [order](TestGraph& g) {
      Value* x = g.input("x", DType::kFloat32, {2, 5, 9, 8}, 81);
      auto outs = g.node("MaxPool", "pool", {x},
                         {{"kernel_shape", ints({3, 2})}, {"strides", ints({2, 2})}, {"pads", ints({1, 0, 1, 1})},
                          {"storage_order", Attr::of_int(order)}},
                         2);
      g.output(outs[0]);
      g.output(outs[1]);
    };
    check_recipe(r, true, 1e-6);
  }
}

TEST(CudaConv, CudaGraphReplayMatchesEager) {
  KILN_REQUIRE_GPU();
  TestGraph tg;
  resnet_block(DType::kFloat16, 1, 64, 28)(tg);
  auto g = tg.finish(true);
  auto plan = build(*g, true);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  auto eager = run_plan(*plan, tg.inputs(), false);
  auto graphed = run_plan(*plan, tg.inputs(), true);
  ASSERT_TRUE(eager.ok()) << eager.status().to_string();
  ASSERT_TRUE(graphed.ok()) << graphed.status().to_string();
  ASSERT_EQ(eager->size(), 1u);
  EXPECT_EQ(std::memcmp((*eager)[0].bytes(), (*graphed)[0].bytes(), (*eager)[0].nbytes()), 0);
}

// A layer no cuconv kernel takes fails the build with the kernel's reason.
TEST(CudaConv, RefusalNamesTheReason) {
  KILN_REQUIRE_GPU();
  TestGraph tg;
  Value* x = tg.input("x", DType::kFloat64, {1, 2, 5, 5}, 91);
  tg.output(tg.op("Conv", "conv", {x, tg.weight("w", DType::kFloat64, {3, 2, 3, 3}, 92)}));
  auto g = tg.finish(false);
  auto plan = build(*g, false);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(plan.status().message().find("cudnn.conv: input type float64"), std::string::npos)
      << plan.status().to_string();
}

}  // namespace
}  // namespace kiln
