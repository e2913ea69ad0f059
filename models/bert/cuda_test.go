//go:build cuda

package bert

// Autograd on the GPU equals the CPU: a tiny BERT cross-encoder, the same
// weights and inputs on both devices (dropout off), forward, BCE loss,
// backward and one AdamW step; every parameter gradient and updated
// parameter must agree. Runs only on a machine with a GPU
// (scripts/gpu-run.sh runs this test binary with -test.run CUDA).

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/nn/optim"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/gpu"
)

func TestTrainStepCUDAMatchesCPU(t *testing.T) {
	b, err := gpu.Open(0)
	require.NoError(t, err)
	b.CUDA().SetSyncLaunch(true)
	dev := tensor.CUDA(0)

	cfg := Config{VocabSize: 61, Hidden: 32, Layers: 2, Heads: 4, Intermediate: 37, MaxPositions: 16,
		TypeVocab: 2, Act: "gelu", Eps: 1e-12, HiddenDropout: 0.1, AttnDropout: 0.1, InitStd: 0.02}
	build := func(d tensor.Device) *Classifier {
		m := NewClassifier(cfg, 1, tensor.NewRNG(7)) // the same weights on both devices
		for _, p := range m.NamedParams("") {
			v, err := p.Var.Value.To(d)
			require.NoError(t, err)
			p.Var.Value = v
		}
		return m
	}
	ids := tensor.FromInt32([]int32{
		2, 17, 33, 5, 9, 3, 0,
		2, 40, 41, 42, 3, 0, 0,
		2, 8, 60, 12, 13, 14, 3,
	}, 3, 7)
	mask := tensor.FromInt32([]int32{
		1, 1, 1, 1, 1, 1, 0,
		1, 1, 1, 1, 1, 0, 0,
		1, 1, 1, 1, 1, 1, 1,
	}, 3, 7)
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
	t.Logf("loss cpu %.8f cuda %.8f; host fallbacks %v", want.loss, got.loss, gpu.HostFallbacks())
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
