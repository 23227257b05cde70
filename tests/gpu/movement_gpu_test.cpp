// Targeted tests of the cumove kernel family (data movement) against the CPU
// reference: the BERT-shaped Transpose/Gather/Concat/Slice cases, each
// transpose tactic, vectorised and misaligned copies, duplicate-index
// scatters, CUDA-graph capture, the fills that only reach an engine by hand,
// and the refusals of data-dependent ops. Movement must be bit-exact.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "backends/cpu/interpreter.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_libraries.h"
#include "backends/cuda/cuda_target.h"
#include "backends/cuda/kernel.h"
#include "gpu_test_util.h"
#include "ops/infer.h"
#include "ops/op_case.h"

namespace kiln {
namespace {

using Attrs = std::map<std::string, Attr>;

struct In {
  Tensor t;
  bool constant = false;
  bool omitted = false;
};

In data(DType dtype, std::vector<int64_t> dims, uint64_t seed = 1, double lo = -4, double hi = 4) {
  Tensor t = Tensor::alloc(dtype, std::move(dims)).value();
  fill_uniform(t, lo, hi, seed);
  return {std::move(t), false, false};
}

Tensor ints_tensor(const std::vector<int64_t>& v, std::vector<int64_t> dims, DType dtype = DType::kInt64) {
  Tensor t = Tensor::alloc(dtype, std::move(dims)).value();
  for (size_t i = 0; i < v.size(); ++i) t.set_i64(static_cast<int64_t>(i), v[i]);
  return t;
}

In ints(const std::vector<int64_t>& v, bool constant = true, DType dtype = DType::kInt64) {
  return {ints_tensor(v, {static_cast<int64_t>(v.size())}, dtype), constant, false};
}

In idx(const std::vector<int64_t>& v, std::vector<int64_t> dims, DType dtype = DType::kInt64) {
  return {ints_tensor(v, std::move(dims), dtype), false, false};
}

In omitted() { return {Tensor(), false, true}; }

struct OneNode {
  std::unique_ptr<Graph> graph;
  std::map<std::string, Tensor> feeds;
};

// A one-node graph with inference run (what a real model gives the builder).
Expected<OneNode> one_node(const std::string& op, const Attrs& attrs, const std::vector<In>& inputs, int outputs,
                           int64_t opset = kMaxOnnxOpset) {
  OneNode g{std::make_unique<Graph>(), {}};
  std::vector<Value*> ins, outs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].omitted) {
      ins.push_back(nullptr);
      continue;
    }
    KILN_ASSIGN_OR_RETURN(Value * v, g.graph->add_value(str("in", i)));
    v->dtype = inputs[i].t.dtype();
    v->shape = inputs[i].t.shape();
    v->shape_known = true;
    if (inputs[i].constant) {
      v->constant = std::make_shared<const Tensor>(inputs[i].t);
    } else {
      v->is_graph_input = true;
      g.graph->inputs.push_back(v);
      g.feeds[v->name] = inputs[i].t;
    }
    ins.push_back(v);
  }
  for (int i = 0; i < outputs; ++i) {
    KILN_ASSIGN_OR_RETURN(Value * v, g.graph->add_value(str("out", i)));
    v->is_graph_output = true;
    g.graph->outputs.push_back(v);
    outs.push_back(v);
  }
  KILN_ASSIGN_OR_RETURN(Node * node, g.graph->add_node(op, "test_" + op, ins, outs, "", opset));
  node->attrs = attrs;
  KILN_RETURN_IF_ERROR(infer_node(*node, Limits{}));
  return g;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.dims() == b.dims() && a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.bytes(), b.bytes(), a.nbytes()) == 0);
}

double max_rel_diff(const Tensor& a, const Tensor& b) {
  double worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    double x = a.get_f64(i), y = b.get_f64(i);
    double d = std::fabs(x - y) / std::max(1.0, std::fabs(y));
    worst = std::max(worst, d);
  }
  return worst;
}

