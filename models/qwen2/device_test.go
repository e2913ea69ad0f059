package qwen2

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/devtest"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// deviceRun trains nothing: it moves a fresh classifier (head size 8,
// grouped-query heads, attention dropout) to d, runs a training forward
// pass on a right- and a left-padded row with host inputs, backward from
// Σ logits, and returns the logits and every gradient on the host.
func deviceRun(t *testing.T, d tensor.Device, checkpoint bool) ([]float32, map[string][]float32) {
	t.Helper()
	cfg := tinyConfig()
	cfg.PadID = 0
	cfg.AttnDropout = 0.2
	m := NewClassifier(cfg, 1, tensor.NewRNG(11))
	devtest.MoveParams(t, m.NamedParams(""), d)
	in := Inputs{
		IDs:  tensor.FromInt32([]int32{5, 6, 7, 8, 9, 0, 0, 0, 3, 4, 5, 6}, 2, 6),
		Mask: tensor.FromInt32([]int32{1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1}, 2, 6),
	}
	logits, err := m.Forward(in, RunOptions{Training: true, RNG: tensor.NewRNG(3), Checkpoint: checkpoint})
	require.NoError(t, err)
	assert.Equal(t, d, logits.Value.Device())
	require.NoError(t, autograd.SumAll(logits).Backward())
	g := map[string][]float32{}
	for _, p := range m.NamedParams("") {
		require.NotNil(t, p.Var.Grad, p.Name)
		assert.Equal(t, d, p.Var.Grad.Device(), p.Name)
		g[p.Name] = p.Var.Grad.Float32s()
	}
	return logits.Value.Float32s(), g
}

// A Qwen2 classifier on a device (the simulated accelerator) takes host
// inputs, keeps every activation and gradient on the device, and computes
// what the CPU computes: bit for bit in fp32 (the composite attention
// path), within the bf16 level in mixed precision (the fused attention
// path with its causal rule and grouped heads).
func TestClassifierOnDevice(t *testing.T) {
	wantLogits, wantGrads := deviceRun(t, tensor.CPU, false)
	t.Run("fp32", func(t *testing.T) {
		for _, ckpt := range []bool{false, true} {
			logits, grads := deviceRun(t, tensor.Sim(0), ckpt)
			assert.Equal(t, wantLogits, logits)
			for n, w := range wantGrads {
				if ckpt {
					testutil.AssertClose(t, n, grads[n], w, testutil.F32Rounding)
				} else {
					assert.Equal(t, w, grads[n], n)
				}
			}
		}
	})
	t.Run("bf16 mixed", func(t *testing.T) {
		d := devtest.Sim(t, 2, true)
		logits, grads := deviceRun(t, d, true)
		t.Logf("logits relative L2 %.2e, score.weight grad %.2e", testutil.RelL2(logits, wantLogits), testutil.RelL2(grads["score.weight"], wantGrads["score.weight"]))
		assert.LessOrEqual(t, testutil.RelL2(logits, wantLogits), testutil.BF16Mixed.Rel)
		for n, w := range wantGrads {
			assert.LessOrEqual(t, testutil.RelL2(grads[n], w), 4*testutil.BF16Mixed.Rel, n)
		}
		assert.NotEqual(t, wantLogits, logits, "the operands were rounded to bf16")
	})
}

// The GPU tests' checks (mixed_cuda_test.go) on the simulated
// accelerator: the same code path, the CPU kernels behind it.
func TestCausalAttentionSimMatchesCPU(t *testing.T) {
	checkCausalAttentionMixed(t, devtest.Sim(t, 3, true))
}

func TestMixedPrecisionStepsSimMatchFP32CPU(t *testing.T) {
	checkMixedSteps(t, devtest.Sim(t, 4, true))
}

