#!/usr/bin/python3
"""Write a small random Hugging Face-format Mamba-1 or FalconMamba checkpoint (seeded, deterministic).

    /usr/bin/python3 tools/reference/make_random_checkpoint.py OUT_DIR [options]
    /usr/bin/python3 tools/reference/make_random_checkpoint.py /tmp/mamba-130m-random --shape 130m

Init follows HF MambaPreTrainedModel._init_weights in spirit:
  A_log[e, n] = log(n + 1)  (A = -(1..N)),  D = 1,
  dt_proj.bias = softplus^-1(dt) with dt log-uniform in [1e-3, 1e-1],
  dt_proj.weight ~ U(-dt_rank^-0.5, dt_rank^-0.5),
  conv1d weight/bias ~ U(-1/sqrt(K), 1/sqrt(K)),
  other Linear weights and embeddings ~ N(0, init_std^2) (--init-std, default 0.02; the tiny
  preset uses 0.1, HF MambaConfig's default initializer_range, for larger activations and
  influence scores), out_proj additionally / sqrt(n_layer),
  norm weights = 1, untied lm_head ~ N(0, lm_head_std^2) (default 1/sqrt(d_model): peaky logits, so
  greedy decoding has clear margins).
--jitter J multiplies norm weights, D and the conv/dt biases by (1 + J·N(0,1)) noise (and adds
J·0.02·N(0,1) to in/out_proj biases when --use-bias) so tests can catch a wrongly indexed or
ignored per-channel parameter. Draws come from numpy's PCG64 (np.random.default_rng(seed)) in
the fixed order of the tensor list, in float64, then cast to the requested dtype.
--family falcon_mamba writes the same tensors (FalconMamba has the Mamba-1 names and no extra ones)
with a FalconMambaForCausalLM config: model_type "falcon_mamba", mixer_rms_eps (--mixer-rms-eps,
default 1e-6) and, like the 7B configs, "expand": 16 beside the real "intermediate_size" (the
config trap: E is intermediate_size). Use --untied for the 7B models' separate lm_head.
"""
import argparse
import json
import math
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_io import save_file  # noqa: E402

PRESETS = {
    "130m": dict(d_model=768, layers=24, d_state=16, vocab=50280, expand=2, dt_rank=48, d_conv=4, untied=False),
    "tiny": dict(d_model=64, layers=4, d_state=16, vocab=None, expand=2, dt_rank=None, d_conv=4, untied=True, init_std=0.1),
}


def tokenizer_vocab_size(path):
    sys.path.insert(0, os.path.join(HERE, ".venv-tok"))
    try:
        from tokenizers import Tokenizer
    except ImportError:  # no Python tokenizers: ask the npm package (node on PATH, run from the repo root)
        import subprocess
        js = "const {Tokenizer}=require('tokenizers');process.stdout.write(String(Tokenizer.fromFile(process.argv[1]).getVocabSize(true)))"
        root = os.path.abspath(os.path.join(HERE, "..", ".."))
        return int(subprocess.run(["node", "-e", js, os.path.abspath(path)], cwd=root, capture_output=True, check=True).stdout)
    return Tokenizer.from_file(path).get_vocab_size(with_added_tokens=True)


