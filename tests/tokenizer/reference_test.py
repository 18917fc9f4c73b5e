#!/usr/bin/env python3
"""kiln's tokenizer on the real models against a Hugging Face reference.

  reference_test.py --batch BIN --model MODEL.gguf [--vocab-dir ../shared/vocab]

BIN is tests/tokenizer/tokenize_batch (kiln's Tokenizer behind a JSON-lines
pipe). Exit status: 0 all equal, 1 a mismatch, 77 the model file is missing
(ctest marks the test skipped; `make models` fetches it).

How the reference is built
--------------------------
No reference ids for SmolLM2 or Gemma 3 exist in ../shared/golden, and the
models' original tokenizer.json files cannot be downloaded here, so the
reference is a `tokenizers.Tokenizer` (the Rust library behind transformers'
fast tokenizers) built from the GGUF's own vocabulary, read with the `gguf`
package. It is assembled the way transformers converts these tokenizers
(convert_slow_tokenizer.py, transformers 4.4x-5.x), from the same data:

* `gpt2` vocabularies (SmolLM2, pre `smollm`): models.BPE(vocab =
  tokenizer.ggml.tokens, merges = tokenizer.ggml.merges split at the first
  space, rank = index). Pre-tokenizer for `smollm`/`starcoder`/`refact`:
  Sequence([Digits(individual_digits=True), ByteLevel(add_prefix_space=False)])
  -- the pre-tokenizer of SmolLM2's (StarCoder-family) tokenizer.json, and the
  HF form of llama.cpp's STARCODER regex list (`\\p{N}` then the GPT-2 regex,
  tokenizers.md 6.3); for `gpt-2` ByteLevel alone. ByteLevel applies the
  GPT-2 regex and byte map.
* `llama` (SPM) vocabularies (Gemma 3): transformers' GemmaConverter builds a
  BPE model with byte_fallback=True, fuse_unk=True and merges derived from the
  SentencePiece scores (convert_slow_tokenizer.generate_merges): every split
  (left, right) of every piece whose halves are both pieces is a merge, ranked
  by the score of the whole piece, highest first (ties: longer left, then
  longer right, then piece order). This reproduces SentencePiece's BPE, which
  llama.cpp's SPM tokenizer also implements: repeatedly merge the adjacent pair
  whose concatenation is the highest-scoring piece. Normalizer
  Replace(" ", "▁"), preceded by Prepend("▁") when add_space_prefix is set
  (Llama's legacy converter); Gemma 3 sets it false.
* Added tokens: every CONTROL or UNKNOWN token is an AddedToken(special=True),
  every USER_DEFINED token an AddedToken(special=False), all normalized=False
  (matched in the raw text), as the converters add SentencePiece control and
  user-defined pieces. parse_special=false is the tokenizer with
  encode_special_tokens=True: special tokens are then not matched, but
  user-defined ones still are -- llama.cpp's partitioning (tokenizers.md 3).
* BOS/EOS: a TemplateProcessing post-processor adds BOS/EOS when the GGUF's
  add_bos_token/add_eos_token say so (or the tokenizers.md 4 default), as
  transformers' GGUF converters do. Compared with add_special_tokens=True
  against kiln's encode(add_bos=true); the BOS id and flag are also checked
  directly against the GGUF keys.

Why it is faithful: before the comparison, the same builder is run on the
llama.cpp test vocabularies in ../shared/vocab whose construction paths it
shares (starcoder: same pre-tokenizer list as smollm; gpt-2; llama-spm: the
SPM path with the space prefix) and must reproduce every id of their .out
vectors (produced by llama.cpp's reference, tokenizers.md 8). A builder bug
fails the test there, before kiln is looked at.

Known HF-vs-llama.cpp differences (llama.cpp is primary, tokenizers.md):
overlapping special tokens (llama.cpp: longest token first; HF: leftmost-
longest); SPM characters absent from the vocabulary but part of a longer
piece (llama.cpp/SentencePiece can still merge them; HF's byte fallback runs
first); and Unicode-version differences in character classes (PCRE2's \\p{L},
\\p{N} tables vs Oniguruma's in ByteLevel and Rust's char::is_numeric in
Digits) for recently assigned characters. None occurs in these vocabularies for
this corpus; a case that did would fail here and need a documented exemption
(KNOWN_DIFFERENCES, empty).

The corpus is reference_corpus.build_corpus() (deterministic: fixed inputs plus
seeded random mixtures, no expected ids). Each string is compared three ways:
no BOS + specials unparsed, no BOS + specials parsed, BOS + specials parsed.
decode(ids) must also give back the text where the reference decodes the
reference ids to the text.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import gguf
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers
from tokenizers import processors

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_corpus import build_corpus  # noqa: E402

SKIP = 77
TYPE_NORMAL, TYPE_UNKNOWN, TYPE_CONTROL, TYPE_USER_DEFINED = 1, 2, 3, 4
# Tokens that llama.cpp turns into CONTROL at load time (tokenizers.md 2).
EOG_TEXTS = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\uff5cend\u2581of\u2581sentence\uff5c>",
}
# (model file name, text, mode) -> why the reference differs. Empty: none known.
KNOWN_DIFFERENCES = {}


def read_gguf_metadata(path):
    """The key/value section of a GGUF file as {key: value} (arrays as lists).

    A small reader of the GGUF v2/v3 layout (../shared/docs/gguf-format.md), with
    the value type codes of the `gguf` package: gguf.GGUFReader also maps every
    tensor record through numpy, which takes ~20 s for Gemma's file here.
    """
    import struct

    import numpy as np

    vt = gguf.GGUFValueType
    fixed = {vt.UINT8: "B", vt.INT8: "b", vt.UINT16: "H", vt.INT16: "h", vt.UINT32: "I",
             vt.INT32: "i", vt.FLOAT32: "f", vt.BOOL: "?", vt.UINT64: "Q", vt.INT64: "q",
             vt.FLOAT64: "d"}
    with open(path, "rb") as f:
        data = f.read(64 << 20)  # the metadata of these files is < 10 MB
    if data[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    pos = 4
    version, _, n_kv = struct.unpack_from("<IQQ", data, pos)
    pos += 20
    if version < 2:
        raise ValueError(f"{path}: GGUF v{version} not supported")

    def string():
        nonlocal pos
        (n,) = struct.unpack_from("<Q", data, pos)
        s = data[pos + 8 : pos + 8 + n].decode("utf-8")
        pos += 8 + n
        return s

    def value(kind):
        nonlocal pos
        kind = vt(kind)
        if kind == vt.STRING:
            return string()
        if kind == vt.ARRAY:
            item, n = struct.unpack_from("<IQ", data, pos)
            pos += 12
            item = vt(item)
            if item in fixed:
                arr = np.frombuffer(data, dtype="<" + fixed[item], count=n, offset=pos)
                pos += arr.nbytes
                return arr.tolist()
            return [value(item) for _ in range(n)]
        (v,) = struct.unpack_from("<" + fixed[kind], data, pos)
        pos += struct.calcsize(fixed[kind])
        return v

    meta = {}
    for _ in range(n_kv):
        key = string()
        (kind,) = struct.unpack_from("<I", data, pos)
        pos += 4
        meta[key] = value(kind)
    return meta


class Vocab:
    """The tokenizer.* keys of a GGUF file, as plain Python values."""

    def __init__(self, path):
        meta = read_gguf_metadata(path)

        def key(name, default=None):
            return meta.get("tokenizer.ggml." + name, default)

        self.model = key("model")
        self.pre = key("pre", "default")
        self.tokens = key("tokens", [])
        self.scores = key("scores") or [0.0] * len(self.tokens)
        self.types = key("token_type") or [TYPE_NORMAL] * len(self.tokens)
        self.merges = key("merges", [])
        spm = self.model == "llama"
        self.bos = key("bos_token_id", 1 if spm else 11)
        self.eos = key("eos_token_id", 2 if spm else 11)
        self.unk = key("unknown_token_id", 0 if spm else None)
        default_bos = spm or self.pre in {"llama3", "llama-v3", "llama-bpe"}
        self.add_bos = bool(key("add_bos_token", default_bos))
        self.add_eos = bool(key("add_eos_token", False))
        self.add_space_prefix = bool(key("add_space_prefix", spm))


def spm_merges(tokens, scores):
    """BPE merges equivalent to SentencePiece BPE scores (see the docstring)."""
    vocab = {t: i for i, t in enumerate(tokens)}
    entries = []
    for piece, score in zip(tokens, scores):
        splits = [(piece[:k], piece[k:]) for k in range(1, len(piece))]
        splits = [(a, b) for a, b in splits if a in vocab and b in vocab]
        splits.sort(key=lambda ab: (vocab[ab[0]], vocab[ab[1]]))
        entries.extend((score, a, b) for a, b in splits)
    # Stable sort: highest score first, then longer left, then longer right.
    entries.sort(key=lambda e: (-e[0], -len(e[1]), -len(e[2])))
    return [(a, b) for _, a, b in entries]


def bpe_pre_tokenizer(pre):
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre in ("smollm", "starcoder", "refact"):
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    if pre == "gpt-2":
        return byte_level
    raise ValueError(f"reference builder: pre-tokenizer '{pre}' not supported")


def build_reference(v):
    """A tokenizers.Tokenizer equivalent to the GGUF vocabulary `v`."""
    vocab = {t: i for i, t in enumerate(v.tokens)}
    if v.model == "gpt2":
        merges = []
        for m in v.merges:
            cut = m.index(" ", 1)
            merges.append((m[:cut], m[cut + 1 :]))
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
        tok.pre_tokenizer = bpe_pre_tokenizer(v.pre)
        tok.decoder = decoders.ByteLevel()
    elif v.model == "llama":
        unk = v.tokens[v.unk] if v.unk is not None else None
        bpe = models.BPE(vocab=vocab, merges=spm_merges(v.tokens, v.scores), unk_token=unk,
                         fuse_unk=True, byte_fallback=True)
        tok = Tokenizer(bpe)
        steps = [normalizers.Replace(" ", "\u2581")]
        if v.add_space_prefix:
            steps.insert(0, normalizers.Prepend("\u2581"))
        tok.normalizer = normalizers.Sequence(steps)
        tok.decoder = decoders.Sequence(
            [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
            + ([decoders.Strip(" ", 1, 0)] if v.add_space_prefix else []))
    else:
        raise ValueError(f"reference builder: tokenizer model '{v.model}' not supported")
    added = []
    for i, (text, kind) in enumerate(zip(v.tokens, v.types)):
        if kind == TYPE_USER_DEFINED and text in EOG_TEXTS:
            kind = TYPE_CONTROL  # llama.cpp's EOG fix-up
        if kind in (TYPE_CONTROL, TYPE_UNKNOWN):
            added.append(AddedToken(text, special=True, normalized=False))
        elif kind == TYPE_USER_DEFINED:
            added.append(AddedToken(text, special=False, normalized=False))
    tok.add_tokens(added)
    single = ([f"{v.tokens[v.bos]}:0"] if v.add_bos else []) + ["$A:0"]
    single += [f"{v.tokens[v.eos]}:0"] if v.add_eos else []
    specials = {v.tokens[v.bos]: v.bos} if v.add_bos else {}
    if v.add_eos:
        specials[v.tokens[v.eos]] = v.eos
    tok.post_processor = processors.TemplateProcessing(single=single,
                                                       special_tokens=list(specials.items()))
    return tok


def reference_ids(tok, text, add_special, parse_special):
    tok.encode_special_tokens = not parse_special
    return tok.encode(text, add_special_tokens=add_special).ids


def read_vectors(path):
    """../shared/vocab .inp/.out pairs (tokenizers.md 8)."""
    with open(path + ".inp", encoding="utf-8", newline="") as f:
        texts = f.read().split("\n__ggml_vocab_test__\n")[:-1]
    with open(path + ".out", encoding="utf-8", newline="") as f:
        ids = [[int(x) for x in line.split()] for line in f.read().split("\n")[: len(texts)]]
    return list(zip(texts, ids))


def self_check(vocab_dir):
    """The builder must reproduce llama.cpp's vectors on the shared vocabularies."""
    failures = 0
    checked = 0
    for name in ("starcoder", "gpt-2", "llama-spm"):
        path = os.path.join(vocab_dir, f"ggml-vocab-{name}.gguf")
        if not os.path.exists(path):
            print(f"self-check: {path} missing")
            failures += 1
            continue
        tok = build_reference(Vocab(path))
        for text, expected in read_vectors(path):
            got = reference_ids(tok, text, add_special=False, parse_special=False)
            checked += 1
            if got != expected:
                failures += 1
                print(f"self-check FAIL {name} {text!r}: reference {got} llama.cpp {expected}")
    print(f"self-check: reference builder reproduced {checked - failures}/{checked} "
          "llama.cpp vectors (starcoder, gpt-2, llama-spm)")
    return failures == 0


