// Targeted tests of the elementwise kernel family
// (src/backends/cuda/kernels/elementwise*): the host-side pieces the kernels
// rely on (fp8 / round-to-odd conversions, the broadcast index map) checked
// without a GPU, then on the GPU: vector paths with odd tails, rank-5
// broadcasts, in-place chains, variadic ops, Where, integer division by zero,
// exact casts between every pair of types, Reformat round trips and NHWC
// elementwise layers (including an aliased input of another layout).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "backends/cpu/interpreter.h"
#include "backends/cuda/kernels/elementwise_fp8.h"
#include "backends/cuda/kernels/elementwise_host.h"
#include "base/float_types.h"
#include "gpu_test_util.h"
#include "ops/elementwise/elementwise_util.h"
#include "ops/infer.h"
#include "ops/op_case.h"

namespace kiln {
namespace {

// ---- host-side helpers (no GPU needed) ---------------------------------------------------
TEST(ElementwiseHost, Fp8ConversionsMatchReference) {
  // Every fp8 code decodes as the reference does; a stride through all float
  // bit patterns (plus specials) encodes identically, saturating or not.
  for (int b = 0; b < 256; ++b) {
    float want = e4m3fn_bits_to_float(static_cast<uint8_t>(b)), got = cuda::ew::e4m3_to_f32(static_cast<uint8_t>(b));
    EXPECT_TRUE(float_bits(want) == float_bits(got) || (std::isnan(want) && std::isnan(got))) << b;
    want = e5m2_bits_to_float(static_cast<uint8_t>(b));
    got = cuda::ew::e5m2_to_f32(static_cast<uint8_t>(b));
    EXPECT_TRUE(float_bits(want) == float_bits(got) || (std::isnan(want) && std::isnan(got))) << b;
  }
  std::vector<float> values = {0.f, -0.f, 448.f, 464.f, 57344.f, 61440.f, 1e-9f, -1e-9f, 0.0009765625f,
                               std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                               std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min()};
  for (uint64_t u = 0; u <= 0xffffffffull; u += 40009) values.push_back(bits_float(static_cast<uint32_t>(u)));
  for (float f : values) {
    for (bool sat : {false, true}) {
      ASSERT_EQ(float_to_e4m3fn_bits(f, sat), cuda::ew::f32_to_e4m3(f, sat)) << f << " sat " << sat;
      ASSERT_EQ(float_to_e5m2_bits(f, sat), cuda::ew::f32_to_e5m2(f, sat)) << f << " sat " << sat;
    }
  }
}

TEST(ElementwiseHost, RoundOddMatchesReference) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, 8);
    float want = to_float_round_odd(d), got = cuda::ew::round_odd_f32(d);
    ASSERT_TRUE(float_bits(want) == float_bits(got) || (std::isnan(want) && std::isnan(got))) << d;
    double k = static_cast<double>(static_cast<int64_t>(rng()) >> (rng() % 63));
    ASSERT_EQ(float_bits(to_float_round_odd(k)), float_bits(cuda::ew::round_odd_f32(k))) << k;
  }
}

// The device's index walk (elementwise_device.cuh, map_offsets), on the host.
int64_t walk(const cuda::ew::MapSpec& s, size_t k, int64_t i) {
  int64_t off = 0;
  for (size_t d = s.dims.size(); d-- > 0;) {
    off += (i % s.dims[d]) * s.strides[k][d];
    i /= s.dims[d];
  }
  return off;
}

