package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/losses"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/nn/optim"
	"github.com/ragr-dev/ragr/tensor"
)

// Batch is one training batch: tokenized sequences and one label per
// sequence, in consecutive groups of GroupSize.
type Batch struct {
	Inputs    Inputs
	Labels    *tensor.Tensor // float32 [N]
	GroupSize int
	// Samples is the number of queries (groups) in the batch.
	Samples int
	// Extra is a mode's own payload (embedding batches carry their query
	// and document inputs here); nil for reranker batches.
	Extra any
}

// TrainSet yields the batches of each epoch, already shuffled for the
// epoch and sharded for this rank.
type TrainSet interface {
	// NumBatches is the number of batches of epoch e.
	NumBatches(epoch int) int
	// Batch returns batch i of epoch e.
	Batch(epoch, i int) (*Batch, error)
}

// Reducer is the one place gradients pass before the optimizer step: under
// data parallelism it sums them across ranks (NCCL / MPI). The
// single-process reducer is the identity.
type Reducer interface {
	// AllReduce averages the gradients of params across ranks in place.
	AllReduce(params []nn.NamedParam) error
	// Rank and World describe this process.
	Rank() int
	World() int
}

type localReducer struct{}

func (localReducer) AllReduce([]nn.NamedParam) error { return nil }
func (localReducer) Rank() int                       { return 0 }
func (localReducer) World() int                      { return 1 }

// Hooks receive progress; every field may be nil.
type Hooks struct {
	// OnStep is called after each optimizer step.
	OnStep func(s StepInfo)
	// OnEval is called with each evaluation's metrics.
	OnEval func(step int, metrics map[string]float64)
	// OnLog prints a message (checkpoint written, resume, warnings).
	OnLog func(msg string)
}

// StepInfo describes one optimizer step.
type StepInfo struct {
	Step, TotalSteps, Epoch int
	Loss, LR, GradNorm      float64
	Samples                 int
	Elapsed                 time.Duration
	// Metrics are the mode's own training metrics of the step (from
	// Loop.StepMetrics, e.g. per-dimension in-batch accuracy); nil for none.
	Metrics map[string]float64
}

// Trainable is what the Loop needs of a model: its parameters and export.
// A Reranker is one; with Loop.LossFn unset the Loop requires a Reranker.
type Trainable interface {
	// Params lists the parameters with checkpoint names.
	Params() []nn.NamedParam
	// Export writes the model in the Hugging Face layout.
	Export(dir string) error
}

// Reloader is a Trainable whose exported directory holds more than the
// one weights file Params are read back from (ColBERT keeps colbert_linear
// beside the encoder): resuming calls Reload with the checkpoint's model
// directory instead.
type Reloader interface {
	// Reload reads the parameters back from a directory Export wrote.
	Reload(dir string) error
}

// Loop is a configured training run.
type Loop struct {
	Cfg Config
	// Model is the trained model: a Reranker unless LossFn is set.
	Model   Trainable
	Train   TrainSet
	Eval    func(step int) (map[string]float64, error) // may be nil
	Reducer Reducer
	Hooks   Hooks
	// Export, when set, is called with each checkpoint's model directory
	// after the model is written (to copy the tokenizer files).
	Export func(dir string) error
	// LossFn, when set, computes a batch's loss in place of the model's
	// Scores and the loss_type of the registry (modes whose loss is not
	// scores + labels, such as embedding training).
	LossFn func(b *Batch, training bool, rng *tensor.RNG, checkpoint bool) (*autograd.Var, error)
	// StepMetrics, when set, is called after each optimizer step for the
	// mode's metrics of that step (collected by LossFn over its
	// micro-batches); they reach Hooks.OnStep and metrics.jsonl.
	StepMetrics func() map[string]float64

	opt   *optim.AdamW
	loss  losses.Spec
	rng   *tensor.RNG
	state State
	dev   tensor.Device
	// pending are logf messages written before Hooks.OnLog was set.
	pending []string
}

// TotalSteps is the number of optimizer steps the run will take.
func (l *Loop) TotalSteps() int {
	total := 0
	for e := 0; e < l.Cfg.Epochs; e++ {
		total += (l.Train.NumBatches(e) + l.Cfg.GradAccum - 1) / l.Cfg.GradAccum
	}
	if l.Cfg.MaxSteps > 0 && l.Cfg.MaxSteps < total {
		total = l.Cfg.MaxSteps
	}
	return total
}

