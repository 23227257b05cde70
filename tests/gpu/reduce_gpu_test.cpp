// Targeted tests of the cureduce CUDA kernels (Reduce*, ArgMax/Min, Softmax
// family, TopK, CumSum, the normalizations) against the CPU reference: every
// kernel path (register rows, block rows, shared-memory caching, column and
// generic walks, vector and scalar accesses), BERT's shapes, ties and NaN,
// empty tensors, CUDA-graph replay, and the reasons `supports` gives when it
// refuses (those run without a GPU). The op families' own cases run through
// op_cases_gpu_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "backends/cpu/interpreter.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/cuda_target.h"
#include "backends/cuda/kernel.h"
#include "gpu_test_util.h"
#include "ops/infer.h"
#include "ops/op_case.h"

namespace kiln {
namespace {

CaseInput data(DType t, std::vector<int64_t> dims, double lo = -2.0, double hi = 2.0, bool constant = false) {
  return CaseInput::random(t, std::move(dims), lo, hi, constant);
}

CaseInput values(DType t, std::vector<int64_t> dims, std::vector<double> v) {
  CaseInput in = data(t, std::move(dims));
  in.fvalues = std::move(v);
  return in;
}

CaseInput ints(std::vector<int64_t> v, bool constant = true) {
  CaseInput in;
  in.dtype = DType::kInt64;
  in.dims = {static_cast<int64_t>(v.size())};
  in.values = std::move(v);
  in.constant = constant;
  return in;
}

CaseInput omitted() {
  CaseInput in;
  in.omitted = true;
  return in;
}

OpCase make(const std::string& op, std::vector<CaseInput> inputs, std::map<std::string, Attr> attrs = {},
            int num_outputs = 1) {
  OpCase c;
  c.name = str("cureduce/", op, inputs.empty() ? "" : dims_to_string(inputs[0].dims));
  c.op = op;
  c.inputs = std::move(inputs);
  c.attrs = std::move(attrs);
  c.num_outputs = num_outputs;
  return c;
}

// n values cycling through `period` levels: many exact ties.
std::vector<double> cyclic(int64_t n, int period, int64_t stride = 1) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<double>((i * stride) % period);
  return v;
}

// Relative L2 error; NaN against NaN and equal infinities count as equal.
double rel_l2(const Tensor& got, const Tensor& want, bool* nan_mismatch) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double a = got.get_f64(i), b = want.get_f64(i);
    if (std::isnan(a) || std::isnan(b)) {
      if (std::isnan(a) != std::isnan(b)) *nan_mismatch = true;
      continue;
    }
    if (std::isinf(a) || std::isinf(b)) {
      if (a != b) *nan_mismatch = true;
      continue;
    }
    num += (a - b) * (a - b);
    den += b * b;
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

void compare(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].dims(), want[i].dims()) << "output " << i;
    ASSERT_EQ(got[i].dtype(), want[i].dtype()) << "output " << i;
    if (dtype_is_float(want[i].dtype())) {
      bool special = false;
      EXPECT_LE(rel_l2(got[i], want[i], &special), tol) << "output " << i << " relative L2 error";
      EXPECT_FALSE(special) << "output " << i << ": NaN/inf where the reference has none (or the reverse)";
    } else {
      for (int64_t k = 0; k < want[i].numel(); ++k) {
        if (got[i].get_i64(k) != want[i].get_i64(k)) {
          ADD_FAILURE() << "output " << i << " element " << k << ": " << got[i].get_i64(k)
                        << " != " << want[i].get_i64(k);
          break;
        }
      }
    }
  }
}

// Runs `c` on the CPU reference and as a GPU engine; checks the guard bytes,
// that `kernel` ran the layer, and the outputs within `tol`.
void expect_gpu_matches(const OpCase& c, double tol, const char* kernel, bool fp16_engine = false) {
  SCOPED_TRACE(c.name);
  auto cpu = build_case_graph(c, 11);
  ASSERT_TRUE(cpu.ok()) << cpu.status().to_string();
  auto want = run_graph_cpu(*cpu->graph, cpu->inputs);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  auto gpu = build_case_graph(c, 11);
  ASSERT_TRUE(gpu.ok());
  BuildOptions options;
  options.fp16 = fp16_engine;
  options.autotune = false;
  auto got = testing::run_graph_gpu(*gpu->graph, gpu->inputs, options);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_TRUE(got->guards_intact) << "a kernel wrote outside its output";
  bool used = std::any_of(got->report.layers.begin(), got->report.layers.end(),
                          [&](const LayerReport& l) { return l.kernel == kernel; });
  EXPECT_TRUE(used) << "expected kernel " << kernel << " in:\n" << got->report.to_text();
  compare(got->outputs, *want, tol);
}

std::map<std::string, Attr> axis(int64_t a) { return {{"axis", Attr::of_int(a)}}; }

// ---- BERT-base shapes -------------------------------------------------------------------

TEST(CuReduceGpu, BertLayerNormFp16) {
  KILN_REQUIRE_GPU();
  OpCase c = make("LayerNormalization", {data(DType::kFloat16, {2, 128, 768}, -3, 3),
                                         data(DType::kFloat16, {768}, 0.5, 1.5, true),
                                         data(DType::kFloat16, {768}, -1, 1, true)},
                  {{"epsilon", Attr::of_float(1e-12f)}});
  expect_gpu_matches(c, 2e-3, "kiln.rownorm");
}

TEST(CuReduceGpu, BertLayerNormFp32AndFp16Engine) {
  KILN_REQUIRE_GPU();
  OpCase c = make("LayerNormalization", {data(DType::kFloat32, {2, 128, 768}, -3, 3),
                                         data(DType::kFloat32, {768}, 0.5, 1.5, true),
                                         data(DType::kFloat32, {768}, -1, 1, true)});
  expect_gpu_matches(c, 1e-5, "kiln.rownorm");
  expect_gpu_matches(c, 5e-3, "kiln.rownorm", /*fp16_engine=*/true);
}

TEST(CuReduceGpu, BertSoftmaxFp16) {
  KILN_REQUIRE_GPU();
  expect_gpu_matches(make("Softmax", {data(DType::kFloat16, {2, 12, 128, 128}, -8, 8)}), 2e-3, "kiln.softmax");
  expect_gpu_matches(make("Softmax", {data(DType::kFloat32, {2, 12, 128, 128}, -8, 8)}), 1e-5, "kiln.softmax");
}

