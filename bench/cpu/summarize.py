#!/usr/bin/env python3
"""Summarizes bench_cpu_matmul JSON output: per-type kernel GB/s and GFLOP/s,
and the matmul-only time of one smol135m forward pass (30 layers + output head)
for the llama-quantize recipes, as a tokens/s upper bound.

usage: bench_cpu_matmul --benchmark_filter=/best --benchmark_format=json > out.json
       summarize.py out.json [--cpu-time]

--cpu-time uses the benchmark thread's CPU time instead of wall time (useful
only as a rough proxy on a loaded machine; it ignores the second thread).
"""
import json
import sys

LAYERS = 30
# smol135m: n_embd 576, 576-wide rows cannot be K-quants (llama-quantize falls
# back: Q4_K -> Q5_0, Q6_K -> Q8_0; quant-formats.md §8), ffn_down rows are 1536.
MORE_BITS = [i for i in range(LAYERS)
             if i < LAYERS // 8 or i >= 7 * LAYERS // 8 or (i - LAYERS // 8) % 3 == 2]


def recipe(name):
    """Per-layer {shape: type} list (one dict per layer) and the output type."""
    layers = []
    for i in range(LAYERS):
        if name in ("q4_0", "q8_0", "f16", "q4_1", "q5_0", "q5_1"):
            t = name
            layers.append({s: t for s in ("attn_q", "attn_k", "attn_v", "attn_out",
                                          "ffn_gate", "ffn_up", "ffn_down")})
        elif name == "q4_K_M":
            mb = i in MORE_BITS
            layers.append({"attn_q": "q5_0", "attn_k": "q5_0", "attn_v": "q8_0" if mb else "q5_0",
                           "attn_out": "q5_0", "ffn_gate": "q5_0", "ffn_up": "q5_0",
                           "ffn_down": "q6_K" if mb else "q4_K"})
    out = {"q8_0": "q8_0", "f16": "f16"}.get(name, "q8_0")  # Q6_K head -> Q8_0 fallback
    return layers, out


def main():
    data = json.load(open(sys.argv[1]))
    use_cpu = "--cpu-time" in sys.argv
    t = {}
    print("| kernel | tokens | threads | time us | GB/s | GFLOP/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for b in data["benchmarks"]:
        typ, shape, tok, th, _isa = b["name"].split("/")[:5]
        key = (typ, shape, int(tok[1:]), int(th[2:]))
        us = b["cpu_time"] if use_cpu else b["real_time"]
        t[key] = us
        if shape in ("ffn_up", "ffn_down"):
            scale = b["real_time"] / us
            print(f"| {typ} {shape} | {key[2]} | {key[3]} | {us:.0f} | "
                  f"{b['GB/s'] * scale:.2f} | {b['GFLOP/s'] * scale:.2f} |")
    print()
    print("| recipe | threads | tg (tok/s, matmul only) | pp128 (tok/s, matmul only) |")
    print("|---|---:|---:|---:|")
    for name in ("q4_0", "q8_0", "q4_K_M", "f16", "q4_1", "q5_0", "q5_1"):
        layers, out = recipe(name)
        for th in (1, 2):
            res = []
            for tok in (1, 128):
                try:
                    total = sum(t[(typ, s, tok, th)] for lay in layers for s, typ in lay.items())
                    total += t[(out, "output", tok, th)]
                    res.append(f"{tok * 1e6 / total:.0f}")
                except KeyError as e:
                    res.append(f"(missing {e})")
            print(f"| {name} | {th} | {res[0]} | {res[1]} |")


if __name__ == "__main__":
    main()
