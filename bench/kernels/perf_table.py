#!/usr/bin/env python3
"""Markdown tables for docs/perf.md from a kernel_bench JSON.

Usage: perf_table.py RESULT.json [--model llama7b] [--variants]
Prints: 1-column decode (GB/s of GGUF weight bytes, % of the measured copy
bandwidth, % of the streaming-read ceiling) and 512-column GEMM (TFLOP/s,
% of cuBLAS dense BF16 on the same shape), each beside the issue's target.
Rows of a --variants sweep: the tables use variant 0 (automatic); with
--variants, one more table: % of copy bandwidth of every variant at 1 column.
"""
import json
import sys

TARGET_1 = {"f16": 75, "q4_0": 75, "q4_K": 75, "q8_0": 75}
TARGET_512 = {"f16": 60, "bf16": 60, "q4_0": 50, "q4_1": 50, "q4_K": 50}
ORDER = ["f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_K", "q3_K", "q4_K",
         "q5_K", "q6_K"]


def main():
    path = sys.argv[1]
    model = sys.argv[sys.argv.index("--model") + 1] if "--model" in sys.argv else "llama7b"
    d = json.load(open(path))
    allres = [r for r in d["results"] if r["model"] == model]
    res = [r for r in allres if r.get("variant", 0) == 0]
    shapes = []
    for r in res:
        if (r["rows"], r["k"]) not in shapes:
            shapes.append((r["rows"], r["k"]))
    hdr = " | ".join(f"{m}x{k}" for m, k in shapes)
    print(f"Copy bandwidth {d['copy_bw_gbs']:.0f} GB/s, {d['device']}, failures {d['failures']}\n")
    print("1 column: GB/s (% of copy BW / % of read ceiling); target = % of copy BW\n")
    print(f"| type | target | {hdr} |")
    print("|---|---|" + "---|" * len(shapes))
    for t in ORDER:
        cells = []
        for s in shapes:
            m = [r for r in res if r["type"] == t and (r["rows"], r["k"]) == s and
                 r["ncols"] == 1 and r["route"] == "decode"]
            if not m:
                cells.append("-")
                continue
            r = m[0]
            rc = 100 * r["read_ceiling_us"] / r["us"] if r.get("read_ceiling_us") else 0
            ok = "" if r["pct_copy_bw"] >= TARGET_1.get(t, 60) else " ✗"
            cells.append(f"{r['weight_gbs']:.0f} ({r['pct_copy_bw']:.0f}% / {rc:.0f}%){ok}")
        print(f"| {t} | {TARGET_1.get(t, 60)}% | " + " | ".join(cells) + " |")
    print("\n512 columns: TFLOP/s (% of cuBLAS dense BF16, same shape)\n")
    print(f"| type | target | {hdr} |")
    print("|---|---|" + "---|" * len(shapes))
    for t in ORDER:
        cells = []
        for s in shapes:
            m = [r for r in res if r["type"] == t and (r["rows"], r["k"]) == s and
                 r["ncols"] == 512 and r["route"] == "gemm"]
            if not m:
                cells.append("-")
                continue
            r = m[0]
            pct = 100 * r["tflops"] / r["cublas_bf16_tflops"]
            tgt = TARGET_512.get(t)
            ok = "" if tgt is None or pct >= tgt else " ✗"
            cells.append(f"{r['tflops']:.0f} ({pct:.0f}%){ok}")
        tgt = TARGET_512.get(t)
        print(f"| {t} | {str(tgt) + '%' if tgt else '-'} | " + " | ".join(cells) + " |")


    if "--variants" in sys.argv:
        variants = sorted({r.get("variant", 0) for r in allres if r["ncols"] == 1})
        print("\n1 column by decode variant: % of copy BW (best marked *)\n")
        print("| type | shape | " + " | ".join(f"v{v}" for v in variants) + " |")
        print("|---|---|" + "---|" * len(variants))
        for t in ORDER:
            for s in shapes:
                m = {r.get("variant", 0): r for r in allres if r["type"] == t and
                     (r["rows"], r["k"]) == s and r["ncols"] == 1 and r["route"] == "decode"}
                if not m:
                    continue
                best = max(m, key=lambda v: m[v]["pct_copy_bw"] if m[v]["pass"] else -1)
                cells = [("-" if v not in m else f"{m[v]['pct_copy_bw']:.0f}" +
                          ("*" if v == best else "") + ("" if m[v]["pass"] else " FAIL"))
                         for v in variants]
                print(f"| {t} | {s[0]}x{s[1]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