// Builds an engine on the CUDA backend and checks it against the CPU
// reference: bit-exact unless `tolerance` is given (atomic float reductions).
void expect_matches_cpu(const std::string& op, const Attrs& attrs, const std::vector<In>& inputs, int outputs = 1,
                        double tolerance = -1, bool autotune = false) {
  SCOPED_TRACE(op);
  auto cpu = one_node(op, attrs, inputs, outputs);
  ASSERT_TRUE(cpu.ok()) << cpu.status().to_string();
  auto want = run_graph_cpu(*cpu->graph, cpu->feeds);
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  auto gpu = one_node(op, attrs, inputs, outputs);
  ASSERT_TRUE(gpu.ok());
  BuildOptions options;
  options.autotune = autotune;
  auto got = testing::run_graph_gpu(*gpu->graph, gpu->feeds, options);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_TRUE(got->guards_intact) << "a kernel wrote outside its output";
  ASSERT_EQ(got->outputs.size(), want->size());
  for (size_t i = 0; i < want->size(); ++i) {
    if (tolerance < 0)
      EXPECT_TRUE(same_bytes(got->outputs[i], (*want)[i])) << "output " << i << " differs:\n got  "
                                                           << got->outputs[i].to_string(24) << "\n want "
                                                           << (*want)[i].to_string(24);
    else
      EXPECT_LE(max_rel_diff(got->outputs[i], (*want)[i]), tolerance) << "output " << i;
  }
}

// ---- running one kernel directly (tactics, alignment, capture, fills) ----

struct DirectOptions {
  std::vector<int64_t> tactic;
  size_t out_offset = 0;  // bytes the output pointer is moved off its 256-byte alignment
  bool capture = false;   // enqueue inside a CUDA graph capture
  int timing_reps = 0;    // > 0: also time this many enqueues
};

struct DirectRun {
  std::vector<Tensor> outputs;
  bool guards_intact = true;
  double ms_per_run = 0;
};

constexpr size_t kGuard = 256;
constexpr uint8_t kGuardByte = 0x5A;