// checkCausalAttentionMixed: the fused causal attention (GQA 8 query
// heads over 2 KV heads, D 64) on dev in mixed precision against the composite path on the CPU; queries that see no key
// (left padding) get a zero output gradient, where the two paths differ
// by design (nn.CausalAttention).
func checkCausalAttentionMixed(t *testing.T, dev tensor.Device) {
	const B, H, KVH, L, D = 2, 8, 2, 45, 64
	r := testutil.NewRand(12)
	mk := func(h int) *tensor.Tensor { return tensor.FromFloat32(testutil.Normal32(r, B*h*L*D, 1), B, h, L, D) }
	q, k, v, dout := mk(H), mk(KVH), mk(KVH), mk(H)
	maskv := make([]int32, B*L)
	for j := 0; j < L; j++ {
		maskv[j] = b2i(j < L-11) // right padding
		maskv[L+j] = b2i(j >= 6) // left padding: queries 0..5 see no key
	}
	g := dout.Data32()
	for h := 0; h < H; h++ {
		for i := 0; i < 6; i++ {
			clear(g[((1*H+h)*L+i)*D : ((1*H+h)*L+i+1)*D])
		}
	}
	mask := tensor.FromInt32(maskv, B, L)
	for _, p := range []float64{0, 0.2} {
		run := func(d tensor.Device) (out []float64, grads [][]float64, next float64) {
			to := func(x *tensor.Tensor) *tensor.Tensor { y, err := x.To(d); require.NoError(t, err); return y }
			qv, kv, vv := autograd.Param(to(q), "q"), autograd.Param(to(k), "k"), autograd.Param(to(v), "v")
			m, err := nn.NewDecoderMask(mask, B, L, tensor.Float32, d)
			require.NoError(t, err)
			rng := tensor.NewRNG(5)
			o := nn.CausalAttention(qv, kv, vv, m, 0.125, p, rng, p > 0)
			require.NoError(t, o.BackwardWith(to(dout)))
			out = o.Value.Float64s()
			for h := 0; h < H; h++ {
				for i := 0; i < 6; i++ {
					clear(out[((1*H+h)*L+i)*D : ((1*H+h)*L+i+1)*D])
				}
			}
			return out, [][]float64{qv.Grad.Float64s(), kv.Grad.Float64s(), vv.Grad.Float64s()}, rng.Float64()
		}
		want, wg, wn := run(tensor.CPU)
		got, gg, gn := run(dev)
		require.Equal(t, wn, gn, "dropout %g: the generator advances alike", p)
		lim := testutil.BF16Mixed.Rel
		t.Logf("dropout %g: out relative L2 %.2e; dq %.2e dk %.2e dv %.2e (limit %g)", p, testutil.RelL2(got, want),
			testutil.RelL2(gg[0], wg[0]), testutil.RelL2(gg[1], wg[1]), testutil.RelL2(gg[2], wg[2]), lim)
		require.LessOrEqual(t, testutil.RelL2(got, want), lim)
		for i, name := range []string{"dq", "dk", "dv"} {
			require.LessOrEqual(t, testutil.RelL2(gg[i], wg[i]), lim, name)
		}
	}
	qd, err := q.To(dev)
	require.NoError(t, err)
	kd, err := k.To(dev)
	require.NoError(t, err)
	_, _, fused := tensor.FusedAttention(qd, kd, kd, tensor.AttentionOpts{Causal: true, Scale: 0.125})
	require.True(t, fused, "the backend runs causal grouped-query attention fused")
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// checkMixedSteps: a few AdamW steps of a Qwen2 sequence classifier
// (head size 64, GQA, attention dropout 0) in bf16 mixed precision on dev
// follow the fp32
// CPU run from the same weights and batches.
func checkMixedSteps(t *testing.T, dev tensor.Device) {
	cfg := Config{VocabSize: 97, Hidden: 256, Layers: 2, Heads: 4, KVHeads: 2, Intermediate: 192, MaxPositions: 64,
		Act: "silu", Eps: 1e-6, RopeTheta: 10000, PadID: 0, InitStd: 0.02}
	if testing.Short() { // two heads of 64 over one KV head: the emulated GPU's size
		cfg.Hidden, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.Intermediate = 128, 1, 2, 1, 64
	}
	ids := tensor.FromInt32([]int32{
		5, 17, 33, 5, 9, 3, 0,
		0, 0, 41, 42, 3, 7, 8,
		2, 8, 60, 12, 13, 14, 3,
		2, 9, 9, 10, 3, 0, 0,
	}, 4, 7)
	mask := tensor.FromInt32([]int32{
		1, 1, 1, 1, 1, 1, 0,
		0, 0, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 0, 0,
	}, 4, 7)
	labels := tensor.FromFloat32([]float32{1, 0, 1, 0}, 4, 1)
	steps := 4
	if testing.Short() {
		steps = 2
	}
	run := func(d tensor.Device) []float64 {
		m := NewClassifier(cfg, 1, tensor.NewRNG(11))
		m.Pool = PoolLastMask
		return devtest.BCESteps(t, d, m.NamedParams(""), labels, steps, func(s int) (*autograd.Var, error) {
			return m.Forward(Inputs{IDs: ids, Mask: mask}, RunOptions{Training: true, Checkpoint: s%2 == 1})
		})
	}
	want := run(tensor.CPU)
	got := run(dev)
	t.Logf("losses fp32 cpu %v; bf16 mixed on %s %v", want, dev, got)
	testutil.AssertClose(t, "losses", got, want, testutil.BF16Mixed)
	require.Less(t, got[steps-1], got[0], "the loss falls on the GPU too")
}
