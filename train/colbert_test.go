package train

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/losses"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/colbert"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/torchbin"
	"github.com/ragr-dev/ragr/train/data"
)

// tinyColBERTConfig trains a 2-layer, 32-wide BERT with a 16-wide
// colbert_linear from scratch.
func tinyColBERTConfig(t *testing.T, dataPath string) Config {
	c := tinyEmbedConfig(t, dataPath)
	dim := 16
	c.ColBERTDim = &dim
	c.QueryMaxLen, c.PassageMaxLen = 16, 32
	return c
}

func TestTrainColBERTLossFalls(t *testing.T) {
	cases := []struct {
		kind, loss string
		masked     bool
	}{
		{"triplet", "colbert_inbatch", false},
		{"pair", "colbert_inbatch_maskedmax", true},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			cfg := tinyColBERTConfig(t, embedData(t, c.kind))
			if c.masked {
				cfg.LossType = c.loss
			}
			res, err := TrainColBERT(context.Background(), cfg, RunOptions{})
			require.NoError(t, err)
			assert.Equal(t, c.loss, res.LossType)
			assert.Equal(t, c.masked, res.Model.MaskedMax)
			n := len(res.Losses)
			require.GreaterOrEqual(t, n, 9)
			first, last := mean(res.Losses[:n/3]), mean(res.Losses[n-n/3:])
			t.Logf("%s: loss %.4f -> %.4f over %d steps", c.kind, first, last, n)
			assert.Less(t, last, first, "the loss must fall")
			for _, f := range []string{"metrics.jsonl", "loss.png"} {
				_, err := os.Stat(filepath.Join(cfg.OutputDir, f))
				assert.NoError(t, err, f)
			}
		})
	}
}

// colbertBatch encodes texts with the tokenizer of dir, cut at maxLen.
func colbertBatch(t *testing.T, dir string, maxLen int, texts ...string) Inputs {
	t.Helper()
	tok, err := tokenizer.Load(dir)
	require.NoError(t, err)
	enc, err := data.NewTextEncoder(tok, maxLen)
	require.NoError(t, err)
	in, err := encodeTexts(enc, texts)
	require.NoError(t, err)
	return in
}

// maxSimOf is the inference score (pads and [CLS] excluded, averaged over
// query tokens) of every query against every document.
func maxSimOf(t *testing.T, m *colbert.Model, q, d Inputs) []float32 {
	t.Helper()
	var out []float32
	autograd.NoGrad(func() {
		qv, err := m.Vectors(bert.Inputs{IDs: q.IDs, TypeIDs: q.TypeIDs, Mask: q.Mask}, bert.RunOptions{})
		require.NoError(t, err)
		dv, err := m.Vectors(bert.Inputs{IDs: d.IDs, TypeIDs: d.TypeIDs, Mask: d.Mask}, bert.RunOptions{})
		require.NoError(t, err)
		out = colbert.MaxSim(qv, q.Mask, dv, d.Mask, colbert.ScoreOptions{SkipCLS: true, Average: true}).Value.Contiguous().Float32s()
	})
	return out
}

