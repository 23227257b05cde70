// Targeted GPU tests of the matmul family (src/backends/cuda/kernels/matmul*):
// BERT-sized GEMMs with fused bias/GELU in fp16 and fp32, batched and
// broadcast products, Gemm's transposes and C shapes, K == 0, autotuned
// cuBLASLt tactics, CUDA-graph replay, Attention with long sequences, GQA,
// masks and a KV cache, and Einsum. Each graph is built twice from one
// recipe: once for the CPU reference (unfused, computed in double), once for
// the GPU engine (which the build passes fuse and convert).
#include <gtest/gtest.h>

#include <cmath>
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

constexpr double kFp32Tol = 1e-5;
constexpr double kFp16Tol = 5e-3;

// A graph under construction with deterministic random inputs and weights.
class Net {
 public:
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  std::map<std::string, Tensor> feeds;

  Value* input(const std::string& name, DType t, std::vector<int64_t> dims, double lo = -1, double hi = 1) {
    Value* v = value(name, t, dims);
    v->is_graph_input = true;
    graph->inputs.push_back(v);
    feeds[name] = random(t, dims, lo, hi);
    return v;
  }
  Value* weight(const std::string& name, DType t, std::vector<int64_t> dims, double lo = -1, double hi = 1) {
    Value* v = value(name, t, dims);
    v->constant = std::make_shared<const Tensor>(random(t, dims, lo, hi));
    return v;
  }
  // Adds a node with `n_out` outputs and infers their types and shapes.
  std::vector<Value*> node(const std::string& op, std::vector<Value*> ins, std::map<std::string, Attr> attrs = {},
                           size_t n_out = 1, const std::string& domain = "", int64_t opset = kMaxOnnxOpset) {
    std::vector<Value*> outs;
    for (size_t i = 0; i < n_out; ++i) outs.push_back(graph->add_value(str(op, "_", counter_, "_out", i)).value());
    Node* n = graph->add_node(op, str(op, "_", counter_++), std::move(ins), outs, domain, opset).value();
    n->attrs = std::move(attrs);
    Status s = infer_node(*n, Limits{});
    EXPECT_TRUE(s.ok()) << s.to_string();
    return outs;
  }
  Value* node1(const std::string& op, std::vector<Value*> ins, std::map<std::string, Attr> attrs = {}) {
    return node(op, std::move(ins), std::move(attrs))[0];
  }
  void output(Value* v) {
    v->is_graph_output = true;
    graph->outputs.push_back(v);
  }

 private:
  Value* value(const std::string& name, DType t, const std::vector<int64_t>& dims) {
    Value* v = graph->add_value(name).value();
    v->dtype = t;
    v->shape = Shape::of(dims);
    v->shape_known = true;
    return v;
  }
  Tensor random(DType t, const std::vector<int64_t>& dims, double lo, double hi) {
    Tensor x = Tensor::alloc(t, dims).value();
    fill_uniform(x, lo, hi, 7919 * ++seed_);
    return x;
  }
  uint64_t seed_ = 0;
  int counter_ = 0;
};

using Recipe = std::function<void(Net&)>;

double rel_l2(const Tensor& got, const Tensor& want) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double a = got.get_f64(i), b = want.get_f64(i);
    if (std::isinf(a) && a == b) continue;
    num += (a - b) * (a - b);
    den += b * b;
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

void compare(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].dims(), want[i].dims()) << "output " << i;
    if (dtype_is_float(want[i].dtype())) {
      EXPECT_LE(rel_l2(got[i], want[i]), tol) << "output " << i << " relative L2 error";
    } else {
      for (int64_t k = 0; k < want[i].numel(); ++k)
        ASSERT_EQ(got[i].get_i64(k), want[i].get_i64(k)) << "output " << i << " element " << k;
    }
  }
}

struct Check {
  bool fp16 = false;
  double tol = kFp32Tol;
  std::string kernel;  // a layer must run on this kernel (if set)
  std::string op;      // ... and have this op (if set)
  bool autotune = false;
};

