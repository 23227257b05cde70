// Norm family: values against onnx.reference / onnxruntime, training-mode
// BatchNormalization, the opset 18 GroupNormalization form, optional
// outputs, dtypes and the error paths.
#include <gtest/gtest.h>

#include <cmath>

#include "op_test_util.h"
#include "ops/infer.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT

// x of shape [2,3,4] (float32) and the per-channel parameters used below.
const std::vector<double> kX = {
    -1.0, -0.6299999952316284, -0.25999999046325684, 0.11000001430511475, 0.48000001907348633, 0.8500000238418579,
    -0.8799998760223389, -0.5099997520446777, -0.1399998664855957, 0.23000001907348633, 0.6000001430511475,
    0.9700002670288086, -0.7599997520446777, -0.3899998664855957, -0.01999950408935547, 0.35000038146972656,
    0.7200002670288086, 1.0900001525878906, -0.6399998664855957, -0.26999950408935547, 0.10000038146972656,
    0.4700002670288086, 0.8400006294250488, -0.8899993896484375};

Tensor f32(std::vector<int64_t> dims, const std::vector<double>& v) { return make_tensor(DType::kFloat32, dims, v); }
Tensor x234() { return f32({2, 3, 4}, kX); }
Tensor scale3() { return f32({3}, {0.5, 1.5, -1.0}); }
Tensor bias3() { return f32({3}, {0.1, -0.2, 0.3}); }
Tensor mean3() { return f32({3}, {0.05, -0.1, 0.2}); }
Tensor var3() { return f32({3}, {0.8, 1.2, 0.5}); }

void expect_values(const Tensor& t, const std::vector<int64_t>& dims, const std::vector<double>& want,
                   double tol = 1e-5) {
  ASSERT_EQ(t.dims(), dims);
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (int64_t i = 0; i < t.numel(); ++i)
    EXPECT_NEAR(t.get_f64(i), want[static_cast<size_t>(i)], tol * std::max(1.0, std::fabs(want[static_cast<size_t>(i)])))
        << "element " << i;
}

std::string fails(const Expected<OpRun>& r, ErrorCode code = ErrorCode::kInvalidArgument) {
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  return r.status().message();
}

const std::vector<double> kBnInference = {
    -0.486601322889328,  -0.2798942029476166,  -0.07318706065416336, 0.13352008163928986, 0.5938670635223389,
    1.10029935836792,    -1.2676141262054443,  -0.7611814737319946,  0.7803523540496826,  0.25761595368385315,
    -0.26512080430984497, -0.7878575921058655, -0.3525209128856659,  -0.14581382274627686, 0.060893524438142776,
    0.2676005959510803,  0.9223641753196716,   1.4287962913513184,   -0.9391173124313354, -0.4326844811439514,
    0.44127964973449707, -0.08145681023597717, -0.6041938662528992,  1.8399529457092285};

TEST(NormBatch, InferenceMatchesReference) {
  for (int64_t opset : {13, 14, 15, 24}) {
    SCOPED_TRACE(opset);
    auto r = run_op("BatchNormalization", {{"epsilon", Attr::of_float(1e-3f)}},
                    {in(x234()), constant(scale3()), constant(bias3()), constant(mean3()), constant(var3())}, 1, opset);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    expect_values(r->outputs[0], {2, 3, 4}, kBnInference);
  }
}

