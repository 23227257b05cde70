// Resize / Upsample / Pad / DepthToSpace / SpaceToDepth: expected values from
// onnxruntime 1.23 (Resize opset 19, Pad opset 21, Upsample opsets 7 and 9)
// or, where marked REF, from onnx.reference (which the ONNX backend tests
// encode and onnxruntime deviates from); inputs from pattern(). Bad input and
// inference with runtime (non-constant) sizes and symbolic dims.
#include "conv_family_test_util.h"

namespace kiln::testing {
namespace {

TEST(ResizeCases, AllDeclaredCasesRun) {
  EXPECT_GE(run_family_cases({"Resize", "Upsample", "Pad", "DepthToSpace", "SpaceToDepth"}), 150);
}

Tensor P(std::vector<int64_t> dims, DType t = DType::kFloat32) { return pattern_tensor(t, std::move(dims)); }
OpInput none() { return omitted(); }

void expect_resize(const std::map<std::string, Attr>& attrs, std::vector<OpInput> inputs,
                   const std::vector<int64_t>& dims, const std::vector<double>& want, double tol = 1e-5) {
  auto r = run_op("Resize", attrs, inputs);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].dims(), dims);
  EXPECT_EQ(r->inferred[0].shape, Shape::of(dims));
  expect_values(r->outputs[0], want, tol);
}

TEST(ResizeValues, NearestModes) {
  expect_resize({}, {in(P({1, 1, 2, 3})), none(), constant(f32s({1, 1, 2, 1.5}))}, {1, 1, 4, 4},
                {-1.375, -1.375, -0.5, 0.375, -1.375, -1.375, -0.5, 0.375, 1.25, 1.25, -0.75, 0.125, 1.25, 1.25, -0.75,
                 0.125});
  expect_resize({{"coordinate_transformation_mode", text("asymmetric")}, {"nearest_mode", text("floor")}},
                {in(P({1, 1, 5, 7})), none(), none(), constant(i64s({1, 1, 3, 2}))}, {1, 1, 3, 2},
                {-1.375, 1.25, -1, -1.25, -0.25, -0.5});
  expect_resize({{"nearest_mode", text("ceil")}}, {in(P({1, 1, 3, 4})), none(), none(), constant(i64s({1, 1, 5, 7}))},
                {1, 1, 5, 7},
                {-1.375, -0.5,  -0.5,   0.375, 1.25,   1.25,   1.25,   -0.75,  0.125,  0.125, 1,     -1,
                 -1,     -1,    -0.75,  0.125, 0.125,  1,      -1,     -1,     -1,     -0.125, 0.75,  0.75,
                 -1.25,  -0.375, -0.375, -0.375, -0.125, 0.75,   0.75,   -1.25,  -0.375, -0.375, -0.375});
  expect_resize({{"coordinate_transformation_mode", text("asymmetric")}, {"nearest_mode", text("round_prefer_ceil")}},
                {in(P({1, 1, 4})), none(), none(), constant(i64s({1, 1, 6}))}, {1, 1, 6},
                {-1.375, -0.5, -0.5, 0.375, 1.25, 1.25});
}

TEST(ResizeValues, LinearCoordinateModes) {
  expect_resize({{"mode", text("linear")}}, {in(P({1, 1, 5, 4})), none(), constant(f32s({1, 1, 0.6f, 0.75f}))},
                {1, 1, 3, 3},
                {-1.0208335, 0.14583331, 0.51388896, 0.020833351, -0.25, -0.52083337, 0.74305546, -0.16666654,
                 0.52083313});
  expect_resize({{"mode", text("linear")}, {"coordinate_transformation_mode", text("align_corners")}},
                {in(P({1, 1, 2, 3})), none(), none(), constant(i64s({1, 1, 4, 5}))}, {1, 1, 4, 5},
                {-1.375, -0.9375, -0.5, -0.0625, 0.375, -0.49999994, -0.54166663, -0.58333331, -0.14583333, 0.29166666,
                 0.37500006, -0.14583331, -0.66666663, -0.22916667, 0.20833333, 1.25, 0.25, -0.75, -0.3125, 0.125});
  // REF: with a fractional output length (0.6 x 4 = 2.4) align_corners
  // divides by 2.4 - 1, as the ONNX backend tests expect.
  expect_resize({{"mode", text("linear")}, {"coordinate_transformation_mode", text("align_corners")}},
                {in(P({1, 1, 4, 5})), none(), constant(f32s({1, 1, 0.6f, 0.5f}))}, {1, 1, 2, 2},
                {-1.375, 0.95833331, -1.0357145, 0.88690495});
  expect_resize({{"mode", text("linear")}, {"coordinate_transformation_mode", text("pytorch_half_pixel")}},
                {in(P({1, 1, 4, 4})), none(), none(), constant(i64s({1, 1, 3, 1}))}, {1, 1, 3, 1},
                {-1.2708333, -0.4375, 0.39583328});
  expect_resize({{"mode", text("linear")}, {"coordinate_transformation_mode", text("half_pixel_symmetric")}},
                {in(P({1, 1, 5, 4})), none(), constant(f32s({1, 1, 0.7f, 1.3f}))}, {1, 1, 3, 5},
                {-1.0178571, -0.37843412, 0.29464284, 0.52541202, -0.035714209, -0.125, 0.51442307, -0.25, -1.014423,
                 -0.375, 0.76785719, 0.50686812, 0.026785702, -0.12156586, 0.51785713});
}

