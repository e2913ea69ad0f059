#!/usr/bin/env python3
"""gpu-infer-check.py: inference on the GPU against the CPU, run by
scripts/gpu-run.sh (stage 4) with the models its training runs just wrote.

For every reranker directory given (a BERT cross-encoder, a Qwen2 LLM
reranker, a ColBERT model) it runs `ragr rerank` on 16 documents of the
bundled RAG-Retrieval example data on the CPU, on the GPU in fp32 (the
default: the CPU's numbers up to summation order) and on the GPU with
`--precision bf16`, and compares the scores document by document; for the
embedding model, `ragr embed` likewise (cosine of each GPU vector with the
CPU's). It prints one line per comparison and exits 1 when an fp32 GPU
result differs from the CPU's beyond 1e-3 (relative to the largest score
magnitude, or 1 - cosine beyond 1e-5), or when a command fails. bf16 is
reported, not judged (rounded operands: differences of a few 1e-3 are
expected).

Usage: gpu-infer-check.py RAGR --rerank DIR [--rerank DIR]... --embed DIR [--device sim]
Python standard library only.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

DATA = "testdata/data/rag-retrieval-example-data/t2rank_100.small.jsonl"


def docs_and_query():
    rows = [json.loads(line) for line in open(DATA, encoding="utf-8")]
    docs = [d for r in rows[:3] for d in r["pos"] + r["neg"]][:16]
    return rows[0]["query"], docs


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... exited {p.returncode}: {p.stderr.strip()[-400:]}")
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ragr")
    ap.add_argument("--rerank", action="append", default=[])
    ap.add_argument("--embed", action="append", default=[])
    ap.add_argument("--device", default="cuda", help="the device to check against the CPU (sim for a dry run)")
    a = ap.parse_args()
    query, docs = docs_and_query()
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(docs, f, ensure_ascii=False)
    bad = 0
    for model in a.rerank:
        name = os.path.basename(os.path.dirname(model.rstrip("/")))
        try:
            out = {}
            for tag, extra in (("cpu", ["--device", "cpu"]), ("cuda", ["--device", a.device]),
                               ("cuda-bf16", ["--device", a.device, "--precision", "bf16"])):
                r = run([a.ragr, "rerank", "--model", model, "--query", query, "--docs", path] + extra)
                out[tag] = {x["index"]: x["score"] for x in r["results"]}
        except Exception as e:  # noqa: BLE001 - reported, counted
            print(f"infer {name}: FAILED: {e}")
            bad += 1
            continue
        scale = max(abs(v) for v in out["cpu"].values()) or 1.0
        for tag in ("cuda", "cuda-bf16"):
            d = max(abs(out[tag][i] - out["cpu"][i]) for i in out["cpu"]) / scale
            same = [k for k, _ in sorted(out[tag].items(), key=lambda kv: -kv[1])] == \
                   [k for k, _ in sorted(out["cpu"].items(), key=lambda kv: -kv[1])]
            verdict = "ok" if tag != "cuda" or d <= 1e-3 else "FAIL"
            if tag == "cuda-bf16":
                verdict = "reported"
            print(f"infer {name} rerank {tag} vs cpu: max |Δscore|/max|score| {d:.2e}, same ranking {same}: {verdict}")
            bad += verdict == "FAIL"
    for model in a.embed:
        name = os.path.basename(os.path.dirname(model.rstrip("/")))
        try:
            out = {}
            for tag, extra in (("cpu", ["--device", "cpu"]), ("cuda", ["--device", a.device]),
                               ("cuda-bf16", ["--device", a.device, "--precision", "bf16"])):
                r = run([a.ragr, "embed", "--model", model, "--texts", path] + extra)
                out[tag] = {x["index"]: x["embedding"] for x in r["embeddings"]}
        except Exception as e:  # noqa: BLE001
            print(f"infer {name}: FAILED: {e}")
            bad += 1
            continue

        def cos(u, v):
            return sum(x * y for x, y in zip(u, v)) / (math.sqrt(sum(x * x for x in u)) * math.sqrt(sum(y * y for y in v)))

        for tag in ("cuda", "cuda-bf16"):
            worst = max(1 - cos(out[tag][i], out["cpu"][i]) for i in out["cpu"])
            verdict = "ok" if worst <= 1e-5 else "FAIL"
            if tag == "cuda-bf16":
                verdict = "reported"
            print(f"infer {name} embed {tag} vs cpu: max 1-cos {worst:.2e}: {verdict}")
            bad += verdict == "FAIL"
    os.unlink(path)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