// Init prepares the optimizer, schedule and loss; resume, when not empty,
// is a checkpoint directory to continue from. With Cfg.Device a GPU, it
// then moves the parameters and optimizer state there (see device.go).
func (l *Loop) Init(resume string) error {
	if l.Reducer == nil {
		l.Reducer = localReducer{}
	}
	if l.LossFn == nil {
		spec, err := losses.Lookup(l.Cfg.LossType)
		if err != nil {
			return fmt.Errorf("train: loss_type: %w", err)
		}
		if spec.Kind != losses.KindReranker && spec.Kind != losses.KindDistill {
			return fmt.Errorf("train: loss_type %q is a %s loss, not a reranker loss", l.Cfg.LossType, spec.Kind)
		}
		if _, ok := l.Model.(Reranker); !ok {
			return fmt.Errorf("train: the model is not a reranker and the loop has no LossFn")
		}
		l.loss = spec
	}
	if l.Train.NumBatches(0) == 0 {
		return fmt.Errorf("train: the training set gives no batch (batch_size %d)", l.Cfg.BatchSize)
	}
	total := l.TotalSteps()
	sched, err := optim.NewSchedule(optim.ScheduleConfig{Name: l.Cfg.Scheduler, TotalSteps: total,
		WarmupProportion: l.Cfg.WarmupProportion, StableProportion: l.Cfg.StableProportion})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	l.opt, err = optim.NewAdamW(optim.DecayGroups(l.Model.Params(), l.Cfg.WeightDecay), optim.Config{LR: l.Cfg.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: l.Cfg.WeightDecay}, sched)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	l.rng = tensor.NewRNG(uint64(l.Cfg.Seed) ^ 0xd1b54a32d192ed03)
	l.state = State{Seed: l.Cfg.Seed, LossType: l.Cfg.LossType, BatchSize: l.Cfg.BatchSize, GroupSize: l.Cfg.TrainGroupSize, TotalSteps: total}
	if resume != "" {
		if err := l.resume(resume); err != nil {
			return err
		}
	}
	return l.toDevice()
}

// logf prints a message through Hooks.OnLog; messages from before the
// hook is set (Init runs first) wait for Run.
func (l *Loop) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if l.Hooks.OnLog == nil {
		l.pending = append(l.pending, msg)
		return
	}
	l.Hooks.OnLog(msg)
}

func (l *Loop) resume(dir string) error {
	s, err := readState(dir)
	if err != nil {
		return err
	}
	switch {
	case s.Seed != l.state.Seed:
		return fmt.Errorf("train: resume %s: checkpoint seed %d, config seed %d", dir, s.Seed, l.state.Seed)
	case s.LossType != l.state.LossType:
		return fmt.Errorf("train: resume %s: checkpoint loss %q, config loss %q", dir, s.LossType, l.state.LossType)
	case s.BatchSize != l.state.BatchSize || s.GroupSize != l.state.GroupSize:
		return fmt.Errorf("train: resume %s: checkpoint batch %d×%d, config %d×%d", dir, s.BatchSize, s.GroupSize, l.state.BatchSize, l.state.GroupSize)
	case s.TotalSteps != l.state.TotalSteps:
		return fmt.Errorf("train: resume %s: checkpoint planned %d steps, this config plans %d (epochs, data or max_steps changed)", dir, s.TotalSteps, l.state.TotalSteps)
	}
	if err := l.reload(filepath.Join(dir, modelDir)); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	if err := l.opt.Load(filepath.Join(dir, optimizerFile)); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	if err := l.rng.SetState(s.RNG); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	l.state = s
	l.logf("resumed from %s at step %d (epoch %d, batch %d)", dir, s.Step, s.Epoch+1, s.Batch)
	return nil
}

// reload reads the model's parameters back from a checkpoint's model
// directory.
func (l *Loop) reload(dir string) error {
	if r, ok := l.Model.(Reloader); ok {
		return r.Reload(dir)
	}
	w, err := models.OpenWeights(dir)
	if err != nil {
		return err
	}
	defer w.Close()
	return models.LoadParams(l.Model.Params(), w, models.LoadOptions{})
}

