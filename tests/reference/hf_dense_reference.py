#!/usr/bin/env python3
"""Independent reference for Llama / Qwen2 logits, written from the published
Hugging Face modeling code (modeling_llama.py / modeling_qwen2.py semantics:
RMSNorm, rotate_half RoPE with Llama 3 frequency scaling, GQA with repeat_kv,
q/k/v biases for Qwen2, SiLU-gated MLP, tied or untied LM head), in float64.

It needs PyTorch (Debian: python3-torch) and runs only where that is
installed; the golden files it writes are committed so `make test` does not.

usage: hf_dense_reference.py MODEL_DIR OUT_PREFIX ID,ID,... [ID,ID,... ...]
writes OUT_PREFIX.pN.f32 (float32 [len, vocab]) and OUT_PREFIX.json
"""
import json
import math
import os
import struct
import sys

import torch

DT = torch.float64


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = bytearray(data[base + b:base + e])
        dtype = {"BF16": torch.bfloat16, "F32": torch.float32, "F16": torch.float16}[info["dtype"]]
        out[name] = torch.frombuffer(raw, dtype=dtype).reshape(info["shape"]).to(DT)
    return out


def load_weights(model_dir):
    idx = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(idx):
        files = sorted(set(json.load(open(idx))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    w = {}
    for f in files:
        w.update(load_safetensors(os.path.join(model_dir, f)))
    return w


def inv_freq(cfg, dim):
    base = cfg.get("rope_theta", 10000.0)
    freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=DT) / dim))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wavelen = 2 * math.pi / freq
        scaled = torch.where(wavelen > low_wl, freq / factor, freq)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wl) & ~(wavelen > low_wl)
        freq = torch.where(medium, smoothed, scaled)
    return freq


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(cfg, w, ids):
    arch = cfg["architectures"][0]
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    hd = cfg.get("head_dim", D // H)
    eps = cfg["rms_norm_eps"]
    bias = arch == "Qwen2ForCausalLM" or cfg.get("attention_bias", False)
    n = len(ids)
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    pos = torch.arange(n, dtype=DT)
    f = torch.outer(pos, inv_freq(cfg, hd))
    emb = torch.cat((f, f), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((n, n), float("-inf"), dtype=DT).triu(1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def proj(name):
            y = h @ w[p + f"self_attn.{name}.weight"].T
            if bias:
                y = y + w[p + f"self_attn.{name}.bias"]
            return y

        q = proj("q_proj").view(n, H, hd).transpose(0, 1)
        k = proj("k_proj").view(n, KV, hd).transpose(0, 1)
        v = proj("v_proj").view(n, KV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=0)
        v = v.repeat_interleave(H // KV, dim=0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, dim=-1)
        o = (att @ v).transpose(0, 1).reshape(n, H * hd)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"]) if not cfg.get("tie_word_embeddings") \
        else w["model.embed_tokens.weight"]
    return x @ head.T


def main():
    model_dir, prefix = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = load_weights(model_dir)
    manifest = {"generator": "tests/reference/hf_dense_reference.py (float64, HF semantics)",
                "architecture": cfg["architectures"][0], "prompts": []}
    for k, arg in enumerate(sys.argv[3:]):
        ids = [int(t) for t in arg.split(",")]
        logits = forward(cfg, w, ids).to(torch.float32)
        path = f"{prefix}.p{k}.f32"
        with open(path, "wb") as f:
            flat = logits.flatten().tolist()
            f.write(struct.pack("<%df" % len(flat), *flat))
        manifest["prompts"].append({"token_ids": ids, "logits_file": os.path.basename(path),
                                    "shape": list(logits.shape)})
    json.dump(manifest, open(prefix + ".json", "w"), indent=1)


if __name__ == "__main__":
    main()
