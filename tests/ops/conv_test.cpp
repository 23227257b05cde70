// Conv and ConvTranspose: expected values from onnxruntime 1.23 for awkward
// configurations (inputs from conv_family_test_util.h's pattern()), a naive
// reference over many random configurations (covers the threaded kernel),
// bad input, and inference on symbolic shapes.
#include <random>

#include "conv_family_test_util.h"

namespace kiln::testing {
namespace {

TEST(ConvCases, AllDeclaredCasesRun) { EXPECT_GE(run_family_cases({"Conv", "ConvTranspose"}), 30); }

Tensor P(std::vector<int64_t> dims, int64_t seed = 0, DType t = DType::kFloat32) {
  return pattern_tensor(t, std::move(dims), seed);
}

// Python for the expected values below (onnxruntime, opset 22):
//   P = lambda shape, seed=0: (((np.arange(np.prod(shape)) * 7919 + seed * 31) % 23 - 11) / 8)
//         .reshape(shape).astype(np.float32)
TEST(ConvValues, GroupStrideAsymmetricPadsDilation) {
  auto r = run_op("Conv", {{"group", one(2)}, {"strides", ints({2, 1})}, {"pads", ints({1, 0, 2, 1})},
                           {"dilations", ints({1, 2})}},
                  {in(P({1, 4, 5, 6})), constant(P({4, 2, 3, 2}, 1)), constant(P({4}, 2))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{1, 4, 3, 5}));
  expect_values(r->outputs[0],
                {-3.296875, 1.90625,  0.640625,  0.09375,  -0.828125, -0.71875,  1.671875,  0.828125, -1.09375,
                 2.109375,  -0.4375,  1.140625,  2,        -3.609375, 0.125,     -3.3125,   0.28125,   -2.59375,
                 -2.234375, 0.421875, -2.78125,  -2.984375, 2.203125, -2.3125,   -1.65625,  0.765625,  -2.5,
                 -0.734375, 2.828125, -1.25,     -2.859375, 0.921875, 2.1875,    -3.015625, -1.5625,   3.078125,
                 -6.1875,   -1.796875, -0.28125, 1.421875,  -1.59375, 1.078125,  1.234375,  -1.84375,  -1.765625,
                 1.546875,  0.484375, -0.578125, -2.359375, 0.640625, 1,         -2.59375,  1.71875,   3.15625,
                 -0.375,    0.796875, 1.859375,  -2.46875,  1.109375, 2.84375});
}

TEST(ConvValues, SameLowerStride2) {
  auto r = run_op("Conv", {{"auto_pad", text("SAME_LOWER")}, {"strides", ints({2, 2})}},
                  {in(P({1, 1, 5, 6})), constant(P({2, 1, 2, 3}, 1))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{1, 2, 3, 3}));
  expect_values(r->outputs[0], {-0.90625, 1.8125, -0.828125, 0.796875, 0.609375, -2.28125, 1.5, -2, 0.140625,
                                0.03125, 1.25, -1.140625, -0.140625, 0.296875, -2.09375, 1.125, -2.1875, 0.453125});
}

TEST(ConvValues, Depthwise1dStride2) {
  auto r = run_op("Conv", {{"group", one(3)}, {"strides", ints({2})}, {"pads", ints({1, 1})}},
                  {in(P({1, 3, 7})), in(P({3, 1, 3}, 1))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0],
                {-1.375, 2.09375, -0.671875, 0.453125, -0.390625, -1.140625, 1.25, 0.03125, 0.21875, -0.984375, 1.53125,
                 -0.765625});
}

TEST(ConvValues, ThreeDimensional) {
  auto r = run_op("Conv", {{"strides", ints({1, 2, 1})}, {"pads", ints({0, 1, 1, 1, 0, 0})}},
                  {in(P({1, 2, 3, 4, 3})), constant(P({1, 2, 2, 2, 2}, 1))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{1, 1, 3, 2, 3}));
  expect_values(r->outputs[0], {2.1875, -1.046875, -2.28125, -0.65625, 3.75, -5.21875, -0.859375, 1.03125, 2.671875,
                                -1.90625, 0.703125, 3.59375, -0.078125, -0.609375, 0.375, 0.53125, -1.59375, -0.71875});
}

TEST(ConvValues, Float16) {
  auto r = run_op("Conv", {{"pads", ints({1, 1, 1, 1})}, {"strides", ints({2, 2})}},
                  {in(P({1, 2, 4, 5}, 0, DType::kFloat16)), constant(P({2, 2, 3, 3}, 1, DType::kFloat16))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dtype(), DType::kFloat16);
  expect_values(r->outputs[0],
                {0.3125, 2.484375, 0.6875, 2.625, 0.28125, 0.390625, -0.734375, -0.96875, 3, -1.890625, 0.296875,
                 3.609375},
                1e-3);
}

TEST(ConvTransposeValues, GroupStrideOutputPadding) {
  auto r = run_op("ConvTranspose", {{"group", one(2)}, {"strides", ints({2, 3})}, {"pads", ints({1, 0, 0, 1})},
                                    {"output_padding", ints({1, 2})}},
                  {in(P({1, 4, 2, 3})), constant(P({4, 1, 3, 2}, 1)), constant(P({2}, 2))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{1, 2, 5, 9}));
  expect_values(r->outputs[0],
                {-0.390625, 0.359375, 0.625,    -0.9375,  2.0625,   0.625,    1.03125,  0.53125,  0.625,   -1.09375,
                 0.328125,  0.625,    2.125,    -0.9375,  0.625,    1.03125,  1.03125,  0.625,    3,       -1,
                 0.625,     -1.5,     2.5,      0.625,    0.46875,  0.96875,  0.625,    0.75,     2.5,     0.625,
                 0.75,      -1,       0.625,    0.75,     0.53125,  0.625,    0.625,    0.625,    0.625,   0.625,
                 0.625,     0.625,    0.625,    0.625,    0.625,    -1.1875,  -0.75,    -1.375,   -0.96875, 1,
                 -1.375,    -1.46875, -3,       -1.375,   -2.34375, -1.1875,  -1.375,   -4.421875, -2.71875, -1.375,
                 0.328125,  0.78125,  -1.375,   -1.25,    -1.25,    -1.375,   -1.03125, 0.5,      -1.375,  -1.53125,
                 -3.5,      -1.375,   -1.25,    -1.25,    -1.375,   -3,       -1.46875, -1.375,   1,       -0.96875,
                 -1.375,    -1.375,   -1.375,   -1.375,   -1.375,   -1.375,   -1.375,   -1.375,   -1.375,  -1.375});
}

TEST(ConvTransposeValues, OutputShapeSplitsPadsAtTheEnd) {
  auto r = run_op("ConvTranspose", {{"strides", ints({2, 2})}, {"output_shape", ints({6, 4})}},
                  {in(P({1, 1, 3, 2})), constant(P({1, 1, 3, 3}, 1))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{1, 1, 6, 4}));
  expect_values(r->outputs[0], {-0.34375, -1.234375, -0.125,    -0.5625,  0.1875,  -0.71875,  0.625, 1.28125,
                                0.09375,  -0.359375, 0.3125,    1.40625,  -0.375,  -1.84375,  0.0625, 1.265625,
                                -0.1875,  -0.921875, 0.03125,   0.140625, 0,       -0.765625, 0,      0.109375});
}

TEST(ConvTransposeValues, Dilation1dWithBias) {
  auto r = run_op("ConvTranspose", {{"strides", ints({2})}, {"dilations", ints({2})}},
                  {in(P({1, 2, 3})), constant(P({2, 2, 2}, 1)), constant(P({2}, 2))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {1.453125, 0.625, 1.34375, 0.625, -0.578125, 0.625, 0.953125, -4.359375, -1.375,
                                -0.546875, -1.375, -0.65625, -1.375, -1.609375});
}

TEST(ConvTransposeValues, SameUpper) {
  auto r = run_op("ConvTranspose", {{"strides", ints({2, 2})}, {"auto_pad", text("SAME_UPPER")}},
                  {in(P({1, 1, 2, 3})), constant(P({1, 2, 2, 3}, 1))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), (std::vector<int64_t>{1, 2, 4, 6}));
  expect_values(r->outputs[0],
                {0.515625, -0.6875,   -1.703125, -0.25,    -0.828125, 0.1875,    0.859375, -0.34375,
                 -1.234375, -0.125,   -0.796875, 0.09375,  -0.46875,  0.625,     2,        -0.375,
                 -1.078125, 0.0625,   -0.78125,  0.3125,   1.875,     -0.1875,   -0.921875, 0.03125,
                 1.203125,  0,        -0.765625, 0,        -0.765625, 0,         1.546875, 0.34375,
                 -0.296875, 0.125,    -0.734375, -0.09375, -1.09375,  0,         1.75,     0,
                 -0.765625, 0,        -1.40625,  -0.3125,  1.625,     0.1875,    -0.609375, -0.03125});
}

// A direct transcription of the definitions, one output (or input) element
// at a time, to check the optimized kernels over many shapes.
struct NaiveConv {
  std::vector<int64_t> x_dims, w_dims, strides, dilations, pads_begin, out_dims;
  int64_t group = 1;
  bool transpose = false;

  std::vector<double> run(const std::vector<double>& x, const std::vector<double>& w,
                          const std::vector<double>& b) const {
    int64_t out_numel = 1;
    for (int64_t d : out_dims) out_numel *= d;
    std::vector<double> y(static_cast<size_t>(out_numel), 0.0);
    const size_t nsp = x_dims.size() - 2;
    std::vector<int64_t> xi, ki, yi;
    std::vector<int64_t> k_dims(w_dims.begin() + 2, w_dims.end());
    int64_t k_numel = 1;
    for (int64_t d : k_dims) k_numel *= d;
    int64_t x_numel = 1;
    for (int64_t d : x_dims) x_numel *= d;
    const int64_t C = x_dims[1], Cg = C / group;
    const int64_t M = out_dims[1], Mg = M / group;
    auto flat = [](const std::vector<int64_t>& idx, const std::vector<int64_t>& dims) {
      int64_t f = 0;
      for (size_t i = 0; i < dims.size(); ++i) f = f * dims[i] + idx[i];
      return f;
    };
    if (!transpose) {
      for (int64_t e = 0; e < out_numel; ++e) {
        unravel(e, out_dims, yi);
        int64_t g = yi[1] / Mg;
        double acc = b.empty() ? 0 : b[static_cast<size_t>(yi[1])];
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t k = 0; k < k_numel; ++k) {
            unravel(k, k_dims, ki);
            std::vector<int64_t> src{yi[0], g * Cg + c};
            bool inside = true;
            for (size_t s = 0; s < nsp; ++s) {
              int64_t p = yi[s + 2] * strides[s] + ki[s] * dilations[s] - pads_begin[s];
              inside = inside && p >= 0 && p < x_dims[s + 2];
              src.push_back(p);
            }
            if (!inside) continue;
            acc += x[static_cast<size_t>(flat(src, x_dims))] * w[static_cast<size_t>((yi[1] * Cg + c) * k_numel + k)];
          }
        y[static_cast<size_t>(e)] = acc;
      }
      return y;
    }
    for (int64_t e = 0; e < x_numel; ++e) {
      unravel(e, x_dims, xi);
      int64_t g = xi[1] / Cg;
      for (int64_t m = 0; m < Mg; ++m)
        for (int64_t k = 0; k < k_numel; ++k) {
          unravel(k, k_dims, ki);
          std::vector<int64_t> dst{xi[0], g * Mg + m};
          bool inside = true;
          for (size_t s = 0; s < nsp; ++s) {
            int64_t p = xi[s + 2] * strides[s] + ki[s] * dilations[s] - pads_begin[s];
            inside = inside && p >= 0 && p < out_dims[s + 2];
            dst.push_back(p);
          }
          if (!inside) continue;
          y[static_cast<size_t>(flat(dst, out_dims))] +=
              x[static_cast<size_t>(e)] * w[static_cast<size_t>((xi[1] * Mg + m) * k_numel + k)];
        }
    }
    if (!b.empty())
      for (int64_t e = 0; e < out_numel; ++e) {
        unravel(e, out_dims, yi);
        y[static_cast<size_t>(e)] += b[static_cast<size_t>(yi[1])];
      }
    return y;
  }
};

void check_against_naive(bool transpose, std::mt19937& rng, int trial) {
  auto pick = [&](int lo, int hi) { return static_cast<int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  const size_t nsp = static_cast<size_t>(pick(1, 3));
  NaiveConv n;
  n.transpose = transpose;
  n.group = pick(1, 3);
  int64_t Cg = pick(1, 3), Mg = pick(1, 3), N = pick(1, 2);
  n.x_dims = {N, Cg * n.group};
  n.w_dims = transpose ? std::vector<int64_t>{Cg * n.group, Mg} : std::vector<int64_t>{Mg * n.group, Cg};
  std::vector<int64_t> ends;
  for (size_t s = 0; s < nsp; ++s) {
    int64_t k = pick(1, 3), st = pick(1, 3), d = pick(1, 2);
    int64_t ek = (k - 1) * d + 1;
    int64_t x = pick(static_cast<int>(transpose ? 1 : std::max<int64_t>(1, ek - 2)), 7);
    int64_t pb = pick(0, 2), pe = pick(0, 2);
    if (transpose) {  // keep the output non-empty
      int64_t full = st * (x - 1) + ek;
      pb = std::min(pb, (full - 1) / 2);
      pe = std::min(pe, (full - 1) / 2);
    } else {  // keep the padded input at least as large as the kernel
      pe = std::max(pe, ek - x - pb);
    }
    n.w_dims.push_back(k);
    n.strides.push_back(st);
    n.dilations.push_back(d);
    n.pads_begin.push_back(pb);
    n.x_dims.push_back(x);
    ends.push_back(pe);
  }
  std::vector<int64_t> pads = n.pads_begin;
  pads.insert(pads.end(), ends.begin(), ends.end());
  bool bias = pick(0, 1) == 1;
  int64_t M = Mg * n.group;
  Tensor x = P(n.x_dims, trial), w = P(n.w_dims, trial + 1), b = P({M}, trial + 2);
  std::map<std::string, Attr> attrs{
      {"group", one(n.group)}, {"strides", ints(n.strides)}, {"dilations", ints(n.dilations)}, {"pads", ints(pads)}};
  std::vector<OpInput> inputs{in(x), pick(0, 1) ? constant(w) : in(w)};
  if (bias) inputs.push_back(constant(b));
  auto r = run_op(transpose ? "ConvTranspose" : "Conv", attrs, inputs);
  SCOPED_TRACE(str(transpose ? "ConvTranspose" : "Conv", " trial ", trial, " x ", dims_to_string(n.x_dims), " w ",
                   dims_to_string(n.w_dims), " group ", n.group, " strides ", dims_to_string(n.strides),
                   " dilations ", dims_to_string(n.dilations), " pads ", dims_to_string(pads)));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  n.out_dims = r->outputs[0].dims();
  ASSERT_EQ(n.out_dims.size(), n.x_dims.size());
  EXPECT_EQ(n.out_dims[1], M);
  for (size_t s = 0; s < nsp; ++s) {
    int64_t ek = (n.w_dims[s + 2] - 1) * n.dilations[s] + 1;
    int64_t want = transpose ? n.strides[s] * (n.x_dims[s + 2] - 1) + ek - pads[s] - pads[s + nsp]
                             : (n.x_dims[s + 2] + pads[s] + pads[s + nsp] - ek) / n.strides[s] + 1;
    EXPECT_EQ(n.out_dims[s + 2], want) << "spatial axis " << s;
  }
  std::vector<double> want = n.run(x.to_f64_vector(), w.to_f64_vector(), bias ? b.to_f64_vector() : std::vector<double>{});
  expect_values(r->outputs[0], want, 1e-9);
}

TEST(ConvNaive, RandomConfigurationsMatchTheDefinition) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 150; ++trial) check_against_naive(false, rng, trial);
}

TEST(ConvTransposeNaive, RandomConfigurationsMatchTheDefinition) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 150; ++trial) check_against_naive(true, rng, trial);
}