// ---- Softmax family -----------------------------------------------------------------------

TEST(CuReduceGpu, SoftmaxPaths) {
  KILN_REQUIRE_GPU();
  // Warp rows: scalar (odd n), vector (n a multiple of the vector), the 1024 limit.
  expect_gpu_matches(make("Softmax", {data(DType::kFloat16, {7, 129}, -5, 5)}), 2e-3, "kiln.softmax");
  expect_gpu_matches(make("Softmax", {data(DType::kBFloat16, {5, 1024}, -5, 5)}), 1e-2, "kiln.softmax");
  expect_gpu_matches(make("LogSoftmax", {data(DType::kFloat32, {9, 96})}), 1e-5, "kiln.softmax");
  // Block rows: cached in shared memory, then too long to cache.
  expect_gpu_matches(make("Softmax", {data(DType::kFloat32, {3, 3000}, -10, 10)}), 1e-5, "kiln.softmax");
  expect_gpu_matches(make("LogSoftmax", {data(DType::kFloat32, {2, 20000}, -10, 10)}), 1e-5, "kiln.softmax");
  // A non-last axis: one thread per line.
  expect_gpu_matches(make("Softmax", {data(DType::kFloat32, {4, 300, 5})}, axis(1)), 1e-5, "kiln.softmax");
}

TEST(CuReduceGpu, HardmaxTiesKeepFirst) {
  KILN_REQUIRE_GPU();
  expect_gpu_matches(make("Hardmax", {values(DType::kFloat32, {4, 500}, cyclic(2000, 7, 3))}), 0, "kiln.softmax");
  expect_gpu_matches(make("Hardmax", {values(DType::kFloat32, {2, 5000}, cyclic(10000, 11, 7))}), 0,
                     "kiln.softmax");
  expect_gpu_matches(make("Hardmax", {values(DType::kFloat32, {30, 4}, cyclic(120, 5, 3))}, axis(0)), 0,
                     "kiln.softmax");
}

// ---- Reduce* --------------------------------------------------------------------------------

TEST(CuReduceGpu, ReducePaths) {
  KILN_REQUIRE_GPU();
  const std::map<std::string, Attr> no_keep = {{"keepdims", Attr::of_int(0)}};
  // Rows: short (a warp each) and long (512 threads each).
  expect_gpu_matches(make("ReduceSum", {data(DType::kFloat32, {4, 10000}), ints({1})}), 1e-5, "kiln.reduce");
  expect_gpu_matches(make("ReduceL2", {data(DType::kFloat16, {300, 768}), ints({-1})}), 2e-3, "kiln.reduce");
  // Columns: long reduced axis split over threadIdx.y.
  expect_gpu_matches(make("ReduceMean", {data(DType::kFloat32, {5000, 40}), ints({0})}, no_keep), 1e-5,
                     "kiln.reduce");
  // Generic: two reduced groups.
  expect_gpu_matches(make("ReduceLogSumExp", {data(DType::kFloat32, {6, 50, 7, 9}, -20, 20), ints({1, 3})}), 1e-5,
                     "kiln.reduce");
  expect_gpu_matches(make("ReduceSumSquare", {data(DType::kBFloat16, {6, 50, 7, 9}), ints({0, 2})}, no_keep),
                     1e-2, "kiln.reduce");
  expect_gpu_matches(make("ReduceProd", {data(DType::kFloat16, {8, 20}, 0.9, 1.1), ints({1})}), 2e-3,
                     "kiln.reduce");
  // Integers: exact, wrap-around included.
  expect_gpu_matches(make("ReduceSum", {data(DType::kInt32, {16, 1000}, -2e9, 2e9), ints({1})}), 0, "kiln.reduce");
  expect_gpu_matches(make("ReduceMin", {data(DType::kInt64, {5, 6, 7}, -1e12, 1e12), ints({0, 2})}), 0,
                     "kiln.reduce");
  expect_gpu_matches(make("ReduceMean", {data(DType::kInt64, {9, 33}, -99, 99), ints({1})}), 0, "kiln.reduce");
}

TEST(CuReduceGpu, ReduceMaxMinPropagateNaN) {
  KILN_REQUIRE_GPU();
  std::vector<double> v = cyclic(64, 9);
  v[5] = NAN;   // row 0
  v[40] = NAN;  // row 2
  expect_gpu_matches(make("ReduceMax", {values(DType::kFloat32, {4, 16}, v), ints({1})}), 0, "kiln.reduce");
  expect_gpu_matches(make("ReduceMin", {values(DType::kFloat32, {4, 16}, v), ints({0})}), 0, "kiln.reduce");
  expect_gpu_matches(make("ReduceLogSumExp", {values(DType::kFloat32, {4, 16}, v), ints({1})}), 1e-6,
                     "kiln.reduce");
}

// ---- ArgMax / ArgMin / TopK / CumSum ------------------------------------------------------------

TEST(CuReduceGpu, ArgReduceTiesAndNaN) {
  KILN_REQUIRE_GPU();
  for (int64_t last : {0, 1}) {
    std::map<std::string, Attr> a = {{"axis", Attr::of_int(1)}, {"select_last_index", Attr::of_int(last)}};
    expect_gpu_matches(make("ArgMax", {values(DType::kFloat32, {8, 1000}, cyclic(8000, 13, 7))}, a), 0,
                       "kiln.argreduce");
    expect_gpu_matches(make("ArgMin", {values(DType::kFloat16, {8, 1000}, cyclic(8000, 13, 7))}, a), 0,
                       "kiln.argreduce");
    expect_gpu_matches(make("ArgMax", {values(DType::kFloat32, {300, 17}, cyclic(5100, 6, 5))},
                            {{"axis", Attr::of_int(0)}, {"select_last_index", Attr::of_int(last)}}),
                       0, "kiln.argreduce");
  }
  std::vector<double> v = cyclic(200, 10);
  v[77] = NAN;
  expect_gpu_matches(make("ArgMax", {values(DType::kFloat32, {2, 100}, v)}, axis(1)), 0, "kiln.argreduce");
  expect_gpu_matches(make("ArgMin", {values(DType::kFloat32, {2, 100}, v)}, axis(1)), 0, "kiln.argreduce");
}

OpCase topk(CaseInput x, int64_t k, std::map<std::string, Attr> attrs = {}) {
  return make("TopK", {std::move(x), ints({k})}, std::move(attrs), 2);
}