TEST(ElementwiseHost, BroadcastMapMatchesDirectIndexing) {
  // Random output shapes and layouts, operands of lower rank, broadcast dims
  // and mixed layouts: every output element's operand offsets from the
  // coalesced map equal those computed from logical coordinates.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 3000; ++trial) {
    size_t rank = rng() % 6;
    PlanTensor out;
    for (size_t d = 0; d < rank; ++d) out.dims.push_back(1 + static_cast<int64_t>(rng() % 4));
    if (rank == 4 && rng() % 2) out.layout = Layout::kNHWC;
    size_t n_in = 1 + rng() % 3;
    std::vector<PlanTensor> ins(n_in);
    for (PlanTensor& t : ins) {
      size_t r = rng() % (rank + 1);
      for (size_t d = rank - r; d < rank; ++d) t.dims.push_back(rng() % 3 == 0 ? 1 : out.dims[d]);
      if (r == 4 && rng() % 2) t.layout = Layout::kNHWC;
    }
    std::vector<const PlanTensor*> ptrs;
    for (const PlanTensor& t : ins) ptrs.push_back(&t);
    auto spec = cuda::ew::build_map(out, ptrs);
    ASSERT_TRUE(spec.ok()) << spec.status().to_string();
    std::vector<int> order = cuda::ew::physical_order(rank, out.layout);
    for (int64_t i = 0; i < spec->numel; ++i) {
      // Logical coordinates of the i-th element in the output's memory order.
      std::vector<int64_t> coord(rank);
      int64_t rem = i;
      for (size_t j = rank; j-- > 0;) {
        size_t d = static_cast<size_t>(order[j]);
        coord[d] = rem % out.dims[d];
        rem /= out.dims[d];
      }
      for (size_t k = 0; k < n_in; ++k) {
        std::vector<int64_t> strides = cuda::ew::physical_strides(ins[k].dims, ins[k].layout);
        size_t lead = rank - ins[k].dims.size();
        int64_t want = 0;
        for (size_t d = 0; d < ins[k].dims.size(); ++d)
          if (ins[k].dims[d] != 1) want += coord[lead + d] * strides[d];
        int64_t got = walk(*spec, k, i);
        ASSERT_EQ(got, want) << "trial " << trial << " element " << i << " operand " << k;
        if (spec->shape.kind[k] == 1) {
          ASSERT_EQ(got, i);
        }
        if (spec->shape.kind[k] == 0) {
          ASSERT_EQ(got, 0);
        }
      }
    }
  }
}

// ---- GPU tests ----------------------------------------------------------------------------
class Net {
 public:
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  std::map<std::string, Tensor> feeds;

