package bench

// The cross-encoder fine-tuning benchmark (issue 4, "On the GPU"): a
// BERT cross-encoder (BERT-base by default: 12 layers, 768 wide, 12 heads)
// with one output, fresh weights from a seed, trained with BCE on
// synthetic batches (batch 32 × 256 tokens by default) by AdamW
// (RAG-Retrieval's decay / no-decay groups, weight decay 0.01, clipping at
// norm 1, constant learning rate), dropout off so that two implementations
// can follow the same curve. On a GPU the device runs bf16 mixed precision
// (tensor.SetMixedPrecision).
//
// TrainBench writes, under OutDir, the initial weights in the Hugging Face
// layout (init/: config.json + model.safetensors), the batches
// (batches.safetensors: input_ids, token_type_ids, attention_mask Int32
// [steps, batch, len], labels F32 [steps, batch]) and ragr.json (the
// losses of the first Steps steps, the time per step over TimedSteps more
// steps after them, the device's peak memory). bench/pytorch/
// train_gpu_parity.py trains transformers' BertForSequenceClassification
// from the same files with bf16 autocast and compares.

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/nn/optim"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
)

// TrainBenchConfig configures TrainBench.
type TrainBenchConfig struct {
	Device tensor.Device
	// Layers, Hidden, Heads, Intermediate and Vocab shape the encoder
	// (BERT-base: 12, 768, 12, 3072, 30522).
	Layers, Hidden, Heads, Intermediate, Vocab int
	// Batch sequences of SeqLen tokens per step.
	Batch, SeqLen int
	// Steps are recorded (the parity curve; each uses its own batch);
	// TimedSteps more steps, cycling through the same batches, are timed.
	Steps, TimedSteps int
	// ProfileSteps more steps, when positive, run with the device's kernel
	// profile on (tensor.StartProfile: CUDA events around every launch on
	// a GPU); their totals per kernel go to the report. Not on the CPU.
	ProfileSteps int
	LR           float64
	Seed         uint64
	// OutDir receives init/, batches.safetensors and ragr.json.
	OutDir string
}

// DefaultTrainBench is the benchmark: BERT-base, 32 × 256, 50
// recorded steps and 20 timed ones, on cuda:0.
func DefaultTrainBench() TrainBenchConfig {
	return TrainBenchConfig{Device: tensor.CUDA(0), Layers: 12, Hidden: 768, Heads: 12, Intermediate: 3072, Vocab: 30522,
		Batch: 32, SeqLen: 256, Steps: 50, TimedSteps: 20, LR: 2e-5, Seed: 1}
}

// TrainBenchReport is what ragr.json holds.
type TrainBenchReport struct {
	Device         string    `json:"device"`
	MixedPrecision bool      `json:"mixed_precision"`
	Params         int       `json:"params"`
	Batch          int       `json:"batch"`
	SeqLen         int       `json:"seq_len"`
	Losses         []float64 `json:"losses"`
	// StepMS is the mean wall time of one timed step (forward, backward,
	// clipping, AdamW), device synchronized at both ends of the window.
	StepMS        float64 `json:"step_ms"`
	SamplesPerSec float64 `json:"samples_per_s"`
	TimedSteps    int     `json:"timed_steps"`
	// PeakBytes is the device pool's peak over the whole run (0 on the
	// CPU, which has no pool).
	PeakBytes int64 `json:"peak_bytes"`
	// HostFallbacks is filled by the caller (tensor/gpu counts them).
	HostFallbacks map[string]int64 `json:"host_fallbacks,omitempty"`
	// Profile is the kernels' time over ProfileSteps steps (totals, the
	// largest first); ProfileSteps and ProfileWallMS (the mean wall time of
	// a profiled step, events included) say what it covers.
	Profile       []tensor.KernelTime `json:"profile,omitempty"`
	ProfileSteps  int                 `json:"profile_steps,omitempty"`
	ProfileWallMS float64             `json:"profile_wall_ms,omitempty"`
}

