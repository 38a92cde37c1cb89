"""Trains the bundled Simba Lens Mamba-1 model on CPU, single thread, for a wall-clock budget.

Example (the command used for the shipped model is in media/model/README.md):
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nohup /usr/bin/python3 tools/train/train.py --minutes 100 \
      > tools/runs/train.log 2>&1 &
"""
import argparse, json, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mamba_model import MambaLM, make_config, load_ext
from export_hf import export

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, required=True, help="wall-clock budget; LR schedule ends then")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--warmup-steps", type=int, default=150)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--early-export-min", type=float, default=10.0)
    ap.add_argument("--data", default=os.path.join(ROOT, "tools", "data", "train.u16"))
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "tools", "data", "tokenizer.json"))
    ap.add_argument("--out", default=os.path.join(ROOT, "media", "model"))
    ap.add_argument("--run-dir", default=os.path.join(ROOT, "tools", "runs"))
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    load_ext()
    data = np.fromfile(args.data, dtype=np.uint16)
    cfg = make_config(vocab_size=4096, d_model=args.d_model, n_layer=args.layers)
    model = MambaLM(cfg)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"params {nparams} ({nparams/1e6:.2f}M); train tokens available {len(data)}; args {vars(args)}", flush=True)

    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() >= 2 and not n.endswith("A_log") else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    budget = args.minutes * 60.0
    t_start = time.time()
    step, tokens, early_done = 0, 0, False
    T, B = args.seq_len, args.batch
    loss_ema = None
    os.makedirs(args.run_dir, exist_ok=True)

    def meta():
        return {"step": str(step), "tokens_seen": str(tokens), "seed": str(args.seed),
                "wall_seconds": "%.0f" % (time.time() - t_start)}

    while True:
        elapsed = time.time() - t_start
        frac = elapsed / budget
        if frac >= 1.0:
            break
        if step < args.warmup_steps:
            lr = args.lr * (step + 1) / args.warmup_steps
        else:
            lr = args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = rng.integers(0, len(data) - T - 1, size=B)
        batch = torch.from_numpy(np.stack([data[s:s + T + 1] for s in starts]).astype(np.int64))
        x, y = batch[:, :-1], batch[:, 1:]
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        tokens += B * T
        loss_ema = loss.item() if loss_ema is None else 0.98 * loss_ema + 0.02 * loss.item()
        if step % 20 == 0:
            el = time.time() - t_start
            print(f"step {step} tok {tokens} loss {loss.item():.4f} ema {loss_ema:.4f} "
                  f"gnorm {gn:.2f} lr {lr:.2e} tok/s {tokens/el:.0f} elapsed {el/60:.1f}m", flush=True)
        if not early_done and time.time() - t_start > args.early_export_min * 60:
            export(model, args.out, args.tokenizer, meta())
            print(f"EARLY EXPORT at step {step} -> {args.out}", flush=True)
            early_done = True
        if step % 500 == 0:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "tokens": tokens,
                        "cfg": cfg}, os.path.join(args.run_dir, "ckpt.pt"))
    wall = time.time() - t_start
    export(model, args.out, args.tokenizer, meta())
    torch.save({"model": model.state_dict(), "step": step, "tokens": tokens, "cfg": cfg},
               os.path.join(args.run_dir, "final.pt"))
    summary = {"params": nparams, "steps": step, "tokens_seen": tokens, "wall_seconds": round(wall),
               "final_loss_ema": loss_ema, "args": vars(args)}
    with open(os.path.join(args.run_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print("FINAL EXPORT", json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
