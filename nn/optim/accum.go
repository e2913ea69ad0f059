package optim

import (
	"fmt"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// Accumulator drives gradient accumulation over micro-batches, as
// accelerate's Accelerator(gradient_accumulation_steps=n) does for
// RAG-Retrieval's trainers: every micro-batch's loss is divided by n before
// its backward pass, gradients add up in Var.Grad across Backward calls,
// and the optimizer steps once every n micro-batches, plus once on a final
// incomplete group at the end of the data:
//
//	acc := optim.NewAccumulator(n)
//	for _, batch := range batches {
//		loss := forward(batch)
//		if err := acc.ScaleLoss(loss).Backward(); err != nil { ... }
//		if acc.Tick() {
//			norm := opt.ClipGradNorm(maxNorm) // optional
//			opt.Step()
//			opt.ZeroGrad()
//		}
//	}
//	if acc.Flush() { // the last n' < n micro-batches
//		opt.Step()
//		opt.ZeroGrad()
//	}
//
// The schedule's total steps are then ceil(batches/n) optimizer steps
// (RAG-Retrieval sizes its schedule with batches/n rounded down).
type Accumulator struct {
	steps   int
	pending int
}

// NewAccumulator returns an Accumulator stepping every steps micro-batches.
// It panics when steps < 1.
func NewAccumulator(steps int) *Accumulator {
	if steps < 1 {
		panic(fmt.Sprintf("optim.NewAccumulator: steps %d < 1", steps))
	}
	return &Accumulator{steps: steps}
}

// Steps returns the number of micro-batches per optimizer step.
func (a *Accumulator) Steps() int { return a.steps }

// Pending returns the number of micro-batches counted since the last step.
func (a *Accumulator) Pending() int { return a.pending }

// ScaleLoss returns loss / Steps() (recorded, so the gradient is scaled
// too), as accelerator.backward does; loss itself when Steps() is 1.
func (a *Accumulator) ScaleLoss(loss *autograd.Var) *autograd.Var {
	if a.steps == 1 {
		return loss
	}
	n := tensor.ZerosAs(loss.Value)
	n.Fill(float64(a.steps))
	return autograd.Div(loss, autograd.Const(n))
}

// Tick counts one micro-batch whose backward pass has run and reports
// whether the optimizer should step now (every Steps()-th call); the count
// restarts after it returns true.
func (a *Accumulator) Tick() bool {
	a.pending++
	if a.pending >= a.steps {
		a.pending = 0
		return true
	}
	return false
}

// Flush reports whether micro-batches are pending (an incomplete group at
// the end of the data, which accelerate steps on) and restarts the count.
func (a *Accumulator) Flush() bool {
	p := a.pending
	a.pending = 0
	return p > 0
}

// Reset drops the pending count (after discarding the gradients).
func (a *Accumulator) Reset() { a.pending = 0 }
