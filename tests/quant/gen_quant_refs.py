#!/usr/bin/env python3
"""Writes reference data for the quant tests, computed by gguf-py (the
independent numpy implementation of ggml's formats).

usage: gen_quant_refs.py OUT_DIR GOLDEN_DIR

OUT_DIR/random/<TYPE>.blocks   random block bytes (finite half scales)
OUT_DIR/random/<TYPE>.deq      gguf-py dequantize of them, float32
OUT_DIR/quant/<TYPE>.src       random float32 rows
OUT_DIR/quant/<TYPE>.q         gguf-py quantize of them
OUT_DIR/golden/<VARIANT>/<tensor>.{bytes,deq}  random-llama tensors as stored and
                               gguf-py's dequantization of them
OUT_DIR/golden/F32/<tensor>.f32  the unquantized weights
OUT_DIR/manifest.txt           one line per case: kind type n_elements path_stem
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.quants import dequantize, quantize

# (type, block elements, block bytes, byte offsets of half-precision scale fields)
DEQUANT_TYPES = [
    ("F16", 1, 2, None), ("BF16", 1, 2, None),
    ("Q4_0", 32, 18, [0]), ("Q4_1", 32, 20, [0, 2]), ("Q5_0", 32, 22, [0]),
    ("Q5_1", 32, 24, [0, 2]), ("Q8_0", 32, 34, [0]),
    ("Q2_K", 256, 84, [80, 82]), ("Q3_K", 256, 110, [108]), ("Q4_K", 256, 144, [0, 2]),
    ("Q5_K", 256, 176, [0, 2]), ("Q6_K", 256, 210, [208]),
    ("IQ4_NL", 32, 18, [0]), ("IQ4_XS", 256, 136, [0]),
]
QUANT_TYPES = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]
N_BLOCKS = 64


def random_halves(rng, n):
    """Finite halves of both signs: normals over a wide exponent range, some
    subnormals and zeros."""
    exp = rng.integers(1, 31, size=n)            # normal exponents 1..30
    mant = rng.integers(0, 1024, size=n)
    sign = rng.integers(0, 2, size=n)
    bits = (sign << 15) | (exp << 10) | mant
    sub = rng.random(n) < 0.1                    # subnormals
    bits = np.where(sub, (sign << 15) | rng.integers(0, 1024, size=n), bits)
    zero = rng.random(n) < 0.03
    bits = np.where(zero, 0, bits)
    return bits.astype(np.uint16)


def random_blocks(rng, name, blk_elems, blk_bytes, half_offsets):
    n_elems = N_BLOCKS * 256 if blk_elems == 1 else N_BLOCKS * blk_elems
    n_blocks = n_elems // blk_elems
    raw = rng.integers(0, 256, size=(n_blocks, blk_bytes), dtype=np.uint8)
    if name == "F16":
        raw = random_halves(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    elif name == "BF16":
        f = rng.normal(0, 1, n_blocks).astype(np.float32) * np.float32(10.0) ** rng.integers(-30, 30, n_blocks).astype(np.float32)
        raw = (f.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8).reshape(n_blocks, 2)
    else:
        for off in half_offsets:
            h = random_halves(rng, n_blocks)
            raw[:, off:off + 2] = h.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(-1), n_elems


def write(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.ascontiguousarray(arr).tofile(path)


def main():
    out, golden = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(20261122)
    manifest = []
    for name, be, bb, halves in DEQUANT_TYPES:
        raw, n = random_blocks(rng, name, be, bb, halves)
        qt = T[name]
        deq = dequantize(raw, qt).astype(np.float32).reshape(-1)
        assert deq.size == n, name
        write(f"{out}/random/{name}.blocks", raw)
        write(f"{out}/random/{name}.deq", deq)
        manifest.append(f"dequant {name} {n} random/{name}")
    for name in QUANT_TYPES:
        # Rows with varied scales, some constant and zero blocks, exact ties.
        n = 4096
        x = rng.normal(0, 1, n).astype(np.float32) * np.repeat(
            np.float32(10.0) ** rng.uniform(-4, 3, n // 32).astype(np.float32), 32)
        x[0:32] = 0.0
        x[32:64] = 0.5
        x[64:96] = np.arange(32, dtype=np.float32) - 16.0
        x = x.astype(np.float32)
        if name == "F16":
            q = x.astype(np.float16).view(np.uint8)
        else:
            q = quantize(x.reshape(-1, 256), T[name]).reshape(-1)
        write(f"{out}/quant/{name}.src", x)
        write(f"{out}/quant/{name}.q", q)
        manifest.append(f"quantize {name} {n} quant/{name}")
    base = f"{golden}/random-llama/random-llama-"
    f32 = GGUFReader(base + "F32.gguf")
    for t in f32.tensors:
        if len(t.shape) >= 2:
            write(f"{out}/golden/F32/{t.name}.f32", np.asarray(t.data, dtype=np.float32).reshape(-1))
    for variant in ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K",
                    "Q4_K", "Q5_K", "Q6_K"]:
        r = GGUFReader(base + variant + ".gguf")
        for t in r.tensors:
            if t.tensor_type.name != variant:
                continue
            raw = np.asarray(t.data).view(np.uint8).reshape(-1)
            deq = dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32).reshape(-1)
            stem = f"golden/{variant}/{t.name}"
            write(f"{out}/{stem}.bytes", raw)
            write(f"{out}/{stem}.deq", deq)
            manifest.append(f"golden {variant} {int(t.n_elements)} {stem} {int(t.shape[0])}")
    with open(f"{out}/manifest.txt", "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