TEST(ResizeValues, Cubic) {
  expect_resize({{"mode", text("cubic")}, {"cubic_coeff_a", Attr::of_float(-0.5f)}, {"exclude_outside", one(1)}},
                {in(P({1, 1, 3, 4})), none(), constant(f32s({1, 1, 1.5, 1.5}))}, {1, 1, 4, 6},
                {-1.4736838, -1.0558242, -0.39747471, 0.1771028,   0.94872272, 1.4680351,   -1.1752126, -0.76730108,
                 -0.058840912, 0.72336292, 0.5203287,   0.11184211,  -0.69028884, -0.25037044, 0.37380993, 0.7957769,
                 -0.17567948, -1.1649249, -0.24684332, 0.32089093,  0.5290184,  -0.80553854, -0.81215441, -0.43675902});
  expect_resize({{"mode", text("cubic")}, {"coordinate_transformation_mode", text("asymmetric")}},
                {in(P({1, 1, 2, 3})), none(), constant(f32s({1, 1, 2, 1.5}))}, {1, 1, 4, 4},
                {-1.375, -0.87268585, -0.12731478, 0.375, -0.0625, -0.5451389, -0.41203701, 0.25, 1.25, -0.217592,
                 -0.69675934, 0.125, 1.4960938, -0.15617695, -0.75014472, 0.1015625});
}

TEST(ResizeValues, Antialias) {
  expect_resize({{"mode", text("linear")}, {"antialias", one(1)}},
                {in(P({1, 1, 7, 5})), none(), constant(f32s({1, 1, 0.4f, 0.6f}))}, {1, 1, 2, 3},
                {-0.41687503, 0.11055557, 0.19875008, -0.096875034, -0.016666664, 0.087499954});
  expect_resize({{"mode", text("cubic")}, {"antialias", one(1)}},
                {in(P({1, 1, 8, 7})), none(), none(), constant(i64s({1, 1, 3, 4}))}, {1, 1, 3, 4},
                {-0.67653584, 0.30790111, -0.25302488, 0.59092987, 0.37310034, -0.39036247, 0.25528532, -0.34371084,
                 0.36900052, -0.012066208, -0.2324596, -0.064696662});
}

TEST(ResizeValues, TfCropAndResizeExtrapolates) {
  expect_resize({{"mode", text("linear")}, {"coordinate_transformation_mode", text("tf_crop_and_resize")},
                 {"extrapolation_value", Attr::of_float(9.5f)}},
                {in(P({1, 1, 4, 5})), constant(f32s({0, 0, 0.2f, -0.1f, 1, 1, 0.9f, 0.8f})), none(),
                 constant(i64s({1, 1, 3, 4}))},
                {1, 1, 3, 4},
                {9.5, 0.22500005, -0.45000005, 0.36999997, 9.5, -0.068749934, -0.025000036, 0.65124995, 9.5, 0.49999976,
                 -0.46249974, 0.41500017});
}

