package optim

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// clipEps is the constant torch.nn.utils.clip_grad_norm_ adds to the total
// norm before dividing.
const clipEps = 1e-6

// totalGradNorm returns the global L2 norm of the gradients of params as a
// 0-d tensor on the gradients' device, computed as torch does: the L2 norm
// of the stacked per-tensor L2 norms. Parameters without a gradient are
// skipped; nil when none has one.
func totalGradNorm(params []nn.NamedParam) *tensor.Tensor {
	var norms []*tensor.Tensor
	for _, p := range params {
		if p.Var == nil || p.Var.Grad == nil {
			continue
		}
		norms = append(norms, tensor.Norm(p.Var.Grad.Reshape(-1), 0, false))
	}
	if len(norms) == 0 {
		return nil
	}
	return tensor.Norm(tensor.Stack(0, norms...), 0, false)
}

// GradNorm returns ‖g‖₂ over the gradients of all params taken together
// (the square root of the sum of the squares of every element), without
// changing them; 0 when no parameter has a gradient. All gradients must be
// on one device and of one dtype.
func GradNorm(params []nn.NamedParam) float64 {
	if n, ok := deviceGradNorm(params); ok {
		return n
	}
	total := totalGradNorm(params)
	if total == nil {
		return 0
	}
	return total.Item()
}

// ClipGradNorm is torch.nn.utils.clip_grad_norm_(params, maxNorm) (L2 norm):
// with total the global norm of all gradients (as GradNorm), it scales every
// gradient in place by min(1, maxNorm/(total+1e-6)) and returns total, the
// norm before clipping. As in PyTorch the coefficient is computed in the
// gradients' dtype (maxNorm·(1/(total+1e-6)), torch's float/tensor), a
// non-finite total is not an error (the gradients become non-finite or zero;
// check the returned norm), and parameters without a gradient are skipped.
// It panics when maxNorm is negative or NaN.
func ClipGradNorm(params []nn.NamedParam, maxNorm float64) float64 {
	total, c := clipCoef(params, maxNorm)
	scaleGrads(params, c)
	return total
}

// clipCoef returns the global gradient norm and the clipping coefficient
// min(1, maxNorm/(total+1e-6)) computed as ClipGradNorm does (1 when no
// parameter has a gradient).
func clipCoef(params []nn.NamedParam, maxNorm float64) (total, c float64) {
	if !(maxNorm >= 0) {
		panic(fmt.Sprintf("optim.ClipGradNorm: maxNorm %v must be >= 0", maxNorm))
	}
	if n, ok := deviceGradNorm(params); ok {
		// the coefficient in float32, as torch computes it for float32
		// gradients: maxNorm·(1/(total+1e-6)), at most 1
		return n, min(float64(float32(maxNorm)*(1/(float32(n)+float32(clipEps)))), 1)
	}
	t := totalGradNorm(params)
	if t == nil {
		return 0, 1
	}
	coef := tensor.MulScalar(tensor.Unary(tensor.OpRecip, tensor.AddScalar(t, clipEps)), maxNorm)
	coef = tensor.BinaryScalar(tensor.OpMinimum, coef, 1, false)
	// The coefficient is read back to skip the multiplication by exactly 1
	// (which changes nothing); the total norm is read back anyway.
	return t.Item(), coef.Item()
}

// scaleGrads multiplies every gradient by c in place (nothing when c is 1).
func scaleGrads(params []nn.NamedParam, c float64) {
	if c == 1 && !math.IsNaN(c) {
		return
	}
	for _, p := range params {
		if p.Var == nil || p.Var.Grad == nil {
			continue
		}
		g := p.Var.Grad
		if g.IsContiguous() {
			tensor.MulScalarInPlace(g, c)
		} else {
			g.CopyFrom(tensor.MulScalar(g, c))
		}
	}
}

// deviceGradNorm is the global gradient norm from the multi-tensor kernel
// of the gradients' backend (tensor.GlobalNorm: one launch, one read-back,
// instead of a norm per tensor); ok is false on the CPU, whose path above
// keeps torch's norm-of-norms order, and for backends without the kernel.
func deviceGradNorm(params []nn.NamedParam) (float64, bool) {
	var gs []*tensor.Tensor
	for _, p := range params {
		if p.Var != nil && p.Var.Grad != nil {
			gs = append(gs, p.Var.Grad)
		}
	}
	if len(gs) == 0 || gs[0].Device().Kind == tensor.KindCPU {
		return 0, false
	}
	return tensor.GlobalNorm(gs)
}