// An fp32 or fp16 engine, with that precision's tolerance.
Check on(bool fp16, std::string kernel, std::string op = "", bool autotune = false) {
  Check c;
  c.fp16 = fp16;
  c.tol = fp16 ? kFp16Tol : kFp32Tol;
  c.kernel = std::move(kernel);
  c.op = std::move(op);
  c.autotune = autotune;
  return c;
}

// Runs the recipe on the CPU reference and on a GPU engine and compares.
void expect_matches(const Recipe& recipe, const Check& c, testing::GpuRun* out = nullptr) {
  Net cpu, gpu;
  recipe(cpu);
  recipe(gpu);
  auto want = run_graph_cpu(*cpu.graph, cpu.feeds);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  BuildOptions options;
  options.fp16 = c.fp16;
  options.autotune = c.autotune;
  auto got = testing::run_graph_gpu(*gpu.graph, gpu.feeds, options);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_TRUE(got->guards_intact) << "a kernel wrote outside its output";
  compare(got->outputs, *want, c.tol);
  if (!c.kernel.empty()) {
    bool found = false;
    for (const auto& l : got->report.layers) found = found || (l.kernel == c.kernel && (c.op.empty() || l.op == c.op));
    EXPECT_TRUE(found) << "no " << c.op << " layer on " << c.kernel << ":\n" << got->report.to_text();
  }
  if (out) *out = std::move(got).value();
}

Attr i64(int64_t v) { return Attr::of_int(v); }
Attr f32(float v) { return Attr::of_float(v); }
Attr s(const char* v) { return Attr::of_string(v); }

// x [2, 128, 768] @ W [768, n] + b, then the activation (if any): a BERT layer.
Recipe bert_dense(int64_t n, const char* act, const char* approximate = "none") {
  return [=](Net& net) {
    Value* x = net.input("x", DType::kFloat32, {2, 128, 768});
    Value* w = net.weight("w", DType::kFloat32, {768, n}, -0.06, 0.06);
    Value* b = net.weight("b", DType::kFloat32, {n}, -0.5, 0.5);
    Value* y = net.node1("Add", {net.node1("MatMul", {x, w}), b});
    if (std::string(act) == "Gelu") y = net.node1("Gelu", {y}, {{"approximate", s(approximate)}});
    if (std::string(act) == "Relu") y = net.node1("Relu", {y});
    net.output(y);
  };
}

TEST(MatMulGpu, BertFfnBiasGeluFp16) {
  KILN_REQUIRE_GPU();
  expect_matches(bert_dense(3072, "Gelu"), on(true, "cublaslt.gemm", "kiln.FusedMatMul"));
}

TEST(MatMulGpu, BertFfnBiasGeluFp32) {
  KILN_REQUIRE_GPU();
  expect_matches(bert_dense(3072, "Gelu"), on(false, "cublaslt.gemm", "kiln.FusedMatMul"));
}

TEST(MatMulGpu, BertFfnTanhGeluEpilogueFp16) {
  KILN_REQUIRE_GPU();
  expect_matches(bert_dense(3072, "Gelu", "tanh"), on(true, "cublaslt.gemm", "kiln.FusedMatMul"));
}

TEST(MatMulGpu, BertQkvAndOutputProjectionsFp16) {
  KILN_REQUIRE_GPU();
  expect_matches(bert_dense(2304, ""), on(true, "cublaslt.gemm", "kiln.FusedMatMul"));
  expect_matches(bert_dense(768, "Relu"), on(true, "cublaslt.gemm", "kiln.FusedMatMul"));
}

TEST(MatMulGpu, BertAttentionBatchedMatMulsFp16) {
  KILN_REQUIRE_GPU();
  // Q . K^T and P . V of BERT-base: one strided-batched GEMM each.
  expect_matches(
      [](Net& net) {
        net.output(net.node1("MatMul", {net.input("q", DType::kFloat32, {2, 12, 128, 64}),
                                        net.input("kt", DType::kFloat32, {2, 12, 64, 128})}));
      },
      on(true, "cublaslt.gemm"));
  expect_matches(
      [](Net& net) {
        net.output(net.node1("MatMul", {net.input("p", DType::kFloat32, {2, 12, 128, 128}, 0, 0.02),
                                        net.input("v", DType::kFloat32, {2, 12, 128, 64})}));
      },
      on(true, "cublaslt.gemm"));
}

