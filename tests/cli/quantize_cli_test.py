#!/usr/bin/env python3
"""CLI test of `kiln quantize` (ctest cli_quantize), checked with gguf-py.

- golden: `kiln quantize --pure random-llama-F32.gguf OUT T` for the 12 types of
  ../shared/golden/random-llama (made with `llama-quantize --pure` from that F32
  file): every tensor's type and bytes, every metadata key and value, and the
  whole file (sha256) equal the golden file of type T.
- mix: a 2-layer smol135m-shaped F16 model (scripts/make-model.py, 576-wide rows)
  quantized to Q4_K_M: each tensor's type follows llama-quantize's rules (written
  out below by hand), metadata kept, general.file_type 15, values close to the
  source (gguf-py dequantize); --dry-run writes nothing.
- errors: unknown type, missing TYPE, bad -t, missing or malformed input, missing
  output directory, requantizing without --allow-requantize: exit 1 or 2 (never a
  signal or a sanitizer report), `kiln: error: ...` on stderr, no OUT left behind.
"""
import argparse
import hashlib
import os
import pathlib
import subprocess
import sys

import gguf
import numpy as np
from gguf.quants import dequantize

ENV = dict(os.environ,
           ASAN_OPTIONS="exitcode=86:abort_on_error=0",
           UBSAN_OPTIONS="exitcode=87:halt_on_error=1:print_stacktrace=1")
