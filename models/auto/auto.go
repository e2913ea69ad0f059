package auto

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/colbert"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// Inputs is one padded batch of Int32 tensors [B, L]; all but IDs may be nil.
type Inputs struct {
	IDs, Mask, TypeIDs, Positions *tensor.Tensor
}

// Model is a loaded model directory.
type Model interface {
	// Architecture names what was loaded ("BertModel", "ColBERT", …).
	Architecture() string
	// Forward runs the model without gradients and returns named outputs.
	Forward(in Inputs) (map[string]*tensor.Tensor, error)
}

// Scorer is a model that scores queries against documents (ColBERT).
type Scorer interface {
	Model
	// Score returns named [Bq, Bd] score grids.
	Score(q, d Inputs) (map[string]*tensor.Tensor, error)
}

// Loader builds a model from a directory and its parsed config.
type Loader func(dir string, cfg *models.Config, w models.Weights) (Model, error)

// loaders maps an architecture name to its loader; one line per family.
var loaders = map[string]Loader{
	"BertModel":                           loadEncoder,
	"XLMRobertaModel":                     loadEncoder,
	"RobertaModel":                        loadEncoder,
	"BertForSequenceClassification":       loadClassifier,
	"XLMRobertaForSequenceClassification": loadClassifier,
	"RobertaForSequenceClassification":    loadClassifier,
	"Qwen2Model":                          loadQwen2Model,
	"Qwen2ForCausalLM":                    loadQwen2CausalLM,
	"Qwen2ForSequenceClassification":      loadQwen2Classifier,
}