// Runs kernel `id` on one layer whose outputs take `out_types` dims/types.
Expected<DirectRun> run_direct(const std::string& id, const std::string& op, const Attrs& attrs,
                               const std::vector<In>& inputs, const std::vector<Tensor>& out_types,
                               const DirectOptions& o = {}) {
  EnginePlan plan;
  PlanLayer layer;
  layer.name = "direct_" + op;
  layer.op = op;
  layer.kernel = id;
  layer.attrs = attrs;
  layer.tactic = o.tactic;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].omitted) {
      layer.inputs.push_back(-1);
      continue;
    }
    PlanTensor t;
    t.name = str("in", i);
    t.dtype = inputs[i].t.dtype();
    t.dims = inputs[i].t.dims();
    t.bytes = inputs[i].t.nbytes();
    t.storage = inputs[i].constant ? Storage::kWeight : Storage::kInput;
    if (inputs[i].constant) {
      t.offset = (plan.weights.size() + 255) / 256 * 256;
      plan.weights.resize(t.offset + t.bytes);
      if (t.bytes) std::memcpy(plan.weights.data() + t.offset, inputs[i].t.bytes(), t.bytes);
    }
    layer.inputs.push_back(static_cast<int32_t>(plan.tensors.size()));
    plan.tensors.push_back(t);
  }
  for (size_t i = 0; i < out_types.size(); ++i) {
    PlanTensor t;
    t.name = str("out", i);
    t.dtype = out_types[i].dtype();
    t.dims = out_types[i].dims();
    t.bytes = out_types[i].nbytes();
    t.storage = Storage::kOutput;
    layer.outputs.push_back(static_cast<int32_t>(plan.tensors.size()));
    plan.tensors.push_back(t);
  }
  plan.layers.push_back(layer);
  LayerView view = LayerView::of(plan, 0);
  const CudaKernelDef* def = CudaKernelRegistry::global().find(id);
  if (!def) return Internal("no kernel ", id);
  std::string why;
  if (def->supports && !def->supports(view, &why)) return Unsupported(id, ": ", why);
  uint64_t ws = def->workspace ? def->workspace(view) : 0;
  CudaLibraries libs;
  KILN_ASSIGN_OR_RETURN(auto kernel, def->create(view, libs));

  std::vector<void*> blocks;
  auto alloc = [&](uint64_t bytes) -> Expected<uint8_t*> {
    void* p = nullptr;
    KILN_RETURN_IF_ERROR(cuda_status(cudaMalloc(&p, bytes + 2 * kGuard + 16), "cudaMalloc"));
    blocks.push_back(p);
    return static_cast<uint8_t*>(p);
  };
  DirectRun run;
  Status s = [&]() -> Status {
    LaunchArgs args;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].omitted) {
        args.inputs.push_back(nullptr);
        continue;
      }
      KILN_ASSIGN_OR_RETURN(uint8_t * p, alloc(inputs[i].t.nbytes()));
      if (inputs[i].t.nbytes())
        KILN_RETURN_IF_ERROR(cuda_status(
            cudaMemcpy(p, inputs[i].t.bytes(), inputs[i].t.nbytes(), cudaMemcpyHostToDevice), "upload"));
      args.inputs.push_back(p);
    }
    std::vector<uint8_t*> outs;
    for (const Tensor& t : out_types) {
      KILN_ASSIGN_OR_RETURN(uint8_t * p, alloc(t.nbytes() + o.out_offset));
      KILN_RETURN_IF_ERROR(cuda_status(cudaMemset(p, kGuardByte, t.nbytes() + 2 * kGuard + o.out_offset), "memset"));
      outs.push_back(p + o.out_offset);
      args.outputs.push_back(p + o.out_offset + kGuard);
    }
    if (ws) {
      KILN_ASSIGN_OR_RETURN(uint8_t * p, alloc(ws));
      args.workspace = p;
      args.workspace_bytes = ws;
    }
    cudaStream_t stream;
    KILN_RETURN_IF_ERROR(cuda_status(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "stream"));
    args.stream = stream;
    args.libs = &libs;
    Status r = Status::Ok();
    if (o.capture) {
      cudaGraph_t graph = nullptr;
      cudaGraphExec_t exec = nullptr;
      r = cuda_status(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "begin capture");
      Status e = r.ok() ? kernel->enqueue(args) : r;
      Status end = cuda_status(cudaStreamEndCapture(stream, &graph), "end capture (enqueue not capturable?)");
      r = !e.ok() ? e : end;
      if (r.ok()) r = cuda_status(cudaGraphInstantiate(&exec, graph, 0), "instantiate");
      if (r.ok()) r = cuda_status(cudaGraphLaunch(exec, stream), "graph launch");
      if (exec) cudaGraphExecDestroy(exec);
      if (graph) cudaGraphDestroy(graph);
    } else {
      r = kernel->enqueue(args);
    }
    if (r.ok()) r = cuda_status(cudaStreamSynchronize(stream), "running the kernel");
    if (r.ok() && o.timing_reps > 0) {
      cudaEvent_t a, b;
      cudaEventCreate(&a);
      cudaEventCreate(&b);
      cudaEventRecord(a, stream);
      for (int i = 0; i < o.timing_reps && r.ok(); ++i) r = kernel->enqueue(args);
      cudaEventRecord(b, stream);
      if (r.ok()) r = cuda_status(cudaEventSynchronize(b), "timing");
      float ms = 0;
      cudaEventElapsedTime(&ms, a, b);
      run.ms_per_run = ms / o.timing_reps;
      cudaEventDestroy(a);
      cudaEventDestroy(b);
    }
    cudaStreamDestroy(stream);
    KILN_RETURN_IF_ERROR(r);
    for (size_t i = 0; i < out_types.size(); ++i) {
      const Tensor& t = out_types[i];
      std::vector<uint8_t> host(t.nbytes() + 2 * kGuard);
      KILN_RETURN_IF_ERROR(cuda_status(cudaMemcpy(host.data(), outs[i], host.size(), cudaMemcpyDeviceToHost), "download"));
      for (size_t k = 0; k < kGuard; ++k)
        if (host[k] != kGuardByte || host[kGuard + t.nbytes() + k] != kGuardByte) run.guards_intact = false;
      KILN_ASSIGN_OR_RETURN(Tensor out, Tensor::alloc(t.dtype(), t.dims()));
      if (t.nbytes()) std::memcpy(out.mutable_bytes(), host.data() + kGuard, t.nbytes());
      run.outputs.push_back(std::move(out));
    }
    return Status::Ok();
  }();
  for (void* p : blocks) cudaFree(p);
  KILN_RETURN_IF_ERROR(s);
  return run;
}

// The CPU reference's outputs of one node (also the output types for run_direct).
std::vector<Tensor> cpu_outputs(const std::string& op, const Attrs& attrs, const std::vector<In>& inputs,
                                int outputs = 1) {
  auto g = one_node(op, attrs, inputs, outputs);
  EXPECT_TRUE(g.ok()) << g.status().to_string();
  if (!g.ok()) return {};
  // Constant inputs stay initializers: evaluate the node on its inputs directly.
  std::vector<const Tensor*> ins;
  for (const In& i : inputs) ins.push_back(i.omitted ? nullptr : &i.t);
  auto r = run_node_cpu(*g->graph->nodes()[0], ins, Limits{});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : std::vector<Tensor>{};
}