  Value* input(const std::string& name, DType t, std::vector<int64_t> dims, double lo = -2, double hi = 2) {
    Tensor x = Tensor::alloc(t, dims).value();
    fill_uniform(x, lo, hi, 1000 + feeds.size());
    return input_tensor(name, std::move(x));
  }
  Value* input_tensor(const std::string& name, Tensor x) {
    Value* v = value(name, x.dtype(), x.dims());
    v->is_graph_input = true;
    graph->inputs.push_back(v);
    feeds[name] = std::move(x);
    return v;
  }
  Value* weight(const std::string& name, Tensor t) {
    Value* v = value(name, t.dtype(), t.dims());
    v->constant = std::make_shared<const Tensor>(std::move(t));
    return v;
  }
  Value* node(const std::string& op, std::vector<Value*> ins, std::map<std::string, Attr> attrs = {},
              const std::string& domain = "") {
    Value* out = graph->add_value(str(op, "_", counter_, "_out")).value();
    Node* n = graph->add_node(op, str(op, "_", counter_++), std::move(ins), {out}, domain,
                              domain.empty() ? kMaxOnnxOpset : 1)
                  .value();
    n->attrs = std::move(attrs);
    Status s = infer_node(*n, Limits{});
    EXPECT_TRUE(s.ok()) << s.to_string();
    return out;
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
  int counter_ = 0;
};

using Recipe = std::function<void(Net&)>;

double rel_l2(const Tensor& got, const Tensor& want) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double a = got.get_f64(i), b = want.get_f64(i);
    if ((std::isnan(a) && std::isnan(b)) || (std::isinf(a) && a == b)) continue;
    num += (a - b) * (a - b);
    den += b * b;
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

// Runs the recipe on the CPU reference and on a GPU engine; tol 0 = exact.
testing::GpuRun expect_matches(const Recipe& recipe, bool fp16, double tol, const std::string& kernel = "") {
  Net cpu, gpu;
  recipe(cpu);
  recipe(gpu);
  auto want = run_graph_cpu(*cpu.graph, cpu.feeds);
  EXPECT_TRUE(want.ok()) << want.status().to_string();
  BuildOptions options;
  options.fp16 = fp16;
  options.autotune = false;
  auto got = testing::run_graph_gpu(*gpu.graph, gpu.feeds, options);
  EXPECT_TRUE(got.ok()) << got.status().to_string();
  if (!want.ok() || !got.ok()) return {};
  EXPECT_TRUE(got->guards_intact) << "a kernel wrote outside its output";
  EXPECT_EQ(got->outputs.size(), want->size());
  for (size_t i = 0; i < want->size() && i < got->outputs.size(); ++i) {
    const Tensor& w = (*want)[i];
    const Tensor& g = got->outputs[i];
    EXPECT_EQ(g.dims(), w.dims()) << "output " << i;
    if (g.dims() != w.dims()) continue;
    if (dtype_is_float(w.dtype()) && tol > 0) {
      EXPECT_LE(rel_l2(g, w), tol) << "output " << i;
      continue;
    }
    for (int64_t k = 0; k < w.numel(); ++k) {
      bool same = dtype_is_float(w.dtype())
                      ? (g.get_f64(k) == w.get_f64(k) || (std::isnan(g.get_f64(k)) && std::isnan(w.get_f64(k))))
                      : g.get_i64(k) == w.get_i64(k);
      if (!same) {
        ADD_FAILURE() << "output " << i << " element " << k << ": " << g.get_f64(k) << " != " << w.get_f64(k);
        break;
      }
    }
  }
  if (!kernel.empty()) {
    bool found = false;
    for (const auto& l : got->report.layers) found = found || l.kernel == kernel;
    EXPECT_TRUE(found) << "no layer on " << kernel << ":\n" << got->report.to_text();
  }
  return std::move(got).value();
}

Attr f32(float v) { return Attr::of_float(v); }

TEST(ElementwiseGpu, UnaryChainsWithOddTails) {
  KILN_REQUIRE_GPU();
  // 2 * 4099 elements: the vector path plus a tail; chained layers run in place.
  for (bool fp16 : {false, true}) {
    expect_matches(
        [](Net& n) {
          Value* x = n.input("x", DType::kFloat32, {2, 4099}, -6, 6);
          Value* y = n.node("Sigmoid", {n.node("Relu", {n.node("Neg", {x})})});
          Value* z = n.node("LeakyRelu", {y}, {{"alpha", f32(0.2f)}});
          n.output(n.node("Gelu", {z}, {{"approximate", Attr::of_string("tanh")}}));
          n.output(n.node("Mish", {n.node("HardSwish", {x})}));
        },
        fp16, fp16 ? 5e-3 : 1e-5, "kiln.unary");
  }
  // Integer Abs / Neg on int8 (wraps at -128) and Clip with computed bounds.
  expect_matches(
      [](Net& n) {
        Value* x = n.input("x", DType::kInt8, {1001}, -128, 127);
        n.output(n.node("Abs", {n.node("Neg", {x})}));
        Value* f = n.input("f", DType::kFloat32, {3, 333}, -5, 5);
        Value* lo = n.node("Neg", {n.input("lo", DType::kFloat32, {}, 0.5, 1)});
        n.output(n.node("Clip", {f, lo, n.input("hi", DType::kFloat32, {1}, 1, 2)}));
      },
      false, 0);
}

TEST(ElementwiseGpu, BinaryBroadcastsRank5ScalarAndBias) {
  KILN_REQUIRE_GPU();
  for (bool fp16 : {false, true}) {
    expect_matches(
        [fp16](Net& n) {
          Value* a = n.input("a", DType::kFloat32, {2, 3, 1, 5, 7});
          Value* b = n.input("b", DType::kFloat32, {3, 4, 1, 7});
          Value* c = n.node("Add", {a, b});                                    // rank-5 broadcast
          Value* d = n.node("Div", {c, n.input("s", DType::kFloat32, {}, 1, 2)});  // tensor / scalar: vector path
          Value* bias = n.input("bias", DType::kFloat32, {7});
          Value* e = n.node("Mul", {n.node("Sub", {d, bias}), d});             // row bias, then same shape
          n.output(n.node("Max", {e, n.node("Pow", {d, n.input("p", DType::kFloat32, {1}, 2, 2)})}));
          // Bool outputs compare exactly: only in fp32 (fp16 rounding may flip near-ties).
          if (!fp16) n.output(n.node("Greater", {e, bias}));
        },
        fp16, fp16 ? 5e-3 : 1e-5, "kiln.binary");
  }
  // Integer arithmetic with mixed signs, Python and C modulo.
  expect_matches(
      [](Net& n) {
        Value* a = n.input("a", DType::kInt32, {4, 1, 9}, -1000, 1000);
        Tensor d = Tensor::alloc(DType::kInt32, {5, 1}).value();
        for (int k = 0; k < 5; ++k) d.set_i64(k, std::vector<int64_t>{-7, 3, -1, 11, 2}[static_cast<size_t>(k)]);
        Value* b = n.input_tensor("b", std::move(d));
        n.output(n.node("Div", {a, b}));
        n.output(n.node("Mod", {a, b}));
        n.output(n.node("Mod", {a, b}, {{"fmod", Attr::of_int(1)}}));
        n.output(n.node("Pow", {a, n.input("e", DType::kInt64, {9}, 0, 3)}));
      },
      false, 0);
}

TEST(ElementwiseGpu, IntegerDivisionByZeroGivesZero) {
  KILN_REQUIRE_GPU();
  // The CPU reference reports an error here; the kernel documents 0 instead.
  Net n;
  Tensor a = Tensor::alloc(DType::kInt64, {4}).value();
  Tensor b = Tensor::alloc(DType::kInt64, {4}).value();
  const int64_t av[] = {7, -7, INT64_MIN, 5}, bv[] = {0, 2, -1, 0};
  for (int k = 0; k < 4; ++k) {
    a.set_i64(k, av[k]);
    b.set_i64(k, bv[k]);
  }
  Value* x = n.input_tensor("a", std::move(a));
  Value* y = n.input_tensor("b", std::move(b));
  n.output(n.node("Div", {x, y}));
  n.output(n.node("Mod", {x, y}));
  BuildOptions options;
  auto got = testing::run_graph_gpu(*n.graph, n.feeds, options);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  const int64_t div[] = {0, -3, INT64_MIN, 0}, mod[] = {0, 1, 0, 0};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(got->outputs[0].get_i64(k), div[k]) << k;
    EXPECT_EQ(got->outputs[1].get_i64(k), mod[k]) << k;
  }
}

