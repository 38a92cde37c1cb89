#!/usr/bin/python3
"""Regenerate the reference fixtures the TypeScript engine is tested against.

    /usr/bin/python3 tools/reference/make_fixtures.py            # everything available
    /usr/bin/python3 tools/reference/make_fixtures.py --only random-tiny
    /usr/bin/python3 tools/reference/make_fixtures.py --only random-mamba2   # both Mamba-2 ones

1. (Re)writes the checkpoint test/fixtures/random-tiny/ (deterministic: seed 1, d_model 64,
   4 layers, untied, BF16, jitter 0.1) with the bundled tokenizer (media/model/tokenizer.json,
   else tools/data/tokenizer.json, else the copy already in random-tiny/).
   Also (re)writes the random Mamba-2 checkpoints test/fixtures/random-mamba2/ (n_groups 1, BF16,
   untied, a binding time_step_limit) and random-mamba2-g2/ (n_groups 2, F32, tied,
   time_step_limit [0.0, Infinity] written literally) with tools/reference/mamba2_ref.py.
2. For each checkpoint present — random-tiny and the bundled model media/model/ — writes
   test/fixtures/<name>.json (layout: tools/reference/README.md), computing in float64.
3. --only random-falcon: (re)writes the FalconMamba checkpoint test/fixtures/random-falcon/
   (seed 3, d_model 64, 4 layers, d_state 8, dt_rank 8, untied, BF16, jitter 0.1, mixer_rms_eps 1e-6)
   and test/fixtures/random-falcon.json. Not part of the default run (which writes random-tiny and
   bundled): pass it explicitly.
Token ids are checked against the npm `tokenizers` package (node must be on PATH). Without the
Python `tokenizers` package the npm one tokenises alone (NpmTokenizer); the fixture's tokenizer.idsFrom
says which.
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".venv-tok"))
from mamba_ref import MambaRef, check_decode_matches_prefill, load_tokenizer  # noqa: E402
from simba_ref import forward_with_alive, simba_run  # noqa: E402
from mamba2_ref import load_model  # noqa: E402

torch.set_num_threads(1)

SCHEMA = "simba-lens/reference-fixture@1"
TEXT_SOURCE = "/usr/lib/python3.11/linecache.py"   # a held-out file of the bundled model's corpus
TARGET_TOKENS = 300
DENSE_GREEDY = 16
PRUNED_GREEDY = 8
SIG = 7

RANDOM_FALCON_ARGS = ["--family", "falcon_mamba", "--d-model", "64", "--layers", "4", "--d-state", "8",
                      "--dt-rank", "8", "--init-std", "0.1", "--dtype", "BF16", "--untied", "--jitter", "0.1",
                      "--seed", "3", "--mixer-rms-eps", "1e-6"]
RANDOM_TINY_ARGS = ["--shape", "tiny", "--dtype", "BF16", "--untied", "--jitter", "0.1", "--seed", "1"]
# Mamba-2: d_model 64, 4 layers, 8 heads of 16 channels, N 16 (mamba2_ref.py --write)
RANDOM_MAMBA2 = {
    "random-mamba2": ["--groups", "1", "--dtype", "BF16", "--untied", "--jitter", "0.1", "--seed", "2",
                      "--time-step-limit", "0.002", "0.08"],
    "random-mamba2-g2": ["--groups", "2", "--dtype", "F32", "--jitter", "0.1", "--seed", "3",
                         "--time-step-limit", "0.0", "inf"],
}


def option_sets(T):
    return [
        {"name": "dense-influence", "options": {"keepRatio": 1.0, "schedule": "dense", "selection": "simba",
                                                "score": "signed-max", "residual": "drop", "seed": 0, "protect": []}},
        {"name": "default", "options": {"keepRatio": 0.1, "schedule": "linear", "selection": "simba",
                                        "score": "signed-max", "residual": "drop", "seed": 0, "protect": []}},
        {"name": "uniform-random", "options": {"keepRatio": 0.3, "schedule": "uniform", "selection": "random",
                                               "score": "signed-max", "residual": "drop", "seed": 42, "protect": []}},
        {"name": "inverse-recent", "options": {"keepRatio": 0.5, "schedule": "inverse", "selection": "recent",
                                               "score": "signed-max", "residual": "drop", "seed": 0, "protect": []}},
        {"name": "absmax-carry-protect", "options": {"keepRatio": 0.1, "schedule": "linear", "selection": "simba",
                                                     "score": "abs-max", "residual": "carry", "seed": 0,
                                                     "protect": [T // 3, (2 * T) // 3]}},
        {"name": "meanabs-linear", "options": {"keepRatio": 0.2, "schedule": "linear", "selection": "simba",
                                               "score": "mean-abs", "residual": "drop", "seed": 0, "protect": []}},
    ]


# ----------------------------------------------------------------------------- helpers

def r7(x):
    if x is None:
        return None
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"non-finite value {x} in fixture")
    return float(f"{x:.{SIG}g}")


def rl(xs):
    return [r7(x) for x in xs]


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def safetensors_metadata(ckpt):
    """__metadata__ of model.safetensors (or of the first shard): e.g. the training step."""
    from safetensors_io import read_header
    files = sorted(f for f in os.listdir(ckpt) if f.endswith(".safetensors"))
    return read_header(os.path.join(ckpt, files[0]))[0].get("__metadata__", {}) if files else {}


def rel(p):
    p = os.path.abspath(p)
    return os.path.relpath(p, ROOT) if p.startswith(ROOT + os.sep) else p


def pick_text(tok, path, target):
    """Longest prefix of whole lines (each with its newline) whose token count is <= target."""
    with open(path, encoding="utf-8") as f:
        full = f.read()
    lines = full.splitlines(keepends=True)
    best, nlines = "", 0
    for i in range(1, len(lines) + 1):
        cand = "".join(lines[:i])
        if len(tok.encode(cand, add_special_tokens=False).ids) > target:
            break
        best, nlines = cand, i
    return best, nlines, hashlib.sha256(full.encode("utf-8")).hexdigest()


def npm_ids(tokenizer_path, text):
    js = ("const {Tokenizer}=require('tokenizers');const fs=require('fs');"
          "const t=Tokenizer.fromFile(process.argv[1]);"
          "t.encode(fs.readFileSync(0,'utf8'),null,{addSpecialTokens:false})"
          ".then(e=>process.stdout.write(JSON.stringify(e.getIds())));")
    out = subprocess.run(["node", "-e", js, os.path.abspath(tokenizer_path)], input=text.encode("utf-8"),
                         cwd=ROOT, capture_output=True, check=True)
    return json.loads(out.stdout)


class NpmTokenizer:
    """The few Tokenizer methods the fixtures use, answered by the npm `tokenizers` package (one node
    process per call; encodings cached). Used when the Python package is not installed."""

    class _Enc:
        def __init__(self, ids):
            self.ids = ids

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self._cache = {}

    def _node(self, js, stdin=b""):
        out = subprocess.run(["node", "-e", js, self.path], input=stdin, cwd=ROOT, capture_output=True, check=True)
        return json.loads(out.stdout)

    def encode(self, text, add_special_tokens=False):
        key = (text, add_special_tokens)
        if key not in self._cache:
            if add_special_tokens:
                raise NotImplementedError("fixtures tokenise without special tokens")
            self._cache[key] = npm_ids(self.path, text)
        return self._Enc(self._cache[key])

    def decode(self, ids, skip_special_tokens=False):
        js = ("const {Tokenizer}=require('tokenizers');const fs=require('fs');"
              "const t=Tokenizer.fromFile(process.argv[1]);"
              f"t.decode(JSON.parse(fs.readFileSync(0,'utf8')),{'true' if skip_special_tokens else 'false'})"
              ".then(s=>process.stdout.write(JSON.stringify(s)));")
        return self._node(js, json.dumps(list(ids)).encode())

    def get_vocab_size(self, with_added_tokens=True):
        js = ("const {Tokenizer}=require('tokenizers');"
              f"process.stdout.write(String(Tokenizer.fromFile(process.argv[1]).getVocabSize({'true' if with_added_tokens else 'false'})))")
        return self._node(js)


def python_tokenizers_version():
    try:
        return __import__("tokenizers").__version__
    except ImportError:
        return None


def open_tokenizer(path):
    """(tokenizer, "python" | "npm"): Python `tokenizers` when installed, else the npm package."""
    try:
        return load_tokenizer(path), "python"
    except ImportError:
        return NpmTokenizer(path), "npm"


def npm_version():
    try:
        with open(os.path.join(ROOT, "node_modules", "tokenizers", "package.json")) as f:
            return json.load(f)["version"]
    except OSError:
        return None


def log_softmax(x):
    return torch.log_softmax(x, -1)


# ----------------------------------------------------------------------------- one checkpoint

def fixture_for(name, ckpt, text_info, ids, tok, tok_path, ids_from="python"):
    m = load_model(ckpt, torch.float64)
    T = len(ids)
    V = m.vocab
    assert max(ids) < V, "token id beyond the model's vocabulary"
    # self-checks before anything is written: recurrent decoding == prefill (first 64 tokens)
    check_decode_matches_prefill(m, ids[:64], 32, 1e-9)
    logits, states, _ = m.forward(ids)
    lsm = log_softmax(logits)
    target = [float(lsm[t, ids[t + 1]]) for t in range(T - 1)]
    mid = T // 2
    g_ids, g_margins = m.greedy(logits[-1], states, DENSE_GREEDY)
    weights = sorted(f for f in os.listdir(ckpt) if f.endswith(".safetensors") or f.endswith(".index.json"))
    fx = {
        "schema": SCHEMA,
        "name": name,
        "generator": "tools/reference/make_fixtures.py",
        "generatedAt": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tools": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                  "tokenizersPython": python_tokenizers_version(), "tokenizersNpm": npm_version()},
        "compute": "float64",
        "checkpoint": {
            "path": rel(ckpt),
            "files": {f: sha256_file(os.path.join(ckpt, f)) for f in weights + ["config.json"]},
            "sourceDtypes": m.source_dtypes,
            "config": m.cfg.to_dict(),
            "vocab": V,
            "metadata": safetensors_metadata(ckpt),
        },
        "tokenizer": {"path": rel(tok_path), "sha256": sha256_file(tok_path), "addSpecialTokens": False,
                      "vocabSize": tok.get_vocab_size(with_added_tokens=True), "checkedWithNpm": True,
                      "idsFrom": {"python": "Python tokenizers (checked against npm)", "npm": "npm tokenizers (Python package not installed)"}[ids_from]},
        "text": text_info,
        "ids": ids,
        "dense": {
            "targetLogprobs": rl(target),
            "lastLogSoftmax": rl(lsm[-1].tolist()),
            "middle": {"index": mid, "logSoftmax": rl(lsm[mid].tolist())},
            "greedy": {"ids": g_ids, "margins": rl(g_margins), "text": tok.decode(g_ids, skip_special_tokens=False)},
        },
        "simba": [],
    }
    for spec in option_sets(T):
        r = simba_run(m, ids, spec["options"])
        lp = {t: log_softmax(v) for t, v in r["readout"].items()}
        pruned_target = [float(lp[t][ids[t + 1]]) if t in lp else None for t in range(T - 1)]
        gi, gm = m.greedy(r["readout"][T - 1], r["states"], PRUNED_GREEDY)
        # decoding after the pruned prefill == pruned prefill of ids + [first greedy token]
        step_logits, _ = m.step(gi[0], r["states"])
        ref = forward_with_alive(m, list(ids) + [gi[0]], [al + [T] for al in r["alive"]])
        assert float((step_logits - ref).abs().max()) < 1e-9, "pruned decode != pruned prefill"
        fx["simba"].append({
            "name": spec["name"],
            "options": spec["options"],
            "counts": r["counts"],
            "alive": r["alive"],
            "score": [rl(s) for s in r["score"]],
            "selectionMargins": [r7(x) for x in r["margins"]],
            "retention": r["retention"],
            "lastLogSoftmax": rl(lp[T - 1].tolist()),
            "targetLogprobs": [r7(x) for x in pruned_target],
            "greedy": {"ids": gi, "margins": rl(gm), "text": tok.decode(gi, skip_special_tokens=False)},
            "identityMaxAbs": r7(r["identityMaxAbs"]),
        })
        if spec["name"] == "dense-influence":
            d = float((lp[T - 1] - lsm[-1]).abs().max())
            assert d < 1e-10, d
    return fx


def write_json(fx, out):
    # one top-level key per line keeps git diffs readable without bloating the file
    parts = [f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'), ensure_ascii=False)}" for k, v in fx.items()]
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(parts) + "\n}\n")
    os.replace(out + ".tmp", out)


def remake_random_tiny(out_dir, tok_path):
    cmd = [sys.executable, os.path.join(HERE, "make_random_checkpoint.py"), out_dir, *RANDOM_TINY_ARGS,
           "--tokenizer", tok_path]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def remake_random_falcon(out_dir, tok_path):
    cmd = [sys.executable, os.path.join(HERE, "make_random_checkpoint.py"), out_dir, *RANDOM_FALCON_ARGS,
           "--tokenizer", tok_path]


def remake_random_mamba2(name, out_dir, tok_path):
    vocab = open_tokenizer(tok_path)[0].get_vocab_size(with_added_tokens=True)
    cmd = [sys.executable, os.path.join(HERE, "mamba2_ref.py"), "--write", out_dir, *RANDOM_MAMBA2[name],
           "--vocab", str(vocab), "--tokenizer", tok_path]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["random-tiny", "bundled", "random-falcon", "random-mamba2", "random-mamba2-g2"],
                    help="random-mamba2: both Mamba-2 checkpoints; random-falcon only when named")
    ap.add_argument("--bundled", default=os.path.join(ROOT, "media", "model"))
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures"))
    ap.add_argument("--keep-random-tiny", action="store_true", help="do not rewrite the random-tiny checkpoint")
    a = ap.parse_args()
    tiny_dir = os.path.join(a.out, "random-tiny")
    bundled_ok = os.path.exists(os.path.join(a.bundled, "config.json")) and (
        os.path.exists(os.path.join(a.bundled, "model.safetensors"))
        or os.path.exists(os.path.join(a.bundled, "model.safetensors.index.json")))
    tok_src = None
    for cand in (os.path.join(a.bundled, "tokenizer.json"), os.path.join(ROOT, "tools", "data", "tokenizer.json"),
                 os.path.join(tiny_dir, "tokenizer.json")):
        if os.path.exists(cand):
            tok_src = cand
            break
    if tok_src is None:
        sys.exit("no tokenizer.json found (media/model/, tools/data/ or test/fixtures/random-tiny/)")
    falcon_dir = os.path.join(a.out, "random-falcon")
    if a.only in (None, "random-tiny") and not a.keep_random_tiny:
        remake_random_tiny(tiny_dir, tok_src)
    if a.only == "random-falcon":
        remake_random_falcon(falcon_dir, tok_src)
    mamba2 = [n for n in RANDOM_MAMBA2 if a.only is None or a.only == n or a.only == "random-mamba2"]
    for n in mamba2:
        remake_random_mamba2(n, os.path.join(a.out, n), tok_src)
    tok, ids_from = open_tokenizer(tok_src)
    text, nlines, fsha = pick_text(tok, TEXT_SOURCE, TARGET_TOKENS)
    ids = tok.encode(text, add_special_tokens=False).ids
    js_ids = npm_ids(tok_src, text)
    assert js_ids == ids, "npm tokenizers disagrees with Python tokenizers"
    text_info = {"source": TEXT_SOURCE, "sourceSha256": fsha, "lines": nlines, "charStart": 0,
                 "charEnd": len(text), "text": text}
    jobs = []
    if a.only in (None, "random-tiny"):
        jobs.append(("random-tiny", tiny_dir))
    if a.only == "random-falcon":
        jobs.append(("random-falcon", falcon_dir))
    jobs += [(n, os.path.join(a.out, n)) for n in mamba2]
    if a.only in (None, "bundled"):
        if bundled_ok:
            jobs.append(("bundled", a.bundled))
        else:
            print(f"skip bundled: no checkpoint in {rel(a.bundled)}", file=sys.stderr)
    for name, ckpt in jobs:
        ctok = os.path.join(ckpt, "tokenizer.json")
        if os.path.exists(ctok) and sha256_file(ctok) != sha256_file(tok_src):
            raise SystemExit(f"{rel(ctok)} differs from {rel(tok_src)}: fixtures assume one tokenizer")
        fx = fixture_for(name, ckpt, text_info, ids, tok, ctok if os.path.exists(ctok) else tok_src, ids_from)
        out = os.path.join(a.out, f"{name}.json")
        write_json(fx, out)
        print(json.dumps({"wrote": rel(out), "bytes": os.path.getsize(out), "T": len(ids),
                          "greedy": fx["dense"]["greedy"]["text"],
                          "counts": {s["name"]: s["counts"] for s in fx["simba"]}}))


if __name__ == "__main__":
    main()
