// .npy reading and writing: round trips for every dtype, the header forms
// NumPy writes (v1/v2/v3, odd spacing), and refusal of malformed files.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "npy.h"

namespace kiln::cli {
namespace {

std::vector<uint8_t> make_npy(const std::string& dict, const std::vector<uint8_t>& data, int major = 1) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  size_t len = dict.size();
  out.push_back(static_cast<uint8_t>(len));
  out.push_back(static_cast<uint8_t>(len >> 8));
  if (major >= 2) {
    out.push_back(static_cast<uint8_t>(len >> 16));
    out.push_back(static_cast<uint8_t>(len >> 24));
  }
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> f32_bytes(std::vector<float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TEST(Npy, RoundTripsEveryDtype) {
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kFloat64, DType::kInt8, DType::kUInt8, DType::kInt32,
                  DType::kInt64, DType::kBool}) {
    auto a = Tensor::alloc(t, {2, 3});
    ASSERT_TRUE(a.ok());
    for (int64_t i = 0; i < a->numel(); ++i) a->set_f64(i, t == DType::kBool ? i % 2 : static_cast<double>(i) - 2);
    auto bytes = encode_npy(*a);
    ASSERT_TRUE(bytes.ok()) << dtype_name(t);
    auto b = parse_npy(*bytes, "mem");
    ASSERT_TRUE(b.ok()) << dtype_name(t) << ": " << b.status().message();
    EXPECT_EQ(b->dtype(), t);
    EXPECT_EQ(b->dims(), a->dims());
    EXPECT_EQ(0, std::memcmp(a->bytes(), b->bytes(), a->nbytes())) << dtype_name(t);
  }
}

TEST(Npy, HeaderIsPaddedTo64Bytes) {
  for (std::vector<int64_t> dims : {std::vector<int64_t>{}, {5}, {1, 3, 224, 224}}) {
    auto t = Tensor::alloc(DType::kFloat32, dims);
    ASSERT_TRUE(t.ok());
    auto bytes = encode_npy(*t);
    ASSERT_TRUE(bytes.ok());
    size_t header = 10 + ((*bytes)[8] | ((*bytes)[9] << 8));
    EXPECT_EQ(header % 64, 0u);
    EXPECT_EQ((*bytes)[header - 1], '\n');
    EXPECT_EQ(bytes->size(), header + t->nbytes());
    auto back = parse_npy(*bytes, "mem");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->dims(), dims);
  }
}

TEST(Npy, OneDimShapeIsATuple) {
  auto t = Tensor::alloc(DType::kInt64, {4});
  ASSERT_TRUE(t.ok());
  auto bytes = encode_npy(*t);
  ASSERT_TRUE(bytes.ok());
  std::string text(bytes->begin(), bytes->end());
  EXPECT_NE(text.find("'shape': (4,)"), std::string::npos);
  EXPECT_NE(text.find("'descr': '<i8'"), std::string::npos);
}

TEST(Npy, NarrowFloatsAreWidenedToFloat32) {
  auto t = Tensor::alloc(DType::kBFloat16, {3});
  ASSERT_TRUE(t.ok());
  t->set_f64(0, 1.5);
  t->set_f64(1, -2.0);
  t->set_f64(2, 0.25);
  EXPECT_EQ(npy_storage_dtype(DType::kBFloat16), DType::kFloat32);
  auto bytes = encode_npy(*t);
  ASSERT_TRUE(bytes.ok());
  auto back = parse_npy(*bytes, "mem");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->dtype(), DType::kFloat32);
  EXPECT_EQ(back->get_f64(0), 1.5);
  EXPECT_EQ(back->get_f64(1), -2.0);
  EXPECT_EQ(back->get_f64(2), 0.25);
}

TEST(Npy, ReadsVersions2And3AndLooseSpacing) {
  auto data = f32_bytes({1, 2});
  for (int major : {2, 3}) {
    auto t = parse_npy(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", data, major), "v");
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t->get_f64(1), 2.0);
  }
  auto t = parse_npy(make_npy("{\"shape\":(1,2),\"fortran_order\":False,\"descr\":\"=f4\"}   \n", data), "loose");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->dims(), (std::vector<int64_t>{1, 2}));
}

TEST(Npy, ScalarAndEmptyArrays) {
  auto s = parse_npy(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", f32_bytes({7})), "s");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->rank(), 0);
  EXPECT_EQ(s->get_f64(0), 7.0);
  auto e = parse_npy(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }\n", {}), "e");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->numel(), 0);
}

TEST(Npy, RefusesMalformedFiles) {
  auto data = f32_bytes({1, 2});
  struct Case {
    std::vector<uint8_t> bytes;
    const char* why;
  };
  std::vector<Case> cases = {
      {{}, "empty"},
      {{0x93, 'N', 'U', 'M', 'P'}, "short magic"},
      {make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n", data), "fortran order"},
      {make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", data), "big endian"},
      {make_npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", {1, 2, 3, 4, 5, 6, 7, 8}), "complex"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", data), "too little data"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", data), "trailing data"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, }\n", data), "no shape"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n", data), "unknown key"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", data), "unterminated dict"},
      {make_npy("{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }\n", data), "bad quote"},
      {make_npy("{'descr': '<f4', 'fortran_order': Fals, 'shape': (2,), }\n", data), "bad bool"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }\n", data), "negative dim"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", data), "huge dim"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n", data), "overflow"},
      {make_npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }\n", {0, 2}), "bool not 0/1"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", data, 4), "version 4"},
  };
  // A header length pointing past the end of the file.
  auto truncated = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", {});
  truncated[8] = 0xff;
  cases.push_back({truncated, "header length past the end"});
  for (const auto& c : cases) {
    auto t = parse_npy(c.bytes, "case.npy");
    EXPECT_FALSE(t.ok()) << c.why;
    if (!t.ok()) {
      EXPECT_NE(t.status().message().find("case.npy"), std::string::npos) << c.why;
    }
  }
}

TEST(Npy, EveryTruncationIsRefused) {
  auto t = Tensor::alloc(DType::kInt32, {3, 2});
  ASSERT_TRUE(t.ok());
  auto bytes = encode_npy(*t);
  ASSERT_TRUE(bytes.ok());
  for (size_t n = 0; n < bytes->size(); ++n)
    EXPECT_FALSE(parse_npy(std::span<const uint8_t>(bytes->data(), n), "cut").ok()) << n;
}

TEST(Npy, WritesAndReadsFiles) {
  auto dir = std::filesystem::temp_directory_path() / ("kiln_npy_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "x.npy").string();
  Tensor t = Tensor::from_f32({1, -2, 3.5f}, {3});
  ASSERT_TRUE(write_npy(path, t).ok());
  auto back = read_npy(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->get_f64(2), 3.5);
  auto missing = read_npy((dir / "missing.npy").string());
  EXPECT_FALSE(missing.ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln::cli