TEST(ResizeValues, AxesAndAspectPolicies) {
  expect_resize({{"axes", ints({3, 2})}, {"keep_aspect_ratio_policy", text("not_larger")}},
                {in(P({1, 2, 3, 4})), none(), none(), constant(i64s({6, 5}))}, {1, 2, 5, 6},
                {-1.375, -1.375, -0.5,  0.375, 0.375, 1.25,  -1.375, -1.375, -0.5,  0.375,  0.375,  1.25,
                 -0.75,  -0.75,  0.125, 1,     1,     -1,    -0.125, -0.125, 0.75,  -1.25,  -1.25,  -0.375,
                 -0.125, -0.125, 0.75,  -1.25, -1.25, -0.375, 0.5,   0.5,    1.375, -0.625, -0.625, 0.25,
                 0.5,    0.5,    1.375, -0.625, -0.625, 0.25, 1.125,  1.125,  -0.875, 0,     0,      0.875,
                 -1.125, -1.125, -0.25, 0.625, 0.625, -1.375, -1.125, -1.125, -0.25, 0.625,  0.625,  -1.375});
  expect_resize({{"mode", text("linear")}, {"axes", ints({2, 3})}, {"keep_aspect_ratio_policy", text("not_smaller")}},
                {in(P({1, 1, 3, 4})), none(), none(), constant(i64s({5, 5}))}, {1, 1, 5, 7},
                {-1.375,   -1.025,   -0.5,        0.025000125, 0.55000007,  1.0750002,   1.25,
                 -1.125,   -0.775,   -0.24999997, 0.27500015,  0.56999993,  0.40499985,  0.34999993,
                 -0.75,    -0.4,     0.125,       0.6500001,   0.5999999,   -0.60000038, -1,
                 -0.375,   -0.025,   0.50000012,  -0.010000259, -0.40500021, -0.57000005, -0.62499988,
                 -0.125,   0.225,    0.75,        -0.45000029, -1.0749999,  -0.54999983, -0.375});
}