// Hyper-parameters shared with bench/pytorch/train_gpu_parity.py (it
// reads them from ragr.json's companion hparams.json).
const (
	benchWeightDecay = 0.01
	benchMaxGradNorm = 1.0
	benchBeta1       = 0.9
	benchBeta2       = 0.999
	benchEps         = 1e-8
)

func (c TrainBenchConfig) check() error {
	switch {
	case c.Layers < 1 || c.Hidden < 1 || c.Heads < 1 || c.Intermediate < 1 || c.Vocab < 2000:
		return fmt.Errorf("bench: train: layers, hidden, heads, intermediate must be positive and vocab at least 2000 (got %d, %d, %d, %d, %d)", c.Layers, c.Hidden, c.Heads, c.Intermediate, c.Vocab)
	case c.Hidden%c.Heads != 0:
		return fmt.Errorf("bench: train: hidden %d is not divisible by %d heads", c.Hidden, c.Heads)
	case c.Batch < 1 || c.SeqLen < 8 || c.SeqLen > 512:
		return fmt.Errorf("bench: train: batch must be positive and len in [8, 512] (got %d, %d)", c.Batch, c.SeqLen)
	case c.Steps < 1 || c.TimedSteps < 0 || c.ProfileSteps < 0:
		return fmt.Errorf("bench: train: steps must be positive, timed and profiled steps not negative (got %d, %d, %d)", c.Steps, c.TimedSteps, c.ProfileSteps)
	case c.ProfileSteps > 0 && c.Device.Kind == tensor.KindCPU:
		return fmt.Errorf("bench: train: profiled steps need a device (cuda or sim), not the CPU")
	case !(c.LR > 0):
		return fmt.Errorf("bench: train: lr must be positive (got %g)", c.LR)
	case c.OutDir == "":
		return fmt.Errorf("bench: train: an output directory is required")
	}
	return nil
}

// benchBatches draws the synthetic batches: [CLS] query [SEP] document
// [SEP] with random token ids, random lengths between half and all of
// SeqLen (padding after), and label 1 when the first query token is even,
// a rule the model can learn, so the loss falls.
func benchBatches(c TrainBenchConfig) (ids, types, mask []int32, labels []float32) {
	const cls, sep, lo = 101, 102, 1000
	r := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	n := c.Steps * c.Batch
	L := c.SeqLen
	ids, types, mask = make([]int32, n*L), make([]int32, n*L), make([]int32, n*L)
	labels = make([]float32, n)
	for s := 0; s < n; s++ {
		row := s * L
		length := L/2 + r.IntN(L-L/2+1)
		qlen := max(1, min(length/4, 32))
		ids[row] = cls
		for t := 1; t < length; t++ {
			ids[row+t] = int32(lo + r.IntN(c.Vocab-lo))
			mask[row+t] = 1
			if t > qlen+1 {
				types[row+t] = 1
			}
		}
		mask[row] = 1
		ids[row+qlen+1] = sep
		ids[row+length-1] = sep
		if ids[row+1]%2 == 0 {
			labels[s] = 1
		}
	}
	return ids, types, mask, labels
}

