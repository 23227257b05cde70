// Engine files: a round trip keeps everything; truncation at any offset, any
// flipped byte, a wrong magic and an unknown version are refused with a
// message saying which.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/engine_file.h"

namespace kiln {
namespace {

EnginePlan sample_plan() {
  EnginePlan p;
  p.device_name = "Test GPU";
  p.sm_major = 9;
  p.cuda_runtime_version = 13000;
  p.cudnn_version = 91400;
  p.cublas_version = 130000;
  p.kiln_version = "0.1.0";
  p.tensors = {{"x", DType::kFloat32, {1, 3, 4, 4}, Layout::kLinear, Storage::kInput, 0, 192},
               {"w", DType::kFloat16, {2, 3, 1, 1}, Layout::kLinear, Storage::kWeight, 0, 12},
               {"h", DType::kFloat16, {1, 2, 4, 4}, Layout::kNHWC, Storage::kActivation, 0, 64},
               {"y", DType::kFloat32, {1, 2, 4, 4}, Layout::kLinear, Storage::kOutput, 0, 128}};
  PlanLayer conv;
  conv.name = "conv";
  conv.op = "Conv";
  conv.kernel = "cudnn.conv";
  conv.inputs = {0, 1, -1};
  conv.outputs = {2};
  conv.attrs["strides"] = Attr::of_ints({1, 1});
  conv.attrs["alpha"] = Attr::of_float(0.5f);
  conv.attrs["mode"] = Attr::of_string("linear");
  conv.attrs["group"] = Attr::of_int(1);
  conv.attrs["scales"] = Attr::of_floats({1.5f, 2.f});
  Attr strs;
  strs.kind = AttrKind::kStrings;
  strs.strings = {"a", "bc"};
  conv.attrs["names"] = strs;
  conv.attrs["value"] = Attr::of_tensor(Tensor::from_i64({1, 2, 3}, {3}));
  Attr ts;
  ts.kind = AttrKind::kTensors;
  ts.tensors = {Tensor::from_f32({1.f}, {1}), Tensor::from_i64({4, 5}, {2})};
  conv.attrs["many"] = ts;
  conv.tactic = {3, 7};
  conv.workspace_bytes = 256;
  PlanLayer cast;
  cast.name = "cast";
  cast.op = "Cast";
  cast.kernel = "kiln.cast";
  cast.inputs = {2};
  cast.outputs = {3};
  p.layers = {conv, cast};
  p.inputs = {0};
  p.outputs = {3};
  p.arena_bytes = 512;
  p.workspace_offset = 256;
  p.workspace_bytes = 256;
  p.weights.assign(12, 0);
  for (size_t i = 0; i < 12; ++i) p.weights[i] = static_cast<uint8_t>(i * 7 + 1);
  return p;
}

TEST(EngineFile, RoundTripKeepsEverything) {
  EnginePlan p = sample_plan();
  std::vector<uint8_t> bytes = serialize_engine(p);
  auto q = load_engine(bytes, "mem");
  ASSERT_TRUE(q.ok()) << q.status().to_string();
  EXPECT_EQ(q->device_name, p.device_name);
  EXPECT_EQ(q->cudnn_version, p.cudnn_version);
  ASSERT_EQ(q->tensors.size(), p.tensors.size());
  for (size_t i = 0; i < p.tensors.size(); ++i) {
    EXPECT_EQ(q->tensors[i].name, p.tensors[i].name);
    EXPECT_EQ(q->tensors[i].dims, p.tensors[i].dims);
    EXPECT_EQ(q->tensors[i].layout, p.tensors[i].layout);
    EXPECT_EQ(q->tensors[i].storage, p.tensors[i].storage);
  }
  ASSERT_EQ(q->layers.size(), 2u);
  const PlanLayer& l = q->layers[0];
  EXPECT_EQ(l.inputs, (std::vector<int32_t>{0, 1, -1}));
  EXPECT_EQ(l.attrs.at("strides").ints, (std::vector<int64_t>{1, 1}));
  EXPECT_FLOAT_EQ(l.attrs.at("alpha").f, 0.5f);
  EXPECT_EQ(l.attrs.at("mode").s, "linear");
  EXPECT_EQ(l.attrs.at("names").strings, (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(l.attrs.at("value").t.to_i64_vector(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(l.attrs.at("many").tensors[1].to_i64_vector(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(l.tactic, (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(q->weights, p.weights);
  EXPECT_EQ(q->arena_bytes, 512u);
  EXPECT_EQ(serialize_engine(*q), bytes);  // deterministic
}

TEST(EngineFile, RefusesTruncationAtEveryOffset) {
  std::vector<uint8_t> bytes = serialize_engine(sample_plan());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = load_engine(std::span<const uint8_t>(bytes.data(), n), "cut");
    ASSERT_FALSE(r.ok()) << "accepted a file cut at " << n;
    const std::string& m = r.status().message();
    EXPECT_TRUE(m.find("truncated") != std::string::npos || m.find("magic") != std::string::npos) << n << ": " << m;
  }
}

TEST(EngineFile, RefusesEveryFlippedByte) {
  std::vector<uint8_t> bytes = serialize_engine(sample_plan());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::vector<uint8_t> bad = bytes;
    bad[i] ^= 0x10;
    auto r = load_engine(bad, "flip");
    ASSERT_FALSE(r.ok()) << "accepted a flip at byte " << i;
    const std::string& m = r.status().message();
    bool says = m.find("corrupt") != std::string::npos || m.find("magic") != std::string::npos ||
                m.find("version") != std::string::npos || m.find("truncated") != std::string::npos ||
                m.find("checksum") != std::string::npos;
    EXPECT_TRUE(says) << i << ": " << m;
  }
}

// A data-dependent output keeps its flag and dims slot; a slot outside the
// arena, or the flag on a tensor that is not an output, is refused.
TEST(EngineFile, DataDependentOutputsRoundTripAndAreChecked) {
  EnginePlan p = sample_plan();
  p.tensors[3].data_dependent = true;
  p.tensors[3].dims_offset = 480;  // the last 32 bytes of the 512-byte arena
  auto q = load_engine(serialize_engine(p), "mem");
  ASSERT_TRUE(q.ok()) << q.status().to_string();
  EXPECT_TRUE(q->tensors[3].data_dependent);
  EXPECT_EQ(q->tensors[3].dims_offset, 480u);
  EXPECT_FALSE(q->tensors[2].data_dependent);
  p.tensors[3].dims_offset = 488;  // a 4-D output's 32 bytes of dims would end past the arena
  auto outside = load_engine(serialize_engine(p), "mem");
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.status().message().find("dims of output 'y'"), std::string::npos) << outside.status().message();
  p = sample_plan();
  p.tensors[2].data_dependent = true;
  auto activation = load_engine(serialize_engine(p), "mem");
  ASSERT_FALSE(activation.ok());
  EXPECT_NE(activation.status().message().find("data-dependent flag"), std::string::npos)
      << activation.status().message();
}

TEST(EngineFile, NamesWrongMagicAndVersion) {
  std::vector<uint8_t> bytes = serialize_engine(sample_plan());
  std::vector<uint8_t> onnx = bytes;
  onnx[0] = 0x08;
  EXPECT_NE(load_engine(onnx, "m").status().message().find("not a Kiln engine"), std::string::npos);
  std::vector<uint8_t> future = bytes;
  uint32_t v = kEngineFormatVersion + 1;
  std::memcpy(future.data() + 8, &v, 4);
  auto r = load_engine(future, "m");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.status().message().find(str("engine format version ", v)), std::string::npos) << r.status().message();
}

TEST(EngineFile, RefusesBadCrossReferences) {
  EnginePlan p = sample_plan();
  p.layers[0].inputs[0] = 99;
  auto r = load_engine(serialize_engine(p), "m");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not exist"), std::string::npos) << r.status().message();
  EnginePlan q = sample_plan();
  q.tensors[1].offset = 1000;
  EXPECT_FALSE(load_engine(serialize_engine(q), "m").ok());
}

TEST(EngineFile, SaveIsAtomicAndLoads) {
  std::string path = ::testing::TempDir() + "/kiln_engine_test.engine";
  ASSERT_TRUE(save_engine(sample_plan(), path).ok());
  auto r = load_engine_file(path);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->layers.size(), 2u);
}

}  // namespace
}  // namespace kiln