// The exported directory is a ColBERT directory (colbert_linear beside the
// encoder) that models/colbert.LoadDir reads back to the same scores, and
// fine-tuning it picks its colbert_linear up.
func TestTrainColBERTExportReloads(t *testing.T) {
	cfg := tinyColBERTConfig(t, embedData(t, "triplet"))
	cfg.MaxSteps = 3
	res, err := TrainColBERT(context.Background(), cfg, RunOptions{})
	require.NoError(t, err)
	require.Equal(t, 3, res.Steps)
	for _, f := range []string{"config.json", "model.safetensors", "colbert_linear.safetensors", "colbert_linear.pt", "tokenizer.json"} {
		_, err := os.Stat(filepath.Join(res.ModelDir, f))
		assert.NoError(t, err, f)
	}
	assert.True(t, colbert.HasLinear(res.ModelDir))
	// colbert_linear.pt holds the trained projection, for Python loaders.
	lin := res.Model.Model.Linear
	pt, err := torchbin.Load(filepath.Join(res.ModelDir, "colbert_linear.pt"))
	require.NoError(t, err)
	require.Len(t, pt, 2)
	assert.Equal(t, lin.Weight.Value.Shape(), pt["weight"].Shape())
	testutil.AssertClose(t, "colbert_linear.pt weight", pt["weight"].Float32s(), lin.Weight.Value.Float32s(), testutil.Exact)
	testutil.AssertClose(t, "colbert_linear.pt bias", pt["bias"].Float32s(), lin.Bias.Value.Float32s(), testutil.Exact)
	t.Run("torch", func(t *testing.T) { checkColBERTLinearTorch(t, res.ModelDir, lin) })

	q := colbertBatch(t, res.ModelDir, 16, "硬盘插入时震动", "a")
	d := colbertBatch(t, res.ModelDir, 32, "硬盘是十分精密的存储设备", "今天天气很好，适合出去走走", "b")
	want := maxSimOf(t, res.Model.Model, q, d)
	loaded, err := colbert.LoadDir(res.ModelDir)
	require.NoError(t, err)
	assert.Equal(t, 16, loaded.Linear.Weight.Value.Dim(0))
	testutil.AssertClose(t, "maxsim", maxSimOf(t, loaded, q, d), want, testutil.Exact)

	c2 := cfg
	c2.ModelConfig, c2.ModelNameOrPath, c2.ColBERTDim = nil, res.ModelDir, nil
	tok, err := tokenizer.Load(res.ModelDir)
	require.NoError(t, err)
	m2, err := BuildColBERTModel(c2, tok)
	require.NoError(t, err)
	testutil.AssertClose(t, "fine-tune start", maxSimOf(t, m2.Model, q, d), want, testutil.Exact)
	wrong := 24
	c2.ColBERTDim = &wrong
	_, err = BuildColBERTModel(c2, tok)
	assert.ErrorContains(t, err, "colbert_dim 24")
}

// The training loss is the softmax over every document of the batch; with
// the other queries' positives left out its logits are exactly those of
// the registry's colbert_inbatch (RAG-Retrieval's score convention).
func TestColBERTLossMatchesReference(t *testing.T) {
	cfg := tinyColBERTConfig(t, embedData(t, "triplet"))
	tok, err := tokenizer.Load(cfg.Tokenizer)
	require.NoError(t, err)
	m, err := BuildColBERTModel(cfg, tok)
	require.NoError(t, err)
	// A wide random projection spreads the similarities (some negative).
	w := m.Model.Linear.Weight.Value
	m.Model.Linear.Weight.Value = tensor.FromFloat32(testutil.Normal32(testutil.NewRand(7), w.Numel(), 1), w.Shape()...)
	const tau = 0.05
	eb := &embedBatch{
		query: colbertBatch(t, cfg.Tokenizer, 16, "硬盘插入时震动", "硬盘分区是什么意思", "序列号"),
		pos:   colbertBatch(t, cfg.Tokenizer, 32, "硬盘是十分精密的存储设备", "计算机中存放信息的主要的存储设备", "硬盘的物理序列号只有一个"),
		neg: colbertBatch(t, cfg.Tokenizer, 32, "今天天气很好", "适合出去走走", "a b c", "鼠标", "键盘和显示器都是外设", "d",
			"重装系统只会丢失c盘的东西", "e", "f g"),
	}
	for _, masked := range []bool{false, true} {
		m.MaskedMax = masked
		var got float64
		var sp, sn []float32
		autograd.NoGrad(func() {
			l, err := colbertLoss(m, eb, tau, false, nil, false)
			require.NoError(t, err)
			got = l.Value.Item()
			qv, _ := m.Tokens(eb.query, false, nil, false)
			pv, _ := m.Tokens(eb.pos, false, nil, false)
			nv, _ := m.Tokens(eb.neg, false, nil, false)
			sp = m.Score(qv, eb.query, pv, eb.pos).Value.Contiguous().Float32s()
			sn = m.Score(qv, eb.query, nv, eb.neg).Value.Contiguous().Float32s()
		})
		// float64 reference: CE over [pos scores of all queries, all negatives].
		b, bn := 3, 9
		ce := func(logits []float64, target int) float64 {
			mx := math.Inf(-1)
			for _, x := range logits {
				mx = math.Max(mx, x)
			}
			s := 0.0
			for _, x := range logits {
				s += math.Exp(x - mx)
			}
			return mx + math.Log(s) - logits[target]
		}
		var full, own float64
		for i := 0; i < b; i++ {
			var all, mine []float64
			for j := 0; j < b; j++ {
				all = append(all, float64(sp[i*b+j])/tau)
			}
			mine = append(mine, float64(sp[i*b+i])/tau)
			for j := 0; j < bn; j++ {
				all = append(all, float64(sn[i*bn+j])/tau)
				mine = append(mine, float64(sn[i*bn+j])/tau)
			}
			full += ce(all, i) / float64(b)
			own += ce(mine, 0) / float64(b)
		}
		testutil.AssertClose(t, "in-batch loss", []float64{got}, []float64{full}, testutil.F32)

		// The registry's loss on the same vectors (positions after [CLS]).
		var want float64
		autograd.NoGrad(func() {
			vec := func(in Inputs) (*autograd.Var, *tensor.Tensor) {
				h, err := m.Model.Project(bert.Inputs{IDs: in.IDs, TypeIDs: in.TypeIDs, Mask: in.Mask}, bert.RunOptions{})
				require.NoError(t, err)
				l := in.IDs.Dim(1)
				mask := in.Mask.Float64s()
				var after []float64
				for r := 0; r < in.IDs.Dim(0); r++ {
					after = append(after, mask[r*l+1:(r+1)*l]...)
				}
				return autograd.Narrow(h, 1, 1, l-1), tensor.FromFloat64(after, in.IDs.Dim(0), l-1)
			}
			qv, qm := vec(eb.query)
			pv, pm := vec(eb.pos)
			nv, nm := vec(eb.neg)
			l, err := losses.ColBERTInBatch(qv, qm, pv, pm, nv, nm, tau, masked)
			require.NoError(t, err)
			want = l.Value.Item()
		})
		testutil.AssertClose(t, "colbert_inbatch", []float64{own}, []float64{want}, testutil.F32)
		t.Logf("masked=%v: in-batch loss %.9f, own-positive loss %.9f", masked, got, own)
	}
}

