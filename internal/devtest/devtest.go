package devtest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/nn/optim"
	"github.com/ragr-dev/ragr/tensor"
)

// Sim returns the simulated accelerator tensor.Sim(i) with bf16 mixed
// precision set to mixed until the test ends. Tests that change the setting
// use an index of their own.
func Sim(t testing.TB, i int, mixed bool) tensor.Device {
	t.Helper()
	return Mixed(t, tensor.Sim(i), mixed)
}

// Mixed sets device d's bf16 mixed precision to on until the test ends.
func Mixed(t testing.TB, d tensor.Device, on bool) tensor.Device {
	t.Helper()
	prev, err := tensor.SetMixedPrecision(d, on)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = tensor.SetMixedPrecision(d, prev) })
	return d
}

// MoveParams moves every parameter to device d.
func MoveParams(t testing.TB, ps []nn.NamedParam, d tensor.Device) {
	t.Helper()
	require.NoError(t, nn.MoveParams(ps, d))
}

// BCESteps moves params to d and takes steps AdamW steps (lr 1e-3, decay
// groups, clipping at 1) of the BCE loss of forward's logits against the
// host labels, and returns the losses; every parameter must still be on d
// afterwards. forward gets the step number.
func BCESteps(t testing.TB, d tensor.Device, params []nn.NamedParam, labels *tensor.Tensor, steps int, forward func(step int) (*autograd.Var, error)) []float64 {
	t.Helper()
	MoveParams(t, params, d)
	hp := optim.Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
	opt, err := optim.NewAdamW(optim.DecayGroups(params, hp.WeightDecay), hp, optim.Constant())
	require.NoError(t, err)
	y, err := labels.To(d)
	require.NoError(t, err)
	var losses []float64
	for s := 0; s < steps; s++ {
		logits, err := forward(s)
		require.NoError(t, err)
		loss := autograd.BCEWithLogits(logits, y)
		require.NoError(t, loss.Backward())
		opt.ClipGradNorm(1)
		opt.Step()
		opt.ZeroGrad()
		l := loss.Value.Item()
		require.False(t, math.IsNaN(l), "step %d on %s: NaN loss", s+1, d)
		losses = append(losses, l)
	}
	for _, p := range params {
		require.Equal(t, d, p.Var.Value.Device(), p.Name)
	}
	return losses
}
