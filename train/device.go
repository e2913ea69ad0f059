package train

// Training on a device (config key device, flag --device).
//
// Design (issue 4, "On the GPU"): the model's fp32 parameters move to the
// device once, after the optimizer is built and any checkpoint is loaded;
// the AdamW moments follow them, so master weights and optimizer state
// live on the GPU in fp32. The device's backend is put in bf16 mixed
// precision (tensor.SetMixedPrecision; config key mixed_precision, "no"
// for fp32 on the device): every matmul rounds its operands to bf16 and
// accumulates in fp32, attention runs the fused flash kernels (BERT's
// padding mask, Qwen2's causal rule with grouped-query heads, attention
// dropout inside); norms, softmax, reductions and losses stay fp32. There
// is no loss scaling (bf16 has fp32's exponent range). Each batch's host
// tensors move to the device inside the models (ids, masks, rotary
// tables, pooling indices) and the loops (labels, teacher scores and
// vectors); the AdamW step runs the backend's multi-tensor kernel and the
// gradient norm its grad-norm kernel (nn/optim). Checkpoints and the
// export copy the parameters to the host (safetensors.Write). A device
// failure (a *tensor.DeviceError panic) is recovered into an error naming
// the step.
//
// Every mode runs on a device: rerankers (BERT / XLM-R cross-encoders,
// Qwen2 LLM rerankers), embeddings (BERT / XLM-R / Qwen2, MRL, pair KL),
// ColBERT and embedding distillation. The device "sim" (tensor.Sim: the
// CPU kernels behind a device boundary, with the CUDA backend's
// capabilities) runs this code path without a GPU; the tests train every
// mode on it and require the CPU's losses and weights bit for bit in fp32
// and within the bf16 level in mixed precision.

import (
	"errors"
	"fmt"
	"io"

	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// device parses the device key ("" is the CPU).
func (c *Config) device() (tensor.Device, error) {
	d, err := tensor.ParseDevice(c.Device)
	if err != nil {
		return tensor.CPU, fmt.Errorf("device: %w", err)
	}
	return d, nil
}

// checkDevice returns an error, before any data or model is read, when the
// configured device is unavailable (no CUDA in this build or machine).
func (c *Config) checkDevice() error {
	d, err := c.device()
	if err != nil {
		return fmt.Errorf("train: %s: %w", c.source(), err)
	}
	if d.Kind == tensor.KindCPU {
		return nil
	}
	if _, err := tensor.BackendFor(d); err != nil {
		return fmt.Errorf("train: %s: device %s: %w", c.source(), d, err)
	}
	return nil
}

// noteIgnored tells out about every config key that is accepted for
// RAG-Retrieval compatibility and not used, and about a mixed_precision
// that is not what it says (fp16 on a device, any on the CPU).
func (c *Config) noteIgnored(out io.Writer) {
	for k := range c.Ignored {
		fmt.Fprintf(out, "note: config key %s is accepted for RAG-Retrieval compatibility and not used (%s)\n", k, ignoredKeys[k])
	}
	d, err := c.device()
	switch {
	case err != nil:
	case d.Kind == tensor.KindCPU && (c.MixedPrecision == "bf16" || c.MixedPrecision == "fp16"):
		fmt.Fprintf(out, "note: mixed_precision %s: the CPU computes in float32\n", c.MixedPrecision)
	case d.Kind != tensor.KindCPU && c.MixedPrecision == "fp16":
		fmt.Fprintf(out, "note: mixed_precision fp16 trains in bf16 on %s (the same tensor cores, fp32's exponent range, no loss scaling)\n", d)
	}
}

// mixed reports whether training on a device uses bf16 mixed precision.
func (c *Config) mixed() bool { return c.MixedPrecision != "no" }

// output is o.Out, or io.Discard when unset.
func (o RunOptions) output() io.Writer {
	if o.Out == nil {
		return io.Discard
	}
	return o.Out
}

// source names the config in messages.
func (c *Config) source() string {
	if c.Path == "" {
		return "config"
	}
	return c.Path
}

// toDevice moves the model's parameters and the optimizer state to the
// configured device and turns on bf16 mixed precision there; nothing
// happens on the CPU.
func (l *Loop) toDevice() error {
	d, err := l.Cfg.device()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	l.dev = d
	if d.Kind == tensor.KindCPU {
		return nil
	}
	if err := nn.MoveParams(l.Model.Params(), d); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := l.opt.To(d); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if _, err := tensor.SetMixedPrecision(d, l.Cfg.mixed()); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	tensor.ResetPeakMemory(d) // the run's peak: parameters, state and steps
	if l.Cfg.mixed() {
		l.logf("training on %s with bf16 mixed precision (fp32 master weights and AdamW state)", d)
	} else {
		l.logf("training on %s in fp32 (mixed_precision: no)", d)
	}
	return nil
}

// recoverDevice, deferred by Run, turns a device failure into an error
// naming the step it happened in; other panics continue.
func (l *Loop) recoverDevice(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if e, ok := r.(error); ok {
		var de *tensor.DeviceError
		if errors.As(e, &de) {
			*err = fmt.Errorf("train: step %d (epoch %d, batch %d) on %s: %w", l.state.Step+1, l.state.Epoch+1, l.state.Batch, de.Device, e)
			return
		}
	}
	panic(r)
}

// Device memory in a step's metrics (metrics.jsonl), on a device with a
// memory pool: the pool's current use and its peak since the run started,
// in GiB.
const (
	metricDeviceMem  = "device_mem_gib"
	metricDevicePeak = "device_peak_gib"
)

// deviceMetrics adds the device's memory use to the step's metrics m
// (returned as is on the CPU).
func (l *Loop) deviceMetrics(m map[string]float64) map[string]float64 {
	if l.dev.Kind == tensor.KindCPU {
		return m
	}
	s, ok := tensor.DeviceMemory(l.dev)
	if !ok {
		return m
	}
	out := make(map[string]float64, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	out[metricDeviceMem] = float64(s.Current) / (1 << 30)
	out[metricDevicePeak] = float64(s.Peak) / (1 << 30)
	return out
}

// DevicePeakMemory returns the peak bytes of the device's memory pool
// since the run started, or false on the CPU.
func (l *Loop) DevicePeakMemory() (int64, bool) {
	if l.dev.Kind == tensor.KindCPU {
		return 0, false
	}
	s, ok := tensor.DeviceMemory(l.dev)
	return s.Peak, ok
}