def build(args):
    D, Ly, N, V, K = args.d_model, args.layers, args.d_state, args.vocab, args.d_conv
    E = args.expand * D
    R = args.dt_rank or math.ceil(D / 16)
    rng = np.random.default_rng(args.seed)
    J = args.jitter
    S0 = args.init_std

    def normal(shape, std):
        return rng.standard_normal(shape) * std

    def jit(a):
        return a * (1 + J * rng.standard_normal(a.shape)) if J > 0 else a

    T = {}
    T["backbone.embeddings.weight"] = normal((V, D), S0)
    for i in range(Ly):
        p, m = f"backbone.layers.{i}.", f"backbone.layers.{i}.mixer."
        T[m + "A_log"] = np.log(np.tile(np.arange(1, N + 1, dtype=np.float64), (E, 1)))
        T[m + "D"] = jit(np.ones(E))
        T[m + "conv1d.weight"] = rng.uniform(-1, 1, (E, 1, K)) / math.sqrt(K)
        if args.use_conv_bias:
            T[m + "conv1d.bias"] = rng.uniform(-1, 1, E) / math.sqrt(K)
        T[m + "in_proj.weight"] = normal((2 * E, D), S0)
        if args.use_bias:
            T[m + "in_proj.bias"] = normal(2 * E, 0.02 * max(J, 0.5))
        T[m + "x_proj.weight"] = normal((R + 2 * N, E), S0)
        std = R ** -0.5
        T[m + "dt_proj.weight"] = rng.uniform(-std, std, (E, R))
        dt = np.exp(rng.uniform(0, 1, E) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        dt = np.maximum(dt, 1e-4)
        T[m + "dt_proj.bias"] = dt + np.log(-np.expm1(-dt))
        T[m + "out_proj.weight"] = normal((D, E), S0) / math.sqrt(Ly)
        if args.use_bias:
            T[m + "out_proj.bias"] = normal(D, 0.02 * max(J, 0.5))
        T[p + "norm.weight"] = jit(np.ones(D))
    T["backbone.norm_f.weight"] = jit(np.ones(D))
    if args.untied:
        T["lm_head.weight"] = normal((V, D), args.lm_head_std or 1 / math.sqrt(D))
    cfg = {
        "architectures": ["MambaForCausalLM"], "model_type": "mamba",
        "hidden_size": D, "num_hidden_layers": Ly, "state_size": N, "expand": args.expand,
        "intermediate_size": E, "time_step_rank": R, "conv_kernel": K,
        "use_bias": bool(args.use_bias), "use_conv_bias": bool(args.use_conv_bias),
        "layer_norm_epsilon": 1e-5, "vocab_size": V, "tie_word_embeddings": not args.untied,
        "hidden_act": "silu", "residual_in_fp32": True, "initializer_range": S0,
        "time_step_min": 0.001, "time_step_max": 0.1, "time_step_floor": 0.0001,
        "time_step_scale": 1.0, "time_step_init_scheme": "random", "rescale_prenorm_residual": True,
        "bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0, "use_cache": True,
        "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[args.dtype],
    }
    if args.family == "falcon_mamba":
        cfg["architectures"], cfg["model_type"] = ["FalconMambaForCausalLM"], "falcon_mamba"
        cfg["expand"] = 16  # as tiiuae/falcon-mamba-7b's config.json: contradicts intermediate_size, which wins
        cfg["mixer_rms_eps"] = args.mixer_rms_eps
        cfg["use_falcon_mambapy"] = False
    return T, cfg


def write(out, T, cfg, dtype, shards, meta):
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.startswith("model") and (f.endswith(".safetensors") or f.endswith(".index.json")):
            os.remove(os.path.join(out, f))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    names = list(T)
    if shards <= 1:
        save_file(T, os.path.join(out, "model.safetensors"), dtype, meta)
        return
    # split the name list into `shards` contiguous groups of roughly equal byte size
    sizes = [T[n].size for n in names]
    total, target = sum(sizes), sum(sizes) / shards
    groups, cur, acc = [], [], 0
    for n, s in zip(names, sizes):
        cur.append(n)
        acc += s
        if acc >= target * (len(groups) + 1) and len(groups) < shards - 1:
            groups.append(cur)
            cur = []
    groups.append(cur)
    wm = {}
    for i, g in enumerate(groups):
        fn = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        save_file({n: T[n] for n in g}, os.path.join(out, fn), dtype, meta)
        wm.update({n: fn for n in g})
    bytes_per = {"F32": 4, "F16": 2, "BF16": 2}[dtype]
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total * bytes_per}, "weight_map": wm}, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--shape", choices=sorted(PRESETS), help="preset; explicit flags override it")
    ap.add_argument("--d-model", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--d-state", type=int)
    ap.add_argument("--expand", type=int)
    ap.add_argument("--dt-rank", type=int, help="default ceil(d_model/16)")
    ap.add_argument("--d-conv", type=int)
    ap.add_argument("--vocab", type=int, help="default: size of --tokenizer, else 1024")
    ap.add_argument("--tokenizer", help="tokenizer.json to copy into the checkpoint (sets --vocab)")
    ap.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    ap.add_argument("--untied", action="store_true", default=None, help="separate lm_head.weight")
    ap.add_argument("--use-bias", action="store_true", help="in_proj/out_proj biases")
    ap.add_argument("--no-conv-bias", dest="use_conv_bias", action="store_false")
    ap.add_argument("--lm-head-std", type=float)
    ap.add_argument("--init-std", type=float)
    ap.add_argument("--jitter", type=float, default=0.0)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--family", choices=["mamba", "falcon_mamba"], default="mamba")
    ap.add_argument("--mixer-rms-eps", type=float, default=1e-6, help="falcon_mamba: eps of the δ/B/C norms")
    a = ap.parse_args()
    pre = PRESETS.get(a.shape, {})
    defaults = dict(d_model=64, layers=2, d_state=16, expand=2, dt_rank=None, d_conv=4, untied=False, vocab=None, init_std=0.02)
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, pre.get(k, v) if pre.get(k, v) is not None else v)
    if a.vocab is None:
        a.vocab = tokenizer_vocab_size(a.tokenizer) if a.tokenizer else 1024
    T, cfg = build(a)
    meta = {"format": "pt", "generator": "tools/reference/make_random_checkpoint.py", "seed": a.seed,
            "jitter": a.jitter}
    write(a.out, T, cfg, a.dtype, a.shards, meta)
    if a.tokenizer:
        dst = os.path.join(a.out, "tokenizer.json")
        if os.path.abspath(a.tokenizer) != os.path.abspath(dst):
            shutil.copyfile(a.tokenizer, dst)
    n_params = sum(v.size for v in T.values())
    print(json.dumps({"out": a.out, "params": int(n_params), "config": {k: cfg[k] for k in (
        "hidden_size", "num_hidden_layers", "state_size", "intermediate_size", "time_step_rank",
        "conv_kernel", "vocab_size", "tie_word_embeddings", "use_bias")}, "dtype": a.dtype,
        "shards": a.shards}))


if __name__ == "__main__":
    main()
