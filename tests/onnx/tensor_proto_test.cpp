// TensorProto -> Tensor: raw data viewed in place, typed fields converted,
// hostile shapes and sizes refused, and external data confined to the
// model's directory (absolute paths, "..", and symlinks leaving it refused).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/float_types.h"
#include "onnx/onnx_model.h"
#include "proto_writer.h"

namespace kiln::onnx {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

#define EXPECT_ERROR(expr, code_, part)                                         \
  do {                                                                          \
    auto r_ = (expr);                                                           \
    ASSERT_FALSE(r_.ok()) << "expected an error containing: " << (part);        \
    EXPECT_EQ(r_.status().code(), code_) << r_.status().message();              \
    EXPECT_TRUE(contains(r_.status().message(), part)) << r_.status().message(); \
  } while (0)

TensorProto proto(int32_t type, std::vector<int64_t> dims, std::string name = "w") {
  TensorProto t;
  t.name = std::move(name);
  t.data_type = type;
  t.dims = std::move(dims);
  return t;
}

std::vector<uint8_t> bytes_of(const Tensor& t) { return {t.bytes(), t.bytes() + t.nbytes()}; }

template <typename T>
std::vector<uint8_t> raw_bytes(const std::vector<T>& v) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(v.data());
  return {p, p + v.size() * sizeof(T)};
}

TEST(TensorFromProto, AlignedRawDataIsAView) {
  auto storage = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4, 5, 6});
  TensorProto p = proto(1, {2, 3});
  p.has_raw_data = true;
  p.raw_data = {reinterpret_cast<const uint8_t*>(storage->data()), 24};
  auto t = tensor_from_proto(p, "", storage);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->bytes(), p.raw_data.data());
  EXPECT_EQ(t->dtype(), DType::kFloat32);
  EXPECT_EQ(t->dims(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t->get_f64(5), 6.0);
  EXPECT_EQ(storage.use_count(), 2);  // the tensor keeps the bytes alive
}

TEST(TensorFromProto, MisalignedRawDataIsStillAView) {
  std::vector<uint8_t> buf(1 + 8);
  float v[2] = {1.5f, -2.0f};
  std::memcpy(buf.data() + 1, v, 8);
  TensorProto p = proto(1, {2});
  p.has_raw_data = true;
  p.raw_data = {buf.data() + 1, 8};
  auto t = tensor_from_proto(p, "", nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->bytes(), p.raw_data.data());  // no copy; elements are read with memcpy
  EXPECT_FALSE(t->aligned());
  EXPECT_EQ(t->get_f64(0), 1.5);
  EXPECT_EQ(t->get_f64(1), -2.0);
}

TEST(TensorFromProto, RawDataFromAParsedModel) {
  std::vector<int64_t> values = {10, -20, 30};
  testing::Pb t;
  t.packed_varints(1, {3}).varint(2, 7).string(8, "idx").bytes(9, raw_bytes(values));
  auto m = parse_model(MappedFile::from_bytes(testing::Pb().msg(7, testing::Pb().msg(5, t)).data(), "m.onnx"));
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto tensor = tensor_from_proto(m->graph.initializers[0], "", m->file);
  ASSERT_TRUE(tensor.ok()) << tensor.status().message();
  EXPECT_EQ(tensor->to_i64_vector(), values);
}

