#!/usr/bin/python3
"""Float64 reference for hidden attention (Ali, Zimerman, Wolf 2024; docs/method.md §10).

    /usr/bin/python3 tools/reference/hidden_attention_ref.py [--only NAME] [--tokens 48]

For each fixture checkpoint (test/fixtures/random-tiny: Mamba-1, random-falcon: FalconMamba,
random-mamba2 and random-mamba2-g2: Mamba-2) it runs the dense model in float64 over the first
--tokens ids of the fixture, forms the full hidden-attention matrices of every layer the way the
upstream code does, checks the identity, and writes test/fixtures/hidden-attention/NAME.json.

- Mamba-1 / FalconMamba, as HiddenMambaAttn's compute_attn_matrix_fn (selective_scan_interface.py):
  dA_t = exp(Δ_t ⊗ A), dB_t = Δ_t ⊗ B_t (without Δ: B_t), and
  α[e, r, c] = Σ_n C_r[n] · (Π_{i=c+1..r} dA_i[e, n]) · dB_c[e, n], a loop over r and c.
- Mamba-2, as mamba_ssm's ssd_minimal: L = exp(segsum(A·Δ)) per head,
  α[h, r, c] = (C_r · B_c)[g(h)] · L[h, r, c] · Δ_c[h].
- Identity: Σ_c α[·, r, c]·u_c + D·u_r = y_r on every channel, row and layer (y from the model's
  own scan), so α is the operator the scan applies.
- Reductions (per target row i, window [s, i]): "mean" = the channel mean of α min–max normalised
  over the row's α of all channels and positions with 0 included (HiddenMambaAttn's
  generate_raw_attn normalises the layer's whole masked matrix, zeros included, then averages
  channels); "max" = max over channels; Mamba-2 "heads" = α per head.
- Rollout (generate_rollout + compute_rollout_attention): Ā_l = channel mean of α restricted to
  the window, Â_l = (Ā_l + I) / rowsum(Ā_l + I), joint = Â_{last} ⋯ Â_0, the target's row.
- Matrix: a layer's window block, mean (normalised over the block's α, 0 included) and max.
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mamba2_ref import load_model  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = ["random-tiny", "random-falcon", "random-mamba2", "random-mamba2-g2"]
torch.set_num_threads(1)


def alpha_mamba1(A, dt, B, C, include_delta):
    """(E, L, L) lower-triangular, literally the upstream double loop (products of dA)."""
    L, E = dt.shape
    dA = torch.exp(dt[:, :, None] * A[None])                      # (L, E, N)
    dB = (dt[:, :, None] if include_delta else torch.ones_like(dt)[:, :, None]) * B[:, None, :]
    out = torch.zeros(E, L, L, dtype=dt.dtype)
    for r in range(L):
        prod = torch.ones_like(dA[0])
        for c in range(r, -1, -1):
            out[:, r, c] = (C[r][None, :] * prod * dB[c]).sum(-1)
            prod = prod * dA[c]                                   # Π_{i=c..r} dA_i for the next c-1
    return out


def segsum(x):
    """mamba_ssm ssd_minimal.segsum: out[..., r, c] = Σ_{k=c+1..r} x[..., k] (−inf above the diagonal)."""
    T = x.size(-1)
    x = x[..., None].repeat(*([1] * x.dim()), T)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)
    x = x.masked_fill(~mask, 0)
    s = torch.cumsum(x, dim=-2)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=0)
    return s.masked_fill(~mask, -torch.inf)


def alpha_mamba2(A_head, dt, B, C, head_group, include_delta):
    """(H, L, L): (C_r·B_c)·exp(segsum(A·Δ))·Δ_c per head."""
    Lmat = torch.exp(segsum((dt * A_head[None]).T))               # (H, L, L)
    CB = torch.einsum("rgn,cgn->grc", C, B)[head_group]           # (H, L, L)
    w = dt.T[:, None, :] if include_delta else 1.0                # Δ_c
    return torch.tril(CB * Lmat * w)


def layer_alpha(m, li, info, include_delta=True):
    if "A_head" in m.layers[li]:
        return alpha_mamba2(m.layers[li]["A_head"], info["dt"], info["B"], info["C"], m.head_group(),
                            include_delta)
    return alpha_mamba1(m.layers[li]["A"], info["dt"], info["B"], info["C"], include_delta)


def identity_error(m, li, info, alpha):
    """max |Σ_c α·u_c + D·u_r − y_r| / max |y| over channels and rows."""
    u, y = info["u"], info["y"]
    L, E = u.shape
    if alpha.shape[0] != E:                                       # per head → per channel
        alpha = alpha.repeat_interleave(E // alpha.shape[0], 0)
    recon = torch.einsum("erc,ce->re", alpha, u) + m.layers[li]["D"][None] * u
    return float((recon - y).abs().max() / y.abs().max())


def normalised_mean(block):
    """Channel mean min–max normalised over the block's α (every channel), 0 included."""
    lo = min(0.0, float(block.min()))
    hi = max(0.0, float(block.max()))
    raw = block.mean(0)
    return (raw - lo) / (hi - lo) if hi > lo else torch.zeros_like(raw)


