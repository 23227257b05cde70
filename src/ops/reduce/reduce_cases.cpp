// Test cases of the reduce family, as data: odd shapes, negative axes,
// keepdims 0/1, empty axes, old attribute forms, narrow floats, integers,
// empty tensors. Run on the CPU reference by tests/ops/op_cases_test.cpp.
#include <string>

#include "ops/reduce/reduce_util.h"

namespace kiln::reduce_ops {
namespace {

CaseInput data(DType t, std::vector<int64_t> dims, double lo = -2.0, double hi = 2.0) {
  CaseInput in;
  in.dtype = t;
  in.dims = std::move(dims);
  in.lo = lo;
  in.hi = hi;
  return in;
}

CaseInput ints(std::vector<int64_t> values, bool constant = true) {
  CaseInput in;
  in.dtype = DType::kInt64;
  in.dims = {static_cast<int64_t>(values.size())};
  in.values = std::move(values);
  in.constant = constant;
  return in;
}

OpCase make(std::string name, const std::string& op, std::vector<CaseInput> inputs,
            std::map<std::string, Attr> attrs = {}, int64_t opset = 0) {
  OpCase c;
  c.name = op + "/" + name;
  c.op = op;
  c.inputs = std::move(inputs);
  c.attrs = std::move(attrs);
  c.opset = opset;
  return c;
}

void add_reduce_math_cases(OpRegistry& r) {
  const char* ops[] = {"ReduceSum", "ReduceMean", "ReduceMax",    "ReduceMin",       "ReduceProd",
                       "ReduceL1",  "ReduceL2",   "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
  for (const char* op : ops) {
    std::string o = op;
    bool log_sum = o == "ReduceLogSum";
    double lo = log_sum ? 0.1 : -2.0;  // LogSum of a negative sum is NaN
    bool int_ok = o != "ReduceL2" && o != "ReduceLogSum" && o != "ReduceLogSumExp";
    auto x = [&](DType t, std::vector<int64_t> dims) { return data(t, std::move(dims), lo, 2.0); };
    r.add_case(make("all_axes", o, {x(DType::kFloat32, {3, 5, 7})}));
    r.add_case(make("all_axes_no_keepdims", o, {x(DType::kFloat32, {3, 5, 7})}, {{"keepdims", Attr::of_int(0)}}));
    r.add_case(make("axis1", o, {x(DType::kFloat32, {3, 5, 7}), ints({1})}));
    r.add_case(make("neg_axes_no_keepdims", o, {x(DType::kFloat32, {2, 3, 5, 7}), ints({-1, 1})},
                    {{"keepdims", Attr::of_int(0)}}));
    r.add_case(make("axes_unsorted", o, {x(DType::kFloat32, {4, 3, 5}), ints({2, 0})}));
    r.add_case(make("empty_axes_input", o, {x(DType::kFloat32, {3, 4}), ints({})}));
    r.add_case(make("noop_empty_axes", o, {x(DType::kFloat32, {3, 4}), ints({})},
                    {{"noop_with_empty_axes", Attr::of_int(1)}}));
    r.add_case(make("noop_no_axes", o, {x(DType::kFloat32, {3, 4})}, {{"noop_with_empty_axes", Attr::of_int(1)}}));
    r.add_case(make("axes_runtime", o, {x(DType::kFloat32, {3, 4, 5}), ints({-2}, false)}));
    r.add_case(make("axes_runtime_no_keepdims", o, {x(DType::kFloat32, {3, 4, 5}), ints({0, 2}, false)},
                    {{"keepdims", Attr::of_int(0)}}));
    r.add_case(make("scalar", o, {x(DType::kFloat32, {})}));
    r.add_case(make("size1_dims", o, {x(DType::kFloat32, {1, 9, 1}), ints({0, 2})}));
    r.add_case(make("empty_set", o, {x(DType::kFloat32, {2, 0, 3}), ints({1})}));
    r.add_case(make("empty_kept", o, {x(DType::kFloat32, {0, 4}), ints({1})}, {{"keepdims", Attr::of_int(0)}}));
    r.add_case(make("fp16", o, {x(DType::kFloat16, {5, 17}), ints({1})}));
    r.add_case(make("bf16", o, {x(DType::kBFloat16, {3, 5, 4}), ints({0, 2})}));
    r.add_case(make("fp64", o, {x(DType::kFloat64, {6, 7}), ints({0})}));
    if (int_ok) {
      r.add_case(make("int32", o, {data(DType::kInt32, {4, 6}, -5, 5), ints({1})}));
      r.add_case(make("int64", o, {data(DType::kInt64, {3, 5}, -9, 9)}, {{"keepdims", Attr::of_int(0)}}));
    }
    if (o == "ReduceMax" || o == "ReduceMin") {
      r.add_case(make("int8", o, {data(DType::kInt8, {5, 3}, -100, 100), ints({0})}));
      r.add_case(make("uint8", o, {data(DType::kUInt8, {5, 3}, 0, 250), ints({1})}));
      r.add_case(make("uint8_empty_set", o, {data(DType::kUInt8, {0, 3}), ints({0})}));
      r.add_case(make("bool", o, {data(DType::kBool, {4, 5}, 0, 1), ints({1})}, {}, 20));
    }
    if (o != "ReduceSum") {
      // Opset 13-17 form: axes as an attribute, upgraded to an input.
      r.add_case(make("opset13_axes_attr", o, {x(DType::kFloat32, {3, 4, 5})},
                      {{"axes", Attr::of_ints({0, -1})}, {"keepdims", Attr::of_int(0)}}, 13));
      r.add_case(make("opset13_no_axes", o, {x(DType::kFloat32, {3, 4})}, {}, 13));
    } else {
      r.add_case(make("opset13", o, {x(DType::kFloat32, {3, 4, 5}), ints({1})}, {}, 13));
    }
  }
}

void add_arg_softmax_cases(OpRegistry& r) {
  for (std::string o : {"ArgMax", "ArgMin"}) {
    r.add_case(make("default", o, {data(DType::kFloat32, {3, 4, 5})}));
    r.add_case(make("axis_neg_no_keepdims", o, {data(DType::kFloat32, {3, 4, 5})},
                    {{"axis", Attr::of_int(-1)}, {"keepdims", Attr::of_int(0)}}));
    r.add_case(make("select_last_ties", o, {data(DType::kInt32, {4, 9}, -1, 1)},
                    {{"axis", Attr::of_int(1)}, {"select_last_index", Attr::of_int(1)}}));
    r.add_case(make("first_ties", o, {data(DType::kInt8, {4, 9}, -1, 1)}, {{"axis", Attr::of_int(1)}}));
    r.add_case(make("fp16", o, {data(DType::kFloat16, {7, 3})}, {{"axis", Attr::of_int(1)}}));
    r.add_case(make("bf16", o, {data(DType::kBFloat16, {2, 7, 3})}, {{"axis", Attr::of_int(1)}}));
    r.add_case(make("uint8", o, {data(DType::kUInt8, {5, 6}, 0, 255)}, {{"axis", Attr::of_int(0)}}));
    r.add_case(make("int64", o, {data(DType::kInt64, {5, 6}, -50, 50)}, {{"axis", Attr::of_int(-2)}}));
    r.add_case(make("fp64", o, {data(DType::kFloat64, {5, 6})}, {{"axis", Attr::of_int(1)}}));
    r.add_case(make("empty_outer", o, {data(DType::kFloat32, {0, 6})}, {{"axis", Attr::of_int(1)}}));
    r.add_case(make("rank1", o, {data(DType::kFloat32, {11})}, {{"keepdims", Attr::of_int(0)}}));
  }
  for (std::string o : {"Softmax", "LogSoftmax", "Hardmax"}) {
    r.add_case(make("default_axis", o, {data(DType::kFloat32, {3, 4, 5})}));
    r.add_case(make("axis0", o, {data(DType::kFloat32, {3, 4, 5})}, {{"axis", Attr::of_int(0)}}));
    r.add_case(make("axis_neg2", o, {data(DType::kFloat32, {2, 3, 4, 5})}, {{"axis", Attr::of_int(-2)}}));
    r.add_case(make("large_values", o, {data(DType::kFloat32, {2, 9}, 1000, 1010)}));
    r.add_case(make("rank1", o, {data(DType::kFloat32, {13})}));
    r.add_case(make("fp16", o, {data(DType::kFloat16, {4, 33})}));
    r.add_case(make("bf16", o, {data(DType::kBFloat16, {4, 3, 7})}, {{"axis", Attr::of_int(1)}}));
    r.add_case(make("fp64", o, {data(DType::kFloat64, {5, 6})}));
    r.add_case(make("empty", o, {data(DType::kFloat32, {0, 5})}));
    r.add_case(make("empty_axis", o, {data(DType::kFloat32, {3, 0})}));
    r.add_case(make("size1_axis", o, {data(DType::kFloat32, {4, 1})}));
  }
  r.add_case(make("ties", "Hardmax", {data(DType::kFloat32, {6, 8}, 0, 2)}));
}

void add_topk_cumsum_cases(OpRegistry& r) {
  auto topk = [&](std::string name, CaseInput x, int64_t k, std::map<std::string, Attr> attrs = {},
                  int64_t opset = 0) {
    OpCase c = make(std::move(name), "TopK", {std::move(x), ints({k})}, std::move(attrs), opset);
    c.num_outputs = 2;
    r.add_case(std::move(c));
  };
  topk("default", data(DType::kFloat32, {3, 11}), 4);
  topk("axis0", data(DType::kFloat32, {7, 3, 2}), 3, {{"axis", Attr::of_int(0)}});
  topk("smallest", data(DType::kFloat32, {5, 6}), 2, {{"largest", Attr::of_int(0)}});
  topk("unsorted", data(DType::kFloat32, {5, 6}), 3, {{"sorted", Attr::of_int(0)}});
  topk("ties", data(DType::kInt32, {4, 10}, -2, 2), 5);
  topk("ties_smallest", data(DType::kInt64, {4, 10}, -2, 2), 5, {{"largest", Attr::of_int(0)}});
  topk("k_all", data(DType::kFloat32, {3, 6}), 6);
  topk("k_zero", data(DType::kFloat32, {3, 6}), 0);
  topk("fp16", data(DType::kFloat16, {2, 3, 9}), 4, {{"axis", Attr::of_int(-1)}});
  topk("bf16", data(DType::kBFloat16, {2, 9}), 2);
  topk("int8", data(DType::kInt8, {4, 9}, -100, 100), 3);
  topk("uint8", data(DType::kUInt8, {4, 9}, 0, 200), 3, {{"largest", Attr::of_int(0)}});
  topk("fp64", data(DType::kFloat64, {4, 9}), 3, {{"axis", Attr::of_int(1)}});
  topk("empty_outer", data(DType::kFloat32, {0, 5}), 2);
  topk("empty_axis", data(DType::kFloat32, {3, 0}), 0);
  topk("opset13", data(DType::kFloat32, {3, 8}), 3, {}, 13);
  {
    OpCase c = make("k_runtime", "TopK", {data(DType::kFloat32, {3, 8}), ints({3}, false)});
    c.num_outputs = 2;
    r.add_case(std::move(c));
  }

  auto axis = [](int64_t a, bool constant = true) { return ints({a}, constant); };
  auto scalar_axis = [](int64_t a) {
    CaseInput in;
    in.dtype = DType::kInt32;
    in.dims = {};
    in.values = {a};
    in.constant = true;
    return in;
  };
  r.add_case(make("axis0", "CumSum", {data(DType::kFloat32, {5, 3}), axis(0)}));
  r.add_case(make("axis_neg", "CumSum", {data(DType::kFloat32, {2, 3, 7}), axis(-1)}));
  r.add_case(make("exclusive", "CumSum", {data(DType::kFloat32, {4, 5}), axis(1)}, {{"exclusive", Attr::of_int(1)}}));
  r.add_case(make("reverse", "CumSum", {data(DType::kFloat32, {4, 5}), axis(1)}, {{"reverse", Attr::of_int(1)}}));
  r.add_case(make("reverse_exclusive", "CumSum", {data(DType::kFloat32, {3, 4, 5}), axis(1)},
                  {{"reverse", Attr::of_int(1)}, {"exclusive", Attr::of_int(1)}}));
  r.add_case(make("int32_scalar_axis", "CumSum", {data(DType::kInt32, {6, 5}, -9, 9), scalar_axis(1)}));
  r.add_case(make("int64", "CumSum", {data(DType::kInt64, {6, 5}, -9, 9), axis(0)}));
  r.add_case(make("fp16", "CumSum", {data(DType::kFloat16, {3, 17}), axis(1)}));
  r.add_case(make("bf16", "CumSum", {data(DType::kBFloat16, {3, 17}), axis(-1)}));
  r.add_case(make("fp64", "CumSum", {data(DType::kFloat64, {3, 7}), axis(0)}));
  r.add_case(make("axis_runtime", "CumSum", {data(DType::kFloat32, {3, 7}), axis(1, false)}));
  r.add_case(make("empty", "CumSum", {data(DType::kFloat32, {0, 7}), axis(1)}));
  r.add_case(make("rank1", "CumSum", {data(DType::kFloat32, {9}), axis(0)}));
}

}  // namespace

void add_reduce_cases(OpRegistry& r) {
  add_reduce_math_cases(r);
  add_arg_softmax_cases(r);
  add_topk_cumsum_cases(r);
}

}  // namespace kiln::reduce_ops
