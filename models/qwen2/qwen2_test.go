package qwen2

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// layout is one padded batch of a golden case's inputs.json.
type layout struct {
	IDs  [][]int32 `json:"input_ids"`
	Mask [][]int32 `json:"attention_mask"`
	Pos  [][]int32 `json:"position_ids"`
}

func ints2(rows [][]int32) *tensor.Tensor {
	if rows == nil {
		return nil
	}
	flat := make([]int32, 0, len(rows)*len(rows[0]))
	for _, r := range rows {
		flat = append(flat, r...)
	}
	return tensor.FromInt32(flat, len(rows), len(rows[0]))
}

func (l layout) inputs() Inputs {
	return Inputs{IDs: ints2(l.IDs), Mask: ints2(l.Mask), Positions: ints2(l.Pos)}
}

// zeroPads returns x [B, L, ...] as float32 with the positions whose mask is
// 0 set to 0 (the fixtures store pads as zeros: their values are
// meaningless).
func zeroPads(x *autograd.Var, mask [][]int32) []float32 {
	v := x.Value.Float32s()
	b, l := x.Dim(0), x.Dim(1)
	w := len(v) / (b * l)
	for r := 0; r < b; r++ {
		for t := 0; t < l; t++ {
			if mask[r][t] == 0 {
				clear(v[(r*l+t)*w : (r*l+t+1)*w])
			}
		}
	}
	return v
}

// compare checks every computed tensor that the case expects, logging
// `golden CASE TENSOR relerr=X`, and marks it covered.
func compare(t *testing.T, c *golden.Case, tag string, got map[string][]float32, covered map[string]bool) {
	t.Helper()
	for _, n := range sortedKeys(got) {
		want, ok := c.Expected[n]
		if !ok {
			continue
		}
		require.Equal(t, want.Numel(), len(got[n]), "%s %s: size", tag, n)
		rel := testutil.RelL2(got[n], want.Float32s())
		t.Logf("golden %s %s%s relerr=%.2e", c.Name, tag, n, rel)
		assert.Less(t, rel, 1e-4, "%s%s", tag, n)
		covered[n] = true
	}
}

func sortedKeys(m map[string][]float32) []string { return slices.Sorted(maps.Keys(m)) }

func requireCovered(t *testing.T, c *golden.Case, covered map[string]bool) {
	t.Helper()
	for _, n := range c.ExpectedNames() {
		if !covered[n] {
			t.Errorf("%s: expected tensor %s was not computed", c.Name, n)
		}
	}
}

func loadCase(t *testing.T, name string) (*golden.Case, string) {
	t.Helper()
	dir := filepath.Join(golden.Root(), name)
	c, err := golden.Load(dir)
	require.NoError(t, err)
	return c, dir
}

func TestQwen2TinyParity(t *testing.T) {
	c, dir := loadCase(t, "qwen2-tiny")
	m, err := LoadCausalLMDir(dir)
	require.NoError(t, err)
	require.False(t, m.Tied())
	var layouts map[string]layout
	require.NoError(t, c.Decode("layouts", &layouts))
	covered := map[string]bool{}
	for _, name := range []string{"right", "left", "left_pos"} {
		lay, ok := layouts[name]
		require.True(t, ok, name)
		out, err := m.Forward(lay.inputs(), RunOptions{Hidden: true})
		require.NoError(t, err)
		prefix := "left."
		if name == "right" {
			prefix = "right."
		}
		got := map[string][]float32{
			prefix + "last_hidden_state": zeroPads(out.Last, lay.Mask),
			prefix + "logits":            zeroPads(out.Logits, lay.Mask),
			"last_token_hidden_state":    nn.PoolAt(out.Last, out.LastIndex).Value.Float32s(),
			"last_token_logits":          out.LastLogits.Value.Float32s(),
		}
		for k, h := range out.Hidden {
			got[fmt.Sprintf("%shidden_states.%d", prefix, k)] = zeroPads(h, lay.Mask)
		}
		compare(t, c, name+":", got, covered)

		// ForwardLast gives the same last-token logits.
		last, err := m.ForwardLast(lay.inputs(), RunOptions{})
		require.NoError(t, err)
		assert.Nil(t, last.Logits)
		testutil.AssertClose(t, name+" ForwardLast", last.LastLogits.Value.Float32s(), out.LastLogits.Value.Float32s(), testutil.Exact)
	}
	requireCovered(t, c, covered)
}

