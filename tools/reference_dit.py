#!/usr/bin/python3
"""tools/reference_dit.py: gridlora's video DiT written independently in PyTorch.

It is the correctness reference for src/model/dit.c (run in float64, its outputs and
autograd gradients are the truth the C float32 code is compared against) and, later,
the speed peer. The C library never depends on it.

Usage:
  reference_dit.py check WEIGHTS.safetensors CASE.safetensors
      WEIGHTS: a model written by gridlora (config JSON in metadata "gridlora.config").
      CASE: the inputs (x, t, text, text_lens, optional self_mask, cross_mask, G) and the
      C results (out, and grad.<param> for the parameters it trained) of one
      forward/backward with loss = sum(out * G). Prints the worst relative errors; exits
      1 above --tol (1e-4). --lora ADAPTER[:WEIGHT] (repeatable) applies LoRA adapters
      as gridlora does; their gradients are named grad.lora<k>.<tensor> in CASE.
  reference_dit.py gradcheck WEIGHTS.safetensors CASE.safetensors
      torch.autograd.gradcheck of this reference itself in float64 (central differences)
      on a few parameters and the input: proves the reference before it judges C.

Run with Debian's /usr/bin/python3 (python3-torch); needs only torch, json, struct.
"""
import json
import math
import struct
import sys

import torch

DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
          "I32": (torch.int32, 4), "U8": (torch.uint8, 1), "F64": (torch.float64, 8)}


