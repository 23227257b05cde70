#!/usr/bin/env python3
"""PyTorch baselines for the Kiln benchmark, measured on the same GPU in the
same run: eager fp16, CUDA-graph replay, and torch.compile (inductor,
--compile-mode, replayed from a CUDA graph) where its compile time fits.
ResNet-50 (224x224, channels_last) and BERT-base (sequence 128).

Usage: torch_baseline.py --model resnet50|bert --batches 1,32,256 [--compile [--compile-mode M]]
       [--kernel-profile N] --json OUT.json
Times are medians of CUDA-event-timed iterations after warm-up. --kernel-profile prints the N
GPU kernels that take the most time in one replay of the fastest variant (torch.profiler), to
compare with `kiln bench --dumpProfile` layer by layer.
"""
import argparse
import json
import statistics
import time

import torch


def build(name):
    torch.manual_seed(0)
    if name == "resnet50":
        import torchvision
        m = torchvision.models.resnet50(weights=None)
        return m.eval().half().cuda().to(memory_format=torch.channels_last)
    from transformers import BertConfig, BertModel
    m = BertModel(BertConfig(), add_pooling_layer=True)
    return m.eval().half().cuda()


def make_inputs(name, batch):
    if name == "resnet50":
        x = torch.randn(batch, 3, 224, 224, device="cuda").half().contiguous(memory_format=torch.channels_last)
        return (x,)
    ids = torch.randint(0, 30522, (batch, 128), device="cuda")
    mask = torch.ones(batch, 128, dtype=torch.int64, device="cuda")
    return (ids, mask)


def call(model, name, inputs):
    if name == "resnet50":
        return model(*inputs)
    return model(input_ids=inputs[0], attention_mask=inputs[1]).last_hidden_state


def time_fn(fn, warmup=20, iters=100):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return statistics.median(times)


def graph_replay(model, name, inputs):
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            call(model, name, inputs)
    torch.cuda.current_stream().wait_stream(stream)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        call(model, name, inputs)
    return g.replay


def print_kernel_profile(replay, top):
    from torch.profiler import ProfilerActivity, profile
    iters = 10
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            replay()
        torch.cuda.synchronize()
    rows = [e for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA]
    rows.sort(key=lambda e: e.device_time_total, reverse=True)
    total = sum(e.device_time_total for e in rows) / iters / 1000
    print(f"kernel profile: {total:.3f} ms of GPU time per replay", flush=True)
    for e in rows[:top]:
        print(f"  {e.device_time_total / iters / 1000:8.4f} ms {e.count // iters:4d}x  {e.key[:110]}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batches", default="1")
    ap.add_argument("--compile", action="store_true")
    # max-autotune's compile takes minutes per batch size; the default mode fits one device call.
    ap.add_argument("--compile-mode", default="default")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--kernel-profile", type=int, default=0, metavar="N")
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    model = build(args.model)
    results = []
    compiled = None
    for batch in [int(b) for b in args.batches.split(",")]:
        inputs = make_inputs(args.model, batch)
        row = {"model": args.model, "batch": batch}
        with torch.inference_mode():
            row["eager_ms"] = time_fn(lambda: call(model, args.model, inputs), iters=args.iters)
            replay = graph_replay(model, args.model, inputs)
            row["cudagraph_ms"] = time_fn(replay, iters=args.iters)
            del replay
            if args.compile:
                try:
                    if compiled is None:
                        compiled = torch.compile(model, mode=args.compile_mode, dynamic=False)
                    t0 = time.time()
                    call(compiled, args.model, inputs)
                    torch.cuda.synchronize()
                    row["compile_s"] = time.time() - t0
                    # Replayed from a CUDA graph like the other two columns, so
                    # launch overhead does not decide small batches.
                    replay = graph_replay(compiled, args.model, inputs)
                    row["compile_ms"] = time_fn(replay, iters=args.iters)
                    if args.kernel_profile:
                        print_kernel_profile(replay, args.kernel_profile)
                    del replay
                except Exception as e:  # report, keep the other numbers
                    row["compile_error"] = f"{type(e).__name__}: {e}"[:300]
        print(json.dumps(row), flush=True)
        results.append(row)
        torch.cuda.empty_cache()
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