TEST(NormBatch, TrainingModeOutputsRunningStats) {
  auto r = run_op("BatchNormalization",
                  {{"epsilon", Attr::of_float(1e-3f)}, {"training_mode", Attr::of_int(1)}, {"momentum", Attr::of_float(0.8f)}},
                  {in(x234()), in(scale3()), in(bias3()), in(mean3()), in(var3())}, 3);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {2, 3, 4},
                {-0.6814573407173157, -0.2531030476093292, 0.17525124549865723, 0.6036055684089661, 0.5860981941223145,
                 1.3617151975631714, -2.2648189067840576, -1.4892014265060425, 1.035560131072998, 0.3757854700088501,
                 -0.2839895486831665, -0.9437646269798279, -0.4036056101322174, 0.0247485414147377, 0.453103244304657,
                 0.8814573884010315, 1.0892016887664795, 1.8648185729980469, -1.7617157697677612, -0.9860978126525879,
                 0.6075975894927979, -0.05217701196670532, -0.7119525074958801, 2.3729405403137207});
  expect_values(r->outputs[1], {3}, {-0.024999957531690598, -0.05899997055530548, 0.2145000696182251});
  expect_values(r->outputs[2], {3}, {0.6771050691604614, 1.0622050762176514, 0.462698757648468});
  // Opset 9 form (accepted at 13): extra outputs mean training.
  auto old = run_op("BatchNormalization", {{"epsilon", Attr::of_float(1e-3f)}, {"momentum", Attr::of_float(0.8f)}},
                    {in(x234()), in(scale3()), in(bias3()), in(mean3()), in(var3())}, 3, 13);
  ASSERT_TRUE(old.ok()) << old.status().to_string();
  expect_values(old->outputs[1], {3}, {-0.024999957531690598, -0.05899997055530548, 0.2145000696182251});
  auto saved = run_op("BatchNormalization", {}, {in(x234()), in(scale3()), in(bias3()), in(mean3()), in(var3())}, 5, 13);
  fails(saved, ErrorCode::kUnsupported);
}

TEST(NormBatch, Errors) {
  std::string msg = fails(run_op("BatchNormalization", {},
                                 {in(x234()), in(f32({4}, {})), in(bias3()), in(mean3()), in(var3())}));
  EXPECT_NE(msg.find("4 entries for 3 channels"), std::string::npos) << msg;
  msg = fails(run_op("BatchNormalization", {}, {in(f32({3}, {})), in(scale3()), in(bias3()), in(mean3()), in(var3())}));
  EXPECT_NE(msg.find("rank >= 2"), std::string::npos) << msg;
  msg = fails(run_op("BatchNormalization", {}, {in(x234()), in(scale3()), in(bias3()), in(mean3()), in(var3())}, 3));
  EXPECT_NE(msg.find("training_mode=1"), std::string::npos) << msg;
  msg = fails(run_op("BatchNormalization", {{"epsilon", Attr::of_int(1)}},
                     {in(x234()), in(scale3()), in(bias3()), in(mean3()), in(var3())}));
  EXPECT_NE(msg.find("epsilon"), std::string::npos) << msg;
  fails(run_op("BatchNormalization", {},
               {in(Tensor::from_i64({1, 2, 3, 4}, {2, 2})), in(scale3()), in(bias3()), in(mean3()), in(var3())}),
        ErrorCode::kUnsupported);
}

TEST(NormInstance, MatchesReference) {
  auto r = run_op("InstanceNormalization", {{"epsilon", Attr::of_float(1e-3f)}},
                  {in(x234()), constant(scale3()), constant(bias3())});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {2, 3, 4},
                {-0.56886887550354, -0.1229562982916832, 0.32295629382133484, 0.7688689231872559, 0.8525562882423401,
                 1.6393157243728638, -2.039315938949585, -1.2525562047958374, 1.63773775100708, 0.7459128499031067,
                 -0.1459125280380249, -1.0377378463745117, -0.5688688158988953, -0.12295647710561752,
                 0.32295647263526917, 0.7688688635826111, 0.8525564074516296, 1.6393154859542847, -2.039315938949585,
                 -1.2525559663772583, 0.3464992046356201, -0.2269890308380127, -0.8004780411720276, 1.8809678554534912});
  std::string msg = fails(run_op("InstanceNormalization", {}, {in(x234()), in(scale3()), in(f32({2}, {}))}));
  EXPECT_NE(msg.find("2 entries for 3 channels"), std::string::npos) << msg;
}

const std::vector<double> kScale2 = {0.5, 1.5, -1.0, 2.0, 0.25, 0.75, -0.5, 1.0, 1.0, 3.0, -2.0, 4.0};
const std::vector<double> kBias2 = {-0.5, -0.4000000059604645, -0.30000001192092896, -0.19999998807907104,
                                    -0.09999999403953552, 0.0, 0.10000002384185791, 0.19999998807907104,
                                    0.30000001192092896, 0.40000003576278687, 0.5, 0.6000000238418579};

