package train

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/losses"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/train/data"
	"github.com/ragr-dev/ragr/train/metrics"
	"github.com/ragr-dev/ragr/train/report"
)

// RunOptions control a training run beyond its config.
type RunOptions struct {
	// Out receives the progress bar and messages (nil: discard).
	Out io.Writer
	// Resume is a checkpoint directory, or "latest", to continue from.
	Resume string
	// Reducer averages gradients across data-parallel ranks (nil: one
	// process).
	Reducer Reducer
	// ProgressMode forces the progress bar's mode (report.ModeAuto by
	// default).
	ProgressMode report.Mode
	// OnStep, when set, is called after each optimizer step.
	OnStep func(StepInfo)
}

// EvalReport holds one evaluation of the held-out queries.
type EvalReport struct {
	Step   int
	Model  metrics.Result
	BM25   metrics.Result
	Scored int
}

// RerankResult describes a finished reranker run.
type RerankResult struct {
	// ModelDir is the exported model (Hugging Face layout).
	ModelDir string
	// Losses are the losses of this process's optimizer steps.
	Losses []float64
	// Before and After are the evaluations before and after training
	// (nil without held-out queries; Before is nil on resume).
	Before, After *EvalReport
	// Steps is the number of optimizer steps taken in total.
	Steps int
	// FreshParams lists parameters initialised fresh (a new head).
	FreshParams []string
	// DataReport describes the training data reading.
	DataReport data.Report
}

// Reranker training state shared by the run and evaluation.
type rerankRun struct {
	cfg    Config
	tok    *tokenizer.Tokenizer
	tokDir string
	enc    data.PairEncoder
	model  Reranker
}

