package bert

// Golden check of one to three training steps of a BERT cross-encoder
// against PyTorch: testdata/golden/train-step (see its README.md for the
// formulas, the caveats and the suggested tolerances used below). It lives
// here rather than in nn/optim because nn/optim may not import models.

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/nn/optim"
	"github.com/ragr-dev/ragr/tensor"
)

// Tolerances suggested by testdata/golden/train-step/README.md (relative L2
// error per tensor): gradients, AdamW deltas, losses and gradient norms
// 1e-3; parameters after a step 1e-5. testutil has no named level for a
// per-tensor relative L2 bound, so the README's numbers are used as given.
// Forward outputs (loss, logits) use testutil.Golden.
const (
	trainRelGrad  = 1e-3
	trainRelParam = 1e-5
	// nearZeroGrad bounds |grad| of the parameters whose gradient is
	// mathematically zero (README: "|grad| < 1e-6").
	nearZeroGrad = 1e-6
)

// trainCheck records which expected tensors were checked and the largest
// relative error per group of tensors.
type trainCheck struct {
	t       *testing.T
	c       *golden.Case
	checked map[string]bool
	worst   map[string]float64
	worstAt map[string]string
	count   map[string]int
}

func (k *trainCheck) want(name string) []float32 {
	k.t.Helper()
	w, ok := k.c.Expected[name]
	if !ok {
		k.t.Errorf("golden train-step: fixture has no %s", name)
		return nil
	}
	k.checked[name] = true
	return w.Float32s()
}

// note logs a per-tensor result under group (or alone when group is "").
func (k *trainCheck) note(group, name string, rel float64) {
	if group == "" {
		k.t.Logf("golden train-step %s relerr=%.2e", name, rel)
		return
	}
	k.count[group]++
	if rel > k.worst[group] || k.worstAt[group] == "" {
		k.worst[group], k.worstAt[group] = rel, name
	}
}

// rel checks the relative L2 error of got against name.
func (k *trainCheck) rel(group, name string, got []float64, limit float64) {
	k.t.Helper()
	w := k.want(name)
	if w == nil {
		return
	}
	r := testutil.RelL2(got, w)
	k.note(group, name, r)
	if !(r < limit) {
		k.t.Errorf("golden train-step %s: relative L2 error %.3e, want < %.0e", name, r, limit)
	}
}

// absBound checks max |got| <= bound (and that the fixture holds name).
func (k *trainCheck) absBound(name string, got []float64, bound float64) {
	k.t.Helper()
	if k.want(name) == nil {
		return
	}
	m := 0.0
	for _, v := range got {
		m = math.Max(m, math.Abs(v))
	}
	k.t.Logf("golden train-step %s (near-zero gradient) max|got|=%.2e bound=%.0e", name, m, bound)
	if !(m <= bound) {
		k.t.Errorf("golden train-step %s: max |value| %.3e exceeds %.0e", name, m, bound)
	}
}

// absDiff checks max |got - want| <= bound.
func (k *trainCheck) absDiff(name string, got []float64, bound float64) {
	k.t.Helper()
	w := k.want(name)
	if w == nil {
		return
	}
	m := 0.0
	for i, v := range got {
		m = math.Max(m, math.Abs(v-float64(w[i])))
	}
	k.t.Logf("golden train-step %s (near-zero gradient) max|diff|=%.2e bound=%.0e", name, m, bound)
	if !(m <= bound) {
		k.t.Errorf("golden train-step %s: max |got-want| %.3e exceeds %.0e", name, m, bound)
	}
}

func (k *trainCheck) summary() {
	groups := make([]string, 0, len(k.worst))
	for g := range k.worst {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		k.t.Logf("golden train-step %s relerr=%.2e (max over %d tensors, at %s)", g, k.worst[g], k.count[g], k.worstAt[g])
	}
	var missed []string
	for _, n := range k.c.ExpectedNames() {
		if !k.checked[n] {
			missed = append(missed, n)
		}
	}
	if len(missed) > 0 {
		k.t.Errorf("golden train-step: %d expected tensors not checked: %v", len(missed), missed)
	}
}

func values64(t *tensor.Tensor) []float64 { return t.Float64s() }