void expect_direct_matches(const std::string& id, const std::string& op, const Attrs& attrs,
                           const std::vector<In>& inputs, const DirectOptions& o = {}) {
  SCOPED_TRACE(id + " " + op);
  std::vector<Tensor> want = cpu_outputs(op, attrs, inputs);
  ASSERT_FALSE(want.empty());
  auto got = run_direct(id, op, attrs, inputs, want, o);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_TRUE(got->guards_intact) << "a kernel wrote outside its output";
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_TRUE(same_bytes(got->outputs[i], want[i])) << "got " << got->outputs[i].to_string(24) << "\nwant "
                                                      << want[i].to_string(24);
}

Attr I(int64_t v) { return Attr::of_int(v); }
Attr Is(std::vector<int64_t> v) { return Attr::of_ints(std::move(v)); }
Attr S(const char* v) { return Attr::of_string(v); }

// ---- tests ----

TEST(CudaMovement, TransposeShapes) {
  KILN_REQUIRE_GPU();
  // BERT head split [B,S,H,D] -> [B,H,S,D]: vectorised strided copy.
  expect_matches_cpu("Transpose", {{"perm", Is({0, 2, 1, 3})}}, {data(DType::kFloat32, {2, 16, 12, 64})});
  expect_matches_cpu("Transpose", {{"perm", Is({0, 2, 1, 3})}}, {data(DType::kFloat16, {2, 9, 4, 24})});
  // K^T [B,S,H,D] -> [B,H,D,S] and NCHW -> NHWC: the tiled kernel, odd sizes.
  expect_matches_cpu("Transpose", {{"perm", Is({0, 2, 3, 1})}}, {data(DType::kFloat32, {2, 37, 3, 45})});
  expect_matches_cpu("Transpose", {{"perm", Is({0, 2, 3, 1})}}, {data(DType::kFloat16, {2, 3, 17, 19})});
  expect_matches_cpu("Transpose", {{"perm", Is({1, 0})}}, {data(DType::kInt8, {70, 33})});
  expect_matches_cpu("Transpose", {{"perm", Is({1, 0})}}, {data(DType::kInt64, {40, 65})}, 1, -1, true);
  expect_matches_cpu("Transpose", {{"perm", Is({5, 1, 3, 0, 4, 2})}}, {data(DType::kBFloat16, {2, 3, 1, 4, 5, 3})});
  expect_matches_cpu("Transpose", {}, {data(DType::kUInt8, {0, 5, 3})});
}

TEST(CudaMovement, TransposeEveryTactic) {
  KILN_REQUIRE_GPU();
  for (int64_t tactic : {0, 1}) {
    DirectOptions o;
    o.tactic = {tactic};
    expect_direct_matches("kiln.transpose", "Transpose", {{"perm", Is({0, 2, 3, 1})}},
                          {data(DType::kFloat16, {3, 40, 5, 33})}, o);
    expect_direct_matches("kiln.transpose", "Transpose", {{"perm", Is({2, 1, 0})}},
                          {data(DType::kFloat64, {33, 2, 65})}, o);
  }
}

TEST(CudaMovement, MisalignedOutputFallsBackToNarrowerMoves) {
  KILN_REQUIRE_GPU();
  for (size_t offset : {2, 4, 8}) {
    DirectOptions o;
    o.out_offset = offset;
    expect_direct_matches("kiln.transpose", "Transpose", {{"perm", Is({0, 2, 1, 3})}},
                          {data(DType::kFloat16, {2, 5, 3, 16})}, o);
    expect_direct_matches("kiln.gather", "Gather", {},
                          {data(DType::kFloat16, {10, 32}), idx({3, -1, 0}, {3})}, o);
  }
}

TEST(CudaMovement, ConcatAndSplit) {
  KILN_REQUIRE_GPU();
  expect_matches_cpu("Concat", {{"axis", I(1)}},
                     {data(DType::kFloat16, {2, 5, 8}), data(DType::kFloat16, {2, 3, 8}), data(DType::kFloat16, {2, 0, 8})});
  expect_matches_cpu("Concat", {{"axis", I(-1)}},
                     {data(DType::kInt8, {3, 5}), data(DType::kInt8, {3, 7}), data(DType::kInt8, {3, 1})});
  expect_matches_cpu("Concat", {{"axis", I(0)}}, {data(DType::kFloat32, {4, 64}), data(DType::kFloat32, {2, 64})});
  expect_matches_cpu("Split", {{"axis", I(1)}}, {data(DType::kFloat32, {4, 10}), ints({3, 7})}, 2);
  expect_matches_cpu("Split", {{"num_outputs", I(3)}}, {data(DType::kInt64, {7, 2})}, 3);
  expect_matches_cpu("Split", {{"axis", I(2)}}, {data(DType::kFloat16, {2, 3, 48}), ints({16, 0, 32})}, 3);
}

