#!/usr/bin/python3
"""Regenerates the PyTorch agreement fixtures under src/test/resources/fixtures/ (the tests need no Python):
nn.MultiheadAttention, a GPT-2 attention block, and a Llama attention block (GQA, RoPE) written as Hugging
Face's LlamaAttention computes it.

Run with Debian's python3-torch (PyTorch 1.13): /usr/bin/python3 make_fixtures.py
Each fixture holds a layer's weights as float32 under the model family's real tensor names, an input x
(float32, [tokens][d_model]) and PyTorch's output computed in float64 from exactly those float32 values.
"""
import json
import math
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures")
DTYPES = {torch.float32: "F32", torch.float64: "F64"}


def save(path, tensors):
    """Writes a safetensors file: 8-byte little-endian header length, JSON header, tensors back to back."""
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    header["__metadata__"] = {"producer": "make_fixtures.py, torch " + torch.__version__}
    text = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def f32(t):
    """Rounds to float32: what the file stores and the Java side reads."""
    return t.float()


def torch_multihead():
    torch.manual_seed(1)
    e, heads, n = 16, 4, 7
    mha = torch.nn.MultiheadAttention(e, heads, bias=True, batch_first=True)
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    state = {k: f32(v) for k, v in mha.state_dict().items()}
    x = f32(torch.randn(n, e))
    m64 = mha.double()
    m64.load_state_dict({k: v.double() for k, v in state.items()})
    causal = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    with torch.no_grad():
        xd = x.double().unsqueeze(0)
        y_full = m64(xd, xd, xd, need_weights=False)[0][0]
        y_causal = m64(xd, xd, xd, attn_mask=causal, need_weights=False)[0][0]
    tensors = {"self_attn." + k: v for k, v in state.items()}
    tensors.update({"x": x, "y_full": y_full, "y_causal": y_causal})
    save(os.path.join(OUT, "torch_multihead.safetensors"), tensors)


def gpt2():
    torch.manual_seed(2)
    e, heads, n = 24, 3, 6
    d = e // heads
    w_attn = f32(torch.randn(e, 3 * e) * 0.4)   # Conv1D: [in][out]
    b_attn = f32(torch.randn(3 * e) * 0.3)
    w_proj = f32(torch.randn(e, e) * 0.4)
    b_proj = f32(torch.randn(e) * 0.3)
    x = f32(torch.randn(n, e))
    xd = x.double()
    qkv = xd @ w_attn.double() + b_attn.double()
    q, k, v = qkv.split(e, dim=1)
    split = lambda t: t.view(n, heads, d).transpose(0, 1)            # [heads][n][d]
    q, k, v = split(q), split(k), split(v)
    scores = q @ k.transpose(1, 2) / math.sqrt(d)
    scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v                           # [heads][n][d]
    merged = out.transpose(0, 1).reshape(n, e)
    y = merged @ w_proj.double() + b_proj.double()
    save(os.path.join(OUT, "gpt2.safetensors"), {
        "h.0.attn.c_attn.weight": w_attn, "h.0.attn.c_attn.bias": b_attn,
        "h.0.attn.c_proj.weight": w_proj, "h.0.attn.c_proj.bias": b_proj,
        "x": x, "y": y})
    with open(os.path.join(OUT, "gpt2-config.json"), "w") as f:
        json.dump({"model_type": "gpt2", "n_embd": e, "n_head": heads}, f)


def rotate_half(t):
    """Hugging Face's Llama pairing: (x1, x2) -> (-x2, x1) over the two halves of the head."""
    half = t.shape[-1] // 2
    return torch.cat((-t[..., half:], t[..., :half]), dim=-1)


def llama():
    """A Llama attention block as Hugging Face's LlamaAttention computes it: GQA, RoPE (half split), causal."""
    torch.manual_seed(3)
    e, heads, kv_heads, d, n, theta = 32, 4, 2, 8, 9, 10000.0
    wq = f32(torch.randn(heads * d, e) * 0.3)      # nn.Linear: [out][in]
    wk = f32(torch.randn(kv_heads * d, e) * 0.3)
    wv = f32(torch.randn(kv_heads * d, e) * 0.3)
    wo = f32(torch.randn(e, heads * d) * 0.3)
    x = f32(torch.randn(n, e))
    xd = x.double()
    q = (xd @ wq.double().T).view(n, heads, d).transpose(0, 1)       # [heads][n][d]
    k = (xd @ wk.double().T).view(n, kv_heads, d).transpose(0, 1)
    v = (xd @ wv.double().T).view(n, kv_heads, d).transpose(0, 1)
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    angles = torch.outer(torch.arange(n, dtype=torch.float64), inv_freq)
    emb = torch.cat((angles, angles), dim=-1)                         # [n][d]
    cos, sin = emb.cos(), emb.sin()
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    group = heads // kv_heads
    k = k.repeat_interleave(group, dim=0)
    v = v.repeat_interleave(group, dim=0)
    scores = q @ k.transpose(1, 2) / math.sqrt(d)
    scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
    out = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(n, heads * d)
    y = out @ wo.double().T
    p = "model.layers.0.self_attn."
    save(os.path.join(OUT, "llama.safetensors"), {
        p + "q_proj.weight": wq, p + "k_proj.weight": wk, p + "v_proj.weight": wv, p + "o_proj.weight": wo,
        "x": x, "y": y})
    with open(os.path.join(OUT, "llama-config.json"), "w") as f:
        json.dump({"model_type": "llama", "hidden_size": e, "num_attention_heads": heads,
                   "num_key_value_heads": kv_heads, "head_dim": d, "rope_theta": theta}, f)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch_multihead()
    gpt2()
    llama()
