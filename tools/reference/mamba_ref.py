#!/usr/bin/python3
"""Independent PyTorch reference for Hugging Face Mamba-1 and FalconMamba checkpoints (the HF "slow path").

    /usr/bin/python3 tools/reference/mamba_ref.py CHECKPOINT_DIR [--text "..."] [--tokens 40]

loads the folder (config.json + model.safetensors or a sharded index), runs a full prefill,
checks that recurrent single-token decoding reproduces the prefill logits at every position,
and prints a greedy continuation. Compute dtype is float64 by default (the fixtures' "true
reference"); --float32 for speed.

Per layer (docs/method.md §1):
    r = h;  x̂ = RMSNorm(h)·w_norm;  [x; z] = in_proj(x̂)
    u = SiLU(causal_depthwise_conv(x) + b_conv);  [δ; B; C] = x_proj(u)
    Δ = softplus(dt_proj(δ));  A = -exp(A_log)
    h_t = exp(Δ_t A) ⊙ h_{t-1} + (Δ_t u_t) ⊗ B_t;  y_t = h_t C_t + D ⊙ u_t
    h = r + out_proj(y ⊙ SiLU(z));   logits = lm_head(RMSNorm_f(h))

FalconMamba (model_type "falcon_mamba"; transformers models/falcon_mamba, FalconMambaMixer.slow_forward):
the same, with three weightless RMS norms right after x_proj, eps = mixer_rms_eps (default 1e-6):
    δ ← δ / sqrt(mean_R(δ²) + eps)   (before dt_proj);   B ← rms_N(B);   C ← rms_N(C)
so Δ, B and C (and everything Simba reads) are the normalised ones.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_io import load_checkpoint_tensors  # noqa: E402

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- config

class MambaCfg:
    def __init__(self, d: dict):
        def get(*names, default=None):
            for n in names:
                if n in d and d[n] is not None:
                    return d[n]
            return default

        self.raw = d
        self.d_model = int(get("hidden_size", "d_model"))
        self.n_layer = int(get("num_hidden_layers", "n_layer"))
        self.d_state = int(get("state_size", "d_state", default=16))
        self.expand = get("expand", default=2)
        inter = get("intermediate_size", "d_inner")
        self.d_inner = int(inter) if inter is not None else int(self.expand * self.d_model)
        r = get("time_step_rank", "dt_rank", default="auto")
        self.dt_rank = math.ceil(self.d_model / 16) if r == "auto" else int(r)
        self.d_conv = int(get("conv_kernel", "d_conv", default=4))
        self.use_bias = bool(get("use_bias", default=False))
        self.use_conv_bias = bool(get("use_conv_bias", default=True))
        self.eps = float(get("layer_norm_epsilon", "norm_epsilon", default=1e-5))
        self.vocab_size = int(get("vocab_size", default=50280))
        self.tie = bool(get("tie_word_embeddings", "tie_embeddings", default=True))
        archs = d.get("architectures") or []
        self.falcon = d.get("model_type") == "falcon_mamba" or any(
            a in ("FalconMambaForCausalLM", "FalconMambaModel") for a in archs)
        # FalconMambaConfig: mixer_rms_eps (default 1e-6); None = Mamba-1 (no norms after x_proj)
        self.mixer_rms_eps = float(get("mixer_rms_eps", default=1e-6)) if self.falcon else None

    def to_dict(self):
        return {"d_model": self.d_model, "n_layer": self.n_layer, "d_state": self.d_state,
                "d_inner": self.d_inner, "dt_rank": self.dt_rank, "d_conv": self.d_conv,
                "use_bias": self.use_bias, "use_conv_bias": self.use_conv_bias,
                "layer_norm_epsilon": self.eps, "vocab_size": self.vocab_size,
                "tie_word_embeddings": self.tie,
                **({"family": "falcon_mamba", "mixer_rms_eps": self.mixer_rms_eps} if self.falcon else {})}


# ----------------------------------------------------------------------------- model

class MambaRef:
    """Weights as torch tensors of one compute dtype; batch size 1, sequences are (L, D)."""

    def __init__(self, folder: str, dtype=torch.float64):
        with open(os.path.join(folder, "config.json")) as f:
            self.cfg = MambaCfg(json.load(f))
        cfg = self.cfg
        raw = load_checkpoint_tensors(folder)
        self.source_dtypes = sorted({dt for _, dt in raw.values()})
        W = {k: torch.from_numpy(np.ascontiguousarray(v)).to(dtype) for k, (v, _) in raw.items()}
        self.dtype = dtype

        def pick(*names, required=True):
            for n in names:
                if n in W:
                    return W[n]
            if required:
                raise KeyError(f"checkpoint lacks {names[0]}")
            return None

        self.emb = pick("backbone.embeddings.weight", "backbone.embedding.weight")
        self.norm_f = pick("backbone.norm_f.weight")
        lm = pick("lm_head.weight", required=False)
        if cfg.tie or lm is None:
            lm = self.emb
        self.lm_head = lm
        self.layers = []
        for i in range(cfg.n_layer):
            p = f"backbone.layers.{i}."
            m = p + "mixer."
            L = {
                "norm": pick(p + "norm.weight"),
                "in_w": pick(m + "in_proj.weight"),
                "in_b": pick(m + "in_proj.bias", required=cfg.use_bias),
                "conv_w": pick(m + "conv1d.weight").reshape(cfg.d_inner, cfg.d_conv),
                "conv_b": pick(m + "conv1d.bias", required=cfg.use_conv_bias),
                "x_w": pick(m + "x_proj.weight"),
                "dt_w": pick(m + "dt_proj.weight"),
                "dt_b": pick(m + "dt_proj.bias"),
                "A": -torch.exp(pick(m + "A_log")),
                "D": pick(m + "D"),
                "out_w": pick(m + "out_proj.weight"),
                "out_b": pick(m + "out_proj.bias", required=cfg.use_bias),
            }
            if not cfg.use_bias:
                L["in_b"] = L["out_b"] = None
            if not cfg.use_conv_bias:
                L["conv_b"] = None
            self.layers.append(L)
        self.vocab = self.lm_head.shape[0]

    # --- pieces ---------------------------------------------------------------
    def rmsnorm(self, h, w):
        var = h.pow(2).mean(-1, keepdim=True)
        return w * (h * torch.rsqrt(var + self.cfg.eps))

    def mixer_rms(self, v):
        """FalconMamba's weightless RMS norm over the last axis (identity for Mamba-1)."""
        if self.cfg.mixer_rms_eps is None:
            return v
        return v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + self.cfg.mixer_rms_eps)

    def embed(self, ids):
        return self.emb[torch.as_tensor(ids, dtype=torch.long)].clone()

    def logits(self, h):
        return self.rmsnorm(h, self.norm_f) @ self.lm_head.T

    def mixer_inputs(self, L, h, conv_state=None):
        """Everything up to the scan for a block of rows h (L, D).
        conv_state: (K-1, E) pre-conv x preceding the block (zeros if None).
        Returns dict with x (pre-conv), z, u, dt (Δ), B, C."""
        cfg = self.cfg
        K, E = cfg.d_conv, cfg.d_inner
        xn = self.rmsnorm(h, L["norm"])
        proj = xn @ L["in_w"].T
        if L["in_b"] is not None:
            proj = proj + L["in_b"]
        x, z = proj[:, :E], proj[:, E:]
        if conv_state is None:
            conv_state = torch.zeros(K - 1, E, dtype=h.dtype)
        xp = torch.cat([conv_state, x], 0)  # (K-1+L, E)
        n = x.shape[0]
        conv = torch.zeros(n, E, dtype=h.dtype)
        for k in range(K):  # out_t = Σ_k w[:,k] * xp[t+k]   (xp[t+K-1] is x_t)
            conv = conv + L["conv_w"][:, k] * xp[k:k + n]
        if L["conv_b"] is not None:
            conv = conv + L["conv_b"]
        u = F.silu(conv)
        ssm = u @ L["x_w"].T
        R, N = cfg.dt_rank, cfg.d_state
        delta, B, C = ssm[:, :R], ssm[:, R:R + N], ssm[:, R + N:]
        delta, B, C = self.mixer_rms(delta), self.mixer_rms(B), self.mixer_rms(C)  # FalconMamba only
        dt = F.softplus(delta @ L["dt_w"].T + L["dt_b"])
        return {"x": x, "z": z, "u": u, "dt": dt, "B": B, "C": C, "xp": xp}

    def mixer_output(self, L, y, z):
        out = (y * F.silu(z)) @ L["out_w"].T
        if L["out_b"] is not None:
            out = out + L["out_b"]
        return out

    def layer_forward(self, li, h, conv_state=None, ssm_state=None):
        """Run layer li over rows h (L, D) (prefill / chunked prefill, HF slow path).
        Returns (h_out, info) where info has u, dt, B, C, y (scan output before gating, incl. D·u),
        conv_state (last K-1 pre-conv x), ssm_state (E, N)."""
        L = self.layers[li]
        cfg = self.cfg
        mi = self.mixer_inputs(L, h, conv_state)
        u, dt, B, C = mi["u"], mi["dt"], mi["B"], mi["C"]
        dA = torch.exp(L["A"][None, :, :] * dt[:, :, None])          # (L, E, N)
        dBu = (dt * u)[:, :, None] * B[:, None, :]                   # (L, E, N)
        s = torch.zeros(cfg.d_inner, cfg.d_state, dtype=h.dtype) if ssm_state is None else ssm_state.clone()
        ys = []
        for t in range(h.shape[0]):
            s = dA[t] * s + dBu[t]
            ys.append(s @ C[t])
        y = torch.stack(ys, 0) + L["D"] * u
        out = h + self.mixer_output(L, y, mi["z"])
        K = cfg.d_conv
        info = dict(mi)
        info["y"] = y
        info["conv_state"] = mi["xp"][-(K - 1):].clone() if K > 1 else mi["xp"][:0].clone()
        info["ssm_state"] = s
        return out, info

    def forward(self, ids, keep_info=False):
        """Dense prefill from empty state. Returns (logits (L, V), states, infos)."""
        h = self.embed(ids)
        states, infos = [], []
        for li in range(self.cfg.n_layer):
            h, info = self.layer_forward(li, h)
            states.append((info["conv_state"], info["ssm_state"]))
            if keep_info:
                infos.append(info)
        return self.logits(h), states, infos

    # --- recurrent decoding (HF cache path, written independently) --------------
    def step(self, token_id, states):
        """One token through every layer. states: list of (conv_state (K-1,E), ssm_state (E,N)),
        updated in place (new list returned). Returns (logits (V,), states)."""
        cfg = self.cfg
        h = self.emb[int(token_id)].clone()
        new = []
        for li, L in enumerate(self.layers):
            cs, ss = states[li]
            xn = self.rmsnorm(h, L["norm"])
            proj = L["in_w"] @ xn
            if L["in_b"] is not None:
                proj = proj + L["in_b"]
            x, z = proj[:cfg.d_inner], proj[cfg.d_inner:]
            window = torch.cat([cs, x[None, :]], 0)                   # (K, E), oldest first
            c = (window.T * L["conv_w"]).sum(-1)
            if L["conv_b"] is not None:
                c = c + L["conv_b"]
            u = F.silu(c)
            ssm = L["x_w"] @ u
            R, N = cfg.dt_rank, cfg.d_state
            dt = F.softplus(L["dt_w"] @ self.mixer_rms(ssm[:R]) + L["dt_b"])
            B, C = self.mixer_rms(ssm[R:R + N]), self.mixer_rms(ssm[R + N:])
            ss = torch.exp(dt[:, None] * L["A"]) * ss + (dt * u)[:, None] * B[None, :]
            y = ss @ C + L["D"] * u
            out = (y * F.silu(z)) @ L["out_w"].T
            if L["out_b"] is not None:
                out = out + L["out_b"]
            h = h + out
            new.append((window[1:].clone(), ss))
        return self.logits(h[None, :])[0], new

    def greedy(self, last_logits, states, n):
        """Greedy continuation: argmax (ties -> lowest id), feed back, n tokens.
        Returns (ids, margins) where margin = top1 - top2 log-prob at each step."""
        ids, margins = [], []
        logits = last_logits
        for i in range(n):
            lp = torch.log_softmax(logits, -1).numpy()
            nxt = int(np.argmax(lp))
            top2 = np.partition(lp, -2)[-2:]
            margins.append(float(top2[1] - top2[0]))
            ids.append(nxt)
            if i + 1 < n:
                logits, states = self.step(nxt, states)
        return ids, margins


