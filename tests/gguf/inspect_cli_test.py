#!/usr/bin/env python3
"""CLI test of `kiln inspect` (ctest gguf_inspect_cli).

- Every GGUF in ../shared and models/, and the writer's valid sample: `kiln inspect`
  and `kiln inspect --json` exit 0, the JSON parses, and it agrees with gguf-py's
  independent reader (version, alignment, data offset, keys and their types, scalar
  values, every tensor's name/type/shape/offset/size, parameter count).
- Every malformed file written by gguf_write_corpus: exit code exactly 1 (no signal,
  no sanitizer report), nothing on stdout, one line `kiln: error: <path>: ...` on stderr.
"""
import argparse
import json
import math
import os
import pathlib
import subprocess
import sys

ENV = dict(os.environ,
           ASAN_OPTIONS="exitcode=86:abort_on_error=0",
           UBSAN_OPTIONS="exitcode=87:halt_on_error=1:print_stacktrace=1")
TYPE_NAMES = {"UINT8": "u8", "INT8": "i8", "UINT16": "u16", "INT16": "i16", "UINT32": "u32",
              "INT32": "i32", "FLOAT32": "f32", "BOOL": "bool", "STRING": "string",
              "ARRAY": "array", "UINT64": "u64", "INT64": "i64", "FLOAT64": "f64"}
failures = []
CROSS_CHECKED = {"valid_sample.gguf", "ggml-vocab-llama-spm.gguf"}


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def inspect(kiln, path, *flags):
    return subprocess.run([kiln, "inspect", str(path), *flags], capture_output=True,
                          timeout=300, env=ENV)


def type_label(field):
    names = [TYPE_NAMES[t.name] for t in field.types]
    if names[0] != "array":
        return names[0]
    return "array[%s]" % (names[1] if len(names) > 1 else "u8")  # empty arrays: see below


def compare_scalar(path, key, field, got):
    if field.types[0].name == "STRING":
        try:
            want = field.parts[-1].tobytes().decode("utf-8")
        except UnicodeDecodeError:
            return  # kiln's JSON replaces invalid UTF-8; nothing exact to compare
    else:
        want = field.contents()
    if isinstance(want, float):
        check(isinstance(got, (int, float)) and (math.isclose(got, want, rel_tol=1e-6)
                                                 or (math.isnan(want) and got is None)),
              f"{path}: {key}: value {got!r}, gguf-py {want!r}")
    elif isinstance(want, str):
        if "\ufffd" not in got:
            check(got == want, f"{path}: {key}: value differs from gguf-py")
    else:
        check(got == want, f"{path}: {key}: value {got!r}, gguf-py {want!r}")


def flatten(value):
    """Leaf values of a nested array from kiln's JSON (not truncated)."""
    if isinstance(value, dict):
        return [leaf for item in value["items"] for leaf in flatten(item)]
    return [value]


def compare_with_gguf_py(path, out):
    try:
        import gguf
    except ImportError:
        return
    r = gguf.GGUFReader(str(path))
    fields = [(k, f) for k, f in r.fields.items() if not k.startswith("GGUF.")]
    check(out["version"] == int(r.fields["GGUF.version"].parts[-1][0]), f"{path}: version")
    check(out["alignment"] == r.alignment, f"{path}: alignment")
    check([m["key"] for m in out["metadata"]] == [k for k, _ in fields], f"{path}: key list")
    for m, (key, field) in zip(out["metadata"], fields):
        value = m["value"]
        if m["type"] == "array[array]" and not value["truncated"]:
            # gguf-py flattens nested arrays: field.data indexes the leaf values.
            leaves = [field.parts[i].tolist()[0] for i in field.data]
            check(flatten(value) == leaves, f"{path}: {key}: nested leaves {leaves}")
        elif m["type"].startswith("array"):
            check(value["count"] == len(field.data), f"{path}: {key}: array count")
            if value["count"] > 0:
                check(m["type"] == type_label(field), f"{path}: {key}: type {m['type']}")
        else:
            check(m["type"] == type_label(field), f"{path}: {key}: type {m['type']}")
            compare_scalar(path, key, field, value)
    check(len(out["tensors"]) == len(r.tensors), f"{path}: tensor count")
    params = 0
    for t, rt in zip(out["tensors"], r.tensors):
        where = f"{path}: tensor {rt.name}"
        check(t["name"] == rt.name, f"{where}: name {t['name']}")
        check(t["type"].upper() == rt.tensor_type.name.upper(), f"{where}: type {t['type']}")
        check(t["shape"] == [int(x) for x in rt.shape], f"{where}: shape {t['shape']}")
        check(out["data_offset"] + t["offset"] == rt.data_offset, f"{where}: offset")
        check(t["size"] == rt.n_bytes, f"{where}: size {t['size']}")
        params += int(rt.n_elements)
    check(out["parameter_count"] == params, f"{path}: parameter count")
    if r.tensors:
        check(out["data_offset"] == r.data_offset, f"{path}: data offset")


def check_valid(kiln, path):
    text = inspect(kiln, path)
    if not check(text.returncode == 0, f"{path}: exit {text.returncode}: {text.stderr[-400:]!r}"):
        return
    check(b"tensors:" in text.stdout and b"parameters:" in text.stdout, f"{path}: text output")
    check(text.stderr == b"", f"{path}: stderr {text.stderr[-200:]!r}")
    js = inspect(kiln, path, "--json")
    if not check(js.returncode == 0, f"{path}: --json exit {js.returncode}"):
        return
    try:
        out = json.loads(js.stdout)
    except ValueError as e:
        check(False, f"{path}: --json output does not parse: {e}")
        return
    # gguf-py parses large vocabularies slowly (tens of seconds each on a loaded
    # 2-core machine): cross-check the golden models, one vocab and the sample.
    if "golden" in path.parts or path.name in CROSS_CHECKED:
        compare_with_gguf_py(path, out)


def check_malformed(kiln, path):
    for flags in ([], ["--json"]):
        p = inspect(kiln, path, *flags)
        where = f"{path.name} {' '.join(flags)}"
        check(p.returncode == 1, f"{where}: exit {p.returncode} (want 1): {p.stderr[-300:]!r}")
        check(p.stdout == b"", f"{where}: stdout not empty")
        lines = p.stderr.decode("utf-8", "replace").splitlines()
        check(len(lines) == 1 and p.stderr.endswith(b"\n"), f"{where}: stderr {lines!r}")
        check(lines and lines[0].startswith(f"kiln: error: {path}: "), f"{where}: {lines!r}")


def main():
    ap = argparse.ArgumentParser()
    for a in ("--kiln", "--write-corpus", "--corpus-dir", "--shared", "--models"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    corpus = pathlib.Path(args.corpus_dir)
    subprocess.run([args.write_corpus, str(corpus)], check=True, env=ENV)

    valid = sorted(pathlib.Path(args.shared).rglob("*.gguf"))
    valid += sorted(pathlib.Path(args.models).glob("*.gguf"))
    valid.append(corpus / "valid_sample.gguf")
    for path in valid:
        check_valid(args.kiln, path)
    malformed = sorted(p for p in corpus.glob("*.gguf") if p.name != "valid_sample.gguf")
    check(len(malformed) >= 60, f"only {len(malformed)} malformed files")
    for path in malformed:
        check_malformed(args.kiln, path)
    check_malformed(args.kiln, corpus / "does-not-exist.gguf")

    print(f"{len(valid)} valid files, {len(malformed)} malformed files, {len(failures)} failures")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