// Checkpoint writes the model, optimizer and trainer state under
// output_dir/checkpoints/step-N and prunes old ones.
func (l *Loop) Checkpoint() (string, error) {
	dir := filepath.Join(l.Cfg.OutputDir, checkpointDir, checkpointName(l.state.Step))
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := l.Model.Export(filepath.Join(tmp, modelDir)); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	if l.Export != nil {
		if err := l.Export(filepath.Join(tmp, modelDir)); err != nil {
			return "", fmt.Errorf("train: checkpoint: %w", err)
		}
	}
	if err := l.opt.Save(filepath.Join(tmp, optimizerFile)); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	st := l.state
	rs, err := l.rng.State()
	if err != nil {
		return "", err
	}
	st.RNG = rs
	if err := writeState(tmp, st); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	return dir, pruneCheckpoints(l.Cfg.OutputDir, l.Cfg.NumMaxCheckpoints)
}

// ErrInterrupted is returned when the context was cancelled (Ctrl-C); a
// resumable checkpoint was written first.
var ErrInterrupted = errors.New("train: interrupted")

// Run trains until the configured epochs or max_steps are done, or ctx is
// cancelled (then it writes a checkpoint and returns ErrInterrupted). It
// returns the loss of every optimizer step. A device failure (a
// *tensor.DeviceError) is returned as an error naming the step.
func (l *Loop) Run(ctx context.Context) (stepLosses []float64, err error) {
	defer l.recoverDevice(&err)
	if l.Hooks.OnLog != nil {
		for _, msg := range l.pending {
			l.Hooks.OnLog(msg)
		}
		l.pending = nil
	}
	total := l.state.TotalSteps
	accum := l.Cfg.GradAccum
	params := l.Model.Params()
	start := time.Now()
	var micro int
	var lossSum float64
	samples := 0
	for epoch := l.state.Epoch; epoch < l.Cfg.Epochs && l.state.Step < total; epoch++ {
		nb := l.Train.NumBatches(epoch)
		first := 0
		if epoch == l.state.Epoch {
			first = l.state.Batch
		}
		for i := first; i < nb && l.state.Step < total; i++ {
			if err := ctx.Err(); err != nil && micro == 0 {
				return stepLosses, l.interrupt()
			}
			b, err := l.Train.Batch(epoch, i)
			if err != nil {
				return stepLosses, fmt.Errorf("train: epoch %d batch %d: %w", epoch+1, i, err)
			}
			loss, err := l.batchLoss(b)
			if err != nil {
				return stepLosses, fmt.Errorf("train: epoch %d batch %d: %w", epoch+1, i, err)
			}
			lv := loss.Value.Item()
			if math.IsNaN(lv) || math.IsInf(lv, 0) {
				return stepLosses, fmt.Errorf("train: epoch %d batch %d: loss is %g (lower lr, check labels)", epoch+1, i, lv)
			}
			if accum > 1 {
				loss = autograd.MulScalar(loss, 1/float64(accum))
			}
			if err := loss.Backward(); err != nil {
				return stepLosses, err
			}
			lossSum += lv
			samples += b.Samples
			micro++
			l.state.Epoch, l.state.Batch = epoch, i+1
			if micro < accum && i+1 < nb {
				continue
			}
			if err := l.Reducer.AllReduce(params); err != nil {
				return stepLosses, fmt.Errorf("train: gradient reduction: %w", err)
			}
			var gn float64
			if l.Cfg.MaxGradNorm > 0 {
				gn = l.opt.ClipGradNorm(l.Cfg.MaxGradNorm)
			} else {
				gn = l.opt.GradNorm()
			}
			lr := l.opt.LR(0)
			l.opt.Step()
			l.opt.ZeroGrad()
			l.state.Step++
			mean := lossSum / float64(micro)
			stepLosses = append(stepLosses, mean)
			micro, lossSum = 0, 0
			var sm map[string]float64
			if l.StepMetrics != nil {
				sm = l.StepMetrics()
			}
			if l.Hooks.OnStep != nil {
				l.Hooks.OnStep(StepInfo{Step: l.state.Step, TotalSteps: total, Epoch: epoch, Loss: mean, LR: lr, GradNorm: gn, Samples: samples, Elapsed: time.Since(start), Metrics: l.deviceMetrics(sm)})
			}
			samples = 0
			if l.Eval != nil && l.Cfg.EvalSteps > 0 && l.state.Step%l.Cfg.EvalSteps == 0 {
				if err := l.evaluate(); err != nil {
					return stepLosses, err
				}
			}
			if l.Cfg.SaveSteps > 0 && l.state.Step%l.Cfg.SaveSteps == 0 {
				dir, err := l.Checkpoint()
				if err != nil {
					return stepLosses, err
				}
				l.logf("checkpoint %s", dir)
			}
		}
		if l.state.Batch >= nb {
			l.state.Epoch, l.state.Batch = epoch+1, 0
			if l.Cfg.SaveOnEpochEnd {
				dir, err := l.Checkpoint()
				if err != nil {
					return stepLosses, err
				}
				l.logf("epoch %d done; checkpoint %s", epoch+1, dir)
			}
		}
	}
	return stepLosses, nil
}