func TestGeneratePositions(t *testing.T) {
	c, _ := loadCase(t, "qwen2-tiny")
	var layouts map[string]layout
	require.NoError(t, c.Decode("layouts", &layouts))
	lp := layouts["left_pos"]
	got := GeneratePositions(ints2(lp.Mask))
	assert.Equal(t, ints2(lp.Pos).Int32s(), got.Int32s())
}

// TestBareModelLoad loads the decoder alone (from the CausalLM file, and
// from a Qwen2Model-style file without the "model." prefix) and checks it
// computes the CausalLM's hidden states; a CausalLM cannot load from a
// bare file, which has no lm_head.
func TestBareModelLoad(t *testing.T) {
	c, dir := loadCase(t, "qwen2-tiny")
	var layouts map[string]layout
	require.NoError(t, c.Decode("layouts", &layouts))
	in := layouts["right"].inputs()

	lm, err := LoadCausalLMDir(dir)
	require.NoError(t, err)
	ref, err := lm.Forward(in, RunOptions{})
	require.NoError(t, err)

	base, err := LoadDir(dir)
	require.NoError(t, err)
	out, err := base.Forward(in, RunOptions{})
	require.NoError(t, err)
	testutil.AssertClose(t, "LoadDir last_hidden_state", out.Last.Value.Float32s(), ref.Last.Value.Float32s(), testutil.Exact)

	cfg, err := models.LoadConfig(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	w, err := models.OpenWeights(dir)
	require.NoError(t, err)
	defer w.Close()
	bare := map[string]*tensor.Tensor{}
	for _, n := range w.Names() {
		if s, ok := strings.CutPrefix(n, "model."); ok {
			v, err := w.Float32(n)
			require.NoError(t, err)
			bare[s] = v
		}
	}
	bw := models.NewMapWeights(bare, "bare")
	base2, err := LoadModel(cfg, bw)
	require.NoError(t, err)
	out2, err := base2.Forward(in, RunOptions{})
	require.NoError(t, err)
	testutil.AssertClose(t, "bare Qwen2Model last_hidden_state", out2.Last.Value.Float32s(), ref.Last.Value.Float32s(), testutil.Exact)

	_, err = LoadCausalLM(cfg, bw)
	require.ErrorContains(t, err, "lm_head.weight")
}

func TestQwen2SeqClsParity(t *testing.T) {
	c, dir := loadCase(t, "qwen2-seqcls")
	m, err := LoadClassifierDir(dir)
	require.NoError(t, err)
	require.Equal(t, PoolFirstPad, m.Pool)
	require.Equal(t, 1, m.Score.Weight.Dim(0))
	var layouts map[string]layout
	require.NoError(t, c.Decode("layouts", &layouts))
	var hfIndex map[string][]int
	require.NoError(t, c.Decode("pooled_index_hf", &hfIndex))
	var pic struct {
		Right layout `json:"right"`
		Index []int  `json:"pooled_index_hf"`
	}
	require.NoError(t, c.Decode("pad_in_content", &pic))

	covered := map[string]bool{}
	for _, name := range []string{"right", "left"} {
		in := layouts[name].inputs()
		idx, err := m.PoolIndex(in)
		require.NoError(t, err)
		assert.Equal(t, hfIndex[name], idx, "pooled index %s", name)
		scores, err := m.Forward(in, RunOptions{})
		require.NoError(t, err)
		require.Equal(t, []int{3, 1}, scores.Shape())
		compare(t, c, name+":", map[string][]float32{"scores": scores.Value.Float32s()}, covered)
	}
	in := pic.Right.inputs()
	idx, err := m.PoolIndex(in)
	require.NoError(t, err)
	assert.Equal(t, pic.Index, idx, "pooled index pad_in_content")
	scores, err := m.Forward(in, RunOptions{})
	require.NoError(t, err)
	compare(t, c, "pad_in_content.right:", map[string][]float32{"pad_in_content.scores": scores.Value.Float32s()}, covered)
	requireCovered(t, c, covered)
}

func tinyConfig() Config {
	return Config{VocabSize: 32, Hidden: 16, Layers: 2, Heads: 4, KVHeads: 2, Intermediate: 24, MaxPositions: 64,
		Act: "silu", Eps: 1e-6, RopeTheta: 10000, PadID: -1, InitStd: 0.2}
}

func TestPoolRules(t *testing.T) {
	cfg := tinyConfig()
	cfg.PadID = 9
	m := NewClassifier(cfg, 1, tensor.NewRNG(1))
	cases := []struct {
		name      string
		ids, mask []int32
		// want indices for PoolFirstPad, PoolLastNonPad, PoolLastMask.
		want [3]int
	}{
		{"right padding", []int32{1, 2, 3, 9, 9}, []int32{1, 1, 1, 0, 0}, [3]int{2, 2, 2}},
		{"left padding", []int32{9, 9, 1, 2, 3}, []int32{0, 0, 1, 1, 1}, [3]int{4, 4, 4}},
		{"eos==pad, right padded", []int32{1, 2, 9, 9, 9}, []int32{1, 1, 1, 0, 0}, [3]int{1, 1, 2}},
		{"eos==pad, left padded", []int32{9, 9, 1, 2, 9}, []int32{0, 0, 1, 1, 1}, [3]int{4, 3, 4}},
		{"pad id inside the content", []int32{1, 9, 2, 3, 9}, []int32{1, 1, 1, 1, 0}, [3]int{0, 3, 3}},
		{"no padding", []int32{1, 2, 3, 4, 5}, []int32{1, 1, 1, 1, 1}, [3]int{4, 4, 4}},
		{"pad ids only", []int32{9, 9, 9, 9, 9}, []int32{1, 0, 0, 0, 0}, [3]int{4, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := Inputs{IDs: tensor.FromInt32(tc.ids, 1, 5), Mask: tensor.FromInt32(tc.mask, 1, 5)}
			for r, rule := range []PoolRule{PoolFirstPad, PoolLastNonPad, PoolLastMask} {
				m.Pool = rule
				idx, err := m.PoolIndex(in)
				require.NoError(t, err)
				assert.Equal(t, []int{tc.want[r]}, idx, rule.String())
			}
		})
	}

	// Scores are the score head on the final hidden state at the index.
	m.Pool = PoolFirstPad
	in := Inputs{IDs: tensor.FromInt32([]int32{1, 2, 3, 9, 9, 9, 9, 1, 2, 3}, 2, 5)}
	scores, err := m.Forward(in, RunOptions{})
	require.NoError(t, err)
	out, err := m.Base.Forward(in, RunOptions{})
	require.NoError(t, err)
	want := m.Score.Forward(nn.PoolAt(out.Last, []int{2, 4}))
	testutil.AssertClose(t, "scores", scores.Value.Float32s(), want.Value.Float32s(), testutil.Exact)

	// Without a pad id only a single row can be pooled by id (at L-1).
	cfg.PadID = -1
	np := NewClassifier(cfg, 2, tensor.NewRNG(1))
	_, err = np.Forward(in, RunOptions{})
	require.ErrorContains(t, err, "pad_token_id")
	one := Inputs{IDs: tensor.FromInt32([]int32{1, 2, 3, 9, 9}, 1, 5)}
	idx, err := np.PoolIndex(one)
	require.NoError(t, err)
	assert.Equal(t, []int{4}, idx)
	np.Pool = PoolLastMask
	idx, err = np.PoolIndex(Inputs{IDs: in.IDs, Mask: tensor.FromInt32([]int32{1, 1, 1, 0, 0, 0, 1, 1, 1, 1}, 2, 5)})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 4}, idx)
	scores, err = np.Forward(one, RunOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, scores.Shape())
}

