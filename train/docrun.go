package train

// docrun.go: what the embedding and ColBERT modes share — the tokenizer,
// {"query","pos"(,"neg"|"scores")} data with its per-epoch hard-negative
// sampler and loader, and the run around the mode's model and loss
// (output directory, resume, checkpoints, run log, export, plot).

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/train/data"
)

// docRun is a query–document training run being set up.
type docRun struct {
	cfg     Config
	o       RunOptions
	out     io.Writer
	tok     *tokenizer.Tokenizer
	tokDir  string
	set     *data.EmbedSet
	sampler *data.EmbedSampler
	ts      *embedTrainSet
	red     Reducer
	// stepMetrics, when set, becomes the loop's StepMetrics.
	stepMetrics func() map[string]float64
	// eval, when set, evaluates before training, every eval_steps and
	// after training.
	eval *embedEval
}

// openDocRun loads the tokenizer and the training data of a validated
// cfg and builds the epoch loader: neg_nums hard negatives per example
// (0: train_group_size-1), queries cut at query_max_len and documents at
// passage_max_len (each 0: max_len). check, when set, sees the data before
// any sampling (a mode's format and loss checks).
func openDocRun(cfg Config, o RunOptions, check func(set *data.EmbedSet) error) (*docRun, error) {
	r := &docRun{cfg: cfg, o: o, out: o.output(), red: o.Reducer}
	if r.red == nil {
		r.red = localReducer{}
	}
	cfg.noteIgnored(r.out)
	r.tokDir = cfg.Tokenizer
	if r.tokDir == "" {
		r.tokDir = cfg.ModelNameOrPath
	}
	if r.tokDir == "" {
		return nil, fmt.Errorf("train: %s: a fresh model needs tokenizer: DIR", cfg.Path)
	}
	var err error
	if r.tok, err = tokenizer.Load(r.tokDir); err != nil {
		return nil, fmt.Errorf("train: tokenizer: %w", err)
	}
	qenc, err := data.NewTextEncoder(r.tok, cfg.queryMaxLen())
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	denc, err := data.NewTextEncoder(r.tok, cfg.passageMaxLen())
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if r.set, err = data.ReadEmbedding(cfg.TrainDataset, data.Options{SkipBadLines: cfg.SkipBadLines}); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if r.set.Report.BadLines > 0 {
		fmt.Fprintf(r.out, "warning: %s: skipped %d malformed lines (first: %v)\n", cfg.TrainDataset, r.set.Report.BadLines, r.set.Report.Errors[0])
	}
	if check != nil {
		if err := check(r.set); err != nil {
			return nil, err
		}
	}
	negNums := cfg.NegNums
	if negNums == 0 {
		negNums = max(cfg.TrainGroupSize-1, 1)
	}
	if r.sampler, err = data.NewEmbedSampler(r.set, negNums, !cfg.NoReplacement); err != nil {
		return nil, fmt.Errorf("train: %s: %w", cfg.TrainDataset, err)
	}
	if n, where := r.sampler.Short(); n > 0 {
		fmt.Fprintf(r.out, "warning: %s: neg_nums %d is more than the negatives of %d of %d records (%s); their negatives repeat, as in RAG-Retrieval (no_replacement: true makes this an error)\n",
			cfg.TrainDataset, negNums, n, len(r.set.Records), where)
	}
	loader, err := data.NewLoader(r.sampler.Epoch, data.LoaderConfig{Seed: uint64(cfg.Seed), BatchSize: cfg.BatchSize, Rank: r.red.Rank(), World: r.red.World()})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	r.ts = &embedTrainSet{set: r.set, loader: loader, qenc: qenc, enc: denc, batch: cfg.BatchSize}
	if r.ts.NumBatches(0) == 0 {
		return nil, fmt.Errorf("train: %s: %d training examples make no batch of %d", cfg.TrainDataset, r.sampler.Len(), cfg.BatchSize)
	}
	return r, nil
}

// docRunResult is what run returns.
type docRunResult struct {
	losses   []float64
	steps    int
	modelDir string
	// before and after are the evaluations at the start (fresh runs) and
	// the end; nil without evaluation data.
	before, after map[string]float64
}

// run trains model with lossFn (printing banner(total steps) first),
// writing checkpoints, metrics.jsonl and loss.png under output_dir, and
// exports the model with the tokenizer to output_dir/model. The losses and
// steps are filled in even when it fails.
func (r *docRun) run(ctx context.Context, model Trainable, lossFn func(b *Batch, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error), banner func(steps int) string) (docRunResult, error) {
	var res docRunResult
	cfg := r.cfg
	if err := os.MkdirAll(cfg.OutputDir, 0o755); err != nil {
		return res, fmt.Errorf("train: output_dir: %w", err)
	}
	resume, err := ResolveResume(r.o.Resume, cfg.OutputDir)
	if err != nil {
		return res, err
	}
	loop := &Loop{Cfg: cfg, Model: model, Train: r.ts, Reducer: r.red, LossFn: lossFn, StepMetrics: r.stepMetrics, Eval: r.eval.loopEval(),
		Export: func(dir string) error { return models.CopyTokenizer(r.tokDir, dir) }}
	if err := loop.Init(resume); err != nil {
		return res, err
	}
	fmt.Fprintln(r.out, banner(loop.TotalSteps()))
	rl, err := openRunLog(cfg, loop, r.out, r.o, resume != "")
	if err != nil {
		return res, err
	}
	defer rl.close()
	if res.before, err = r.eval.attach(loop, rl, resume == ""); err != nil {
		return res, err
	}
	if res.losses, res.steps, err = runLoop(ctx, loop, rl, r.out); err != nil {
		return res, err
	}
	if res.after, err = r.eval.final(loop, rl); err != nil {
		return res, err
	}
	if res.before != nil {
		fmt.Fprintf(r.out, "before training: %s\n", summary(res.before))
	}
	if res.after != nil {
		fmt.Fprintf(r.out, "after training:  %s\n", summary(res.after))
	}
	if res.modelDir, err = exportModel(cfg, model, r.tokDir); err != nil {
		return res, err
	}
	return res, rl.plot(r.out, cfg, res.modelDir)
}