TEST(CudaMovement, SliceExpandTile) {
  KILN_REQUIRE_GPU();
  expect_matches_cpu("Slice", {},
                     {data(DType::kFloat32, {4, 6, 32}), ints({-1, 5, 1}), ints({-5, 0, 30}), ints({0, 1, 2}),
                      ints({-2, -1, 3})});
  // Inner run of 32 fp32 at an offset of 16: 16-byte vectors.
  expect_matches_cpu("Slice", {}, {data(DType::kFloat32, {8, 64}), ints({16}), ints({48}), ints({1})});
  // A contiguous block: one memcpy.
  expect_matches_cpu("Slice", {}, {data(DType::kFloat16, {8, 5, 3}), ints({2}), ints({6}), ints({0})});
  expect_matches_cpu("Slice", {}, {data(DType::kInt8, {5, 7}), ints({0, 100}), ints({5, -100}), omitted(),
                                   ints({1, -3})});
  expect_matches_cpu("Expand", {}, {data(DType::kFloat32, {3, 1, 8}), ints({2, 3, 5, 8})});
  expect_matches_cpu("Expand", {}, {data(DType::kBool, {1, 4}), ints({3, 1})});
  expect_matches_cpu("Tile", {}, {data(DType::kInt64, {2, 3, 4}), ints({2, 1, 3})});
  expect_matches_cpu("Tile", {}, {data(DType::kFloat16, {3, 8}), ints({1, 4})});
}

TEST(CudaMovement, GatherFamily) {
  KILN_REQUIRE_GPU();
  // An embedding lookup: whole rows as 16-byte vectors.
  expect_matches_cpu("Gather", {}, {data(DType::kFloat16, {300, 64}), idx({5, -1, 299, 0, 7, 7, -300}, {1, 7})});
  expect_matches_cpu("Gather", {}, {data(DType::kFloat32, {50, 24}), idx({1, 2, 3, -4, 49, 0}, {2, 3}, DType::kInt32)});
  expect_matches_cpu("Gather", {{"axis", I(1)}}, {data(DType::kInt8, {3, 5, 3}), idx({4, -5, 2}, {3})});
  expect_matches_cpu("Gather", {{"axis", I(-1)}}, {data(DType::kFloat32, {2, 3}), {ints_tensor({-1}, {}), false}});
  expect_matches_cpu("GatherElements", {{"axis", I(1)}},
                     {data(DType::kFloat16, {3, 4}), idx({3, 0, -1, 2, 1, 1, -4, 0}, {2, 4})});
  expect_matches_cpu("GatherND", {{"batch_dims", I(1)}},
                     {data(DType::kFloat32, {2, 3, 8}), idx({2, -3, 1, 0}, {2, 2, 1})});
  expect_matches_cpu("GatherND", {}, {data(DType::kInt32, {4, 3, 2}), idx({3, 2, -4, 0, 1, 1}, {3, 2})});
}

TEST(CudaMovement, GatherOutOfRangeWritesZeros) {
  KILN_REQUIRE_GPU();
  // The CPU reference reports index 9 as an error; the GPU cannot, and
  // writes that row as zeros without reading outside the data.
  In table = data(DType::kFloat32, {4, 8});
  DirectOptions o;
  Tensor out = Tensor::alloc(DType::kFloat32, {3, 8}).value();
  auto got = run_direct("kiln.gather", "Gather", {}, {table, idx({1, 9, -2}, {3})}, {out}, o);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  const Tensor& g = got->outputs[0];
  for (int64_t k = 0; k < 8; ++k) {
    EXPECT_EQ(g.get_f64(k), table.t.get_f64(8 + k));
    EXPECT_EQ(g.get_f64(8 + k), 0.0);
    EXPECT_EQ(g.get_f64(16 + k), table.t.get_f64(16 + k));
  }
}