GOLDEN_TYPES = ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
                "F16", "BF16"]
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def quantize(kiln, *args):
    return subprocess.run([kiln, "quantize", *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=900)


def no_crash(res, what):
    check(res.returncode in (0, 1, 2), f"{what}: exit code {res.returncode} (signal/sanitizer?)")
    check("Sanitizer" not in res.stderr and "runtime error" not in res.stderr,
          f"{what}: sanitizer report:\n{res.stderr[-2000:]}")


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def field_value(field):
    if field.types and field.types[0] == gguf.GGUFValueType.ARRAY:
        return list(field.contents())
    return field.contents()


def tensor_bytes(reader, t):
    return bytes(reader.data[t.data_offset:t.data_offset + t.n_bytes])


def check_golden(kiln, golden_dir, work):
    src = golden_dir / "random-llama-F32.gguf"
    for typ in GOLDEN_TYPES:
        want_path = golden_dir / f"random-llama-{typ}.gguf"
        out = work / f"pure-{typ}.gguf"
        res = quantize(kiln, "--pure", "-t", "2", src, out, typ.lower())
        no_crash(res, f"golden {typ}")
        if not check(res.returncode == 0, f"golden {typ}: exit {res.returncode}: {res.stderr}"):
            continue
        progress = [l for l in res.stderr.splitlines() if l.startswith("[")]
        check(len(progress) == 21, f"golden {typ}: {len(progress)} progress lines, want 21")
        check("bpw" in res.stdout, f"golden {typ}: no summary on stdout: {res.stdout!r}")
        got, want = gguf.GGUFReader(out), gguf.GGUFReader(want_path)
        check(list(got.fields) == list(want.fields), f"golden {typ}: metadata keys/order differ")
        for key, field in want.fields.items():
            if key in got.fields:
                check(field_value(got.fields[key]) == field_value(field),
                      f"golden {typ}: metadata {key} differs")
        got_t = {t.name: t for t in got.tensors}
        check(len(got_t) == len(want.tensors), f"golden {typ}: tensor count")
        for w in want.tensors:
            g = got_t.get(w.name)
            if not check(g is not None, f"golden {typ}: {w.name} missing"):
                continue
            check(g.tensor_type == w.tensor_type,
                  f"golden {typ}: {w.name} type {g.tensor_type.name}, want {w.tensor_type.name}")
            check(tensor_bytes(got, g) == tensor_bytes(want, w), f"golden {typ}: {w.name} bytes")
        check(sha256(out) == sha256(want_path), f"golden {typ}: file differs from llama-quantize's")
        out.unlink()


def expected_q4_k_m(name):
    """llama-quantize Q4_K_M on 2 layers of 576-wide rows (no K-quant fits 576;
    1536-wide ffn_down rows do). use_more_bits(i, 2) is true for layer 1 only."""
    Q = gguf.GGMLQuantizationType
    if name.endswith("norm.weight"):
        return Q.F32
    if name == "output.weight":  # Q6_K, but 576 % 256 != 0 -> Q8_0
        return Q.Q8_0
    if name == "token_embd.weight":  # untied: the base type, Q4_K -> Q5_0
        return Q.Q5_0
    layer = int(name.split(".")[1])
    if name.endswith("attn_v.weight"):  # Q6_K (layer 1) -> Q8_0; Q4_K -> Q5_0
        return Q.Q8_0 if layer == 1 else Q.Q5_0
    if name.endswith("ffn_down.weight"):
        return Q.Q6_K if layer == 1 else Q.Q4_K
    return Q.Q5_0  # Q4_K does not fit 576


# Relative RMS error bounds of the round trip on N(0, 0.02) weights.
ERROR_BOUND = {"F32": 0, "Q8_0": 0.01, "Q6_K": 0.03, "Q5_0": 0.06, "Q4_K": 0.12}


def check_mix(kiln, make_model, work):
    src = work / "smol-f16.gguf"
    subprocess.run([sys.executable, make_model, "smol135m", "--layers", "2", "--type", "f16",
                    "--out", str(src)], check=True)
    dry = quantize(kiln, "--dry-run", src, "Q4_K_M")
    no_crash(dry, "dry run")
    check(dry.returncode == 0 and "planned" in dry.stdout, f"dry run: {dry.stdout} {dry.stderr}")
    out = work / "smol-Q4_K_M.gguf"
    res = quantize(kiln, src, out, "Q4_K_M")
    no_crash(res, "mix")
    if not check(res.returncode == 0, f"mix: exit {res.returncode}: {res.stderr}"):
        return
    check("fall back" in res.stdout or "fell back" in res.stdout, f"mix: summary {res.stdout!r}")
    got, want = gguf.GGUFReader(out), gguf.GGUFReader(src)
    check(got.fields["general.file_type"].contents() == 15, "mix: general.file_type != 15")
    check(got.fields["general.quantization_version"].contents() == 2, "mix: quantization_version")
    for key, field in want.fields.items():
        if key != "general.file_type" and not key.startswith("GGUF."):
            check(key in got.fields and field_value(got.fields[key]) == field_value(field),
                  f"mix: metadata {key} not kept")
    src_t = {t.name: t for t in want.tensors}
    check(len(got.tensors) == len(src_t), "mix: tensor count")
    for t in got.tensors:
        want_type = expected_q4_k_m(t.name)
        if not check(t.tensor_type == want_type,
                     f"mix: {t.name}: {t.tensor_type.name}, want {want_type.name}"):
            continue
        s = src_t[t.name]
        check(list(t.shape) == list(s.shape), f"mix: {t.name} shape")
        a = dequantize(t.data, t.tensor_type).astype(np.float64).ravel()
        b = dequantize(s.data, s.tensor_type).astype(np.float64).ravel()
        err = np.sqrt(np.mean((a - b) ** 2)) / max(np.sqrt(np.mean(b ** 2)), 1e-30)
        check(err <= ERROR_BOUND[t.tensor_type.name],
              f"mix: {t.name}: relative RMS error {err:.4f} > {ERROR_BOUND[t.tensor_type.name]}")


def check_errors(kiln, golden_dir, work):
    src = golden_dir / "random-llama-F32.gguf"
    malformed = work / "malformed.gguf"
    malformed.write_bytes(b"GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x7f")
    out = work / "err-out.gguf"
    cases = [
        ("unknown type", [src, out, "Q4_K_X"], 2, "unknown type 'Q4_K_X'"),
        ("unsupported type", [src, out, "IQ2_XXS"], 2, "cannot produce"),
        ("missing TYPE", [src, out], 2, "missing TYPE"),
        ("bad threads", ["-t", "0", src, out, "Q4_0"], 2, ""),
        ("missing input", [work / "nope.gguf", out, "Q4_0"], 1, "nope.gguf"),
        ("malformed input", [malformed, out, "Q4_0"], 1, "malformed.gguf"),
        ("missing out dir", [src, work / "no" / "dir" / "x.gguf", "Q4_0"], 1, "does not exist"),
        ("out is a directory", [src, work, "Q4_0"], 1, "is a directory"),
        ("requantize", [golden_dir / "random-llama-Q8_0.gguf", out, "Q4_0"], 1,
         "--allow-requantize"),
    ]
    for what, args, code, message in cases:
        res = quantize(kiln, *args)
        no_crash(res, what)
        check(res.returncode == code, f"{what}: exit {res.returncode}, want {code}: {res.stderr}")
        if code == 1:
            check(res.stderr.startswith("kiln: error: "), f"{what}: stderr {res.stderr!r}")
        check(message in res.stderr, f"{what}: {message!r} not in {res.stderr!r}")
        check(res.stdout == "", f"{what}: stdout {res.stdout!r}")
        check(not out.exists() and not pathlib.Path(str(out) + ".tmp").exists(),
              f"{what}: output left behind")
    res = subprocess.run([kiln, "quantize", "--help"], capture_output=True, text=True, env=ENV)
    check(res.returncode == 0, f"--help: exit {res.returncode}")
    for word in ["Q4_K_M", "IQ4_XS", "--pure", "--allow-requantize", "--threads", "falls back"]:
        check(word in res.stdout, f"--help: {word!r} missing")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--make-model", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    golden_dir = pathlib.Path(args.shared) / "golden" / "random-llama"
    check_errors(args.kiln, golden_dir, work)
    check_golden(args.kiln, golden_dir, work)
    check_mix(args.kiln, args.make_model, work)
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