// BERT attention as torch's dynamo export writes it (scaled Q and K^T through
// Reshape/Transpose/Reshape, mask Add, Softmax, NaN guard, P . V), with sq
// queries and sk keys; the mask is [b, 1, 1, sk] or [b, 1, sq, sk] and, with
// `dead_batch`, masks every key of batch 0 (its rows become 0).
Recipe dynamo_attention(int64_t b, int64_t h, int64_t sq, int64_t sk, int64_t d, bool full_mask = false,
                        bool dead_batch = false) {
  return [=](Net& net) {
    auto ints = [&](const std::string& name, std::vector<int64_t> v) {
      Tensor t = Tensor::alloc(DType::kInt64, {static_cast<int64_t>(v.size())}).value();
      for (size_t i = 0; i < v.size(); ++i) t.set_i64(static_cast<int64_t>(i), v[i]);
      Value* c = net.weight(name, DType::kInt64, {static_cast<int64_t>(v.size())});
      c->constant = std::make_shared<const Tensor>(std::move(t));
      return c;
    };
    auto scalar = [&](const std::string& name, float x) {
      Value* c = net.weight(name, DType::kFloat32, {});
      Tensor t = Tensor::alloc(DType::kFloat32, {}).value();
      t.set_f64(0, x);
      c->constant = std::make_shared<const Tensor>(std::move(t));
      return c;
    };
    Value* q = net.input("q", DType::kFloat32, {b, h, sq, d});
    Value* k = net.input("k", DType::kFloat32, {b, h, sk, d});
    Value* v = net.input("v", DType::kFloat32, {b, h, sk, d});
    Value* mask = net.input("mask", DType::kFloat32, {b, 1, full_mask ? sq : 1, sk}, -3, 0);
    if (dead_batch) {
      Tensor& m = net.feeds["mask"];
      for (int64_t i = 0; i < m.numel() / b; ++i) m.set_f64(i, -INFINITY);
    }
    Value* kt = net.node1("Reshape", {k, ints("s1", {-1, sk, d})});
    kt = net.node1("Transpose", {kt}, {{"perm", Attr::of_ints({0, 2, 1})}});
    kt = net.node1("Reshape", {kt, ints("s2", {b, h, d, sk})});
    const float root = static_cast<float>(std::sqrt(1.0 / std::sqrt(static_cast<double>(d))));
    Value* scores = net.node1("MatMul", {net.node1("Mul", {q, scalar("c1", root)}), net.node1("Mul", {kt, scalar("c2", root)})});
    Value* p = net.node1("Softmax", {net.node1("Add", {scores, mask})}, {{"axis", i64(-1)}});
    p = net.node1("Where", {net.node1("IsNaN", {p}), scalar("zero", 0.f), p});
    net.output(net.node1("MatMul", {p, v}));
  };
}

// In fp16 the whole attention becomes one kiln.FusedAttention layer on
// tensor cores (head 64); in fp32 it stays cuBLASLt GEMMs and a softmax.
TEST(MatMulGpu, DynamoAttentionBecomesOneLayer) {
  KILN_REQUIRE_GPU();
  for (bool fp16 : {false, true}) {
    SCOPED_TRACE(fp16 ? "fp16" : "fp32");
    testing::GpuRun run;
    expect_matches(dynamo_attention(2, 3, 37, 37, 64),
                   fp16 ? on(true, "kiln.attention_tc", "kiln.FusedAttention") : on(false, "cublaslt.gemm"), &run);
    std::vector<std::string> ops;
    for (const auto& l : run.report.layers)
      if (l.op != "Cast") ops.push_back(l.op);  // fp16 engines convert the fp32 inputs and output
    const std::vector<std::string> want =
        fp16 ? std::vector<std::string>{"kiln.FusedAttention"}
             : std::vector<std::string>{"kiln.FusedMatMul", "kiln.FusedSoftmax", "MatMul"};
    EXPECT_EQ(ops, want) << run.report.to_text();
  }
}

