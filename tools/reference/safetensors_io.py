"""Minimal safetensors reader/writer (no dependency on the `safetensors` package).

Format: 8-byte little-endian u64 header length N, then N bytes of JSON
    {name: {"dtype": "F32"|"F16"|"BF16"|"F64", "shape": [...], "data_offsets": [begin, end]},
     "__metadata__": {str: str}  (optional)}
then the raw little-endian tensor bytes; data_offsets are relative to the end of the header.
BF16 is the upper 16 bits of an IEEE f32. When writing BF16 from f32 we round to nearest,
ties to even (the same as torch's `.to(torch.bfloat16)`).
"""
import json
import os
import struct

import numpy as np

_NP = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "F64": np.dtype("<f8"),
       "BF16": np.dtype("<u2"), "I64": np.dtype("<i8"), "I32": np.dtype("<i4")}


def bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """Round-to-nearest-even f32 -> bf16 bit pattern (uint16)."""
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = b + 0x7FFF + ((b >> 16) & 1)
    return ((b >> 16) & 0xFFFF).astype(np.uint16)


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    return header, 8 + n


def load_file(path, names=None):
    """Return {name: (np.ndarray float32/float64, source_dtype)}; BF16/F16 widened to f32 exactly."""
    header, base = read_header(path)
    out = {}
    with open(path, "rb") as f:
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if names is not None and name not in names:
                continue
            dt = info["dtype"]
            if dt not in _NP:
                raise ValueError(f"{path}: tensor {name}: unsupported dtype {dt}")
            b, e = info["data_offsets"]
            f.seek(base + b)
            raw = np.frombuffer(f.read(e - b), dtype=_NP[dt]).reshape(info["shape"])
            if dt == "BF16":
                arr = bf16_bits_to_f32(raw)
            elif dt == "F16":
                arr = raw.astype(np.float32)
            else:
                arr = raw.copy()
            out[name] = (arr, dt)
    return out


def save_file(tensors, path, dtype="F32", metadata=None):
    """tensors: {name: np.ndarray (float)}; all written with `dtype` (F32, F16 or BF16)."""
    header = {}
    blobs = []
    off = 0
    for name in tensors:
        a = np.asarray(tensors[name])
        if dtype == "F32":
            raw = a.astype("<f4").tobytes()
        elif dtype == "F16":
            raw = a.astype("<f2").tobytes()
        elif dtype == "BF16":
            raw = f32_to_bf16_bits(a.astype(np.float32)).astype("<u2").tobytes()
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def load_checkpoint_tensors(folder):
    """Load model.safetensors, or the shards listed in model.safetensors.index.json."""
    idx = os.path.join(folder, "model.safetensors.index.json")
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(single):
        return load_file(single)
    if os.path.exists(idx):
        with open(idx) as f:
            wm = json.load(f)["weight_map"]
        out = {}
        for shard in sorted(set(wm.values())):
            want = {k for k, v in wm.items() if v == shard}
            out.update(load_file(os.path.join(folder, shard), want))
        missing = set(wm) - set(out)
        if missing:
            raise ValueError(f"tensors listed in index but absent from shards: {sorted(missing)[:5]}")
        return out
    raise FileNotFoundError(f"{folder}: no model.safetensors or model.safetensors.index.json")
