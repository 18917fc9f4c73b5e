#!/usr/bin/env python3
"""Markdown tables for docs/perf.md from kernel_bench JSON files.

Prints: 1-column decode (GB/s of GGUF weight bytes, % of the measured copy
bandwidth, % of the streaming-read ceiling) and 512-column GEMM (TFLOP/s,
% of cuBLAS dense BF16 on the same shape), each beside the issue's target.
Several JSON files are merged (the copy bandwidth of the first is used).
--x: the decode rows of that activation type (kernel_bench --x; default f32).
--y: the rows of that output type (kernel_bench --y; default f32; rows of files
from before --y existed are F32).
Rows of a --variants sweep: the tables use variant 0 (automatic); with
--variants, one more table: % of copy bandwidth of every variant at 1 column.
--layer: one llama7b layer at 1 column (Q, K, V, O, gate, up, down), as seven
launches and with Q/K/V fused into 12288x4096 and gate/up into 22016x4096
(needs those shapes, e.g. kernel_bench --shapes 12288x4096,22016x4096).
"""
import argparse
import json
import sys

TARGET_1 = {"f16": 75, "q4_0": 75, "q4_K": 75, "q8_0": 75}
TARGET_512 = {"f16": 60, "bf16": 60, "q4_0": 50, "q4_1": 50, "q4_K": 50}
ORDER = ["f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_K", "q3_K", "q4_K",
         "q5_K", "q6_K"]


# One llama7b layer: (rows, k, count) per launch, seven launches or fused.
LAYER_SEPARATE = [(4096, 4096, 4), (11008, 4096, 2), (4096, 11008, 1)]
LAYER_FUSED = [(12288, 4096, 1), (4096, 4096, 1), (22016, 4096, 1), (4096, 11008, 1)]


def layer_table(results, copy_bw, xtype, ytype="f32"):
    """Prints us, GB/s and % of copy bandwidth of one llama7b layer per type."""
    def find(t, rows, k):
        m = [r for r in results if r["type"] == t and r["rows"] == rows and r["k"] == k and
             r["ncols"] == 1 and r["route"] == "decode" and r.get("variant", 0) == 0 and
             r.get("x", "f32") == xtype and r.get("y", "f32") == ytype]
        return m[0] if m else None

    print(f"\nOne llama7b layer at 1 column, x {xtype}, y {ytype}: us, GB/s (% of copy BW)\n")
    print("| type | bytes | seven launches | Q/K/V and gate/up fused |")
    print("|---|---|---|---|")
    for t in ORDER:
        cells = []
        nbytes = 0
        for plan in (LAYER_SEPARATE, LAYER_FUSED):
            rs = [(find(t, rows, k), n) for rows, k, n in plan]
            if any(r is None for r, _ in rs):
                cells.append("-")
                continue
            us = sum(r["us"] * n for r, n in rs)
            nbytes = sum(r["weight_bytes"] * n for r, n in rs)
            gbs = nbytes / us / 1e3
            cells.append(f"{us:.2f} us, {gbs:.0f} ({100 * gbs / copy_bw:.1f}%)")
        if cells != ["-", "-"]:
            print(f"| {t} | {nbytes / 1e6:.1f} MB | " + " | ".join(cells) + " |")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+", help="kernel_bench --json output")
    ap.add_argument("--model", default="llama7b", help="shape set of the tables (default llama7b)")
    ap.add_argument("--x", default="f32", choices=["f32", "q8"],
                    help="decode rows of this activation type (kernel_bench --x)")
    ap.add_argument("--y", default="f32", choices=["f32", "f16", "bf16"],
                    help="rows of this output type (kernel_bench --y)")
    ap.add_argument("--variants", action="store_true",
                    help="one more table: %% of copy BW of every variant at 1 column")
    ap.add_argument("--layer", action="store_true",
                    help="one llama7b layer at 1 column, seven launches and fused")
    return ap.parse_args(argv)


def load(paths):
    """The merged results of the JSON files; exits with a message on a bad file."""
    d = None
    for p in paths:
        try:
            with open(p) as f:
                more = json.load(f)
            if d is None:
                d = more
            else:
                d["results"] += more["results"]
                d["failures"] += more["failures"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            sys.exit(f"perf_table.py: {p}: not a kernel_bench JSON file ({e})")
    return d


def find(res, t, shape, ncols, route):
    """The first row of type t, shape (rows, k), ncols and route, or None."""
    m = [r for r in res if r["type"] == t and (r["rows"], r["k"]) == shape and
         r["ncols"] == ncols and r["route"] == route]
    return m[0] if m else None


def type_table(title, shapes, target, cell):
    """A table of a row per type (ORDER) and a column per shape: target(t) is
    the type's target label, cell(t, shape) a cell's text or None."""
    print(title)
    print("| type | target | " + " | ".join(f"{m}x{k}" for m, k in shapes) + " |")
    print("|---|---|" + "---|" * len(shapes))
    for t in ORDER:
        cells = [cell(t, s) or "-" for s in shapes]
        print(f"| {t} | {target(t)} | " + " | ".join(cells) + " |")


def decode_cell(res, t, shape):
    r = find(res, t, shape, 1, "decode")
    if r is None:
        return None
    rc = 100 * r["read_ceiling_us"] / r["us"] if r.get("read_ceiling_us") else 0
    ok = "" if r["pct_copy_bw"] >= TARGET_1.get(t, 60) else " ✗"
    return f"{r['weight_gbs']:.0f} ({r['pct_copy_bw']:.0f}% / {rc:.0f}%){ok}"


def gemm_cell(res, t, shape):
    r = find(res, t, shape, 512, "gemm")
    if r is None:
        return None
    pct = 100 * r["tflops"] / r["cublas_bf16_tflops"]
    tgt = TARGET_512.get(t)
    ok = "" if tgt is None or pct >= tgt else " ✗"
    return f"{r['tflops']:.0f} ({pct:.0f}%){ok}"


def variants_table(allres, shapes):
    """% of copy bandwidth of every decode variant at 1 column (best marked *)."""
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


def main():
    args = parse_args(sys.argv[1:])
    d = load(args.json)
    if args.layer:
        layer_table(d["results"], d["copy_bw_gbs"], args.x, args.y)
        return
    # Rows of the chosen y type; decode rows of the chosen x type, GEMM rows (F32 x only) as they are.
    allres = [r for r in d["results"] if r["model"] == args.model and
              r.get("y", "f32") == args.y and
              (r["route"] != "decode" or r.get("x", "f32") == args.x)]
    res = [r for r in allres if r.get("variant", 0) == 0]
    shapes = list(dict.fromkeys((r["rows"], r["k"]) for r in res))
    print(f"Copy bandwidth {d['copy_bw_gbs']:.0f} GB/s, {d['device']}, failures {d['failures']}, "
          f"x {args.x}, y {args.y}\n")
    type_table("1 column: GB/s (% of copy BW / % of read ceiling); target = % of copy BW\n",
               shapes, lambda t: f"{TARGET_1.get(t, 60)}%",
               lambda t, s: decode_cell(res, t, s))
    type_table("\n512 columns: TFLOP/s (% of cuBLAS dense BF16, same shape)\n", shapes,
               lambda t: f"{TARGET_512[t]}%" if TARGET_512.get(t) else "-",
               lambda t, s: gemm_cell(res, t, s))
    if args.variants:
        variants_table(allres, shapes)


if __name__ == "__main__":
    main()