TEST(TensorFromProto, TypedFields) {
  TensorProto f = proto(1, {3});
  f.float_data = {1, 2, 3};
  auto t = tensor_from_proto(f, "", nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(bytes_of(*t), raw_bytes(f.float_data));

  TensorProto d = proto(11, {2});
  d.double_data = {0.25, -1e300};
  t = tensor_from_proto(d, "", nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(bytes_of(*t), raw_bytes(d.double_data));

  TensorProto l = proto(7, {1, 2});
  l.int64_data = {INT64_MIN, 5};
  t = tensor_from_proto(l, "", nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->to_i64_vector(), l.int64_data);

  TensorProto i = proto(6, {2});
  i.int32_data = {-7, INT32_MAX};
  t = tensor_from_proto(i, "", nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->to_i64_vector(), (std::vector<int64_t>{-7, INT32_MAX}));

  TensorProto s = proto(1, {});  // a scalar
  s.float_data = {4};
  t = tensor_from_proto(s, "", nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->numel(), 1);
}

TEST(TensorFromProto, NarrowTypesInInt32Data) {
  struct Case {
    int32_t type;
    std::vector<int32_t> values;
    std::vector<uint8_t> bytes;
  };
  uint16_t h = float_to_half_bits(-1.5f), b = float_to_bf16_bits(3.0f);
  const Case cases[] = {
      {3, {-128, 127, -1}, {0x80, 0x7f, 0xff}},                                    // int8
      {2, {0, 255, 7}, {0, 255, 7}},                                              // uint8
      {9, {1, 0, 1}, {1, 0, 1}},                                                   // bool
      {10, {h, 0}, {static_cast<uint8_t>(h), static_cast<uint8_t>(h >> 8), 0, 0}}, // fp16 bits
      {10, {static_cast<int16_t>(h)}, {static_cast<uint8_t>(h), static_cast<uint8_t>(h >> 8)}},  // sign-extended
      {16, {b}, {static_cast<uint8_t>(b), static_cast<uint8_t>(b >> 8)}},          // bf16 bits
      {17, {float_to_e4m3fn_bits(2.0f), 0x7e}, {float_to_e4m3fn_bits(2.0f), 0x7e}},  // fp8 e4m3fn
      {19, {float_to_e5m2_bits(-4.0f)}, {float_to_e5m2_bits(-4.0f)}},              // fp8 e5m2
  };
  for (const Case& c : cases) {
    TensorProto p = proto(c.type, {static_cast<int64_t>(c.values.size())});
    p.int32_data = c.values;
    auto t = tensor_from_proto(p, "", nullptr);
    ASSERT_TRUE(t.ok()) << onnx_dtype_name(c.type) << ": " << t.status().message();
    EXPECT_EQ(bytes_of(*t), c.bytes) << onnx_dtype_name(c.type);
  }
  TensorProto half = proto(10, {1});
  half.int32_data = {h};
  EXPECT_EQ(tensor_from_proto(half, "", nullptr).value().get_f64(0), -1.5);
  auto bad = [](int32_t type, int32_t v) {
    TensorProto p = proto(type, {2}, "q");
    p.int32_data = {0, v};
    return tensor_from_proto(p, "", nullptr);
  };
  EXPECT_ERROR(bad(3, 128), ErrorCode::kInvalidArgument, "tensor 'q': int32_data[1] = 128 is out of range for int8");
  EXPECT_ERROR(bad(2, -1), ErrorCode::kInvalidArgument, "out of range for uint8");
  EXPECT_ERROR(bad(9, 2), ErrorCode::kInvalidArgument, "out of range for bool");
  EXPECT_ERROR(bad(10, 65536), ErrorCode::kInvalidArgument, "out of range for float16");
  EXPECT_ERROR(bad(17, 256), ErrorCode::kInvalidArgument, "out of range for float8e4m3fn");
}

TEST(TensorFromProto, RefusesInconsistentData) {
  TensorProto count = proto(1, {2, 2});
  count.float_data = {1, 2, 3};
  EXPECT_ERROR(tensor_from_proto(count, "", nullptr), ErrorCode::kInvalidArgument,
               "tensor 'w' (float32[2,2]) has 4 elements but float_data holds 3");
  TensorProto field = proto(7, {1});
  field.float_data = {1};
  EXPECT_ERROR(tensor_from_proto(field, "", nullptr), ErrorCode::kInvalidArgument,
               "is int64 but its values are in float_data (expected int64_data)");
  TensorProto two = proto(1, {1});
  two.float_data = {1};
  two.int64_data = {1};
  EXPECT_ERROR(tensor_from_proto(two, "", nullptr), ErrorCode::kInvalidArgument, "has both float_data and int64_data");
  uint8_t raw[4] = {};
  TensorProto both = proto(1, {1});
  both.float_data = {1};
  both.has_raw_data = true;
  both.raw_data = raw;
  EXPECT_ERROR(tensor_from_proto(both, "", nullptr), ErrorCode::kInvalidArgument, "has both raw_data and float_data");
  TensorProto size = proto(1, {2});
  size.has_raw_data = true;
  size.raw_data = raw;
  EXPECT_ERROR(tensor_from_proto(size, "", nullptr), ErrorCode::kInvalidArgument,
               "(float32[2]) needs 8 bytes but raw_data has 4");
  EXPECT_ERROR(tensor_from_proto(proto(1, {3}), "", nullptr), ErrorCode::kInvalidArgument, "(float32[3]) has no data");
  TensorProto strings = proto(1, {1});
  strings.string_data = {"x"};
  EXPECT_ERROR(tensor_from_proto(strings, "", nullptr), ErrorCode::kInvalidArgument, "values are in string_data");
  TensorProto ext = proto(1, {0});
  ext.external_data = {{"location", "w.bin"}};
  EXPECT_ERROR(tensor_from_proto(ext, "", nullptr), ErrorCode::kInvalidArgument, "data_location is not EXTERNAL");
  TensorProto loc = proto(1, {0});
  loc.data_location = 2;
  EXPECT_ERROR(tensor_from_proto(loc, "", nullptr), ErrorCode::kInvalidArgument, "unknown data_location 2");
  // An empty tensor needs no data; an empty raw_data next to typed values is ignored.
  auto empty = tensor_from_proto(proto(1, {0, 3}), "", nullptr);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->numel(), 0);
  EXPECT_NE(empty->bytes(), nullptr);
  TensorProto empty_raw = proto(1, {1});
  empty_raw.float_data = {2};
  empty_raw.has_raw_data = true;
  EXPECT_TRUE(tensor_from_proto(empty_raw, "", nullptr).ok());
}

TEST(TensorFromProto, RefusesBadShapesTypesAndSizes) {
  EXPECT_ERROR(tensor_from_proto(proto(1, {2, -1}), "", nullptr), ErrorCode::kInvalidArgument,
               "tensor 'w' has a negative dim -1 at axis 1");
  EXPECT_ERROR(tensor_from_proto(proto(1, {INT64_MAX / 2, 3}), "", nullptr), ErrorCode::kOutOfRange,
               "whose size overflows");
  EXPECT_ERROR(tensor_from_proto(proto(1, {INT64_MAX / 2}), "", nullptr), ErrorCode::kOutOfRange,
               "whose size overflows");  // elements fit, bytes do not
  EXPECT_ERROR(tensor_from_proto(proto(1, {int64_t{1} << 40}), "", nullptr), ErrorCode::kResourceExhausted,
               "over the limit of");
  Limits small;
  small.max_tensor_bytes = 16;
  TensorProto p = proto(1, {5});
  p.float_data = {1, 2, 3, 4, 5};
  EXPECT_ERROR(tensor_from_proto(p, "", nullptr, small), ErrorCode::kResourceExhausted,
               "needs 20 bytes, over the limit of 16");
  EXPECT_ERROR(tensor_from_proto(proto(8, {1}, "names"), "", nullptr), ErrorCode::kUnsupported,
               "tensor 'names' has type string");
  EXPECT_ERROR(tensor_from_proto(proto(4, {1}), "", nullptr), ErrorCode::kUnsupported, "has type uint16");
  EXPECT_ERROR(tensor_from_proto(proto(999, {1}), "", nullptr), ErrorCode::kUnsupported, "type code 999");
  EXPECT_ERROR(tensor_from_proto(proto(0, {1}), "", nullptr), ErrorCode::kInvalidArgument, "has no data_type");
  TensorProto seg = proto(1, {1});
  seg.has_segment = true;
  EXPECT_ERROR(tensor_from_proto(seg, "", nullptr), ErrorCode::kUnsupported, "is segmented");
}

// ---- external data -------------------------------------------------------

// Path of the file mapping that holds address p, from /proc/self/maps.
std::string mapping_of(const void* p) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  auto a = reinterpret_cast<uintptr_t>(p);
  while (std::getline(maps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2) continue;
    if (a >= lo && a < hi) {
      size_t slash = line.find('/');
      return slash == std::string::npos ? std::string() : line.substr(slash);
    }
  }
  return {};
}