TEST(CuReduceGpu, TopKMatchesReferenceOrder) {
  KILN_REQUIRE_GPU();
  expect_gpu_matches(topk(values(DType::kFloat32, {4, 1000}, cyclic(4000, 97, 31)), 10), 0, "kiln.topk");
  expect_gpu_matches(topk(values(DType::kFloat32, {4, 1000}, cyclic(4000, 97, 31)), 10,
                          {{"largest", Attr::of_int(0)}}),
                     0, "kiln.topk");
  // 5000 pads to 8192: past 48 KiB of shared memory.
  expect_gpu_matches(topk(data(DType::kFloat32, {3, 5000}), 7), 0, "kiln.topk");
  expect_gpu_matches(topk(data(DType::kInt64, {2, 3000}, -50, 50), 5), 0, "kiln.topk");
  expect_gpu_matches(topk(data(DType::kFloat16, {500, 3}), 4, axis(0)), 0, "kiln.topk");
  std::vector<double> v = cyclic(64, 5);
  v[3] = NAN;
  expect_gpu_matches(topk(values(DType::kFloat32, {2, 32}, v), 4), 0, "kiln.topk");
}

TEST(CuReduceGpu, CumSumLongRowsAndColumns) {
  KILN_REQUIRE_GPU();
  std::map<std::string, Attr> ex_rev = {{"exclusive", Attr::of_int(1)}, {"reverse", Attr::of_int(1)}};
  expect_gpu_matches(make("CumSum", {data(DType::kFloat32, {3, 5000}), ints({1})}), 1e-5, "kiln.cumsum");
  expect_gpu_matches(make("CumSum", {data(DType::kFloat32, {3, 5000}), ints({-1})}, ex_rev), 1e-5, "kiln.cumsum");
  expect_gpu_matches(make("CumSum", {data(DType::kInt64, {2, 3000}, -1e15, 1e15), ints({1})}, ex_rev), 0,
                     "kiln.cumsum");
  expect_gpu_matches(make("CumSum", {data(DType::kFloat16, {300, 4, 6}), ints({0})}), 5e-3, "kiln.cumsum");
  // The axis as a run-time input: read on the device.
  expect_gpu_matches(make("CumSum", {data(DType::kFloat32, {30, 4, 6}), ints({-2}, false)}, ex_rev), 1e-5,
                     "kiln.cumsum");
  expect_gpu_matches(make("CumSum", {data(DType::kInt32, {5, 700}, -9, 9), ints({1}, false)}), 0, "kiln.cumsum");
}

// ---- normalizations -----------------------------------------------------------------------

TEST(CuReduceGpu, LayerNormPaths) {
  KILN_REQUIRE_GPU();
  auto ln = [](DType t, std::vector<int64_t> dims, std::vector<int64_t> param) {
    return std::vector<CaseInput>{data(t, std::move(dims)), data(t, param, 0.5, 1.5, true),
                                  data(t, param, -1, 1, true)};
  };
  // Registers with 2 iterations; too long for registers (three passes).
  expect_gpu_matches(make("LayerNormalization", ln(DType::kFloat32, {3, 4096}, {4096})), 1e-5, "kiln.rownorm");
  expect_gpu_matches(make("LayerNormalization", ln(DType::kFloat32, {2, 40000}, {40000})), 1e-5, "kiln.rownorm");
  // Statistics outputs, fp16, rows sharing a block (short rows).
  expect_gpu_matches(make("LayerNormalization", ln(DType::kFloat16, {64, 48}, {48}), {}, 3), 2e-3, "kiln.rownorm");
  // Scale broadcast along rows of two dims ([1, 4] over [.., 3, 4]).
  expect_gpu_matches(make("LayerNormalization", ln(DType::kFloat32, {5, 3, 4}, {1, 4}), axis(1)), 1e-5,
                     "kiln.rownorm");
  expect_gpu_matches(make("LayerNormalization", {data(DType::kBFloat16, {16, 1000}),
                                                 data(DType::kBFloat16, {1000}, 0.5, 1.5, true), omitted()}),
                     1e-2, "kiln.rownorm");
  // kiln.FusedLayerNorm on rows too long for registers (three passes over X + Z).
  OpCase fused = make("FusedLayerNorm", {data(DType::kFloat32, {2, 40000}), data(DType::kFloat32, {2, 40000}),
                                         data(DType::kFloat32, {40000}, 0.5, 1.5, true)});
  fused.domain = "kiln";
  expect_gpu_matches(fused, 1e-5, "kiln.rownorm");
}

TEST(CuReduceGpu, RmsLpGroupInstanceBatchNorm) {
  KILN_REQUIRE_GPU();
  expect_gpu_matches(make("RMSNormalization", {data(DType::kFloat16, {64, 4096}), data(DType::kFloat16, {4096}, 0.5,
                                                                                          1.5, true)}),
                     2e-3, "kiln.rownorm");
  expect_gpu_matches(make("RMSNormalization", {data(DType::kBFloat16, {8, 3000}), data(DType::kFloat32, {3000}, 0.5,
                                                                                           1.5, true)}),
                     1e-5, "kiln.rownorm");
  expect_gpu_matches(make("LpNormalization", {data(DType::kFloat32, {16, 1000})}), 1e-5, "kiln.rownorm");
  expect_gpu_matches(make("LpNormalization", {data(DType::kFloat32, {7, 50, 3})},
                          {{"axis", Attr::of_int(1)}, {"p", Attr::of_int(1)}}),
                     1e-5, "kiln.rownorm");
  auto gn = [](DType t, std::vector<int64_t> dims, int64_t params) {
    return std::vector<CaseInput>{data(t, std::move(dims)), data(t, {params}, 0.5, 1.5, true),
                                  data(t, {params}, -1, 1, true)};
  };
  expect_gpu_matches(make("GroupNormalization", gn(DType::kFloat32, {2, 32, 16, 16}, 32),
                          {{"num_groups", Attr::of_int(8)}}),
                     1e-5, "kiln.rownorm");
  expect_gpu_matches(make("GroupNormalization", gn(DType::kFloat32, {2, 32, 16, 16}, 32),
                          {{"num_groups", Attr::of_int(8)}}),
                     5e-3, "kiln.rownorm", /*fp16_engine=*/true);
  expect_gpu_matches(make("InstanceNormalization", gn(DType::kFloat16, {2, 64, 32, 32}, 64)), 2e-3, "kiln.rownorm");
  std::vector<CaseInput> bn = {data(DType::kFloat16, {2, 16, 7, 9}), data(DType::kFloat16, {16}, 0.5, 1.5, true),
                               data(DType::kFloat16, {16}, -1, 1, true), data(DType::kFloat32, {16}, -0.5, 0.5, true),
                               data(DType::kFloat32, {16}, 0.2, 2.0, true)};
  expect_gpu_matches(make("BatchNormalization", bn), 2e-3, "kiln.batchnorm");
}

