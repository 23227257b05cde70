// ONNX model -> Kiln graph: maps values and initializers, inlines model-local
// functions, upgrades older opset forms, infers every value's type and shape,
// and folds shape arithmetic (Shape -> Gather -> Concat -> Reshape chains) to
// constants. Every unsupported op is reported in one error.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/limits.h"
#include "base/status.h"
#include "ir/graph.h"
#include "ir/tensor.h"
#include "onnx/onnx_model.h"

namespace kiln {

struct ImportOptions {
  Limits limits;
  // Static sizes for inputs ("input" -> {1,3,224,224}); replaces symbolic dims.
  std::map<std::string, std::vector<int64_t>> input_shapes;
  // Inputs fixed to a value at import (TensorRT's shape-tensor values): each
  // becomes a constant and leaves the graph's inputs, so shapes computed from
  // it resolve. The value must have the input's declared type and shape.
  std::map<std::string, Tensor> input_values;
  bool fold_constants = true;
};

struct UnsupportedNode {
  std::string node, op, domain;
  int64_t opset = 0;
  std::string reason;
};

struct ImportedModel {
  std::unique_ptr<Graph> graph;
  onnx::ModelProto proto;                  // keeps the mapped file alive
  std::map<std::string, int64_t> opsets;  // domain -> version ("" = ai.onnx)
};

// Every node (after inlining local functions) that Kiln cannot import, for
// `kiln inspect` and the importer's single error message.
Expected<std::vector<UnsupportedNode>> list_unsupported_nodes(const onnx::ModelProto& model,
                                                              const Limits& limits = {});

// Imports a model file. With unsupported ops, fails with one message listing
// all of them (node name, op, domain, opset).
Expected<ImportedModel> import_onnx_file(const std::string& path, const ImportOptions& options = {});
Expected<ImportedModel> import_onnx_model(onnx::ModelProto model, const std::string& model_dir,
                                          const ImportOptions& options = {});

}  // namespace kiln
