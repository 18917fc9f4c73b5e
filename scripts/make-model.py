#!/usr/bin/env python3
"""Writes a random-weight llama GGUF of a real shape (weights N(0, 0.02), norms 1)
with the Llama-2 SPM vocabulary copied from ../shared/vocab/ggml-vocab-llama-spm.gguf.

  scripts/make-model.py smol135m --type f16 --out models/smol135m-f16.gguf [--seed 0] [--layers N]
"""
import argparse
import os
import sys

import numpy as np
import gguf

SHAPES = {  # n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab
    "smol135m": (576, 30, 9, 3, 1536, 32000),
    "tinyllama": (2048, 22, 32, 4, 5632, 32000),
    "llama7b": (4096, 32, 32, 32, 11008, 32000),
}
TYPES = {"f32": (gguf.GGMLQuantizationType.F32, 0), "f16": (gguf.GGMLQuantizationType.F16, 1),
         "bf16": (gguf.GGMLQuantizationType.BF16, 32)}
HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.join(HERE, "..", "..", "shared", "vocab", "ggml-vocab-llama-spm.gguf")


def copy_tokenizer(writer, path):
    reader = gguf.GGUFReader(path)
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        value = field.contents()
        if vtype == gguf.GGUFValueType.ARRAY:
            writer.add_array(name, value)
        else:
            writer.add_key_value(name, value, vtype)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("--type", default="f16", choices=sorted(TYPES))
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int, help="override the layer count (small test models)")
    ap.add_argument("--vocab", default=VOCAB)
    args = ap.parse_args()
    n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab = SHAPES[args.shape]
    if args.layers is not None:
        if args.layers < 1:
            sys.exit("make-model.py: --layers must be >= 1")
        n_layer = args.layers
    qtype, ftype = TYPES[args.type]
    head_dim = n_embd // n_head
    rng = np.random.default_rng(args.seed)

    w = gguf.GGUFWriter(args.out, "llama")
    w.add_name(f"{args.shape} (random weights, not a trained model)")
    w.add_file_type(ftype)
    w.add_vocab_size(n_vocab)
    w.add_context_length(4096 if args.shape != "smol135m" else 8192)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    copy_tokenizer(w, args.vocab)

    def add(name, shape):  # numpy shape = ggml ne reversed
        if len(shape) == 1:
            data = np.ones(shape, dtype=np.float32)
            w.add_tensor(name, data)
            return
        data = rng.normal(0.0, 0.02, size=shape).astype(np.float32)
        if qtype == gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, data)
        elif qtype == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, data.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    kv = n_head_kv * head_dim
    add("token_embd.weight", (n_vocab, n_embd))
    for i in range(n_layer):
        add(f"blk.{i}.attn_norm.weight", (n_embd,))
        add(f"blk.{i}.attn_q.weight", (n_embd, n_embd))
        add(f"blk.{i}.attn_k.weight", (kv, n_embd))
        add(f"blk.{i}.attn_v.weight", (kv, n_embd))
        add(f"blk.{i}.attn_output.weight", (n_embd, n_embd))
        add(f"blk.{i}.ffn_norm.weight", (n_embd,))
        add(f"blk.{i}.ffn_gate.weight", (n_ff, n_embd))
        add(f"blk.{i}.ffn_up.weight", (n_ff, n_embd))
        add(f"blk.{i}.ffn_down.weight", (n_embd, n_ff))
    add("output_norm.weight", (n_embd,))
    add("output.weight", (n_vocab, n_embd))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()


if __name__ == "__main__":
    main()