// Large enough for the kernel to split output planes over threads.
TEST(ConvNaive, ThreadedPlanesMatchTheDefinition) {
  for (bool transpose : {false, true}) {
    NaiveConv n;
    n.transpose = transpose;
    n.group = 2;
    n.x_dims = {2, 16, 19, 21};
    n.w_dims = transpose ? std::vector<int64_t>{16, 12, 3, 3} : std::vector<int64_t>{24, 8, 3, 3};
    n.strides = {2, 1};
    n.dilations = {1, 2};
    n.pads_begin = {1, 2};
    Tensor x = P(n.x_dims, 3), w = P(n.w_dims, 4), b = P({24}, 5);
    auto r = run_op(transpose ? "ConvTranspose" : "Conv",
                    {{"group", one(2)}, {"strides", ints(n.strides)}, {"dilations", ints(n.dilations)},
                     {"pads", ints({1, 2, 1, 2})}},
                    {in(x), constant(w), constant(b)});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    n.out_dims = r->outputs[0].dims();
    expect_values(r->outputs[0], n.run(x.to_f64_vector(), w.to_f64_vector(), b.to_f64_vector()), 1e-9);
  }
}

TEST(ConvErrors, BadInputIsRefusedWithAClearMessage) {
  Tensor x = P({1, 4, 5, 5}), w = P({2, 2, 3, 3});
  expect_error(run_op("Conv", {{"group", one(3)}}, {in(x), constant(w)}), "not divisible by group");
  expect_error(run_op("Conv", {}, {in(x), constant(w)}), "input channels per group");
  expect_error(run_op("Conv", {{"group", one(0)}}, {in(x), constant(w)}), "group must be >= 1");
  expect_error(run_op("Conv", {}, {in(x), constant(P({2, 4, 3}))}), "same rank");
  expect_error(run_op("Conv", {}, {in(P({4, 5})), constant(P({4, 5}))}), "rank >= 3");
  Tensor w4 = P({2, 4, 3, 3});
  expect_error(run_op("Conv", {{"strides", ints({0, 1})}}, {in(x), constant(w4)}), "strides values must be in");
  expect_error(run_op("Conv", {{"strides", ints({1})}}, {in(x), constant(w4)}), "strides has 1 values");
  expect_error(run_op("Conv", {{"dilations", ints({1, -2})}}, {in(x), constant(w4)}), "dilations values");
  expect_error(run_op("Conv", {{"pads", ints({0, 0, -1, 0})}}, {in(x), constant(w4)}), "pads values");
  expect_error(run_op("Conv", {{"pads", ints({1, 1})}}, {in(x), constant(w4)}), "pads has 2 values");
  expect_error(run_op("Conv", {{"auto_pad", text("SAME")}}, {in(x), constant(w4)}), "auto_pad 'SAME'");
  expect_error(run_op("Conv", {{"auto_pad", text("VALID")}, {"pads", ints({1, 1, 1, 1})}}, {in(x), constant(w4)}),
               "pads cannot be used together");
  expect_error(run_op("Conv", {{"strides", Attr::of_float(2)}}, {in(x), constant(w4)}), "strides");
  expect_error(run_op("Conv", {{"kernel_shape", ints({3, 2})}}, {in(x), constant(w4)}), "does not match");
  expect_error(run_op("Conv", {}, {in(x), constant(P({2, 4, 6, 3}))}), "larger than the padded input");
  expect_error(run_op("Conv", {{"dilations", ints({3, 1})}}, {in(x), constant(w4)}), "larger than the padded input");
  expect_error(run_op("Conv", {}, {in(x), constant(w4), constant(P({3}))}), "B has 3 values");
  expect_error(run_op("Conv", {}, {in(x), constant(P({2, 4, 3, 3}, 0, DType::kFloat16))}), "has type float16");
  expect_error(run_op("Conv", {{"pads", ints({int64_t{1} << 40, 0, 0, 0})}}, {in(x), constant(w4)}), "pads values");
  auto i8 = run_op("Conv", {}, {in(P({1, 1, 3, 3}, 0, DType::kInt8)), constant(P({1, 1, 1, 1}, 0, DType::kInt8))});
  ASSERT_FALSE(i8.ok());
  EXPECT_EQ(i8.status().code(), ErrorCode::kUnsupported) << i8.status().to_string();
}