// configJSON returns a config.json for cfg with extra keys merged in.
func configJSON(cfg Config, extra string) []byte {
	pad := "null"
	if cfg.PadID >= 0 {
		pad = fmt.Sprint(cfg.PadID)
	}
	s := fmt.Sprintf(`{"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": %d, "hidden_size": %d,
"num_hidden_layers": %d, "num_attention_heads": %d, "num_key_value_heads": %d, "intermediate_size": %d,
"max_position_embeddings": %d, "hidden_act": %q, "rms_norm_eps": %g, "rope_theta": %g, "pad_token_id": %s,
"tie_word_embeddings": %t, "initializer_range": %g, "use_sliding_window": false, "rope_scaling": null`,
		cfg.VocabSize, cfg.Hidden, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.Intermediate, cfg.MaxPositions, cfg.Act,
		cfg.Eps, cfg.RopeTheta, pad, cfg.TieEmbeddings, cfg.InitStd)
	if extra != "" {
		s += ", " + extra
	}
	return []byte(s + "}")
}

func TestConfigFrom(t *testing.T) {
	_, dir := loadCase(t, "qwen2-tiny")
	hc, err := models.LoadConfig(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	cfg, err := ConfigFrom(hc)
	require.NoError(t, err)
	assert.Equal(t, Config{VocabSize: 512, Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, Intermediate: 128, MaxPositions: 128,
		Act: "silu", Eps: 1e-6, RopeTheta: 10000, PadID: 511, InitStd: 0.02}, cfg)
	assert.Equal(t, 16, cfg.HeadDim())

	// Qwen2Config defaults for missing keys.
	hc, err = models.ParseConfig([]byte(`{"model_type": "qwen2", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
"num_attention_heads": 2, "intermediate_size": 4}`), "defaults.json")
	require.NoError(t, err)
	cfg, err = ConfigFrom(hc)
	require.NoError(t, err)
	assert.Equal(t, Config{VocabSize: 10, Hidden: 8, Layers: 1, Heads: 2, KVHeads: 2, Intermediate: 4,
		Act: "silu", Eps: 1e-6, RopeTheta: 10000, PadID: -1, InitStd: 0.02}, cfg)

	good := tinyConfig()
	cases := []struct {
		name, extra, want string
		edit              func(*Config)
	}{
		{"not qwen2", `"model_type": "bert"`, "not a Qwen2 model", nil},
		{"hidden not divisible", "", "not divisible by num_attention_heads", func(c *Config) { c.Hidden = 18 }},
		{"heads not divisible", "", "not divisible by num_key_value_heads", func(c *Config) { c.KVHeads = 3 }},
		{"odd head dim", "", "must be even", func(c *Config) { c.Hidden, c.Heads, c.KVHeads = 12, 4, 4 }},
		{"missing vocab", "", "vocab_size", func(c *Config) { c.VocabSize = 0 }},
		{"pad outside vocab", "", "pad_token_id", func(c *Config) { c.PadID = 32 }},
		{"rope scaling", `"rope_scaling": {"type": "yarn", "factor": 4}`, "rope_scaling", nil},
		{"sliding window", `"use_sliding_window": true`, "use_sliding_window", nil},
		{"activation", "", "hidden_act", func(c *Config) { c.Act = "mish" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			if tc.edit != nil {
				tc.edit(&c)
			}
			hc, err := models.ParseConfig(configJSON(c, tc.extra), "bad/config.json")
			require.NoError(t, err)
			_, err = ConfigFrom(hc)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "bad/config.json")
		})
	}
}

