#!/usr/bin/python3
"""Independent PyTorch reference for Hugging Face Mamba-2 checkpoints (model_type "mamba2").

    /usr/bin/python3 tools/reference/mamba2_ref.py CHECKPOINT_DIR [--tokens 40]       # self-checks
    /usr/bin/python3 tools/reference/mamba2_ref.py --write OUT_DIR [--groups 2] ...   # random checkpoint

Written from transformers `models/mamba2/modeling_mamba2.py` (Mamba2Mixer.torch_forward and its
cache step) and state-spaces/mamba `mamba_ssm/modules/mamba2.py` + `ops/triton/layernorm_gated.py`
(docs: /work/shared/design/model-families.md §2). Float64 by default. Per layer, with
H heads of P channels (E = H·P), G groups of N states, group g(h) = h // (H/G):

    r = h;  x̂ = RMSNorm(h)·w_norm;  [z; xBC; dt] = in_proj(x̂)          rows E, E+2GN, H
    xBC = SiLU(causal_depthwise_conv_K(xBC) + b_conv);  [x; B; C] = split(xBC, [E, GN, GN])
    Δ[h] = clamp(softplus(dt[h] + dt_bias[h]), time_step_limit);  A[h] = -exp(A_log[h])
    S_t[h] = exp(Δ_t[h] A[h]) S_{t-1}[h] + Δ_t[h] x_t[h,:] ⊗ B_t[g(h),:]          S: (H, P, N)
    y_t[h,:] = S_t[h] C_t[g(h),:] + D[h] x_t[h,:]
    v = y ⊙ SiLU(z)                         (gate before the norm: norm_before_gate=False)
    out = out_proj(w_gnorm ⊙ groupRMS(v))   (RMS over each of the G groups of E/G channels, as
                                             mamba_ssm's RMSNormGated(group_size=E/G); transformers'
                                             torch path normalises over all E — they agree at G=1)
    h = r + out;   logits = lm_head(RMSNorm_f(h))
Eps: layer_norm_epsilon for every norm (mamba_ssm's gated norm uses 1e-5, HF's default eps).
Δ is clamped both in prefill and in the recurrent step (transformers' torch path).

Simba (docs/method.md §2 on Mamba-2): token t's contribution to y_T[h,p] is
    Δy_T(t)[h,p] = x_t[h,p]·Δ_t[h]·(C_T[g(h)]·B_t[g(h)])·exp(A[h]·S_t[h]),  S_t[h] = Σ_{k>t} Δ_k[h]
and Σ_t Δy_T(t) + D·x_T = y_T; simba_ref.simba_run checks it on every layer through
`Mamba2Ref.influence` and the fields u (= x, (L, E)) and D (per channel, (E,)) that this class
exposes under Mamba-1's names.
"""
import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mamba_ref import MambaRef, check_decode_matches_prefill  # noqa: E402
from safetensors_io import load_checkpoint_tensors, save_file  # noqa: E402

torch.set_num_threads(1)


class Mamba2Cfg:
    def __init__(self, d: dict):
        self.raw = d
        self.d_model = int(d["hidden_size"])
        self.n_layer = int(d["num_hidden_layers"])
        self.d_state = int(d.get("state_size", 128))
        self.n_heads = int(d["num_heads"])
        self.head_dim = int(d["head_dim"])
        self.n_groups = int(d.get("n_groups", 1))
        self.expand = d.get("expand", 2)
        self.d_inner = int(self.expand * self.d_model)
        assert self.n_heads * self.head_dim == self.d_inner, "num_heads * head_dim != expand * hidden_size"
        assert self.n_heads % self.n_groups == 0, "n_groups must divide num_heads"
        self.d_conv = int(d.get("conv_kernel", 4))
        self.use_bias = bool(d.get("use_bias", False))
        self.use_conv_bias = bool(d.get("use_conv_bias", True))
        self.eps = float(d.get("layer_norm_epsilon", 1e-5))
        self.vocab_size = int(d["vocab_size"])
        self.tie = bool(d.get("tie_word_embeddings", False))
        lim = d.get("time_step_limit", [0.0, float("inf")])
        self.dt_min, self.dt_max = float(lim[0]), float(lim[1])
        self.conv_dim = self.d_inner + 2 * self.n_groups * self.d_state

    def to_dict(self):
        return {"model_type": "mamba2", "d_model": self.d_model, "n_layer": self.n_layer,
                "d_state": self.d_state, "d_inner": self.d_inner, "num_heads": self.n_heads,
                "head_dim": self.head_dim, "n_groups": self.n_groups, "d_conv": self.d_conv,
                "use_bias": self.use_bias, "use_conv_bias": self.use_conv_bias,
                "layer_norm_epsilon": self.eps, "vocab_size": self.vocab_size,
                "tie_word_embeddings": self.tie,
                # JSON has no infinity: the upper limit is written as null when unbounded
                "time_step_limit": [self.dt_min, self.dt_max if math.isfinite(self.dt_max) else None]}


