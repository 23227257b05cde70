// Every family's declared cases, run on the CPU reference: the kernel must
// produce every output with exactly the inferred type and shape, and be
// deterministic. The registry self-check runs first.
#include <gtest/gtest.h>

#include <cstring>

#include "backends/cpu/interpreter.h"
#include "ops/op_case.h"

namespace kiln {
namespace {

TEST(OpRegistry, SelfCheck) {
  Status s = OpRegistry::global().self_check();
  EXPECT_TRUE(s.ok()) << s.to_string();
}

TEST(OpCases, AllCasesRunOnCpuReference) {
  const auto& cases = OpRegistry::global().cases();
  int ran = 0;
  for (const OpCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto built = build_case_graph(c, 1);
    ASSERT_TRUE(built.ok()) << built.status().to_string();
    auto first = run_graph_cpu(*built->graph, built->inputs);
    ASSERT_TRUE(first.ok()) << first.status().to_string();
    auto second = run_graph_cpu(*built->graph, built->inputs);
    ASSERT_TRUE(second.ok()) << second.status().to_string();
    ASSERT_EQ(first->size(), second->size());
    for (size_t i = 0; i < first->size(); ++i) {
      const Tensor& a = (*first)[i];
      const Tensor& b = (*second)[i];
      ASSERT_EQ(a.nbytes(), b.nbytes());
      EXPECT_EQ(0, std::memcmp(a.bytes(), b.bytes(), a.nbytes())) << "output " << i << " is not deterministic";
    }
    ++ran;
  }
  std::printf("ran %d op cases\n", ran);
}

}  // namespace
}  // namespace kiln