TEST(CudaMovement, ScatterDuplicatesLastWins) {
  KILN_REQUIRE_GPU();
  // Run-time indices with duplicates: the claim pass makes the last update win.
  expect_matches_cpu("ScatterND", {},
                     {data(DType::kFloat32, {6, 16}), idx({1, 4, 1, -5, 4, 1}, {6, 1}), data(DType::kFloat32, {6, 16}, 3)});
  expect_matches_cpu("ScatterElements", {{"axis", I(1)}},
                     {data(DType::kInt8, {3, 5}), idx({0, 0, 4, 1, -1, 1, 2, 2, 2}, {3, 3}), data(DType::kInt8, {3, 3}, 4)});
  // Constant, unique indices: no claim pass.
  expect_matches_cpu("ScatterND", {},
                     {data(DType::kFloat16, {5, 8}), {ints_tensor({4, 0, 2}, {3, 1}), true}, data(DType::kFloat16, {3, 8})});
}

TEST(CudaMovement, ScatterReductions) {
  KILN_REQUIRE_GPU();
  for (const char* red : {"add", "mul", "max", "min"}) {
    SCOPED_TRACE(red);
    std::vector<int64_t> many(40);
    for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int64_t>(i % 3);
    // Integers, bool, 1- and 2-byte elements: exact.
    expect_matches_cpu("ScatterElements", {{"reduction", S(red)}},
                       {data(DType::kInt32, {3}), idx(many, {40}), data(DType::kInt32, {40}, 5)});
    expect_matches_cpu("ScatterElements", {{"reduction", S(red)}},
                       {data(DType::kUInt8, {3}, 2, 0, 9), idx(many, {40}), data(DType::kUInt8, {40}, 5, 0, 9)});
    expect_matches_cpu("ScatterND", {{"reduction", S(red)}},
                       {data(DType::kBool, {4, 3}, 1, 0, 1), idx({1, 1, -1, 0}, {4, 1}), data(DType::kBool, {4, 3}, 2, 0, 1)});
    expect_matches_cpu("ScatterND", {{"reduction", S(red)}},
                       {data(DType::kInt64, {4, 3}), idx({1, 1, -1, 0}, {4, 1}), data(DType::kInt64, {4, 3}, 2)});
    // Floats: exact up to the order of rounding.
    expect_matches_cpu("ScatterND", {{"reduction", S(red)}},
                       {data(DType::kFloat32, {4, 3}), idx({1, 1, -1, 0}, {4, 1}), data(DType::kFloat32, {4, 3}, 2)},
                       1, 1e-6);
    expect_matches_cpu("ScatterElements", {{"reduction", S(red)}},
                       {data(DType::kFloat16, {3}, 1, -1, 1), idx(many, {40}), data(DType::kFloat16, {40}, 5, 0.9, 1.1)},
                       1, 1e-2);
  }
}

TEST(CudaMovement, OneHotTriluCompress) {
  KILN_REQUIRE_GPU();
  In on_off{Tensor::from_f32({-1.0f, 3.0f}, {2}), true};
  expect_matches_cpu("OneHot", {{"axis", I(-2)}},
                     {data(DType::kFloat32, {3, 2}, 1, -9, 9), {ints_tensor({4}, {}), true}, on_off});
  expect_matches_cpu("OneHot", {{"axis", I(0)}}, {idx({0, -1, 5, 2}, {4}, DType::kInt32), {ints_tensor({3}, {}), true},
                                                  on_off});
  expect_matches_cpu("Trilu", {{"upper", I(0)}}, {data(DType::kInt64, {2, 3, 4}), {ints_tensor({-1}, {}), true}});
  expect_matches_cpu("Trilu", {}, {data(DType::kFloat16, {5, 3}), {ints_tensor({2}, {}), false}});
  In cond{Tensor::alloc(DType::kBool, {4}).value(), true};
  cond.t.set_i64(1, 1);
  cond.t.set_i64(3, 1);
  expect_matches_cpu("Compress", {{"axis", I(1)}}, {data(DType::kFloat32, {2, 4, 3}), cond});
}

TEST(CudaMovement, FillsReachingAnEngine) {
  KILN_REQUIRE_GPU();
  auto scalar = [](DType t, double v) {
    Tensor s = Tensor::alloc(t, {}).value();
    s.set_f64(0, v);
    return In{s, false};
  };
  expect_direct_matches("kiln.range", "Range", {},
                        {scalar(DType::kFloat32, -1.5), scalar(DType::kFloat32, 3.2), scalar(DType::kFloat32, 0.7)});
  expect_direct_matches("kiln.range", "Range", {},
                        {scalar(DType::kInt32, 10), scalar(DType::kInt32, -3), scalar(DType::kInt32, -4)});
  expect_direct_matches("kiln.range", "Range", {},
                        {scalar(DType::kFloat16, 0.5), scalar(DType::kFloat16, 9), scalar(DType::kFloat16, 0.25)});
  expect_direct_matches("kiln.constant_of_shape", "ConstantOfShape",
                        {{"value", Attr::of_tensor(ints_tensor({7}, {1}))}}, {ints({3, 5}, false)});
  expect_direct_matches("kiln.constant_of_shape", "ConstantOfShape",
                        {{"value", Attr::of_tensor(Tensor::from_f32({1.5f}, {1}))}}, {ints({4, 3}, false)});
  expect_direct_matches("kiln.constant_of_shape", "ConstantOfShape", {}, {ints({2, 2}, false)});
  expect_direct_matches("kiln.shape", "Shape", {{"start", I(1)}, {"end", I(-1)}}, {data(DType::kInt8, {2, 3, 5, 7})});
  expect_direct_matches("kiln.size", "Size", {}, {data(DType::kFloat32, {2, 0, 3})});
}

