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

var refSpecs = []spec{
	{"encoder.dense.weight", []int{7, 5}},
	{"encoder.dense.bias", []int{5}},
	{"encoder.LayerNorm.weight", []int{33}},
	{"head.weight", []int{3, 17}},
	{"frozen.weight", []int{4}},
}

// refHasGrad says whether parameter i gets a gradient at step (1-based):
// the bias skips step 2 and the frozen weight never gets one.
func refHasGrad(i, step int) bool {
	switch refSpecs[i].name {
	case "encoder.dense.bias":
		return step != 2
	case "frozen.weight":
		return false
	}
	return true
}

func refConfig() Config {
	return Config{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}
}

func refRule() GroupRule {
	return GroupRule{WeightDecay: 0.1, Special: []SpecialGroup{{Keywords: []string{"head."}, LR: 0.05}}}
}

// TestAdamWMatchesReference runs four scheduled steps over three groups
// (a special learning-rate group, decay, no decay) with a parameter that
// skips a step and one that never has a gradient, against PyTorch's AdamW
// arithmetic in float64.
func TestAdamWMatchesReference(t *testing.T) {
	params := makeParams(1, refSpecs)
	sched := LinearWithWarmup(1, 5) // multipliers 0, 1, 0.75, 0.5 for steps 1..4
	opt, err := NewAdamW(refRule().Groups(params), refConfig(), sched)
	require.NoError(t, err)

	groups := opt.Groups()
	require.Len(t, groups, 3)
	require.Equal(t, []float64{0.05, 0.01, 0.01}, []float64{groups[0].LR, groups[1].LR, groups[2].LR})
	require.Equal(t, []float64{0.1, 0.1, 0}, []float64{groups[0].WeightDecay, groups[1].WeightDecay, groups[2].WeightDecay})
	// Base learning rate and weight decay of each parameter, as grouped.
	lrOf := map[string]float64{"head.weight": 0.05}
	wdOf := map[string]float64{"encoder.dense.weight": 0.1, "head.weight": 0.1, "frozen.weight": 0.1}

	refs := make([]*adamRef, len(params))
	initial := make([][]float32, len(params))
	for i, p := range params {
		initial[i] = append([]float32(nil), p.Var.Value.Float32s()...)
		refs[i] = newAdamRef(initial[i])
	}
	mults := []float64{0, 1, 0.75, 0.5}
	for step := 1; step <= 4; step++ {
		require.InDelta(t, 0.05*mults[step-1], opt.LR(0), 1e-18)
		require.Equal(t, []float64{0.05 * mults[step-1], 0.01 * mults[step-1], 0.01 * mults[step-1]}, opt.LRs())
		for i, p := range params {
			if !refHasGrad(i, step) {
				continue
			}
			g := gradFor(i, step, refSpecs[i].shape)
			p.Var.Grad = g
			lr := 0.01
			if v, ok := lrOf[p.Name]; ok {
				lr = v
			}
			refs[i].update(g.Float32s(), lr*mults[step-1], 0.9, 0.999, 1e-8, wdOf[p.Name])
		}
		opt.Step()
		opt.ZeroGrad()
		for _, p := range params {
			require.Nil(t, p.Var.Grad, "ZeroGrad left a gradient on %s", p.Name)
		}
	}
	require.Equal(t, 4, opt.StepCount())

	for i, p := range params {
		got := p.Var.Value.Float32s()
		gotDelta := make([]float64, len(got))
		wantDelta := make([]float64, len(got))
		for j := range got {
			gotDelta[j] = float64(got[j]) - float64(initial[i][j])
			wantDelta[j] = refs[i].p[j] - float64(initial[i][j])
		}
		testutil.AssertClose(t, p.Name+" delta", gotDelta, wantDelta, testutil.F32)
		require.Equal(t, refs[i].step, opt.ParamStep(p.Name), p.Name)
		m, v := opt.Moments(p.Name)
		if refs[i].step == 0 {
			require.Nil(t, m, p.Name)
			require.Equal(t, initial[i], got, "%s changed without a gradient", p.Name)
			continue
		}
		testutil.AssertClose(t, p.Name+" exp_avg", m.Float32s(), refs[i].m, testutil.F32)
		testutil.AssertClose(t, p.Name+" exp_avg_sq", v.Float32s(), refs[i].v, testutil.F32)
	}
	require.Equal(t, 3, opt.ParamStep("encoder.dense.bias"))
	require.Equal(t, 0, opt.ParamStep("frozen.weight"))
	require.Equal(t, -1, opt.ParamStep("nope"))
}

