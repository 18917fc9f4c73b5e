"""bench/kernels/perf_table.py on synthetic kernel_bench JSON: the targets'
marks, the activation-type filter, the layer sums and the argument errors."""
import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "kernels", "perf_table.py")
COPY_BW = 4000.0
SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008), (32000, 4096)]


def decode(t, rows, k, us, nbytes, x="f32", y=None):
    gbs = nbytes / us / 1e3
    r = {"model": "llama7b", "rows": rows, "k": k, "type": t, "ncols": 1, "route": "decode",
         "variant": 0, "x": x, "us": us, "weight_bytes": nbytes, "weight_gbs": gbs,
         "pct_copy_bw": 100 * gbs / COPY_BW, "read_ceiling_us": us / 2, "pass": True}
    if y is not None:  # files from before kernel_bench --y have no "y"
        r["y"] = y
    return r


def gemm(t, rows, k, tflops, cublas):
    return {"model": "llama7b", "rows": rows, "k": k, "type": t, "ncols": 512, "route": "gemm",
            "variant": 0, "us": 1.0, "weight_bytes": 1, "weight_gbs": 1, "pct_copy_bw": 0,
            "tflops": tflops, "cublas_bf16_tflops": cublas, "pass": True}


def bench_json(tmp_path, results, name="r.json"):
    p = tmp_path / name
    p.write_text(json.dumps({"device": "test GPU", "copy_bw_gbs": COPY_BW, "failures": 0,
                             "results": results}))
    return str(p)


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def row(out, first_cell):
    lines = [line for line in out.splitlines() if line.startswith(f"| {first_cell} |")]
    assert lines, out
    return [c.strip() for c in lines[0].strip("|").split("|")]


def test_marks_cells_under_their_target(tmp_path):
    # 1 MB in 0.25 us = 4000 GB/s = 100%; q4_0 (75% target) at 70% and q4_1 (60%) at 65%.
    res = []
    for rows, k in SHAPES:
        res.append(decode("q4_0", rows, k, 0.25 / 0.70, 1e6))
        res.append(decode("q4_1", rows, k, 0.25 / 0.65, 1e6))
        res.append(gemm("q4_0", rows, k, 300.0, 800.0))  # 37.5% of cuBLAS, target 50%
        res.append(gemm("f16", rows, k, 600.0, 800.0))  # 75%, target 60%
    out = run(bench_json(tmp_path, res)).stdout
    q40 = row(out, "q4_0")
    assert q40[1] == "75%" and all(c.endswith("✗") and "(70% / 50%)" in c for c in q40[2:])
    q41 = row(out, "q4_1")
    assert q41[1] == "60%" and all("(65% / 50%)" in c and "✗" not in c for c in q41[2:])
    gemm_part = out.split("512 columns")[1]
    assert all(c == "300 (38%) ✗" for c in row(gemm_part, "q4_0")[2:])
    assert all(c == "600 (75%)" for c in row(gemm_part, "f16")[2:])


def test_x_selects_the_activation_type(tmp_path):
    res = [decode("q8_0", 4096, 4096, 0.5, 1e6, "f32"), decode("q8_0", 4096, 4096, 0.25, 1e6, "q8")]
    path = bench_json(tmp_path, res)
    assert "2000 (50%" in row(run(path).stdout, "q8_0")[2]
    assert "4000 (100%" in row(run(path, "--x", "q8").stdout, "q8_0")[2]


def test_y_selects_the_output_type(tmp_path):
    # An old row (no "y": F32), an F16-y row of the same cell, and a BF16-y GEMM row.
    g16 = gemm("f16", 4096, 4096, 400.0, 800.0)
    g16["y"] = "bf16"
    res = [decode("q8_0", 4096, 4096, 0.5, 1e6), decode("q8_0", 4096, 4096, 1.0, 1e6, y="f16"),
           gemm("f16", 4096, 4096, 600.0, 800.0), g16]
    path = bench_json(tmp_path, res)
    out = run(path).stdout
    assert "2000 (50%" in row(out, "q8_0")[2] and "y f32" in out
    assert row(out.split("512 columns")[1], "f16")[2] == "600 (75%)"
    assert "1000 (25%" in row(run(path, "--y", "f16").stdout, "q8_0")[2]
    out = run(path, "--y", "bf16").stdout
    assert row(out, "q8_0")[2] == "-" and row(out.split("512 columns")[1], "f16")[2] == "400 (50%) ✗"
    assert run(path, "--y", "q8").returncode != 0


def test_layer_sums_seven_and_fused_launches(tmp_path):
    us = {(4096, 4096): 1.0, (11008, 4096): 2.0, (4096, 11008): 3.0,
          (12288, 4096): 2.5, (22016, 4096): 3.5}
    res = [decode("q4_0", r, k, t, 1e6 * t) for (r, k), t in us.items()]
    main, fused = bench_json(tmp_path, res[:3]), bench_json(tmp_path, res[3:], "f.json")
    cells = row(run(main, fused, "--layer").stdout, "q4_0")
    # seven: 4 x 1 + 2 x 2 + 3 = 11 us; fused: 2.5 + 1 + 3.5 + 3 = 10 us; 1 MB per us each.
    assert cells[2].startswith("11.00 us, 1000 (25.0%)")
    assert cells[3].startswith("10.00 us, 1000 (25.0%)")
    assert "-" == row(run(main, "--layer").stdout, "q4_0")[3]  # fused shapes missing


def test_arguments(tmp_path):
    assert run("--help").returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    r = run(str(bad))
    assert r.returncode != 0 and "not a kernel_bench JSON file" in r.stderr
    assert run(bench_json(tmp_path, []), "--x", "bf16").returncode != 0
    assert run().returncode != 0


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