TEST(ElementwiseGpu, VariadicAndWhere) {
  KILN_REQUIRE_GPU();
  expect_matches(
      [](Net& n) {
        std::vector<Value*> ins = {n.input("a", DType::kFloat32, {2, 1, 6}), n.input("b", DType::kFloat32, {3, 1}),
                                   n.input("c", DType::kFloat32, {6}), n.input("d", DType::kFloat32, {1, 3, 6}),
                                   n.input("e", DType::kFloat32, {})};
        n.output(n.node("Sum", ins));
        n.output(n.node("Mean", ins));
        n.output(n.node("Max", ins));
        n.output(n.node("Min", {ins[1]}));
        Value* cond = n.node("Less", {ins[0], ins[1]});
        n.output(n.node("Where", {cond, ins[2], ins[3]}));
        Value* i64 = n.input("i", DType::kInt64, {3, 1}, -1e12, 1e12);
        n.output(n.node("Where", {n.input("m", DType::kBool, {2, 1, 4}, 0, 1), i64, n.input("j", DType::kInt64, {4})}));
      },
      false, 1e-6);
}

TEST(ElementwiseGpu, CastEveryPairExactly) {
  KILN_REQUIRE_GPU();
  const DType types[] = {DType::kFloat32,      DType::kFloat16,    DType::kBFloat16, DType::kFloat8E4M3FN,
                         DType::kFloat8E5M2, DType::kInt8,       DType::kUInt8,    DType::kInt32,
                         DType::kInt64,      DType::kBool};
  // Values that exercise rounding ties, saturation, NaN/inf, truncation and wrap-around.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> vals = {0, -0.0, 0.5, -1.5, 2.5, 127.5, -129.7, 255.9, 300, -70000, 1e6, 3.3e9, -1e20,
                              448, 460, 57344, 65504, 70000, 1e-5, -6e-8, inf, -inf, NAN, 1.0009765625, 7.99};
  for (DType from : types) {
    for (DType to : types) {
      for (int sat = 0; sat < 2; ++sat) {
        SCOPED_TRACE(str(dtype_name(from), " -> ", dtype_name(to), " saturate ", sat));
        expect_matches(
            [&](Net& n) {
              Tensor x = Tensor::alloc(from, {static_cast<int64_t>(vals.size())}).value();
              for (size_t k = 0; k < vals.size(); ++k) {
                // Integers and bool cannot hold NaN/inf: give them large finite values instead.
                double v = vals[k];
                if (!dtype_is_float(from) && !std::isfinite(v)) v = 1e18;
                x.set_f64(static_cast<int64_t>(k), v);
              }
              Value* in = n.input_tensor("x", std::move(x));
              n.output(n.node("Cast", {in}, {{"to", Attr::of_int(static_cast<int64_t>(to))},
                                             {"saturate", Attr::of_int(sat)}}));
            },
            false, 0, "kiln.cast");
      }
    }
  }
}

