// The op families. Adding a family is one line here and one in families.cpp.
#pragma once

#include "ops/op_schema.h"

namespace kiln {

void register_elementwise_ops(OpRegistry& r);   // unary/binary math, logic, Where, Cast, Clip
void register_activation_ops(OpRegistry& r);    // Relu, Sigmoid, Gelu, ... PRelu
void register_conv_ops(OpRegistry& r);          // Conv, ConvTranspose
void register_pool_ops(OpRegistry& r);          // Max/Average/Global pools
void register_resize_ops(OpRegistry& r);        // Resize, Pad, DepthToSpace, SpaceToDepth
void register_norm_ops(OpRegistry& r);          // Batch/Layer/Instance/Group/RMS normalization
void register_reduce_ops(OpRegistry& r);        // Reduce*, ArgMax/Min, Softmax, LogSoftmax, TopK, CumSum
void register_matmul_ops(OpRegistry& r);        // MatMul, Gemm, Einsum, Attention
void register_shape_ops(OpRegistry& r);         // Reshape, Transpose, Concat, Slice, Shape, ...
void register_index_ops(OpRegistry& r);         // Gather*, Scatter*, OneHot, NonZero, Trilu, NMS
void register_quant_ops(OpRegistry& r);         // QuantizeLinear, DequantizeLinear
void register_fused_ops(OpRegistry& r);         // kiln.FusedConv, kiln.FusedMatMul, kiln.Reformat
void register_fused_norm_ops(OpRegistry& r);    // kiln.FusedLayerNorm
void register_fused_softmax_ops(OpRegistry& r); // kiln.FusedSoftmax
void register_fused_attention_ops(OpRegistry& r);  // kiln.FusedAttention

}  // namespace kiln
