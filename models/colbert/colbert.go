package colbert

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// Model is an encoder plus colbert_linear.
type Model struct {
	Encoder *bert.Model
	Linear  *nn.Linear
	// Eps is the normalisation floor (1e-12, torch's normalize default).
	Eps float64
}

// New returns a ColBERT model with a fresh projection to dim on encoder.
func New(encoder *bert.Model, dim int, rng *tensor.RNG) *Model {
	return &Model{Encoder: encoder, Linear: nn.NewLinear(encoder.Cfg.Hidden, dim, true, encoder.Cfg.InitStd, rng), Eps: 1e-12}
}

// NamedParams lists the encoder's parameters and colbert_linear's under
// "colbert_linear." (the names the projection has when saved with the model).
func (m *Model) NamedParams(prefix string) []nn.NamedParam {
	return append(m.Encoder.NamedParams(prefix), m.Linear.NamedParams(prefix+"colbert_linear.")...)
}

// Vectors returns normalize(colbert_linear(h)) at every position [B, L, dim]
// (pads included; mask them when scoring).
func (m *Model) Vectors(in bert.Inputs, o bert.RunOptions) (*autograd.Var, error) {
	out, err := m.Encoder.Forward(in, o)
	if err != nil {
		return nil, err
	}
	return nn.L2Normalize(m.Linear.Forward(out.Last), m.Eps), nil
}

// ScoreOptions select a MaxSim convention.
type ScoreOptions struct {
	// SkipCLS leaves position 0 out on both sides.
	SkipCLS bool
	// Average divides by the number of query tokens counted.
	Average bool
}

// MaxSim scores every query against every doc: q [Bq, Lq, D] with mask
// [Bq, Lq], d [Bd, Ld, D] with mask [Bd, Ld]; the result is [Bq, Bd].
func MaxSim(q *autograd.Var, qmask *tensor.Tensor, d *autograd.Var, dmask *tensor.Tensor, o ScoreOptions) *autograd.Var {
	bq, lq := q.Dim(0), q.Dim(1)
	bd, ld := d.Dim(0), d.Dim(1)
	dt := q.Value.DType()
	qm := maskValues(qmask, o.SkipCLS)
	dm := maskValues(dmask, o.SkipCLS)
	// sim [Bq, Bd, Lq, Ld]
	sim := autograd.MatmulT(autograd.Unsqueeze(q, 1), autograd.Unsqueeze(d, 0), false, true)
	dpad := make([]float64, bd*ld)
	for i, v := range dm {
		if v == 0 {
			dpad[i] = 1
		}
	}
	sim = autograd.MaskedFill(sim, nn.OnDeviceOf(tensor.FromFloat64(dpad, 1, bd, 1, ld).Cast(dt), sim), nn.MaskMin)
	best := autograd.Max(sim, -1, false) // [Bq, Bd, Lq]
	qw := nn.OnDeviceOf(tensor.FromFloat64(qm, bq, 1, lq).Cast(dt), q)
	// Rows without any real doc token would hold MaskMin; zero them.
	score := autograd.Sum(autograd.Mul(best, autograd.Const(qw)), -1, false)
	if o.Average {
		cnt := make([]float64, bq)
		for i := 0; i < bq; i++ {
			for t := 0; t < lq; t++ {
				cnt[i] += qm[i*lq+t]
			}
			cnt[i] = max(cnt[i], 1)
		}
		score = autograd.Div(score, autograd.Const(nn.OnDeviceOf(tensor.FromFloat64(cnt, bq, 1).Cast(dt), q)))
	}
	return score
}

// maskValues returns the mask as 0/1 float64s, with position 0 cleared when
// skipCLS.
func maskValues(mask *tensor.Tensor, skipCLS bool) []float64 {
	m := mask.Float64s()
	l := mask.Dim(1)
	out := make([]float64, len(m))
	for i, v := range m {
		if v != 0 && !(skipCLS && i%l == 0) {
			out[i] = 1
		}
	}
	return out
}

