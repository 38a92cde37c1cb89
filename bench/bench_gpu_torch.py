#!/usr/bin/env python3
"""The PyTorch side of `npm run bench:gpu`, on the same GPU and checkpoint as the engine.

    python3 bench/bench_gpu_torch.py CHECKPOINT_DIR [--tokens 8192,32768] [--decode 64] [--repeat 2]

Times, in float32 on CUDA:
  hf   Hugging Face transformers' MambaForCausalLM (whatever path it takes on this machine: the
       fused kernels when mamba-ssm/causal-conv1d are installed, else its PyTorch slow path;
       "hfPath" says which). Prefill = backbone over the ids + LM head at the last position (the
       engine also reads out only the prediction point). Decode ms/token from generate():
       (time for 1+n new tokens - time for 1) / n, greedy, from a 1024-token prompt.
  ref  tools/reference's PyTorch reference (bench_ref.prefill: HF slow-path formulation with a
       Python loop over time; MambaRef.step for decoding), with its weights moved to the GPU.
Prints one JSON line. A size that fails (e.g. out of memory) is null, with the reason in errors.
"""
import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "reference"))


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(f, repeat):
    best = float("inf")
    for _ in range(repeat):
        sync()
        t0 = time.perf_counter()
        f()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def ids_of(n, vocab, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, vocab, (1, n), generator=g)


def bench_hf(ckpt, sizes, decode, repeat, dev):
    import transformers
    from transformers import MambaForCausalLM
    out = {"prefillMs": {}, "decodeMsPerToken": None, "errors": {}}
    try:
        from transformers.models.mamba import modeling_mamba
        out["hfPath"] = "fused kernels" if getattr(modeling_mamba, "is_fast_path_available", False) else "PyTorch slow path"
    except Exception:  # noqa: BLE001
        out["hfPath"] = "unknown"
    model = MambaForCausalLM.from_pretrained(ckpt, torch_dtype=torch.float32).to(dev).eval()
    vocab = model.config.vocab_size
    with torch.no_grad():
        def prefill(ids):
            h = model.backbone(input_ids=ids, use_cache=False).last_hidden_state
            return model.lm_head(h[:, -1])
        prefill(ids_of(2048, vocab, 9).to(dev))  # warm-up
        for n in sizes:
            try:
                ids = ids_of(n, vocab).to(dev)
                out["prefillMs"][str(n)] = round(timed(lambda: prefill(ids), repeat), 2)
            except Exception as e:  # noqa: BLE001  (OOM at 32k on a large shape, say)
                out["prefillMs"][str(n)] = None
                out["errors"][f"prefill {n}"] = str(e).split("\n")[0][:300]
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
        if decode > 0:
            try:
                prompt = ids_of(1024, vocab, 3).to(dev)
                gen = lambda k: model.generate(prompt, max_new_tokens=k, min_new_tokens=k, do_sample=False)  # noqa: E731
                gen(2)
                t1 = timed(lambda: gen(1), repeat)
                tn = timed(lambda: gen(1 + decode), repeat)
                out["decodeMsPerToken"] = round((tn - t1) / decode, 3)
            except Exception as e:  # noqa: BLE001
                out["errors"]["decode"] = str(e).split("\n")[0][:300]
    del model
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return out, transformers.__version__


def bench_ref(ckpt, sizes, decode, repeat, dev):
    from bench_ref import prefill
    from mamba_ref import MambaRef
    out = {"prefillMs": {}, "decodeMsPerToken": None, "errors": {}}
    m = MambaRef(ckpt, torch.float32)
    tied = m.lm_head is m.emb
    m.emb = m.emb.to(dev)
    m.norm_f = m.norm_f.to(dev)
    m.lm_head = m.emb if tied else m.lm_head.to(dev)
    for L in m.layers:
        for k, v in list(L.items()):
            if isinstance(v, torch.Tensor):
                L[k] = v.to(dev)
    # bench_ref allocates its scan state with torch.zeros (no device argument)
    if hasattr(torch, "set_default_device"):
        torch.set_default_device(dev)
    elif dev.type == "cuda":
        torch.set_default_tensor_type(torch.cuda.FloatTensor)
    with torch.no_grad():
        prefill(m, ids_of(64, m.vocab, 9)[0].tolist())
        for n in sizes:
            try:
                ids = ids_of(n, m.vocab)[0].tolist()
                out["prefillMs"][str(n)] = round(timed(lambda: prefill(m, ids), min(repeat, 1 if n > 8192 else repeat)), 2)
            except Exception as e:  # noqa: BLE001
                out["prefillMs"][str(n)] = None
                out["errors"][f"prefill {n}"] = str(e).split("\n")[0][:300]
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
        if decode > 0:
            try:
                ids = ids_of(16 + decode, m.vocab, 3)[0].tolist()
                _, states, _ = m.forward(ids[:16])
                _, states = m.step(ids[16], states)
                sync()
                t0 = time.perf_counter()
                for t in ids[16:]:
                    _, states = m.step(t, states)
                sync()
                out["decodeMsPerToken"] = round((time.perf_counter() - t0) * 1000 / decode, 3)
            except Exception as e:  # noqa: BLE001
                out["errors"]["decode"] = str(e).split("\n")[0][:300]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--tokens", default="8192,32768")
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--device", default="cuda", help="cpu only to check this script without a GPU")
    ap.add_argument("--hf-only", action="store_true", help="transformers only, not the reference (npm run gpu:check)")
    a = ap.parse_args()
    sizes = [int(x) for x in a.tokens.split(",") if x]
    if a.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "torch sees no CUDA device"}))
        return
    dev = torch.device(a.device)
    res = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", "torch": torch.__version__}
    try:
        res["hf"], res["transformers"] = bench_hf(a.checkpoint, sizes, a.decode, a.repeat, dev)
    except Exception as e:  # noqa: BLE001
        res["hf"] = {"prefillMs": {}, "decodeMsPerToken": None, "errors": {"load": str(e).split("\n")[0][:300]}}
    if a.hf_only:
        print(json.dumps(res))
        return
    try:
        res["ref"] = bench_ref(a.checkpoint, sizes, a.decode, a.repeat, dev)
    except Exception as e:  # noqa: BLE001
        res["ref"] = {"prefillMs": {}, "decodeMsPerToken": None, "errors": {"load": str(e).split("\n")[0][:300]}}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