func TestTiedEmbeddings(t *testing.T) {
	cfg := tinyConfig()
	cfg.TieEmbeddings = true
	m := NewCausalLM(cfg, tensor.NewRNG(3))
	require.True(t, m.Tied())
	for _, p := range m.NamedParams("") {
		assert.NotContains(t, p.Name, "lm_head")
	}
	in := Inputs{IDs: tensor.FromInt32([]int32{1, 2, 3, 4, 5, 6}, 2, 3)}
	out, err := m.Forward(in, RunOptions{})
	require.NoError(t, err)
	want := tensor.MatmulT(out.Last.Value, m.Base.Embed.Weight.Value, false, true)
	testutil.AssertClose(t, "tied logits", out.Logits.Value.Float32s(), want.Float32s(), testutil.F32Rounding)

	// Round trip through a state dict; the shared weight is loaded once.
	hc, err := models.ParseConfig(configJSON(cfg, ""), "tied.json")
	require.NoError(t, err)
	w := models.NewMapWeights(models.StateDict(m.NamedParams("")), "tied")
	m2, err := LoadCausalLM(hc, w)
	require.NoError(t, err)
	require.True(t, m2.Tied())
	out2, err := m2.Forward(in, RunOptions{})
	require.NoError(t, err)
	testutil.AssertClose(t, "reloaded logits", out2.Logits.Value.Float32s(), out.Logits.Value.Float32s(), testutil.Exact)

	// Untied configs need lm_head.weight.
	cfg.TieEmbeddings = false
	hc, err = models.ParseConfig(configJSON(cfg, ""), "untied.json")
	require.NoError(t, err)
	_, err = LoadCausalLM(hc, w)
	require.ErrorContains(t, err, "lm_head.weight")
}

// grads runs loss = Σ logits at the last real token, backward, and returns
// every parameter's gradient (failing on a nil one).
func grads(t *testing.T, m *CausalLM, in Inputs, o RunOptions) map[string][]float32 {
	t.Helper()
	ps := m.NamedParams("")
	for _, p := range ps {
		p.Var.ZeroGrad()
	}
	out, err := m.ForwardLast(in, o)
	require.NoError(t, err)
	require.NoError(t, autograd.SumAll(out.LastLogits).Backward())
	g := map[string][]float32{}
	for _, p := range ps {
		require.NotNil(t, p.Var.Grad, "no gradient for %s", p.Name)
		g[p.Name] = p.Var.Grad.Float32s()
	}
	return g
}