// ScoreRR is RAG-Retrieval's (and bge-m3's) training score: vectors of the
// tokens after [CLS] with pad and [CLS] ids zeroed before normalising, the
// max taken over every doc row (zero rows give 0), summed over query rows
// and divided by the number of real query tokens after [CLS]. hq and hd are
// the projected, not yet normalised vectors colbert_linear(h) [B, L, D].
func ScoreRR(hq *autograd.Var, qids, qmask *tensor.Tensor, hd *autograd.Var, dids *tensor.Tensor, padID, clsID int, eps float64) *autograd.Var {
	keep := func(h *autograd.Var, ids *tensor.Tensor) *autograd.Var {
		b, l := ids.Dim(0), ids.Dim(1)
		iv := ids.Int32s()
		k := make([]float64, b*(l-1))
		for r := 0; r < b; r++ {
			for t := 1; t < l; t++ {
				if id := int(iv[r*l+t]); id != padID && id != clsID {
					k[r*(l-1)+t-1] = 1
				}
			}
		}
		hs := autograd.Narrow(h, 1, 1, l-1)
		kt := nn.OnDeviceOf(tensor.FromFloat64(k, b, l-1, 1).Cast(h.Value.DType()), h)
		return nn.L2Normalize(autograd.Mul(hs, autograd.Const(kt)), eps)
	}
	eq, ed := keep(hq, qids), keep(hd, dids)
	sim := autograd.MatmulT(autograd.Unsqueeze(eq, 1), autograd.Unsqueeze(ed, 0), false, true)
	s := autograd.Sum(autograd.Max(sim, -1, false), -1, false) // [Bq, Bd]
	bq, lq := qmask.Dim(0), qmask.Dim(1)
	qm := qmask.Float64s()
	cnt := make([]float64, bq)
	for i := 0; i < bq; i++ {
		for t := 1; t < lq; t++ {
			cnt[i] += qm[i*lq+t]
		}
		cnt[i] = max(cnt[i], 1)
	}
	return autograd.Div(s, autograd.Const(nn.OnDeviceOf(tensor.FromFloat64(cnt, bq, 1).Cast(hq.Value.DType()), hq)))
}

// Project returns colbert_linear(last_hidden_state) without normalising
// (the input ScoreRR takes).
func (m *Model) Project(in bert.Inputs, o bert.RunOptions) (*autograd.Var, error) {
	out, err := m.Encoder.Forward(in, o)
	if err != nil {
		return nil, err
	}
	return m.Linear.Forward(out.Last), nil
}

// linearFiles are where checkpoints keep the projection, in order.
var linearFiles = []string{"colbert_linear.safetensors", "colbert_linear.pt", "colbert_linear.bin"}

// HasLinear reports whether dir holds a separate colbert_linear file (what
// marks a model directory as ColBERT).
func HasLinear(dir string) bool {
	for _, n := range linearFiles {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

// LoadDir loads a ColBERT model directory: the encoder from the usual
// weights and colbert_linear from colbert_linear.safetensors /
// colbert_linear.pt (keys weight, bias) or from "colbert_linear.*" tensors in
// the main weights.
func LoadDir(dir string) (*Model, error) {
	cfg, err := models.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	w, err := models.OpenWeights(dir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	enc, err := bert.LoadModel(cfg, w)
	if err != nil {
		return nil, fmt.Errorf("colbert: %s: %w", dir, err)
	}
	var lw models.Weights
	prefix := ""
	for _, name := range linearFiles {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			if lw, err = models.OpenWeightsFile(p); err != nil {
				return nil, fmt.Errorf("colbert: %w", err)
			}
			defer lw.Close()
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("colbert: %s: %w", p, err)
		}
	}
	if lw == nil {
		lw, prefix = w, "colbert_linear."
	}
	wshape, err := lw.Shape(prefix + "weight")
	if err != nil || len(wshape) != 2 {
		return nil, fmt.Errorf("colbert: %s: no colbert_linear weight [dim, hidden] (looked for %v and colbert_linear.* tensors)", dir, linearFiles)
	}
	m := New(enc, wshape[0], tensor.NewRNG(0))
	if err := models.LoadParams(m.Linear.NamedParams(prefix), lw, models.LoadOptions{}); err != nil {
		return nil, fmt.Errorf("colbert: %w", err)
	}
	return m, nil
}
