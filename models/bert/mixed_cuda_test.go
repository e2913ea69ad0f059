//go:build cuda

package bert

// bf16 mixed precision on the GPU against fp32 on the CPU (issue 4, "On the
// GPU"): the fused attention alone, and a few AdamW training steps of a
// tiny BERT cross-encoder (head size 64, so attention runs the flash
// kernels) from the same weights and batches. Runs only on a machine with a
// GPU (scripts/gpu-run.sh runs this binary with -test.run CUDA).

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/nn/optim"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/gpu"
)

func mixedOn(t *testing.T) tensor.Device {
	b, err := gpu.Open(0)
	require.NoError(t, err)
	b.CUDA().SetSyncLaunch(true)
	dev := tensor.CUDA(0)
	prev, err := tensor.SetMixedPrecision(dev, true)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = tensor.SetMixedPrecision(dev, prev) })
	return dev
}

func TestFusedAttentionCUDAMatchesCPU(t *testing.T) {
	dev := mixedOn(t)
	const B, H, L, D = 2, 3, 37, 64
	r := testutil.NewRand(5)
	mk := func() *tensor.Tensor { return tensor.FromFloat32(testutil.Normal32(r, B*H*L*D, 1), B, H, L, D) }
	q, k, v, dout := mk(), mk(), mk(), mk()
	maskIn := tensor.FromInt32(append(append(make([]int32, 0, 2*L), ones(L)...), append(ones(L-9), make([]int32, 9)...)...), B, L)
	run := func(d tensor.Device) (out []float64, grads [][]float64, fused bool) {
		to := func(x *tensor.Tensor) *tensor.Tensor { y, err := x.To(d); require.NoError(t, err); return y }
		qv, kv, vv := autograd.Param(to(q), "q"), autograd.Param(to(k), "k"), autograd.Param(to(v), "v")
		mask := to(nn.PaddingMask(maskIn, tensor.Float32))
		_, _, fused = tensor.FusedAttention(qv.Value, kv.Value, vv.Value, tensor.AttentionOpts{KeyMask: mask, Scale: 0.125})
		o := nn.Attention(qv, kv, vv, mask, 0.125, 0.1, nil, false) // dropout inactive: not training
		require.NoError(t, o.BackwardWith(to(dout)))
		return o.Value.Float64s(), [][]float64{qv.Grad.Float64s(), kv.Grad.Float64s(), vv.Grad.Float64s()}, fused
	}
	want, wg, _ := run(tensor.CPU)
	got, gg, fused := run(dev)
	require.True(t, fused, "the CUDA backend runs this case fused in mixed precision")
	requireAttnClose(t, "fused attention vs fp32 CPU", got, want, gg, wg)
}

// TestFusedAttentionDropoutCUDAMatchesCPU: attention-probability dropout
// inside the fused kernels drops exactly the weights the CPU's composite
// path drops for the same generator (tensor.DropoutMaskKey), so the
// outputs and gradients agree at the bf16 level, and the generator
// advances alike on both devices.
func TestFusedAttentionDropoutCUDAMatchesCPU(t *testing.T) {
	dev := mixedOn(t)
	const B, H, L, D = 2, 2, 45, 64
	r := testutil.NewRand(6)
	mk := func() *tensor.Tensor { return tensor.FromFloat32(testutil.Normal32(r, B*H*L*D, 1), B, H, L, D) }
	q, k, v, dout := mk(), mk(), mk(), mk()
	run := func(d tensor.Device) (out []float64, grads [][]float64, next float64) {
		to := func(x *tensor.Tensor) *tensor.Tensor { y, err := x.To(d); require.NoError(t, err); return y }
		qv, kv, vv := autograd.Param(to(q), "q"), autograd.Param(to(k), "k"), autograd.Param(to(v), "v")
		rng := tensor.NewRNG(21)
		o := nn.Attention(qv, kv, vv, nil, 0.125, 0.3, rng, true)
		require.NoError(t, o.BackwardWith(to(dout)))
		return o.Value.Float64s(), [][]float64{qv.Grad.Float64s(), kv.Grad.Float64s(), vv.Grad.Float64s()}, rng.Float64()
	}
	want, wg, wn := run(tensor.CPU)
	got, gg, gn := run(dev)
	require.Equal(t, wn, gn, "the generator advances alike on both devices")
	qd, err := q.To(dev)
	require.NoError(t, err)
	_, _, fused := tensor.FusedAttention(qd, qd, qd, tensor.AttentionOpts{Scale: 0.125, Dropout: 0.3, DropKey: 1})
	require.True(t, fused, "the CUDA backend runs attention with dropout fused in mixed precision")
	requireAttnClose(t, "fused attention with dropout 0.3 vs fp32 CPU", got, want, gg, wg)
}

