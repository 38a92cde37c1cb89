#!/usr/bin/python3
"""Time the PyTorch reference on a checkpoint folder (float32, HF slow path as HF writes it).

    /usr/bin/python3 tools/reference/bench_ref.py CHECKPOINT_DIR [--tokens 256,1024] [--threads 2]
                                                   [--decode 32] [--repeat 1]

Prefill uses HF MambaMixer.slow_forward's formulation: discrete_A = exp(A·Δ) and deltaB_u
vectorised over the whole sequence (batch, E, L, N), then a Python loop over time for the scan.
Decoding uses the HF cache path (conv state roll + dot, one scan step). Ids are random (seeded).
Each prefill size runs in its own subprocess so peakRssMB is per size (resource.getrusage,
ru_maxrss of that process, including the loaded weights). Prints one JSON line:
    {"prefillTokensPerSec": {"1024": ..}, "decodeMsPerToken": .., "decodeThreads": .., "peakRssMB": ..,
     "peakRssMBBySize": {"1024": ..}, "threads": N, "dtype": "float32", "checkpoint": ..}
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mamba_ref import MambaRef  # noqa: E402


def slow_layer(m, L, hidden):
    """hidden (1, L, D) -> (1, L, D): HF MambaBlock + MambaMixer.slow_forward, no cache."""
    cfg = m.cfg
    residual = hidden
    var = hidden.pow(2).mean(-1, keepdim=True)
    hs = L["norm"] * (hidden * torch.rsqrt(var + cfg.eps))
    projected = hs @ L["in_w"].T
    if L["in_b"] is not None:
        projected = projected + L["in_b"]
    projected = projected.transpose(1, 2)                               # (1, 2E, L)
    x, gate = projected.chunk(2, dim=1)
    seq_len = x.shape[-1]
    w = L["conv_w"][:, None, :]
    x = F.silu(F.conv1d(x, w, L["conv_b"], padding=cfg.d_conv - 1, groups=cfg.d_inner)[..., :seq_len])
    ssm_parameters = x.transpose(1, 2) @ L["x_w"].T
    R, N = cfg.dt_rank, cfg.d_state
    time_step, B, C = torch.split(ssm_parameters, [R, N, N], dim=-1)
    dt = F.softplus(time_step @ L["dt_w"].T + L["dt_b"]).transpose(1, 2)  # (1, E, L)
    A = L["A"]
    discrete_A = torch.exp(A[None, :, None, :] * dt[:, :, :, None])       # (1, E, L, N)
    discrete_B = dt[:, :, :, None] * B[:, None, :, :]
    deltaB_u = discrete_B * x[:, :, :, None]
    ssm_state = torch.zeros(1, cfg.d_inner, N, dtype=hidden.dtype)
    outs = []
    for i in range(seq_len):
        ssm_state = discrete_A[:, :, i, :] * ssm_state + deltaB_u[:, :, i, :]
        outs.append(torch.matmul(ssm_state, C[:, i, :].unsqueeze(-1))[:, :, 0])
    y = torch.stack(outs, dim=-1) + x * L["D"][None, :, None]
    y = y * F.silu(gate)
    out = y.transpose(1, 2) @ L["out_w"].T
    if L["out_b"] is not None:
        out = out + L["out_b"]
    return residual + out


def prefill(m, ids):
    h = m.emb[torch.as_tensor(ids)][None]
    for L in m.layers:
        h = slow_layer(m, L, h)
    var = h[:, -1:].pow(2).mean(-1, keepdim=True)
    return (m.norm_f * (h[:, -1:] * torch.rsqrt(var + m.cfg.eps))) @ m.lm_head.T


def child(args):
    torch.set_num_threads(args.threads)
    m = MambaRef(args.checkpoint, torch.float32)
    rng = np.random.default_rng(0)
    res = {}
    with torch.no_grad():
        if args.size:
            ids = rng.integers(0, m.vocab, args.size).tolist()
            prefill(m, ids[:8])  # warm-up
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                prefill(m, ids)
                best = min(best, time.perf_counter() - t0)
            res["tokensPerSec"] = args.size / best
        else:
            ids = rng.integers(0, m.vocab, 16 + args.decode).tolist()
            _, states, _ = m.forward(ids[:16])
            m.step(ids[16], states)  # warm-up
            t0 = time.perf_counter()
            for t in ids[16:]:
                _, states = m.step(t, states)
            res["msPerToken"] = (time.perf_counter() - t0) * 1000 / args.decode
    res["peakRssMB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--tokens", default="1024", help="comma-separated prefill sizes")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--decode", type=int, default=32, help="decode steps timed (0: skip)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a)
    base = [sys.executable, os.path.abspath(__file__), a.checkpoint, "--child", "--threads", str(a.threads),
            "--decode", str(a.decode), "--repeat", str(a.repeat)]
    out = {"prefillTokensPerSec": {}, "decodeMsPerToken": None, "peakRssMB": 0.0, "peakRssMBBySize": {}}
    for n in [int(x) for x in a.tokens.split(",") if x]:
        r = json.loads(subprocess.run(base + ["--size", str(n)], check=True, capture_output=True, text=True).stdout)
        out["prefillTokensPerSec"][str(n)] = round(r["tokensPerSec"], 2)
        out["peakRssMBBySize"][str(n)] = round(r["peakRssMB"], 1)
        out["peakRssMB"] = max(out["peakRssMB"], round(r["peakRssMB"], 1))
    if a.decode > 0:
        # Decoding is ~40 tiny ops per layer: with 2 intra-op threads it ran 5x slower than with
        # one on a 2-core VM (most likely worker wake-ups), so the reference gets the best of one
        # thread and --threads.
        for t in sorted({1, a.threads}):
            cmd = base.copy()
            cmd[cmd.index("--threads") + 1] = str(t)
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            if out["decodeMsPerToken"] is None or r["msPerToken"] < out["decodeMsPerToken"]:
                out["decodeMsPerToken"], out["decodeThreads"] = round(r["msPerToken"], 3), t
            out["peakRssMB"] = max(out["peakRssMB"], round(r["peakRssMB"], 1))
    out.update({"threads": a.threads, "dtype": "float32", "checkpoint": a.checkpoint,
                "torch": torch.__version__, "path": "hf-slow"})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
