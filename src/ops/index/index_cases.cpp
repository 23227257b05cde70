// The index family's op cases: negative and wrapped indices, odd and empty
// shapes, every attribute and reduction, several data and index dtypes.
#include "ops/index/index_util.h"

namespace kiln::index_family {
namespace {

using D = DType;
using Attrs = std::map<std::string, Attr>;

CaseInput data(D t, std::vector<int64_t> dims, double lo = -4, double hi = 4) {
  CaseInput in;
  in.dtype = t;
  in.dims = std::move(dims);
  in.lo = lo;
  in.hi = hi;
  return in;
}

// Random indices in [lo, hi] (a run-time input).
CaseInput random_idx(std::vector<int64_t> dims, int64_t lo, int64_t hi, D t = D::kInt64) {
  return data(t, std::move(dims), static_cast<double>(lo), static_cast<double>(hi));
}

// Explicit values, an initializer unless `runtime`.
CaseInput vals(D t, std::vector<int64_t> dims, std::vector<double> v, bool runtime = false) {
  CaseInput in;
  in.dtype = t;
  in.dims = std::move(dims);
  in.fvalues = std::move(v);
  in.constant = !runtime;
  return in;
}

CaseInput omitted() {
  CaseInput in;
  in.omitted = true;
  return in;
}

struct Adder {
  OpRegistry& r;
  void operator()(std::string name, std::string op, std::vector<CaseInput> inputs, Attrs attrs = {},
                  int64_t opset = 0) {
    OpCase c;
    c.name = op + "/" + name;
    c.op = std::move(op);
    c.inputs = std::move(inputs);
    c.attrs = std::move(attrs);
    c.opset = opset;
    r.add_case(std::move(c));
  }
};

Attr I(int64_t v) { return Attr::of_int(v); }
Attr S(const char* v) { return Attr::of_string(v); }

void gather_cases(Adder& add) {
  add("axis0_wrap", "Gather", {data(D::kFloat32, {3, 4}), random_idx({5}, -3, 2)});
  add("axis1_2d", "Gather", {data(D::kFloat16, {2, 5, 3}), random_idx({2, 3}, -5, 4, D::kInt32)}, {{"axis", I(1)}});
  add("scalar_index", "Gather", {data(D::kBool, {4, 2}), vals(D::kInt64, {}, {-1})}, {{"axis", I(-2)}});
  add("empty_indices", "Gather", {data(D::kInt64, {3}), random_idx({0}, 0, 2)});
  add("empty_data", "Gather", {data(D::kUInt8, {0, 3}), random_idx({2}, -3, 2)}, {{"axis", I(1)}});

  add("axis0", "GatherElements", {data(D::kFloat32, {3, 3}), random_idx({2, 3}, -3, 2)});
  add("axis1", "GatherElements", {data(D::kInt8, {2, 4}), random_idx({2, 5}, -4, 3, D::kInt32)}, {{"axis", I(1)}});
  add("axis_neg_3d", "GatherElements", {data(D::kBFloat16, {2, 3, 4}), random_idx({1, 3, 2}, -4, 3)},
      {{"axis", I(-1)}});

  add("pairs", "GatherND", {data(D::kFloat32, {3, 4}), random_idx({5, 2}, -3, 2)});
  add("rows", "GatherND", {data(D::kInt64, {3, 4, 2}), random_idx({2, 1}, -3, 2)});
  add("batch1", "GatherND", {data(D::kFloat16, {2, 3, 4}), random_idx({2, 2, 1}, -3, 2)}, {{"batch_dims", I(1)}});
}

void scatter_cases(Adder& add) {
  CaseInput nd_idx = vals(D::kInt64, {3, 1}, {2, 0, -1});  // rows 2, 0, 3 of 4
  add("none", "ScatterND", {data(D::kFloat32, {4, 3}), nd_idx, data(D::kFloat32, {3, 3})});
  add("elements", "ScatterND",
      {data(D::kInt32, {2, 3}), vals(D::kInt64, {2, 2}, {1, 2, 0, -1}, true), data(D::kInt32, {2})});
  CaseInput dup = vals(D::kInt64, {3, 1}, {1, 1, -3});
  for (const char* red : {"add", "mul", "max", "min"})
    add(std::string("dup_") + red, "ScatterND", {data(D::kFloat32, {3, 2}), dup, data(D::kFloat32, {3, 2})},
        {{"reduction", S(red)}});
  add("add_opset16", "ScatterND", {data(D::kInt64, {3, 2}), dup, data(D::kInt64, {3, 2})}, {{"reduction", S("add")}},
      16);

  // Each column takes a distinct row: a permutation per column.
  CaseInput perm = vals(D::kInt64, {3, 2}, {2, 0, 0, -1, 1, 1});
  add("axis0", "ScatterElements", {data(D::kFloat32, {3, 2}), perm, data(D::kFloat32, {3, 2})});
  add("axis1_int32", "ScatterElements",
      {data(D::kFloat16, {2, 4}), vals(D::kInt32, {2, 2}, {3, 0, -4, 2}), data(D::kFloat16, {2, 2})},
      {{"axis", I(1)}});
  CaseInput dup2 = vals(D::kInt64, {2, 3}, {1, 1, 0, 1, -2, 0});
  for (const char* red : {"add", "mul", "max", "min"})
    add(std::string("dup_") + red, "ScatterElements", {data(D::kInt64, {2, 3}), dup2, data(D::kInt64, {2, 3})},
        {{"reduction", S(red)}});
  add("bool_add", "ScatterElements", {data(D::kBool, {2, 3}), dup2, data(D::kBool, {2, 3})},
      {{"reduction", S("add")}});
}

void select_cases(Adder& add) {
  CaseInput on_off = vals(D::kFloat32, {2}, {-1, 3});
  add("last_axis", "OneHot", {random_idx({2, 3}, -6, 5), vals(D::kInt64, {}, {5}), on_off});
  add("axis0", "OneHot", {random_idx({4}, -3, 2, D::kInt32), vals(D::kFloat32, {1}, {3}), on_off}, {{"axis", I(0)}});
  add("out_of_range", "OneHot", {data(D::kFloat32, {3, 2}, -9, 9), vals(D::kInt64, {}, {4}), on_off},
      {{"axis", I(-2)}});
  add("int_values", "OneHot", {random_idx({3}, 0, 2), vals(D::kInt32, {}, {3}), vals(D::kInt64, {2}, {0, 9})});

  add("floats", "NonZero", {data(D::kFloat32, {3, 4}, -1, 1)});
  add("int8", "NonZero", {data(D::kInt8, {2, 3, 2}, -1, 1)});
  add("bool_1d", "NonZero", {data(D::kBool, {7}, 0, 1)});
  add("empty", "NonZero", {data(D::kFloat16, {0, 3})});
  add("constant", "NonZero", {vals(D::kInt64, {2, 2}, {0, 3, 1, 0})});

  add("upper", "Trilu", {data(D::kFloat32, {4, 5})});
  add("lower_k", "Trilu", {data(D::kInt64, {2, 3, 4}), vals(D::kInt64, {}, {-1})}, {{"upper", I(0)}});
  add("upper_k2", "Trilu", {data(D::kBool, {5, 3}), vals(D::kInt64, {}, {2}, true)});
  add("lower_far", "Trilu", {data(D::kFloat16, {3, 3}), vals(D::kInt64, {}, {-7})}, {{"upper", I(0)}});
  add("empty", "Trilu", {data(D::kInt8, {0, 3})});

  add("axis0", "Compress", {data(D::kFloat32, {3, 2}), vals(D::kBool, {3}, {0, 1, 1})}, {{"axis", I(0)}});
  add("flat", "Compress", {data(D::kInt64, {2, 3}), vals(D::kBool, {4}, {1, 0, 0, 1}, true)});
  add("axis_neg_short", "Compress", {data(D::kBool, {2, 4}), vals(D::kBool, {2}, {1, 1})}, {{"axis", I(-1)}});
}

void nms_cases(Adder& add) {
  // Six boxes in two clusters (the ONNX example), corner format.
  std::vector<double> boxes = {0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9,
                               0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101};
  std::vector<double> scores = {0.9, 0.75, 0.6, 0.95, 0.5, 0.3};
  CaseInput b = vals(D::kFloat32, {1, 6, 4}, boxes, true);
  CaseInput s = vals(D::kFloat32, {1, 1, 6}, scores, true);
  add("iou", "NonMaxSuppression",
      {b, s, vals(D::kInt64, {1}, {3}), vals(D::kFloat32, {1}, {0.5}), vals(D::kFloat32, {1}, {0})});
  add("defaults", "NonMaxSuppression", {b, s, vals(D::kInt64, {1}, {10})});
  add("score_threshold", "NonMaxSuppression",
      {b, s, vals(D::kInt64, {}, {4}), omitted(), vals(D::kFloat32, {}, {0.55})});
  std::vector<double> centers = {0.5, 0.5, 1, 1, 0.5, 0.6, 1, 1, 0.5, 0.4, 1, 1,
                                 0.5, 10.5, 1, 1, 0.5, 10.6, 1, 1, 0.5, 100.5, 1, 1};
  add("center_point", "NonMaxSuppression",
      {vals(D::kFloat32, {1, 6, 4}, centers, true), s, vals(D::kInt64, {1}, {3}), vals(D::kFloat32, {1}, {0.5})},
      {{"center_point_box", I(1)}});
  add("random_batches", "NonMaxSuppression",
      {data(D::kFloat32, {2, 7, 4}, 0, 3), data(D::kFloat32, {2, 3, 7}, 0, 1), vals(D::kInt64, {1}, {2}),
       vals(D::kFloat32, {1}, {0.3})});
}

}  // namespace

void add_index_cases(OpRegistry& r) {
  Adder add{r};
  gather_cases(add);
  scatter_cases(add);
  select_cases(add);
  nms_cases(add);
}

}  // namespace kiln::index_family