// requireAttnClose requires the output and the q, k, v gradients of a GPU
// attention run within the bf16 mixed-precision level of the fp32 CPU
// run's (relative L2), logging the four errors.
func requireAttnClose(t *testing.T, what string, got, want []float64, gg, wg [][]float64) {
	t.Helper()
	lim := testutil.BF16Mixed.Rel
	e := testutil.RelL2(got, want)
	t.Logf("%s: out relative L2 %.2e; dq %.2e dk %.2e dv %.2e (limit %g)", what, e,
		testutil.RelL2(gg[0], wg[0]), testutil.RelL2(gg[1], wg[1]), testutil.RelL2(gg[2], wg[2]), lim)
	require.LessOrEqual(t, e, lim)
	for i, name := range []string{"dq", "dk", "dv"} {
		require.LessOrEqual(t, testutil.RelL2(gg[i], wg[i]), lim, name)
	}
}

func ones(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

func TestMixedPrecisionStepsCUDAMatchFP32CPU(t *testing.T) {
	dev := mixedOn(t)
	cfg := Config{VocabSize: 61, Hidden: 128, Layers: 2, Heads: 2, Intermediate: 96, MaxPositions: 16,
		TypeVocab: 2, Act: "gelu", Eps: 1e-12, InitStd: 0.02}
	ids := tensor.FromInt32([]int32{
		2, 17, 33, 5, 9, 3, 0,
		2, 40, 41, 42, 3, 0, 0,
		2, 8, 60, 12, 13, 14, 3,
		2, 9, 9, 10, 3, 0, 0,
	}, 4, 7)
	mask := tensor.FromInt32([]int32{
		1, 1, 1, 1, 1, 1, 0,
		1, 1, 1, 1, 1, 0, 0,
		1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 0, 0,
	}, 4, 7)
	labels := tensor.FromFloat32([]float32{1, 0, 1, 0}, 4, 1)
	hp := optim.Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
	const steps = 4
	run := func(d tensor.Device) []float64 {
		m := NewClassifier(cfg, 1, tensor.NewRNG(11))
		params := m.NamedParams("")
		for _, p := range params {
			v, err := p.Var.Value.To(d)
			require.NoError(t, err)
			p.Var.Value = v
		}
		opt, err := optim.NewAdamW(optim.DecayGroups(params, hp.WeightDecay), hp, optim.Constant())
		require.NoError(t, err)
		y, err := labels.To(d)
		require.NoError(t, err)
		var losses []float64
		for s := 0; s < steps; s++ {
			logits, err := m.Forward(Inputs{IDs: ids, Mask: mask}, RunOptions{Training: true})
			require.NoError(t, err)
			loss := autograd.BCEWithLogits(logits, y)
			require.NoError(t, loss.Backward())
			opt.ClipGradNorm(1)
			opt.Step()
			opt.ZeroGrad()
			l := loss.Value.Item()
			require.False(t, math.IsNaN(l))
			losses = append(losses, l)
		}
		for _, p := range params {
			require.Equal(t, d, p.Var.Value.Device(), p.Name)
		}
		return losses
	}
	want := run(tensor.CPU)
	got := run(dev)
	t.Logf("losses fp32 cpu %v; bf16 mixed cuda %v; host fallbacks %v", want, got, gpu.HostFallbacks())
	testutil.AssertClose(t, "losses", got, want, testutil.BF16Mixed)
	require.Less(t, got[steps-1], got[0], "the loss falls on the GPU too")
}
