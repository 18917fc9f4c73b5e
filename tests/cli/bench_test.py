"""`kiln bench`: the JSON report is complete and consistent, and bad flags are
clear errors. Speed itself is a benchmark, never asserted here."""
import json
import os
import subprocess
from pathlib import Path

import pytest

KILN = os.environ["KILN_BIN"]
GOLDEN = Path(os.environ["KILN_SHARED"]) / "golden"
MODEL = GOLDEN / "stories260K/stories260K-Q8_0.gguf"


def kiln(*args):
    r = subprocess.run([KILN, *map(str, args)], capture_output=True, timeout=300)
    assert r.returncode >= 0, f"killed by signal {-r.returncode}"
    return r


def test_json_report():
    r = kiln("bench", "-m", MODEL, "-p", 16, "-n", 8, "-r", 3, "-t", 2, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["arch"] == "llama" and j["threads"] == 2 and j["reps"] == 3
    assert j["pp"]["n_tokens"] == 16 and j["tg"]["n_tokens"] == 8
    for test in ("pp", "tg"):
        samples = j[test]["samples"]
        assert len(samples) == 3 and all(s > 0 for s in samples)
        assert min(samples) <= j[test]["tokens_per_s"] <= max(samples)
    # Bytes per token: every tensor except all but one row of token_embd
    # (the file has a separate output.weight).
    assert 0 < j["weight_bytes_per_token"] < j["model_bytes"]
    assert j["tg_weight_gb_per_s"] == pytest.approx(
        j["tg"]["tokens_per_s"] * j["weight_bytes_per_token"] / 1e9, rel=1e-6)


def test_table_and_skipping():
    r = kiln("bench", "-m", MODEL, "-p", 0, "-n", 4, "-r", 1)
    assert r.returncode == 0, r.stderr
    assert b"tg4" in r.stdout and b"pp" not in r.stdout.split(b"\n", 2)[2]


@pytest.mark.parametrize("args", [["-r", "0"], ["-p", "0", "-n", "0"], ["-p", "-3"],
                                  ["-t", "0"], ["--kv-type", "bf16"]])
def test_bad_flags(args):
    r = kiln("bench", "-m", MODEL, *args)
    assert r.returncode == 1 and r.stderr.startswith(b"kiln: error:"), r.stderr


def test_missing_model():
    r = kiln("bench", "-m", "/nonexistent.gguf")
    assert r.returncode == 1 and b"/nonexistent.gguf" in r.stderr
