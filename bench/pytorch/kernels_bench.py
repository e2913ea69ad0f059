#!/usr/bin/python3
"""PyTorch side of `ragr bench kernels`: times the same ops as ragr's rows.

`ragr bench kernels` runs this script (python3 bench/pytorch/kernels_bench.py
--specs FILE) with a JSON list of op specs, one per table row, and reads one
JSON object from stdout:

  {"torch": "<version>", "device": "<name>",
   "results": {"<spec>": {"median_s": <float>} | {"error": "<message>"}}}

Each op is timed like the Go side: warm-up calls, then `--reps` calls each
between two CUDA events, median of the event times. Inputs are random (never
zeros) and made once, outside the timed call. GEMM and attention specs are
built by kernels_gemm.py (the GEMM engineer's file); the core specs below
(fields separated by ':', <dt> one of f32, bf16):

  copy:f32:N                    dst.copy_(src)
  gelu_erf_fwd:<dt>:N           F.gelu(x)
  gelu_erf_bwd:<dt>:N           aten.gelu_backward(dy, x)
  gelu_tanh_fwd:<dt>:N          F.gelu(x, approximate="tanh")
  silu_fwd:<dt>:N               F.silu(x)
  add:<dt>:N, mul:<dt>:N        torch.add/mul(a, b, out=c)
  cast_bf16:f32:N               y_bf16.copy_(x)
  dropout:f32:N                 F.dropout(x, 0.1, training=True)
  bias_add:f32:M:K              torch.add(x[M,K], b[K], out=y)
  transpose:f32:M:N             y.copy_(x.t())
  sum_rows:f32:M:K              torch.sum(x, -1, out=o)
  sum_cols:f32:M:K              torch.sum(x, 0, out=o)
  max_rows:f32:M:K              torch.max(x, -1)
  softmax_fwd:f32:R:C           torch.softmax(x, -1)
  softmax_bwd:f32:R:C           aten._softmax_backward_data(dy, y, -1, float32)
  log_softmax_fwd:f32:R:C       torch.log_softmax(x, -1)
  layernorm_fwdbwd:f32:R:C      aten.native_layer_norm + native_layer_norm_backward
  rmsnorm_fwdbwd:f32:R:C        F.rms_norm forward + autograd backward (x, weight)
  embedding_fwd:f32:T:D:V       F.embedding(ids, table)
  embedding_bwd:f32:T:D:V       aten.embedding_dense_backward(dy, ids, V, -1, False)
  rope_fwd:bf16:T:H:D           transformers' apply_rotary_pos_emb on q [T,H,D] (cos/sin gathered per token outside)
  xent_fwd:f32:R:V              F.cross_entropy(x, t, reduction="none")
  xent_bwd:f32:R:V              autograd of that loss w.r.t. x with a per-row dloss
  adamw:f32:NT:SZ               torch.optim.AdamW(fused=True).step() over NT tensors of SZ
  gradnorm:f32:NT:SZ            vector_norm(stack(_foreach_norm(grads)))

`python3 kernels_bench.py --check SPEC...` parses specs without torch;
`--cpu-smoke SPEC...` builds and runs each core op once on the CPU (small
sizes: a check of this script where there is no GPU).
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CORE = {
    "copy": 1, "gelu_erf_fwd": 1, "gelu_erf_bwd": 1, "gelu_tanh_fwd": 1, "silu_fwd": 1,
    "add": 1, "mul": 1, "cast_bf16": 1, "dropout": 1,
    "bias_add": 2, "transpose": 2, "sum_rows": 2, "sum_cols": 2, "max_rows": 2,
    "softmax_fwd": 2, "softmax_bwd": 2, "log_softmax_fwd": 2,
    "layernorm_fwdbwd": 2, "rmsnorm_fwdbwd": 2,
    "embedding_fwd": 3, "embedding_bwd": 3, "rope_fwd": 3,
    "xent_fwd": 2, "xent_bwd": 2, "adamw": 2, "gradnorm": 2,
}


def parse_core(spec):
    f = spec.split(":")
    if f[0] not in CORE:
        return None
    if len(f) != 2 + CORE[f[0]] or f[1] not in ("f32", "bf16"):
        raise ValueError(f"spec {spec!r}: want {f[0]}:<f32|bf16>:{CORE[f[0]]} sizes")
    return f[0], f[1], [int(x) for x in f[2:]]


def make_core(spec, torch, dev="cuda"):
    op, dt, n = parse_core(spec)
    F = torch.nn.functional
    aten = torch.ops.aten
    dtype = {"bf16": torch.bfloat16, "f32": torch.float32}[dt]
    g = torch.Generator(device=dev)
    g.manual_seed(4321)

    def rand(*shape, lo=-1.0, hi=1.0, dtype=dtype):
        return (torch.rand(*shape, device=dev, generator=g) * (hi - lo) + lo).to(dtype)

    def ids(count, hi):
        return torch.randint(0, hi, (count,), device=dev, generator=g)

    if op == "copy":
        src, dst = rand(n[0]), torch.empty(n[0], device=dev, dtype=dtype)
        return lambda: dst.copy_(src)
    if op == "gelu_erf_fwd":
        x = rand(n[0], lo=-3, hi=3)
        return lambda: F.gelu(x)
    if op == "gelu_erf_bwd":
        x, dy = rand(n[0], lo=-3, hi=3), rand(n[0])
        return lambda: aten.gelu_backward(dy, x)
    if op == "gelu_tanh_fwd":
        x = rand(n[0], lo=-3, hi=3)
        return lambda: F.gelu(x, approximate="tanh")
    if op == "silu_fwd":
        x = rand(n[0], lo=-3, hi=3)
        return lambda: F.silu(x)
    if op in ("add", "mul"):
        a, b, c = rand(n[0]), rand(n[0], lo=0.5, hi=2), torch.empty(n[0], device=dev, dtype=dtype)
        fn = torch.add if op == "add" else torch.mul
        return lambda: fn(a, b, out=c)
    if op == "cast_bf16":
        x, y = rand(n[0]), torch.empty(n[0], device=dev, dtype=torch.bfloat16)
        return lambda: y.copy_(x)
    if op == "dropout":
        x = rand(n[0])
        return lambda: F.dropout(x, 0.1, training=True)
    if op == "bias_add":
        m, k = n
        x, b, y = rand(m, k), rand(k), torch.empty(m, k, device=dev, dtype=dtype)
        return lambda: torch.add(x, b, out=y)
    if op == "transpose":
        m, k = n
        x, y = rand(m, k), torch.empty(k, m, device=dev, dtype=dtype)
        return lambda: y.copy_(x.t())
    if op in ("sum_rows", "sum_cols", "max_rows"):
        m, k = n
        x = rand(m, k)
        if op == "sum_rows":
            o = torch.empty(m, device=dev, dtype=dtype)
            return lambda: torch.sum(x, -1, out=o)
        if op == "sum_cols":
            o = torch.empty(k, device=dev, dtype=dtype)
            return lambda: torch.sum(x, 0, out=o)
        return lambda: torch.max(x, -1)
    if op == "softmax_fwd":
        x = rand(*n, lo=-4, hi=4)
        return lambda: torch.softmax(x, -1)
    if op == "softmax_bwd":
        y, dy = torch.softmax(rand(*n, lo=-4, hi=4), -1), rand(*n)
        return lambda: aten._softmax_backward_data(dy, y, -1, torch.float32)
    if op == "log_softmax_fwd":
        x = rand(*n, lo=-4, hi=4)
        return lambda: torch.log_softmax(x, -1)
    if op == "layernorm_fwdbwd":
        r, c = n
        x, dy, w, b = rand(r, c, lo=-2, hi=2), rand(r, c), rand(c, lo=0.5, hi=1.5), rand(c)

        def run():
            y, mean, rstd = aten.native_layer_norm(x, [c], w, b, 1e-12)
            return aten.native_layer_norm_backward(dy, x, [c], mean, rstd, w, b, [True, True, True])
        return run
    if op == "rmsnorm_fwdbwd":
        r, c = n
        x = rand(r, c, lo=-2, hi=2).requires_grad_(True)
        w = rand(c, lo=0.5, hi=1.5).requires_grad_(True)
        dy = rand(r, c)

        def rms(x):  # F.rms_norm from torch 2.4; transformers' Qwen2RMSNorm before
            if hasattr(F, "rms_norm"):
                return F.rms_norm(x, [c], w, 1e-6)
            return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))

        def run():
            return torch.autograd.grad(rms(x), (x, w), dy)
        return run
    if op == "embedding_fwd":
        t, d, v = n
        table, i = rand(v, d), ids(t, v)
        return lambda: F.embedding(i, table)
    if op == "embedding_bwd":
        t, d, v = n
        dy, i = rand(t, d), ids(t, v)
        return lambda: aten.embedding_dense_backward(dy, i, v, -1, False)
    if op == "rope_fwd":
        t, h, d = n
        q = rand(t, h, d)
        pos = ids(t, 512)
        inv = 1.0 / (1e6 ** (torch.arange(0, d, 2, device=dev).float() / d))
        freqs = pos.float()[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos().to(dtype)[:, None, :], emb.sin().to(dtype)[:, None, :]

        def rotate_half(x):
            x1, x2 = x[..., : d // 2], x[..., d // 2:]
            return torch.cat((-x2, x1), dim=-1)
        return lambda: q * cos + rotate_half(q) * sin
    if op in ("xent_fwd", "xent_bwd"):
        r, v = n
        x, t = rand(r, v, lo=-3, hi=3), ids(r, v)
        if op == "xent_fwd":
            return lambda: F.cross_entropy(x, t, reduction="none")
        x = x.requires_grad_(True)
        loss = F.cross_entropy(x, t, reduction="none")
        dl = rand(r, lo=0.1, hi=1)
        return lambda: torch.autograd.grad(loss, x, dl, retain_graph=True)
    if op == "adamw":
        nt, sz = n
        ps = [rand(sz, lo=0, hi=1e-2).requires_grad_(True) for _ in range(nt)]
        for p in ps:
            p.grad = rand(sz, lo=0, hi=1e-2)
        try:  # fused=True from torch 2.0 (CUDA); the foreach path elsewhere
            opt = torch.optim.AdamW(ps, lr=1e-4, weight_decay=0.01, fused=(dev == "cuda"))
        except TypeError:
            opt = torch.optim.AdamW(ps, lr=1e-4, weight_decay=0.01)
        return opt.step
    if op == "gradnorm":
        nt, sz = n
        gs = [rand(sz, lo=-1e-2, hi=1e-2) for _ in range(nt)]
        return lambda: torch.linalg.vector_norm(torch.stack(torch._foreach_norm(gs)))
    raise ValueError(f"spec {spec!r}: unknown op")


def build(spec, torch):
    if parse_core(spec) is not None:
        return make_core(spec, torch)
    import kernels_gemm
    return kernels_gemm.make(spec, torch)


def time_op(torch, fn, reps):
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    evs = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
    evs[0].record()
    for i in range(reps):
        fn()
        evs[i + 1].record()
    torch.cuda.synchronize()
    return statistics.median(evs[i].elapsed_time(evs[i + 1]) / 1e3 for i in range(reps))


def main():
    ap = argparse.ArgumentParser(description="PyTorch timings for ragr bench kernels")
    ap.add_argument("--specs", help="JSON file: a list of op specs")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--check", nargs="*", help="parse these specs (no torch) and exit")
    ap.add_argument("--cpu-smoke", nargs="*", help="run these core specs once on the CPU and exit")
    a = ap.parse_args()
    if a.cpu_smoke is not None:
        import torch
        bad = 0
        for s in a.cpu_smoke:
            try:
                make_core(s, torch, dev="cpu")()
                print(f"ok   {s}")
            except Exception as e:
                bad += 1
                print(f"FAIL {s}: {type(e).__name__}: {e}")
        sys.exit(1 if bad else 0)
    if a.check is not None:
        for s in a.check:
            if parse_core(s) is None:
                import kernels_gemm
                kernels_gemm.parse(s)
        print(f"kernels_bench: {len(a.check)} specs parse")
        return
    with open(a.specs) as f:
        specs = json.load(f)
    out = {"results": {}}
    try:
        import torch
        out["torch"] = torch.__version__
        out["device"] = torch.cuda.get_device_name(0)
    except Exception as e:  # no torch or no GPU: every row reports it
        for s in specs:
            out["results"][s] = {"error": f"torch unavailable: {e}"}
        json.dump(out, sys.stdout)
        return
    for s in specs:
        try:
            fn = build(s, torch)
            out["results"][s] = {"median_s": time_op(torch, fn, a.reps)}
            del fn
            torch.cuda.empty_cache()
        except Exception as e:
            out["results"][s] = {"error": f"{type(e).__name__}: {e}"[:300]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