void write(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln_external_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = fs::canonical(tmpl);
    dir_ = root_ / "model";
    fs::create_directories(dir_ / "sub");
    for (int i = 0; i < 16; ++i) floats_.push_back(static_cast<float>(i) * 0.5f);
    write(dir_ / "weights.bin", raw_bytes(floats_));
    write(dir_ / "sub" / "w2.bin", raw_bytes(floats_));
    write(root_ / "outside.bin", raw_bytes(floats_));
    fs::create_symlink("weights.bin", dir_ / "link_in");
    fs::create_symlink("../outside.bin", dir_ / "link_out");
    fs::create_symlink(root_, dir_ / "linkdir_out");
  }
  void TearDown() override { fs::remove_all(root_); }

  TensorProto ext(std::vector<std::pair<std::string, std::string>> kv, std::vector<int64_t> dims = {8}) {
    TensorProto p = proto(1, std::move(dims), "ext");
    p.data_location = 1;
    p.external_data = std::move(kv);
    return p;
  }
  Expected<Tensor> load(const TensorProto& p) { return tensor_from_proto(p, dir_.string(), nullptr); }

  fs::path root_, dir_;
  std::vector<float> floats_;
};

TEST_F(ExternalData, InRangeIsAViewOfTheMappedFile) {
  auto t = load(ext({{"location", "weights.bin"}, {"offset", "16"}, {"length", "32"}}));
  ASSERT_TRUE(t.ok()) << t.status().message();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(t->get_f64(i), floats_[static_cast<size_t>(i) + 4]);
  EXPECT_EQ(mapping_of(t->bytes()), (dir_ / "weights.bin").string());
  // A second tensor of the same file shares the mapping.
  auto t2 = load(ext({{"location", "./weights.bin"}, {"offset", "0"}, {"length", "32"}}));
  ASSERT_TRUE(t2.ok()) << t2.status().message();
  EXPECT_EQ(t->bytes() - t2->bytes(), 16);
  // Without a length the data runs to the end of the file.
  auto t3 = load(ext({{"location", "sub/w2.bin"}, {"offset", "32"}}));
  ASSERT_TRUE(t3.ok()) << t3.status().message();
  EXPECT_EQ(t3->get_f64(7), floats_[15]);
  // A symlink that stays inside the directory is fine.
  auto t4 = load(ext({{"location", "link_in"}, {"length", "64"}}, {16}));
  ASSERT_TRUE(t4.ok()) << t4.status().message();
  EXPECT_EQ(mapping_of(t4->bytes()), (dir_ / "weights.bin").string());
  // A misaligned offset is a view too, read correctly.
  auto t5 = load(ext({{"location", "weights.bin"}, {"offset", "2"}, {"length", "4"}}, {1}));
  ASSERT_TRUE(t5.ok()) << t5.status().message();
  EXPECT_EQ(mapping_of(t5->bytes()), (dir_ / "weights.bin").string());
  float expect[1];
  std::memcpy(expect, reinterpret_cast<const uint8_t*>(floats_.data()) + 2, 4);
  EXPECT_EQ(t5->get_f64(0), expect[0]);
}

