#!/usr/bin/python3
"""Reference implementation of Simba hierarchical token pruning (docs/method.md §2-§3).

    /usr/bin/python3 tools/reference/simba_ref.py CHECKPOINT_DIR [--tokens 48]

runs the self-checks (identity Σ_t Δy_T(t) + D·u_T = y_T, dense == model prefill, nested alive
sets, decode after a pruned prefill == pruned prefill of the extended sequence) for every
schedule / selection / score / residual option on random ids, and prints a summary.

Every integer/rounding rule below is written so the TypeScript engine can reproduce it
bit-for-bit; tools/reference/README.md repeats them.

ROUNDING: round(x) = floor(x + 0.5) on an IEEE double, with the expressions evaluated exactly in
the order written here (left to right, as both Python and JavaScript do).

SCHEDULES (counts n_l of tokens entering layer l, l = 0..Ly-1; T tokens; ρ = keepRatio;
P = n_protect = number of distinct protected positions including the last one, so P >= 1):
  all:      n_0 = T; for l >= 1: n_l = min(n_{l-1}, max(P, c_l)); if Ly == 1 only n_0 exists.
  dense:    c_l = T
  linear:   c_l = round(T * (1 - (1 - ρ) * l / (Ly - 1)))
  uniform:  W = Σ_{l=0..Ly-1} n_l(linear)  (the integer linear counts, after the clamps above);
            c_l = round((W - T) / (Ly - 1))  for every l >= 1
            (layer 0 stays dense — scores need one dense layer — and the remaining linear work is
            spread evenly: pruning happens once, after layer 0.)
  inverse:  the linear fall mirrored in speed: counts fall fast in the lower layers and flatten in
            the upper ones (convex quadratic), with the same total work as linear:
            q      = (2 * Ly - 1) / (6 * (Ly - 1))          # mean over l of ((Ly-1-l)/(Ly-1))^2
            ρinv   = ((1 + ρ) / 2 - q) / (1 - q)            # top-layer fraction giving equal total
            f      = (Ly - 1 - l) / (Ly - 1)
            c_l    = round(T * (ρinv + (1 - ρinv) * (f * f)))
            Continuous total equals linear's exactly; the integer totals differ only by rounding.

SELECTION after layer l (l < Ly-1) among the n_l alive tokens, keep n_{l+1}:
  key(t) = +inf for the last position and protected positions; otherwise
    simba:  key = s(t), the layer-l influence score (reduced with the chosen `score`; NaN -> -inf)
    random: key = rand32(seed, l, t) as an unsigned integer (see below)
    recent: key = t (original index)
  Sort by key descending, ties by original index ascending; keep the first n_{l+1}; the kept
  tokens are then put back in original order.

RANDOM HASH (all arithmetic on unsigned 32-bit integers, wrapping; JS: Math.imul and >>> 0):
  mix32(x):  x ^= x >>> 16; x = imul(x, 0x7feb352d); x ^= x >>> 15; x = imul(x, 0x846ca68b);
             x ^= x >>> 16; return x >>> 0
  rand32(seed, layer, index) = mix32(mix32(mix32((seed + 0x9E3779B9) >>> 0) ^ layer) ^ index)
  where seed is taken modulo 2^32 (seed >>> 0), layer is the 0-based layer just run, index the
  original token position.

INFLUENCE (layer l, alive sequence t_0 < ... < t_{n-1} = T, computed from that layer's u, Δ, B, C):
  S_t[e] = Σ_{k after t in the alive sequence} Δ_k[e]   (exclusive suffix sum, S_T = 0)
  Δy_T(t)[e] = u_t[e] · Δ_t[e] · Σ_n C_T[n] · B_t[n] · exp(A[e,n] · S_t[e])
  s(t) = max_e Δy (signed-max, default) | max_e |Δy| (abs-max) | mean_e |Δy| (mean-abs)
  Scores are reported for every layer, including the last, and for forced tokens (their real
  value; +inf is only the selection key).

RETENTION: a token pruned after running layer l has retention l+1; tokens alive at the last layer
(always including the prediction point) have Ly.

RESIDUAL: drop — pruned rows are discarded, read-out (norm_f + lm_head) exists only for tokens
alive at the last layer; carry — a pruned token's residual row after layer l (the last layer it
ran) is stashed and read out with norm_f + lm_head like the others.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mamba_ref import MambaRef  # noqa: E402

torch.set_num_threads(1)

M32 = 0xFFFFFFFF


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


# ----------------------------------------------------------------------------- schedules

def _clamp(raw, T, P):
    counts = [T]
    for c in raw[1:]:
        counts.append(min(counts[-1], max(P, c)))
    return counts


def schedule_counts(T, Ly, rho, schedule, n_protect=1):
    P = max(1, min(int(n_protect), T))
    if Ly == 1:
        return [T]
    if schedule == "dense":
        return [T] * Ly
    if schedule == "linear":
        return _clamp([round_half_up(T * (1 - (1 - rho) * l / (Ly - 1))) for l in range(Ly)], T, P)
    if schedule == "uniform":
        W = sum(schedule_counts(T, Ly, rho, "linear", P))
        c = round_half_up((W - T) / (Ly - 1))
        return _clamp([T] + [c] * (Ly - 1), T, P)
    if schedule == "inverse":
        q = (2 * Ly - 1) / (6 * (Ly - 1))
        rinv = ((1 + rho) / 2 - q) / (1 - q)
        raw = []
        for l in range(Ly):
            f = (Ly - 1 - l) / (Ly - 1)
            raw.append(round_half_up(T * (rinv + (1 - rinv) * (f * f))))
        return _clamp(raw, T, P)
    raise ValueError(f"unknown schedule {schedule}")


# ----------------------------------------------------------------------------- random hash

def mix32(x: int) -> int:
    x &= M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


def rand32(seed: int, layer: int, index: int) -> int:
    h = mix32((seed + 0x9E3779B9) & M32)
    h = mix32(h ^ (layer & M32))
    return mix32(h ^ (index & M32))


# ----------------------------------------------------------------------------- influence

def influence(A, u, dt, B, C, chunk=128):
    """Δy_T(t)[e] for every alive row t (rows in sequence order, T = last row).
    A (E,N), u/dt (n,E), B/C (n,N). Returns (n, E). Never holds more than (chunk, E, N)."""
    n = u.shape[0]
    rc = torch.flip(torch.cumsum(torch.flip(dt, [0]), 0), [0])   # inclusive suffix sum
    S = torch.zeros_like(dt)
    S[:-1] = rc[1:]                                               # exclusive
    CT = C[-1]
    out = torch.empty_like(u)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        w = torch.exp(A[None, :, :] * S[a:b, :, None])            # (c, E, N)
        g = (w * (B[a:b, None, :] * CT[None, None, :])).sum(-1)   # (c, E)
        out[a:b] = u[a:b] * dt[a:b] * g
    return out


def reduce_scores(dy, how):
    if how == "signed-max":
        return dy.max(1).values
    if how == "abs-max":
        return dy.abs().max(1).values
    if how == "mean-abs":
        return dy.abs().mean(1)
    raise ValueError(f"unknown score reduce {how}")


# ----------------------------------------------------------------------------- pruned run

DEFAULTS = {"keepRatio": 0.1, "schedule": "linear", "selection": "simba", "score": "signed-max",
            "residual": "drop", "seed": 0, "protect": []}


def select(alive, scores, layer, n_keep, opts, protected):
    """Return (kept positions into `alive` in original order, margin) — see module doc."""
    keys = []
    for i, t in enumerate(alive):
        if t in protected:
            k = math.inf
        elif opts["selection"] == "simba":
            k = float(scores[i])
            if math.isnan(k):
                k = -math.inf
        elif opts["selection"] == "random":
            k = float(rand32(int(opts["seed"]), layer, t))
        elif opts["selection"] == "recent":
            k = float(t)
        else:
            raise ValueError(opts["selection"])
        keys.append(k)
    order = sorted(range(len(alive)), key=lambda i: (-keys[i], alive[i]))
    kept = sorted(order[:n_keep])
    margin = None
    if n_keep < len(alive) and math.isfinite(keys[order[n_keep - 1]]):
        margin = keys[order[n_keep - 1]] - keys[order[n_keep]]
    return kept, margin


def simba_run(model: MambaRef, ids, opts=None, check_identity=True, identity_tol=1e-9):
    """Pruned prefill. Returns a dict:
    counts, alive[l], score[l], retention[T], margins[l] (selection margin after layer l),
    readout {index: logits row}, states (per layer final conv/ssm state of the pruned sequence),
    identityMaxAbs."""
    o = dict(DEFAULTS)
    o.update(opts or {})
    T = len(ids)
    Ly = model.cfg.n_layer
    protected = set(int(p) for p in o["protect"] if 0 <= int(p) < T) | {T - 1}
    counts = schedule_counts(T, Ly, o["keepRatio"], o["schedule"], len(protected))
    alive = list(range(T))
    h = model.embed(ids)
    retention = [0] * T
    stash = {}
    res = {"counts": counts, "alive": [], "score": [], "margins": [], "states": [], "identityMaxAbs": 0.0}
    for l in range(Ly):
        assert len(alive) == counts[l], (l, len(alive), counts[l])
        h, info = model.layer_forward(l, h)
        res["states"].append((info["conv_state"], info["ssm_state"]))
        A = model.layers[l]["A"]
        # a family with its own score formula (mamba2_ref.Mamba2Ref) provides it
        dy = model.influence(l, info) if hasattr(model, "influence") else influence(A, info["u"], info["dt"], info["B"], info["C"])
        if check_identity:
            lhs = dy.sum(0) + model.layers[l]["D"] * info["u"][-1]
            err = float((lhs - info["y"][-1]).abs().max())
            scale = float(info["y"][-1].abs().max()) + 1e-30
            res["identityMaxAbs"] = max(res["identityMaxAbs"], err)
            assert err <= identity_tol * max(1.0, scale), f"identity fails at layer {l}: {err}"
        s = reduce_scores(dy, o["score"])
        res["alive"].append(list(alive))
        res["score"].append([float(v) for v in s])
        if l == Ly - 1:
            break
        kept, margin = select(alive, s.tolist(), l, counts[l + 1], o, protected)
        res["margins"].append(margin)
        kept_set = set(kept)
        for i, t in enumerate(alive):
            if i not in kept_set:
                retention[t] = l + 1
                if o["residual"] == "carry":
                    stash[t] = h[i].clone()
        idx = torch.as_tensor(kept, dtype=torch.long)
        h = h[idx]
        alive = [alive[i] for i in kept]
    for t in alive:
        retention[t] = Ly
    rows = {t: h[i] for i, t in enumerate(alive)}
    if o["residual"] == "carry":
        rows.update(stash)
    elif o["residual"] != "drop":
        raise ValueError(o["residual"])
    order = sorted(rows)
    logits = model.logits(torch.stack([rows[t] for t in order], 0))
    res["readout"] = {t: logits[i] for i, t in enumerate(order)}
    res["retention"] = retention
    res["options"] = o
    return res


def forward_with_alive(model: MambaRef, ids, alive_sets):
    """Run layer l over exactly the rows alive_sets[l] (nested, original order) — used to check
    the pruned decode. Returns the last row's logits."""
    h = model.embed(ids)
    cur = list(range(len(ids)))
    for l in range(model.cfg.n_layer):
        want = alive_sets[l]
        pos = {t: i for i, t in enumerate(cur)}
        h = h[torch.as_tensor([pos[t] for t in want], dtype=torch.long)]
        cur = list(want)
        h, _ = model.layer_forward(l, h)
    return model.logits(h[-1:])[0]


