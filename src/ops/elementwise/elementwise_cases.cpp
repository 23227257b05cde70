// Test cases of the elementwise family, as data: odd and broadcast shapes,
// scalars, empty dims, every attribute and every dtype each op accepts.
#include <cmath>
#include <limits>
#include <span>
#include <string>

#include "ops/elementwise/elementwise_cases_util.h"
#include "ops/elementwise/elementwise_util.h"

namespace kiln {
namespace {

using namespace case_util;  // NOLINT: short case-building helpers

const DType kNumeric[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64,
                          DType::kInt8,    DType::kUInt8,   DType::kInt32,    DType::kInt64};
const DType kFloats[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64};
const DType kEvery[] = {DType::kFloat32,      DType::kFloat16,    DType::kBFloat16, DType::kFloat64,
                        DType::kFloat8E4M3FN, DType::kFloat8E5M2, DType::kInt8,     DType::kUInt8,
                        DType::kInt32,        DType::kInt64,      DType::kBool};

// Shapes every broadcasting op sees: odd sizes, broadcast both ways, scalar, empty.
struct BinShapes {
  const char* tag;
  std::vector<int64_t> a, b;
};
const BinShapes kBinShapes[] = {
    {"bcast", {3, 1, 5}, {7, 1}}, {"scalar", {}, {2, 3}}, {"empty", {0, 3}, {3}}, {"same", {4, 9}, {4, 9}}};

// Integer inputs stay small so products, powers and sums do not overflow.
double lo_of(DType t) { return t == DType::kUInt8 ? 0 : dtype_is_float(t) ? -2 : -9; }
double hi_of(DType t) { return dtype_is_float(t) ? 2 : 9; }

void add_binary(OpRegistry& r, const char* op, std::span<const DType> types) {
  for (DType t : types) {
    for (const BinShapes& s : kBinShapes) {
      if (t != DType::kFloat32 && std::string(s.tag) != "bcast") continue;  // other shapes once, in fp32
      r.add_case(make_case(str(op, "/", dtype_name(t), "_", s.tag), op,
                           {input(t, s.a, lo_of(t), hi_of(t)), input(t, s.b, lo_of(t), hi_of(t))}, tol_for(t)));
    }
  }
}

void add_unary(OpRegistry& r, const char* op, std::span<const DType> types, double lo, double hi) {
  for (DType t : types) {
    r.add_case(make_case(str(op, "/", dtype_name(t)), op, {input(t, {3, 1, 5}, lo, hi)}, tol_for(t)));
  }
  r.add_case(make_case(str(op, "/scalar"), op, {input(DType::kFloat32, {}, lo, hi)}));
  r.add_case(make_case(str(op, "/empty"), op, {input(DType::kFloat32, {0, 3}, lo, hi)}));
}

void add_arith_cases(OpRegistry& r) {
  for (const char* op :
       {"Add", "Sub", "Mul", "Min", "Max", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"})
    add_binary(r, op, kNumeric);
  add_binary(r, "Pow", kFloats);
  add_binary(r, "Sum", kFloats);
  add_binary(r, "Mean", kFloats);
  // Divisors that are never 0 (signed ints mix signs to check truncation).
  for (DType t : kNumeric) {
    std::vector<double> divisor = {-3, 2, 5, -1, 7, 4, -2};
    if (t == DType::kUInt8) divisor = {3, 2, 5, 1, 7, 4, 2};
    for (const char* op : {"Div", "Mod"}) {
      r.add_case(make_case(str(op, "/", dtype_name(t)), op,
                           {input(t, {3, 1, 7}, lo_of(t), hi_of(t)), values(t, {7}, divisor)}, tol_for(t)));
    }
    OpCase c = make_case(str("Mod/fmod1_", dtype_name(t)), "Mod",
                         {input(t, {2, 7}, lo_of(t), hi_of(t)), values(t, {7}, divisor)}, tol_for(t));
    c.attrs["fmod"] = Attr::of_int(1);
    r.add_case(c);
  }
  r.add_case(make_case("Div/scalar", "Div", {input(DType::kFloat32, {}), input(DType::kFloat32, {2, 3}, 0.5, 2)}));
  r.add_case(make_case("Div/empty", "Div", {input(DType::kFloat32, {0, 3}), input(DType::kFloat32, {3}, 0.5, 2)}));
  // Pow: integer bases, mixed base/exponent types.
  r.add_case(make_case("Pow/float32_positive_base", "Pow",
                       {input(DType::kFloat32, {3, 1, 5}, 0.1, 3), input(DType::kFloat32, {7, 1}, -3, 3)}));
  r.add_case(make_case("Pow/int32_int32", "Pow",
                       {input(DType::kInt32, {3, 1, 5}, -5, 5), input(DType::kInt32, {7, 1}, 0, 4)}));
  r.add_case(make_case("Pow/int64_int8_negexp", "Pow",
                       {values(DType::kInt64, {4}, {1, -1, 2, 3}), input(DType::kInt8, {3, 1}, -3, 3)}));
  r.add_case(
      make_case("Pow/float32_int64", "Pow", {input(DType::kFloat32, {2, 5}, -2, 2), input(DType::kInt64, {5}, -3, 3)}));
  r.add_case(
      make_case("Pow/int64_float32", "Pow", {input(DType::kInt64, {2, 5}, 0, 6), input(DType::kFloat32, {5}, 0, 3)}));
  r.add_case(make_case("Pow/float16_uint8", "Pow",
                       {input(DType::kFloat16, {2, 5}, -2, 2), input(DType::kUInt8, {5}, 0, 4)}, 1e-3));
  // Variadic Min/Max/Sum/Mean with one and three inputs.
  for (const char* op : {"Min", "Max", "Sum", "Mean"}) {
    r.add_case(make_case(str(op, "/one_input"), op, {input(DType::kFloat32, {3, 5})}));
    r.add_case(
        make_case(str(op, "/three_inputs"), op,
                  {input(DType::kFloat32, {3, 1, 5}), input(DType::kFloat32, {7, 1}), input(DType::kFloat32, {5})}));
  }
  r.add_case(make_case(
      "Max/int64_three", "Max",
      {input(DType::kInt64, {2, 1}, -50, 50), input(DType::kInt64, {3}, -50, 50), input(DType::kInt64, {1}, -50, 50)}));
  r.add_case(make_case("Min/nan", "Min",
                       {values(DType::kFloat32, {4}, {NAN, 1, -2, 3}), values(DType::kFloat32, {4}, {0, NAN, 5, -3})}));
}

void add_unary_cases(OpRegistry& r) {
  for (const char* op : {"Exp", "Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Asinh", "Floor", "Ceil", "Round"})
    add_unary(r, op, kFloats, -3, 3);
  add_unary(r, "Sqrt", kFloats, 0, 4);
  add_unary(r, "Log", kFloats, 0.05, 5);
  add_unary(r, "Reciprocal", kFloats, 0.25, 4);
  add_unary(r, "Asin", kFloats, -0.95, 0.95);
  add_unary(r, "Acos", kFloats, -0.95, 0.95);
  add_unary(r, "Atanh", kFloats, -0.95, 0.95);
  add_unary(r, "Acosh", kFloats, 1, 4);
  const DType neg_types[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64,
                             DType::kInt8,    DType::kInt32,   DType::kInt64};
  add_unary(r, "Neg", neg_types, -9, 9);
  add_unary(r, "Abs", kNumeric, -9, 9);
  add_unary(r, "Sign", kNumeric, -3, 3);
  r.add_case(make_case("Round/halves", "Round",
                       {values(DType::kFloat32, {8}, {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, -0.0})}));
  r.add_case(make_case("Sqrt/negative_nan", "Sqrt", {values(DType::kFloat32, {3}, {-1, 0, 4})}));
}

void add_logic_cases(OpRegistry& r) {
  add_binary(r, "Equal", std::span<const DType>(&kEvery[10], 1));  // bool
  for (const char* op : {"And", "Or", "Xor"}) {
    r.add_case(
        make_case(str(op, "/bcast"), op, {input(DType::kBool, {3, 1, 5}, 0, 1), input(DType::kBool, {7, 1}, 0, 1)}));
    r.add_case(make_case(str(op, "/scalar"), op, {input(DType::kBool, {}, 0, 1), input(DType::kBool, {2, 3}, 0, 1)}));
    r.add_case(make_case(str(op, "/empty"), op, {input(DType::kBool, {0, 3}, 0, 1), input(DType::kBool, {3}, 0, 1)}));
  }
  r.add_case(make_case("Not/odd", "Not", {input(DType::kBool, {3, 1, 5}, 0, 1)}));
  r.add_case(make_case("Not/empty", "Not", {input(DType::kBool, {0, 3}, 0, 1)}));
  for (DType t : kEvery) {
    if (dtype_in(t, kFp8Types)) continue;  // Where does not take fp8
    r.add_case(make_case(str("Where/", dtype_name(t)), "Where",
                         {input(DType::kBool, {3, 1, 5}, 0, 1), input(t, {7, 1}, 0, 5), input(t, {5}, 0, 5)}));
  }
  r.add_case(make_case("Where/scalar_cond", "Where",
                       {input(DType::kBool, {}, 0, 1), input(DType::kFloat32, {2, 3}), input(DType::kFloat32, {})}));
  r.add_case(
      make_case("Where/empty", "Where",
                {input(DType::kBool, {0, 1}, 0, 1), input(DType::kFloat32, {1, 3}), input(DType::kFloat32, {3})}));
  const double inf = std::numeric_limits<double>::infinity();
  for (DType t : kEvery) {
    if (!dtype_is_float(t)) continue;
    std::vector<double> v = {inf, -inf, NAN, 1, 0, -2};
    r.add_case(make_case(str("IsNaN/", dtype_name(t)), "IsNaN", {values(t, {2, 3}, v)}));
    for (int neg = 0; neg < 2; ++neg) {
      for (int pos = 0; pos < 2; ++pos) {
        OpCase c = make_case(str("IsInf/", dtype_name(t), "_neg", neg, "_pos", pos), "IsInf", {values(t, {2, 3}, v)});
        c.attrs["detect_negative"] = Attr::of_int(neg);
        c.attrs["detect_positive"] = Attr::of_int(pos);
        r.add_case(c);
      }
    }
  }
  r.add_case(make_case("IsNaN/empty", "IsNaN", {input(DType::kFloat32, {0, 3})}));
}

void add_cast_cases(OpRegistry& r) {
  for (DType from : kEvery) {
    for (DType to : kEvery) {
      double lo = from == DType::kUInt8 || from == DType::kBool ? 0 : -200;
      double hi = from == DType::kBool ? 1 : 200;
      OpCase c = make_case(str("Cast/", dtype_name(from), "_to_", dtype_name(to)), "Cast",
                           {input(from, {3, 1, 5}, lo, hi)}, tol_for(to));
      c.attrs["to"] = Attr::of_int(static_cast<int64_t>(to));
      r.add_case(c);
      OpCase like = make_case(str("CastLike/", dtype_name(from), "_to_", dtype_name(to)), "CastLike",
                              {input(from, {2, 3}, lo, hi), input(to, {1})}, tol_for(to));
      r.add_case(like);
    }
  }
  // Out-of-range values into fp8, saturating and not.
  const double inf = std::numeric_limits<double>::infinity();
  for (DType to : {DType::kFloat8E4M3FN, DType::kFloat8E5M2}) {
    for (int sat = 0; sat < 2; ++sat) {
      OpCase c = make_case(str("Cast/float32_to_", dtype_name(to), "_saturate", sat), "Cast",
                           {values(DType::kFloat32, {6}, {1e6, -1e6, inf, -inf, NAN, 0.3})}, 0.1);
      c.attrs["to"] = Attr::of_int(static_cast<int64_t>(to));
      c.attrs["saturate"] = Attr::of_int(sat);
      r.add_case(c);
    }
  }
  OpCase rm = make_case("Cast/round_mode_nearest", "Cast", {input(DType::kFloat32, {4})});
  rm.attrs["to"] = Attr::of_int(static_cast<int64_t>(DType::kFloat16));
  rm.attrs["round_mode"] = Attr::of_string("nearest");
  r.add_case(rm);
  OpCase empty = make_case("Cast/empty", "Cast", {input(DType::kFloat32, {0, 3})});
  empty.attrs["to"] = Attr::of_int(static_cast<int64_t>(DType::kInt64));
  r.add_case(empty);

  for (DType t : kNumeric) {
    double lo = lo_of(t), hi = hi_of(t);
    r.add_case(
        make_case(str("Clip/", dtype_name(t)), "Clip",
                  {input(t, {3, 1, 5}, lo, hi), values(t, {}, {t == DType::kUInt8 ? 2.0 : -1.0}), values(t, {}, {5})},
                  tol_for(t)));
  }
  r.add_case(make_case("Clip/no_bounds", "Clip", {input(DType::kFloat32, {2, 3})}));
  r.add_case(make_case("Clip/min_only", "Clip", {input(DType::kFloat32, {2, 3}), values(DType::kFloat32, {}, {0})}));
  r.add_case(
      make_case("Clip/max_only", "Clip",
                {input(DType::kFloat32, {2, 3}), omitted(DType::kFloat32), values(DType::kFloat32, {1}, {0.2})}));
  r.add_case(make_case(
      "Clip/min_above_max", "Clip",
      {input(DType::kFloat32, {7}), values(DType::kFloat32, {}, {0.5}), values(DType::kFloat32, {}, {-0.5})}));
  r.add_case(make_case("Clip/empty", "Clip", {input(DType::kFloat32, {0, 3}), values(DType::kFloat32, {}, {0})}));
  for (DType t : kEvery)
    r.add_case(make_case(str("Identity/", dtype_name(t)), "Identity", {input(t, {3, 1, 5}, 0, 3)}));
  r.add_case(make_case("Identity/empty", "Identity", {input(DType::kFloat32, {0, 3})}));
}

}  // namespace

void add_elementwise_cases(OpRegistry& r) {
  add_arith_cases(r);
  add_unary_cases(r);
  add_logic_cases(r);
  add_cast_cases(r);
}

}  // namespace kiln