func TestGradientsAndCheckpointing(t *testing.T) {
	c, dir := loadCase(t, "qwen2-tiny")
	m, err := LoadCausalLMDir(dir)
	require.NoError(t, err)
	var layouts map[string]layout
	require.NoError(t, c.Decode("layouts", &layouts))
	in := layouts["left"].inputs()

	plain := grads(t, m, in, RunOptions{Training: true})
	ckpt := grads(t, m, in, RunOptions{Training: true, Checkpoint: true})
	require.Len(t, plain, len(m.NamedParams("")))
	for _, n := range sortedKeys(plain) {
		testutil.AssertClose(t, "checkpointed grad "+n, ckpt[n], plain[n], testutil.F32Rounding)
	}
	// The pad id's embedding row (padding_idx) gets no gradient.
	e := plain["model.embed_tokens.weight"]
	h := m.Base.Cfg.Hidden
	assert.Equal(t, make([]float32, h), e[511*h:512*h])

	// The layers are checkpointed when asked.
	out, err := m.Forward(in, RunOptions{Training: true, Checkpoint: true, Hidden: true})
	require.NoError(t, err)
	assert.Equal(t, "CheckpointOutput", out.Hidden[1].Op())
	out, err = m.Forward(in, RunOptions{Checkpoint: true, Hidden: true})
	require.NoError(t, err)
	assert.NotEqual(t, "CheckpointOutput", out.Hidden[1].Op(), "checkpointing only while training")
}

// TestCheckpointDropout checks that checkpointed layers replay the same
// attention-dropout masks.
func TestCheckpointDropout(t *testing.T) {
	cfg := tinyConfig()
	cfg.AttnDropout = 0.3
	m := NewCausalLM(cfg, tensor.NewRNG(5))
	in := Inputs{IDs: tensor.FromInt32([]int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2, 6),
		Mask: tensor.FromInt32([]int32{1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1}, 2, 6)}
	plain := grads(t, m, in, RunOptions{Training: true, RNG: tensor.NewRNG(7)})
	ckpt := grads(t, m, in, RunOptions{Training: true, Checkpoint: true, RNG: tensor.NewRNG(7)})
	for _, n := range sortedKeys(plain) {
		testutil.AssertClose(t, "checkpointed grad with dropout "+n, ckpt[n], plain[n], testutil.F32Rounding)
	}
	eval := grads(t, m, in, RunOptions{})
	assert.Greater(t, testutil.RelL2(plain["lm_head.weight"], eval["lm_head.weight"]), 1e-3, "dropout had no effect")
}