# ----------------------------------------------------------------------------- self-check

def self_check(model, ids, verbose=True):
    T = len(ids)
    Ly = model.cfg.n_layer
    dense_logits, _, _ = model.forward(ids)
    r = simba_run(model, ids, {"schedule": "dense"})
    worst = max(float((r["readout"][t] - dense_logits[t]).abs().max()) for t in range(T))
    assert worst < 1e-10, f"dense simba != prefill ({worst})"
    summary = []
    for sched in ("linear", "uniform", "inverse", "dense"):
        for sel in ("simba", "random", "recent"):
            for sc in ("signed-max", "abs-max", "mean-abs"):
                for resid in ("drop", "carry"):
                    o = {"keepRatio": 0.3, "schedule": sched, "selection": sel, "score": sc,
                         "residual": resid, "seed": 7, "protect": [1, T // 2]}
                    r = simba_run(model, ids, o)
                    for l in range(1, Ly):
                        assert set(r["alive"][l]) <= set(r["alive"][l - 1])
                        assert r["alive"][l] == sorted(r["alive"][l])
                        assert {1, T // 2, T - 1} <= set(r["alive"][l])
                    assert r["retention"][T - 1] == Ly
                    for l in range(Ly):
                        assert sum(1 for x in r["retention"] if x > l) == r["counts"][l]
                    if resid == "carry":
                        assert sorted(r["readout"]) == list(range(T))
                    else:
                        assert sorted(r["readout"]) == r["alive"][-1]
                    if sel == "recent":
                        forced = {1, T // 2, T - 1}
                        for l in range(1, Ly):
                            rest = [t for t in r["alive"][l] if t not in forced]
                            k = r["counts"][l] - len(forced & set(r["alive"][l - 1]))
                            assert rest == [t for t in r["alive"][l - 1] if t not in forced][-k:] if k else rest == []
                    summary.append((sched, sel, sc, resid, r["counts"], r["identityMaxAbs"]))
    # decode after a pruned prefill == pruned prefill of the extended sequence
    r = simba_run(model, ids, {"keepRatio": 0.2})
    nxt = int(np.argmax(r["readout"][T - 1].numpy()))
    step_logits, _ = model.step(nxt, r["states"])
    ext_alive = [a + [T] for a in r["alive"]]
    ref = forward_with_alive(model, list(ids) + [nxt], ext_alive)
    d = float((step_logits - ref).abs().max())
    assert d < 1e-10, f"pruned decode != pruned prefill ({d})"
    if verbose:
        print(json.dumps({"T": T, "layers": Ly, "denseMaxAbs": worst, "prunedDecodeMaxAbs": d,
                          "identityMaxAbs": max(s[-1] for s in summary), "runs": len(summary),
                          "counts": {f"{s[0]}": s[4] for s in summary}}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--tokens", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    m = MambaRef(a.checkpoint, torch.float64)
    rng = np.random.default_rng(a.seed)
    ids = [int(x) for x in rng.integers(0, m.vocab, a.tokens)]
    self_check(m, ids)
    # schedule table for a few shapes (useful to eyeball and for the TS unit tests)
    for T, Ly, rho in ((300, 4, 0.1), (300, 24, 0.1), (1000, 24, 0.3), (7, 4, 0.5)):
        print(json.dumps({"T": T, "Ly": Ly, "rho": rho, **{s: schedule_counts(T, Ly, rho, s) for s in
                                                           ("linear", "uniform", "inverse")}}))


if __name__ == "__main__":
    main()
