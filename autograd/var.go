package autograd

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/ragr-dev/ragr/tensor"
)

// Var is a tensor in the autograd graph.
type Var struct {
	// Value is the tensor this Var holds.
	Value *tensor.Tensor
	// Grad is the accumulated gradient of a leaf that requires one (nil until
	// the first Backward reaches it), or of a non-leaf after RetainGrad.
	Grad *tensor.Tensor

	requiresGrad bool
	retain       bool
	node         *node
	// Name labels the Var in error messages (parameter names).
	Name string
}

// node records how a Var was computed.
type node struct {
	op     string
	inputs []*Var
	// backward maps the output gradient to one gradient per input (nil for
	// inputs that need none). It is set to nil once run, freeing what it
	// captured.
	backward func(g *tensor.Tensor) []*tensor.Tensor
}

// Param returns a leaf that requires a gradient (a trainable parameter).
func Param(t *tensor.Tensor, name string) *Var {
	return &Var{Value: t, requiresGrad: true, Name: name}
}

// Const returns a leaf that needs no gradient.
func Const(t *tensor.Tensor) *Var { return &Var{Value: t} }

// RequiresGrad reports whether gradients flow to v.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// IsLeaf reports whether v was not computed by a recorded op.
func (v *Var) IsLeaf() bool { return v.node == nil }

// RetainGrad makes Backward store v's gradient in v.Grad even when v is not
// a leaf.
func (v *Var) RetainGrad() { v.retain = true }

// ZeroGrad drops v's accumulated gradient.
func (v *Var) ZeroGrad() { v.Grad = nil }

// Detach returns a leaf sharing v's value and needing no gradient.
func (v *Var) Detach() *Var { return Const(v.Value) }

// Shape returns the value's shape.
func (v *Var) Shape() []int { return v.Value.Shape() }

// Dim returns the size of axis i of the value.
func (v *Var) Dim(i int) int { return v.Value.Dim(i) }

// NDim returns the value's number of axes.
func (v *Var) NDim() int { return v.Value.NDim() }

// Op names the op that computed v ("leaf" for leaves).
func (v *Var) Op() string {
	if v.node == nil {
		return "leaf"
	}
	return v.node.op
}

var noGradDepth atomic.Int64

// NoGrad runs fn with gradient recording switched off. It is process-wide:
// ops run by other goroutines meanwhile are not recorded either.
func NoGrad(fn func()) {
	noGradDepth.Add(1)
	defer noGradDepth.Add(-1)
	fn()
}

// GradEnabled reports whether ops are being recorded.
func GradEnabled() bool { return noGradDepth.Load() == 0 }

// record makes the output Var of an op: when gradients are enabled and any
// input requires one, it attaches a node with backward.
func record(op string, value *tensor.Tensor, backward func(g *tensor.Tensor) []*tensor.Tensor, inputs ...*Var) *Var {
	out := &Var{Value: value}
	if !GradEnabled() {
		return out
	}
	for _, in := range inputs {
		if in != nil && in.requiresGrad {
			out.requiresGrad = true
			break
		}
	}
	if out.requiresGrad {
		out.node = &node{op: op, inputs: inputs, backward: backward}
	}
	return out
}

// ErrGraphFreed is returned by a Backward that reaches a node whose saved
// tensors were already freed by an earlier Backward.
var ErrGraphFreed = errors.New("autograd: backward through a graph a second time (its intermediates were freed after the first backward; use BackwardRetain for repeated backward passes)")

// Backward computes the gradient of the scalar v with respect to every leaf
// that requires one, accumulating into the leaves' Grad, and frees the graph.
func (v *Var) Backward() error {
	if v.Value.Numel() != 1 {
		return fmt.Errorf("autograd: Backward of a non-scalar of shape %v needs an explicit gradient (use BackwardWith)", v.Value.Shape())
	}
	one := tensor.ZerosLike(v.Value)
	one.Fill(1)
	return Backward([]*Var{v}, []*tensor.Tensor{one}, false)
}

// BackwardWith is Backward with an explicit output gradient g (v's shape).
func (v *Var) BackwardWith(g *tensor.Tensor) error {
	return Backward([]*Var{v}, []*tensor.Tensor{g}, false)
}

// BackwardRetain is Backward keeping the graph, so it can run again.
func (v *Var) BackwardRetain() error {
	one := tensor.ZerosLike(v.Value)
	one.Fill(1)
	return Backward([]*Var{v}, []*tensor.Tensor{one}, true)
}

