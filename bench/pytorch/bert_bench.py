#!/usr/bin/python3
"""PyTorch baseline for ragr's benchmarks, run on the same machine.

A BERT-shaped encoder (post-LN blocks, exact GELU, 12 heads) built from
torch.nn.TransformerEncoderLayer, with BertPooler and a one-label classifier:
the same FLOPs as transformers' BertForSequenceClassification. It reports,
for fp32 on the CPU with 2 threads:
  - forward throughput at batch 8 x 128 (sequences/s), under no_grad;
  - one training step (forward, BCE-with-logits, backward, grad clipping,
    AdamW) in ms, for BERT-base and for a 4-layer 256-hidden model;
  - the peak resident memory of the process after each case (ru_maxrss).
Usage: /usr/bin/python3 bench/pytorch/bert_bench.py [--threads 2] [--only forward|step-small|step-base]
Run one case per process to read each case's peak RSS (the script prints it).
"""
import argparse, resource, time
import torch
import torch.nn as nn


class Bert(nn.Module):
    def __init__(self, vocab=30522, hidden=768, layers=12, heads=12, inter=3072, maxpos=512, dropout=0.1):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden, padding_idx=0)
        self.pos = nn.Embedding(maxpos, hidden)
        self.typ = nn.Embedding(2, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(hidden, heads, inter, dropout=dropout, activation="gelu",
                                           layer_norm_eps=1e-12, batch_first=True, norm_first=False)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.pool = nn.Linear(hidden, hidden)
        self.cls = nn.Linear(hidden, 1)

    def forward(self, ids, types, mask):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        h = self.drop(self.ln(self.word(ids) + self.pos(pos) + self.typ(types)))
        h = self.enc(h, src_key_padding_mask=(mask == 0))
        return self.cls(self.drop(torch.tanh(self.pool(h[:, 0])))).squeeze(-1)


def timeit(fn, min_time=3.0):
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - start
        if el >= min_time and n >= 3:
            return el / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    b, l = 8, 128
    ids = torch.randint(1, 30522, (b, l))
    types = torch.zeros(b, l, dtype=torch.long)
    mask = torch.ones(b, l, dtype=torch.long)
    labels = torch.rand(b)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {b}x{l}, fp32")
    if a.only in ("", "forward"):
        m = Bert().eval()
        with torch.no_grad():
            t = timeit(lambda: m(ids, types, mask))
        print(f"bert-base forward: {t*1e3:.0f} ms/batch = {b/t:.2f} seq/s; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MiB")
    for name, kw in (("step-small", dict(hidden=256, layers=4, heads=4, inter=1024)), ("step-base", {})):
        if a.only not in ("", name):
            continue
        m = Bert(**kw).train()
        opt = torch.optim.AdamW(m.parameters(), lr=1e-5, weight_decay=0.01)
        lossf = nn.BCEWithLogitsLoss()

        def step():
            opt.zero_grad()
            loss = lossf(m(ids, types, mask), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
        t = timeit(step)
        print(f"{name} train step: {t*1e3:.0f} ms; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MiB")


if __name__ == "__main__":
    main()