TEST(NormLayer, Axis1WithStatistics) {
  auto r = run_op("LayerNormalization", {{"axis", Attr::of_int(1)}, {"epsilon", Attr::of_float(1e-3f)}},
                  {in(x234()), constant(f32({3, 4}, kScale2)), constant(f32({3, 4}, kBias2))}, 3);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {2, 3, 4},
                {-1.2749502658843994, -1.851556658744812, 0.08550834655761719, 0.19337555766105652, 0.0947209894657135,
                 1.0208100080490112, 0.7805400490760803, -0.578883707523346, 0.10331222414970398, 1.5565245151519775,
                 -1.4354089498519897, 6.79960298538208, -1.1435737609863281, -1.4487870931625366, -0.188765287399292,
                 0.753442645072937, 0.16616931557655334, 1.2394750118255615, 0.6482296586036682, -0.3085024356842041,
                 0.3794535994529724, 2.402228832244873, -2.010732650756836, -5.374904632568359});
  EXPECT_EQ(r->outputs[1].dtype(), DType::kFloat32);
  expect_values(r->outputs[1], {2, 1, 1}, {-0.014999915845692158, 0.050000350922346115});
  expect_values(r->outputs[2], {2, 1, 1}, {1.573503017425537, 1.5890707969665527});
}

TEST(NormLayer, NoBiasBroadcastScaleAndStashType) {
  Tensor s4 = f32({4}, {0.5, 1.5, -1.0, 2.0});
  auto r = run_op("LayerNormalization", {}, {in(x234()), constant(s4)});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {2, 3, 4},
                {-0.6708008050918579, -0.6708008050918579, -0.4472005367279053, 2.6832032203674316,
                 0.3512016236782074, 1.841148018836975, 1.227432131767273, -1.4048062562942505,
                 -0.6708006858825684, -0.6708011031150818, -0.4472004473209381, 2.6832032203674316,
                 -0.6708006858825684, -0.6708012819290161, -0.44720083475112915, 2.6832027435302734,
                 0.3512016832828522, 1.841148018836975, 1.227432370185852, -1.4048060178756714,
                 -0.023277295753359795, 0.7914252281188965, -1.101788878440857, -3.1657023429870605},
                1e-4);
  // fp16 X with the default stash_type: statistics come out as float32.
  Tensor h = make_tensor(DType::kFloat16, {2, 3, 4}, kX);
  auto half = run_op("LayerNormalization", {}, {in(h), constant(make_tensor(DType::kFloat16, {4}, {1, 1, 1, 1}))}, 3);
  ASSERT_TRUE(half.ok()) << half.status().to_string();
  EXPECT_EQ(half->outputs[0].dtype(), DType::kFloat16);
  EXPECT_EQ(half->outputs[1].dtype(), DType::kFloat32);
  EXPECT_EQ(half->inferred[2].dtype, DType::kFloat32);
  auto bf = run_op("LayerNormalization", {{"stash_type", Attr::of_int(16)}}, {in(x234()), constant(s4)}, 2);
  ASSERT_TRUE(bf.ok()) << bf.status().to_string();
  EXPECT_EQ(bf->outputs[1].dtype(), DType::kBFloat16);
}

TEST(NormLayer, Errors) {
  Tensor s4 = f32({4}, {1, 1, 1, 1});
  std::string msg = fails(run_op("LayerNormalization", {{"axis", Attr::of_int(3)}}, {in(x234()), in(s4)}));
  EXPECT_NE(msg.find("axis 3 is out of range"), std::string::npos) << msg;
  msg = fails(run_op("LayerNormalization", {}, {in(x234()), in(f32({3}, {}))}));
  EXPECT_NE(msg.find("does not broadcast"), std::string::npos) << msg;
  msg = fails(run_op("LayerNormalization", {{"stash_type", Attr::of_int(7)}}, {in(x234()), in(s4)}));
  EXPECT_NE(msg.find("stash_type"), std::string::npos) << msg;
  fails(run_op("LayerNormalization", {}, {in(x234()), in(s4)}, 1, 16), ErrorCode::kUnsupported);  // since 17
}

