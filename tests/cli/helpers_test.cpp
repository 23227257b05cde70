// The small helpers behind `kiln run`'s report and files: file-name
// sanitizing, deterministic random inputs, tensor statistics, formatting.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "file_names.h"
#include "random_fill.h"
#include "tensor_summary.h"
#include "text_format.h"

namespace kiln::cli {
namespace {

TEST(FileNames, SanitizesTensorNames) {
  EXPECT_EQ(sanitize_file_stem("logits"), "logits");
  EXPECT_EQ(sanitize_file_stem("/model/fc/Gemm_output_0"), "_model_fc_Gemm_output_0");
  EXPECT_EQ(sanitize_file_stem("out:0"), "out_0");
  EXPECT_EQ(sanitize_file_stem(".."), "_..");
  EXPECT_EQ(sanitize_file_stem(".hidden"), "_.hidden");
  EXPECT_EQ(sanitize_file_stem(""), "_");
  EXPECT_EQ(sanitize_file_stem(std::string(500, 'a')).size(), 120u);
}

TEST(FileNames, MakesStemsUnique) {
  auto stems = unique_file_stems({"a/b", "a:b", "A_B", "a_b_1"});
  EXPECT_EQ(stems, (std::vector<std::string>{"a_b", "a_b_1", "A_B_2", "a_b_1_1"}));
}

TEST(RandomFill, IsDeterministicAndInRange) {
  auto a = Tensor::alloc(DType::kFloat32, {1000});
  auto b = Tensor::alloc(DType::kFloat32, {1000});
  auto i = Tensor::alloc(DType::kInt64, {1000});
  ASSERT_TRUE(a.ok() && b.ok() && i.ok());
  fill_random(*a, 42);
  fill_random(*b, 42);
  fill_random(*i, 42);
  EXPECT_EQ(0, std::memcmp(a->bytes(), b->bytes(), a->nbytes()));
  for (int64_t k = 0; k < 1000; ++k) {
    EXPECT_GE(a->get_f64(k), -1.0);
    EXPECT_LT(a->get_f64(k), 1.0);
    EXPECT_GE(i->get_i64(k), 0);
    EXPECT_LT(i->get_i64(k), 10);
  }
  fill_random(*b, 43);
  EXPECT_NE(0, std::memcmp(a->bytes(), b->bytes(), a->nbytes()));
  EXPECT_NE(derive_seed(0, 0), derive_seed(0, 1));
}

TEST(TensorSummary, CountsNonFiniteValuesApart) {
  Tensor t = Tensor::from_f32({1, 2, std::nanf(""), 3, INFINITY}, {5});
  TensorStats s = tensor_stats(t);
  EXPECT_EQ(s.count, 3);
  EXPECT_EQ(s.nan, 1);
  EXPECT_EQ(s.inf, 1);
  EXPECT_EQ(s.min, 1.0);
  EXPECT_EQ(s.max, 3.0);
  EXPECT_EQ(s.mean, 2.0);
  std::string line = summarize_tensor(t, 2);
  EXPECT_NE(line.find("first [1, 2, ...]"), std::string::npos) << line;
  EXPECT_NE(line.find("1 nan"), std::string::npos) << line;
  auto empty = Tensor::alloc(DType::kFloat32, {0, 4});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(summarize_tensor(*empty), "empty");
}

TEST(TextFormat, Numbers) {
  EXPECT_EQ(group_digits(0), "0");
  EXPECT_EQ(group_digits(3504872), "3,504,872");
  EXPECT_EQ(group_digits(-1000), "-1,000");
  EXPECT_EQ(group_digits(INT64_MIN), "-9,223,372,036,854,775,808");
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(14019488), "13.4 MiB");
  EXPECT_EQ(format_ms(812.34), "812.3 ms");
  EXPECT_EQ(format_ms(1250), "1.25 s");
  EXPECT_EQ(format_table({{"a", "bb"}, {"ccc", "d"}}, 1), " a    bb\n ccc  d\n");
  EXPECT_EQ(count_of(1, "node"), "1 node");
  EXPECT_EQ(count_of(0, "node"), "0 nodes");
}

}  // namespace
}  // namespace kiln::cli
