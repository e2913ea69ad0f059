package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// clipSpecs have sizes that are not multiples of any vector width, and a
// parameter that has no gradient.
var clipSpecs = []spec{{"a", []int{7}}, {"b", []int{3, 11}}, {"c", []int{1001}}, {"none", []int{5}}, {"d", []int{1}}}

func clipParams(t *testing.T) ([]nn.NamedParam, [][]float64) {
	t.Helper()
	params := makeParams(11, clipSpecs)
	grads := make([][]float64, len(params))
	for i, p := range params {
		if p.Name == "none" {
			continue
		}
		g := gradFor(i, 1, clipSpecs[i].shape)
		p.Var.Grad = g
		grads[i] = testutil.To64(g.Float32s())
	}
	return params, grads
}

// norm64 is the global L2 norm in float64, element by element.
func norm64(grads [][]float64) float64 {
	s := 0.0
	for _, g := range grads {
		for _, v := range g {
			s += v * v
		}
	}
	return math.Sqrt(s)
}

func TestClipGradNorm(t *testing.T) {
	tests := []struct {
		name string
		// maxNorm as a fraction of the true norm
		frac float64
	}{
		{"clips", 0.25},
		{"clips_hard", 1e-3},
		{"below", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, grads := clipParams(t)
			total := norm64(grads)
			maxNorm := tt.frac * total
			before := make([][]float32, len(params))
			for i, p := range params {
				if p.Var.Grad != nil {
					before[i] = append([]float32(nil), p.Var.Grad.Float32s()...)
				}
			}
			got := ClipGradNorm(params, maxNorm)
			testutil.AssertClose(t, "total norm", []float64{got}, []float64{total}, testutil.F32)
			coef := math.Min(1, maxNorm/(total+1e-6))
			for i, p := range params {
				if grads[i] == nil {
					require.Nil(t, p.Var.Grad, "a parameter without a gradient got one")
					continue
				}
				if coef == 1 {
					require.Equal(t, before[i], p.Var.Grad.Float32s(), "%s: clipping below the threshold changed the gradient", p.Name)
					continue
				}
				want := make([]float64, len(grads[i]))
				for j, g := range grads[i] {
					want[j] = g * coef
				}
				testutil.AssertClose(t, p.Name, p.Var.Grad.Float32s(), want, testutil.F32)
			}
			if coef < 1 {
				testutil.AssertClose(t, "norm after clipping", []float64{GradNorm(params)}, []float64{maxNorm}, testutil.F32)
			}
		})
	}
}

// TestClipGradNormSmall: a hand-worked case. Gradients (3, 4) and (12):
// total 13; max 6.5 gives coefficient 6.5/(13+1e-6).
func TestClipGradNormSmall(t *testing.T) {
	params := makeParams(12, []spec{{"x", []int{2}}, {"y", []int{1}}})
	params[0].Var.Grad = tensor.FromFloat32([]float32{3, 4}, 2)
	params[1].Var.Grad = tensor.FromFloat32([]float32{12}, 1)
	require.Equal(t, 13.0, GradNorm(params))
	require.Equal(t, 13.0, ClipGradNorm(params, 6.5))
	c := 6.5 / (13 + 1e-6)
	testutil.AssertClose(t, "x", params[0].Var.Grad.Float32s(), []float64{3 * c, 4 * c}, testutil.F32Rounding)
	testutil.AssertClose(t, "y", params[1].Var.Grad.Float32s(), []float64{12 * c}, testutil.F32Rounding)
}

func TestClipGradNormEdgeCases(t *testing.T) {
	params := makeParams(13, []spec{{"x", []int{3}}})
	require.Equal(t, 0.0, ClipGradNorm(params, 1), "no gradients")
	require.Equal(t, 0.0, GradNorm(params))
	require.Equal(t, 0.0, GradNorm(nil))
	require.Panics(t, func() { ClipGradNorm(params, -1) })
	require.Panics(t, func() { ClipGradNorm(params, math.NaN()) })

	// max_norm 0 zeroes the gradients, as in PyTorch.
	params[0].Var.Grad = tensor.FromFloat32([]float32{1, -2, 3}, 3)
	ClipGradNorm(params, 0)
	require.Equal(t, []float32{0, 0, 0}, params[0].Var.Grad.Float32s())

	// A non-finite norm is returned, not an error; the gradients become NaN.
	params[0].Var.Grad = tensor.FromFloat32([]float32{1, float32(math.NaN()), 3}, 3)
	n := ClipGradNorm(params, 1)
	require.True(t, math.IsNaN(n))
	require.True(t, math.IsNaN(float64(params[0].Var.Grad.Float32s()[0])))

	// The optimizer methods cover its own parameters; the method defers the
	// scaling into Step, which then equals scaling in place first and
	// stepping, bit for bit.
	params[0].Var.Grad = tensor.FromFloat32([]float32{3, 0, 4}, 3)
	opt, err := NewAdamW(OneGroup(params, 0), DefaultConfig(), nil)
	require.NoError(t, err)
	require.Equal(t, 5.0, opt.GradNorm())
	require.Equal(t, 5.0, opt.ClipGradNorm(1))
	require.Equal(t, []float32{3, 0, 4}, params[0].Var.Grad.Float32s(), "deferred: the gradient is untouched until Step")

	twin := []nn.NamedParam{{Name: "w", Var: autograd.Param(params[0].Var.Value.Clone(), "w")}}
	twin[0].Var.Grad = tensor.FromFloat32([]float32{3, 0, 4}, 3)
	opt2, err := NewAdamW(OneGroup(twin, 0), DefaultConfig(), nil)
	require.NoError(t, err)
	require.Equal(t, 5.0, ClipGradNorm(twin, 1))
	testutil.AssertClose(t, "clipped", twin[0].Var.Grad.Float32s(), []float64{3 / (5 + 1e-6), 0, 4 / (5 + 1e-6)}, testutil.F32Rounding)
	opt.Step()
	opt2.Step()
	require.Equal(t, twin[0].Var.Value.Float32s(), params[0].Var.Value.Float32s(), "fused clip + step = clip, then step")

	// ZeroGrad cancels a pending scale.
	params[0].Var.Grad = tensor.FromFloat32([]float32{30, 0, 40}, 3)
	twin[0].Var.Grad = tensor.FromFloat32([]float32{30, 0, 40}, 3)
	opt.ClipGradNorm(1)
	opt.ZeroGrad()
	params[0].Var.Grad = tensor.FromFloat32([]float32{0.3, 0, 0.4}, 3)
	twin[0].Var.Grad = tensor.FromFloat32([]float32{0.3, 0, 0.4}, 3)
	opt.Step()
	opt2.Step()
	require.Equal(t, twin[0].Var.Value.Float32s(), params[0].Var.Value.Float32s())
}