func (r *rerankRun) loadTokenizer() error {
	dir := r.cfg.Tokenizer
	if dir == "" {
		dir = r.cfg.ModelNameOrPath
	}
	if dir == "" {
		return fmt.Errorf("train: %s: a fresh model needs tokenizer: DIR", r.cfg.Path)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return fmt.Errorf("train: tokenizer: %w", err)
	}
	r.tok, r.tokDir = tok, dir
	switch r.cfg.ModelType {
	case "llm_decoder":
		r.enc, err = data.NewDecoderEncoder(tok, data.DecoderEncoderConfig{MaxLen: r.cfg.MaxLen, QueryFormat: r.cfg.QueryFormat,
			DocumentFormat: r.cfg.DocumentFormat, Sep: r.cfg.Sep, SpecialToken: r.cfg.SpecialToken})
	default:
		r.enc, err = data.NewCrossEncoder(tok, data.CrossEncoderConfig{MaxLen: r.cfg.MaxLen, Truncation: tokenizer.OnlySecond,
			QueryFormat: r.cfg.QueryFormat, DocumentFormat: r.cfg.DocumentFormat})
	}
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// readOptions are the data options of the config.
func (c Config) readOptions() data.Options {
	o := data.Options{SkipBadLines: c.SkipBadLines}
	if c.MinLabel != nil {
		o.MinLabel = *c.MinLabel
	}
	if c.MaxLabel != nil {
		o.MaxLabel = *c.MaxLabel
	} else if c.MinLabel != nil {
		o.MaxLabel = 1
	}
	return o
}

// sampling derives the data sampling from the config and the loss.
func (c Config) sampling(pointwiseLoss bool) (data.Sampling, error) {
	s := data.Sampling{GroupSize: c.TrainGroupSize, Replacement: !c.NoReplacement}
	switch {
	case c.Sampling != "":
		m, err := data.ParseSampleMode(c.Sampling)
		if err != nil {
			return s, err
		}
		s.Mode = m
	case pointwiseLoss && c.TrainGroupSize <= 1:
		s.Mode = data.SamplePointwise
	default:
		s.Mode = data.SampleTopPositive
	}
	if s.Mode == data.SamplePointwise {
		s.GroupSize = 1
	}
	return s, nil
}

// rerankTrainSet adapts a data.Loader to TrainSet.
type rerankTrainSet struct {
	groups []data.Group
	loader *data.Loader[data.Example]
	enc    data.PairEncoder
	batch  int
}

func (s *rerankTrainSet) NumBatches(epoch int) int { return s.loader.Batches(epoch) }

func (s *rerankTrainSet) Batch(epoch, i int) (*Batch, error) {
	ex := s.loader.Epoch(epoch)
	if (i+1)*s.batch > len(ex) {
		return nil, fmt.Errorf("batch %d of epoch %d is past the data", i, epoch)
	}
	rb, err := data.BuildBatch(s.enc, s.groups, ex[i*s.batch:(i+1)*s.batch])
	if err != nil {
		return nil, err
	}
	return &Batch{Inputs: Inputs{IDs: rb.IDs, TypeIDs: rb.TypeIDs, Mask: rb.Mask}, Labels: rb.Labels, GroupSize: rb.GroupSize, Samples: rb.Examples}, nil
}

// ScoreGroups scores every candidate of every group with model, in batches
// of at most batch pairs, without gradients.
func ScoreGroups(model Reranker, enc data.PairEncoder, groups []data.Group, batch int) ([][]float32, error) {
	var qs, ds []string
	var owner []int
	for gi, g := range groups {
		for _, it := range g.Items {
			qs, ds, owner = append(qs, g.Query), append(ds, it.Text), append(owner, gi)
		}
	}
	out := make([][]float32, len(groups))
	for gi, g := range groups {
		out[gi] = make([]float32, 0, len(g.Items))
	}
	if batch < 1 {
		batch = 32
	}
	var err error
	autograd.NoGrad(func() {
		for lo := 0; lo < len(qs); lo += batch {
			hi := min(lo+batch, len(qs))
			var e data.Encoded
			if e, err = enc.EncodePairs(qs[lo:hi], ds[lo:hi]); err != nil {
				return
			}
			ids, types, mask := e.Tensors()
			var s *autograd.Var
			if s, err = model.Scores(Inputs{IDs: ids, TypeIDs: types, Mask: mask}, false, nil, false); err != nil {
				return
			}
			for k, v := range s.Value.Float32s() {
				gi := owner[lo+k]
				out[gi] = append(out[gi], v)
			}
		}
	})
	return out, err
}

// EvaluateGroups scores groups with model and computes the ranking
// metrics, with BM25 over the same candidates beside them.
func EvaluateGroups(model Reranker, enc data.PairEncoder, groups []data.Group, batch int) (*EvalReport, error) {
	scores, err := ScoreGroups(model, enc, groups, batch)
	if err != nil {
		return nil, err
	}
	return EvaluateScored(groups, scores)
}

// EvaluateScored computes the ranking metrics of scores (scores[i][k] for
// candidate k of group i, from any scorer), with BM25 over the same
// candidates beside them.
func EvaluateScored(groups []data.Group, scores [][]float32) (*EvalReport, error) {
	if len(scores) != len(groups) {
		return nil, fmt.Errorf("train: %d score lists for %d groups", len(scores), len(groups))
	}
	for i, g := range groups {
		if len(scores[i]) != len(g.Items) {
			return nil, fmt.Errorf("train: group %d (query %q): %d scores for %d candidates", i, g.Query, len(scores[i]), len(g.Items))
		}
	}
	qs := make([]metrics.Query, len(groups))
	bqs := make([]metrics.Query, len(groups))
	queries := make([]string, len(groups))
	cands := make([][]string, len(groups))
	for i, g := range groups {
		labels := make([]float32, len(g.Items))
		for k, it := range g.Items {
			labels[k] = it.Label
			cands[i] = append(cands[i], it.Text)
		}
		queries[i] = g.Query
		qs[i] = metrics.NewQuery(scores[i], labels)
		bqs[i].Labels = qs[i].Labels
	}
	bm := metrics.BM25Scores(queries, cands, metrics.BM25Params{})
	for i := range bqs {
		bqs[i].Scores = bm[i]
	}
	return &EvalReport{Model: metrics.Evaluate(qs, metrics.Options{}), BM25: metrics.Evaluate(bqs, metrics.Options{}), Scored: len(groups)}, nil
}

// TrainReranker runs reranker training as cfg describes: it reads and
// checks the data and the model before the first step, trains with
// progress on o.Out, evaluates held-out queries before and after, writes
// checkpoints, metrics.jsonl and loss.png under output_dir, and exports the
// final model (with its tokenizer files) to output_dir/model.
func TrainReranker(ctx context.Context, cfg Config, o RunOptions) (*RerankResult, error) {
	out := o.output()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.checkDevice(); err != nil {
		return nil, err
	}
	cfg.noteIgnored(out)
	spec, err := lookupLoss(cfg.LossType)
	if err != nil {
		return nil, err
	}
	run := &rerankRun{cfg: cfg}
	if err := run.loadTokenizer(); err != nil {
		return nil, err
	}
	defer setGCPercent(cfg.GCPercent)()
	set, err := data.ReadReranker(cfg.TrainDataset, cfg.readOptions())
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	res := &RerankResult{DataReport: set.Report}
	if set.Report.BadLines > 0 {
		fmt.Fprintf(out, "warning: %s: skipped %d malformed lines (first: %v)\n", cfg.TrainDataset, set.Report.BadLines, set.Report.Errors[0])
	}
	trainGroups := set.Groups
	var evalGroups []data.Group
	switch {
	case cfg.ValDataset != "":
		vs, err := data.ReadReranker(cfg.ValDataset, cfg.readOptions())
		if err != nil {
			return nil, fmt.Errorf("train: val_dataset: %w", err)
		}
		evalGroups = vs.Groups
	case cfg.ValProportion > 0:
		trainGroups, evalGroups, err = data.SplitByQuery(set.Groups, cfg.ValProportion, uint64(cfg.Seed))
		if err != nil {
			return nil, fmt.Errorf("train: val_proportion: %w", err)
		}
	}
	if spec.distill {
		if err := checkSoftLabels(trainGroups); err != nil {
			return nil, fmt.Errorf("train: loss %s: %w", spec.Name, err)
		}
	}
	samp, err := cfg.sampling(spec.pointwise)
	if err != nil {
		return nil, fmt.Errorf("train: %s: sampling: %w", cfg.Path, err)
	}
	stats, err := data.Validate(trainGroups, samp)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", cfg.TrainDataset, err)
	}
	sampler, err := data.NewSampler(trainGroups, samp)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	red := o.Reducer
	if red == nil {
		red = localReducer{}
	}
	loader, err := data.NewLoader(sampler.Epoch, data.LoaderConfig{Seed: uint64(cfg.Seed), BatchSize: cfg.BatchSize, Rank: red.Rank(), World: red.World()})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	model, fresh, err := BuildReranker(cfg, run.tok.VocabSize())
	if err != nil {
		return nil, err
	}
	run.model = model
	res.FreshParams = fresh
	ts := &rerankTrainSet{groups: trainGroups, loader: loader, enc: run.enc, batch: cfg.BatchSize}
	if ts.NumBatches(0) == 0 {
		return nil, fmt.Errorf("train: %s: %d training examples make no batch of %d", cfg.TrainDataset, stats.Examples, cfg.BatchSize)
	}
	if err := os.MkdirAll(cfg.OutputDir, 0o755); err != nil {
		return nil, fmt.Errorf("train: output_dir: %w", err)
	}
	resume, err := ResolveResume(o.Resume, cfg.OutputDir)
	if err != nil {
		return nil, err
	}
	loop := &Loop{Cfg: cfg, Model: model, Train: ts, Reducer: red,
		Export: func(dir string) error { return models.CopyTokenizer(run.tokDir, dir) }}
	if err := loop.Init(resume); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "reranker: %s, %d parameters, %d training queries (%d examples/epoch), %d held out, loss %s, %d steps\n",
		model.Kind(), nparams(model.Params()), stats.Usable, stats.Examples, len(evalGroups), spec.Name, loop.TotalSteps())
	if len(fresh) > 0 {
		fmt.Fprintf(out, "note: %d parameters not in the checkpoint were initialised fresh: %v\n", len(fresh), fresh)
	}
	evalBatch := max(cfg.BatchSize*cfg.TrainGroupSize, 16)
	evaluate := func(step int) (*EvalReport, error) {
		if len(evalGroups) == 0 {
			return nil, nil
		}
		r, err := EvaluateGroups(model, run.enc, evalGroups, evalBatch)
		if r != nil {
			r.Step = step
		}
		return r, err
	}
	if resume == "" {
		if res.Before, err = evaluate(0); err != nil {
			return nil, err
		}
		if res.Before != nil {
			fmt.Fprintf(out, "before training: %s\n               BM25: %s\n", res.Before.Model, res.Before.BM25)
		}
	}
	rl, err := openRunLog(cfg, loop, out, o, resume != "")
	if err != nil {
		return nil, err
	}
	defer rl.close()
	if res.Before != nil {
		rl.write(evalRecord(0, res.Before.Model.Values()))
	}
	loop.Hooks.OnEval = func(step int, m map[string]float64) {
		rl.write(evalRecord(step, m))
		rl.bar.Log(fmt.Sprintf("step %d eval: map %.4f mrr@10 %.4f ndcg@10 %.4f", step, m["map"], m["mrr@10"], m["ndcg@10"]))
	}
	if len(evalGroups) > 0 {
		loop.Eval = func(step int) (map[string]float64, error) {
			r, err := evaluate(step)
			if err != nil {
				return nil, err
			}
			return r.Model.Values(), nil
		}
	}
	if res.Losses, res.Steps, err = runLoop(ctx, loop, rl, out); err != nil {
		return res, err
	}
	if res.ModelDir, err = exportModel(cfg, model, run.tokDir); err != nil {
		return res, err
	}
	if res.After, err = evaluate(res.Steps); err != nil {
		return res, err
	}
	if res.After != nil {
		fmt.Fprintf(out, "after training:  %s\n               BM25: %s\n", res.After.Model, res.After.BM25)
		rl.write(evalRecord(res.Steps, res.After.Model.Values()))
	}
	if len(evalGroups) > 0 {
		if err := showRanking(out, model, run.enc, evalGroups[0], 5); err != nil {
			return res, err
		}
	}
	if err := rl.stop(); err != nil {
		return res, err
	}
	return res, rl.plot(out, cfg, res.ModelDir)
}