def run_kiln(batch, model, requests):
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests)
    proc = subprocess.run([batch, model], input=payload.encode("utf-8"), capture_output=True,
                          timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"tokenize_batch exited {proc.returncode}: {proc.stderr.decode()}")
    lines = proc.stdout.decode("utf-8").splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


MODES = (  # (name, add_special, parse_special)
    ("plain", False, False),
    ("special", False, True),
    ("bos+special", True, True),
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", required=True, help="tokenize_batch binary")
    ap.add_argument("--model", required=True, help="GGUF model file")
    ap.add_argument("--vocab-dir", default=None, help="../shared/vocab (builder self-check)")
    args = ap.parse_args()
    if not os.path.exists(args.model):
        print(f"SKIP: {args.model} is missing (make models)")
        return SKIP
    started = time.time()
    if args.vocab_dir and not self_check(args.vocab_dir):
        print("FAIL: the reference builder does not reproduce llama.cpp's vectors")
        return 1

    vocab = Vocab(args.model)
    ref = build_reference(vocab)
    corpus = build_corpus()
    requests = [{"text": t, "add_bos": add, "parse_special": parse}
                for t in corpus for _, add, parse in MODES]
    info, results = run_kiln(args.batch, args.model, requests)
    name = os.path.basename(args.model)
    failures = []

    # BOS/EOS flags straight from the GGUF keys.
    flags = (("bos", vocab.bos), ("eos", vocab.eos), ("add_bos", vocab.add_bos),
             ("add_eos", vocab.add_eos), ("add_space_prefix", vocab.add_space_prefix),
             ("n_vocab", len(vocab.tokens)), ("model", vocab.model))
    for key, want in flags:
        if info[key] != want:
            failures.append(f"{key}: kiln {info[key]!r}, GGUF {want!r}")

    compared = 0
    per_mode = {m[0]: 0 for m in MODES}
    round_trips = 0
    for i, request in enumerate(requests):
        text = request["text"]
        mode = MODES[i % len(MODES)]
        expected = reference_ids(ref, text, mode[1], mode[2])
        got = results[i]["ids"]
        compared += 1
        if got == expected:
            per_mode[mode[0]] += 1
        elif (name, text, mode[0]) not in KNOWN_DIFFERENCES:
            failures.append(f"{mode[0]} {text!r}:\n    kiln      {got}\n    reference {expected}")
        if mode[0] == "plain" and ref.decode(expected, skip_special_tokens=False) == text:
            round_trips += 1
            if results[i]["decoded"] != text:
                failures.append(f"decode {text!r}: kiln {results[i]['decoded']!r}")
    print(f"{name}: {info['model']}/{info['pre']}, {len(corpus)} strings x {len(MODES)} modes = "
          f"{compared} comparisons; equal: " + ", ".join(f"{k} {v}/{len(corpus)}"
                                                         for k, v in per_mode.items()) +
          f"; decode round trips checked: {round_trips} ({time.time() - started:.1f}s)")
    for f in failures:
        print("FAIL " + f)
    checks = len(flags) + compared + round_trips
    print(f"{checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
