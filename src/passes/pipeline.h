// The build pass pipeline, in one readable place. Each pass lives in its own
// file and keeps the graph valid (verify_graph holds after every pass; the
// tests check it).
#pragma once

#include "base/limits.h"
#include "base/status.h"
#include "ir/graph.h"

namespace kiln {

struct PassOptions {
  bool fp16 = false;
  bool fuse = true;  // fused layers (kiln.FusedConv, FusedMatMul, FusedSoftmax, FusedLayerNorm)
  Limits limits;
};

Status run_build_passes(Graph& graph, const PassOptions& options);

// The individual passes (each in its own .cpp).
Status fold_constants(Graph& graph, const Limits& limits);  // constant_folding.cpp
Status materialize_outputs(Graph& graph);                   // materialize_outputs.cpp
Status convert_to_fp16(Graph& graph);                       // precision_fp16.cpp
// Whether --fp16 turns this float32 input of `node` into float16.
bool fp16_converts_input(const Node& node, size_t input);
Status fold_batchnorm(Graph& graph);                        // fold_batchnorm.cpp
Status fuse_gelu(Graph& graph);                             // fuse_gelu.cpp
Status fuse_conv(Graph& graph);                             // fuse_conv.cpp
Status fuse_matmul(Graph& graph);                           // fuse_matmul.cpp
Status fold_matmul_operands(Graph& graph);                  // fold_matmul_operands.cpp
Status fuse_softmax(Graph& graph);                          // fuse_softmax.cpp
// fp16: the graph will run in float16 (--fp16); attention fuses only in reduced precision.
Status fuse_attention(Graph& graph, bool fp16);             // fuse_attention.cpp
Status fuse_layernorm(Graph& graph);                        // fuse_layernorm.cpp

}  // namespace kiln
