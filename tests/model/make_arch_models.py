#!/usr/bin/env python3
"""Random-weight GGUF models of every supported architecture plus reference
logits from an independent float64 numpy forward pass written from
../shared/docs/model-architectures.md (not from kiln's code).

usage: make_arch_models.py OUT_DIR
writes OUT_DIR/{arch}.gguf, OUT_DIR/{arch}.logits.f32 ([T][n_vocab] float32)
and OUT_DIR/tokens.i32 (the T token ids, int32).
"""
import sys
from pathlib import Path

import numpy as np
import gguf

TOKENS = np.array([1, 17, 42, 5, 99, 63, 8, 27, 71, 33, 2, 90], dtype=np.int32)
N_VOCAB = 100


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, pos, n_rot, base, neox, freq_scale=1.0, factors=None):
    # x: [T][n_heads][head_dim]
    x = x.copy()
    k = np.arange(n_rot // 2)
    inv = base ** (-2.0 * k / n_rot)
    if factors is not None:
        inv = inv / factors
    theta = freq_scale * pos[:, None] * inv[None, :]  # [T][n_rot/2]
    c, s = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    if neox:
        a, b = x[..., k].copy(), x[..., k + n_rot // 2].copy()
        x[..., k], x[..., k + n_rot // 2] = a * c - b * s, a * s + b * c
    else:
        a, b = x[..., 2 * k].copy(), x[..., 2 * k + 1].copy()
        x[..., 2 * k], x[..., 2 * k + 1] = a * c - b * s, a * s + b * c
    return x


def attention(q, k, v, n_swa, scale):
    # q: [T][H][hd]; k, v: [T][Hkv][hd]
    T, H, hd = q.shape
    group = H // k.shape[1]
    out = np.zeros_like(q)
    for t in range(T):
        lo = max(0, t - n_swa + 1) if n_swa else 0
        for h in range(H):
            g = h // group
            s = scale * (k[lo:t + 1, g] @ q[t, h])
            p = np.exp(s - s.max())
            p /= p.sum()
            out[t, h] = p @ v[lo:t + 1, g]
    return out


class Spec:
    def __init__(self, arch, **kw):
        self.arch = arch
        self.n_embd, self.n_layer, self.n_head, self.n_head_kv = 64, 2, 4, 2
        self.head_dim, self.n_ff, self.n_rot = 16, 96, 16
        self.base, self.eps = 10000.0, 1e-5
        self.neox = arch != "llama"
        self.__dict__.update(kw)


def make(spec, out_dir, rng):
    s = spec
    w = gguf.GGUFWriter(str(out_dir / f"{s.arch}.gguf"), s.arch)
    a = s.arch
    w.add_uint32(f"{a}.context_length", 64)
    w.add_uint32(f"{a}.embedding_length", s.n_embd)
    w.add_uint32(f"{a}.block_count", s.n_layer)
    w.add_uint32(f"{a}.feed_forward_length", s.n_ff)
    w.add_uint32(f"{a}.attention.head_count", s.n_head)
    w.add_uint32(f"{a}.attention.head_count_kv", s.n_head_kv)
    w.add_uint32(f"{a}.attention.key_length", s.head_dim)
    w.add_uint32(f"{a}.attention.value_length", s.head_dim)
    w.add_uint32(f"{a}.rope.dimension_count", s.n_rot)
    w.add_float32(f"{a}.rope.freq_base", s.base)
    w.add_float32(f"{a}.attention.layer_norm_rms_epsilon", s.eps)
    if a == "gemma3":
        w.add_uint32("gemma3.attention.sliding_window", s.n_swa)
        w.add_uint32("gemma3.attention.sliding_window_pattern", s.pattern)
        w.add_float32("gemma3.rope.freq_base_swa", s.base_swa)
        w.add_float32("gemma3.final_logit_softcapping", s.softcap)

    def mat(name, rows, cols):
        m = rng.normal(0, 0.08, size=(rows, cols)).astype(np.float32)
        w.add_tensor(name, m)
        return m.astype(np.float64)

    def vec(name, n, mean=1.0, sd=0.1):
        v = (mean + rng.normal(0, sd, size=(n,))).astype(np.float32)
        w.add_tensor(name, v)
        return v.astype(np.float64)

    E, H, Hkv, hd, F = s.n_embd, s.n_head, s.n_head_kv, s.head_dim, s.n_ff
    qd, kvd = H * hd, Hkv * hd
    tok_embd = mat("token_embd.weight", N_VOCAB, E)
    out_norm = vec("output_norm.weight", E)
    output = tok_embd if s.tied else mat("output.weight", N_VOCAB, E)
    factors = None
    if a == "llama":
        factors = np.array([1.0, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0], dtype=np.float32)
        w.add_tensor("rope_freqs.weight", factors)
    T = len(TOKENS)
    pos = np.arange(T, dtype=np.float64)
    x = tok_embd[TOKENS] * (np.sqrt(np.float32(E)) if a == "gemma3" else 1.0)
    for il in range(s.n_layer):
        p = f"blk.{il}."
        attn_norm = vec(p + "attn_norm.weight", E)
        if a == "phi3":
            wqkv = mat(p + "attn_qkv.weight", qd + 2 * kvd, E)
            wq, wk, wv = wqkv[:qd], wqkv[qd:qd + kvd], wqkv[qd + kvd:]
        else:
            wq, wk, wv = mat(p + "attn_q.weight", qd, E), mat(p + "attn_k.weight", kvd, E), \
                mat(p + "attn_v.weight", kvd, E)
        bq = bk = bv = 0.0
        if a == "qwen2":
            bq, bk, bv = vec(p + "attn_q.bias", qd, 0, 0.1), vec(p + "attn_k.bias", kvd, 0, 0.1), \
                vec(p + "attn_v.bias", kvd, 0, 0.1)
        if a in ("qwen3", "gemma3"):
            q_norm, k_norm = vec(p + "attn_q_norm.weight", hd), vec(p + "attn_k_norm.weight", hd)
        wo = mat(p + "attn_output.weight", E, qd)
        if a == "gemma3":
            post_attn = vec(p + "post_attention_norm.weight", E)
        ffn_norm = vec(p + "ffn_norm.weight", E)
        if a == "phi3":
            gate_up = mat(p + "ffn_up.weight", 2 * F, E)
            wg, wu = gate_up[:F], gate_up[F:]
        else:
            wg, wu = mat(p + "ffn_gate.weight", F, E), mat(p + "ffn_up.weight", F, E)
        wd = mat(p + "ffn_down.weight", E, F)
        if a == "gemma3":
            post_ffw = vec(p + "post_ffw_norm.weight", E)

        h = rms_norm(x, attn_norm, s.eps)
        q = (h @ wq.T + bq).reshape(T, H, hd)
        k = (h @ wk.T + bk).reshape(T, Hkv, hd)
        v = (h @ wv.T + bv).reshape(T, Hkv, hd)
        if a in ("qwen3", "gemma3"):
            q, k = rms_norm(q, q_norm, s.eps), rms_norm(k, k_norm, s.eps)
        local = a == "gemma3" and il % s.pattern < s.pattern - 1
        base = s.base_swa if local else s.base
        q = rope(q, pos, s.n_rot, base, s.neox, factors=factors)
        k = rope(k, pos, s.n_rot, base, s.neox, factors=factors)
        o = attention(q, k, v, s.n_swa if local else 0, 1 / np.sqrt(hd)).reshape(T, qd) @ wo.T
        if a == "gemma3":
            o = rms_norm(o, post_attn, s.eps)
        x = x + o
        h = rms_norm(x, ffn_norm, s.eps)
        g, u = h @ wg.T, h @ wu.T
        if a == "gemma3":
            act = 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))
        else:
            act = g / (1 + np.exp(-g))
        f = (act * u) @ wd.T
        if a == "gemma3":
            f = rms_norm(f, post_ffw, s.eps)
        x = x + f
    logits = rms_norm(x, out_norm, s.eps) @ output.T
    if a == "gemma3":
        logits = s.softcap * np.tanh(logits / s.softcap)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    logits.astype(np.float32).tofile(out_dir / f"{a}.logits.f32")


def main():
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(7)
    specs = [
        Spec("llama", tied=False),
        Spec("qwen2", tied=True, base=1e6, eps=1e-6),
        Spec("qwen3", tied=True, head_dim=32, n_rot=32, eps=1e-6),
        Spec("gemma3", tied=True, n_layer=3, head_dim=32, n_rot=32, n_head_kv=1, eps=1e-6,
             base=1e6, base_swa=1e4, n_swa=4, pattern=2, softcap=3.0),
        Spec("phi3", tied=False, n_rot=8),
    ]
    for spec in specs:
        make(spec, out_dir, rng)
    TOKENS.tofile(out_dir / "tokens.i32")


if __name__ == "__main__":
    main()