// lossInfo is what the trainer needs to know of a loss.
type lossInfo struct {
	Name      string
	pointwise bool
	// distill: the labels are teacher probabilities (TeacherLogits).
	distill bool
}

func lookupLoss(name string) (lossInfo, error) {
	spec, err := lossesLookup(name)
	if err != nil {
		return lossInfo{}, fmt.Errorf("train: loss_type: %w", err)
	}
	pw := spec.Name == "pointwise_bce" || spec.Name == "pointwise_mse"
	return lossInfo{Name: spec.Name, pointwise: pw, distill: spec.Kind == losses.KindDistill}, nil
}

// checkSoftLabels checks that every label is a teacher probability in
// [0, 1], as the distill_* losses read them.
func checkSoftLabels(groups []data.Group) error {
	for _, g := range groups {
		for i, it := range g.Items {
			if !(it.Label >= 0 && it.Label <= 1) {
				return fmt.Errorf("%s: query %q, document %d: label %g is not a teacher probability in [0, 1] (distill_* losses read soft labels: sigmoid of the teacher's score)", g.Source(), g.Query, i, it.Label)
			}
		}
	}
	return nil
}

// showRanking prints one group's candidates reranked by the model: rank,
// score, label and the start of the text.
func showRanking(w io.Writer, model Reranker, enc data.PairEncoder, g data.Group, top int) error {
	scores, err := ScoreGroups(model, enc, []data.Group{g}, 64)
	if err != nil {
		return err
	}
	s64 := make([]float64, len(scores[0]))
	for i, v := range scores[0] {
		s64[i] = float64(v)
	}
	order := metrics.Rank(s64)
	fmt.Fprintf(w, "held-out query %q reranked (top %d of %d):\n", g.Query, min(top, len(order)), len(order))
	for r, i := range order[:min(top, len(order))] {
		text := []rune(g.Items[i].Text)
		if len(text) > 48 {
			text = append(text[:48], '…')
		}
		fmt.Fprintf(w, "  %d. score %7.3f  label %g  %s\n", r+1, s64[i], g.Items[i].Label, string(text))
	}
	return nil
}

// evalRecord is a metrics-log record of an evaluation's ranking metrics
// (the query count is left out: it is not a score).
func evalRecord(step int, m map[string]float64) report.Record {
	rec := report.Record{Step: step}
	for k, v := range m {
		if k != "queries" {
			rec.Set("eval/"+k, v)
		}
	}
	return rec
}

// setGCPercent applies the trainer's GC percent unless GOGC is set, and
// returns the function that restores the previous one.
func setGCPercent(p int) func() {
	if p <= 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(p)
	return func() { debug.SetGCPercent(prev) }
}
