"""Mamba-1 language model, matching Hugging Face MambaForCausalLM (slow path).

Parameter names mirror HF: backbone.embeddings, backbone.layers.{i}.norm,
backbone.layers.{i}.mixer.{in_proj,conv1d,x_proj,dt_proj,A_log,D,out_proj},
backbone.norm_f; lm_head tied to embeddings.
"""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

_ext = None


def load_ext(verbose=False):
    global _ext
    if _ext is None:
        from torch.utils.cpp_extension import load
        here = os.path.dirname(os.path.abspath(__file__))
        build = os.path.join(here, "build")
        os.makedirs(build, exist_ok=True)
        _ext = load(
            name="simba_selective_scan",
            sources=[os.path.join(here, "selective_scan.cpp")],
            extra_cflags=["-O3", "-march=native", "-ffast-math", "-mprefer-vector-width=512", "-fopenmp"],
            extra_ldflags=["-fopenmp"],
            build_directory=build,
            verbose=verbose,
        )
    return _ext


class FusedScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, Bm, Cm):
        # u, delta: (B,L,E); A: (E,N); Bm, Cm: (B,L,N); returns y (B,L,E)
        u, delta, A, Bm, Cm = [t.contiguous() for t in (u, delta, A, Bm, Cm)]
        ctx.save_for_backward(u, delta, A, Bm, Cm)
        return load_ext().fwd(u, delta, A, Bm, Cm)

    @staticmethod
    def backward(ctx, dy):
        u, delta, A, Bm, Cm = ctx.saved_tensors
        du, dd, dA, dB, dC = load_ext().bwd(u, delta, A, Bm, Cm, dy.contiguous())
        return du, dd, dA, dB, dC


def naive_scan(u, delta, A, Bm, Cm):
    """Reference: same semantics as FusedScan, step by step (HF slow path). u, delta: (B,L,E)."""
    Bsz, L, E = u.shape
    N = A.shape[1]
    dA = torch.exp(delta.unsqueeze(-1) * A)                          # (B,L,E,N)
    dBu = (delta * u).unsqueeze(-1) * Bm.unsqueeze(2)                # (B,L,E,N)
    h = torch.zeros(Bsz, E, N, dtype=u.dtype)
    ys = []
    for t in range(L):
        h = dA[:, t] * h + dBu[:, t]
        ys.append((h * Cm[:, t].unsqueeze(1)).sum(-1))
    return torch.stack(ys, dim=1)


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


class MambaMixer(nn.Module):
    def __init__(self, d_model, d_inner, d_state, dt_rank, d_conv,
                 dt_min=0.001, dt_max=0.1, dt_init_floor=1e-4):
        super().__init__()
        self.d_inner, self.d_state, self.dt_rank, self.d_conv = d_inner, d_state, dt_rank, d_conv
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1, bias=True)
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner, bias=True)
        # mamba dt_init ("random"): weight ~ U(-s, s), s = dt_rank^-0.5 ; bias = inv_softplus(dt)
        s = dt_rank ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -s, s)
        dt = torch.exp(torch.rand(d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=dt_init_floor)
        inv_dt = dt + torch.log(-torch.expm1(-dt))
        with torch.no_grad():
            self.dt_proj.bias.copy_(inv_dt)
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)

    def forward(self, hidden, fused=True):
        L = hidden.shape[1]
        x, z = self.in_proj(hidden).chunk(2, dim=-1)                 # (B, L, E) each
        x = self.conv1d(x.transpose(1, 2))[..., :L].transpose(1, 2)   # causal depthwise conv
        x = F.silu(x).contiguous()                                    # (B, L, E)
        ssm = self.x_proj(x)                                          # (B, L, R+2N)
        dt, Bm, Cm = torch.split(ssm, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt))                          # (B, L, E)
        A = -torch.exp(self.A_log.float())
        scan = FusedScan.apply if fused else naive_scan
        y = scan(x, delta, A, Bm, Cm)
        y = (y + x * self.D) * F.silu(z)
        return self.out_proj(y)


class MambaBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])
        self.mixer = MambaMixer(cfg["hidden_size"], cfg["intermediate_size"], cfg["state_size"],
                                cfg["time_step_rank"], cfg["conv_kernel"])

    def forward(self, h, fused=True):
        return h + self.mixer(self.norm(h), fused=fused)


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([MambaBlock(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm_f = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])


class MambaLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.backbone = Backbone(cfg)
        # HF _init_weights: embeddings normal(0, 0.02); Linear weights kaiming-uniform (torch default);
        # out_proj rescaled by 1/sqrt(n_layer) (rescale_prenorm_residual).
        nn.init.normal_(self.backbone.embeddings.weight, std=cfg.get("initializer_range", 0.02))
        n = cfg["num_hidden_layers"]
        for layer in self.backbone.layers:
            with torch.no_grad():
                layer.mixer.out_proj.weight /= math.sqrt(n)

    def forward(self, ids, fused=True):
        h = self.backbone.embeddings(ids)
        for layer in self.backbone.layers:
            h = layer(h, fused=fused)
        h = self.backbone.norm_f(h)
        return h @ self.backbone.embeddings.weight.t()


def make_config(vocab_size=4096, d_model=256, n_layer=8, d_state=16, expand=2, d_conv=4):
    return {
        "architectures": ["MambaForCausalLM"],
        "model_type": "mamba",
        "vocab_size": vocab_size,
        "hidden_size": d_model,
        "num_hidden_layers": n_layer,
        "state_size": d_state,
        "expand": expand,
        "intermediate_size": expand * d_model,
        "time_step_rank": math.ceil(d_model / 16),
        "conv_kernel": d_conv,
        "use_bias": False,
        "use_conv_bias": True,
        "hidden_act": "silu",
        "layer_norm_epsilon": 1e-5,
        "initializer_range": 0.02,
        "residual_in_fp32": True,
        "rescale_prenorm_residual": False,
        "time_step_scale": 1.0,
        "time_step_min": 0.001,
        "time_step_max": 0.1,
        "time_step_init_scheme": "random",
        "time_step_floor": 1e-4,
        "tie_word_embeddings": True,
        "use_cache": True,
        "pad_token_id": 0,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "torch_dtype": "float32",
    }