def rollout_row(alphas, s, i):
    W = i - s + 1
    joint = None
    eye = torch.eye(W, dtype=torch.float64)
    for a in alphas:                                              # layers from the first
        m = a[:, s:i + 1, s:i + 1].mean(0) + eye
        m = m / m.sum(-1, keepdim=True)
        joint = m if joint is None else m @ joint
    return joint[W - 1]


def r9(t):
    return [float(f"{v:.9g}") for v in t.tolist()]


def case(alphas, s, i, heads):
    layers = []
    for a in alphas:
        row = a[:, i, s:i + 1]
        entry = {"mean": r9(normalised_mean(row)), "max": r9(row.max(0).values)}
        if heads:
            entry["heads"] = [r9(h) for h in row]
        layers.append(entry)
    return {"target": i, "start": s, "layers": layers, "rollout": r9(rollout_row(alphas, s, i))}


def fixture(name, n_tokens):
    folder = os.path.join(ROOT, "test", "fixtures", name)
    with open(os.path.join(ROOT, "test", "fixtures", name + ".json")) as f:
        ids = json.load(f)["ids"][:n_tokens]
    m = load_model(folder, torch.float64)
    _, _, infos = m.forward(ids, keep_info=True)
    heads = "A_head" in m.layers[0]
    full = [layer_alpha(m, li, info) for li, info in enumerate(infos)]
    err = max(identity_error(m, li, info, a) for li, (info, a) in enumerate(zip(infos, full)))
    assert err < 1e-10, f"{name}: identity fails ({err:.3g})"
    no_delta = [layer_alpha(m, li, info, False) for li, info in enumerate(infos)]
    L = len(ids)
    cases = [dict(case(full, 0, i, heads), includeDelta=True) for i in (L - 1, L // 2, 3)]
    cases.append(dict(case(full, L - 16, L - 1, heads), includeDelta=True))      # a window inside
    cases.append(dict(case(no_delta, 0, L - 1, heads), includeDelta=False))
    s, i, li = L - 24, L - 1, 1
    block = full[li][:, s:i + 1, s:i + 1]
    # Above the diagonal nothing is read: 0 there, not the normalised zero.
    matrix = {"layer": li, "from": s, "to": i, "mean": r9(torch.tril(normalised_mean(block)).flatten()),
              "max": r9(torch.tril(block.max(0).values).flatten())}
    if heads:
        hb = full[li][1:2, s:i + 1, s:i + 1]
        matrix["head"] = 1
        matrix["headMean"] = r9(torch.tril(normalised_mean(hb)).flatten())
    out = {"schema": "simba-lens/hidden-attention-fixture@1", "name": name,
           "generator": "tools/reference/hidden_attention_ref.py", "compute": "float64",
           "checkpoint": f"test/fixtures/{name}", "ids": ids, "identityMaxRelErr": err,
           "cases": cases, "matrix": matrix}
    path = os.path.join(ROOT, "test", "fixtures", "hidden-attention", name + ".json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {L} tokens, {len(infos)} layers, identity max rel err {err:.2e} -> {os.path.relpath(path, ROOT)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=FIXTURES)
    ap.add_argument("--tokens", type=int, default=48)
    a = ap.parse_args()
    for name in [a.only] if a.only else FIXTURES:
        fixture(name, a.tokens)


if __name__ == "__main__":
    main()