def load_safetensors(path):
    """A few lines of the format, independent of gridlora's reader."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        dtype, size = DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        buf = bytearray(data[base + b:base + e])
        t = torch.frombuffer(buf, dtype=dtype) if e > b else torch.zeros(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"]).clone()
    return tensors, meta


def rope_split(D):
    s = 2 * (D // 6)
    return D - 2 * s, s, s


class DiT:
    """The model as plain functions of a dict of float64 tensors (params[name])."""

    def __init__(self, cfg, params, adapters=()):
        self.c = cfg
        self.p = params
        # LoRA adapters: (tensors by name, scale alpha/rank times the applied weight,
        # token ids whose embedding rows the adapter carries, the applied weight)
        self.adapters = list(adapters)
        # float64 for the correctness check; float32 when tools/bench_reference.py times it
        self.dtype = next(iter(params.values())).dtype

    def lin(self, x, name, bias=True):
        y = x @ self.p[name + ".weight"].T
        if bias and (name + ".bias") in self.p:
            y = y + self.p[name + ".bias"]
        for ad, scale, _, _ in self.adapters:  # W' = W + scale (B + B2) A
            if name + ".lora_A.weight" in ad:
                h = x @ ad[name + ".lora_A.weight"].T
                for up in (".lora_B.weight", ".lora_B2.weight"):
                    if name + up in ad:
                        y = y + scale * (h @ ad[name + up].T)
        return y

    def gain(self, name):
        """A norm's gain: the base's plus weight times each adapter's delta for it."""
        g = self.p[name + ".weight"]
        for ad, _, _, weight in self.adapters:
            if name + ".lora_gain" in ad:
                g = g + weight * ad[name + ".lora_gain"]
        return g

    @staticmethod
    def ln(x, eps=1e-6):
        m = x.mean(-1, keepdim=True)
        v = ((x - m) ** 2).mean(-1, keepdim=True)
        return (x - m) / torch.sqrt(v + eps)

    @staticmethod
    def rms(x, w, eps=1e-6):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w

    @staticmethod
    def gelu(x):
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

    @staticmethod
    def attention(q, k, v, heads, mask):
        """q [B,Tq,C], k,v [B,Tk,C], mask [B,Tq,Tk] bool or None; empty rows give 0."""
        B, Tq, C = q.shape
        Tk, D = k.shape[1], C // heads
        q = q.reshape(B, Tq, heads, D).transpose(1, 2)
        k = k.reshape(B, Tk, heads, D).transpose(1, 2)
        v = v.reshape(B, Tk, heads, D).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(D)
        if mask is not None:
            m = mask[:, None, :, :]
            # a finite fill keeps rows with nothing allowed free of NaN; the product
            # with m then zeroes them (and their gradients), as the C kernel does
            p = torch.softmax(s.masked_fill(~m, -1e30), -1) * m
        else:
            p = torch.softmax(s, -1)
        return (p @ v).transpose(1, 2).reshape(B, Tq, C)

    def rope(self, x, pos):
        """x [B,T,C] with heads side by side; pos [T,3] (frame, row, column)."""
        c = self.c
        B, T, C = x.shape
        H = c["heads"]
        D = C // H
        parts = rope_split(D)
        angles = []
        for axis, d in enumerate(parts):
            j = torch.arange(d // 2, dtype=torch.float64)
            freq = c["rope_theta"] ** (-2.0 * j / d)
            angles.append(pos[:, axis:axis + 1].double() * freq[None, :])
        ang = torch.cat(angles, 1)  # [T, D/2]
        # the C tables are float32: match them, so only the arithmetic differs
        cos, sin = torch.cos(ang).float().to(self.dtype), torch.sin(ang).float().to(self.dtype)
        xr = x.reshape(B, T, H, D // 2, 2)
        a, b = xr[..., 0], xr[..., 1]
        cos, sin = cos[None, :, None, :], sin[None, :, None, :]
        return torch.stack([a * cos - b * sin, a * sin + b * cos], -1).reshape(B, T, C)

    def patchify(self, x):
        c = self.c
        B, F, H, W, Ch = x.shape
        pt, ph, pw = c["patch_t"], c["patch_h"], c["patch_w"]
        x = x.reshape(B, F // pt, pt, H // ph, ph, W // pw, pw, Ch)
        x = x.permute(0, 1, 3, 5, 2, 4, 6, 7)
        return x.reshape(B, (F // pt) * (H // ph) * (W // pw), pt * ph * pw * Ch)

    def unpatchify(self, tok, F, H, W):
        c = self.c
        B = tok.shape[0]
        pt, ph, pw, Ch = c["patch_t"], c["patch_h"], c["patch_w"], c["channels"]
        x = tok.reshape(B, F // pt, H // ph, W // pw, pt, ph, pw, Ch)
        x = x.permute(0, 1, 4, 2, 5, 3, 6, 7)
        return x.reshape(B, F, H, W, Ch)

    def forward(self, x, t, text, lens, self_mask=None, cross_mask=None):
        c, p = self.c, self.p
        B, F, H, W, _ = x.shape
        L = c["text_len"]
        # text encoder
        keys = torch.arange(L)[None, :] < lens[:, None]  # [B, L]
        tmask = keys[:, None, :].expand(B, L, L)
        h = p["text.token_embed.weight"][text.long()]
        for ad, _, ids, _ in self.adapters:  # an adapter's own rows for its tokens
            for j, tok in enumerate(ids):
                h = torch.where((text.long() == tok)[..., None], ad["text.token_embed.lora_rows"][j], h)
        h = h + p["text.pos_embed.weight"][None]
        for i in range(c["text_layers"]):
            pre = f"text.blocks.{i}."
            l1 = self.ln(h)
            a = self.attention(self.lin(l1, pre + "attn.q"), self.lin(l1, pre + "attn.k"),
                               self.lin(l1, pre + "attn.v"), c["text_heads"], tmask)
            h = h + self.lin(a, pre + "attn.o")
            h = h + self.lin(self.gelu(self.lin(self.ln(h), pre + "mlp.fc1")), pre + "mlp.fc2")
        ctx = self.lin(self.ln(h), "text.proj")
        # timestep embedding per token
        half = c["time_dim"] // 2
        i = torch.arange(half, dtype=torch.float64)
        f = torch.exp(-math.log(10000.0) * i / half)
        s = 1000.0 * t[..., None] * f
        tfeat = torch.cat([torch.cos(s), torch.sin(s)], -1).float().to(self.dtype)
        temb = self.lin(torch.nn.functional.silu(self.lin(tfeat, "time_embed.0")), "time_embed.2")
        st = torch.nn.functional.silu(temb)
        # positions in patch units: over the whole canvas, or restarting in each cell
        # (rope_per_cell, absent from older files: 0)
        gf, gh, gw = F // c["patch_t"], H // c["patch_h"], W // c["patch_w"]
        T = gf * gh * gw
        idx = torch.arange(T)
        ch, cw = gh, gw
        if c.get("rope_per_cell", 0):
            ch, cw = c["cell_h"] // c["patch_h"], c["cell_w"] // c["patch_w"]
        pos = torch.stack([idx // (gh * gw), idx // gw % gh % ch, idx % gw % cw], 1)
        cm = keys[:, None, :].expand(B, T, L)
        if cross_mask is not None:
            cm = cm & cross_mask
        if c.get("text_pool", 0):  # the caption in AdaLN: mean of the text rows a token may attend
            cnt = cm.sum(-1, keepdim=True).clamp(min=1).to(ctx.dtype)
            temb = temb + self.lin((cm.to(ctx.dtype) @ ctx) / cnt, "time_embed.text")
            st = torch.nn.functional.silu(temb)
        xs = self.lin(self.patchify(x), "patch_embed")
        C = c["width"]
        if c.get("abs_pos", 0):  # fixed sin/cos of (frame, row, column): C // 6 frequencies an axis
            f = C // 6
            w = 10000.0 ** (-torch.arange(f, dtype=torch.float64) / f)  # GL_DIT_ABS_POS_THETA (model.h)
            parts = []
            for ax in range(3):
                ang = pos[:, ax, None].double() * w
                parts += [torch.sin(ang), torch.cos(ang)]
            parts.append(torch.zeros(T, C - 6 * f, dtype=torch.float64))
            xs = xs + torch.cat(parts, 1).float().to(xs.dtype)  # C adds float tables
        for b in range(c["depth"]):
            pre = f"blocks.{b}."
            mod = self.lin(st, pre + "adaln")
            sh1, sc1, g1, sh2, sc2, g2 = [mod[..., k * C:(k + 1) * C] for k in range(6)]
            x1 = self.ln(xs) * (1 + sc1) + sh1
            q = self.rms_heads(self.lin(x1, pre + "attn.q"), self.gain(pre + "attn.norm_q"))
            k = self.rms_heads(self.lin(x1, pre + "attn.k"), self.gain(pre + "attn.norm_k"))
            v = self.lin(x1, pre + "attn.v")
            a = self.attention(self.rope(q, pos), self.rope(k, pos), v, c["heads"], self_mask)
            xs = xs + g1 * self.lin(a, pre + "attn.o")
            c1 = self.ln(xs)
            cq = self.rms_heads(self.lin(c1, pre + "cross.q"), self.gain(pre + "cross.norm_q"))
            ck = self.rms_heads(self.lin(ctx, pre + "cross.k"), self.gain(pre + "cross.norm_k"))
            cv = self.lin(ctx, pre + "cross.v")
            xs = xs + self.lin(self.attention(cq, ck, cv, c["heads"], cm), pre + "cross.o")
            x2 = self.ln(xs) * (1 + sc2) + sh2
            xs = xs + g2 * self.lin(self.gelu(self.lin(x2, pre + "mlp.fc1")), pre + "mlp.fc2")
        fm = self.lin(st, "final.adaln")
        y = self.ln(xs) * (1 + fm[..., C:]) + fm[..., :C]
        out = self.unpatchify(self.lin(y, "final.linear"), F, H, W)
        if c.get("predict_x0", 0):  # the last layer gives x0_hat: v = (x_t - x0_hat) / max(t, 0.05)
            Pf = c["patch_t"] * c["patch_h"] * c["patch_w"] * c["channels"]
            tt = self.unpatchify(t[..., None].expand(B, T, Pf).to(out.dtype), F, H, W)
            out = (x - out) / torch.clamp(tt, min=0.05)  # 0.05: GL_DIT_X0_T_FLOOR (model.h)
        return out

    def rms_heads(self, x, w):
        B, T, C = x.shape
        H = self.c["heads"]
        return self.rms(x.reshape(B, T, H, C // H), w).reshape(B, T, C)


def load_adapter(spec):
    """FILE or FILE:WEIGHT -> (float64 leaf tensors, scale, token ids, weight)."""
    path, weight = spec, 1.0
    if ":" in spec:
        head, tail = spec.rsplit(":", 1)
        try:
            weight, path = float(tail), head
        except ValueError:
            pass
    t, meta = load_safetensors(path)
    scale = weight * float(meta["lora.alpha"]) / float(meta["lora.rank"])
    ids = [int(x) for x in meta["lora.tokens"].split(",") if x]
    return {k: v.double().requires_grad_(True) for k, v in t.items()}, scale, ids, weight


def setup(weights_path, case_path, lora_specs=()):
    w, meta = load_safetensors(weights_path)
    cfg = json.loads(meta["gridlora.config"])
    case, _ = load_safetensors(case_path)
    params = {k: v.double().requires_grad_(True) for k, v in w.items()}
    adapters = [load_adapter(sp) for sp in lora_specs]
    model = DiT(cfg, params, adapters)
    for i, (ad, _, _, _) in enumerate(adapters):  # adapter k's tensors as "lora<k>.<name>"
        params.update({f"lora{i}.{k}": v for k, v in ad.items()})
    B = case["x"].shape[0]
    T = case["t"].shape[1]
    L = cfg["text_len"]
    sm = case["self_mask"].bool().reshape(-1, T, T).expand(B, T, T) if "self_mask" in case else None
    cm = case["cross_mask"].bool().reshape(-1, T, L).expand(B, T, L) if "cross_mask" in case else None
    inputs = (case["x"].double(), case["t"].double(), case["text"], case["text_lens"], sm, cm)
    return model, params, case, inputs


def rel_err(got, want):
    scale = max(want.abs().max().item(), 1e-6)
    return (got.double() - want).abs().max().item() / scale


def check(weights_path, case_path, tol, lora_specs=()):
    model, params, case, inputs = setup(weights_path, case_path, lora_specs)
    out = model.forward(*inputs)
    (out * case["G"].double()).sum().backward()
    worst, worst_name = rel_err(case["out"], out.detach()), "out"
    print(f"out: relative error {worst:.2e}")
    checked = 0
    for name, prm in params.items():
        if "grad." + name not in case:  # the case holds the gradients C computed
            continue
        g = prm.grad if prm.grad is not None else torch.zeros_like(prm)
        e = rel_err(case["grad." + name], g)
        checked += 1
        if e > worst:
            worst, worst_name = e, name
    if checked == 0:
        print("no gradient in the case to compare", file=sys.stderr)
        return 1
    print(f"worst over output and {checked} gradients: {worst:.2e} ({worst_name}); tolerance {tol:.0e}")
    return 0 if worst <= tol else 1


def gradcheck(weights_path, case_path):
    model, params, case, inputs = setup(weights_path, case_path)
    # one small tensor from each part of the model: text, time, self/cross attention, MLP,
    # output (gradcheck perturbs every element twice, so large tensors cost minutes)
    want = ["text.pos_embed.weight", "time_embed.0.bias", "blocks.0.attn.norm_q.weight",
            "blocks.1.cross.norm_k.weight", "blocks.0.mlp.fc2.bias", "final.adaln.bias"]
    names = [n for n in want if n in params]

    def f(*ps):
        saved = {n: model.p[n] for n in names}
        model.p.update(dict(zip(names, ps)))
        out = model.forward(*inputs)
        model.p.update(saved)
        return (out * case["G"].double()).sum()

    ok = torch.autograd.gradcheck(f, [params[n] for n in names], eps=1e-6, atol=1e-6, rtol=1e-5)
    print(f"torch.autograd.gradcheck of the reference (float64) on {names}: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


def main(argv):
    if len(argv) < 4 or argv[1] not in ("check", "gradcheck"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    tol = 1e-4
    if "--tol" in argv:
        tol = float(argv[argv.index("--tol") + 1])
    torch.set_num_threads(1)
    loras = [argv[i + 1] for i, a in enumerate(argv) if a == "--lora" and i + 1 < len(argv)]
    if argv[1] == "check":
        return check(argv[2], argv[3], tol, loras)
    return gradcheck(argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
