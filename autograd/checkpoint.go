package autograd

import (
	"fmt"

	"github.com/ragr-dev/ragr/tensor"
)

// Checkpoint runs fn on inputs without recording its intermediates and
// returns its outputs as Vars whose backward recomputes fn with recording on,
// then propagates through the recomputed segment (gradient checkpointing).
// Parameters fn uses (leaves captured by the closure) receive their gradients
// during that recomputation.
//
// fn must compute the same values both times. Randomness inside fn (dropout)
// must come from the RNGs listed in rngs: their state is saved before the
// forward pass and restored for the recomputation, so the masks repeat.
func Checkpoint(fn func(in []*Var) []*Var, inputs []*Var, rngs ...*tensor.RNG) []*Var {
	states := make([][]byte, len(rngs))
	for i, r := range rngs {
		s, err := r.State()
		if err != nil {
			panic(fmt.Sprintf("autograd.Checkpoint: saving RNG state: %v", err))
		}
		states[i] = s
	}
	var outs []*Var
	NoGrad(func() {
		detached := make([]*Var, len(inputs))
		for i, in := range inputs {
			detached[i] = in.Detach()
		}
		outs = fn(detached)
	})
	if !GradEnabled() {
		return outs
	}
	// Each output's backward only stores its gradient and hands a 0-d token
	// gradient to a shared "segment" Var that every output consumes. The
	// backward pass reaches the segment after all of its consumers, so its
	// rule runs once, with every output gradient known: it recomputes fn
	// with recording on and propagates through the recomputed graph.
	k := len(outs)
	outGrads := make([]*tensor.Tensor, k)
	// The segment Var carries no value of its own; it is a 0-d token.
	token := tensor.ZerosAs(outs[0].Value)
	segment := &Var{Value: token, requiresGrad: true}
	segment.node = &node{op: "Checkpoint", inputs: append([]*Var(nil), inputs...), backward: func(*tensor.Tensor) []*tensor.Tensor {
		restore := make([][]byte, len(rngs))
		for i, r := range rngs {
			cur, _ := r.State()
			restore[i] = cur
			if err := r.SetState(states[i]); err != nil {
				panic(err)
			}
		}
		leaves := make([]*Var, len(inputs))
		for i, in := range inputs {
			leaves[i] = &Var{Value: in.Value, requiresGrad: in.requiresGrad}
		}
		re := fn(leaves)
		for i, r := range rngs {
			_ = r.SetState(restore[i])
		}
		var roots []*Var
		var grads []*tensor.Tensor
		for i, o := range re {
			if outGrads[i] != nil && o.requiresGrad {
				roots = append(roots, o)
				grads = append(grads, outGrads[i])
			}
		}
		if len(roots) > 0 {
			if err := Backward(roots, grads, false); err != nil {
				panic(fmt.Sprintf("autograd.Checkpoint: backward through the recomputed segment: %v", err))
			}
		}
		res := make([]*tensor.Tensor, len(inputs))
		for i, l := range leaves {
			res[i] = l.Grad
		}
		return res
	}}
	res := make([]*Var, k)
	for i, o := range outs {
		i := i
		v := &Var{Value: o.Value, requiresGrad: true}
		v.node = &node{op: "CheckpointOutput", inputs: []*Var{segment}, backward: func(g *tensor.Tensor) []*tensor.Tensor {
			outGrads[i] = g
			return []*tensor.Tensor{token}
		}}
		res[i] = v
	}
	return res
}