TEST(NormRms, MatchesReference) {
  auto last = run_op("RMSNormalization", {}, {in(x234()), constant(f32({4}, {0.5, 1.5, -1.0, 2.0}))});
  ASSERT_TRUE(last.ok()) << last.status().to_string();
  expect_values(last->outputs[0], {2, 3, 4},
                {-0.8229296207427979, -1.5553369522094727, 0.42792338132858276, 0.362089067697525, 0.34048208594322205,
                 1.8088111877441406, 1.248434066772461, -1.4470480680465698, -0.11946003884077072, 0.588767945766449,
                 -1.02394437789917, 3.31075382232666, -0.8230583071708679, -1.2670766115188599, 0.043317798525094986,
                 1.5161621570587158, 0.48663774132728577, 2.210145950317383, 0.8651332855224609, -0.7299550175666809,
                 0.0760587826371193, 1.072425365447998, -1.2777836322784424, -2.7076804637908936});
  auto axis = run_op("RMSNormalization", {{"axis", Attr::of_int(-2)}, {"epsilon", Attr::of_float(0.1f)}},
                     {in(x234()), in(f32({3, 4}, kScale2))});
  ASSERT_TRUE(axis.ok()) << axis.status().to_string();
  expect_values(axis->outputs[0], {2, 3, 4},
                {-0.7049131989479065, -1.3322858810424805, 0.366554856300354, 0.31016185879707336, 0.16917917132377625,
                 0.8987643718719482, 0.6203235387802124, -0.719011127948761, -0.19737550616264343, 0.9727802276611328,
                 -1.6917921304702759, 5.470128059387207, -0.5387405157089233, -0.8293768167495728,
                 0.028354071080684662, 0.9924181699752808, 0.2551930546760559, 1.1590015888214111, 0.4536762833595276,
                 -0.382788747549057, 0.14177440106868744, 1.9990127086639404, -2.381802797317505, -5.047146320343018});
  // Y takes the scale's type.
  auto mixed = run_op("RMSNormalization", {}, {in(x234()), in(make_tensor(DType::kFloat16, {4}, {1, 1, 1, 1}))});
  ASSERT_TRUE(mixed.ok()) << mixed.status().to_string();
  EXPECT_EQ(mixed->outputs[0].dtype(), DType::kFloat16);
  fails(run_op("RMSNormalization", {}, {in(x234()), in(f32({4}, {1, 1, 1, 1}))}, 1, 22), ErrorCode::kUnsupported);
}

// x of shape [2,4,3] for GroupNormalization.
const std::vector<double> kXg = {
    -0.800000011920929,  -0.27000004053115845, 0.25999993085861206,  0.7899999022483826,  -0.38000017404556274,
    0.14999979734420776, 0.6799997687339783,   -0.49000030755996704, 0.03999966382980347, 0.5699993968009949,
    -0.6000004410743713, -0.07000023126602173, 0.4599995017051697,   -0.7100008130073547, -0.18000060319900513,
    0.3499996066093445,  0.8799993395805359,   -0.2900009751319885,  0.23999875783920288, 0.7699994444847107,
    -0.4000008702278137, 0.12999886274337769,  0.6599995493888855,   -0.5100007653236389};

const std::vector<double> kGnPerGroup = {
    -0.6419244408607483, -0.12339260429143906, 0.39513924717903137, 0.91367107629776,    -0.23101255297660828,
    0.28751927614212036, -1.0643017292022705,  1.3603556156158447,  0.2620067596435547,  -0.8363417983055115,
    1.5883152484893799,  0.4899657964706421,   0.4531090557575226,  -0.6485909819602966, -0.14953026175498962,
    0.34953054785728455, 0.8485909700393677,   -0.25310924649238586, 0.11003491282463074, -0.9883151650428772,
    1.4363420009613037,  0.337993860244751,    -0.7603562474250793, 1.6643009185791016};

