// Test cases of the activation family, as data: odd shapes, scalars, empty
// dims, every attribute and every dtype each op accepts.
#include <string>

#include "ops/elementwise/elementwise_cases_util.h"
#include "ops/elementwise/elementwise_util.h"

namespace kiln {
namespace {

using namespace case_util;  // NOLINT: short case-building helpers

const DType kFloats[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64};

// One case per float dtype on an odd shape, plus a scalar and an empty one.
void add_float_cases(OpRegistry& r, const char* op, std::map<std::string, Attr> attrs = {}, const char* tag = "",
                     double lo = -4, double hi = 4) {
  auto add = [&](const std::string& name, CaseInput in, double tol) {
    OpCase c = make_case(str(op, "/", tag, name), op, {std::move(in)}, tol);
    c.attrs = attrs;
    r.add_case(std::move(c));
  };
  for (DType t : kFloats) add(dtype_name(t), input(t, {3, 1, 7}, lo, hi), tol_for(t));
  add("scalar", input(DType::kFloat32, {}, lo, hi), 1e-5);
  add("empty", input(DType::kFloat32, {0, 3}, lo, hi), 1e-5);
}

}  // namespace

void add_activation_cases(OpRegistry& r) {
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "Erf", "Softplus", "Softsign", "HardSwish", "Mish", "LeakyRelu",
                         "HardSigmoid", "Elu", "Selu", "Celu", "ThresholdedRelu", "Gelu"})
    add_float_cases(r, op);
  // Wide ranges: saturation of Sigmoid/Tanh/Softplus, large negatives of Elu/Selu.
  for (const char* op : {"Sigmoid", "Tanh", "Softplus", "Elu", "Selu", "Mish", "Gelu"}) {
    r.add_case(make_case(str(op, "/wide"), op, {input(DType::kFloat32, {5, 11}, -60, 60)}));
  }
  for (DType t : {DType::kInt8, DType::kInt32, DType::kInt64})
    r.add_case(make_case(str("Relu/", dtype_name(t)), "Relu", {input(t, {3, 1, 7}, -9, 9)}, 0));

  add_float_cases(r, "LeakyRelu", {{"alpha", Attr::of_float(0.3f)}}, "alpha0.3_");
  add_float_cases(r, "HardSigmoid", {{"alpha", Attr::of_float(0.5f)}, {"beta", Attr::of_float(0.25f)}}, "a0.5_b0.25_");
  add_float_cases(r, "Elu", {{"alpha", Attr::of_float(2.0f)}}, "alpha2_");
  add_float_cases(r, "Selu", {{"alpha", Attr::of_float(2.0f)}, {"gamma", Attr::of_float(3.0f)}}, "a2_g3_");
  add_float_cases(r, "Celu", {{"alpha", Attr::of_float(0.5f)}}, "alpha0.5_");
  add_float_cases(r, "ThresholdedRelu", {{"alpha", Attr::of_float(-0.5f)}}, "alpha-0.5_");
  add_float_cases(r, "Gelu", {{"approximate", Attr::of_string("tanh")}}, "tanh_");
  add_float_cases(r, "Gelu", {{"approximate", Attr::of_string("none")}}, "none_");

  // PRelu: slope broadcast from the trailing dims, per channel, scalar, full.
  struct Slope {
    const char* tag;
    std::vector<int64_t> x, slope;
  } slopes[] = {{"channel", {2, 3, 4, 5}, {3, 1, 1}},
                {"trailing", {3, 1, 7}, {7}},
                {"scalar", {3, 5}, {}},
                {"full", {3, 5}, {3, 5}},
                {"empty", {0, 3}, {3}}};
  for (const Slope& s : slopes)
    r.add_case(make_case(str("PRelu/", s.tag), "PRelu",
                         {input(DType::kFloat32, s.x, -3, 3), input(DType::kFloat32, s.slope)}));
  for (DType t : {DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt32, DType::kInt64})
    r.add_case(make_case(str("PRelu/", dtype_name(t)), "PRelu", {input(t, {3, 1, 7}, -5, 5), input(t, {7}, -3, 3)},
                         dtype_is_float(t) ? tol_for(t) : 0));
  r.add_case(make_case(
      "PRelu/constant_slope", "PRelu",
      {input(DType::kFloat32, {2, 4, 3}, -3, 3), as_constant(values(DType::kFloat32, {4, 1}, {0.1, 0.2, 0.3, 0.4}))}));
}

}  // namespace kiln