// Both attention kernels (fp16) against the unfused CPU reference: query
// and key counts that are not multiples of the 64-row tiles, more keys than
// queries, both mask shapes, a batch whose keys are all masked, head sizes
// 32, 64, 80, 128 (tensor cores) and 40 (the row kernel).
TEST(MatMulGpu, FusedAttentionShapes) {
  KILN_REQUIRE_GPU();
  struct Shape5 {
    int64_t b, h, sq, sk, d;
  };
  for (const Shape5& s : {Shape5{2, 3, 37, 37, 64}, Shape5{1, 2, 130, 200, 64}, Shape5{2, 1, 64, 64, 32},
                          Shape5{1, 2, 65, 70, 128}, Shape5{2, 2, 20, 33, 80}, Shape5{2, 2, 9, 150, 40}}) {
    for (bool full_mask : {false, true}) {
      SCOPED_TRACE(str("b", s.b, " h", s.h, " sq", s.sq, " sk", s.sk, " d", s.d, full_mask ? " [b,1,sq,sk]" : ""));
      const bool tc = s.d % 16 == 0;
      expect_matches(dynamo_attention(s.b, s.h, s.sq, s.sk, s.d, full_mask, /*dead_batch=*/s.b > 1),
                     on(true, tc ? "kiln.attention_tc" : "kiln.attention_rows", "kiln.FusedAttention"));
    }
  }
}

// Attention as the projections feed it: Q, K, V are [outer..., s, h, d] and
// go through head transposes, and so does Y; the mask is `mask_dims`.
Recipe projections_attention(std::vector<int64_t> outer, std::vector<int64_t> mask_dims) {
  return [=](Net& net) {
    const int64_t s = 64, h = 4, d = 64;
    const size_t r = outer.size() + 3;
    std::vector<int64_t> dims = outer, swap(r), kt(r);
    dims.insert(dims.end(), {s, h, d});
    for (size_t i = 0; i < r; ++i) swap[i] = kt[i] = static_cast<int64_t>(i);
    std::swap(swap[r - 3], swap[r - 2]);
    std::swap(kt[r - 2], kt[r - 1]);
    auto heads = [&](const char* name) {
      return net.node1("Transpose", {net.input(name, DType::kFloat32, dims)}, {{"perm", Attr::of_ints(swap)}});
    };
    Value* q = heads("q");
    Value* k = heads("k");
    Value* v = heads("v");
    Value* scores = net.node1("MatMul", {q, net.node1("Transpose", {k}, {{"perm", Attr::of_ints(kt)}})});
    Value* mask = net.input("mask", DType::kFloat32, mask_dims, -3, 0);
    Value* p = net.node1("Softmax", {net.node1("Add", {scores, mask})}, {{"axis", i64(-1)}});
    net.output(net.node1("Transpose", {net.node1("MatMul", {p, v})}, {{"perm", Attr::of_ints(swap)}}));
  };
}

// Planning only (runs without a GPU): in an fp16 engine BERT's attention is
// one tensor-core layer reading and writing the projections' layout, with no
// transpose left. A mask whose batch dims do not collapse to one stride goes
// to the row kernel, and the tensor-core kernel says why it refused.
TEST(MatMulSupports, ProjectionsLayoutAttentionPlansOneLayer) {
  struct Case {
    std::vector<int64_t> outer, mask;
    const char* kernel;
  };
  for (const Case& c : {Case{{2}, {2, 1, 1, 64}, "kiln.attention_tc"},
                        Case{{2, 3}, {2, 1, 1, 64, 64}, "kiln.attention_rows"}}) {
    SCOPED_TRACE(c.kernel);
    Net net;
    projections_attention(c.outer, c.mask)(net);
    BuildOptions options;
    options.fp16 = true;
    options.autotune = false;
    CudaBuildTarget target;
    BuildReport report;
    auto plan = build_engine_from_graph(*net.graph, options, target, &report);
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    int attention = -1, others = 0;
    for (size_t i = 0; i < report.layers.size(); ++i) {
      if (report.layers[i].op == "kiln.FusedAttention") attention = static_cast<int>(i);
      else others += report.layers[i].op != "Cast";  // fp16 engines convert the fp32 inputs and output
    }
    ASSERT_GE(attention, 0) << report.to_text();
    EXPECT_EQ(others, 0) << report.to_text();
    EXPECT_EQ(report.layers[static_cast<size_t>(attention)].kernel, c.kernel) << report.to_text();
    if (std::string(c.kernel) == "kiln.attention_rows") {
      std::string why;
      const CudaKernelDef* tc = CudaKernelRegistry::global().find("kiln.attention_tc");
      ASSERT_NE(tc, nullptr);
      EXPECT_FALSE(tc->supports(LayerView::of(*plan, static_cast<size_t>(attention)), &why));
      EXPECT_NE(why.find("collapse"), std::string::npos) << why;
    }
  }
}