TEST(CuReduceGpu, EmptyTensors) {
  KILN_REQUIRE_GPU();
  expect_gpu_matches(make("ReduceSum", {data(DType::kFloat32, {2, 0, 3}), ints({1})}), 0, "kiln.reduce");
  expect_gpu_matches(make("ReduceMax", {data(DType::kFloat32, {2, 0, 3}), ints({1})}), 0, "kiln.reduce");
  expect_gpu_matches(make("ReduceMean", {data(DType::kFloat32, {2, 0, 3}), ints({1})}), 0, "kiln.reduce");
  expect_gpu_matches(make("ReduceLogSumExp", {data(DType::kFloat32, {2, 0, 3}), ints({0, 1})}), 0, "kiln.reduce");
  expect_gpu_matches(make("Softmax", {data(DType::kFloat32, {0, 5})}), 0, "kiln.softmax");
  expect_gpu_matches(topk(data(DType::kFloat32, {3, 6}), 0), 0, "kiln.topk");
  expect_gpu_matches(make("CumSum", {data(DType::kFloat32, {0, 7}), ints({1})}), 0, "kiln.cumsum");
  // Rows without elements: only the (NaN) statistics are written.
  expect_gpu_matches(make("LayerNormalization", {data(DType::kFloat32, {3, 0}), data(DType::kFloat32, {0}, 0, 1, true),
                                                 data(DType::kFloat32, {0}, 0, 1, true)},
                          {}, 3),
                     0, "kiln.rownorm");
}

// ---- CUDA graph replay and bandwidth -----------------------------------------------------------

// A LayerNorm -> Softmax -> ReduceMean chain as one engine.
struct Chain {
  std::unique_ptr<Graph> graph;
  std::map<std::string, Tensor> inputs;
};

Expected<Chain> bert_chain(int64_t rows) {
  Chain c;
  c.graph = std::make_unique<Graph>();
  Graph& g = *c.graph;
  KILN_ASSIGN_OR_RETURN(Tensor x, Tensor::alloc(DType::kFloat32, {rows, 768}));
  fill_uniform(x, -3, 3, 5);
  KILN_ASSIGN_OR_RETURN(Tensor scale, Tensor::alloc(DType::kFloat32, {768}));
  fill_uniform(scale, 0.5, 1.5, 6);
  KILN_ASSIGN_OR_RETURN(Value * in, g.add_value("x"));
  in->dtype = DType::kFloat32;
  in->shape = Shape::of({rows, 768});
  in->shape_known = true;
  in->is_graph_input = true;
  g.inputs.push_back(in);
  c.inputs["x"] = std::move(x);
  KILN_ASSIGN_OR_RETURN(Value * s, g.add_value("scale"));
  s->dtype = DType::kFloat32;
  s->shape = Shape::of({768});
  s->shape_known = true;
  s->constant = std::make_shared<const Tensor>(std::move(scale));
  KILN_ASSIGN_OR_RETURN(Value * axes, g.add_value("axes"));
  axes->dtype = DType::kInt64;
  axes->shape = Shape::of({1});
  axes->shape_known = true;
  axes->constant = std::make_shared<const Tensor>(Tensor::from_i64({1}, {1}));
  Value* ln = g.add_unique_value("ln");
  Value* sm = g.add_unique_value("sm");
  KILN_ASSIGN_OR_RETURN(Value * out, g.add_value("y"));
  out->is_graph_output = true;
  g.outputs.push_back(out);
  KILN_ASSIGN_OR_RETURN(Node * n1, g.add_node("LayerNormalization", "ln", {in, s, nullptr}, {ln}, "", kMaxOnnxOpset));
  KILN_ASSIGN_OR_RETURN(Node * n2, g.add_node("Softmax", "sm", {ln}, {sm}, "", kMaxOnnxOpset));
  KILN_ASSIGN_OR_RETURN(Node * n3, g.add_node("ReduceMean", "mean", {sm, axes}, {out}, "", kMaxOnnxOpset));
  for (Node* n : {n1, n2, n3}) KILN_RETURN_IF_ERROR(infer_node(*n, Limits{}));
  return c;
}

// Device buffers for an engine's inputs (uploaded) and outputs, freed at the end.
struct Bound {
  std::vector<void*> buffers;
  ~Bound() {
    for (void* b : buffers) cudaFree(b);
  }
  Status bind(ExecutionContext& ctx, const EnginePlan& p, const std::map<std::string, Tensor>& inputs) {
    for (const auto* list : {&p.inputs, &p.outputs}) {
      for (int32_t t : *list) {
        const PlanTensor& pt = p.tensors[static_cast<size_t>(t)];
        void* d = nullptr;
        KILN_CUDA_CHECK(cudaMalloc(&d, std::max<uint64_t>(pt.bytes, 1)));
        buffers.push_back(d);
        auto it = inputs.find(pt.name);
        if (list == &p.inputs && it != inputs.end())
          KILN_CUDA_CHECK(cudaMemcpy(d, it->second.bytes(), pt.bytes, cudaMemcpyHostToDevice));
        KILN_RETURN_IF_ERROR(ctx.set_tensor_address(pt.name, d));
      }
    }
    return Status::Ok();
  }
};

// Builds `gpu` as an engine, replays it as a CUDA graph three times and
// compares its first output with `want`.
void expect_replay_matches(Chain& gpu, const std::vector<Tensor>& want, const BuildOptions& options, double tol) {
  auto built = testing::build_gpu_engine(*gpu.graph, options);
  ASSERT_TRUE(built.ok()) << built.status().to_string();
  ExecutionContext& ctx = *built->context;
  const EnginePlan& p = built->plan();
  Bound bound;
  ASSERT_TRUE(bound.bind(ctx, p, gpu.inputs).ok());
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ctx.enqueue_graph(stream).ok());
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  cudaStreamDestroy(stream);
  const PlanTensor& out = p.tensors[static_cast<size_t>(p.outputs[0])];
  auto host = Tensor::alloc(out.dtype, out.dims);
  ASSERT_TRUE(host.ok());
  void* dptr = bound.buffers.back();
  ASSERT_EQ(cudaMemcpy(host->mutable_bytes(), dptr, out.bytes, cudaMemcpyDeviceToHost), cudaSuccess);
  compare({*host}, want, tol);
}

