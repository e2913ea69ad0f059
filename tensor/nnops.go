package tensor

import "fmt"

// lastAxisOp moves axis to the end (copying) so a last-axis kernel applies,
// returning the permutation that undoes it.
func lastAxisOp(x *Tensor, axis int) (*Tensor, []int) {
	axis = x.axis("Softmax", axis)
	nd := x.NDim()
	if axis == nd-1 {
		return x.Contiguous(), nil
	}
	perm := make([]int, 0, nd)
	for i := 0; i < nd; i++ {
		if i != axis {
			perm = append(perm, i)
		}
	}
	perm = append(perm, axis)
	inv := make([]int, nd)
	for i, p := range perm {
		inv[p] = i
	}
	return x.Permute(perm...).Contiguous(), inv
}

func undoPerm(t *Tensor, inv []int) *Tensor {
	if inv == nil {
		return t
	}
	return t.Permute(inv...).Contiguous()
}

// Softmax returns the softmax of x along axis (numerically stable).
func Softmax(x *Tensor, axis int) *Tensor { return softmax(x, axis, false) }

// LogSoftmax returns the log-softmax of x along axis.
func LogSoftmax(x *Tensor, axis int) *Tensor { return softmax(x, axis, true) }

func softmax(x *Tensor, axis int, log bool) *Tensor {
	compute("Softmax", x)
	if x.NDim() == 0 {
		x = x.Reshape(1)
		axis = 0
	}
	xc, inv := lastAxisOp(x, axis)
	out := xc.empty(xc.DType(), xc.shape)
	xc.backend().Softmax(out, xc, log)
	return undoPerm(out, inv).Reshape(x.shape...)
}

// SoftmaxBackward returns dx from dy and the forward output y of Softmax (or
// LogSoftmax when log) along axis.
func SoftmaxBackward(dy, y *Tensor, axis int, log bool) *Tensor {
	compute("SoftmaxBackward", dy, y)
	if !SameShape(dy, y) {
		panic(fmt.Sprintf("tensor.SoftmaxBackward: dy %v, y %v", dy.shape, y.shape))
	}
	if y.NDim() == 0 {
		dy, y, axis = dy.Reshape(1), y.Reshape(1), 0
	}
	yc, inv := lastAxisOp(y, axis)
	dyc, _ := lastAxisOp(dy, axis)
	out := yc.empty(yc.DType(), yc.shape)
	yc.backend().SoftmaxBackward(out, dyc, yc, log)
	return undoPerm(out, inv)
}

// NormStats holds the per-row statistics a normalisation saves for its
// backward pass: Mean (LayerNorm only) and Rstd = 1/σ.
type NormStats struct {
	Mean, Rstd *Tensor
}

func normCheck(op string, x, gamma, beta *Tensor) int {
	compute(op, x, gamma, beta)
	if x.NDim() < 1 {
		panic(fmt.Sprintf("tensor.%s: scalar input", op))
	}
	cols := x.shape[x.NDim()-1]
	for _, p := range []*Tensor{gamma, beta} {
		if p != nil && (p.NDim() != 1 || p.shape[0] != cols) {
			panic(fmt.Sprintf("tensor.%s: parameter %v for input %v", op, p.shape, x.shape))
		}
	}
	return cols
}

func orNil(t *Tensor) *Tensor {
	if t == nil {
		return nil
	}
	return t.Contiguous()
}

// LayerNorm normalises the last axis of x: (x-mean)/√(var+eps)·gamma + beta
// (gamma and beta may be nil). It returns the statistics for the backward.
func LayerNorm(x, gamma, beta *Tensor, eps float64) (*Tensor, NormStats) {
	cols := normCheck("LayerNorm", x, gamma, beta)
	x = x.Contiguous()
	rows := 0
	if cols > 0 {
		rows = x.Numel() / cols
	}
	out := x.empty(x.DType(), x.shape)
	st := NormStats{Mean: x.empty(x.DType(), []int{rows}), Rstd: x.empty(x.DType(), []int{rows})}
	x.backend().LayerNorm(out, st.Mean, st.Rstd, x, orNil(gamma), orNil(beta), eps)
	return out, st
}

// LayerNormBackward returns dx, dgamma and dbeta (nil when gamma/beta are
// nil, or when wantParams is false).
func LayerNormBackward(dy, x, gamma *Tensor, st NormStats, hasBeta, wantParams bool) (dx, dgamma, dbeta *Tensor) {
	cols := normCheck("LayerNormBackward", dy, gamma, nil)
	if !SameShape(dy, x) {
		panic(fmt.Sprintf("tensor.LayerNormBackward: dy %v, x %v", dy.shape, x.shape))
	}
	dy, x = dy.Contiguous(), x.Contiguous()
	dx = x.empty(x.DType(), x.shape)
	if wantParams && gamma != nil {
		dgamma = ZerosAs(x, cols) // the backend accumulates
	}
	if wantParams && hasBeta {
		dbeta = ZerosAs(x, cols)
	}
	x.backend().LayerNormBackward(dx, dgamma, dbeta, dy, x, st.Mean, st.Rstd, orNil(gamma))
	return dx, dgamma, dbeta
}

// RMSNorm normalises the last axis of x by its root mean square:
// x/√(mean(x²)+eps)·gamma (gamma may be nil).
func RMSNorm(x, gamma *Tensor, eps float64) (*Tensor, NormStats) {
	cols := normCheck("RMSNorm", x, gamma, nil)
	x = x.Contiguous()
	rows := 0
	if cols > 0 {
		rows = x.Numel() / cols
	}
	out := x.empty(x.DType(), x.shape)
	st := NormStats{Rstd: x.empty(x.DType(), []int{rows})}
	x.backend().RMSNorm(out, st.Rstd, x, orNil(gamma), eps)
	return out, st
}

// RMSNormBackward returns dx and dgamma (nil when gamma is nil or
// wantParams is false).
func RMSNormBackward(dy, x, gamma *Tensor, st NormStats, wantParams bool) (dx, dgamma *Tensor) {
	cols := normCheck("RMSNormBackward", dy, gamma, nil)
	if !SameShape(dy, x) {
		panic(fmt.Sprintf("tensor.RMSNormBackward: dy %v, x %v", dy.shape, x.shape))
	}
	dy, x = dy.Contiguous(), x.Contiguous()
	dx = x.empty(x.DType(), x.shape)
	if wantParams && gamma != nil {
		dgamma = ZerosAs(x, cols) // the backend accumulates
	}
	x.backend().RMSNormBackward(dx, dgamma, dy, x, st.Rstd, orNil(gamma))
	return dx, dgamma
}

// AdamWStep updates param, m and v in place (PyTorch's AdamW arithmetic).
func AdamWStep(param, grad, m, v *Tensor, p AdamWParams) {
	compute("AdamWStep", param, grad, m, v)
	for _, t := range []*Tensor{grad, m, v} {
		if !SameShape(param, t) {
			panic(fmt.Sprintf("tensor.AdamWStep: shape %v for parameter %v", t.shape, param.shape))
		}
	}
	for _, t := range []*Tensor{param, grad, m, v} {
		if !t.IsContiguous() {
			panic(fmt.Sprintf("tensor.AdamWStep: tensor %v is not contiguous", t.shape))
		}
	}
	if p.scaled() && param.Device().Kind != KindCPU {
		MulScalarInPlace(grad, p.GradScale)
		p.GradScale = 0
	}
	param.backend().AdamW(param, grad, m, v, p)
}