TEST(MatMulGpu, BatchBroadcastOuterLoopAndZeroStride) {
  KILN_REQUIRE_GPU();
  // Batch [3, 4] from A [3, 1] and B [4]: an outer loop of 3 strided batches of 4.
  expect_matches(
      [](Net& net) {
        net.output(net.node1("MatMul", {net.input("a", DType::kFloat32, {3, 1, 33, 17}),
                                        net.input("b", DType::kFloat32, {4, 17, 9})}));
      },
      on(false, "cublaslt.gemm"));
  // A shared by every batch of B: stride 0.
  expect_matches(
      [](Net& net) {
        net.output(net.node1("MatMul", {net.input("a", DType::kFloat32, {33, 17}),
                                        net.input("b", DType::kFloat32, {6, 17, 9})}));
      },
      on(true, "cublaslt.gemm"));
  // Rank-4 weight product folded into one GEMM with M' = 2 * 3 * 5.
  expect_matches(
      [](Net& net) {
        net.output(net.node1("MatMul", {net.input("a", DType::kFloat32, {2, 3, 5, 40}),
                                        net.weight("w", DType::kFloat32, {40, 24})}));
      },
      on(false, "cublaslt.gemm"));
}

TEST(MatMulGpu, GemmTransposesAndCShapes) {
  KILN_REQUIRE_GPU();
  for (bool fp16 : {false, true}) {
    for (std::vector<int64_t> c : {std::vector<int64_t>{65, 1}, std::vector<int64_t>{70}, std::vector<int64_t>{65, 70}}) {
      expect_matches(
          [&](Net& net) {
            Value* a = net.input("a", DType::kFloat32, {130, 65});
            Value* b = net.input("b", DType::kFloat32, {70, 130});
            Value* cc = net.input("c", DType::kFloat32, c);
            net.output(net.node1("Gemm", {a, b, cc},
                                 {{"transA", i64(1)}, {"transB", i64(1)}, {"alpha", f32(0.5f)}, {"beta", f32(2.f)}}));
          },
          on(fp16, "cublaslt.gemm"));
    }
  }
  // C as a bias with alpha == beta == 1: cuBLASLt's bias epilogue.
  expect_matches(
      [](Net& net) {
        net.output(net.node1("Gemm", {net.input("a", DType::kFloat32, {256, 768}),
                                      net.weight("w", DType::kFloat32, {768, 768}, -0.06, 0.06),
                                      net.weight("c", DType::kFloat32, {768})},
                             {{"transB", i64(1)}}));
      },
      on(false, "cublaslt.gemm"));
}

TEST(MatMulGpu, FusedMatMulEmptyKAndBatchedB) {
  KILN_REQUIRE_GPU();
  // K == 0: relu(bias) everywhere.
  expect_matches(
      [](Net& net) {
        Value* a = net.input("a", DType::kFloat32, {4, 0});
        Value* b = net.weight("b", DType::kFloat32, {0, 6});
        Value* bias = net.weight("bias", DType::kFloat32, {6});
        net.output(net.node("FusedMatMul", {a, b, bias}, {{"activation", s("Relu")}}, 1, "kiln", 1)[0]);
      },
      on(false, "cublaslt.gemm"));
  // B with batch dims: the bias and exact GELU run after the strided-batched GEMM.
  expect_matches(
      [](Net& net) {
        Value* a = net.input("a", DType::kFloat32, {2, 5, 16});
        Value* b = net.input("b", DType::kFloat32, {2, 16, 33});
        Value* bias = net.weight("bias", DType::kFloat32, {33});
        net.output(net.node("FusedMatMul", {a, b, bias}, {{"activation", s("Gelu")}}, 1, "kiln", 1)[0]);
      },
      on(false, "cublaslt.gemm"));
  // Rows of whole 16-byte steps: the vectorized in-place bias + GELU kernel.
  for (bool fp16 : {false, true}) {
    expect_matches(
        [](Net& net) {
          Value* a = net.input("a", DType::kFloat32, {3, 7, 16});
          Value* b = net.input("b", DType::kFloat32, {3, 16, 40});
          Value* bias = net.weight("bias", DType::kFloat32, {40});
          net.output(net.node("FusedMatMul", {a, b, bias}, {{"activation", s("Gelu")}}, 1, "kiln", 1)[0]);
        },
        on(fp16, "cublaslt.gemm"));
  }
}