TEST_F(ExternalData, RefusesPathsLeavingTheDirectory) {
  const auto code = ErrorCode::kInvalidArgument;
  EXPECT_ERROR(load(ext({{"location", (root_ / "outside.bin").string()}, {"length", "32"}})), code, "is an absolute path");
  EXPECT_ERROR(load(ext({{"location", (dir_ / "weights.bin").string()}, {"length", "32"}})), code, "is an absolute path");
  EXPECT_ERROR(load(ext({{"location", "../outside.bin"}, {"length", "32"}})), code, "contains '..'");
  EXPECT_ERROR(load(ext({{"location", "sub/../weights.bin"}, {"length", "32"}})), code, "contains '..'");
  EXPECT_ERROR(load(ext({{"location", "sub/../../outside.bin"}, {"length", "32"}})), code, "contains '..'");
  EXPECT_ERROR(load(ext({{"location", "link_out"}, {"length", "32"}})), code, "outside the model directory");
  EXPECT_ERROR(load(ext({{"location", "linkdir_out/outside.bin"}, {"length", "32"}})), code,
               "outside the model directory");
  EXPECT_ERROR(load(ext({{"location", std::string("weights.bin\0x", 13)}, {"length", "32"}})), code, "NUL byte");
}

TEST_F(ExternalData, RefusesBadRangesAndKeys) {
  EXPECT_ERROR(load(ext({{"location", "weights.bin"}, {"offset", "65"}, {"length", "0"}}, {0})), ErrorCode::kOutOfRange,
               "offset 65 is past the end of 'weights.bin' (64 bytes)");
  EXPECT_ERROR(load(ext({{"location", "weights.bin"}, {"offset", "40"}, {"length", "32"}})), ErrorCode::kOutOfRange,
               "runs past the end");
  EXPECT_ERROR(load(ext({{"location", "weights.bin"}, {"offset", "8"}, {"length", "18446744073709551615"}})),
               ErrorCode::kOutOfRange, "runs past the end");
  EXPECT_ERROR(load(ext({{"location", "weights.bin"}, {"length", "28"}})), ErrorCode::kInvalidArgument,
               "external data length 28 does not match float32[8] (32 bytes)");
  EXPECT_ERROR(load(ext({{"location", "weights.bin"}})), ErrorCode::kInvalidArgument, "length 64 does not match");
  for (const char* bad : {"-1", "12abc", "", " 1", "+3", "99999999999999999999999"})
    EXPECT_ERROR(load(ext({{"location", "weights.bin"}, {"offset", bad}})), ErrorCode::kInvalidArgument, "is not a number");
  EXPECT_ERROR(load(ext({{"offset", "0"}})), ErrorCode::kInvalidArgument, "external data without a location");
  EXPECT_ERROR(load(ext({{"location", "missing.bin"}})), ErrorCode::kIoError, "cannot open external data 'missing.bin'");
  EXPECT_ERROR(load(ext({{"location", "sub"}})), ErrorCode::kIoError, "not a regular file");
  TensorProto both = ext({{"location", "weights.bin"}});
  both.float_data.resize(8);
  EXPECT_ERROR(load(both), ErrorCode::kInvalidArgument, "has external data and also data in the model");
  EXPECT_ERROR(tensor_from_proto(ext({{"location", "weights.bin"}, {"length", "32"}}), "", nullptr),
               ErrorCode::kInvalidArgument, "a model parsed from memory cannot use external data");
}

