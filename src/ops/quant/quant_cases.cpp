// Test cases of the quant family, as data: per-tensor, per-axis and blocked
// scales, every quantized type Kiln has, output_dtype / precision / saturate.
#include <cmath>
#include <string>

#include "ops/elementwise/elementwise_cases_util.h"
#include "ops/elementwise/elementwise_util.h"

namespace kiln {

using namespace case_util;  // NOLINT: short case-building helpers

namespace {

OpCase with_attrs(OpCase c, std::map<std::string, Attr> attrs) {
  c.attrs = std::move(attrs);
  return c;
}

Attr dtype_attr(DType t) { return Attr::of_int(static_cast<int64_t>(t)); }

// Layouts: (tag, x dims, scale dims, attrs).
struct Layout {
  const char* tag;
  std::vector<int64_t> x, scale;
  std::map<std::string, Attr> attrs;
};

std::vector<Layout> layouts() {
  return {{"tensor", {3, 1, 7}, {}, {}},
          {"tensor_1d", {5}, {1}, {}},
          {"axis1", {2, 3, 5}, {3}, {}},
          {"axis_neg1", {2, 3, 5}, {5}, {{"axis", Attr::of_int(-1)}}},
          {"axis0", {4, 3}, {4}, {{"axis", Attr::of_int(0)}}},
          {"blocked", {2, 6, 5}, {2, 2, 5}, {{"axis", Attr::of_int(1)}, {"block_size", Attr::of_int(4)}}},
          {"blocked_last", {3, 7}, {3, 3}, {{"axis", Attr::of_int(-1)}, {"block_size", Attr::of_int(3)}}},
          {"empty", {0, 3}, {}, {}},
          {"scalar", {}, {}, {}}};
}

double zp_lo(DType t) { return t == DType::kInt8 ? -20 : dtype_is_float(t) ? 0 : 100; }
double zp_hi(DType t) { return t == DType::kInt8 ? 20 : dtype_is_float(t) ? 0 : 150; }

void add_quantize_cases(OpRegistry& r) {
  for (const Layout& l : layouts()) {
    for (DType zt : {DType::kUInt8, DType::kInt8, DType::kFloat8E4M3FN, DType::kFloat8E5M2}) {
      r.add_case(with_attrs(make_case(str("QuantizeLinear/", l.tag, "_", dtype_name(zt)), "QuantizeLinear",
                                      {input(DType::kFloat32, l.x, -10, 10), input(DType::kFloat32, l.scale, 0.02, 0.2),
                                       input(zt, l.scale, zp_lo(zt), zp_hi(zt))},
                                      0),
                            l.attrs));
    }
  }
  // No zero point: uint8, or output_dtype.
  r.add_case(make_case("QuantizeLinear/no_zero_point", "QuantizeLinear",
                       {input(DType::kFloat32, {3, 1, 7}, -10, 10), input(DType::kFloat32, {}, 0.05, 0.1)}, 0));
  for (DType t : {DType::kInt8, DType::kUInt8, DType::kFloat8E4M3FN, DType::kFloat8E5M2})
    r.add_case(
        with_attrs(make_case(str("QuantizeLinear/output_dtype_", dtype_name(t)), "QuantizeLinear",
                             {input(DType::kFloat32, {2, 9}, -10, 10), input(DType::kFloat32, {}, 0.05, 0.1)}, 0),
                   {{"output_dtype", dtype_attr(t)}}));
  // fp8 saturation off: large values become NaN / inf.
  for (DType t : {DType::kFloat8E4M3FN, DType::kFloat8E5M2})
    r.add_case(with_attrs(
        make_case(str("QuantizeLinear/no_saturate_", dtype_name(t)), "QuantizeLinear",
                  {input(DType::kFloat32, {2, 9}, -1e5, 1e5), input(DType::kFloat32, {}, 0.5, 1), values(t, {}, {0})},
                  0),
        {{"saturate", Attr::of_int(0)}}));
  // Input and scale types; int32 input; precision (opset 23+).
  for (DType t : {DType::kFloat16, DType::kBFloat16}) {
    r.add_case(make_case(str("QuantizeLinear/", dtype_name(t), "_input"), "QuantizeLinear",
                         {input(t, {3, 1, 7}, -10, 10), input(t, {1}, 0.05, 0.1), input(DType::kInt8, {1}, -3, 3)}, 0));
  }
  r.add_case(make_case("QuantizeLinear/int32_input", "QuantizeLinear",
                       {input(DType::kInt32, {2, 3, 4}, -1000, 1000), input(DType::kFloat32, {3}, 2, 9),
                        input(DType::kUInt8, {3}, 100, 150)},
                       0));
  r.add_case(with_attrs(make_case("QuantizeLinear/precision_float16", "QuantizeLinear",
                                  {input(DType::kFloat32, {4, 5}, -10, 10), input(DType::kFloat32, {}, 0.03, 0.05),
                                   input(DType::kInt8, {}, -3, 3)},
                                  0),
                        {{"precision", dtype_attr(DType::kFloat16)}}));
  r.add_case(make_case("QuantizeLinear/mixed_scale_float16", "QuantizeLinear",
                       {input(DType::kFloat32, {4, 5}, -10, 10), input(DType::kFloat16, {5}, 0.03, 0.05)}, 0));
  r.add_case(make_case("QuantizeLinear/opset13", "QuantizeLinear",
                       {input(DType::kFloat32, {2, 3}, -10, 10), as_constant(values(DType::kFloat32, {}, {0.1})),
                        as_constant(values(DType::kUInt8, {}, {128}))},
                       0));
  r.add_case(make_case("QuantizeLinear/nan_inf", "QuantizeLinear",
                       {values(DType::kFloat32, {4}, {NAN, INFINITY, -INFINITY, 1.5}), input(DType::kFloat32, {}, 1, 1),
                        values(DType::kInt8, {}, {3})},
                       0));
}

void add_dequantize_cases(OpRegistry& r) {
  for (const Layout& l : layouts()) {
    for (DType xt : {DType::kUInt8, DType::kInt8, DType::kInt32, DType::kFloat8E4M3FN, DType::kFloat8E5M2}) {
      double lo = xt == DType::kUInt8 ? 0 : -100, hi = 100;
      r.add_case(with_attrs(make_case(str("DequantizeLinear/", l.tag, "_", dtype_name(xt)), "DequantizeLinear",
                                      {input(xt, l.x, lo, hi), input(DType::kFloat32, l.scale, 0.02, 0.2),
                                       input(xt, l.scale, zp_lo(xt), zp_hi(xt))}),
                            l.attrs));
    }
  }
  r.add_case(make_case("DequantizeLinear/no_zero_point", "DequantizeLinear",
                       {input(DType::kInt8, {3, 1, 7}, -100, 100), input(DType::kFloat32, {}, 0.05, 0.1)}));
  for (DType st : {DType::kFloat16, DType::kBFloat16})
    r.add_case(make_case(
        str("DequantizeLinear/scale_", dtype_name(st)), "DequantizeLinear",
        {input(DType::kUInt8, {2, 3, 4}, 0, 255), input(st, {3}, 0.02, 0.2), input(DType::kUInt8, {3}, 100, 150)},
        tol_for(st)));
  for (DType ot : {DType::kFloat32, DType::kFloat16, DType::kBFloat16})
    r.add_case(with_attrs(
        make_case(str("DequantizeLinear/output_dtype_", dtype_name(ot)), "DequantizeLinear",
                  {input(DType::kInt8, {2, 9}, -100, 100), input(DType::kFloat32, {}, 0.05, 0.1)}, tol_for(ot)),
        {{"output_dtype", dtype_attr(ot)}}));
  r.add_case(make_case("DequantizeLinear/opset13_constant", "DequantizeLinear",
                       {input(DType::kUInt8, {2, 3}, 0, 255), as_constant(values(DType::kFloat32, {}, {0.1})),
                        as_constant(values(DType::kUInt8, {}, {128}))}));
}

}  // namespace

void add_quant_cases(OpRegistry& r) {
  add_quantize_cases(r);
  add_dequantize_cases(r);
  // The opset-13 forms (float32 scales, no saturate/block_size/output_dtype).
  std::vector<OpCase> v13;
  for (const OpCase& c : r.cases())
    if ((c.op == "QuantizeLinear" || c.op == "DequantizeLinear") && c.name.find("opset13") != std::string::npos)
      v13.push_back(c);
  for (OpCase& c : v13) {
    c.name += "_v13";
    c.opset = 13;
    r.add_case(std::move(c));
  }
}

}  // namespace kiln