TEST(MatMulGpu, AutotunedTacticsStayCorrect) {
  KILN_REQUIRE_GPU();
  testing::GpuRun run;
  expect_matches(
      [](Net& net) {
        net.output(net.node1("MatMul", {net.input("a", DType::kFloat32, {256, 512}),
                                        net.weight("w", DType::kFloat32, {512, 384}, -0.05, 0.05)}));
      },
      on(true, "cublaslt.gemm", "", true), &run);
  for (const auto& l : run.report.layers) {
    if (l.kernel != "cublaslt.gemm") continue;
    EXPECT_GE(l.candidates, 1);
    if (l.candidates > 1) {
      EXPECT_GE(l.tuned_ms, 0.0) << "several tactics but none was timed";
    }
  }
}

TEST(MatMulGpu, IntegerMatMulAndMatMulInteger) {
  KILN_REQUIRE_GPU();
  expect_matches(
      [](Net& net) {
        net.output(net.node1("MatMul", {net.input("a", DType::kInt32, {3, 5, 7}, -100, 100),
                                        net.input("b", DType::kInt32, {7, 4}, -100, 100)}));
      },
      on(false, "kiln.matmul_int"));
  expect_matches(
      [](Net& net) {
        Value* a = net.input("a", DType::kUInt8, {2, 9, 31}, 0, 255);
        Value* b = net.input("b", DType::kInt8, {31, 6}, -128, 127);
        Value* za = net.input("za", DType::kUInt8, {9}, 0, 255);
        Value* zb = net.input("zb", DType::kInt8, {6}, -128, 127);
        net.output(net.node1("MatMulInteger", {a, b, za, zb}));
      },
      on(false, "kiln.matmul_int"));
}

// Attention with a KV sequence longer than one 128-key tile.
Recipe long_attention(bool causal, bool mask) {
  return [=](Net& net) {
    Value* q = net.input("q", DType::kFloat32, {2, 8, 37, 64});
    Value* k = net.input("k", DType::kFloat32, {2, 2, 300, 64});
    Value* v = net.input("v", DType::kFloat32, {2, 2, 300, 48});
    std::vector<Value*> ins = {q, k, v};
    if (mask) ins.push_back(net.input("mask", DType::kFloat32, {2, 1, 37, 300}, -2, 0));
    std::map<std::string, Attr> attrs;
    if (causal) attrs["is_causal"] = i64(1);
    net.output(net.node("Attention", ins, attrs)[0]);
  };
}

TEST(MatMulGpu, AttentionLongSequenceGqa) {
  KILN_REQUIRE_GPU();
  for (bool fp16 : {false, true}) {
    expect_matches(long_attention(false, false), on(fp16, "kiln.attention"));
    expect_matches(long_attention(true, false), on(fp16, "kiln.attention"));
    expect_matches(long_attention(false, true), on(fp16, "kiln.attention"));
  }
}