TEST(CuReduceGpu, ChainReplaysAsCudaGraph) {
  KILN_REQUIRE_GPU();
  auto cpu = bert_chain(256);
  ASSERT_TRUE(cpu.ok()) << cpu.status().to_string();
  auto want = run_graph_cpu(*cpu->graph, cpu->inputs);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  auto gpu = bert_chain(256);
  ASSERT_TRUE(gpu.ok());
  BuildOptions options;
  options.autotune = false;
  expect_replay_matches(*gpu, *want, options, 1e-5);
}

// ---- kiln.FusedLayerNorm: BERT's residual Add -> LayerNorm ----------------------------------

// x + r -> LayerNormalization (last axis, constant scale and bias), all of
// type `t`: what fuse_layernorm turns into one kiln.FusedLayerNorm.
Expected<Chain> residual_layer_norm(DType t, const std::vector<int64_t>& dims) {
  Chain c;
  c.graph = std::make_unique<Graph>();
  Graph& g = *c.graph;
  std::vector<Value*> vals;  // x, r, scale, bias
  for (const char* name : {"x", "r", "scale", "bias"}) {
    const bool param = vals.size() >= 2;
    const std::vector<int64_t> shape = param ? std::vector<int64_t>{dims.back()} : dims;
    KILN_ASSIGN_OR_RETURN(Tensor data, Tensor::alloc(t, shape));
    fill_uniform(data, vals.size() == 2 ? 0.5 : -3.0, vals.size() == 2 ? 1.5 : 3.0, 17 + vals.size());
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(name));
    v->dtype = t;
    v->shape = Shape::of(shape);
    v->shape_known = true;
    if (param) {
      v->constant = std::make_shared<const Tensor>(std::move(data));
    } else {
      v->is_graph_input = true;
      g.inputs.push_back(v);
      c.inputs[name] = std::move(data);
    }
    vals.push_back(v);
  }
  Value* sum = g.add_unique_value("sum");
  KILN_ASSIGN_OR_RETURN(Value * out, g.add_value("y"));
  out->is_graph_output = true;
  g.outputs.push_back(out);
  KILN_ASSIGN_OR_RETURN(Node * add, g.add_node("Add", "residual", {vals[0], vals[1]}, {sum}, "", kMaxOnnxOpset));
  KILN_ASSIGN_OR_RETURN(Node * ln, g.add_node("LayerNormalization", "ln", {sum, vals[2], vals[3]}, {out}, "",
                                              kMaxOnnxOpset));
  ln->attrs["epsilon"] = Attr::of_float(1e-12f);
  for (Node* n : {add, ln}) KILN_RETURN_IF_ERROR(infer_node(*n, Limits{}));
  return c;
}

// Runs `make()`'s graph on the CPU reference and, built again, as a GPU
// engine (fp16 when asked); the report must hold exactly one `fused_op`
// layer on `kernel` and none of the ops it replaced, and the outputs must
// match within `tol`.
template <typename Make>
void expect_one_fused_layer(const Make& make, bool fp16, const std::string& fused_op, const std::string& kernel,
                            const std::set<std::string>& replaced_ops, double tol) {
  auto cpu = make();
  ASSERT_TRUE(cpu.ok()) << cpu.status().to_string();
  auto want = run_graph_cpu(*cpu->graph, cpu->inputs);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  auto gpu = make();
  ASSERT_TRUE(gpu.ok());
  BuildOptions options;
  options.fp16 = fp16;
  options.autotune = false;
  auto got = testing::run_graph_gpu(*gpu->graph, gpu->inputs, options);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_TRUE(got->guards_intact) << "a kernel wrote outside its output";
  int fused = 0, replaced = 0;
  for (const LayerReport& l : got->report.layers) {
    fused += l.op == fused_op && l.kernel == kernel;
    replaced += static_cast<int>(replaced_ops.count(l.op));
  }
  EXPECT_EQ(fused, 1) << got->report.to_text();
  EXPECT_EQ(replaced, 0) << got->report.to_text();
  compare(got->outputs, *want, tol);
}

// The engine of an fp32 or fp16 residual norm (fp32 graphs also as fp16
// engines) is one kiln.FusedLayerNorm layer on the row-norm kernel (vector
// rows at 768 and 1000, scalar rows at 33) and matches the unfused graph's
// CPU reference.
TEST(CuReduceGpu, ResidualLayerNormFuses) {
  KILN_REQUIRE_GPU();
  for (DType t : {DType::kFloat32, DType::kFloat16}) {
    for (const std::vector<int64_t>& dims : {std::vector<int64_t>{2, 128, 768}, {3, 5, 33}, {1, 7, 1000}}) {
      for (bool fp16_engine : {false, true}) {
        if (fp16_engine && t != DType::kFloat32) continue;
        SCOPED_TRACE(str(dtype_name(t), dims_to_string(dims), fp16_engine ? " fp16 engine" : ""));
        expect_one_fused_layer([&] { return residual_layer_norm(t, dims); }, fp16_engine, "kiln.FusedLayerNorm",
                               "kiln.rownorm", {"Add", "LayerNormalization"},
                               t == DType::kFloat16 ? 2e-3 : (fp16_engine ? 5e-3 : 1e-5));
      }
    }
  }
}

TEST(CuReduceGpu, ResidualLayerNormReplaysAsCudaGraph) {
  KILN_REQUIRE_GPU();
  auto cpu = residual_layer_norm(DType::kFloat16, {4, 128, 768});
  ASSERT_TRUE(cpu.ok()) << cpu.status().to_string();
  auto want = run_graph_cpu(*cpu->graph, cpu->inputs);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  auto gpu = residual_layer_norm(DType::kFloat16, {4, 128, 768});
  ASSERT_TRUE(gpu.ok());
  BuildOptions options;
  options.autotune = false;
  expect_replay_matches(*gpu, *want, options, 2e-3);
}

