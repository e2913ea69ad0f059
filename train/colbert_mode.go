package train

// colbert_mode.go: ColBERT training (RAG-Retrieval rag_retrieval/train/colbert,
// bge-m3's colbert_score): a BERT / XLM-R encoder and colbert_linear give
// every token after [CLS] a vector, padding and [CLS] are left out, the
// vectors are L2-normalised, and score(q, d) = Σ over query tokens of the
// best dot product with any document token, divided by the query's token
// count. Each query's softmax (temperature τ) runs over every document of
// the batch — its positive, the other queries' positives and every hard
// negative — with its own positive as the target. The export is the
// encoder in the Hugging Face layout plus colbert_linear.safetensors (and
// the same tensors as colbert_linear.pt, the torch.save'd state dict that
// RAG-Retrieval's and FlagEmbedding's Python loaders read), the directory
// models/colbert.LoadDir and rerank's ColBERT family read.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/losses"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/colbert"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
	"github.com/ragr-dev/ragr/tensor/torchbin"
	"github.com/ragr-dev/ragr/train/data"
)

// DefaultColBERTDim is colbert_dim when neither the config nor the
// checkpoint sets it (RAG-Retrieval's default).
const DefaultColBERTDim = 768

// colbertLinearFile is where the export keeps colbert_linear (keys weight
// and bias), beside the encoder's model.safetensors.
const colbertLinearFile = "colbert_linear.safetensors"

// colbertLinearPt is the torch.save copy of colbert_linear (OrderedDict
// weight, bias) that Python loaders (RAG-Retrieval, FlagEmbedding's
// bge-m3) torch.load.
const colbertLinearPt = "colbert_linear.pt"

// colbertLosses maps the ColBERT loss_type names to whether padded
// document tokens are left out of the max (true) or take part in it as
// zero vectors (false: RAG-Retrieval's convention).
var colbertLosses = map[string]bool{"colbert_inbatch": false, "colbert_inbatch_maskedmax": true}

// ColBERTModel is a trainable ColBERT model.
type ColBERTModel struct {
	// Model is the encoder plus colbert_linear.
	Model *colbert.Model
	// MaskedMax leaves padded document tokens out of each max; false scores
	// them as zero vectors, as RAG-Retrieval's training does.
	MaskedMax bool
	// PadID and ClsID are the tokenizer's padding and [CLS] ids (tokens
	// RAG-Retrieval's training score leaves out).
	PadID, ClsID int
	cfg          *models.Config
}

// Params lists the encoder's parameters with BertModel checkpoint names
// and colbert_linear.weight / colbert_linear.bias.
func (m *ColBERTModel) Params() []nn.NamedParam { return m.Model.NamedParams("") }

// Tokens returns the token vectors of a batch [N, L, dim] that Score
// reads: colbert_linear(h) for the RAG-Retrieval score (masked and
// normalised inside Score), normalised at every position for the masked
// max.
func (m *ColBERTModel) Tokens(in Inputs, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
	bi := bert.Inputs{IDs: in.IDs, TypeIDs: in.TypeIDs, Mask: in.Mask}
	o := bert.RunOptions{Training: training, RNG: rng, Checkpoint: ckpt}
	if m.MaskedMax {
		return m.Model.Vectors(bi, o)
	}
	return m.Model.Project(bi, o)
}

// Score is the late-interaction score of every query against every
// document [Bq, Bd] from their Tokens, [CLS] and padding left out, divided
// by each query's token count.
func (m *ColBERTModel) Score(qv *autograd.Var, q Inputs, dv *autograd.Var, d Inputs) *autograd.Var {
	if m.MaskedMax {
		return colbert.MaxSim(qv, q.Mask, dv, d.Mask, colbert.ScoreOptions{SkipCLS: true, Average: true})
	}
	return colbert.ScoreRR(qv, q.IDs, q.Mask, dv, d.IDs, m.PadID, m.ClsID, m.Model.Eps)
}

// Export writes the encoder in the Hugging Face layout (BertModel or
// XLMRobertaModel, model.safetensors) and colbert_linear to
// colbert_linear.safetensors and, for Python loaders, colbert_linear.pt (a
// torch.save'd OrderedDict of weight and bias).
func (m *ColBERTModel) Export(dir string) error {
	if err := models.Export(dir, m.Model.Encoder.NamedParams(""), models.ExportOptions{Config: m.cfg, Updates: encoderUpdates(m.Model.Encoder, m.cfg)}); err != nil {
		return err
	}
	lin := models.StateDict(m.Model.Linear.NamedParams(""))
	if err := safetensors.Write(filepath.Join(dir, colbertLinearFile), lin, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("train: export colbert_linear: %w", err)
	}
	var lt []torchbin.NamedTensor
	for _, p := range m.Model.Linear.NamedParams("") {
		lt = append(lt, torchbin.NamedTensor{Name: p.Name, Tensor: p.Var.Value})
	}
	if err := torchbin.Save(filepath.Join(dir, colbertLinearPt), lt, nil); err != nil {
		return fmt.Errorf("train: export colbert_linear: %w", err)
	}
	return nil
}