TEST(ResizeValues, IntegerTypesRoundAndKeepExactValues) {
  // REF: integer outputs round half to even and saturate.
  Tensor x = Tensor::alloc(DType::kUInt8, {1, 1, 3, 3}).value();
  std::vector<double> p = pattern(9);
  for (int64_t i = 0; i < 9; ++i) x.set_f64(i, p[static_cast<size_t>(i)] * 16 + 128);
  expect_resize({{"mode", text("linear")}}, {in(x), none(), constant(f32s({1, 1, 1.5, 2}))}, {1, 1, 4, 6},
                {106, 110, 116, 124, 130, 134, 127, 125, 120, 122, 128, 132,
                 147, 139, 123, 119, 126, 129, 145, 137, 121, 116, 123, 127},
                0);
  // Nearest copies int64 values exactly, even beyond double precision.
  Tensor big = Tensor::from_i64({(int64_t{1} << 60) + 1, -((int64_t{1} << 62) + 3)}, {1, 2});
  auto r = run_op("Resize", {}, {in(big), none(), constant(f32s({1, 2}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(), (std::vector<int64_t>{(int64_t{1} << 60) + 1, (int64_t{1} << 60) + 1,
                                                                  -((int64_t{1} << 62) + 3), -((int64_t{1} << 62) + 3)}));
}

TEST(ResizeUpsampleValues, RewrittenToResize) {
  auto n = run_op("Upsample", {{"mode", text("nearest")}}, {in(P({1, 1, 2, 3})), constant(f32s({1, 1, 2, 2.5}))}, 1, 9);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(n->outputs[0].dims(), (std::vector<int64_t>{1, 1, 4, 7}));
  expect_values(n->outputs[0], {-1.375, -1.375, -1.375, -0.5,   -0.5,   0.375, 0.375, -1.375, -1.375, -1.375,
                                -0.5,   -0.5,   0.375,  0.375,  1.25,   1.25,  1.25,  -0.75,  -0.75,  0.125,
                                0.125,  1.25,   1.25,   1.25,   -0.75,  -0.75, 0.125, 0.125});
  auto l = run_op("Upsample", {{"mode", text("linear")}}, {in(P({1, 1, 2, 3})), constant(f32s({1, 1, 1.5, 2}))}, 1, 9);
  ASSERT_TRUE(l.ok()) << l.status().to_string();
  expect_values(l->outputs[0], {-1.375, -0.9375, -0.5, -0.0625, 0.375, 0.375, 0.37500006, -0.14583331, -0.66666663,
                                -0.22916667, 0.20833333, 0.20833333, 1.25, 0.25, -0.75, -0.3125, 0.125, 0.125});
  auto a = run_op("Upsample", {{"mode", text("linear")}, {"scales", Attr::of_floats({1, 1, 2, 1.5})}},
                  {in(P({1, 1, 2, 2}))}, 1, 7);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  expect_values(a->outputs[0], {-1.375, -0.79166663, -0.5, -0.5, 0.083333373, 0.375, 0.375, 0.95833337, 1.25, 0.375,
                                0.95833337, 1.25});
  expect_error(run_op("Upsample", {{"mode", text("cubic")}}, {in(P({1, 2})), constant(f32s({1, 2}))}, 1, 9),
               "mode 'cubic'");
  expect_error(run_op("Upsample", {}, {in(P({1, 2}))}, 1, 7), "scales is required");
}

TEST(ResizePadValues, Modes) {
  auto reflect = run_op("Pad", {{"mode", text("reflect")}}, {in(P({3, 4})), constant(i64s({1, 2, 2, 1}))});
  ASSERT_TRUE(reflect.ok()) << reflect.status().to_string();
  EXPECT_EQ(reflect->outputs[0].dims(), (std::vector<int64_t>{6, 7}));
  expect_values(reflect->outputs[0],
                {1,     0.125, -0.75, 0.125, 1,     -1,    1,     0.375, -0.5,  -1.375, -0.5,  0.375, 1.25, 0.375,
                 1,     0.125, -0.75, 0.125, 1,     -1,    1,     -1.25, 0.75,  -0.125, 0.75,  -1.25, -0.375, -1.25,
                 1,     0.125, -0.75, 0.125, 1,     -1,    1,     0.375, -0.5,  -1.375, -0.5,  0.375, 1.25, 0.375});
  auto edge = run_op("Pad", {{"mode", text("edge")}}, {in(P({3, 5})), constant(i64s({-1, 2, 1, -2}))});
  ASSERT_TRUE(edge.ok()) << edge.status().to_string();
  expect_values(edge->outputs[0], {0.125, 0.125, 0.125, 1, -1, -1.25, -1.25, -1.25, -0.375, 0.5, -1.25, -1.25, -1.25,
                                   -0.375, 0.5});
  auto wrap = run_op("Pad", {{"mode", text("wrap")}},
                     {in(P({2, 3, 4})), constant(i64s({1, 3, 2, 0})), none(), constant(i64s({-1, 1}))});
  ASSERT_TRUE(wrap.ok()) << wrap.status().to_string();
  EXPECT_EQ(wrap->outputs[0].dims(), (std::vector<int64_t>{2, 6, 7}));
  expect_values(wrap->outputs[0],
                {1.25, -1.375, -0.5, 0.375, 1.25, -1.375, -0.5, -1, -0.75, 0.125, 1, -1, -0.75, 0.125,
                 -0.375, -0.125, 0.75, -1.25, -0.375, -0.125, 0.75, 1.25, -1.375, -0.5, 0.375, 1.25, -1.375, -0.5,
                 -1, -0.75, 0.125, 1, -1, -0.75, 0.125, -0.375, -0.125, 0.75, -1.25, -0.375, -0.125, 0.75,
                 0.25, 0.5, 1.375, -0.625, 0.25, 0.5, 1.375, 0.875, 1.125, -0.875, 0, 0.875, 1.125, -0.875,
                 -1.375, -1.125, -0.25, 0.625, -1.375, -1.125, -0.25, 0.25, 0.5, 1.375, -0.625, 0.25, 0.5, 1.375,
                 0.875, 1.125, -0.875, 0, 0.875, 1.125, -0.875, -1.375, -1.125, -0.25, 0.625, -1.375, -1.125, -0.25});
  Tensor value = make_tensor(DType::kFloat32, {}, {7.25});
  auto c = run_op("Pad", {}, {in(P({2, 3})), constant(i64s({1, 0, 0, 2})), constant(value)});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  expect_values(c->outputs[0], {7.25, 7.25, 7.25, 7.25, 7.25, -1.375, -0.5, 0.375, 7.25, 7.25, 1.25, -0.75, 0.125, 7.25,
                                7.25});
  // REF (numpy semantics): reflect pads longer than the axis keep mirroring.
  auto longer = run_op("Pad", {{"mode", text("reflect")}}, {in(P({1, 3})), constant(i64s({0, 5, 0, 4}))});
  ASSERT_TRUE(longer.ok()) << longer.status().to_string();
  expect_values(longer->outputs[0], {-0.5, -1.375, -0.5, 0.375, -0.5, -1.375, -0.5, 0.375, -0.5, -1.375, -0.5, 0.375});
}

TEST(ResizePadValues, CopiesBytesExactly) {
  Tensor big = Tensor::from_i64({(int64_t{1} << 61) + 7, -5}, {2});
  auto r = run_op("Pad", {{"mode", text("edge")}}, {in(big), constant(i64s({1, 2}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->outputs[0].to_i64_vector(),
            (std::vector<int64_t>{(int64_t{1} << 61) + 7, (int64_t{1} << 61) + 7, -5, -5, -5}));
  Tensor b = make_tensor(DType::kBool, {2}, {1, 0});
  auto rb = run_op("Pad", {}, {in(b), constant(i64s({1, 1})), constant(make_tensor(DType::kBool, {}, {1}))});
  ASSERT_TRUE(rb.ok()) << rb.status().to_string();
  EXPECT_EQ(rb->outputs[0].to_i64_vector(), (std::vector<int64_t>{1, 1, 0, 1}));
}

TEST(ResizeDepthSpaceValues, BothModesAndInverse) {
  auto dcr = run_op("DepthToSpace", {{"blocksize", one(2)}}, {in(P({1, 8, 2, 3}))});
  ASSERT_TRUE(dcr.ok()) << dcr.status().to_string();
  EXPECT_EQ(dcr->outputs[0].dims(), (std::vector<int64_t>{1, 2, 4, 6}));
  expect_values(dcr->outputs[0],
                {-1.375, 0.5,   -0.5,  1.375, 0.375, -0.625, -0.5,  1.375, 0.375, -0.625, 1.25,   0.25,
                 1.25,   0.25,  -0.75, 1.125, 0.125, -0.875, -0.75, 1.125, 0.125, -0.875, 1,      0,
                 1,      0,     -1,    0.875, -0.125, -1.125, -1,   0.875, -0.125, -1.125, 0.75,  -0.25,
                 0.75,   -0.25, -1.25, 0.625, -0.375, -1.375, -1.25, 0.625, -0.375, -1.375, 0.5,   -0.5});
  auto crd = run_op("DepthToSpace", {{"blocksize", one(2)}, {"mode", text("CRD")}}, {in(P({1, 8, 2, 3}))});
  ASSERT_TRUE(crd.ok()) << crd.status().to_string();
  expect_values(crd->outputs[0],
                {-1.375, 1,      -0.5,  -1,     0.375, -0.125, 0.5,    0,      1.375, 0.875, -0.625, -1.125,
                 1.25,   0.75,   -0.75, -1.25,  0.125, -0.375, 0.25,   -0.25,  1.125, 0.625, -0.875, -1.375,
                 -0.5,   -1,     0.375, -0.125, 1.25,  0.75,   1.375,  0.875,  -0.625, -1.125, 0.25,  -0.25,
                 -0.75,  -1.25,  0.125, -0.375, 1,     0.5,    1.125,  0.625,  -0.875, -1.375, 0,     -0.5});
  auto s2d = run_op("SpaceToDepth", {{"blocksize", one(2)}}, {in(P({1, 2, 4, 6}))});
  ASSERT_TRUE(s2d.ok()) << s2d.status().to_string();
  EXPECT_EQ(s2d->outputs[0].dims(), (std::vector<int64_t>{1, 8, 2, 3}));
  expect_values(s2d->outputs[0],
                {-1.375, 0.375, -0.75,  0.5,   -0.625, 1.125,  -0.5,   1.25,   0.125,  1.375, 0.25,  -0.875,
                 -0.5,   1.25,  0.125,  1.375, 0.25,   -0.875, 0.375,  -0.75,  1,      -0.625, 1.125, 0,
                 1,      -0.125, -1.25, 0,     -1.125, 0.625,  -1,     0.75,   -0.375, 0.875, -0.25, -1.375,
                 -1,     0.75,  -0.375, 0.875, -0.25,  -1.375, -0.125, -1.25,  0.5,    -1.125, 0.625, -0.5});
  // SpaceToDepth undoes DepthToSpace in the same mode.
  for (const char* mode : {"DCR", "CRD"}) {
    Tensor x = P({2, 12, 2, 3});
    auto d = run_op("DepthToSpace", {{"blocksize", one(2)}, {"mode", text(mode)}}, {in(x)});
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    auto s = run_op("SpaceToDepth", {{"blocksize", one(2)}, {"mode", text(mode)}}, {in(d->outputs[0])});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_EQ(s->outputs[0].to_f64_vector(), x.to_f64_vector()) << mode;
  }
}

TEST(ResizeErrors, BadInputIsRefusedWithAClearMessage) {
  Tensor x = P({1, 1, 3, 3});
  expect_error(run_op("Resize", {}, {in(x), none(), constant(f32s({1, 1, 2, 2})), constant(i64s({1, 1, 6, 6}))}),
               "cannot both be given");
  expect_error(run_op("Resize", {}, {in(x)}), "one of scales and sizes");
  expect_error(run_op("Resize", {}, {in(x), none(), constant(f32s({1, 1, 0, 2}))}), "must be > 0");
  expect_error(run_op("Resize", {}, {in(x), none(), constant(f32s({1, 2, 2}))}), "scales has 3 values");
  expect_error(run_op("Resize", {}, {in(x), none(), none(), constant(i64s({1, 1, -6, 6}))}), "out of range");
  expect_error(run_op("Resize", {{"axes", ints({2, -2})}}, {in(x), none(), constant(f32s({2, 2}))}), "appears twice");
  expect_error(run_op("Resize", {{"axes", ints({4})}}, {in(x), none(), constant(f32s({2}))}), "axes");
  expect_error(run_op("Resize", {{"mode", text("bilinear")}}, {in(x), none(), constant(f32s({1, 1, 2, 2}))}),
               "mode 'bilinear'");
  expect_error(run_op("Resize", {{"coordinate_transformation_mode", text("tf_half_pixel_for_nn")}},
                      {in(x), none(), constant(f32s({1, 1, 2, 2}))}),
               "tf_half_pixel_for_nn");
  expect_error(run_op("Resize", {{"antialias", one(2)}}, {in(x), none(), constant(f32s({1, 1, 2, 2}))}), "antialias");
  expect_error(run_op("Resize", {{"coordinate_transformation_mode", text("tf_crop_and_resize")}},
                      {in(x), constant(f32s({0, 1})), constant(f32s({1, 1, 2, 2}))}),
               "roi has 2 values");
  expect_error(run_op("Resize", {}, {in(x), none(), none(), constant(Tensor::from_f32({1, 1, 6, 6}, {4}))}),
               "sizes has type float32");
  // Allocation bomb: a 2^40 x 2^40 output.
  auto bomb = run_op("Resize", {}, {in(x), none(), none(), constant(i64s({1, 1, int64_t{1} << 40, int64_t{1} << 40}))});
  ASSERT_FALSE(bomb.ok());
  auto huge = run_op("Resize", {}, {in(x), none(), constant(f32s({1, 1, 1e30f, 1}))});
  ASSERT_FALSE(huge.ok());
  auto fp8 = run_op("Resize", {}, {in(P({1, 4}, DType::kFloat8E4M3FN)), none(), constant(f32s({1, 2}))});
  ASSERT_FALSE(fp8.ok());
  EXPECT_EQ(fp8.status().code(), ErrorCode::kUnsupported) << fp8.status().to_string();
}

// Extreme but in-range inputs: refused or computed, never a crash.
TEST(ResizeErrors, ExtremeInputsDoNotCrash) {
  Tensor x = P({1, 1, 3, 5});
  for (const char* mode : {"nearest", "linear", "cubic"})
    for (float s : {1e-30f, 1e-3f, 0.2f, 3e3f, NAN, INFINITY, -1.0f}) {
      auto r = run_op("Resize", {{"mode", text(mode)}, {"antialias", one(1)}, {"exclude_outside", one(1)}},
                      {in(x), none(), constant(f32s({1, 1, s, 1}))});
      expect_rank_if_ok(r, 4);
      auto a = run_op("Resize", {{"mode", text(mode)}, {"coordinate_transformation_mode", text("asymmetric")}},
                      {in(x), none(), constant(f32s({1, 1, s, 0.5f}))});
      expect_rank_if_ok(a, 4);
    }
  auto crop = run_op("Resize", {{"mode", text("cubic")}, {"coordinate_transformation_mode", text("tf_crop_and_resize")}},
                     {in(x), constant(f32s({0, 0, -1e30f, NAN, 1, 1, 1e30f, 2})), none(), constant(i64s({1, 1, 4, 4}))});
  expect_rank_if_ok(crop, 4);
  // A shared scale of 1/1500: each output reads a 3000-wide antialias window.
  auto policy = run_op("Resize", {{"keep_aspect_ratio_policy", text("not_larger")}, {"mode", text("cubic")},
                                  {"antialias", one(1)}, {"axes", ints({2, 3})}},
                       {in(P({1, 1, 3000, 1500})), none(), none(), constant(i64s({2, 100}))});
  ASSERT_TRUE(policy.ok()) << policy.status().to_string();
  EXPECT_EQ(policy->outputs[0].dims(), (std::vector<int64_t>{1, 1, 2, 1}));
  for (double v : policy->outputs[0].to_f64_vector()) EXPECT_LT(std::abs(v), 1.5);
  for (int64_t p : {INT64_MIN, INT64_MAX, int64_t{-4}}) {
    auto r = run_op("Pad", {{"mode", text("reflect")}}, {in(P({2, 3})), constant(i64s({0, p, 0, 0}))});
    EXPECT_FALSE(r.ok());
  }
  auto d2s = run_op("DepthToSpace", {{"blocksize", one(int64_t{1} << 20)}}, {in(P({1, 4, 2, 2}))});
  EXPECT_FALSE(d2s.ok());
}

TEST(ResizePadErrors, BadInputIsRefusedWithAClearMessage) {
  Tensor x = P({3, 4});
  expect_error(run_op("Pad", {}, {in(x), constant(i64s({1, 1, 1}))}), "pads has 3 values");
  expect_error(run_op("Pad", {}, {in(x), constant(i64s({-2, 0, -2, 0}))}), "remove more than");
  expect_error(run_op("Pad", {{"mode", text("edge")}}, {in(x), constant(i64s({-3, 0, 1, 0}))}), "cannot pad empty axis");
  expect_error(run_op("Pad", {{"mode", text("mirror")}}, {in(x), constant(i64s({1, 1, 1, 1}))}), "mode 'mirror'");
  expect_error(run_op("Pad", {}, {in(x), constant(i64s({1, 1})), none(), constant(i64s({2}))}), "axes");
  expect_error(run_op("Pad", {}, {in(x), constant(i64s({1, 1, 1, 1})), none(), constant(i64s({1, -1}))}),
               "appears twice");
  expect_error(run_op("Pad", {}, {in(x), constant(i64s({1, 1, 1, 1})), constant(i64s({3}))}), "constant_value has type");
  expect_error(run_op("Pad", {}, {in(x), constant(f32s({1, 1, 1, 1}))}), "pads has type float32");
  auto bomb = run_op("Pad", {}, {in(x), constant(i64s({int64_t{1} << 40, 0, 0, int64_t{1} << 40}))});
  ASSERT_FALSE(bomb.ok());
  expect_error(run_op("Pad", {}, {in(x), constant(i64s({INT64_MAX, 0, 0, 0}))}), "overflows");
}

TEST(ResizeDepthSpaceErrors, BadInputIsRefusedWithAClearMessage) {
  expect_error(run_op("DepthToSpace", {{"blocksize", one(2)}}, {in(P({1, 6, 2, 2}))}), "divisible by");
  expect_error(run_op("DepthToSpace", {{"blocksize", one(0)}}, {in(P({1, 4, 2, 2}))}), "blocksize must be in");
  expect_error(run_op("DepthToSpace", {}, {in(P({1, 4, 2, 2}))}), "blocksize");
  expect_error(run_op("DepthToSpace", {{"blocksize", one(2)}, {"mode", text("RCD")}}, {in(P({1, 4, 2, 2}))}),
               "mode 'RCD'");
  expect_error(run_op("SpaceToDepth", {{"blocksize", one(2)}}, {in(P({1, 4, 3, 2}))}), "divisible by");
  expect_error(run_op("SpaceToDepth", {{"blocksize", one(2)}}, {in(P({4, 2, 2}))}), "4-D");
}

TEST(ResizeInfer, RuntimeSizesGiveUnknownDims) {
  auto scales = infer_op("Resize", {}, {sym({Dim::symbolic("N"), 3, 8, 8}), absent(), sym({4})});
  ASSERT_TRUE(scales.ok()) << scales.status().to_string();
  const Shape& s = (*scales)[0].shape;
  EXPECT_EQ(s.rank(), 4u);
  EXPECT_FALSE(s[2].is_static());
  auto axes = infer_op("Resize", {{"axes", ints({2, 3})}},
                       {sym({Dim::symbolic("N"), 3, 8, 8}), absent(), absent(), sym({2}, DType::kInt64)});
  ASSERT_TRUE(axes.ok()) << axes.status().to_string();
  EXPECT_EQ((*axes)[0].shape[0], Dim::symbolic("N"));
  EXPECT_EQ((*axes)[0].shape[1], Dim(3));
  EXPECT_FALSE((*axes)[0].shape[3].is_static());
  // Constant scales on a symbolic dim: scale 1 keeps the symbol.
  auto keep = infer_op("Resize", {}, {sym({Dim::symbolic("N"), 3, Dim::symbolic("H"), 8}), absent(),
                                      known(f32s({1, 1, 2, 0.5f}))});
  ASSERT_TRUE(keep.ok()) << keep.status().to_string();
  EXPECT_EQ((*keep)[0].shape[0], Dim::symbolic("N"));
  EXPECT_FALSE((*keep)[0].shape[2].is_static());
  EXPECT_EQ((*keep)[0].shape[3], Dim(4));
  // Constant sizes fix the resized dims even when the input's are symbolic.
  auto sizes = infer_op("Resize", {}, {sym({1, 3, Dim::symbolic("H"), Dim::symbolic("W")}), absent(), absent(),
                                       known(i64s({1, 3, 224, 224}))});
  ASSERT_TRUE(sizes.ok()) << sizes.status().to_string();
  EXPECT_EQ((*sizes)[0].shape.to_string(), "[1,3,224,224]");
  // Opset 13: an empty scales next to sizes.
  auto empty = infer_op("Resize", {}, {sym({1, 3, 4, 4}), known(f32s({})), known(f32s({})), known(i64s({1, 3, 5, 6}))},
                        1, 13);
  ASSERT_TRUE(empty.ok()) << empty.status().to_string();
  EXPECT_EQ((*empty)[0].shape.to_string(), "[1,3,5,6]");
}

TEST(ResizePadInfer, RuntimePadsGiveUnknownDims) {
  auto r = infer_op("Pad", {}, {sym({Dim::symbolic("N"), 3, 8}), sym({6}, DType::kInt64)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].shape.rank(), 3u);
  EXPECT_FALSE((*r)[0].shape[1].is_static());
  auto axes = infer_op("Pad", {}, {sym({Dim::symbolic("N"), 3, 8}), sym({2}, DType::kInt64), absent(),
                                   known(i64s({2}))});
  ASSERT_TRUE(axes.ok()) << axes.status().to_string();
  EXPECT_EQ((*axes)[0].shape[0], Dim::symbolic("N"));
  EXPECT_EQ((*axes)[0].shape[1], Dim(3));
  EXPECT_FALSE((*axes)[0].shape[2].is_static());
  auto known_pads = infer_op("Pad", {}, {sym({Dim::symbolic("N"), 3, 8}), known(i64s({0, 1, 2, 0, 1, -3}))});
  ASSERT_TRUE(known_pads.ok()) << known_pads.status().to_string();
  EXPECT_EQ((*known_pads)[0].shape.to_string(), "[N,5,7]");
  auto d2s = infer_op("DepthToSpace", {{"blocksize", one(2)}}, {sym({Dim::symbolic("N"), 12, Dim::symbolic("H"), 5})});
  ASSERT_TRUE(d2s.ok()) << d2s.status().to_string();
  EXPECT_EQ((*d2s)[0].shape[1], Dim(3));
  EXPECT_FALSE((*d2s)[0].shape[2].is_static());
  EXPECT_EQ((*d2s)[0].shape[3], Dim(10));
}

}  // namespace
}  // namespace kiln::testing
