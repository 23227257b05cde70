// The op list of the foundation issue: every op must be registered with
// inference, a CPU reference and cases (the self-check covers the latter).
#include <gtest/gtest.h>

#include "ops/op_schema.h"

namespace kiln {
namespace {

TEST(OpRegistry, EveryRequiredOpIsRegistered) {
  const char* required[] = {
      "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Resize", "Pad",
      "BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
      "RMSNormalization", "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
      "Erf", "Gelu", "Softplus", "Elu", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log", "Reciprocal",
      "Neg", "Abs", "Min", "Max", "Sin", "Cos", "Mod", "Floor", "Ceil", "Round", "Sign", "Equal", "Greater",
      "Less", "GreaterOrEqual", "LessOrEqual", "Not", "And", "Or", "Where", "IsNaN", "IsInf", "MatMul", "Gemm",
      "Einsum", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ArgMax", "ArgMin",
      "Softmax", "LogSoftmax", "TopK", "CumSum", "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze",
      "Concat", "Split", "Slice", "Gather", "GatherElements", "GatherND", "ScatterND", "ScatterElements",
      "Expand", "Tile", "Shape", "Size", "ConstantOfShape", "Range", "Identity", "Constant", "Cast", "Trilu",
      "OneHot", "DepthToSpace", "SpaceToDepth", "Dropout", "NonZero", "NonMaxSuppression", "QuantizeLinear",
      "DequantizeLinear", "Attention"};
  std::string missing;
  for (const char* op : required)
    if (!OpRegistry::global().find_any("", op)) missing += std::string(" ") + op;
  EXPECT_TRUE(missing.empty()) << "not registered:" << missing;
}

}  // namespace
}  // namespace kiln