TEST(MatMulGpu, AttentionKvCacheAllOutputs) {
  KILN_REQUIRE_GPU();
  for (int mode = 0; mode < 4; ++mode) {
    expect_matches(
        [mode](Net& net) {
          Value* q = net.input("q", DType::kFloat32, {2, 5, 64});  // 3-D: 4 q heads of 16
          Value* k = net.input("k", DType::kFloat32, {2, 5, 32});  // 2 kv heads
          Value* v = net.input("v", DType::kFloat32, {2, 5, 40});  // v head 20
          Value* mask = net.input("mask", DType::kBool, {5, 205}, 0, 1);
          Value* pk = net.input("pk", DType::kFloat32, {2, 2, 200, 16});
          Value* pv = net.input("pv", DType::kFloat32, {2, 2, 200, 20});
          auto outs = net.node("Attention", {q, k, v, mask, pk, pv},
                               {{"q_num_heads", i64(4)},
                                {"kv_num_heads", i64(2)},
                                {"is_causal", i64(1)},
                                {"softcap", f32(3.f)},
                                {"qk_matmul_output_mode", i64(mode)}},
                               4);
          for (Value* o : outs) net.output(o);
        },
        on(false, "kiln.attention"));
  }
}

TEST(MatMulGpu, EinsumContractions) {
  KILN_REQUIRE_GPU();
  expect_matches(
      [](Net& net) {
        net.output(net.node1("Einsum", {net.input("q", DType::kFloat32, {2, 4, 33, 16}),
                                        net.input("k", DType::kFloat32, {2, 4, 40, 16})},
                             {{"equation", s("bhqd,bhkd->bhqk")}}));
      },
      on(false, "kiln.einsum"));
  expect_matches(
      [](Net& net) {
        net.output(net.node1("Einsum", {net.input("x", DType::kFloat32, {3, 5, 7, 7})},
                             {{"equation", s("...ii->...i")}}));
      },
      on(false, "kiln.einsum"));
}

// The fused BERT FFN captured into a CUDA graph and replayed twice.
TEST(MatMulGpu, CudaGraphReplay) {
  KILN_REQUIRE_GPU();
  Net cpu, gpu;
  bert_dense(3072, "Gelu")(cpu);
  bert_dense(3072, "Gelu")(gpu);
  auto want = run_graph_cpu(*cpu.graph, cpu.feeds);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  BuildOptions options;
  options.fp16 = true;
  options.autotune = false;
  auto built = testing::build_gpu_engine(*gpu.graph, options);
  ASSERT_TRUE(built.ok()) << built.status().to_string();
  ExecutionContext& ctx = *built->context;
  const EnginePlan& p = built->plan();
  std::vector<void*> buffers;
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  Status st = Status::Ok();
  for (int32_t t : p.inputs) {
    const PlanTensor& pt = p.tensors[static_cast<size_t>(t)];
    void* d = nullptr;
    if (st.ok()) st = cuda_status(cudaMalloc(&d, pt.bytes), "cudaMalloc");
    if (d) buffers.push_back(d);
    if (st.ok())
      st = cuda_status(cudaMemcpy(d, gpu.feeds.at(pt.name).bytes(), pt.bytes, cudaMemcpyHostToDevice), "upload");
    if (st.ok()) st = ctx.set_tensor_address(pt.name, d);
  }
  const PlanTensor& out = p.tensors[static_cast<size_t>(p.outputs.at(0))];
  void* d_out = nullptr;
  if (st.ok()) st = cuda_status(cudaMalloc(&d_out, out.bytes), "cudaMalloc");
  if (d_out) buffers.push_back(d_out);
  if (st.ok()) st = ctx.set_tensor_address(out.name, d_out);
  for (int rep = 0; rep < 2 && st.ok(); ++rep) {
    if (st.ok()) st = cuda_status(cudaMemsetAsync(d_out, 0xff, out.bytes, stream), "cudaMemsetAsync");
    if (st.ok()) st = ctx.enqueue_graph(stream);
    if (st.ok()) st = cuda_status(cudaStreamSynchronize(stream), "replay");
    if (!st.ok()) break;
    Tensor got = Tensor::alloc(out.dtype, out.dims).value();
    st = cuda_status(cudaMemcpy(got.mutable_bytes(), d_out, out.bytes, cudaMemcpyDeviceToHost), "download");
    if (st.ok()) {
      EXPECT_LE(rel_l2(got, (*want)[0]), kFp16Tol) << "replay " << rep;
    }
  }
  for (void* b : buffers) cudaFree(b);
  cudaStreamDestroy(stream);
  ASSERT_TRUE(st.ok()) << st.to_string();
}

}  // namespace
}  // namespace kiln
