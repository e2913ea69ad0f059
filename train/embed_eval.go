package train

// embed_eval.go: evaluation during embedding training (retrieval over
// val_dataset or eval_corpus/eval_queries/eval_qrels, Spearman on
// eval_sts) with train/embedeval, at the full width and each MRL
// dimension.

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/train/data"
	"github.com/ragr-dev/ragr/train/embedeval"
)

// EmbedEncodeFunc returns an embedeval.EncodeFunc that embeds texts with
// model (no gradients, no dropout), tokenized by enc.
func EmbedEncodeFunc(model *EmbedModel, enc *data.TextEncoder) embedeval.EncodeFunc {
	return func(texts []string) ([][]float32, error) {
		in, err := encodeTexts(enc, texts)
		if err != nil {
			return nil, err
		}
		var out [][]float32
		autograd.NoGrad(func() {
			var e *autograd.Var
			if e, err = model.Encode(in, false, nil, false); err != nil {
				return
			}
			v := e.Value.Float32s()
			w := len(v) / len(texts)
			out = make([][]float32, len(texts))
			for i := range out {
				out[i] = v[i*w : (i+1)*w : (i+1)*w]
			}
		})
		return out, err
	}
}

// embedEval is the evaluation of an embedding run; nil when the config
// names no evaluation data.
type embedEval struct {
	retr     *embedeval.RetrievalSet
	sts      []embedeval.STSPair
	opts     embedeval.Options
	encode   embedeval.EncodeFunc
	lastStep int
	last     map[string]float64
}

// newEmbedEval reads the evaluation data of cfg (val_dataset or
// eval_corpus + eval_queries + eval_qrels, and eval_sts) before training
// starts; it returns nil when there is none.
func newEmbedEval(cfg Config, model *EmbedModel, enc *data.TextEncoder) (*embedEval, error) {
	e := &embedEval{opts: embedeval.Options{Dims: cfg.MRLDims, Batch: max(2*cfg.BatchSize, 32)}, encode: EmbedEncodeFunc(model, enc), lastStep: -1}
	beir := cfg.EvalCorpus != "" || cfg.EvalQueries != "" || cfg.EvalQrels != ""
	switch {
	case beir && cfg.ValDataset != "":
		return nil, fmt.Errorf("train: %s: set val_dataset or eval_corpus/eval_queries/eval_qrels, not both", cfg.Path)
	case beir:
		if cfg.EvalCorpus == "" || cfg.EvalQueries == "" || cfg.EvalQrels == "" {
			return nil, fmt.Errorf("train: %s: eval_corpus, eval_queries and eval_qrels go together", cfg.Path)
		}
		s, err := embedeval.ReadRetrieval(cfg.EvalCorpus, cfg.EvalQueries, cfg.EvalQrels)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		e.retr = s
	case cfg.ValDataset != "":
		s, err := embedeval.ReadEmbedData(cfg.ValDataset)
		if err != nil {
			return nil, fmt.Errorf("train: val_dataset: %w", err)
		}
		e.retr = s
	}
	if cfg.EvalSTS != "" {
		p, err := embedeval.ReadSTS(cfg.EvalSTS, cfg.EvalSTSSplit)
		if err != nil {
			return nil, fmt.Errorf("train: eval_sts: %w", err)
		}
		e.sts = p
	} else if cfg.EvalSTSSplit != "" {
		return nil, fmt.Errorf("train: %s: eval_sts_split without eval_sts", cfg.Path)
	}
	if e.retr == nil && e.sts == nil {
		return nil, nil
	}
	return e, nil
}

// evaluate computes every configured metric at step.
func (e *embedEval) evaluate(step int) (map[string]float64, error) {
	m := map[string]float64{}
	if e.retr != nil {
		r, err := embedeval.EvaluateRetrieval(e.retr, e.encode, e.opts)
		if err != nil {
			return nil, err
		}
		for k, v := range r.Values() {
			m[k] = v
		}
	}
	if e.sts != nil {
		r, err := embedeval.EvaluateSTS(e.sts, e.encode, e.opts)
		if err != nil {
			return nil, err
		}
		for k, v := range r.Values() {
			m[k] = v
		}
	}
	e.lastStep, e.last = step, m
	return m, nil
}

// loopEval is the Loop's Eval hook (nil without evaluation data).
func (e *embedEval) loopEval() func(step int) (map[string]float64, error) {
	if e == nil {
		return nil
	}
	return e.evaluate
}

// summary formats the headline metrics on one line.
func summary(m map[string]float64) string {
	var keys []string
	for k := range m {
		if !strings.Contains(k, "/") && (strings.HasPrefix(k, "ndcg@") || strings.HasPrefix(k, "mrr@") || k == "sts_spearman") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s %.4f", k, m[k])
	}
	return b.String()
}

// attach evaluates before training (fresh runs) and logs every evaluation
// to the run log; it returns the step-0 metrics (nil on resume or without
// evaluation data).
func (e *embedEval) attach(loop *Loop, rl *runLog, fresh bool) (map[string]float64, error) {
	if e == nil {
		return nil, nil
	}
	loop.Hooks.OnEval = func(step int, m map[string]float64) {
		rl.write(evalRecord(step, m))
		rl.bar.Log(fmt.Sprintf("step %d eval: %s", step, summary(m)))
	}
	if !fresh {
		return nil, nil
	}
	m, err := e.evaluate(0)
	if err != nil {
		return nil, fmt.Errorf("train: evaluation before training: %w", err)
	}
	loop.Hooks.OnEval(0, m)
	return m, nil
}

// final evaluates after the last step unless the loop just did.
func (e *embedEval) final(loop *Loop, rl *runLog) (map[string]float64, error) {
	if e == nil {
		return nil, nil
	}
	if e.lastStep == loop.Step() {
		return e.last, nil
	}
	m, err := e.evaluate(loop.Step())
	if err != nil {
		return nil, fmt.Errorf("train: evaluation after training: %w", err)
	}
	rl.write(evalRecord(loop.Step(), m))
	return m, rl.stop()
}
