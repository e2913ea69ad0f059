#!/usr/bin/python3
"""GEMM and attention ops for the PyTorch side of `ragr bench kernels`.

Owned by the GEMM/attention engineer; bench/pytorch/kernels_bench.py imports
it (`import kernels_gemm; fn = kernels_gemm.make(spec, torch)`) for every
BenchRow whose Torch field it names. The Go rows are built in
kernels/cuda/gemm_bench.go and attention_bench.go; each spec here is exactly
the op those rows time, on random inputs (never zeros), on the current
CUDA device.

make(spec, torch) returns a zero-argument callable that runs the op once
(asynchronously; the caller times it with CUDA events after warm-up).
Spec grammar (fields separated by ':'):
  matmul:<dt>:M:N:K        torch.matmul(A[M,K], B[K,N]); dt bf16|f16|f32
                           (f32 with TF32 off, as ragr's fp32 kernel is IEEE fp32)
  linear:<dt>:M:N:K        F.linear(X[M,K], W[N,K])          (x·Wᵀ, ragr's "nt")
  linear_gelu:<dt>:M:N:K   F.gelu(F.linear(X, W, b))          (erf GELU, bias fp32→dt)
  sdpa_fwd:B:H:S:D:causal  F.scaled_dot_product_attention(q, k, v, is_causal=causal),
                           bf16, q/k/v allocated [B,S,H,D] and viewed as [B,H,S,D]
                           (ragr's layout, as Hugging Face models pass them)
  sdpa_bwd:B:H:S:D:causal  torch.autograd.grad of that output w.r.t. (q, k, v)
                           with a random dO (the forward runs once, outside the call)

`python3 kernels_gemm.py --check` parses every spec the Go side emits
without torch (a CPU-only self-test).
"""
import sys

DTYPES = ("bf16", "f16", "f32")

# The specs the Go rows emit (kept in step with gemm_bench.go / attention_bench.go).
GO_SPECS = [
    "matmul:bf16:4096:4096:4096",
    "linear:bf16:1024:768:768",
    "linear:bf16:1024:3072:768",
    "linear:bf16:1024:768:3072",
    "linear_gelu:bf16:1024:3072:768",
    "matmul:f16:4096:4096:4096",
    "matmul:f32:4096:4096:4096",
    # the BERT-base train step's products (M = 8192 tokens)
    "linear:bf16:8192:768:768",
    "linear:bf16:8192:3072:768",
    "linear:bf16:8192:768:3072",
    "matmul:bf16:8192:768:768",
    "matmul:bf16:8192:768:3072",
    "matmul:bf16:8192:3072:768",
    "matmul:bf16:768:768:8192",
    "matmul:bf16:3072:768:8192",
    "matmul:bf16:768:3072:8192",
    "sdpa_fwd:8:12:512:64:0",
    "sdpa_bwd:8:12:512:64:0",
    "sdpa_fwd:8:12:512:64:1",
    "sdpa_bwd:8:12:512:64:1",
    "sdpa_fwd:4:16:1024:128:0",
    "sdpa_bwd:4:16:1024:128:0",
]


def parse(spec):
    """Returns (op, dtype or None, ints) or raises ValueError naming the spec."""
    f = spec.split(":")
    op = f[0]
    if op in ("matmul", "linear", "linear_gelu"):
        if len(f) != 5 or f[1] not in DTYPES:
            raise ValueError(f"spec {spec!r}: want {op}:<bf16|f16|f32>:M:N:K")
        return op, f[1], [int(x) for x in f[2:]]
    if op in ("sdpa_fwd", "sdpa_bwd"):
        if len(f) != 6:
            raise ValueError(f"spec {spec!r}: want {op}:B:H:S:D:causal")
        return op, "bf16", [int(x) for x in f[1:]]
    raise ValueError(f"spec {spec!r}: unknown op {op!r}")


def make(spec, torch):
    op, dt, n = parse(spec)
    F = torch.nn.functional
    dev = "cuda"
    dtype = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[dt]
    g = torch.Generator(device=dev)
    g.manual_seed(1234)

    def rand(*shape):
        return (torch.rand(*shape, device=dev, generator=g) * 2 - 1).to(dtype)

    if op == "matmul":
        m, nn, k = n
        a, b = rand(m, k), rand(k, nn)
        if dt == "f32":
            def run():
                prev = torch.backends.cuda.matmul.allow_tf32
                torch.backends.cuda.matmul.allow_tf32 = False
                torch.matmul(a, b)
                torch.backends.cuda.matmul.allow_tf32 = prev
            return run
        return lambda: torch.matmul(a, b)
    if op == "linear":
        m, nn, k = n
        x, w = rand(m, k), rand(nn, k)
        return lambda: F.linear(x, w)
    if op == "linear_gelu":
        m, nn, k = n
        x, w, bias = rand(m, k), rand(nn, k), rand(nn)
        return lambda: F.gelu(F.linear(x, w, bias))
    B, H, S, D, causal = n
    q, k, v = (rand(B, S, H, D).transpose(1, 2) for _ in range(3))
    if op == "sdpa_fwd":
        return lambda: F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal))
    q, k, v = (t.detach().requires_grad_(True) for t in (q, k, v))
    o = F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal))
    do = rand(B, S, H, D).transpose(1, 2)
    return lambda: torch.autograd.grad(o, (q, k, v), do, retain_graph=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        for s in GO_SPECS:
            parse(s)
        print(f"kernels_gemm: {len(GO_SPECS)} specs parse")
    else:
        print(__doc__)