// Backward propagates grads[i] from roots[i] through the recorded graph.
// Leaves accumulate into Grad; retain keeps the graph for another pass.
func Backward(roots []*Var, grads []*tensor.Tensor, retain bool) error {
	if len(roots) != len(grads) {
		return fmt.Errorf("autograd: %d roots and %d gradients", len(roots), len(grads))
	}
	pending := map[*Var]*tensor.Tensor{}
	for i, r := range roots {
		if !r.requiresGrad {
			return fmt.Errorf("autograd: Backward of a value that does not require a gradient (computed by %s)", r.Op())
		}
		if !tensor.SameShape(r.Value, grads[i]) {
			return fmt.Errorf("autograd: gradient of shape %v for a value of shape %v", grads[i].Shape(), r.Value.Shape())
		}
		accumulate(pending, r, grads[i])
	}
	order, err := topoOrder(roots)
	if err != nil {
		return err
	}
	// order lists non-leaf Vars so that every Var comes after all Vars that
	// consume it (reverse topological order of computation).
	for _, v := range order {
		g := pending[v]
		delete(pending, v)
		if g == nil {
			continue
		}
		if v.retain {
			v.Grad = addGrad(v.Grad, g)
		}
		n := v.node
		if n.backward == nil {
			return ErrGraphFreed
		}
		ins := n.backward(g)
		inputs := n.inputs
		if !retain {
			// Free what the rule captured and the links to the inputs, so
			// intermediates are collectable even while the root is held.
			n.backward, n.inputs = nil, nil
		}
		for i, in := range inputs {
			if in == nil || !in.requiresGrad || i >= len(ins) || ins[i] == nil {
				continue
			}
			if !tensor.SameShape(in.Value, ins[i]) {
				return fmt.Errorf("autograd: %s backward produced a gradient of shape %v for input %d of shape %v", n.op, ins[i].Shape(), i, in.Value.Shape())
			}
			if in.node == nil {
				if in.Grad == nil && owned(ins, i, g) {
					// A fresh tensor nobody else holds becomes the
					// leaf's gradient without a copy.
					in.Grad = ins[i]
				} else {
					in.Grad = addLeafGrad(in.Grad, ins[i])
				}
			} else {
				accumulate(pending, in, ins[i])
			}
		}
	}
	// Leaves that were roots themselves.
	for v, g := range pending {
		if v.node == nil {
			v.Grad = addLeafGrad(v.Grad, g)
		}
	}
	return nil
}

func accumulate(m map[*Var]*tensor.Tensor, v *Var, g *tensor.Tensor) {
	m[v] = addGrad(m[v], g)
}

// addGrad returns acc+g. A gradient tensor may be shared by several inputs
// (Add hands the same one to both), so sums go to fresh storage.
func addGrad(acc, g *tensor.Tensor) *tensor.Tensor {
	if acc == nil {
		return g
	}
	out := acc.Clone()
	tensor.AddInPlace(out, g)
	return out
}

// owned reports whether the rule's i-th result is a contiguous tensor whose
// storage is neither the incoming gradient's nor another result's, i.e. one
// the rule allocated for this input alone.
func owned(ins []*tensor.Tensor, i int, g *tensor.Tensor) bool {
	t := ins[i]
	if !t.IsContiguous() || t.Storage() == g.Storage() {
		return false
	}
	for j, o := range ins {
		if j != i && o != nil && o.Storage() == t.Storage() {
			return false
		}
	}
	return true
}

// addLeafGrad accumulates g into a leaf's gradient, which the leaf owns (an
// optimizer or clipping may change it in place), so the first one is copied.
func addLeafGrad(acc, g *tensor.Tensor) *tensor.Tensor {
	if acc == nil {
		return g.Clone()
	}
	tensor.AddInPlace(acc, g)
	return acc
}

// topoOrder returns the non-leaf Vars reachable from roots, each after every
// Var that consumes it, found with an explicit stack.
func topoOrder(roots []*Var) ([]*Var, error) {
	type frame struct {
		v    *Var
		next int
	}
	visited := map[*Var]bool{}
	var post []*Var
	for _, r := range roots {
		if r.node == nil || visited[r] {
			continue
		}
		visited[r] = true
		stack := []frame{{v: r}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			ins := top.v.node.inputs
			if top.next < len(ins) {
				in := ins[top.next]
				top.next++
				if in != nil && in.node != nil && in.requiresGrad && !visited[in] {
					visited[in] = true
					stack = append(stack, frame{v: in})
				}
				continue
			}
			post = append(post, top.v)
			stack = stack[:len(stack)-1]
		}
	}
	// post is a topological order of computation (inputs first); reverse it.
	for i, j := 0, len(post)-1; i < j; i, j = i+1, j-1 {
		post[i], post[j] = post[j], post[i]
	}
	return post, nil
}
