"""Writes a MambaLM as a Hugging Face MambaForCausalLM folder: config.json, model.safetensors, tokenizer.json."""
import json, os, shutil, struct
import numpy as np
import torch


def save_safetensors(tensors, path, metadata=None):
    """tensors: dict name -> torch.Tensor (float32). Minimal safetensors writer (little-endian)."""
    names = sorted(tensors)
    header, offset, blobs = {}, 0, []
    for n in names:
        a = tensors[n].detach().cpu().contiguous().float().numpy().astype("<f4")
        b = a.tobytes()
        header[n] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32"
        s, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[s:e], dtype="<f4").copy().reshape(v["shape"]))
    return out


def export(model, out_dir, tokenizer_path, metadata=None):
    os.makedirs(out_dir, exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith("lm_head")}
    save_safetensors(sd, os.path.join(out_dir, "model.safetensors"), metadata)
    with open(os.path.join(out_dir, "config.json.tmp"), "w") as f:
        json.dump(model.cfg, f, indent=2)
        f.write("\n")
    os.replace(os.path.join(out_dir, "config.json.tmp"), os.path.join(out_dir, "config.json"))
    shutil.copyfile(tokenizer_path, os.path.join(out_dir, "tokenizer.json"))
