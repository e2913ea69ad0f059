package rerank

// device.go: inference on a device (LoadOptions.Device,
// EncoderOptions.Device). A family loads its model on the host as on the
// CPU; Load / LoadEncoder then move every parameter to the device (the
// Vars keep their identity, so a tied lm_head stays tied). The models move
// each batch's host inputs (ids, masks, pooling indices) to the weights'
// device themselves; scores and embeddings come back through Float32s.
// Precision is the device's setting for the process (SetPrecision):
// float32 by default, bf16 mixed precision on request.

import (
	"fmt"

	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// deviceModel is every built-in scorer: it lists the parameters it
// computes with.
type deviceModel interface {
	params() []nn.NamedParam
}

func (c *CrossEncoder) params() []nn.NamedParam { return c.m.NamedParams("") }
func (q *Qwen2SeqCls) params() []nn.NamedParam  { return q.m.NamedParams("") }
func (c *CausalYes) params() []nn.NamedParam    { return c.m.NamedParams("") }
func (c *ColBERT) params() []nn.NamedParam      { return c.m.NamedParams("") }

func (e *Encoder) params() []nn.NamedParam {
	if e.bert != nil {
		return e.bert.NamedParams("")
	}
	return e.qwen.NamedParams("")
}

// checkDevice returns an error naming d when this build or machine has no
// backend for it (before any weights are read).
func checkDevice(d tensor.Device) error {
	if d.Kind == tensor.KindCPU {
		return nil
	}
	if _, err := tensor.BackendFor(d); err != nil {
		return fmt.Errorf("rerank: device %s: %w", d, err)
	}
	return nil
}

// toDevice moves every parameter of m to d (nothing happens on the CPU).
func toDevice(m any, d tensor.Device) error {
	if d.Kind == tensor.KindCPU {
		return nil
	}
	dm, ok := m.(deviceModel)
	if !ok {
		return fmt.Errorf("rerank: %T does not run on a device (%s)", m, d)
	}
	if err := nn.MoveParams(dm.params(), d); err != nil {
		return fmt.Errorf("rerank: %w", err)
	}
	return nil
}

// Precisions of inference on a device (SetPrecision).
const (
	// FP32 computes in float32 (the default; transformers' numbers).
	FP32 = "fp32"
	// BF16 runs the matmuls on bf16 operands with fp32 accumulation and
	// attention through the fused kernels (the device's mixed precision).
	BF16 = "bf16"
)

// SetPrecision sets the arithmetic of device d for the process: FP32 (""
// too) or BF16 (tensor.SetMixedPrecision; every model on d computes so).
// BF16 on the CPU is an error: the CPU computes in float32 only. An
// unavailable device is an error naming it.
func SetPrecision(d tensor.Device, precision string) error {
	switch precision {
	case "", FP32, BF16:
	default:
		return fmt.Errorf("rerank: unknown precision %q (want fp32 or bf16)", precision)
	}
	if d.Kind == tensor.KindCPU {
		if precision == BF16 {
			return fmt.Errorf("rerank: precision bf16 on the CPU: the CPU computes in float32 (bf16 needs a device: cuda or sim)")
		}
		return nil
	}
	if err := checkDevice(d); err != nil {
		return err
	}
	if _, err := tensor.SetMixedPrecision(d, precision == BF16); err != nil {
		return fmt.Errorf("rerank: precision %s on %s: %w", precision, d, err)
	}
	return nil
}
