"""Checks the fused C++ selective scan against the naive PyTorch scan (forward + all gradients)."""
import sys, time
import torch
sys.path.insert(0, __import__("os").path.dirname(__file__))
from mamba_model import FusedScan, naive_scan, load_ext, MambaLM, make_config

torch.manual_seed(0)
torch.set_num_threads(1)
load_ext(verbose=False)
ok = True
for (B, E, L, N) in [(2, 16, 7, 4), (1, 32, 33, 16), (3, 48, 64, 16)]:
    u = torch.randn(B, L, E, dtype=torch.float64)
    delta = torch.nn.functional.softplus(torch.randn(B, L, E, dtype=torch.float64))
    A = -torch.exp(torch.randn(E, N, dtype=torch.float64) * 0.5)
    Bm = torch.randn(B, L, N, dtype=torch.float64)
    Cm = torch.randn(B, L, N, dtype=torch.float64)
    dy = torch.randn(B, L, E, dtype=torch.float64)
    ins64 = [t.clone().requires_grad_(True) for t in (u, delta, A, Bm, Cm)]
    y64 = naive_scan(*ins64)
    g64 = torch.autograd.grad(y64, ins64, dy)
    ins32 = [t.float().clone().requires_grad_(True) for t in (u, delta, A, Bm, Cm)]
    y32 = FusedScan.apply(*ins32)
    g32 = torch.autograd.grad(y32, ins32, dy.float())
    def rel(a, b):
        return ((a.double() - b).abs().max() / (b.abs().max() + 1e-12)).item()
    errs = [rel(y32, y64)] + [rel(a, b) for a, b in zip(g32, g64)]
    print((B, E, L, N), "rel err y,du,ddelta,dA,dB,dC:", ["%.1e" % e for e in errs])
    ok &= all(e < 1e-4 for e in errs)

# whole-model check: fused vs naive paths give the same loss and grads
cfg = make_config(vocab_size=64, d_model=32, n_layer=2)
m = MambaLM(cfg)
ids = torch.randint(0, 64, (2, 40))
def lossgrad(fused):
    m.zero_grad()
    lo = m(ids, fused=fused)
    loss = torch.nn.functional.cross_entropy(lo.reshape(-1, 64), ids.roll(-1, 1).reshape(-1))
    loss.backward()
    return loss.item(), [p.grad.clone() for p in m.parameters()]
l1, g1 = lossgrad(True)
l2, g2 = lossgrad(False)
mg = max(((a - b).abs().max() / (b.abs().max() + 1e-12)).item() for a, b in zip(g1, g2))
print("model loss fused %.6f naive %.6f, max rel grad diff %.1e" % (l1, l2, mg))
ok &= abs(l1 - l2) < 1e-5 and mg < 1e-3

# speed
B, E, L, N = 8, 512, 512, 16
u = torch.randn(B, L, E); d = torch.rand(B, L, E) * 0.1; A = -torch.rand(E, N) * 16
Bm = torch.randn(B, L, N); Cm = torch.randn(B, L, N)
t0 = time.time(); y = load_ext().fwd(u, d, A, Bm, Cm); t1 = time.time()
load_ext().bwd(u, d, A, Bm, Cm, y); t2 = time.time()
print("speed B=%d E=%d L=%d: fwd %.3fs bwd %.3fs" % (B, E, L, t1 - t0, t2 - t1))
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
