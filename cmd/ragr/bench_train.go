package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ragr-dev/ragr/bench"
	"github.com/ragr-dev/ragr/tensor"
)

// hostFallbacks reports the CUDA backend's host fallbacks; set by cuda.go
// in builds with the cuda tag.
var hostFallbacks func() map[string]int64

// benchTrain runs the cross-encoder fine-tuning benchmark (bench.TrainBench)
// and writes its files for bench/pytorch/train_gpu_parity.py.
func benchTrain(args []string, stdout, stderr io.Writer) error {
	d := bench.DefaultTrainBench()
	fs := flag.NewFlagSet("ragr bench train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	device := fs.String("device", "cuda", "cpu, cuda, cuda:N or sim (cuda and sim run bf16 mixed precision; sim is the device path simulated on the CPU)")
	out := fs.String("out", "", "output directory: init/ (HF weights), batches.safetensors, hparams.json, ragr.json (required)")
	fs.IntVar(&d.Layers, "layers", d.Layers, "encoder layers")
	fs.IntVar(&d.Hidden, "hidden", d.Hidden, "hidden size")
	fs.IntVar(&d.Heads, "heads", d.Heads, "attention heads")
	fs.IntVar(&d.Intermediate, "intermediate", d.Intermediate, "feed-forward size")
	fs.IntVar(&d.Vocab, "vocab", d.Vocab, "vocabulary size (at least 2000)")
	fs.IntVar(&d.Batch, "batch", d.Batch, "sequences per step")
	fs.IntVar(&d.SeqLen, "len", d.SeqLen, "tokens per sequence")
	fs.IntVar(&d.Steps, "steps", d.Steps, "recorded steps (the parity curve)")
	fs.IntVar(&d.TimedSteps, "timed", d.TimedSteps, "timed steps after the recorded ones")
	fs.IntVar(&d.ProfileSteps, "profile", 0, "N more steps with the kernel profile on (GPU time per kernel from CUDA events; per backend method on sim), printed as a table and kept in ragr.json; not on the CPU")
	fs.Float64Var(&d.LR, "lr", d.LR, "AdamW learning rate")
	seed := fs.Uint64("seed", d.Seed, "seed of the weights and batches")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ragr bench train --out DIR [flags]\n\nTrains a BERT cross-encoder (BERT-base by default) on synthetic batches\n(32 × 256 tokens), dropout off, and writes the files bench/pytorch/train_gpu_parity.py\nreads to train the same model from the same weights and batches with PyTorch.\n\nExample:\n  ragr bench train --device cuda --out /tmp/trainbench\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *out == "" {
		fs.Usage()
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	dev, err := tensor.ParseDevice(*device)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	d.Device, d.OutDir, d.Seed = dev, *out, *seed
	rep, err := bench.TrainBench(d)
	if err != nil {
		return err
	}
	if hostFallbacks != nil {
		rep.HostFallbacks = hostFallbacks()
	}
	if err := bench.WriteTrainBenchReport(*out, rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ragr train bench on %s (bf16 mixed precision %v): %d parameters, batch %d × %d\n", rep.Device, rep.MixedPrecision, rep.Params, rep.Batch, rep.SeqLen)
	fmt.Fprintf(stdout, "loss step 1 %.5f, step %d %.5f\n", rep.Losses[0], len(rep.Losses), rep.Losses[len(rep.Losses)-1])
	fmt.Fprintf(stdout, "step %.1f ms (%d timed steps), %.1f samples/s, peak device memory %.2f GiB\n", rep.StepMS, rep.TimedSteps, rep.SamplesPerSec, float64(rep.PeakBytes)/(1<<30))
	if len(rep.HostFallbacks) > 0 {
		fmt.Fprintf(stdout, "host fallbacks: %v\n", rep.HostFallbacks)
	}
	bench.ProfileTable(stdout, rep, 25)
	return nil
}