func TestTrainStepGolden(t *testing.T) {
	dir := filepath.Join(golden.Root(), "train-step")
	c, err := golden.Load(dir)
	require.NoError(t, err)
	cfg, err := models.LoadConfig(filepath.Join(dir, "config.json"))
	require.NoError(t, err)

	var hp struct {
		LR              float64    `json:"lr"`
		Betas           [2]float64 `json:"betas"`
		Eps             float64    `json:"eps"`
		WeightDecay     float64    `json:"weight_decay"`
		ClipMaxNorm     float64    `json:"clip_max_norm"`
		Steps           int        `json:"steps"`
		NoDecayKeywords []string   `json:"no_decay_keywords"`
	}
	require.NoError(t, c.Decode("hyperparameters", &hp))
	require.Equal(t, 3, hp.Steps)
	var labels []float32
	require.NoError(t, c.Decode("labels", &labels))
	var nearZeroList, paramNames []string
	require.NoError(t, c.Decode("near_zero_grad_params", &nearZeroList))
	require.NoError(t, c.Decode("parameter_names", &paramNames))
	nearZero := map[string]bool{}
	for _, n := range nearZeroList {
		nearZero[n] = true
	}
	ids, err := c.Ints("input_ids")
	require.NoError(t, err)
	mask, err := c.Ints("attention_mask")
	require.NoError(t, err)
	types, err := c.Ints("token_type_ids")
	require.NoError(t, err)
	in := Inputs{IDs: ids, Mask: mask, TypeIDs: types}
	targets := tensor.FromFloat32(labels, len(labels), 1)

	load := func() *Classifier {
		w, err := models.OpenWeights(dir)
		require.NoError(t, err)
		defer w.Close()
		m, err := LoadClassifier(cfg, w)
		require.NoError(t, err)
		return m
	}

	k := &trainCheck{t: t, c: c, checked: map[string]bool{}, worst: map[string]float64{}, worstAt: map[string]string{}, count: map[string]int{}}
	adamCfg := optim.Config{LR: hp.LR, Beta1: hp.Betas[0], Beta2: hp.Betas[1], Eps: hp.Eps, WeightDecay: hp.WeightDecay}

	variants := []struct {
		name   string
		groups func([]nn.NamedParam) []optim.Group
		clip   bool
	}{
		{"adamw", func(ps []nn.NamedParam) []optim.Group { return optim.OneGroup(ps, hp.WeightDecay) }, false},
		{"adamw_clip", func(ps []nn.NamedParam) []optim.Group { return optim.OneGroup(ps, hp.WeightDecay) }, true},
		{"adamw_nodecay_groups", func(ps []nn.NamedParam) []optim.Group {
			return optim.GroupRule{WeightDecay: hp.WeightDecay, NoDecayKeywords: hp.NoDecayKeywords}.Groups(ps)
		}, false},
	}
	for vi, v := range variants {
		m := load()
		params := m.NamedParams("")
		got := make([]string, len(params))
		initial := map[string][]float64{}
		for i, p := range params {
			got[i] = p.Name
			initial[p.Name] = values64(p.Var.Value)
		}
		require.Equal(t, paramNames, got, "parameter names and order")
		opt, err := optim.NewAdamW(v.groups(params), adamCfg, optim.Constant())
		require.NoError(t, err)
		if v.name == "adamw_nodecay_groups" {
			gs := opt.Groups()
			require.Len(t, gs, 2)
			for _, p := range gs[1].Params {
				require.True(t, strings.Contains(p.Name, "bias") || strings.Contains(p.Name, "LayerNorm"), p.Name)
			}
			require.Equal(t, 0.0, gs[1].WeightDecay)
		}

		losses := make([]float64, hp.Steps)
		norms := make([]float64, hp.Steps)
		for step := 1; step <= hp.Steps; step++ {
			opt.ZeroGrad()
			logits, err := m.Forward(in, RunOptions{Training: true})
			require.NoError(t, err)
			loss := autograd.BCEWithLogits(logits, targets)
			losses[step-1] = loss.Value.Item()
			require.NoError(t, loss.Backward())

			if vi == 0 && step == 1 {
				// The forward pass and the first gradients are the same for
				// every variant; check them once.
				testutil.AssertClose(t, "loss", []float64{losses[0]}, k.want("loss"), testutil.Golden)
				k.note("", "loss", testutil.RelL2([]float64{losses[0]}, k.want("loss")))
				testutil.AssertClose(t, "logits", logits.Value.Float32s(), k.want("logits"), testutil.Golden)
				k.note("", "logits", testutil.RelL2(logits.Value.Float32s(), k.want("logits")))
				for _, p := range params {
					require.NotNil(t, p.Var.Grad, "no gradient for %s", p.Name)
					name := "grad." + p.Name
					if nearZero[p.Name] {
						k.absBound(name, values64(p.Var.Grad), nearZeroGrad)
						continue
					}
					k.rel("grad.*", name, values64(p.Var.Grad), trainRelGrad)
				}
			}

			if v.clip {
				norms[step-1] = opt.ClipGradNorm(hp.ClipMaxNorm)
				// The fixture's clipping is active at every step.
				require.Greater(t, norms[step-1], hp.ClipMaxNorm)
				require.InDelta(t, hp.ClipMaxNorm, opt.GradNorm(), 1e-5, "norm after clipping")
			} else {
				norms[step-1] = opt.GradNorm()
			}
			opt.Step()

			if step != 1 && step != 3 {
				continue
			}
			bound := float64(step) * hp.LR
			for _, p := range params {
				cur := values64(p.Var.Value)
				delta := make([]float64, len(cur))
				for i := range cur {
					delta[i] = cur[i] - initial[p.Name][i]
				}
				sn := fmt.Sprintf("%s.step%d.%s", v.name, step, p.Name)
				dn := fmt.Sprintf("%s.delta%d.%s", v.name, step, p.Name)
				if nearZero[p.Name] {
					k.absBound(dn, delta, bound)
					k.absDiff(sn, cur, bound)
					continue
				}
				k.rel(fmt.Sprintf("%s.delta%d.*", v.name, step), dn, delta, trainRelGrad)
				k.rel(fmt.Sprintf("%s.step%d.*", v.name, step), sn, cur, trainRelParam)
			}
		}
		require.Equal(t, hp.Steps, opt.StepCount())
		k.rel("", v.name+".losses", losses, trainRelGrad)
		k.rel("", v.name+".grad_norms", norms, trainRelGrad)
	}
	k.summary()
}