// The same plans without a GPU: BERT's shape takes kiln.rownorm as one fused layer.
TEST(CuReduceSupports, ResidualLayerNormPlansOneFusedLayer) {
  for (DType t : {DType::kFloat32, DType::kFloat16}) {
    for (bool fp16_engine : {false, true}) {
      SCOPED_TRACE(str(dtype_name(t), fp16_engine ? " fp16 engine" : ""));
      auto g = residual_layer_norm(t, {2, 128, 768});
      ASSERT_TRUE(g.ok()) << g.status().to_string();
      CudaBuildTarget target;
      BuildOptions options;
      options.fp16 = fp16_engine;
      options.autotune = false;
      BuildReport report;
      auto plan = build_engine_from_graph(*g->graph, options, target, &report);
      ASSERT_TRUE(plan.ok()) << plan.status().to_string();
      int fused = 0;
      for (const LayerReport& l : report.layers) {
        fused += l.op == "kiln.FusedLayerNorm" && l.kernel == "kiln.rownorm";
        EXPECT_TRUE(l.op != "Add" && l.op != "LayerNormalization") << report.to_text();
      }
      EXPECT_EQ(fused, 1) << report.to_text();
    }
  }
}

// ---- kiln.FusedSoftmax: attention's masked softmax -------------------------------------------

// p = Softmax(scores + mask), then Where(IsNaN(p), 0, p) with `guard`: what
// torch's dynamo export writes for Hugging Face attention. Both are inputs;
// the first mask row is -inf throughout (a fully masked row) unless the mask
// is a scalar.
Expected<Chain> masked_softmax(const std::vector<int64_t>& x_dims, const std::vector<int64_t>& mask_dims, bool guard) {
  Chain c;
  c.graph = std::make_unique<Graph>();
  Graph& g = *c.graph;
  auto input = [&](const std::string& name, const std::vector<int64_t>& dims, double lo,
                   double hi) -> Expected<Value*> {
    KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::alloc(DType::kFloat32, dims));
    fill_uniform(t, lo, hi, 17 + c.inputs.size());
    KILN_ASSIGN_OR_RETURN(Value * v, g.add_value(name));
    v->dtype = DType::kFloat32;
    v->shape = Shape::of(dims);
    v->shape_known = true;
    v->is_graph_input = true;
    g.inputs.push_back(v);
    c.inputs[name] = std::move(t);
    return v;
  };
  KILN_ASSIGN_OR_RETURN(Value * x, input("scores", x_dims, -8, 8));
  KILN_ASSIGN_OR_RETURN(Value * m, input("mask", mask_dims, -2, 0));
  if (!mask_dims.empty())
    for (int64_t k = 0; k < mask_dims.back(); ++k) c.inputs["mask"].set_f64(k, -INFINITY);
  KILN_ASSIGN_OR_RETURN(Value * zero, g.add_value("zero"));
  zero->dtype = DType::kFloat32;
  zero->shape_known = true;
  zero->constant = std::make_shared<const Tensor>(Tensor::from_f32({0.f}, {}));
  std::vector<Node*> nodes;
  auto add = [&](const char* op, std::vector<Value*> ins, bool last) -> Expected<Value*> {
    Value* out = g.add_unique_value(str(op, "_out"));
    if (last) {
      out->is_graph_output = true;
      g.outputs.push_back(out);
    }
    KILN_ASSIGN_OR_RETURN(Node * n, g.add_node(op, op, std::move(ins), {out}, "", kMaxOnnxOpset));
    KILN_RETURN_IF_ERROR(infer_node(*n, Limits{}));
    return out;
  };
  KILN_ASSIGN_OR_RETURN(Value * sum, add("Add", {x, m}, false));
  KILN_ASSIGN_OR_RETURN(Value * p, add("Softmax", {sum}, !guard));
  if (!guard) return c;
  KILN_ASSIGN_OR_RETURN(Value * nan, add("IsNaN", {p}, false));
  KILN_RETURN_IF_ERROR(add("Where", {nan, zero, p}, true).status());
  return c;
}

// The chain on the GPU (fp32 or fp16 engine) against the unfused CPU
// reference; the build report must show one kiln.FusedSoftmax layer and
// none of the ops it replaced.
void expect_fused_softmax(const std::vector<int64_t>& x_dims, const std::vector<int64_t>& mask_dims, bool guard,
                          bool fp16) {
  SCOPED_TRACE(str(dims_to_string(x_dims), " + ", dims_to_string(mask_dims), guard ? " guarded" : "",
                   fp16 ? " fp16" : " fp32"));
  expect_one_fused_layer([&] { return masked_softmax(x_dims, mask_dims, guard); }, fp16, "kiln.FusedSoftmax",
                         "kiln.softmax", {"Add", "Softmax", "IsNaN", "Where"}, fp16 ? 5e-3 : 1e-5);
}

TEST(CuReduceGpu, FusedSoftmaxBertMaskFp32AndFp16) {
  KILN_REQUIRE_GPU();
  for (bool fp16 : {false, true}) {
    expect_fused_softmax({2, 12, 128, 128}, {2, 1, 1, 128}, true, fp16);
    expect_fused_softmax({2, 12, 128, 128}, {2, 1, 128, 128}, true, fp16);
  }
}

// Odd rows (scalar and vector loads), rows past the warp path (block path),
// per-row and scalar masks, and the chain without the NaN guard (NaN rows
// stay NaN, as in the reference).
TEST(CuReduceGpu, FusedSoftmaxPathsAndMaskShapes) {
  KILN_REQUIRE_GPU();
  for (bool fp16 : {false, true}) {
    expect_fused_softmax({2, 3, 5, 7}, {2, 1, 1, 7}, true, fp16);
    expect_fused_softmax({2, 3, 5, 7}, {2, 1, 5, 7}, true, fp16);
    expect_fused_softmax({2, 3, 5, 7}, {2, 1, 5, 1}, true, fp16);
    expect_fused_softmax({2, 4, 33, 33}, {2, 1, 33, 33}, true, fp16);
    expect_fused_softmax({3, 2, 9, 33}, {}, true, fp16);
    expect_fused_softmax({2, 3, 4, 1500}, {2, 1, 1, 1500}, true, fp16);
    expect_fused_softmax({1, 2, 3, 12000}, {1, 1, 3, 12000}, true, fp16);  // too long to cache in shared memory
    expect_fused_softmax({2, 3, 5, 7}, {2, 1, 1, 7}, false, fp16);
    expect_fused_softmax({2, 4, 64, 64}, {4, 64, 64}, false, fp16);
  }
}