// Architectures lists the architecture names Load accepts.
func Architectures() []string {
	names := []string{"ColBERT"}
	for n := range loaders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load opens a model directory: config.json, the weights, and for ColBERT
// the colbert_linear file.
func Load(dir string) (Model, error) {
	cfg, err := models.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	if colbert.HasLinear(dir) {
		m, err := colbert.LoadDir(dir)
		if err != nil {
			return nil, err
		}
		return colbertModel{m}, nil
	}
	arch := cfg.Architecture()
	if arch == "" {
		arch = defaultArch(cfg.ModelType)
	}
	load, ok := loaders[arch]
	if !ok {
		return nil, fmt.Errorf("auto: %s: unknown architecture %q (supported: %s)", cfg.Path, arch, strings.Join(Architectures(), ", "))
	}
	w, err := models.OpenWeights(dir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return load(dir, cfg, w)
}

func defaultArch(modelType string) string {
	switch modelType {
	case "bert":
		return "BertModel"
	case "xlm-roberta":
		return "XLMRobertaModel"
	case "roberta":
		return "RobertaModel"
	case "qwen2":
		return "Qwen2Model"
	}
	return ""
}

func bertInputs(in Inputs) bert.Inputs {
	return bert.Inputs{IDs: in.IDs, TypeIDs: in.TypeIDs, Mask: in.Mask, Positions: in.Positions}
}

// defaultMask is all ones when the caller gave no attention mask.
func defaultMask(in Inputs) *tensor.Tensor {
	if in.Mask != nil {
		return in.Mask
	}
	m := tensor.New(tensor.Int32, in.IDs.Shape()...)
	for i := range m.DataI32() {
		m.DataI32()[i] = 1
	}
	return m
}

type encoderModel struct {
	m    *bert.Model
	arch string
	st   *models.SentenceTransformer // nil without modules.json
}

func loadEncoder(dir string, cfg *models.Config, w models.Weights) (Model, error) {
	m, err := bert.LoadModel(cfg, w)
	if err != nil {
		return nil, err
	}
	st, err := readPipeline(dir, m.Cfg.Hidden)
	if err != nil {
		return nil, err
	}
	return encoderModel{m, cfg.Architecture(), st}, nil
}

// readPipeline reads dir's sentence-transformers modules (nil without
// modules.json) and checks the pooling width against the hidden size.
func readPipeline(dir string, hidden int) (*models.SentenceTransformer, error) {
	st, err := models.ReadSentenceTransformer(dir)
	if err != nil {
		return nil, err
	}
	if st != nil && st.Dim != 0 && st.Dim != hidden {
		return nil, fmt.Errorf("auto: %s: 1_Pooling word_embedding_dimension %d differs from hidden_size %d", dir, st.Dim, hidden)
	}
	return st, nil
}

// SentenceEmbedding applies a sentence-transformers pipeline (pooling,
// Dense layers, Normalize) to last_hidden_state h [B, L, H].
func SentenceEmbedding(st *models.SentenceTransformer, h *autograd.Var, mask *tensor.Tensor) (*autograd.Var, error) {
	var e *autograd.Var
	switch st.Pooling {
	case models.PoolCLS:
		e = nn.PoolCLS(h)
	case models.PoolMean:
		e = nn.PoolMean(h, mask)
	case models.PoolLastToken:
		e = nn.PoolAt(h, nn.LastTokenIndex(mask))
	default:
		return nil, fmt.Errorf("auto: pooling mode %q is not supported", st.Pooling)
	}
	for _, d := range st.Dense {
		var b *autograd.Var
		if d.Bias != nil {
			b = autograd.Const(d.Bias)
		}
		e = autograd.Linear(e, autograd.Const(d.Weight), b)
		switch d.Activation {
		case "", "torch.nn.modules.linear.Identity":
		case "torch.nn.modules.activation.Tanh":
			e = autograd.Tanh(e)
		default:
			return nil, fmt.Errorf("auto: Dense activation %q is not supported", d.Activation)
		}
	}
	if st.Normalize {
		e = nn.L2Normalize(e, 1e-12)
	}
	return e, nil
}

func (e encoderModel) Architecture() string { return e.arch }

func (e encoderModel) Forward(in Inputs) (out map[string]*tensor.Tensor, err error) {
	autograd.NoGrad(func() {
		var o *bert.Output
		o, err = e.m.Forward(bertInputs(in), bert.RunOptions{Hidden: true})
		if err != nil {
			return
		}
		mask := defaultMask(in)
		out = map[string]*tensor.Tensor{
			"last_hidden_state":        o.Last.Value,
			"cls_embedding":            nn.PoolCLS(o.Last).Value,
			"cls_embedding_normalized": nn.L2Normalize(nn.PoolCLS(o.Last), 1e-12).Value,
			"mean_pooled_embedding":    nn.PoolMean(o.Last, mask).Value,
			"mean_pooled_normalized":   nn.L2Normalize(nn.PoolMean(o.Last, mask), 1e-12).Value,
		}
		for i, h := range o.Hidden {
			out[fmt.Sprintf("hidden_states.%d", i)] = h.Value
		}
		if o.Pooled != nil {
			out["pooler_output"] = o.Pooled.Value
		}
		if e.st != nil {
			var se *autograd.Var
			if se, err = SentenceEmbedding(e.st, o.Last, mask); err != nil {
				return
			}
			out["sentence_embedding"] = se.Value
		}
	})
	return out, err
}

type classifierModel struct {
	m    *bert.Classifier
	arch string
}

func loadClassifier(dir string, cfg *models.Config, w models.Weights) (Model, error) {
	m, err := bert.LoadClassifier(cfg, w)
	if err != nil {
		return nil, err
	}
	return classifierModel{m, cfg.Architecture()}, nil
}

func (c classifierModel) Architecture() string { return c.arch }

func (c classifierModel) Forward(in Inputs) (out map[string]*tensor.Tensor, err error) {
	autograd.NoGrad(func() {
		var logits *autograd.Var
		logits, err = c.m.Forward(bertInputs(in), bert.RunOptions{})
		if err != nil {
			return
		}
		out = map[string]*tensor.Tensor{"logits": logits.Value}
		if logits.Dim(1) == 1 {
			out["scores_sigmoid"] = tensor.Sigmoid(logits.Value.Select(1, 0))
		}
	})
	return out, err
}

type colbertModel struct{ m *colbert.Model }

func (c colbertModel) Architecture() string { return "ColBERT" }

func (c colbertModel) Forward(in Inputs) (out map[string]*tensor.Tensor, err error) {
	autograd.NoGrad(func() {
		var o *bert.Output
		o, err = c.m.Encoder.Forward(bertInputs(in), bert.RunOptions{})
		if err != nil {
			return
		}
		out = map[string]*tensor.Tensor{
			"last_hidden_state": o.Last.Value,
			"colbert_vecs":      nn.L2Normalize(c.m.Linear.Forward(o.Last), c.m.Eps).Value,
		}
	})
	return out, err
}

func (c colbertModel) Score(q, d Inputs) (out map[string]*tensor.Tensor, err error) {
	autograd.NoGrad(func() {
		var qv, dv, hq, hd *autograd.Var
		if hq, err = c.m.Project(bertInputs(q), bert.RunOptions{}); err != nil {
			return
		}
		if hd, err = c.m.Project(bertInputs(d), bert.RunOptions{}); err != nil {
			return
		}
		qv, dv = nn.L2Normalize(hq, c.m.Eps), nn.L2Normalize(hd, c.m.Eps)
		qm, dm := defaultMask(q), defaultMask(d)
		out = map[string]*tensor.Tensor{
			"scores_maxsim_incl_cls":     colbert.MaxSim(qv, qm, dv, dm, colbert.ScoreOptions{}).Value,
			"scores_maxsim_excl_cls":     colbert.MaxSim(qv, qm, dv, dm, colbert.ScoreOptions{SkipCLS: true}).Value,
			"scores_maxsim_excl_cls_avg": colbert.MaxSim(qv, qm, dv, dm, colbert.ScoreOptions{SkipCLS: true, Average: true}).Value,
			"scores_rr":                  colbert.ScoreRR(hq, q.IDs, qm, hd, d.IDs, c.m.Encoder.Cfg.PadID, clsID(q.IDs), c.m.Eps).Value,
		}
	})
	return out, err
}

// clsID is the id every sequence starts with ([CLS] / <s>).
func clsID(ids *tensor.Tensor) int {
	if ids.Numel() == 0 {
		return -1
	}
	return int(ids.Int32s()[0])
}