// TestAdamWZeroLRStillUpdatesMoments: a warmup step with learning rate 0
// leaves the parameter unchanged but counts the step and updates the
// moments, as PyTorch does.
func TestAdamWZeroLRStillUpdatesMoments(t *testing.T) {
	params := makeParams(2, []spec{{"w", []int{9}}})
	before := append([]float32(nil), params[0].Var.Value.Float32s()...)
	opt, err := NewAdamW(OneGroup(params, 0.5), Config{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, ConstantWithWarmup(3))
	require.NoError(t, err)
	params[0].Var.Grad = gradFor(0, 1, []int{9})
	opt.Step()
	require.Equal(t, before, params[0].Var.Value.Float32s())
	require.Equal(t, 1, opt.ParamStep("w"))
	m, _ := opt.Moments("w")
	want := make([]float64, 9)
	for i, g := range params[0].Var.Grad.Float32s() {
		want[i] = 0.1 * float64(g)
	}
	testutil.AssertClose(t, "exp_avg", m.Float32s(), want, testutil.F32Rounding)
	require.InDelta(t, 0.1/3, opt.LR(0), 1e-17)
}

// TestAdamWFloat64 steps a float64 parameter against the float64 reference.
func TestAdamWFloat64(t *testing.T) {
	r := testutil.NewRand(3)
	p0 := testutil.Uniform64(r, 17, -1, 1)
	w := autograd.Param(tensor.FromFloat64(append([]float64(nil), p0...), 17), "w")
	opt, err := NewAdamW(OneGroup([]nn.NamedParam{{Name: "w", Var: w}}, 0.01), DefaultConfig(), nil)
	require.NoError(t, err)
	ref := &adamRef{p: append([]float64(nil), p0...), m: make([]float64, 17), v: make([]float64, 17)}
	for step := 1; step <= 3; step++ {
		g := testutil.Uniform64(r, 17, -1, 1)
		w.Grad = tensor.FromFloat64(g, 17)
		opt.Step()
		ref.update64(g, 1e-3, 0.9, 0.999, 1e-8, 0.01)
	}
	testutil.AssertClose(t, "float64 params", w.Value.Float64s(), ref.p, testutil.F64)
}

func TestAdamWDefaults(t *testing.T) {
	params := makeParams(4, []spec{{"a", []int{2}}, {"b", []int{3}}})
	opt, err := NewAdamW([]Group{{Params: params[:1]}, {Params: params[1:], LR: 0.5, WeightDecay: 0.2}}, DefaultConfig(), nil)
	require.NoError(t, err)
	gs := opt.Groups()
	require.Equal(t, 1e-3, gs[0].LR, "a group without LR takes Config.LR")
	require.Equal(t, 0.0, gs[0].WeightDecay)
	require.Equal(t, 0.5, gs[1].LR)
	require.Equal(t, []float64{1e-3, 0.5}, opt.LRs())
	require.Equal(t, DefaultConfig(), opt.Config())
	require.Len(t, opt.Params(), 2)
	opt.SetSchedule(func(int) float64 { return 0.5 })
	require.Equal(t, []float64{5e-4, 0.25}, opt.LRs())
	require.Panics(t, func() { opt.LR(2) })
}

func TestAdamWErrors(t *testing.T) {
	params := makeParams(5, []spec{{"a", []int{2}}, {"b", []int{3}}})
	bad := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	intParam := nn.NamedParam{Name: "ids", Var: autograd.Param(tensor.FromInt32([]int32{1, 2}, 2), "ids")}
	tests := []struct {
		name   string
		groups []Group
		cfg    Config
		msg    string
	}{
		{"negative_lr", OneGroup(params, 0), bad(func(c *Config) { c.LR = -1 }), "learning rate"},
		{"beta1_one", OneGroup(params, 0), bad(func(c *Config) { c.Beta1 = 1 }), "beta1"},
		{"beta2_negative", OneGroup(params, 0), bad(func(c *Config) { c.Beta2 = -0.1 }), "beta2"},
		{"eps_nan", OneGroup(params, 0), bad(func(c *Config) { c.Eps = math.NaN() }), "eps"},
		{"group_weight_decay", OneGroup(params, -1), DefaultConfig(), "weight decay"},
		{"group_lr", []Group{{Name: "g", Params: params, LR: -2}}, DefaultConfig(), `group 0 ("g")`},
		{"same_var_twice", []Group{{Params: params}, {Params: params[:1]}}, DefaultConfig(), "more than one"},
		{"same_name_twice", []Group{{Params: []nn.NamedParam{params[0], {Name: "a", Var: params[1].Var}}}}, DefaultConfig(), `two parameters are named "a"`},
		{"nil_var", []Group{{Params: []nn.NamedParam{{Name: "x"}}}}, DefaultConfig(), `parameter "x" has no value`},
		{"int_param", []Group{{Params: []nn.NamedParam{intParam}}}, DefaultConfig(), "int32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAdamW(tt.groups, tt.cfg, nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestAdamWStepPanicsOnGradShape(t *testing.T) {
	params := makeParams(6, []spec{{"w", []int{2, 3}}})
	opt, err := NewAdamW(OneGroup(params, 0), DefaultConfig(), nil)
	require.NoError(t, err)
	params[0].Var.Grad = tensor.Zeros(3, 2)
	require.PanicsWithValue(t, `optim.AdamW.Step: gradient of shape [3 2] for parameter "w" of shape [2 3]`, func() { opt.Step() })
}

func TestGroupRule(t *testing.T) {
	names := []string{
		"bert.embeddings.word_embeddings.weight",
		"bert.embeddings.LayerNorm.weight",
		"bert.embeddings.LayerNorm.bias",
		"bert.encoder.layer.0.attention.self.query.bias",
		"model.layers.0.input_layernorm.weight",
		"score.weight",
		"score.bias",
		"classifier.weight",
	}
	specs := make([]spec, len(names))
	for i, n := range names {
		specs[i] = spec{n, []int{2}}
	}
	params := makeParams(7, specs)
	namesOf := func(g Group) []string {
		var out []string
		for _, p := range g.Params {
			out = append(out, p.Name)
		}
		return out
	}

	gs := DecayGroups(params, 0.01)
	require.Len(t, gs, 2)
	require.Equal(t, "decay", gs[0].Name)
	require.Equal(t, 0.01, gs[0].WeightDecay)
	require.Equal(t, []string{"bert.embeddings.word_embeddings.weight", "score.weight", "classifier.weight"}, namesOf(gs[0]))
	require.Equal(t, "no_decay", gs[1].Name)
	require.Equal(t, 0.0, gs[1].WeightDecay)
	require.Equal(t, []string{
		"bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.bias",
		"bert.encoder.layer.0.attention.self.query.bias", "model.layers.0.input_layernorm.weight", "score.bias",
	}, namesOf(gs[1]))

	// RAG-Retrieval's special_lr_groups: matched first, in order; a special
	// group keeps the rule's weight decay (even for a bias) unless it sets
	// its own; an empty special group is dropped; the decay groups stay.
	zero := 0.0
	gs = GroupRule{WeightDecay: 0.02, Special: []SpecialGroup{
		{Keywords: []string{"score."}, LR: 1e-4},
		{Keywords: []string{"nothing-matches"}, LR: 1},
		{Keywords: []string{"classifier", "score.bias"}, LR: 2e-4, WeightDecay: &zero},
	}}.Groups(params)
	require.Len(t, gs, 4)
	require.Equal(t, []string{"score.weight", "score.bias"}, namesOf(gs[0]))
	require.Equal(t, 1e-4, gs[0].LR)
	require.Equal(t, 0.02, gs[0].WeightDecay)
	require.Equal(t, "special.2", gs[1].Name)
	require.Equal(t, []string{"classifier.weight"}, namesOf(gs[1]))
	require.Equal(t, 0.0, gs[1].WeightDecay)
	require.Equal(t, []string{"bert.embeddings.word_embeddings.weight"}, namesOf(gs[2]))
	require.Len(t, gs[3].Params, 4)
	total := 0
	for _, g := range gs {
		total += len(g.Params)
	}
	require.Equal(t, len(params), total, "every parameter in exactly one group")

	// Custom keywords; an empty no-decay group is still present.
	gs = GroupRule{WeightDecay: 0.1, NoDecayKeywords: []string{}}.Groups(params)
	require.Len(t, gs, 2)
	require.Len(t, gs[0].Params, len(params))
	require.Empty(t, gs[1].Params)
	_, err := NewAdamW(gs, DefaultConfig(), nil)
	require.NoError(t, err, "an empty group is allowed")
}