# ----------------------------------------------------------------------------- tokenizer

def load_tokenizer(path):
    sys.path.insert(0, os.path.join(HERE, ".venv-tok"))
    from tokenizers import Tokenizer  # noqa: E402
    return Tokenizer.from_file(path)


# ----------------------------------------------------------------------------- self-check

def check_decode_matches_prefill(model, ids, split, tol):
    """Prefill ids[:split], then decode ids[split:] one by one; the logits must match the full
    prefill's logits at the same positions. Returns the max abs difference."""
    full, _, _ = model.forward(ids)
    lg, states, _ = model.forward(ids[:split])
    worst = float((lg - full[:split]).abs().max())
    for t in range(split, len(ids)):
        step_logits, states = model.step(ids[t], states)
        worst = max(worst, float((step_logits - full[t]).abs().max()))
    assert worst < tol, f"decode != prefill: max |Δlogit| = {worst}"
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--text", default="def fibonacci(n):\n    ")
    ap.add_argument("--ids", help="comma-separated token ids instead of --text")
    ap.add_argument("--tokens", type=int, default=16, help="greedy tokens to generate")
    ap.add_argument("--float32", action="store_true")
    a = ap.parse_args()
    dtype = torch.float32 if a.float32 else torch.float64
    m = MambaRef(a.checkpoint, dtype)
    tok = None
    tpath = os.path.join(a.checkpoint, "tokenizer.json")
    if a.ids:
        ids = [int(x) for x in a.ids.split(",")]
    else:
        tok = load_tokenizer(tpath)
        ids = tok.encode(a.text, add_special_tokens=False).ids
    if len(ids) < 3:
        ids = ids + [0] * (3 - len(ids))
    tol = 1e-3 if a.float32 else 1e-9
    worst = check_decode_matches_prefill(m, ids, max(1, len(ids) // 2), tol)
    lg, states, _ = m.forward(ids)
    gen, margins = m.greedy(lg[-1], states, a.tokens)
    # decode == prefill of the extended text
    ext = ids + gen[:-1]
    full, _, _ = m.forward(ext)
    for i, g in enumerate(gen):
        assert int(torch.argmax(full[len(ids) - 1 + i])) == g or margins[i] < 1e-6
    res = {"config": m.cfg.to_dict(), "sourceDtypes": m.source_dtypes, "ids": ids, "greedy": gen,
           "decodeVsPrefillMaxAbs": worst}
    if tok is not None:
        res["greedyText"] = tok.decode(gen, skip_special_tokens=False)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
