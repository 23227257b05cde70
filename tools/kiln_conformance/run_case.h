// One ONNX backend node-test case run on Kiln's CPU reference or on a CUDA
// engine built from it: import the model, feed each data set, compare with
// the expected outputs.
#pragma once

#include <string>
#include <vector>

namespace kiln::conformance {

// Written by tests/conformance/export_node_tests.py into a case directory
// whose model has a sequence, optional or map input/output.
inline constexpr const char* kUnsupportedKindMarker = "kiln_unsupported_kind.txt";

struct CaseSpec {
  std::string name;
  std::string dir;
  double rtol = 1e-3;  // onnx's node-test defaults
  double atol = 1e-7;
};

struct CaseResult {
  std::string status;    // "pass", "fail" or "unsupported"
  std::string category;  // unsupported: op/opset/dtype/kind/cuda/other; fail: read/import/input/run/compare/crash/timeout
  std::string reason;
  std::vector<std::string> ops;  // op types of the model's graph ("ai.onnx.ml.X" outside ai.onnx)
  // CUDA: shape-like inputs fixed to their values at build time (see run_case.cpp).
  std::vector<std::string> fixed_inputs;
  double max_error = -1;         // largest |out - expected| over all outputs; -1 when nothing was compared
  double seconds = 0;
};

enum class CaseDevice { kCpu, kCuda };

// Never throws on a bad case: every problem becomes a result. On CUDA, a
// model the CUDA backend cannot build (an op or type without a kernel) is
// "unsupported" with category "cuda".
CaseResult run_case(const CaseSpec& spec, CaseDevice device);

// One JSON object on one line (no trailing newline).
std::string to_json(const CaseSpec& spec, const CaseResult& r);

}  // namespace kiln::conformance