TEST(CuReduceGpu, FusedSoftmaxReplaysAsCudaGraph) {
  KILN_REQUIRE_GPU();
  auto cpu = masked_softmax({4, 12, 128, 128}, {4, 1, 1, 128}, true);
  ASSERT_TRUE(cpu.ok()) << cpu.status().to_string();
  auto want = run_graph_cpu(*cpu->graph, cpu->inputs);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  auto gpu = masked_softmax({4, 12, 128, 128}, {4, 1, 1, 128}, true);
  ASSERT_TRUE(gpu.ok());
  BuildOptions options;
  options.fp16 = true;
  options.autotune = false;
  expect_replay_matches(*gpu, *want, options, 5e-3);
}

// Prints the achieved bandwidth of BERT-base's LayerNorm and Softmax (fp16,
// batch 32) from CUDA-graph replays; informational, nothing is asserted
// beyond the runs succeeding.
double replay_ms(const OpCase& c, int64_t* bytes) {
  auto g = build_case_graph(c, 3);
  if (!g.ok()) return -1;
  BuildOptions options;
  options.autotune = false;
  auto built = testing::build_gpu_engine(*g->graph, options);
  if (!built.ok()) return -1;
  ExecutionContext& ctx = *built->context;
  const EnginePlan& p = built->plan();
  *bytes = 0;
  for (const auto* list : {&p.inputs, &p.outputs})
    for (int32_t t : *list) *bytes += static_cast<int64_t>(p.tensors[static_cast<size_t>(t)].bytes);
  Bound bound;
  if (!bound.bind(ctx, p, g->inputs).ok()) return -1;
  cudaStream_t stream;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  std::vector<float> times;
  bool ok = true;
  for (int i = 0; i < 10 && ok; ++i) ok = ctx.enqueue_graph(stream).ok();
  for (int rep = 0; rep < 21 && ok; ++rep) {
    cudaEventRecord(start, stream);
    for (int i = 0; i < 20 && ok; ++i) ok = ctx.enqueue_graph(stream).ok();
    cudaEventRecord(stop, stream);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    times.push_back(ms / 20);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaStreamDestroy(stream);
  if (!ok || times.empty()) return -1;
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

TEST(CuReduceGpu, BertBandwidthReport) {
  KILN_REQUIRE_GPU();
  OpCase ln = make("LayerNormalization", {data(DType::kFloat16, {32 * 128, 768}),
                                          data(DType::kFloat16, {768}, 0.5, 1.5, true),
                                          data(DType::kFloat16, {768}, -1, 1, true)});
  OpCase sm = make("Softmax", {data(DType::kFloat16, {32, 12, 128, 128}, -8, 8)});
  // BERT's masked softmax as the fusion pass leaves it (mask [B, 1, 1, S]).
  OpCase fsm = make("FusedSoftmax", {data(DType::kFloat16, {32, 12, 128, 128}, -8, 8),
                                     data(DType::kFloat16, {32, 1, 1, 128}, -1, 0)},
                    {{"nan_to_zero", Attr::of_int(1)}});
  fsm.domain = "kiln";
  for (const OpCase* c : {&ln, &sm, &fsm}) {
    int64_t bytes = 0;
    double ms = replay_ms(*c, &bytes);
    ASSERT_GT(ms, 0) << c->op << " did not run";
    std::printf("[ cureduce ] %s fp16 (batch 32): %.4f ms, %.0f GB/s (inputs + outputs once)\n", c->op.c_str(), ms,
                static_cast<double>(bytes) / (ms * 1e-3) / 1e9);
  }
}

// ---- supports: refusals name their reason (no GPU needed) -------------------------------------

struct OneLayer {
  EnginePlan plan;
  int32_t add(DType t, std::vector<int64_t> dims, Storage s, const std::vector<int64_t>& ints = {}) {
    PlanTensor pt;
    pt.name = str("t", plan.tensors.size());
    pt.dtype = t;
    pt.dims = std::move(dims);
    int64_t n = 1;
    for (int64_t d : pt.dims) n *= d;
    pt.bytes = static_cast<uint64_t>(n) * dtype_size(t);
    pt.storage = s;
    if (s == Storage::kWeight) {
      pt.offset = plan.weights.size();
      plan.weights.resize(pt.offset + pt.bytes);
      if (!ints.empty()) std::memcpy(plan.weights.data() + pt.offset, ints.data(), pt.bytes);
    }
    plan.tensors.push_back(pt);
    return static_cast<int32_t>(plan.tensors.size() - 1);
  }
  // Whether kernel `id` supports the layer; `why` gets the reason if not.
  bool supports(const std::string& op, std::vector<int32_t> in, std::vector<int32_t> out, const char* id,
                std::string* why, std::map<std::string, Attr> attrs = {}) {
    PlanLayer l;
    l.name = "layer";
    l.op = op;
    l.inputs = std::move(in);
    l.outputs = std::move(out);
    l.attrs = std::move(attrs);
    plan.layers = {l};
    const CudaKernelDef* def = CudaKernelRegistry::global().find(id);
    if (!def) {
      *why = str("no kernel ", id);
      return false;
    }
    return def->supports(LayerView::of(plan, 0), why);
  }
};

TEST(CuReduceSupports, RefusalsSayWhy) {
  std::string why;
  {
    OneLayer t;
    int32_t x = t.add(DType::kFloat32, {2, 20000}, Storage::kInput);
    int32_t k = t.add(DType::kInt64, {1}, Storage::kWeight, {5});
    int32_t v = t.add(DType::kFloat32, {2, 5}, Storage::kOutput);
    int32_t i = t.add(DType::kInt64, {2, 5}, Storage::kOutput);
    EXPECT_FALSE(t.supports("TopK", {x, k}, {v, i}, "kiln.topk", &why));
    EXPECT_NE(why.find("shared"), std::string::npos) << why;
  }
  {
    OneLayer t;
    int32_t x = t.add(DType::kFloat32, {3, 7}, Storage::kInput);
    int32_t k = t.add(DType::kInt64, {1}, Storage::kInput);
    int32_t v = t.add(DType::kFloat32, {3, 2}, Storage::kOutput);
    int32_t i = t.add(DType::kInt64, {3, 2}, Storage::kOutput);
    EXPECT_FALSE(t.supports("TopK", {x, k}, {v, i}, "kiln.topk", &why));
    EXPECT_NE(why.find("constant"), std::string::npos) << why;
  }
  {
    OneLayer t;
    int32_t x = t.add(DType::kFloat64, {3, 7}, Storage::kInput);
    int32_t a = t.add(DType::kInt64, {1}, Storage::kWeight, {1});
    int32_t y = t.add(DType::kFloat64, {3, 1}, Storage::kOutput);
    EXPECT_FALSE(t.supports("ReduceSum", {x, a}, {y}, "kiln.reduce", &why));
    EXPECT_NE(why.find("float64"), std::string::npos) << why;
  }
  {
    OneLayer t;
    int32_t x = t.add(DType::kFloat32, {2, 3, 4}, Storage::kInput);
    std::vector<int32_t> params;
    for (int i = 0; i < 4; ++i) params.push_back(t.add(DType::kFloat32, {3}, Storage::kWeight));
    int32_t y = t.add(DType::kFloat32, {2, 3, 4}, Storage::kOutput);
    EXPECT_FALSE(t.supports("BatchNormalization", {x, params[0], params[1], params[2], params[3]}, {y},
                            "kiln.batchnorm", &why, {{"training_mode", Attr::of_int(1)}}));
    EXPECT_NE(why.find("training_mode"), std::string::npos) << why;
  }
  {
    OneLayer t;
    int32_t x = t.add(DType::kFloat16, {2, 3, 5, 7}, Storage::kInput);
    int32_t b = t.add(DType::kFloat16, {2, 1, 1, 7}, Storage::kInput);
    int32_t wide = t.add(DType::kFloat16, {2, 3, 5, 7, 1}, Storage::kInput);
    int32_t y = t.add(DType::kFloat16, {2, 3, 5, 7}, Storage::kOutput);
    EXPECT_FALSE(t.supports("kiln.FusedSoftmax", {x, b}, {y}, "kiln.softmax", &why, {{"axis", Attr::of_int(2)}}));
    EXPECT_NE(why.find("last axis"), std::string::npos) << why;
    EXPECT_FALSE(t.supports("kiln.FusedSoftmax", {x, wide}, {y}, "kiln.softmax", &why));
    EXPECT_NE(why.find("higher rank"), std::string::npos) << why;
    EXPECT_TRUE(t.supports("kiln.FusedSoftmax", {x, b}, {y}, "kiln.softmax", &why,
                           {{"axis", Attr::of_int(-1)}, {"nan_to_zero", Attr::of_int(1)}}))
        << why;
  }
  {
    // And the common case is accepted.
    OneLayer t;
    int32_t x = t.add(DType::kFloat16, {256, 768}, Storage::kInput);
    int32_t s = t.add(DType::kFloat16, {768}, Storage::kWeight);
    int32_t b = t.add(DType::kFloat16, {768}, Storage::kWeight);
    int32_t y = t.add(DType::kFloat16, {256, 768}, Storage::kOutput);
    EXPECT_TRUE(t.supports("LayerNormalization", {x, s, b}, {y}, "kiln.rownorm", &why)) << why;
  }
  {
    // kiln.FusedLayerNorm: BERT's shape is accepted, with or without B;
    // another axis, or a Z that is not X's shape, is refused saying so.
    OneLayer t;
    int32_t x = t.add(DType::kFloat16, {256, 768}, Storage::kInput);
    int32_t z = t.add(DType::kFloat16, {256, 768}, Storage::kInput);
    int32_t z1 = t.add(DType::kFloat16, {1, 768}, Storage::kInput);
    int32_t s = t.add(DType::kFloat16, {768}, Storage::kWeight);
    int32_t b = t.add(DType::kFloat16, {768}, Storage::kWeight);
    int32_t y = t.add(DType::kFloat16, {256, 768}, Storage::kOutput);
    EXPECT_TRUE(t.supports("kiln.FusedLayerNorm", {x, z, s, b}, {y}, "kiln.rownorm", &why)) << why;
    EXPECT_TRUE(t.supports("kiln.FusedLayerNorm", {x, z, s}, {y}, "kiln.rownorm", &why)) << why;
    EXPECT_FALSE(
        t.supports("kiln.FusedLayerNorm", {x, z, s, b}, {y}, "kiln.rownorm", &why, {{"axis", Attr::of_int(0)}}));
    EXPECT_NE(why.find("last axis"), std::string::npos) << why;
    EXPECT_FALSE(t.supports("kiln.FusedLayerNorm", {x, z1, s, b}, {y}, "kiln.rownorm", &why));
    EXPECT_NE(why.find("Z must have X's type and dims"), std::string::npos) << why;
  }
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// Every case the reduce and norm families (and kiln.FusedSoftmax) declare builds a CUDA plan, except
// those refused for a reason Kiln documents: float64 (CPU reference only),
// BatchNormalization's training mode, and run-time axes/K that make output
// shapes data-dependent (refused by the builder before any kernel).
TEST(CuReduceSupports, FamilyCasesBuildOnCuda) {
  const std::set<std::string> ops = {
      "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
      "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin", "Softmax", "LogSoftmax", "Hardmax", "TopK", "CumSum",
      "LayerNormalization", "RMSNormalization", "BatchNormalization", "InstanceNormalization", "GroupNormalization",
      "LpNormalization", "FusedSoftmax", "FusedLayerNorm"};
  auto expected_refusal = [](const std::string& name) {
    for (const char* k : {"fp64", "training", "axes_runtime", "k_runtime"})
      if (name.find(k) != std::string::npos) return true;
    return false;
  };
  int built = 0;
  for (bool fp16 : {false, true}) {
    for (const OpCase& c : OpRegistry::global().cases()) {
      if (!ops.count(c.op)) continue;
      SCOPED_TRACE(str(c.name, fp16 ? " (fp16 engine)" : ""));
      auto g = build_case_graph(c, 7);
      ASSERT_TRUE(g.ok()) << g.status().to_string();
      CudaBuildTarget target;
      BuildOptions options;
      options.fp16 = fp16;
      options.autotune = false;
      auto plan = build_engine_from_graph(*g->graph, options, target, nullptr);
      if (plan.ok()) {
        ++built;
        continue;
      }
      EXPECT_EQ(plan.status().code(), ErrorCode::kUnsupported) << plan.status().to_string();
      EXPECT_TRUE(expected_refusal(c.name)) << plan.status().to_string();
    }
  }
  EXPECT_GT(built, 0);
}

}  // namespace
}  // namespace kiln