TEST_F(ExternalData, ModelFileWithExternalInitializer) {
  testing::Pb ext_entry_loc, ext_entry_off, ext_entry_len;
  ext_entry_loc.string(1, "location").string(2, "weights.bin");
  ext_entry_off.string(1, "offset").string(2, "32");
  ext_entry_len.string(1, "length").string(2, "32");
  testing::Pb t;
  t.packed_varints(1, {8}).varint(2, 1).string(8, "w").varint(14, 1);
  t.msg(13, ext_entry_loc).msg(13, ext_entry_off).msg(13, ext_entry_len);
  testing::Pb model;
  model.varint(1, 8).msg(7, testing::Pb().msg(5, t));
  write(dir_ / "model.onnx", model.data());
  Expected<Tensor> tensor = Status();
  {
    auto m = load_model((dir_ / "model.onnx").string());
    ASSERT_TRUE(m.ok()) << m.status().message();
    tensor = tensor_from_proto(m->graph.initializers.at(0), dir_.string(), m->file);
  }
  // The model is gone; the tensor keeps its own mapping alive.
  ASSERT_TRUE(tensor.ok()) << tensor.status().message();
  EXPECT_EQ(tensor->get_f64(7), floats_[15]);
  EXPECT_EQ(mapping_of(tensor->bytes()), (dir_ / "weights.bin").string());
}

}  // namespace
}  // namespace kiln::onnx