TEST(CudaMovement, EnqueueIsCapturable) {
  KILN_REQUIRE_GPU();
  DirectOptions o;
  o.capture = true;
  expect_direct_matches("kiln.scatter_nd", "ScatterND", {},
                        {data(DType::kFloat32, {5, 4}), idx({1, 1, 3}, {3, 1}), data(DType::kFloat32, {3, 4}, 2)}, o);
  expect_direct_matches("kiln.concat", "Concat", {{"axis", I(1)}},
                        {data(DType::kFloat16, {3, 8}), data(DType::kFloat16, {3, 4})}, o);
  expect_direct_matches("kiln.transpose", "Transpose", {{"perm", Is({1, 0})}}, {data(DType::kFloat32, {40, 33})}, o);
  expect_direct_matches("kiln.shape", "Shape", {}, {data(DType::kFloat32, {2, 3})}, o);
  expect_direct_matches("kiln.slice", "Slice", {}, {data(DType::kFloat32, {6, 4}), ints({1}), ints({4}), ints({0})}, o);
}

// No GPU needed: what `supports` refuses, and why.
TEST(CudaMovement, RefusalsNameTheReason) {
  auto why_not = [](const std::string& id, const std::string& op, const Attrs& attrs, const std::vector<In>& inputs,
                    const std::vector<Tensor>& outs) {
    EnginePlan plan;
    PlanLayer layer;
    layer.op = op;
    layer.attrs = attrs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      PlanTensor t;
      t.dtype = inputs[i].t.dtype();
      t.dims = inputs[i].t.dims();
      t.bytes = inputs[i].t.nbytes();
      t.storage = inputs[i].constant ? Storage::kWeight : Storage::kInput;
      if (inputs[i].constant) {
        t.offset = plan.weights.size();
        plan.weights.insert(plan.weights.end(), inputs[i].t.bytes(), inputs[i].t.bytes() + t.bytes);
      }
      layer.inputs.push_back(static_cast<int32_t>(plan.tensors.size()));
      plan.tensors.push_back(t);
    }
    for (const Tensor& o : outs) {
      PlanTensor t;
      t.dtype = o.dtype();
      t.dims = o.dims();
      t.bytes = o.nbytes();
      layer.outputs.push_back(static_cast<int32_t>(plan.tensors.size()));
      plan.tensors.push_back(t);
    }
    plan.layers.push_back(layer);
    const CudaKernelDef* def = CudaKernelRegistry::global().find(id);
    EXPECT_NE(def, nullptr) << id;
    std::string why;
    bool ok = def && def->supports(LayerView::of(plan, 0), &why);
    EXPECT_FALSE(ok) << id;
    return why;
  };
  Tensor f = Tensor::alloc(DType::kFloat32, {3, 4}).value();
  Tensor i64 = Tensor::alloc(DType::kInt64, {2, 5}).value();
  // An output not planned as data-dependent, at its bound.
  EXPECT_NE(why_not("kiln.nonzero", "NonZero", {}, {{f}}, {i64}).find("planned at its bound"), std::string::npos);
  Tensor boxes = Tensor::alloc(DType::kFloat32, {1, 5, 4}).value();
  Tensor scores = Tensor::alloc(DType::kFloat32, {1, 2, 5}).value();
  EXPECT_NE(why_not("kiln.nms", "NonMaxSuppression", {}, {{boxes}, {scores}}, {i64}).find("planned at its bound"),
            std::string::npos);
  In cond{Tensor::alloc(DType::kBool, {3}).value(), false};
  EXPECT_NE(why_not("kiln.compress", "Compress", {{"axis", I(0)}}, {{f}, cond}, {f}).find("depends on the data"),
            std::string::npos);
  EXPECT_NE(why_not("kiln.slice", "Slice", {}, {{f}, ints({0}, false), ints({2})}, {f}).find("starts must be a constant"),
            std::string::npos);
  Tensor f8 = Tensor::alloc(DType::kFloat8E4M3FN, {3}).value();
  EXPECT_NE(why_not("kiln.scatter_elements", "ScatterElements", {{"reduction", S("add")}},
                    {{f8}, {ints_tensor({0}, {1})}, {Tensor::alloc(DType::kFloat8E4M3FN, {1}).value()}}, {f8})
                .find("float8"),
            std::string::npos);
}

