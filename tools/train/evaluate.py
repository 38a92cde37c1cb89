"""Held-out bits per byte of an exported model vs gzip -9 and xz -9 on exactly the same files.

  PYTHONPATH=tools/train/.venv-tok /usr/bin/python3 tools/train/evaluate.py [--model media/model] [files...]

Model bits = sum over all tokens of the file of -log2 p(token | everything before it in the file); the file
is tokenized whole, prefixed with <|endoftext|> (id 0) so that the first token is scored too, and run in ONE
forward pass over the whole file (Mamba's state is carried through the file; equivalent to chunking with state).
A second column scores independent non-overlapping 1024-token windows (state reset, <|endoftext|> prefix).
bits/byte = bits / UTF-8 bytes of the file. gzip/xz: 8 * compressed size / bytes, each file compressed alone.
"""
import argparse, glob, json, math, os, subprocess, sys, time
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mamba_model import MambaLM
from export_hf import load_safetensors

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load_model(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    m = MambaLM(cfg)
    sd = load_safetensors(os.path.join(d, "model.safetensors"))
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert not unexpected and not missing, (missing, unexpected)
    m.eval()
    return m


@torch.no_grad()
def bits_of(model, ids):
    x = torch.tensor([[0] + ids[:-1]])
    logp = F.log_softmax(model(x)[0].float(), dim=-1)
    return -logp[torch.arange(len(ids)), torch.tensor(ids)].sum().item() / math.log(2)


def compressed_bits(cmd, data):
    return 8 * len(subprocess.run(cmd, input=data, capture_output=True, check=True).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "media", "model"))
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--json")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    torch.set_num_threads(1)
    files = a.files or sorted(f for f in glob.glob(os.path.join(ROOT, "data", "heldout", "*"))
                              if not os.path.basename(f).startswith(("LICENSES", "README")))
    model = load_model(a.model)
    tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    rows, tot = [], {"bytes": 0, "tokens": 0, "full": 0.0, "win": 0.0, "gzip": 0, "xz": 0}
    for f in files:
        data = open(f, "rb").read()
        ids = tok.encode(data.decode("utf-8")).ids
        t0 = time.time()
        full = bits_of(model, ids)
        win = sum(bits_of(model, ids[i:i + a.window]) for i in range(0, len(ids), a.window))
        gz = compressed_bits(["gzip", "-9", "-n", "-c"], data)
        xz = compressed_bits(["xz", "-9", "-c"], data)
        r = {"file": os.path.basename(f), "bytes": len(data), "tokens": len(ids), "bpb_full": full / len(data),
             "bpb_window": win / len(data), "bpb_gzip": gz / len(data), "bpb_xz": xz / len(data),
             "seconds": round(time.time() - t0, 1)}
        rows.append(r)
        for k, v in (("bytes", len(data)), ("tokens", len(ids)), ("full", full), ("win", win), ("gzip", gz), ("xz", xz)):
            tot[k] += v
        print(json.dumps(r), flush=True)
    B = tot["bytes"]
    total = {"file": "ALL", "bytes": B, "tokens": tot["tokens"], "bpb_full": tot["full"] / B,
             "bpb_window": tot["win"] / B, "bpb_gzip": tot["gzip"] / B, "bpb_xz": tot["xz"] / B}
    print("\n| file | bytes | tokens | model, whole file | model, %d-token windows | gzip -9 | xz -9 |" % a.window)
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows + [total]:
        print("| %s | %d | %d | %.3f | %.3f | %.3f | %.3f |" % (r["file"], r["bytes"], r["tokens"], r["bpb_full"],
                                                           r["bpb_window"], r["bpb_gzip"], r["bpb_xz"]))
    if a.json:
        json.dump({"files": rows, "total": total}, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
