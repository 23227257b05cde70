// Every family's op cases on the CUDA backend, compared with the CPU
// reference: fp32 engines, and fp16 engines for float cases. A case whose op
// has no CUDA kernel is counted as unsupported (printed), not failed; the
// table at the end says how many ran per op.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "backends/cpu/interpreter.h"
#include "base/float_types.h"
#include "passes/pipeline.h"
#include "gpu_test_util.h"
#include "ops/op_case.h"

namespace kiln {
namespace {

double rel_l2(const Tensor& got, const Tensor& want) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double a = got.get_f64(i), b = want.get_f64(i);
    if (std::isnan(a) && std::isnan(b)) continue;
    if (std::isinf(a) && a == b) continue;
    num += (a - b) * (a - b);
    den += b * b;
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

Tensor rounded_to_fp16(const Tensor& t) {
  Tensor r = t.clone();
  for (int64_t i = 0; i < r.numel(); ++i)
    r.set_f64(i, half_bits_to_float(float_to_half_bits(static_cast<float>(r.get_f64(i)))));
  return r;
}

// Rounds exactly the float32 inputs that the fp16 pass converts.
void round_floats_to_fp16(CaseGraph& cg) {
  for (const auto& node : cg.graph->nodes()) {
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      Value* v = node->inputs[i];
      if (!v || v->dtype != DType::kFloat32 || !fp16_converts_input(*node, i)) continue;
      if (v->constant) {
        v->constant = std::make_shared<const Tensor>(rounded_to_fp16(*v->constant));
      } else if (auto it = cg.inputs.find(v->name); it != cg.inputs.end()) {
        it->second = rounded_to_fp16(it->second);
      }
    }
  }
}

bool is_float_case(const OpCase& c) {
  for (const auto& in : c.inputs)
    if (!in.omitted && !in.constant && in.dtype == DType::kFloat32) return true;
  return false;
}

void run_cases(bool fp16) {
  KILN_REQUIRE_GPU();
  std::map<std::string, std::pair<int, int>> per_op;  // op -> (passed, unsupported)
  int failures = 0;
  for (const OpCase& c : OpRegistry::global().cases()) {
    if (fp16 && !is_float_case(c)) continue;
    SCOPED_TRACE(c.name);
    auto cpu_case = build_case_graph(c, 7);
    ASSERT_TRUE(cpu_case.ok()) << cpu_case.status().to_string();
    // An fp16 engine rounds its float inputs and weights to fp16 first; the
    // reference sees the same rounded values, so what is compared is the
    // kernels' own error (ill-conditioned ops like tan near pi/2 or softmax
    // of large values would otherwise amplify the input rounding).
    if (fp16) round_floats_to_fp16(*cpu_case);
    auto want = run_graph_cpu(*cpu_case->graph, cpu_case->inputs);
    ASSERT_TRUE(want.ok()) << want.status().to_string();
    // fp16 engines round float inputs first: integer and bool results of
    // float inputs (casts, comparisons near ties) legitimately change.
    bool float_outputs = true;
    for (const Tensor& w : *want) float_outputs = float_outputs && dtype_is_float(w.dtype());
    if (fp16 && !float_outputs) continue;
    auto gpu_case = build_case_graph(c, 7);
    BuildOptions options;
    options.fp16 = fp16;
    options.autotune = false;
    auto got = testing::run_graph_gpu(*gpu_case->graph, gpu_case->inputs, options);
    if (!got.ok() && got.status().code() == ErrorCode::kUnsupported) {
      per_op[c.op].second++;
      continue;
    }
    // A failing case is reported and the run goes on, so one run lists them all.
    if (!got.ok() || got->outputs.size() != want->size()) {
      ADD_FAILURE() << (got.ok() ? str(got->outputs.size(), " outputs, expected ", want->size())
                                 : got.status().to_string());
      ++failures;
      continue;
    }
    EXPECT_TRUE(got->guards_intact) << "a kernel wrote outside its output";
    bool ok = got->guards_intact;
    for (size_t i = 0; i < want->size(); ++i) {
      const Tensor& w = (*want)[i];
      const Tensor& g = got->outputs[i];
      if (g.dims() != w.dims()) {
        ADD_FAILURE() << "output " << i << " has dims " << dims_to_string(g.dims()) << ", expected "
                      << dims_to_string(w.dims());
        ok = false;
        continue;
      }
      if (dtype_is_float(w.dtype())) {
        double tol = fp16 ? std::max(c.tolerance, 5e-3) : c.tolerance;
        double err = rel_l2(g, w);
        EXPECT_LE(err, tol) << "output " << i << " relative L2 error";
        ok = ok && err <= tol;
      } else {
        for (int64_t k = 0; k < w.numel(); ++k) {
          if (g.get_i64(k) != w.get_i64(k)) {
            ADD_FAILURE() << "output " << i << " element " << k << ": " << g.get_i64(k) << " != " << w.get_i64(k);
            ok = false;
            break;
          }
        }
      }
    }
    if (ok) per_op[c.op].first++;
    if (!ok) ++failures;
  }
  std::printf("%-28s %8s %12s\n", "op", "passed", "unsupported");
  for (const auto& [op, counts] : per_op) std::printf("%-28s %8d %12d\n", op.c_str(), counts.first, counts.second);
  std::printf("failures: %d\n", failures);
}

TEST(GpuOpCases, Fp32MatchesCpuReference) { run_cases(false); }
TEST(GpuOpCases, Fp16MatchesCpuReference) { run_cases(true); }

}  // namespace
}  // namespace kiln