// TestFiniteDifferences checks the whole model's gradient in float64
// against central differences on a few entries of every parameter.
func TestFiniteDifferences(t *testing.T) {
	cfg := tinyConfig()
	cfg.PadID = 0
	m := NewCausalLM(cfg, tensor.NewRNG(11))
	rng := tensor.NewRNG(12)
	ps := m.NamedParams("")
	for _, p := range ps {
		v := p.Var.Value
		if strings.HasSuffix(p.Name, "norm.weight") || strings.HasSuffix(p.Name, "bias") {
			v = tensor.AddScalar(rng.Normal(0, 0.2, v.Shape()...), 1)
			if strings.HasSuffix(p.Name, "bias") {
				v = rng.Normal(0, 0.2, v.Shape()...)
			}
		}
		p.Var.Value = v.Cast(tensor.Float64)
	}
	in := Inputs{IDs: tensor.FromInt32([]int32{0, 0, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0}, 2, 6),
		Mask:      tensor.FromInt32([]int32{0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 2, 6),
		Positions: tensor.FromInt32([]int32{1, 1, 0, 1, 2, 3, 0, 1, 2, 3, 1, 1}, 2, 6)}
	wt := rng.Normal64(0, 1, 2, cfg.VocabSize)
	loss := func() *autograd.Var {
		out, err := m.ForwardLast(in, RunOptions{})
		require.NoError(t, err)
		return autograd.SumAll(autograd.Mul(out.LastLogits, autograd.Const(wt)))
	}
	l := loss()
	require.Equal(t, tensor.Float64, l.Value.DType())
	require.NoError(t, l.Backward())
	const h = 1e-6
	r := testutil.NewRand(13)
	for _, p := range ps {
		n := p.Var.Value.Numel()
		flat := p.Var.Value.Data64()
		var got, want []float64
		for k := 0; k < 3; k++ {
			i := r.IntN(n)
			if p.Name == "model.embed_tokens.weight" {
				i = (3+k)*cfg.Hidden + r.IntN(cfg.Hidden) // a row the batch uses
			}
			x := flat[i]
			flat[i] = x + h
			up := loss().Value.Item()
			flat[i] = x - h
			dn := loss().Value.Item()
			flat[i] = x
			got = append(got, p.Var.Grad.Data64()[i])
			want = append(want, (up-dn)/(2*h))
		}
		testutil.AssertClose(t, "d loss / d "+p.Name, got, want, testutil.FiniteDiff)
	}
}

func TestForwardErrors(t *testing.T) {
	m := NewCausalLM(tinyConfig(), tensor.NewRNG(1))
	ids := tensor.FromInt32([]int32{1, 2, 3, 4, 5, 6}, 2, 3)
	cases := []struct {
		name string
		in   Inputs
		want string
	}{
		{"nil ids", Inputs{}, "input ids"},
		{"float ids", Inputs{IDs: tensor.FromFloat32([]float32{1, 2, 3}, 1, 3)}, "int32"},
		{"1-D ids", Inputs{IDs: tensor.FromInt32([]int32{1, 2, 3}, 3)}, "[batch, len]"},
		{"empty", Inputs{IDs: tensor.New(tensor.Int32, 1, 0)}, "empty"},
		{"id too large", Inputs{IDs: tensor.FromInt32([]int32{1, 32}, 1, 2)}, "input_ids"},
		{"negative id", Inputs{IDs: tensor.FromInt32([]int32{-1, 2}, 1, 2)}, "input_ids"},
		{"mask shape", Inputs{IDs: ids, Mask: tensor.FromInt32([]int32{1, 1, 1}, 1, 3)}, "attention_mask"},
		{"positions shape", Inputs{IDs: ids, Positions: tensor.FromInt32([]int32{0, 1, 2, 3, 4, 5}, 3, 2)}, "position_ids"},
		{"float positions", Inputs{IDs: ids, Positions: tensor.FromFloat32([]float32{0, 1, 2, 0, 1, 2}, 2, 3)}, "position_ids"},
		{"row without tokens", Inputs{IDs: ids, Mask: tensor.FromInt32([]int32{1, 1, 0, 0, 0, 0}, 2, 3)}, "no token"},
	}
	cl := NewClassifier(tinyConfig(), 1, tensor.NewRNG(1))
	cl.Pool = PoolLastMask
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Forward(tc.in, RunOptions{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, err = cl.Forward(tc.in, RunOptions{})
			require.Error(t, err)
		})
	}
}

// BenchmarkForward runs a small Qwen2-shaped decoder (no LM head) on a
// batch of 4×128 tokens, reporting tokens/s and the matmul GFLOP/s.
//
//	go test -run '^$' -bench . ./models/qwen2/
func BenchmarkForward(b *testing.B) {
	cfg := Config{VocabSize: 1000, Hidden: 256, Layers: 4, Heads: 8, KVHeads: 2, Intermediate: 704,
		Act: "silu", Eps: 1e-6, RopeTheta: 1e6, PadID: -1, InitStd: 0.02}
	for _, train := range []bool{false, true} {
		name := "infer"
		if train {
			name = "fwd+bwd"
		}
		b.Run(name, func(b *testing.B) {
			m := New(cfg, tensor.NewRNG(1))
			const batch, l = 4, 128
			ids := make([]int32, batch*l)
			for i := range ids {
				ids[i] = int32(i*7919) % int32(cfg.VocabSize)
			}
			in := Inputs{IDs: tensor.FromInt32(ids, batch, l)}
			kv := cfg.KVHeads * cfg.HeadDim()
			perTok := 2 * float64(cfg.Layers) * (float64(cfg.Hidden*(2*cfg.Hidden+2*kv)+3*cfg.Hidden*cfg.Intermediate) + 2*float64(l*cfg.Hidden))
			if train {
				perTok *= 3
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var out *Output
				var err error
				if train {
					out, err = m.Forward(in, RunOptions{Training: true})
					if err == nil {
						err = autograd.SumAll(out.Last).Backward()
					}
				} else {
					autograd.NoGrad(func() { out, err = m.Forward(in, RunOptions{}) })
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			s := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N*batch*l)/s, "tok/s")
			b.ReportMetric(perTok*float64(b.N*batch*l)/s/1e9, "GFLOP/s")
		})
	}
}
