package optim

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
)

// runSteps applies steps from..to (1-based) of the reference run: refSpecs'
// gradients (the bias skips step 2, the frozen weight never has one).
func runSteps(opt *AdamW, params []nn.NamedParam, from, to int) {
	for step := from; step <= to; step++ {
		for i, p := range params {
			if refHasGrad(i, step) {
				p.Var.Grad = gradFor(i, step, refSpecs[i].shape)
			}
		}
		opt.ClipGradNorm(5)
		opt.Step()
		opt.ZeroGrad()
	}
}

func newRefOptimizer(t *testing.T, params []nn.NamedParam, cfg Config) *AdamW {
	t.Helper()
	// Cosine with warmup: the learning rate differs at every step, so a lost
	// schedule position would show.
	opt, err := NewAdamW(refRule().Groups(params), cfg, CosineWithWarmup(1, 4, 0.5))
	require.NoError(t, err)
	return opt
}

// TestStateRoundTrip: three steps in one go, or one step, Save, a fresh
// optimizer (other hyper-parameters) that Loads, then two more steps, give
// bit-identical parameters.
func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "optimizer.safetensors")

	straight := makeParams(21, refSpecs)
	opt := newRefOptimizer(t, straight, refConfig())
	runSteps(opt, straight, 1, 3)

	first := makeParams(21, refSpecs)
	opt1 := newRefOptimizer(t, first, refConfig())
	runSteps(opt1, first, 1, 1)
	require.NoError(t, opt1.Save(path))

	resumed := cloneParams(first)
	other := DefaultConfig()
	other.Beta2 = 0.5
	opt2, err := NewAdamW(GroupRule{WeightDecay: 0.3, Special: []SpecialGroup{{Keywords: []string{"head."}, LR: 7}}}.Groups(resumed), other, CosineWithWarmup(1, 4, 0.5))
	require.NoError(t, err)
	require.NoError(t, opt2.Load(path))
	require.Equal(t, refConfig(), opt2.Config(), "hyper-parameters restored")
	require.Equal(t, 1, opt2.StepCount(), "schedule position restored")
	require.Equal(t, opt1.LRs(), opt2.LRs())
	for i, g := range opt2.Groups() {
		require.Equal(t, opt1.Groups()[i].WeightDecay, g.WeightDecay)
		require.Equal(t, opt1.Groups()[i].LR, g.LR)
	}
	require.Equal(t, 0, opt2.ParamStep("frozen.weight"))
	m, _ := opt2.Moments("frozen.weight")
	require.Nil(t, m)
	runSteps(opt2, resumed, 2, 3)

	for i := range straight {
		require.Equal(t, straight[i].Var.Value.Float32s(), resumed[i].Var.Value.Float32s(), "%s differs after resuming", straight[i].Name)
		require.Equal(t, opt.ParamStep(straight[i].Name), opt2.ParamStep(straight[i].Name))
		m1, v1 := opt.Moments(straight[i].Name)
		m2, v2 := opt2.Moments(straight[i].Name)
		if m1 == nil {
			require.Nil(t, m2)
			continue
		}
		require.Equal(t, m1.Float32s(), m2.Float32s())
		require.Equal(t, v1.Float32s(), v2.Float32s())
	}
	require.Equal(t, 3, opt2.StepCount())

	// The loaded moments are the optimizer's own memory, not the file's.
	require.NoError(t, os.Remove(path))
	runSteps(opt2, resumed, 4, 4)
}

// TestStateBeforeFirstStep saves and loads an optimizer with no state.
func TestStateBeforeFirstStep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.safetensors")
	params := makeParams(22, refSpecs)
	opt := newRefOptimizer(t, params, refConfig())
	require.NoError(t, opt.Save(path))
	runSteps(opt, params, 1, 2)
	require.NoError(t, opt.Load(path))
	require.Equal(t, 0, opt.StepCount())
	for _, p := range params {
		require.Equal(t, 0, opt.ParamStep(p.Name))
		m, v := opt.Moments(p.Name)
		require.Nil(t, m)
		require.Nil(t, v)
	}
}

func TestStateLoadErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.safetensors")
	params := makeParams(23, refSpecs)
	opt := newRefOptimizer(t, params, refConfig())
	runSteps(opt, params, 1, 2)
	require.NoError(t, opt.Save(path))

	renamed := make([]spec, len(refSpecs))
	copy(renamed, refSpecs)
	renamed[1] = spec{"encoder.dense.bias2", refSpecs[1].shape}
	reshaped := make([]spec, len(refSpecs))
	copy(reshaped, refSpecs)
	reshaped[0] = spec{refSpecs[0].name, []int{5, 7}}

	notState := filepath.Join(dir, "weights.safetensors")
	require.NoError(t, safetensors.Write(notState, map[string]*tensor.Tensor{"w": tensor.Zeros(2)}, nil))
	junk := filepath.Join(dir, "junk.safetensors")
	require.NoError(t, os.WriteFile(junk, []byte("not a safetensors file"), 0o644))

	tests := []struct {
		name  string
		file  string
		build func() *AdamW
		msgs  []string
	}{
		{"missing_file", filepath.Join(dir, "nope.safetensors"), nil, []string{"nope.safetensors"}},
		{"not_safetensors", junk, nil, []string{"junk.safetensors"}},
		{"not_state", notState, nil, []string{"weights.safetensors", "not an AdamW state file"}},
		{"renamed_param", path, func() *AdamW { return newRefOptimizer(t, makeParams(23, renamed), refConfig()) },
			[]string{"state.safetensors", `"encoder.dense.bias2"`}},
		{"reshaped_param", path, func() *AdamW { return newRefOptimizer(t, makeParams(23, reshaped), refConfig()) },
			[]string{"state.safetensors", `"encoder.dense.weight"`, "shape [7 5]", "[5 7]"}},
		{"fewer_groups", path, func() *AdamW {
			o, err := NewAdamW(OneGroup(makeParams(23, refSpecs), 0), refConfig(), nil)
			require.NoError(t, err)
			return o
		}, []string{"state.safetensors", "3 parameter groups, the optimizer has 1"}},
		{"extra_param", path, func() *AdamW {
			return newRefOptimizer(t, makeParams(23, append(append([]spec(nil), refSpecs...), spec{"extra.weight", []int{2}})), refConfig())
		}, []string{"state.safetensors", `"extra.weight"`}},
		{"missing_param", path, func() *AdamW { return newRefOptimizer(t, makeParams(23, refSpecs[:4]), refConfig()) },
			[]string{"state.safetensors", `unknown parameter "frozen.weight"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opt
			if tt.build != nil {
				o = tt.build()
			}
			stepsBefore := o.StepCount()
			err := o.Load(tt.file)
			require.Error(t, err)
			for _, m := range tt.msgs {
				require.Contains(t, err.Error(), m)
			}
			require.Equal(t, stepsBefore, o.StepCount(), "a failed Load changed the optimizer")
		})
	}

	// A float64 parameter cannot take float32 moments.
	p64 := makeParams(23, refSpecs)
	p64[0].Var.Value = p64[0].Var.Value.Cast(tensor.Float64)
	o := newRefOptimizer(t, p64, refConfig())
	err := o.Load(path)
	require.ErrorContains(t, err, `"encoder.dense.weight"`)
	require.ErrorContains(t, err, "float64")
}