TEST(ConvErrors, AllocationBombIsRefused) {
  // 2^31 x 2^31 output from a 1x1 input through ConvTranspose's output_shape.
  auto r = run_op("ConvTranspose", {{"output_shape", ints({int64_t{1} << 31, int64_t{1} << 31})}},
                  {in(P({1, 1, 1, 1})), constant(P({1, 1, 1, 1}))});
  ASSERT_FALSE(r.ok());
  auto s = run_op("ConvTranspose", {{"strides", ints({int64_t{1} << 31, int64_t{1} << 31})}},
                  {in(P({1, 1, 3, 3})), constant(P({1, 1, 1, 1}))});
  ASSERT_FALSE(s.ok());
}

// Extreme but in-range attributes: refused or computed, never a crash.
TEST(ConvErrors, ExtremeAttributesDoNotCrash) {
  const int64_t big = int64_t{1} << 31;
  Tensor x = P({1, 1, 3, 3}), w = P({1, 1, 1, 1});
  std::vector<std::map<std::string, Attr>> attrs = {
      {{"pads", ints({big, big, big, big})}, {"strides", ints({big, big})}},
      {{"pads", ints({big, 0, 0, big})}, {"dilations", ints({big, big})}},
      {{"strides", ints({big, 1})}, {"auto_pad", text("SAME_UPPER")}},
      {{"dilations", ints({big, big})}, {"auto_pad", text("SAME_LOWER")}}};
  for (const auto& a : attrs) {
    auto r = run_op("Conv", a, {in(x), constant(w)});
    expect_rank_if_ok(r, 4);
    auto t = run_op("ConvTranspose", a, {in(x), constant(w)});
    expect_rank_if_ok(t, 4);
  }
  auto k = run_op("Conv", {{"pads", ints({big, big, big, big})}, {"strides", ints({big, big})}},
                  {in(x), constant(P({1, 1, 2, 2}))});
  expect_rank_if_ok(k, 4);
}