// Reload implements Reloader: it reads the encoder and colbert_linear back
// from a directory Export wrote.
func (m *ColBERTModel) Reload(dir string) error {
	for _, part := range []struct {
		open   func() (models.Weights, error)
		params []nn.NamedParam
	}{
		{func() (models.Weights, error) { return models.OpenWeights(dir) }, m.Model.Encoder.NamedParams("")},
		{func() (models.Weights, error) { return models.OpenWeightsFile(filepath.Join(dir, colbertLinearFile)) }, m.Model.Linear.NamedParams("")},
	} {
		w, err := part.open()
		if err != nil {
			return err
		}
		err = models.LoadParams(part.params, w, models.LoadOptions{})
		w.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// BuildColBERTModel loads cfg.ModelNameOrPath — with its colbert_linear
// when the directory has one (colbert_dim, when set, must match it) — or
// builds a fresh encoder from cfg.ModelConfig; a missing colbert_linear is
// drawn fresh from the seed with colbert_dim outputs (default 768). tok
// gives the vocabulary size of a fresh model and the pad and [CLS] ids.
func BuildColBERTModel(cfg Config, tok *tokenizer.Tokenizer) (*ColBERTModel, error) {
	m := &ColBERTModel{}
	if err := m.setTokens(tok); err != nil {
		return nil, err
	}
	if dir := cfg.ModelNameOrPath; dir != "" && colbert.HasLinear(dir) {
		cm, err := colbert.LoadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if got := cm.Linear.Weight.Value.Dim(0); cfg.ColBERTDim != nil && *cfg.ColBERTDim != got {
			return nil, fmt.Errorf("train: %s: colbert_dim %d, but the checkpoint %s has a colbert_linear of width %d", cfg.Path, *cfg.ColBERTDim, dir, got)
		}
		if m.cfg, err = models.LoadConfig(filepath.Join(dir, "config.json")); err != nil {
			return nil, err
		}
		m.Model = cm
		return m, nil
	}
	enc, hf, err := buildEncoder(cfg, tok.VocabSize())
	if err != nil {
		return nil, err
	}
	dim := DefaultColBERTDim
	if cfg.ColBERTDim != nil {
		dim = *cfg.ColBERTDim
	}
	m.cfg = hf
	m.Model = colbert.New(enc, dim, tensor.NewRNG(uint64(cfg.Seed)^0x9e3779b97f4a7c15))
	return m, nil
}

// setTokens reads the padding and [CLS] ids of tok.
func (m *ColBERTModel) setTokens(tok *tokenizer.Tokenizer) error {
	pad, ok := tok.PadID()
	if !ok {
		return errors.New("train: the tokenizer has no padding token, which ColBERT training leaves out of the scores")
	}
	cls, ok := tok.TokenToID(tok.Special().CLS)
	if !ok || tok.Special().CLS == "" {
		return errors.New("train: the tokenizer has no [CLS] token, which ColBERT training leaves out of the scores")
	}
	m.PadID, m.ClsID = int(pad), int(cls)
	return nil
}

// colbertLossName resolves loss_type for ColBERT training (the reranker
// default counts as unset: colbert_inbatch).
func colbertLossName(c *Config) (string, error) {
	name := c.LossType
	if name == "" || name == DefaultConfig().LossType {
		return "colbert_inbatch", nil
	}
	if _, ok := colbertLosses[name]; ok {
		return name, nil
	}
	names := make([]string, 0, len(colbertLosses))
	for n := range colbertLosses {
		names = append(names, n)
	}
	sort.Strings(names)
	return "", fmt.Errorf("train: %s: loss_type %q is not a ColBERT loss (%s)", c.Path, name, strings.Join(names, ", "))
}

// validateColBERT checks the ColBERT keys before any data or model is read.
func (c *Config) validateColBERT() error {
	if err := c.Validate(); err != nil {
		return err
	}
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.ModelType == "llm_decoder" {
		add("ColBERT training of llm_decoder (Qwen2) models is not supported (model_type cross_encoder: BERT / XLM-R)")
	}
	if c.ColBERTDim != nil && *c.ColBERTDim <= 0 {
		add("colbert_dim must be positive (got %d)", *c.ColBERTDim)
	}
	if c.Pooling != "" {
		add("pooling %q does not apply to ColBERT training (every token after [CLS] keeps its vector)", c.Pooling)
	}
	if len(c.MRLDims) > 0 {
		add("mrl_dims %v does not apply to ColBERT training", c.MRLDims)
	}
	if c.Temperature < 0 || c.NegNums < 0 {
		add("temperature and neg_nums must not be negative")
	}
	if _, err := colbertLossName(c); err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("train: %s: %s", c.Path, strings.Join(errs, "; "))
	}
	return nil
}

// ColBERTResult describes a finished ColBERT run.
type ColBERTResult struct {
	// ModelDir is the exported model (Hugging Face encoder +
	// colbert_linear.safetensors + tokenizer).
	ModelDir string
	// Model is the trained model.
	Model *ColBERTModel
	// Losses are the losses of this process's optimizer steps.
	Losses []float64
	// Steps is the number of optimizer steps taken in total.
	Steps int
	// LossType is the loss that was trained.
	LossType string
	// Format is the training data's format (pair or triplet).
	Format data.Format
	// DataReport describes the training data reading.
	DataReport data.Report
}

// TrainColBERT runs ColBERT training as cfg describes: it checks the
// config, data ({"query","pos"} with in-batch negatives or
// {"query","pos","neg"} with neg_nums hard negatives) and model before the
// first step, trains with the in-batch contrastive loss over every
// document of the batch, writes checkpoints, metrics.jsonl and loss.png
// under output_dir, and exports to output_dir/model.
func TrainColBERT(ctx context.Context, cfg Config, o RunOptions) (*ColBERTResult, error) {
	if err := cfg.validateColBERT(); err != nil {
		return nil, err
	}
	if err := cfg.checkDevice(); err != nil {
		return nil, err
	}
	name, _ := colbertLossName(&cfg)
	cfg.LossType = name
	defer setGCPercent(cfg.GCPercent)()
	r, err := openDocRun(cfg, o, func(set *data.EmbedSet) error {
		switch set.Kind {
		case data.FormatEmbedTriplet:
		case data.FormatEmbedPair:
			if cfg.BatchSize < 2 {
				return fmt.Errorf("train: %s: pair data ({\"query\",\"pos\"}) takes its negatives from the batch; batch_size %d gives none (use 2 or more)", cfg.TrainDataset, cfg.BatchSize)
			}
		default:
			return fmt.Errorf("train: %s: ColBERT training reads {\"query\",\"pos\"} or {\"query\",\"pos\",\"neg\"} lines; the data is %s (line %d)", cfg.TrainDataset, set.Kind, set.Records[0].Line)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := &ColBERTResult{DataReport: r.set.Report, Format: r.set.Kind, LossType: name}
	model, err := BuildColBERTModel(cfg, r.tok)
	if err != nil {
		return nil, err
	}
	model.MaskedMax = colbertLosses[name]
	res.Model = model
	tau := cfg.Temperature
	if tau == 0 {
		tau = losses.DefaultTemperature
	}
	lossFn := func(b *Batch, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
		eb, ok := b.Extra.(*embedBatch)
		if !ok {
			return nil, errors.New("train: ColBERT batch without its payload")
		}
		return colbertLoss(model, eb, tau, training, rng, ckpt)
	}
	run, err := r.run(ctx, model, lossFn, func(steps int) string {
		return fmt.Sprintf("colbert: %d parameters, colbert_dim %d, %d records (%s, %d examples/epoch), loss %s (temperature %g), %d steps",
			nparams(model.Params()), model.Model.Linear.Weight.Value.Dim(0), len(r.set.Records), r.set.Kind, r.sampler.Len(), name, tau, steps)
	})
	res.Losses, res.Steps, res.ModelDir = run.losses, run.steps, run.modelDir
	return res, err
}

// colbertLoss is CE(score(q_i, every document of the batch)/τ, i): the
// documents are the B positives followed by the B·k hard negatives.
func colbertLoss(m *ColBERTModel, eb *embedBatch, tau float64, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
	qv, err := m.Tokens(eb.query, training, rng, ckpt)
	if err != nil {
		return nil, err
	}
	pv, err := m.Tokens(eb.pos, training, rng, ckpt)
	if err != nil {
		return nil, err
	}
	logits := m.Score(qv, eb.query, pv, eb.pos)
	if eb.neg.IDs != nil {
		nv, err := m.Tokens(eb.neg, training, rng, ckpt)
		if err != nil {
			return nil, err
		}
		logits = autograd.Concat(1, logits, m.Score(qv, eb.query, nv, eb.neg))
	}
	b := eb.query.IDs.Dim(0)
	target := make([]int32, b)
	for i := range target {
		target[i] = int32(i)
	}
	return autograd.CrossEntropy(autograd.MulScalar(logits, 1/tau), tensor.FromInt32(target, b))
}
