"""Writes a MambaLM as a Hugging Face MambaForCausalLM folder: config.json, model.safetensors, tokenizer.json."""
import json, os, shutil, sys
import torch


# One safetensors reader/writer for the project's Python tools: tools/reference's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import safetensors_io  # noqa: E402


def save_safetensors(tensors, path, metadata=None):
    """tensors: dict name -> torch.Tensor, written as F32 in name order."""
    arrays = {n: tensors[n].detach().cpu().contiguous().float().numpy() for n in sorted(tensors)}
    safetensors_io.save_file(arrays, path, "F32", metadata)


def load_safetensors(path):
    """dict name -> float32 torch.Tensor."""
    return {n: torch.from_numpy(a) for n, (a, _) in safetensors_io.load_file(path).items()}


def export(model, out_dir, tokenizer_path, metadata=None):
    os.makedirs(out_dir, exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith("lm_head")}
    save_safetensors(sd, os.path.join(out_dir, "model.safetensors"), metadata)
    with open(os.path.join(out_dir, "config.json.tmp"), "w") as f:
        json.dump(model.cfg, f, indent=2)
        f.write("\n")
    os.replace(os.path.join(out_dir, "config.json.tmp"), os.path.join(out_dir, "config.json"))
    shutil.copyfile(tokenizer_path, os.path.join(out_dir, "tokenizer.json"))