class Mamba2Ref(MambaRef):
    """Same interface as MambaRef (forward, layer_forward, step, greedy, logits, embed) so that
    simba_ref and make_fixtures drive it unchanged."""

    def __init__(self, folder: str, dtype=torch.float64):
        with open(os.path.join(folder, "config.json")) as f:
            self.cfg = Mamba2Cfg(json.load(f))  # json accepts the literal Infinity
        cfg = self.cfg
        raw = load_checkpoint_tensors(folder)
        self.source_dtypes = sorted({dt for _, dt in raw.values()})
        W = {k: torch.from_numpy(np.ascontiguousarray(v)).to(dtype) for k, (v, _) in raw.items()}
        self.dtype = dtype
        self.emb = W["backbone.embeddings.weight"]
        self.norm_f = W["backbone.norm_f.weight"]
        lm = W.get("lm_head.weight")
        self.lm_head = self.emb if (cfg.tie or lm is None) else lm
        H, P, G, N, E = cfg.n_heads, cfg.head_dim, cfg.n_groups, cfg.d_state, cfg.d_inner
        self.layers = []
        for i in range(cfg.n_layer):
            p, m = f"backbone.layers.{i}.", f"backbone.layers.{i}.mixer."
            in_w = W[m + "in_proj.weight"]
            assert tuple(in_w.shape) == (2 * E + 2 * G * N + H, cfg.d_model), in_w.shape
            Dh = W[m + "D"]
            L = {
                "norm": W[p + "norm.weight"],
                "in_w": in_w,
                "in_b": W[m + "in_proj.bias"] if cfg.use_bias else None,
                "conv_w": W[m + "conv1d.weight"].reshape(cfg.conv_dim, cfg.d_conv),
                "conv_b": W[m + "conv1d.bias"] if cfg.use_conv_bias else None,
                "dt_bias": W[m + "dt_bias"],
                "A_head": -torch.exp(W[m + "A_log"]),
                "D_head": Dh,
                "D": Dh.repeat_interleave(P),          # per channel, for simba_ref's identity line
                "gnorm": W[m + "norm.weight"],
                "out_w": W[m + "out_proj.weight"],
                "out_b": W[m + "out_proj.bias"] if cfg.use_bias else None,
            }
            L["A"] = L["A_head"]
            self.layers.append(L)
        self.vocab = self.lm_head.shape[0]

    # --- pieces ---------------------------------------------------------------
    def gated_norm(self, L, y, z):
        """mamba_ssm RMSNormGated(norm_before_gate=False, group_size=E/G): (y ⊙ SiLU(z)) normalised per group."""
        cfg = self.cfg
        v = y * F.silu(z)
        shp = v.shape
        vg = v.reshape(*shp[:-1], cfg.n_groups, cfg.d_inner // cfg.n_groups)
        vg = vg * torch.rsqrt(vg.pow(2).mean(-1, keepdim=True) + cfg.eps)
        return L["gnorm"] * vg.reshape(shp)

    def mixer_output(self, L, y, z):
        out = self.gated_norm(L, y, z) @ L["out_w"].T
        if L["out_b"] is not None:
            out = out + L["out_b"]
        return out

    def split_proj(self, L, xn):
        cfg = self.cfg
        proj = xn @ L["in_w"].T
        if L["in_b"] is not None:
            proj = proj + L["in_b"]
        E = cfg.d_inner
        return proj[..., :E], proj[..., E:E + cfg.conv_dim], proj[..., E + cfg.conv_dim:]

    def post_conv(self, L, xbc, dt):
        """SiLU'd conv output (…, conv_dim) and raw dt (…, H) -> x (…, E), B, C (…, G, N), Δ (…, H)."""
        cfg = self.cfg
        E, G, N = cfg.d_inner, cfg.n_groups, cfg.d_state
        x, B, C = xbc[..., :E], xbc[..., E:E + G * N], xbc[..., E + G * N:]
        delta = torch.clamp(F.softplus(dt + L["dt_bias"]), cfg.dt_min, cfg.dt_max)
        return x, B.reshape(*B.shape[:-1], G, N), C.reshape(*C.shape[:-1], G, N), delta

    def head_group(self):
        cfg = self.cfg
        return torch.arange(cfg.n_heads) // (cfg.n_heads // cfg.n_groups)

    def layer_forward(self, li, h, conv_state=None, ssm_state=None):
        """Layer li over rows h (L, D). info: u (= x, (L, E)), dt (Δ, (L, H)), B, C (L, G, N),
        y (scan output incl. D·x, before gate and norm, (L, E)), conv_state (K-1, conv_dim),
        ssm_state (H, P, N)."""
        L = self.layers[li]
        cfg = self.cfg
        K, H, P, N = cfg.d_conv, cfg.n_heads, cfg.head_dim, cfg.d_state
        xn = self.rmsnorm(h, L["norm"])
        z, xbc_in, dt = self.split_proj(L, xn)
        if conv_state is None:
            conv_state = torch.zeros(K - 1, cfg.conv_dim, dtype=h.dtype)
        xp = torch.cat([conv_state, xbc_in], 0)
        n = h.shape[0]
        conv = torch.zeros(n, cfg.conv_dim, dtype=h.dtype)
        for k in range(K):
            conv = conv + L["conv_w"][:, k] * xp[k:k + n]
        if L["conv_b"] is not None:
            conv = conv + L["conv_b"]
        x, B, C, delta = self.post_conv(L, F.silu(conv), dt)
        gh = self.head_group()
        Bh, Ch = B[:, gh, :], C[:, gh, :]                  # (L, H, N)
        xh = x.reshape(n, H, P)
        s = torch.zeros(H, P, N, dtype=h.dtype) if ssm_state is None else ssm_state.clone()
        ys = []
        for t in range(n):
            dA = torch.exp(delta[t] * L["A_head"])          # (H,)
            s = dA[:, None, None] * s + (delta[t][:, None] * xh[t])[:, :, None] * Bh[t][:, None, :]
            ys.append(torch.einsum("hpn,hn->hp", s, Ch[t]))
        y = (torch.stack(ys, 0) + L["D_head"][None, :, None] * xh).reshape(n, -1)
        out = h + self.mixer_output(L, y, z)
        info = {"u": x, "dt": delta, "B": B, "C": C, "y": y, "z": z,
                "conv_state": xp[-(K - 1):].clone(), "ssm_state": s}
        return out, info

    def influence(self, li, info):
        """Δy_T(t)[h·P + p] for every row t (rows in sequence order, T = last row): (n, E)."""
        cfg = self.cfg
        H, P = cfg.n_heads, cfg.head_dim
        A = self.layers[li]["A_head"]
        dt, x, B, C = info["dt"], info["u"], info["B"], info["C"]
        n = dt.shape[0]
        rc = torch.flip(torch.cumsum(torch.flip(dt, [0]), 0), [0])
        S = torch.zeros_like(dt)
        S[:-1] = rc[1:]                                     # exclusive suffix sum (n, H)
        gh = self.head_group()
        cb = (B * C[-1][None]).sum(-1)[:, gh]               # (n, H): C_T[g(h)]·B_t[g(h)]
        w = dt * cb * torch.exp(A[None, :] * S)             # (n, H): one exp per token and head
        return (x.reshape(n, H, P) * w[:, :, None]).reshape(n, -1)

    def step(self, token_id, states):
        """One token through every layer (written separately from layer_forward, as the HF cache
        path). states: list of (conv_state (K-1, conv_dim), ssm_state (H, P, N))."""
        cfg = self.cfg
        H, P, N = cfg.n_heads, cfg.head_dim, cfg.d_state
        gh = self.head_group()
        h = self.emb[int(token_id)].clone()
        new = []
        for li, L in enumerate(self.layers):
            cs, ss = states[li]
            xn = self.rmsnorm(h, L["norm"])
            z, xbc_in, dt = self.split_proj(L, xn)
            window = torch.cat([cs, xbc_in[None, :]], 0)        # (K, conv_dim), oldest first
            c = (window.T * L["conv_w"]).sum(-1)
            if L["conv_b"] is not None:
                c = c + L["conv_b"]
            x, B, C, delta = self.post_conv(L, F.silu(c), dt)
            xh = x.reshape(H, P)
            dA = torch.exp(delta * L["A_head"])
            ss = dA[:, None, None] * ss + (delta[:, None] * xh)[:, :, None] * B[gh][:, None, :]
            y = torch.einsum("hpn,hn->hp", ss, C[gh]) + L["D_head"][:, None] * xh
            h = h + self.mixer_output(L, y.reshape(-1), z)
            new.append((window[1:].clone(), ss))
        return self.logits(h[None, :])[0], new


def is_mamba2(folder):
    with open(os.path.join(folder, "config.json")) as f:
        d = json.load(f)
    return d.get("model_type") == "mamba2" or "Mamba2ForCausalLM" in (d.get("architectures") or [])


def load_model(folder, dtype=torch.float64):
    """The reference for a checkpoint folder: Mamba-2 or Mamba-1 by its config.json."""
    return Mamba2Ref(folder, dtype) if is_mamba2(folder) else MambaRef(folder, dtype)


# ----------------------------------------------------------------------------- random checkpoints

def build_random(a):
    """Random Mamba-2 weights in the exact HF layout, init as HF Mamba2PreTrainedModel /
    mamba_ssm in spirit: A_log = log(U(1, 16)) per head, D = 1, dt_bias = softplus^-1(dt) with dt
    log-uniform in [1e-3, 1e-1], conv U(±1/sqrt(K)), Linear/embeddings N(0, init_std²), out_proj
    / sqrt(layers); --jitter multiplies norm weights, D and conv bias by (1 + J·N(0,1))."""
    D, Ly, N, V, K, G, P = a.d_model, a.layers, a.d_state, a.vocab, a.d_conv, a.groups, a.head_dim
    E = a.expand * D
    H = E // P
    conv_dim = E + 2 * G * N
    rng = np.random.default_rng(a.seed)
    J, S0 = a.jitter, a.init_std

    def normal(shape, std):
        return rng.standard_normal(shape) * std

    def jit(x):
        return x * (1 + J * rng.standard_normal(x.shape)) if J > 0 else x

    T = {"backbone.embeddings.weight": normal((V, D), S0)}
    for i in range(Ly):
        p, m = f"backbone.layers.{i}.", f"backbone.layers.{i}.mixer."
        T[m + "A_log"] = np.log(rng.uniform(1, 16, H))
        T[m + "D"] = jit(np.ones(H))
        T[m + "conv1d.weight"] = rng.uniform(-1, 1, (conv_dim, 1, K)) / math.sqrt(K)
        T[m + "conv1d.bias"] = jit(rng.uniform(-1, 1, conv_dim) / math.sqrt(K))
        T[m + "in_proj.weight"] = normal((2 * E + 2 * G * N + H, D), S0)
        dt = np.exp(rng.uniform(0, 1, H) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        dt = np.maximum(dt, 1e-4)
        T[m + "dt_bias"] = dt + np.log(-np.expm1(-dt))
        T[m + "norm.weight"] = jit(np.ones(E))
        T[m + "out_proj.weight"] = normal((D, E), S0) / math.sqrt(Ly)
        T[p + "norm.weight"] = jit(np.ones(D))
    T["backbone.norm_f.weight"] = jit(np.ones(D))
    if a.untied:
        T["lm_head.weight"] = normal((V, D), 1 / math.sqrt(D))
    lim = [float(x) for x in a.time_step_limit]
    cfg = {
        "architectures": ["Mamba2ForCausalLM"], "model_type": "mamba2",
        "hidden_size": D, "num_hidden_layers": Ly, "state_size": N, "expand": a.expand,
        "num_heads": H, "head_dim": P, "n_groups": G, "conv_kernel": K, "chunk_size": 256,
        "use_bias": False, "use_conv_bias": True, "layer_norm_epsilon": 1e-5, "vocab_size": V,
        "tie_word_embeddings": not a.untied, "hidden_act": "silu", "residual_in_fp32": True,
        "rms_norm": True, "norm_before_gate": False, "initializer_range": S0, "time_step_rank": "auto",
        "time_step_min": 0.001, "time_step_max": 0.1, "time_step_floor": 0.0001,
        "time_step_limit": lim, "rescale_prenorm_residual": False,
        "bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0, "use_cache": True,
        "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[a.dtype],
    }
    return T, cfg


def write_random(a):
    T, cfg = build_random(a)
    os.makedirs(a.write, exist_ok=True)
    with open(os.path.join(a.write, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)  # an unbounded limit is written as the literal Infinity, as HF does
        f.write("\n")
    save_file(T, os.path.join(a.write, "model.safetensors"), a.dtype,
              {"format": "pt", "generator": "tools/reference/mamba2_ref.py", "seed": a.seed, "jitter": a.jitter})
    if a.tokenizer:
        dst = os.path.join(a.write, "tokenizer.json")
        if os.path.abspath(a.tokenizer) != os.path.abspath(dst):
            shutil.copyfile(a.tokenizer, dst)
    print(json.dumps({"out": a.write, "params": int(sum(v.size for v in T.values())), "dtype": a.dtype,
                      "heads": cfg["num_heads"], "groups": cfg["n_groups"], "time_step_limit": cfg["time_step_limit"]}))


# ----------------------------------------------------------------------------- self-check

def self_check(m, ids):
    """decode == prefill, chunked prefill == one chunk, identity, and (G > 1) that the per-group
    norm differs from the all-E norm (so the fixture can tell them apart)."""
    worst = check_decode_matches_prefill(m, ids, len(ids) // 2, 1e-9)
    h = m.embed(ids)
    res = {"decodeVsPrefillMaxAbs": worst, "identityMaxAbs": 0.0, "chunkedMaxAbs": 0.0}
    for li in range(m.cfg.n_layer):
        out, info = m.layer_forward(li, h)
        k = len(ids) // 3
        a, ia = m.layer_forward(li, h[:k])
        b, _ = m.layer_forward(li, h[k:], ia["conv_state"], ia["ssm_state"])
        res["chunkedMaxAbs"] = max(res["chunkedMaxAbs"], float((torch.cat([a, b]) - out).abs().max()))
        # the SSD "attention" (quadratic) form of the same scan, as mamba_ssm's ssd_minimal:
        # y_t = Σ_{s<=t} exp(A·Σ_{s<k<=t} Δ_k) Δ_s (C_t·B_s) x_s + D x_t — independent of the recurrence
        H, P = m.cfg.n_heads, m.cfg.head_dim
        gh = m.head_group()
        cs = torch.cumsum(info["dt"], 0)                                   # (L, H)
        seg = cs[:, None, :] - cs[None, :, :]                             # (t, s, H)
        n = len(ids)
        mask = torch.tril(torch.ones(n, n, dtype=torch.bool))[:, :, None]
        decay = torch.where(mask, torch.exp(seg * m.layers[li]["A_head"]), torch.zeros(()).to(seg.dtype))
        cb = torch.einsum("tgn,sgn->tsg", info["C"], info["B"])[:, :, gh]  # (t, s, H)
        xs = info["u"].reshape(n, H, P) * info["dt"][:, :, None]
        yq = torch.einsum("tsh,shp->thp", decay * cb, xs) + m.layers[li]["D_head"][None, :, None] * info["u"].reshape(n, H, P)
        res["quadraticMaxAbs"] = max(res.get("quadraticMaxAbs", 0.0), float((yq.reshape(n, -1) - info["y"]).abs().max()))
        dy = m.influence(li, info)
        lhs = dy.sum(0) + m.layers[li]["D"] * info["u"][-1]
        res["identityMaxAbs"] = max(res["identityMaxAbs"], float((lhs - info["y"][-1]).abs().max()))
        h = out
    assert res["chunkedMaxAbs"] < 1e-10 and res["identityMaxAbs"] < 1e-10 and res["quadraticMaxAbs"] < 1e-10, res
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", nargs="?")
    ap.add_argument("--tokens", type=int, default=40)
    ap.add_argument("--write", help="write a random Mamba-2 checkpoint to this folder")
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-state", type=int, default=16)
    ap.add_argument("--expand", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=16)
    ap.add_argument("--groups", type=int, default=1)
    ap.add_argument("--d-conv", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--tokenizer")
    ap.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    ap.add_argument("--untied", action="store_true")
    ap.add_argument("--init-std", type=float, default=0.1)
    ap.add_argument("--jitter", type=float, default=0.0)
    ap.add_argument("--time-step-limit", nargs=2, default=["0.0", "inf"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.write:
        write_random(a)
        return
    if not a.checkpoint:
        ap.error("give a checkpoint folder or --write")
    m = Mamba2Ref(a.checkpoint)
    rng = np.random.default_rng(0)
    ids = [int(x) for x in rng.integers(0, m.vocab, a.tokens)]
    print(json.dumps({"config": m.cfg.to_dict(), **self_check(m, ids)}))


if __name__ == "__main__":
    main()
