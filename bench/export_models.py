#!/usr/bin/env python3
"""Exports the reference models Kiln is measured on (random weights, seeded):
torchvision ResNet-50 and Hugging Face BERT-base, each with both exporters of
torch.onnx.export (TorchScript at opset 17, and dynamo=True at its default
opset), batch dimension dynamic. Also saves the PyTorch outputs for fixed
inputs so later steps compare against PyTorch without re-running it.

Usage: export_models.py OUT_DIR [--models resnet50,bert] [--batch N]
Writes OUT_DIR/<model>_<exporter>.onnx, OUT_DIR/<model>_inputs.npz,
OUT_DIR/<model>_torch_outputs.npz.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch


def resnet50():
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None).eval()
    # Random BN statistics make the network numerically non-trivial.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


def bert():
    from transformers import BertConfig, BertModel
    torch.manual_seed(0)
    config = BertConfig()  # bert-base: 12 layers, hidden 768, 12 heads
    return BertModel(config, add_pooling_layer=True).eval()


class BertWrapper(torch.nn.Module):
    """Fixed (input_ids, attention_mask) signature, last hidden state out."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def inputs_for(name, batch):
    g = torch.Generator().manual_seed(1)
    if name == "resnet50":
        return {"input": torch.randn(batch, 3, 224, 224, generator=g)}
    ids = torch.randint(0, 30522, (batch, 128), generator=g)
    mask = torch.ones(batch, 128, dtype=torch.int64)
    mask[:, 100:] = 0  # some padding so the mask matters
    return {"input_ids": ids, "attention_mask": mask}


def export(name, model, inputs, path, dynamo):
    names = list(inputs)
    args = tuple(inputs.values())
    out_name = "logits" if name == "resnet50" else "last_hidden_state"
    t0 = time.time()
    if dynamo:
        batch = torch.export.Dim("batch", min=1, max=1024)
        shapes = tuple({0: batch} for _ in names)  # positional: arg names differ from input names
        prog = torch.onnx.export(model, args, dynamo=True, input_names=names, output_names=[out_name],
                                 dynamic_shapes=shapes)
        prog.save(path)
    else:
        axes = {k: {0: "batch"} for k in names + [out_name]}
        torch.onnx.export(model, args, path, dynamo=False, opset_version=17, input_names=names,
                          output_names=[out_name], dynamic_axes=axes)
    print(f"exported {path} ({os.path.getsize(path) / 1e6:.1f} MB, {time.time() - t0:.1f} s)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--models", default="resnet50,bert")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--exporters", default="ts,dynamo")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for name in args.models.split(","):
        model = resnet50() if name == "resnet50" else bert()
        wrapped = model if name == "resnet50" else BertWrapper(model).eval()
        inputs = inputs_for(name, args.batch)
        np.savez(os.path.join(args.out_dir, f"{name}_inputs.npz"), **{k: v.numpy() for k, v in inputs.items()})
        with torch.no_grad():
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
            ref = wrapped(*inputs.values()).numpy()
        np.savez(os.path.join(args.out_dir, f"{name}_torch_outputs.npz"), out=ref)
        for exporter in args.exporters.split(","):
            path = os.path.join(args.out_dir, f"{name}_{exporter}.onnx")
            try:
                export(name, wrapped, inputs, path, dynamo=(exporter == "dynamo"))
            except Exception as e:  # report and go on with the other exports
                print(f"EXPORT FAILED {name} {exporter}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
