package train

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/losses"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/nn/optim"
	"github.com/ragr-dev/ragr/tensor"
)

// benchTrainStep measures one optimizer step (forward, BCE loss, backward,
// clipping, AdamW) of a BERT cross-encoder on a batch of n × l tokens.
func benchTrainStep(b *testing.B, cfg bert.Config, n, l int) {
	m := bert.NewClassifier(cfg, 1, tensor.NewRNG(1))
	r := &bertReranker{m: m, cfg: &models.Config{ModelType: "bert"}}
	rng := tensor.NewRNG(2)
	ids := make([]int32, n*l)
	mask := make([]int32, n*l)
	for i := range ids {
		ids[i] = int32(rng.IntN(cfg.VocabSize))
		mask[i] = 1
	}
	in := Inputs{IDs: tensor.FromInt32(ids, n, l), TypeIDs: tensor.New(tensor.Int32, n, l), Mask: tensor.FromInt32(mask, n, l)}
	labels := rng.Uniform(0, 1, n)
	opt, err := optim.NewAdamW(optim.DecayGroups(r.Params(), 0.01), optim.DefaultConfig(), optim.Constant())
	if err != nil {
		b.Fatal(err)
	}
	spec, _ := losses.Lookup("pointwise_bce")
	step := func() {
		s, err := r.Scores(in, true, rng, false)
		if err != nil {
			b.Fatal(err)
		}
		loss, err := spec.Compute(losses.Inputs{Logits: s, Labels: labels}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := loss.Backward(); err != nil {
			b.Fatal(err)
		}
		opt.ClipGradNorm(1)
		opt.Step()
		opt.ZeroGrad()
	}
	defer setGCPercent(DefaultGCPercent)()
	step() // allocate optimizer state
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/step")
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "seq/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N*n)*1e3, "ms/seq")
}

// benchEmbedStep measures one optimizer step of a bi-encoder with the
// triplet in-batch loss: q queries, q positives and q·negs hard negatives,
// each l tokens, encoded by the same encoder (ckpt: gradient
// checkpointing).
func benchEmbedStep(b *testing.B, cfg bert.Config, q, negs, l int, ckpt bool) {
	m := &EmbedModel{Encoder: bert.New(cfg, false, tensor.NewRNG(1)), Pooling: models.PoolCLS}
	rng := tensor.NewRNG(2)
	batch := func(n int) Inputs {
		ids := make([]int32, n*l)
		mask := make([]int32, n*l)
		for i := range ids {
			ids[i] = int32(rng.IntN(cfg.VocabSize))
			mask[i] = 1
		}
		return Inputs{IDs: tensor.FromInt32(ids, n, l), TypeIDs: tensor.New(tensor.Int32, n, l), Mask: tensor.FromInt32(mask, n, l)}
	}
	qs, ps, ns := batch(q), batch(q), batch(q*negs)
	opt, err := optim.NewAdamW(optim.DecayGroups(m.Params(), 0.01), optim.DefaultConfig(), optim.Constant())
	if err != nil {
		b.Fatal(err)
	}
	spec, _ := losses.Lookup("triplet_inbatch_softmax")
	params := spec.Defaults
	step := func() {
		var li losses.Inputs
		var err error
		for _, e := range []struct {
			dst **autograd.Var
			in  Inputs
		}{{&li.Query, qs}, {&li.Pos, ps}, {&li.Neg, ns}} {
			if *e.dst, err = m.Encode(e.in, true, rng, ckpt); err != nil {
				b.Fatal(err)
			}
		}
		loss, err := spec.Compute(li, &params)
		if err != nil {
			b.Fatal(err)
		}
		if err := loss.Backward(); err != nil {
			b.Fatal(err)
		}
		opt.ClipGradNorm(1)
		opt.Step()
		opt.ZeroGrad()
	}
	defer setGCPercent(DefaultGCPercent)()
	step()
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	seqs := q * (2 + negs)
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/step")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N*seqs)*1e3, "ms/seq")
}

// BenchmarkEmbedStepBertBase is issue 5's embedding step: a BERT-base
// encoder, 8 queries × (1 positive + 7 hard negatives) × 128 tokens (72
// sequences), without and with gradient checkpointing; compare ms/seq with
// BenchmarkTrainStepBertBase (target: within 1.2×). Peak memory: run each
// sub-benchmark in its own process under /usr/bin/time -v.
func BenchmarkEmbedStepBertBase(b *testing.B) {
	for _, ckpt := range []bool{false, true} {
		b.Run(fmt.Sprintf("ckpt=%v", ckpt), func(b *testing.B) { benchEmbedStep(b, bertBase, 8, 7, 128, ckpt) })
	}
}

// BenchmarkEmbedStepSmall is BenchmarkEmbedStepBertBase on the 4-layer,
// 256-hidden model.
func BenchmarkEmbedStepSmall(b *testing.B) {
	for _, ckpt := range []bool{false, true} {
		b.Run(fmt.Sprintf("ckpt=%v", ckpt), func(b *testing.B) { benchEmbedStep(b, bertSmall, 8, 7, 128, ckpt) })
	}
}

var (
	bertBase = bert.Config{VocabSize: 30522, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, MaxPositions: 512,
		TypeVocab: 2, Act: "gelu", Eps: 1e-12, HiddenDropout: 0.1, AttnDropout: 0.1, InitStd: 0.02}
	bertSmall = bert.Config{VocabSize: 30522, Hidden: 256, Layers: 4, Heads: 4, Intermediate: 1024, MaxPositions: 512,
		TypeVocab: 2, Act: "gelu", Eps: 1e-12, HiddenDropout: 0.1, AttnDropout: 0.1, InitStd: 0.02}
)

// BenchmarkTrainStepBertBase is issue 4's BERT-base cross-encoder step at
// batch 8 × 128 (target: at most 3.6 s on the 2-core machine).
func BenchmarkTrainStepBertBase(b *testing.B) {
	benchTrainStep(b, bertBase, 8, 128)
}

// BenchmarkTrainStepSmall is the 4-layer, 256-hidden model at 8 × 128
// (target: at most 250 ms).
func BenchmarkTrainStepSmall(b *testing.B) {
	benchTrainStep(b, bertSmall, 8, 128)
}