TEST(ConvTransposeErrors, BadInputIsRefusedWithAClearMessage) {
  Tensor x = P({1, 4, 3, 3}), w = P({4, 2, 3, 3});
  expect_error(run_op("ConvTranspose", {{"group", one(3)}}, {in(x), constant(w)}), "not divisible by group");
  expect_error(run_op("ConvTranspose", {}, {in(x), constant(P({3, 2, 3, 3}))}), "input channels (dim 0)");
  expect_error(run_op("ConvTranspose", {{"strides", ints({2, 2})}, {"output_padding", ints({2, 0})}}, {in(x), constant(w)}),
               "output_padding 2");
  expect_error(run_op("ConvTranspose", {{"output_padding", ints({0})}}, {in(x), constant(w)}), "output_padding has 1");
  expect_error(run_op("ConvTranspose", {{"output_shape", ints({4, 4, 4})}}, {in(x), constant(w)}), "output_shape has 3");
  expect_error(run_op("ConvTranspose", {{"pads", ints({3, 0, 3, 0})}}, {in(x), constant(w)}), "larger than the output");
  expect_error(run_op("ConvTranspose", {}, {in(x), constant(w), constant(P({3}))}), "B has 3 values");
}

TEST(ConvInfer, SymbolicDimsStayWhereTheWindowKeepsThem) {
  Tensor w = P({8, 3, 3, 3});
  auto same = infer_op("Conv", {{"pads", ints({1, 1, 1, 1})}},
                       {sym({Dim::symbolic("N"), 3, Dim::symbolic("H"), Dim::symbolic("W")}), known(w)});
  ASSERT_TRUE(same.ok()) << same.status().to_string();
  EXPECT_EQ((*same)[0].shape.to_string(), "[N,8,H,W]");
  auto strided = infer_op("Conv", {{"strides", ints({2, 2})}, {"auto_pad", text("SAME_UPPER")}},
                          {sym({Dim::symbolic("N"), 3, Dim::symbolic("H"), 10}), known(w)});
  ASSERT_TRUE(strided.ok()) << strided.status().to_string();
  const Shape& s = (*strided)[0].shape;
  EXPECT_EQ(s[0], Dim::symbolic("N"));
  EXPECT_FALSE(s[2].is_static());
  EXPECT_NE(s[2], Dim::symbolic("H"));  // a fresh unknown dim, not H
  EXPECT_EQ(s[3], Dim(5));
  // Weights with symbolic dims: output channels and spatial dims unknown.
  auto wsym = infer_op("Conv", {}, {sym({1, 3, 9, 9}), sym({Dim::symbolic("M"), 3, Dim::symbolic("k"), 3})});
  ASSERT_TRUE(wsym.ok()) << wsym.status().to_string();
  EXPECT_EQ((*wsym)[0].shape[1], Dim::symbolic("M"));
  EXPECT_FALSE((*wsym)[0].shape[2].is_static());
  EXPECT_EQ((*wsym)[0].shape[3], Dim(7));
  auto ct = infer_op("ConvTranspose", {{"strides", ints({2, 2})}, {"output_padding", ints({1, 1})}},
                     {sym({Dim::symbolic("N"), 3, Dim::symbolic("H"), 4}), known(P({3, 2, 3, 3}))});
  ASSERT_TRUE(ct.ok()) << ct.status().to_string();
  EXPECT_EQ((*ct)[0].shape[1], Dim(2));
  EXPECT_FALSE((*ct)[0].shape[2].is_static());
  EXPECT_EQ((*ct)[0].shape[3], Dim(10));
}

TEST(ConvInfer, Opset13AndKernelShapeAttribute) {
  auto r = run_op("Conv", {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}},
                  {in(P({1, 1, 4, 4})), constant(make_tensor(DType::kFloat32, {1, 1, 2, 2}, {1, 1, 1, 1}))}, 1, 13);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  // Sums of 2x2 blocks of pattern(16).
  std::vector<double> x = pattern(16);
  expect_values(r->outputs[0], {x[0] + x[1] + x[4] + x[5], x[2] + x[3] + x[6] + x[7], x[8] + x[9] + x[12] + x[13],
                                x[10] + x[11] + x[14] + x[15]});
}

}  // namespace
}  // namespace kiln::testing
