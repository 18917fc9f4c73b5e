"""make-model.py writes a loadable llama GGUF of the requested shape (checked by
gguf-py and by `kiln inspect`)."""
import subprocess
import sys

import gguf
import numpy as np


def main(kiln, script, out):
    subprocess.run([sys.executable, script, "smol135m", "--layers", "2", "--type", "f16",
                    "--out", out], check=True)
    r = gguf.GGUFReader(out)
    f = lambda k: r.fields[k].contents()
    assert f("general.architecture") == "llama"
    assert (f("llama.embedding_length"), f("llama.block_count"), f("llama.attention.head_count"),
            f("llama.attention.head_count_kv"), f("llama.feed_forward_length")) == (576, 2, 9, 3, 1536)
    assert len(f("tokenizer.ggml.tokens")) == 32000
    t = {x.name: x for x in r.tensors}
    assert len(t) == 2 + 2 * 9 + 1
    q = np.asarray(t["blk.0.attn_q.weight"].data, dtype=np.float32)
    assert abs(q.std() - 0.02) < 0.001 and abs(q.mean()) < 0.001
    assert np.all(np.asarray(t["output_norm.weight"].data) == 1.0)
    assert list(t["blk.0.attn_k.weight"].shape) == [576, 192]
    res = subprocess.run([kiln, "inspect", out], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    print("ok")


if __name__ == "__main__":
    main(*sys.argv[1:4])