// batchLoss is the training loss of one batch: LossFn when set, else the
// reranker's scores under the configured loss.
func (l *Loop) batchLoss(b *Batch) (*autograd.Var, error) {
	if l.LossFn != nil {
		return l.LossFn(b, true, l.rng, l.Cfg.GradientCheckpoint)
	}
	scores, err := l.Model.(Reranker).Scores(b.Inputs, true, l.rng, l.Cfg.GradientCheckpoint)
	if err != nil {
		return nil, err
	}
	labels, teacher := b.Labels, b.Labels
	p := l.loss.Defaults
	if l.loss.Kind == losses.KindDistill {
		teacher = TeacherLogits(b.Labels)
		if l.Cfg.DistillTemperature > 0 {
			p.DistillT = l.Cfg.DistillTemperature
		}
	}
	// the labels follow the scores to the model's device
	dev := scores.Value.Device()
	if labels, err = labels.To(dev); err != nil {
		return nil, fmt.Errorf("labels to %s: %w", dev, err)
	}
	if teacher, err = teacher.To(dev); err != nil {
		return nil, fmt.Errorf("teacher scores to %s: %w", dev, err)
	}
	in := losses.Inputs{Logits: scores, Labels: labels, TeacherScores: teacher, GroupSize: b.GroupSize}
	loss, err := l.loss.Compute(in, &p)
	if err != nil {
		return nil, fmt.Errorf("loss %s: %w", l.Cfg.LossType, err)
	}
	return loss, nil
}

func (l *Loop) evaluate() error {
	m, err := l.Eval(l.state.Step)
	if err != nil {
		return fmt.Errorf("train: evaluation at step %d: %w", l.state.Step, err)
	}
	if l.Hooks.OnEval != nil {
		l.Hooks.OnEval(l.state.Step, m)
	}
	return nil
}

func (l *Loop) interrupt() error {
	dir, err := l.Checkpoint()
	if err != nil {
		return fmt.Errorf("%w; writing the checkpoint failed: %v", ErrInterrupted, err)
	}
	l.logf("interrupted: resumable checkpoint %s (resume with --resume %s)", dir, dir)
	return ErrInterrupted
}

// Step returns the number of optimizer steps taken.
func (l *Loop) Step() int { return l.state.Step }

// Optimizer returns the run's optimizer (after Init).
func (l *Loop) Optimizer() *optim.AdamW { return l.opt }

// TeacherLogits turns soft labels (teacher probabilities in [0, 1], what
// RAG-Retrieval's distillation files and ragr distill reranker write:
// sigmoid of the teacher's logit) back into teacher logits, log(p/(1-p)),
// the scores the distill_* losses compare raw student scores with. p is
// clamped to [MinTeacherProb, 1-MinTeacherProb] first (logits within about
// ±34.5).
func TeacherLogits(labels *tensor.Tensor) *tensor.Tensor {
	p := labels.Contiguous().Float32s()
	out := make([]float32, len(p))
	for i, v := range p {
		x := min(max(float64(v), MinTeacherProb), 1-MinTeacherProb)
		out[i] = float32(math.Log(x / (1 - x)))
	}
	return tensor.FromFloat32(out, labels.Shape()...)
}

// MinTeacherProb bounds the soft labels TeacherLogits inverts away from 0
// and 1.
const MinTeacherProb = 1e-15

// lossesLookup is losses.Lookup (a variable for tests).
var lossesLookup = losses.Lookup