TEST(NormGroup, PerChannelOpset21) {
  auto r = run_op("GroupNormalization", {{"num_groups", Attr::of_int(2)}, {"epsilon", Attr::of_float(1e-3f)}},
                  {in(f32({2, 4, 3}, kXg)), constant(f32({4}, {0.5, 1.5, -1.0, 2.0})),
                   constant(f32({4}, {0.1, -0.2, 0.3, 0.0}))});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_values(r->outputs[0], {2, 4, 3},
                {-0.6419244408607483, -0.12339260429143906, 0.39513924717903137, 2.2410130500793457,
                 -1.1930376291275024, 0.3625578284263611, -1.0643017292022705, 1.3603556156158447, 0.2620067596435547,
                 2.272683620452881, -2.5766303539276123, -0.3799315392971039, 0.4531090557575226, -0.6485909819602966,
                 -0.14953026175498962, 0.5485916137695312, 2.0457727909088135, -1.25932776927948, 0.11003491282463074,
                 -0.9883151650428772, 1.4363420009613037, -0.07598767429590225, 2.1207125186920166,
                 -2.7286019325256348});
}

TEST(NormGroup, Opset18PerGroupConstantOrRuntime) {
  std::map<std::string, Attr> attrs = {{"num_groups", Attr::of_int(2)}, {"epsilon", Attr::of_float(1e-3f)}};
  Tensor s = f32({2}, {0.5, -1.0});
  Tensor b = f32({2}, {0.1, 0.3});
  auto upgraded = run_op("GroupNormalization", attrs, {in(f32({2, 4, 3}, kXg)), constant(s), constant(b)}, 1, 18);
  ASSERT_TRUE(upgraded.ok()) << upgraded.status().to_string();
  expect_values(upgraded->outputs[0], {2, 4, 3}, kGnPerGroup);
  auto runtime = run_op("GroupNormalization", attrs, {in(f32({2, 4, 3}, kXg)), in(s), in(b)}, 1, 18);
  ASSERT_TRUE(runtime.ok()) << runtime.status().to_string();
  expect_values(runtime->outputs[0], {2, 4, 3}, kGnPerGroup);
  // At opset 21 a per-group scale is an error.
  std::string msg = fails(run_op("GroupNormalization", attrs, {in(f32({2, 4, 3}, kXg)), in(s), in(b)}, 1, 21));
  EXPECT_NE(msg.find("one per channel"), std::string::npos) << msg;
}

TEST(NormGroup, Errors) {
  Tensor s = f32({4}, {1, 1, 1, 1});
  std::string msg = fails(run_op("GroupNormalization", {{"num_groups", Attr::of_int(3)}}, {in(f32({2, 4, 3}, kXg)), in(s), in(s)}));
  EXPECT_NE(msg.find("num_groups = 3"), std::string::npos) << msg;
  msg = fails(run_op("GroupNormalization", {}, {in(f32({2, 4, 3}, kXg)), in(s), in(s)}));
  EXPECT_NE(msg.find("num_groups"), std::string::npos) << msg;
  msg = fails(run_op("GroupNormalization", {{"num_groups", Attr::of_int(0)}}, {in(f32({2, 4, 3}, kXg)), in(s), in(s)}));
  EXPECT_NE(msg.find("positive"), std::string::npos) << msg;
}

TEST(NormLp, L1L2AndZeroNorm) {
  auto l2 = run_op("LpNormalization", {{"axis", Attr::of_int(0)}}, {in(f32({2, 2}, {3, 0, 4, 0}))});
  ASSERT_TRUE(l2.ok()) << l2.status().to_string();
  expect_values(l2->outputs[0], {2, 2}, {0.6, 0.0, 0.8, 0.0});
  auto l1 = run_op("LpNormalization", {{"axis", Attr::of_int(1)}, {"p", Attr::of_int(1)}}, {in(f32({2, 2}, {3, -1, 0, 0}))});
  ASSERT_TRUE(l1.ok()) << l1.status().to_string();
  expect_values(l1->outputs[0], {2, 2}, {0.75, -0.25, 0.0, 0.0});
  std::string msg = fails(run_op("LpNormalization", {{"p", Attr::of_int(3)}}, {in(f32({2}, {1, 2}))}));
  EXPECT_NE(msg.find("'p'"), std::string::npos) << msg;
  msg = fails(run_op("LpNormalization", {{"axis", Attr::of_int(1)}}, {in(f32({2}, {1, 2}))}));
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
}