// TrainBench runs the benchmark and writes its files (see the package
// comment of this file).
func TrainBench(c TrainBenchConfig) (rep *TrainBenchReport, err error) {
	defer tensor.RecoverDeviceError(&err)
	if err := c.check(); err != nil {
		return nil, err
	}
	if _, err := tensor.BackendFor(c.Device); err != nil {
		return nil, fmt.Errorf("bench: train: %w", err)
	}
	if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: train: %w", err)
	}
	hfJSON := map[string]any{
		"model_type": "bert", "architectures": []string{"BertForSequenceClassification"},
		"vocab_size": c.Vocab, "hidden_size": c.Hidden, "num_hidden_layers": c.Layers, "num_attention_heads": c.Heads,
		"intermediate_size": c.Intermediate, "max_position_embeddings": 512, "type_vocab_size": 2,
		"hidden_act": "gelu", "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
		"classifier_dropout": 0.0, "initializer_range": 0.02, "pad_token_id": 0, "num_labels": 1,
		"id2label": map[string]string{"0": "LABEL_0"}, "label2id": map[string]int{"LABEL_0": 0},
	}
	b, err := json.Marshal(hfJSON)
	if err != nil {
		return nil, err
	}
	hf, err := models.ParseConfig(b, "bench config")
	if err != nil {
		return nil, err
	}
	bc, err := bert.ConfigFrom(hf)
	if err != nil {
		return nil, err
	}
	m := bert.NewClassifier(bc, 1, tensor.NewRNG(c.Seed))
	m.Dropout = 0
	params := m.NamedParams("")
	if err := models.Export(filepath.Join(c.OutDir, "init"), params, models.ExportOptions{Config: hf}); err != nil {
		return nil, err
	}
	ids, types, mask, labels := benchBatches(c)
	shape := []int{c.Steps, c.Batch, c.SeqLen}
	idsT, typesT, maskT := tensor.FromInt32(ids, shape...), tensor.FromInt32(types, shape...), tensor.FromInt32(mask, shape...)
	labelsT := tensor.FromFloat32(labels, c.Steps, c.Batch)
	if err := safetensors.Write(filepath.Join(c.OutDir, "batches.safetensors"), map[string]*tensor.Tensor{
		"input_ids": idsT, "token_type_ids": typesT, "attention_mask": maskT, "labels": labelsT,
	}, map[string]string{"format": "pt"}); err != nil {
		return nil, err
	}
	hp := map[string]any{"lr": c.LR, "beta1": benchBeta1, "beta2": benchBeta2, "eps": benchEps,
		"weight_decay": benchWeightDecay, "no_decay_keywords": optim.DefaultNoDecayKeywords, "max_grad_norm": benchMaxGradNorm,
		"steps": c.Steps, "timed_steps": c.TimedSteps, "batch": c.Batch, "seq_len": c.SeqLen}
	if err := models.WriteJSON(filepath.Join(c.OutDir, "hparams.json"), hp); err != nil {
		return nil, err
	}

	if err := nn.MoveParams(params, c.Device); err != nil {
		return nil, fmt.Errorf("bench: train: %w", err)
	}
	rep = &TrainBenchReport{Device: c.Device.String(), Batch: c.Batch, SeqLen: c.SeqLen, TimedSteps: c.TimedSteps}
	for _, p := range params {
		rep.Params += p.Var.Value.Numel()
	}
	if c.Device.Kind != tensor.KindCPU {
		prev, err := tensor.SetMixedPrecision(c.Device, true)
		if err != nil {
			return nil, err
		}
		defer tensor.SetMixedPrecision(c.Device, prev)
		rep.MixedPrecision = true
	}
	opt, err := optim.NewAdamW(optim.DecayGroups(params, benchWeightDecay),
		optim.Config{LR: c.LR, Beta1: benchBeta1, Beta2: benchBeta2, Eps: benchEps, WeightDecay: benchWeightDecay}, optim.Constant())
	if err != nil {
		return nil, err
	}
	tensor.ResetPeakMemory(c.Device)
	step := func(i int) (float64, error) {
		s := i % c.Steps
		in := bert.Inputs{IDs: idsT.Select(0, s), TypeIDs: typesT.Select(0, s), Mask: maskT.Select(0, s)}
		logits, err := m.Forward(in, bert.RunOptions{Training: true})
		if err != nil {
			return 0, err
		}
		y, err := labelsT.Select(0, s).Reshape(c.Batch, 1).To(c.Device)
		if err != nil {
			return 0, err
		}
		loss := autograd.BCEWithLogits(logits, y)
		if err := loss.Backward(); err != nil {
			return 0, err
		}
		opt.ClipGradNorm(benchMaxGradNorm)
		opt.Step()
		opt.ZeroGrad()
		return loss.Value.Item(), nil
	}
	for i := 0; i < c.Steps; i++ {
		l, err := step(i)
		if err != nil {
			return nil, fmt.Errorf("bench: train: step %d: %w", i+1, err)
		}
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return nil, fmt.Errorf("bench: train: step %d: loss %g", i+1, l)
		}
		rep.Losses = append(rep.Losses, l)
	}
	if c.TimedSteps > 0 {
		if err := tensor.Synchronize(c.Device); err != nil {
			return nil, err
		}
		start := time.Now()
		for i := 0; i < c.TimedSteps; i++ {
			if _, err := step(c.Steps + i); err != nil {
				return nil, fmt.Errorf("bench: train: timed step %d: %w", i+1, err)
			}
		}
		if err := tensor.Synchronize(c.Device); err != nil {
			return nil, err
		}
		el := time.Since(start).Seconds()
		rep.StepMS = 1000 * el / float64(c.TimedSteps)
		rep.SamplesPerSec = float64(c.TimedSteps*c.Batch) / el
	}
	if ms, ok := tensor.DeviceMemory(c.Device); ok {
		rep.PeakBytes = ms.Peak
	}
	if c.ProfileSteps > 0 {
		if err := profileSteps(c, rep, step); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// profileSteps runs c.ProfileSteps more steps with the device's kernel
// profile on and puts its totals in rep.
func profileSteps(c TrainBenchConfig, rep *TrainBenchReport, step func(int) (float64, error)) error {
	if err := tensor.Synchronize(c.Device); err != nil {
		return err
	}
	if err := tensor.StartProfile(c.Device); err != nil {
		return fmt.Errorf("bench: train: profile: %w", err)
	}
	start := time.Now()
	for i := 0; i < c.ProfileSteps; i++ {
		if _, err := step(c.Steps + c.TimedSteps + i); err != nil {
			_, _ = tensor.StopProfile(c.Device)
			return fmt.Errorf("bench: train: profiled step %d: %w", i+1, err)
		}
	}
	ks, err := tensor.StopProfile(c.Device) // synchronizes
	if err != nil {
		return fmt.Errorf("bench: train: profile: %w", err)
	}
	rep.Profile, rep.ProfileSteps = ks, c.ProfileSteps
	rep.ProfileWallMS = 1000 * time.Since(start).Seconds() / float64(c.ProfileSteps)
	return nil
}

// ProfileTable writes the report's kernel profile as a table: per kernel
// its launches and milliseconds per step and its share of the profiled GPU
// time (at most top rows, the rest summed in one line), then the GPU time
// per step beside the wall time.
func ProfileTable(w io.Writer, rep *TrainBenchReport, top int) {
	if len(rep.Profile) == 0 || rep.ProfileSteps == 0 {
		return
	}
	total := 0.0
	for _, k := range rep.Profile {
		total += k.Seconds
	}
	n := float64(rep.ProfileSteps)
	fmt.Fprintf(w, "kernel profile over %d steps on %s (per step; a GPU times each launch with CUDA events, the sim each backend call):\n", rep.ProfileSteps, rep.Device)
	fmt.Fprintf(w, "  %-44s %9s %10s %6s\n", "kernel", "launches", "ms/step", "%")
	rest := tensor.KernelTime{Name: "(the rest)"}
	for i, k := range rep.Profile {
		if i >= top {
			rest.Count += k.Count
			rest.Seconds += k.Seconds
			continue
		}
		fmt.Fprintf(w, "  %-44s %9.1f %10.3f %6.1f\n", k.Name, float64(k.Count)/n, 1000*k.Seconds/n, 100*k.Seconds/max(total, 1e-300))
	}
	if rest.Count > 0 {
		fmt.Fprintf(w, "  %-44s %9.1f %10.3f %6.1f\n", rest.Name, float64(rest.Count)/n, 1000*rest.Seconds/n, 100*rest.Seconds/max(total, 1e-300))
	}
	fmt.Fprintf(w, "  kernel time %.3f ms/step of %.3f ms/step wall (profiled steps)\n", 1000*total/n, rep.ProfileWallMS)
}

// WriteTrainBenchReport writes rep as OutDir/ragr.json.
func WriteTrainBenchReport(dir string, rep *TrainBenchReport) error {
	return models.WriteJSON(filepath.Join(dir, "ragr.json"), rep)
}