TEST(ElementwiseGpu, ReformatRoundTripsEveryElementSize) {
  KILN_REQUIRE_GPU();
  // 37 channels go through 32x32 tiles; 3, 8 and 1 through the narrow path (one thread per pixel).
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{{2, 37, 5, 33}, {2, 3, 5, 33}, {3, 8, 7, 9}, {1, 1, 4, 4}})
    for (DType t : {DType::kFloat32, DType::kFloat16, DType::kUInt8, DType::kInt64}) {
      SCOPED_TRACE(str(dtype_name(t), dims_to_string(dims)));
      expect_matches(
          [&](Net& n) {
            Value* x = n.input("x", t, dims, 0, 100);
            Value* nhwc = n.node("Reformat", {x}, {}, "kiln");
            nhwc->layout = Layout::kNHWC;
            n.output(n.node("Reformat", {nhwc}, {}, "kiln"));
          },
          false, 0, "kiln.reformat");
    }
}

TEST(ElementwiseGpu, NhwcElementwiseLayers) {
  KILN_REQUIRE_GPU();
  // NHWC activations through unary and broadcasting layers, one operand of
  // each layout in the Add: the output may alias the linear `a` (equal
  // bytes, different walk), which the kernel must copy away first.
  expect_matches(
      [](Net& n) {
        Value* x = n.input("x", DType::kFloat32, {2, 6, 5, 7});
        Value* y = n.input("y", DType::kFloat32, {2, 6, 5, 7});
        Value* a = n.node("Relu", {x});  // linear activation, dies at the Add
        Value* b = n.node("Reformat", {y}, {}, "kiln");
        b->layout = Layout::kNHWC;
        Tensor bias = Tensor::alloc(DType::kFloat32, {6, 1, 1}).value();
        fill_uniform(bias, -1, 1, 3);
        Value* c = n.node("Add", {a, b});
        c->layout = Layout::kNHWC;
        Value* d = n.node("Mul", {c, n.weight("bias", std::move(bias))});
        d->layout = Layout::kNHWC;
        Value* e = n.node("Sigmoid", {d});
        e->layout = Layout::kNHWC;
        n.output(n.node("Reformat", {e}, {}, "kiln"));
      },
      false, 1e-5, "kiln.binary");
}

}  // namespace
}  // namespace kiln