// Zero-size inputs whose other dims multiply past int64 must not be walked.
TEST(NormLp, ZeroSizeWithHugeDims) {
  const int64_t big = int64_t{1} << 40;
  Tensor z = Tensor::alloc(DType::kFloat32, {0, 3, big, big}).value();
  auto bn = run_op("BatchNormalization", {}, {in(z), in(scale3()), in(bias3()), in(mean3()), in(var3())});
  ASSERT_TRUE(bn.ok()) << bn.status().to_string();
  auto bnt = run_op("BatchNormalization", {{"training_mode", Attr::of_int(1)}},
                    {in(z), in(scale3()), in(bias3()), in(mean3()), in(var3())}, 3);
  ASSERT_TRUE(bnt.ok()) << bnt.status().to_string();
  auto inst = run_op("InstanceNormalization", {}, {in(z), in(scale3()), in(bias3())});
  ASSERT_TRUE(inst.ok()) << inst.status().to_string();
  auto gn = run_op("GroupNormalization", {{"num_groups", Attr::of_int(3)}}, {in(z), in(scale3()), in(bias3())});
  ASSERT_TRUE(gn.ok()) << gn.status().to_string();
  auto lp = run_op("LpNormalization", {{"axis", Attr::of_int(1)}}, {in(z)});
  ASSERT_TRUE(lp.ok()) << lp.status().to_string();
  Tensor rows = Tensor::alloc(DType::kFloat32, {0, big, big}).value();
  Tensor s1 = f32({1}, {1});
  auto ln = run_op("LayerNormalization", {{"axis", Attr::of_int(1)}}, {in(rows), in(s1)}, 3);
  ASSERT_TRUE(ln.ok()) << ln.status().to_string();
  EXPECT_EQ(ln->outputs[1].dims(), (std::vector<int64_t>{0, 1, 1}));
  auto rms = run_op("RMSNormalization", {}, {in(rows), in(s1)});
  ASSERT_TRUE(rms.ok()) << rms.status().to_string();
}

// LayerNormalization and BatchNormalization on [batch, 3, seq] inputs.
TEST(NormLayer, SymbolicDims) {
  Graph g;
  auto value = [&](const char* name, Shape shape) {
    Value* v = g.add_value(name).value();
    v->dtype = DType::kFloat32;
    v->shape = std::move(shape);
    v->shape_known = true;
    return v;
  };
  Value* x = value("x", Shape({Dim::symbolic("batch"), Dim(3), Dim::symbolic("seq")}));
  Value* s = value("s", Shape({Dim::symbolic("seq")}));
  Value* c = value("c", Shape({Dim(3)}));
  Value* y = g.add_value("y").value();
  Value* mean = g.add_value("mean").value();
  Node* ln = g.add_node("LayerNormalization", "ln", {x, s}, {y, mean}, "", 17).value();
  ln->attrs["axis"] = Attr::of_int(1);
  Status st = infer_node(*ln, Limits{});
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(y->shape.to_string(), "[batch,3,seq]");
  EXPECT_EQ(mean->shape.to_string(), "[batch,1,1]");
  Value* z = g.add_value("z").value();
  Node* bn = g.add_node("BatchNormalization", "bn", {x, c, c, c, c}, {z}, "", 15).value();
  st = infer_node(*bn, Limits{});
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(z->shape.to_string(), "[batch,3,seq]");
  Value* w = g.add_value("w").value();
  Node* gn = g.add_node("GroupNormalization", "gn", {x, c, c}, {w}, "", 21).value();
  gn->attrs["num_groups"] = Attr::of_int(2);
  st = infer_node(*gn, Limits{});
  EXPECT_FALSE(st.ok());  // 3 channels, 2 groups
  EXPECT_NE(st.message().find("num_groups = 2"), std::string::npos) << st.to_string();
}

}  // namespace
}  // namespace kiln
