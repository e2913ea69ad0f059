package bert

// Device checks shared by the GPU tests (cuda_test.go, mixed_cuda_test.go:
// the CUDA backend, only on a machine with a GPU) and the simulated
// accelerator (below: tensor.Sim, every CI run), so the test bodies the GPU
// run depends on are exercised everywhere.

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/devtest"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/nn/optim"
	"github.com/ragr-dev/ragr/tensor"
)

func TestTrainStepSimMatchesCPU(t *testing.T)      { checkTrainStep(t, tensor.Sim(0)) }
func TestFusedAttentionSimMatchesCPU(t *testing.T) { checkFusedAttention(t, devtest.Sim(t, 1, true)) }
func TestFusedAttentionDropoutSimMatchesCPU(t *testing.T) {
	checkFusedAttentionDropout(t, devtest.Sim(t, 2, true))
}
func TestMixedPrecisionStepsSimMatchFP32CPU(t *testing.T) {
	checkMixedSteps(t, devtest.Sim(t, 3, true))
}

// deviceBatch returns the first rows (at most 4) of a padded batch of 7
// tokens: ids and the attention mask.
func deviceBatch(rows int) (ids, mask *tensor.Tensor) {
	id := []int32{
		2, 17, 33, 5, 9, 3, 0,
		2, 40, 41, 42, 3, 0, 0,
		2, 8, 60, 12, 13, 14, 3,
		2, 9, 9, 10, 3, 0, 0,
	}
	m := make([]int32, len(id))
	for i, v := range id {
		if v != 0 {
			m[i] = 1
		}
	}
	return tensor.FromInt32(id[:rows*7], rows, 7), tensor.FromInt32(m[:rows*7], rows, 7)
}

// checkTrainStep: autograd on device dev equals the CPU: a tiny BERT
// cross-encoder, the same weights and inputs on both devices (dropout
// active, drawn alike), forward, BCE loss, backward and one AdamW step;
// every parameter gradient and updated parameter must agree.
func checkTrainStep(t *testing.T, dev tensor.Device) {
	cfg := Config{VocabSize: 61, Hidden: 32, Layers: 2, Heads: 4, Intermediate: 37, MaxPositions: 16,
		TypeVocab: 2, Act: "gelu", Eps: 1e-12, HiddenDropout: 0.1, AttnDropout: 0.1, InitStd: 0.02}
	build := func(d tensor.Device) *Classifier {
		m := NewClassifier(cfg, 1, tensor.NewRNG(7)) // the same weights on both devices
		devtest.MoveParams(t, m.NamedParams(""), d)
		return m
	}
	ids, mask := deviceBatch(3)
	types := tensor.FromInt32([]int32{
		0, 0, 0, 1, 1, 1, 0,
		0, 0, 1, 1, 1, 0, 0,
		0, 0, 0, 0, 1, 1, 1,
	}, 3, 7)
	labels := tensor.FromFloat32([]float32{1, 0, 1}, 3, 1)
	hp := optim.Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, WeightDecay: 0.01}

	type result struct {
		loss         float64
		names        []string
		grads, after [][]float64
	}
	run := func(d tensor.Device) result {
		m := build(d)
		params := m.NamedParams("")
		opt, err := optim.NewAdamW(optim.OneGroup(params, hp.WeightDecay), hp, optim.Constant())
		require.NoError(t, err)
		opt.ZeroGrad()
		// host inputs: the model moves them to its weights' device
		logits, err := m.Forward(Inputs{IDs: ids, Mask: mask, TypeIDs: types}, RunOptions{Training: true})
		require.NoError(t, err)
		require.Equal(t, d, logits.Value.Device())
		y, err := labels.To(d)
		require.NoError(t, err)
		loss := autograd.BCEWithLogits(logits, y)
		require.NoError(t, loss.Backward())
		var r result
		r.loss = loss.Value.Item()
		for _, p := range params {
			require.NotNil(t, p.Var.Grad, "no gradient for %s on %s", p.Name, d)
			r.names = append(r.names, p.Name)
			r.grads = append(r.grads, p.Var.Grad.Float64s())
		}
		opt.Step()
		for _, p := range params {
			require.Equal(t, d, p.Var.Value.Device(), p.Name)
			r.after = append(r.after, p.Var.Value.Float64s())
		}
		return r
	}
	want := run(tensor.CPU)
	got := run(dev)
	t.Logf("loss cpu %.8f %s %.8f", want.loss, dev, got.loss)
	testutil.AssertClose(t, "loss", []float64{got.loss}, []float64{want.loss}, testutil.F32Accum)
	require.Equal(t, want.names, got.names)
	worst, at := 0.0, ""
	for i, name := range want.names {
		testutil.AssertClose(t, "grad "+name, got.grads[i], want.grads[i], testutil.F32Accum)
		testutil.AssertClose(t, "after step "+name, got.after[i], want.after[i], testutil.F32Accum)
		if r := testutil.RelL2(got.grads[i], want.grads[i]); r > worst {
			worst, at = r, name
		}
	}
	t.Logf("%d parameters; largest gradient relative L2 difference %.2e (%s)", len(want.names), worst, at)
}

// checkFusedAttention: the fused attention on dev in mixed precision
// against the fp32 CPU composite path.
func checkFusedAttention(t *testing.T, dev tensor.Device) {
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
	require.True(t, fused, "the backend runs this case fused in mixed precision")
	requireAttnClose(t, "fused attention vs fp32 CPU", got, want, gg, wg)
}

// checkFusedAttentionDropout: attention-probability dropout inside the
// fused kernels drops exactly the weights the CPU's composite
// path drops for the same generator (tensor.DropoutMaskKey), so the
// outputs and gradients agree at the bf16 level, and the generator
// advances alike on both devices.
func checkFusedAttentionDropout(t *testing.T, dev tensor.Device) {
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
	require.True(t, fused, "the backend runs attention with dropout fused in mixed precision")
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

// checkMixedSteps: a few AdamW steps of a tiny BERT cross-encoder (head
// size 64) in bf16 mixed precision on dev follow the fp32 CPU run.
func checkMixedSteps(t *testing.T, dev tensor.Device) {
	cfg := Config{VocabSize: 61, Hidden: 128, Layers: 2, Heads: 2, Intermediate: 96, MaxPositions: 16,
		TypeVocab: 2, Act: "gelu", Eps: 1e-12, InitStd: 0.02}
	if testing.Short() { // one head of 64 (still the fused kernels): the emulated GPU's size
		cfg.Hidden, cfg.Layers, cfg.Heads, cfg.Intermediate = 64, 1, 1, 32
	}
	ids, mask := deviceBatch(4)
	labels := tensor.FromFloat32([]float32{1, 0, 1, 0}, 4, 1)
	const steps = 4
	run := func(d tensor.Device) []float64 {
		m := NewClassifier(cfg, 1, tensor.NewRNG(11))
		return devtest.BCESteps(t, d, m.NamedParams(""), labels, steps, func(int) (*autograd.Var, error) {
			return m.Forward(Inputs{IDs: ids, Mask: mask}, RunOptions{Training: true})
		})
	}
	want := run(tensor.CPU)
	got := run(dev)
	t.Logf("losses fp32 cpu %v; bf16 mixed on %s %v", want, dev, got)
	testutil.AssertClose(t, "losses", got, want, testutil.BF16Mixed)
	require.Less(t, got[steps-1], got[0], "the loss falls on the GPU too")
}
