package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/train/report"
)

// runLog is what every training mode writes while it runs: metrics.jsonl
// (continued on resume), the progress bar, and at the end loss.png.
type runLog struct {
	path string
	mw   *report.MetricsWriter
	bar  *report.Progress
	err  error // first metrics-log write error
	done bool  // the bar was finished
}

// openRunLog opens output_dir/metrics.jsonl (truncated after the resumed
// step, or started afresh), starts the progress bar and installs the
// loop's OnStep and OnLog hooks (OnStep also calls o.OnStep).
func openRunLog(cfg Config, loop *Loop, out io.Writer, o RunOptions, resumed bool) (*runLog, error) {
	r := &runLog{path: filepath.Join(cfg.OutputDir, "metrics.jsonl")}
	if resumed {
		if err := report.TruncateMetrics(r.path, loop.Step()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("train: %w", err)
		}
	} else {
		_ = os.Remove(r.path)
	}
	mw, err := report.OpenMetrics(r.path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	r.mw = mw
	r.bar = report.New(out, loop.TotalSteps(), report.Options{Desc: "train", Start: loop.Step(), Mode: o.ProgressMode})
	loop.Hooks.OnStep = func(s StepInfo) {
		r.bar.Update(s.Step, s.Loss, s.LR, s.Samples)
		rec := report.Record{Step: s.Step}
		rec.Set(report.KeyLoss, s.Loss)
		rec.Set(report.KeyLR, s.LR)
		rec.Set(report.KeyGradNorm, s.GradNorm)
		rec.Set(report.KeyEpoch, float64(s.Epoch+1))
		for k, v := range s.Metrics {
			rec.Set(k, v)
		}
		r.write(rec)
		if o.OnStep != nil {
			o.OnStep(s)
		}
	}
	loop.Hooks.OnLog = r.bar.Log
	return r, nil
}

// write appends a record, keeping the first error for finish.
func (r *runLog) write(rec report.Record) {
	if err := r.mw.Write(rec); err != nil && r.err == nil {
		r.err = err
	}
}

// stop ends the progress bar (once) and reports a metrics-log write
// error; it may be called again after later writes.
func (r *runLog) stop() error {
	if !r.done {
		r.bar.Finish()
		r.done = true
	}
	if r.err != nil {
		return fmt.Errorf("train: metrics log: %w", r.err)
	}
	return nil
}

// plot writes output_dir/loss.png and prints where the outputs are.
func (r *runLog) plot(out io.Writer, cfg Config, modelDir string) error {
	png := filepath.Join(cfg.OutputDir, "loss.png")
	if err := report.Plot(r.path, png); err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	fmt.Fprintf(out, "model: %s\nmetrics: %s\nplot: %s\n", modelDir, r.path, png)
	return nil
}

// runLoop runs loop until it is done (or fails), stops the progress bar and
// prints the training time; the losses and step count are returned even on
// failure.
func runLoop(ctx context.Context, loop *Loop, rl *runLog, out io.Writer) ([]float64, int, error) {
	start := time.Now()
	losses, err := loop.Run(ctx)
	logErr := rl.stop()
	steps := loop.Step()
	if err != nil {
		return losses, steps, err
	}
	if logErr != nil {
		return losses, steps, logErr
	}
	peak := ""
	if p, ok := loop.DevicePeakMemory(); ok {
		peak = fmt.Sprintf(" (peak %s memory %.2f GiB)", loop.dev, float64(p)/(1<<30))
	}
	fmt.Fprintf(out, "trained %d steps in %s%s\n", steps, time.Since(start).Round(time.Second), peak)
	return losses, steps, nil
}

// exportModel writes model and the tokenizer files of tokDir to
// output_dir/model and returns that directory.
func exportModel(cfg Config, model Trainable, tokDir string) (string, error) {
	dir := filepath.Join(cfg.OutputDir, modelDir)
	if err := model.Export(dir); err != nil {
		return dir, fmt.Errorf("train: export: %w", err)
	}
	return dir, models.CopyTokenizer(tokDir, dir)
}

// close closes the metrics log.
func (r *runLog) close() { r.mw.Close() }

// nparams counts the scalars of params.
func nparams(params []nn.NamedParam) int {
	n := 0
	for _, p := range params {
		n += p.Var.Value.Numel()
	}
	return n
}