// An interrupted ColBERT run resumed from its checkpoint (encoder and
// colbert_linear) continues with exactly the losses of an uninterrupted run.
func TestTrainColBERTResume(t *testing.T) {
	path := embedData(t, "triplet")
	checkResume(t, 5, 3, func() Config { return tinyColBERTConfig(t, path) },
		func(ctx context.Context, cfg Config, o RunOptions) ([]float64, error) {
			r, err := TrainColBERT(ctx, cfg, o)
			if r == nil {
				return nil, err
			}
			return r.Losses, err
		})
}

func TestTrainColBERTBadConfig(t *testing.T) {
	triplet := embedData(t, "triplet")
	pair := embedData(t, "pair")
	score := embedData(t, "score")
	noPos := filepath.Join(t.TempDir(), "nopos.jsonl")
	writeFile(t, noPos, `{"query": "q1", "pos": ["d1"], "neg": ["n1", "n2"]}
{"query": "q2", "neg": ["n3"]}
`)
	intp := func(v int) *int { return &v }
	cases := []struct {
		name string
		mod  func(c *Config)
		want []string
	}{
		{"zero dim", func(c *Config) { c.ColBERTDim = intp(0) }, []string{"colbert_dim must be positive (got 0)"}},
		{"negative dim", func(c *Config) { c.ColBERTDim = intp(-3) }, []string{"colbert_dim must be positive (got -3)"}},
		{"pooling", func(c *Config) { c.Pooling = "mean" }, []string{`pooling "mean"`}},
		{"mrl", func(c *Config) { c.MRLDims = []int{8} }, []string{"mrl_dims"}},
		{"reranker loss", func(c *Config) { c.LossType = "listwise_ce" }, []string{`loss_type "listwise_ce" is not a ColBERT loss`}},
		{"short query_max_len", func(c *Config) { c.QueryMaxLen = 3 }, []string{"query_max_len must be at least 8"}},
		{"qwen", func(c *Config) { c.ModelType = "llm_decoder" }, []string{"llm_decoder"}},
		{"too many negatives", func(c *Config) { c.NegNums = 500; c.NoReplacement = true }, []string{"neg_nums 500", "triplet.jsonl:1 has 15"}},
		{"row missing pos", func(c *Config) { c.TrainDataset = noPos }, []string{noPos, "2", "pos"}},
		{"pair-score data", func(c *Config) { c.TrainDataset = score }, []string{score, "ColBERT training reads"}},
		{"pairs without a batch", func(c *Config) { c.TrainDataset = pair; c.BatchSize = 1 }, []string{"batch_size 1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyColBERTConfig(t, triplet)
			c.mod(&cfg)
			var steps int
			_, err := TrainColBERT(context.Background(), cfg, RunOptions{OnStep: func(StepInfo) { steps++ }})
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Zero(t, steps, "the error comes before training")
		})
	}
}

func TestColBERTConfigKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, p, "train_dataset: d.jsonl\ncolbert_dim: 128\nquery_max_len: 64\npassage_max_len: 256\n")
	c, err := LoadConfig(p)
	require.NoError(t, err)
	require.NotNil(t, c.ColBERTDim)
	assert.Equal(t, 128, *c.ColBERTDim)
	assert.Equal(t, 64, c.queryMaxLen())
	assert.Equal(t, 256, c.passageMaxLen())
	require.NoError(t, c.Set("colbert_dim=32"))
	assert.Equal(t, 32, *c.ColBERTDim)
	require.NoError(t, c.Set("lr=1e-4"))
	assert.Equal(t, 32, *c.ColBERTDim, "an override keeps the other keys")

	writeFile(t, p, "train_dataset: d.jsonl\n")
	c, err = LoadConfig(p)
	require.NoError(t, err)
	assert.Nil(t, c.ColBERTDim)
	assert.Equal(t, c.MaxLen, c.queryMaxLen())
	require.NoError(t, c.Set("lr=1e-4"))
	assert.Nil(t, c.ColBERTDim, "unset stays unset through an override")

	// Embedding training refuses colbert_dim rather than ignoring it.
	c.ModelConfig = map[string]any{}
	require.NoError(t, c.Set("colbert_dim=8"))
	assert.ErrorContains(t, c.validateEmbed(), "colbert_dim applies to ColBERT training")
}

// colbertLinearPy is what a Python ColBERT loader does with an exported
// directory (FlagEmbedding's bge-m3, RAG-Retrieval): torch.load
// colbert_linear.pt into a torch.nn.Linear (strict) and apply it, here to
// x = arange(hidden) / 10.
const colbertLinearPy = `
import sys, json, inspect, torch
kw = {'weights_only': True} if 'weights_only' in inspect.signature(torch.load).parameters else {}
sd = torch.load(sys.argv[1], map_location='cpu', **kw)
out, hidden = sd['weight'].shape
lin = torch.nn.Linear(hidden, out)
lin.load_state_dict(sd)
x = torch.arange(hidden, dtype=torch.float32) / 10
with torch.no_grad():
    print(json.dumps({'keys': list(sd.keys()), 'y': lin(x).tolist()}))
`

// checkColBERTLinearTorch has PyTorch load dir/colbert_linear.pt into an
// nn.Linear and compares its output with lin's; skipped only where there is
// no python3 with torch (Debian python3-torch).
func checkColBERTLinearTorch(t *testing.T, dir string, lin *nn.Linear) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("no python3: the torch.load check needs python3 with torch (Debian python3-torch)")
		}
	}
	if out, err := exec.Command(py, "-c", "import torch").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import torch (%v: %s)", py, err, out)
	}
	out, err := exec.Command(py, "-c", colbertLinearPy, filepath.Join(dir, "colbert_linear.pt")).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("torch.load colbert_linear.pt: %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)
	var got struct {
		Keys []string  `json:"keys"`
		Y    []float64 `json:"y"`
	}
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, []string{"weight", "bias"}, got.Keys)
	w, b := lin.Weight.Value.Float64s(), lin.Bias.Value.Float64s()
	hidden := lin.Weight.Value.Dim(1)
	want := make([]float64, len(b))
	for o := range want {
		want[o] = b[o]
		for i := 0; i < hidden; i++ {
			want[o] += w[o*hidden+i] * float64(float32(i)/10)
		}
	}
	testutil.AssertClose(t, "torch colbert_linear(x)", got.Y, want, testutil.F32Accum)
}