// No GPU needed: every op case of this family's ops whose shapes are static
// binds to a kernel (the builder only asks `supports`); the others fail for
// data-dependent shapes, never for a kernel's refusal.
TEST(CudaMovement, OpCasesBindToKernels) {
  const std::set<std::string> ops = {"Transpose", "Concat", "Split", "Slice", "Expand", "Tile", "Gather",
                                     "GatherElements", "GatherND", "ScatterND", "ScatterElements", "OneHot",
                                     "Trilu", "Range", "ConstantOfShape", "Shape", "Size", "NonZero",
                                     "NonMaxSuppression", "Compress"};
  int bound = 0;
  for (const OpCase& c : OpRegistry::global().cases()) {
    if (!ops.count(c.op)) continue;
    auto g = build_case_graph(c, 7);
    ASSERT_TRUE(g.ok()) << c.name << ": " << g.status().to_string();
    BuildOptions options;
    options.autotune = false;
    CudaBuildTarget target;
    auto plan = build_engine_from_graph(*g->graph, options, target);
    if (plan.ok()) {
      ++bound;
      continue;
    }
    std::printf("  %-36s %s\n", c.name.c_str(), plan.status().message().c_str());
    EXPECT_EQ(plan.status().message().find("no CUDA kernel can run"), std::string::npos) << c.name;
  }
  EXPECT_GT(bound, 0);
}

// BERT-base sized moves, timed (printed, not asserted): compare with the
// ~3 TB/s an H100's HBM gives a copy.
TEST(CudaMovement, BertSizedBandwidth) {
  KILN_REQUIRE_GPU();
  struct Case {
    const char* name;
    const char* id;
    const char* op;
    Attrs attrs;
    std::vector<In> inputs;
  };
  std::vector<int64_t> tokens(32 * 128);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int64_t>((i * 7919) % 30522);
  std::vector<Case> cases = {
      {"embedding gather 30522x768 fp16, 32x128 tokens", "kiln.gather", "Gather", {},
       {data(DType::kFloat16, {30522, 768}), idx(tokens, {32, 128})}},
      {"transpose [32,128,12,64] fp16 -> [32,12,128,64]", "kiln.transpose", "Transpose", {{"perm", Is({0, 2, 1, 3})}},
       {data(DType::kFloat16, {32, 128, 12, 64})}},
      {"transpose [32,128,12,64] fp16 -> [32,12,64,128]", "kiln.transpose", "Transpose", {{"perm", Is({0, 2, 3, 1})}},
       {data(DType::kFloat16, {32, 128, 12, 64})}},
      {"concat 3x[32,128,768] fp16 on the last axis", "kiln.concat", "Concat", {{"axis", I(-1)}},
       {data(DType::kFloat16, {32, 128, 768}), data(DType::kFloat16, {32, 128, 768}, 2),
        data(DType::kFloat16, {32, 128, 768}, 3)}},
      {"slice [32,128,2304] fp16 -> [32,128,768] at 768", "kiln.slice", "Slice", {},
       {data(DType::kFloat16, {32, 128, 2304}), ints({768}), ints({1536}), ints({2})}},
  };
  for (const Case& c : cases) {
    std::vector<Tensor> want = cpu_outputs(c.op, c.attrs, c.inputs);
    ASSERT_FALSE(want.empty());
    DirectOptions o;
    o.timing_reps = 50;
    auto got = run_direct(c.id, c.op, c.attrs, c.inputs, want, o);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_TRUE(same_bytes(got->outputs[0], want[0])) << c.name;
    // Bytes moved: the output written and as much read (Gather's table rows).
    double bytes = 2.0 * static_cast<double>(want[0].nbytes());
    std::printf("  %-52s %8.1f us  %7.0f GB/s\n", c.name, got->ms_per_run * 1e3, bytes / (got->ms_per_run * 1e6));
  }
}

}  // namespace
}  // namespace kiln
