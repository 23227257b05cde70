// The --shapes grammar: what it accepts, and that each malformed spec is
// refused with a message quoting the entry at fault.
#include <gtest/gtest.h>

#include "shape_spec.h"

namespace kiln::cli {
namespace {

TEST(ShapeSpec, ParsesTrtexecGrammar) {
  auto m = parse_shape_spec("input:1x3x224x224,mask:1x128");
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ(m->at("input"), (std::vector<int64_t>{1, 3, 224, 224}));
  EXPECT_EQ(m->at("mask"), (std::vector<int64_t>{1, 128}));
}

TEST(ShapeSpec, LastColonSeparatesNameFromDims) {
  auto m = parse_shape_spec("input:0:8x16,a::b:1");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->at("input:0"), (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(m->at("a::b"), (std::vector<int64_t>{1}));
}

TEST(ShapeSpec, QuotedNamesMayHoldCommas) {
  auto m = parse_shape_spec("'x,y:0':2x3, plain:4");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->at("x,y:0"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(m->at("plain"), (std::vector<int64_t>{4}));
}

TEST(ShapeSpec, AcceptsZeroAndLargestDims) {
  auto m = parse_shape_spec("e:0x5,big:2147483647");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->at("e"), (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(m->at("big"), (std::vector<int64_t>{kMaxSpecDim}));
}

TEST(ShapeSpec, RefusesMalformedSpecs) {
  const char* bad[] = {
      "",            "   ",        "x",           ":1x2",           "x:",          "x:1xx2",     "x:1x",
      "x:x1",        "x:-1",       "x:1.5",       "x:1,,y:2",       "x:1,",        ",x:1",       "x:1,x:2",
      "'x:1",        "'x'1",       "a'b:1",       "x:2147483648",   "x:99999999999999999999999",
      "x:1x2x3x4x5x6x7x8x9x10x11x12x13x14x15x16x17x18x19x20x21x22x23x24x25x26x27x28x29x30x31x32x33",
      "x:1 x2",      "''':1",      "x:+1",        "x:1X2",
  };
  for (const char* spec : bad) {
    auto m = parse_shape_spec(spec);
    EXPECT_FALSE(m.ok()) << "accepted '" << spec << "'";
    if (!m.ok()) {
      EXPECT_EQ(m.status().code(), ErrorCode::kInvalidArgument) << spec;
    }
  }
}

TEST(ShapeSpec, MessagesQuoteTheEntry) {
  auto m = parse_shape_spec("good:1,bad:1xzx3");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("'bad:1xzx3'"), std::string::npos) << m.status().message();
}

TEST(ShapeSpec, ControlBytesAreNotEchoed) {
  auto m = parse_shape_spec(std::string("a\x1b[31m:1", 9) + "q");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message().find('\x1b'), std::string::npos);
}

TEST(ShapeSpec, SeveralSpecsMergeAndRefuseDuplicates) {
  auto m = parse_shape_specs({"a:1x2", "b:3"});
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->size(), 2u);
  EXPECT_FALSE(parse_shape_specs({"a:1", "a:1"}).ok());
  auto none = parse_shape_specs({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ShapeSpec, FormatIsTheInverse) {
  EXPECT_EQ(format_spec_dims({1, 3, 224, 224}), "1x3x224x224");
  auto m = parse_shape_spec("t:" + format_spec_dims({7, 0, 2}));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->at("t"), (std::vector<int64_t>{7, 0, 2}));
}

}  // namespace
}  // namespace kiln::cli
