package train

// embed_mode.go: dense embedding training (RAG-Retrieval
// rag_retrieval/train/embedding): a BERT / XLM-R encoder whose pooled,
// L2-normalised outputs for queries and documents meet in an in-batch
// softmax (pairs), a softmax over hard negatives (triplets) or a KL to
// teacher scores (pair-score), optionally over MRL dimensions; exported in
// the sentence-transformers layout.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/losses"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/qwen2"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/train/data"
)

// EmbedModel is a trainable bi-encoder: a BERT / XLM-R encoder or a Qwen2
// decoder, a pooling and L2 normalisation.
type EmbedModel struct {
	// Encoder is the BERT / XLM-R transformer (nil for a decoder model).
	Encoder *bert.Model
	// Decoder is the Qwen2 transformer (nil for an encoder model).
	Decoder *qwen2.Model
	// Pooling is models.PoolCLS, PoolMean or PoolLastToken.
	Pooling models.Pooling
	// MaxLen is the token limit written to sentence_bert_config.json.
	MaxLen int
	cfg    *models.Config
}

// Params lists the model's parameters with BertModel / Qwen2Model
// checkpoint names.
func (m *EmbedModel) Params() []nn.NamedParam {
	if m.Decoder != nil {
		return m.Decoder.NamedParams("")
	}
	return m.Encoder.NamedParams("")
}

// Dim is the embedding width (the hidden size).
func (m *EmbedModel) Dim() int {
	if m.Decoder != nil {
		return m.Decoder.Cfg.Hidden
	}
	return m.Encoder.Cfg.Hidden
}

// Encode returns the pooled, L2-normalised embeddings [B, H] of a batch.
func (m *EmbedModel) Encode(in Inputs, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
	var last *autograd.Var
	if m.Decoder != nil {
		o, err := m.Decoder.Forward(qwen2.Inputs{IDs: in.IDs, Mask: in.Mask},
			qwen2.RunOptions{Training: training, RNG: rng, Checkpoint: ckpt})
		if err != nil {
			return nil, err
		}
		last = o.Last
	} else {
		o, err := m.Encoder.Forward(bert.Inputs{IDs: in.IDs, TypeIDs: in.TypeIDs, Mask: in.Mask},
			bert.RunOptions{Training: training, RNG: rng, Checkpoint: ckpt})
		if err != nil {
			return nil, err
		}
		last = o.Last
	}
	var e *autograd.Var
	switch m.Pooling {
	case models.PoolCLS:
		e = nn.PoolCLS(last)
	case models.PoolMean:
		e = nn.PoolMean(last, in.Mask)
	case models.PoolLastToken:
		idx, err := qwen2.LastTokenIndex(in.Mask, last.Dim(0), last.Dim(1))
		if err != nil {
			return nil, err
		}
		e = nn.PoolAt(last, idx)
	default:
		return nil, fmt.Errorf("train: pooling %q is not cls, mean or lasttoken", m.Pooling)
	}
	return nn.L2Normalize(e, 1e-12), nil
}

// Export writes the model in the Hugging Face layout (BertModel,
// XLMRobertaModel or Qwen2Model) plus the sentence-transformers modules
// (Pooling with the model's mode, Normalize) and sentence_bert_config.json.
func (m *EmbedModel) Export(dir string) error {
	var u map[string]any
	if m.Decoder != nil {
		u = map[string]any{"architectures": []string{"Qwen2Model"}}
		if m.cfg.Raw == nil || m.cfg.Raw["model_type"] == nil {
			u["model_type"] = m.cfg.ModelType
		}
	} else {
		u = encoderUpdates(m.Encoder, m.cfg)
	}
	if err := models.Export(dir, m.Params(), models.ExportOptions{Config: m.cfg, Updates: u}); err != nil {
		return err
	}
	st := &models.SentenceTransformer{Pooling: m.Pooling, Dim: m.Dim(), Normalize: true, IncludePrompt: true}
	if err := models.WriteSentenceTransformer(dir, st); err != nil {
		return err
	}
	return models.WriteJSON(filepath.Join(dir, "sentence_bert_config.json"), map[string]any{"max_seq_length": m.MaxLen, "do_lower_case": false})
}

// encoderUpdates are the config.json keys of a bare encoder export
// (BertModel or XLMRobertaModel).
func encoderUpdates(enc *bert.Model, cfg *models.Config) map[string]any {
	arch := "BertModel"
	if enc.Cfg.XLMR {
		arch = "XLMRobertaModel"
	}
	u := map[string]any{"architectures": []string{arch}}
	if cfg.Raw == nil || cfg.Raw["model_type"] == nil {
		u["model_type"] = cfg.ModelType
	}
	return u
}

// BuildEmbedModel loads cfg.ModelNameOrPath, or builds a fresh model from
// cfg.ModelConfig: a BERT / XLM-R encoder (model_type cross_encoder) or a
// Qwen2 decoder (llm_decoder), with cfg.Pooling (empty: the checkpoint's
// sentence-transformers pooling, else cls for encoders and lasttoken for
// decoders).
func BuildEmbedModel(cfg Config, vocabSize int) (*EmbedModel, error) {
	pool, err := embedPooling(cfg)
	if err != nil {
		return nil, err
	}
	em := &EmbedModel{Pooling: pool, MaxLen: cfg.MaxLen}
	if cfg.ModelType == "llm_decoder" {
		em.Decoder, em.cfg, err = buildDecoder(cfg, vocabSize)
	} else {
		em.Encoder, em.cfg, err = buildEncoder(cfg, vocabSize)
	}
	if err != nil {
		return nil, err
	}
	return em, nil
}

// buildEncoder loads the BERT / XLM-R encoder of cfg.ModelNameOrPath, or
// builds a fresh one from cfg.ModelConfig drawn from the seed.
func buildEncoder(cfg Config, vocabSize int) (*bert.Model, *models.Config, error) {
	hf, w, err := modelSource(cfg, vocabSize)
	if err != nil {
		return nil, nil, err
	}
	if w != nil {
		defer w.Close()
		enc, err := bert.LoadModel(hf, w)
		if err != nil {
			return nil, nil, fmt.Errorf("train: %s: %w", cfg.ModelNameOrPath, err)
		}
		return enc, hf, nil
	}
	bc, err := bert.ConfigFrom(hf)
	if err != nil {
		return nil, nil, err
	}
	return bert.New(bc, false, tensor.NewRNG(uint64(cfg.Seed))), hf, nil
}

// buildDecoder is buildEncoder for a Qwen2 decoder (a Qwen2Model file, or
// a task model's whose decoder is under "model.").
func buildDecoder(cfg Config, vocabSize int) (*qwen2.Model, *models.Config, error) {
	hf, w, err := modelSource(cfg, vocabSize)
	if err != nil {
		return nil, nil, err
	}
	if w != nil {
		defer w.Close()
		dec, err := qwen2.LoadModel(hf, w)
		if err != nil {
			return nil, nil, fmt.Errorf("train: %s: %w", cfg.ModelNameOrPath, err)
		}
		return dec, hf, nil
	}
	qc, err := qwen2.ConfigFrom(hf)
	if err != nil {
		return nil, nil, err
	}
	return qwen2.New(qc, tensor.NewRNG(uint64(cfg.Seed))), hf, nil
}

// embedPooling resolves the pooling of cfg: the pooling key, else the
// checkpoint's sentence-transformers pooling, else cls (encoders) or
// lasttoken (decoders). Decoders pool the last token or the mean.
func embedPooling(cfg Config) (models.Pooling, error) {
	decoder := cfg.ModelType == "llm_decoder"
	check := func(p models.Pooling, src string) (models.Pooling, error) {
		switch {
		case p == models.PoolMean, p == models.PoolCLS && !decoder, p == models.PoolLastToken && decoder:
			return p, nil
		case decoder:
			return "", fmt.Errorf("train: %s: %s %q is not lasttoken or mean (a decoder's first token sees nothing else)", cfg.Path, src, p)
		}
		return "", fmt.Errorf("train: %s: %s %q is not cls or mean", cfg.Path, src, p)
	}
	switch cfg.Pooling {
	case "":
	case "last", "last_token":
		return check(models.PoolLastToken, "pooling")
	default:
		return check(models.Pooling(cfg.Pooling), "pooling")
	}
	if cfg.ModelNameOrPath != "" {
		st, err := models.ReadSentenceTransformer(cfg.ModelNameOrPath)
		if err != nil {
			return "", fmt.Errorf("train: %w", err)
		}
		if st != nil {
			p, err := check(st.Pooling, "the checkpoint's pooling")
			if err != nil {
				return "", fmt.Errorf("%w; set pooling", err)
			}
			return p, nil
		}
	}
	if decoder {
		return models.PoolLastToken, nil
	}
	return models.PoolCLS, nil
}

// embedLossFor picks the embedding loss: loss_type when it names an
// embedding loss, else the one of the data format (the reranker default
// loss_type counts as unset).
func embedLossFor(cfg Config, kind data.Format) (losses.Spec, error) {
	name := cfg.LossType
	if name == "" || name == DefaultConfig().LossType {
		switch kind {
		case data.FormatEmbedPair:
			name = "pair_inbatch_softmax"
		case data.FormatEmbedTriplet:
			name = "triplet_inbatch_softmax"
		case data.FormatEmbedPairScore:
			name = "pair_kl"
		default:
			return losses.Spec{}, fmt.Errorf("train: %s: data format %s is not an embedding format", cfg.TrainDataset, kind)
		}
	}
	spec, err := losses.Lookup(name)
	if err != nil {
		return spec, fmt.Errorf("train: loss_type: %w", err)
	}
	if spec.Kind != losses.KindEmbedding {
		return spec, fmt.Errorf("train: %s: loss_type %q is a %s loss, not an embedding loss", cfg.Path, name, spec.Kind)
	}
	needNeg, needScores := false, false
	for _, f := range spec.Inputs {
		needNeg = needNeg || f == "Neg"
		needScores = needScores || f == "TeacherScores"
	}
	switch {
	case needNeg && kind != data.FormatEmbedTriplet:
		return spec, fmt.Errorf("train: %s: loss %s needs hard negatives ({\"query\",\"pos\",\"neg\"}); the data is %s", cfg.TrainDataset, spec.Name, kind)
	case needScores && kind != data.FormatEmbedPairScore:
		return spec, fmt.Errorf("train: %s: loss %s needs teacher scores ({\"query\",\"pos\",\"scores\"}); the data is %s", cfg.TrainDataset, spec.Name, kind)
	}
	return spec, nil
}

// validateEmbed checks the embedding keys before any data or model is read.
func (c *Config) validateEmbed() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.TrainType != "" && c.TrainType != "train" && c.TrainType != "distill" {
		return fmt.Errorf("train: %s: train_type %q is not train or distill", c.Path, c.TrainType)
	}
	if _, err := embedPooling(Config{Pooling: c.Pooling, Path: c.Path, ModelType: c.ModelType}); err != nil {
		return err
	}
	if c.Temperature < 0 || c.NegNums < 0 {
		return fmt.Errorf("train: %s: temperature and neg_nums must not be negative", c.Path)
	}
	if c.ColBERTDim != nil {
		return fmt.Errorf("train: %s: colbert_dim applies to ColBERT training (ragr train colbert), not embedding training", c.Path)
	}
	for _, d := range c.MRLDims {
		if d <= 0 {
			return fmt.Errorf("train: %s: mrl_dims %v: every dimension must be positive", c.Path, c.MRLDims)
		}
	}
	return nil
}

// embedBatch is the payload of an embedding Batch.
type embedBatch struct {
	query, pos, neg Inputs // neg.IDs nil without hard negatives
	teacher         *tensor.Tensor
}

// embedTrainSet adapts a data.Loader of embedding examples to TrainSet.
type embedTrainSet struct {
	set    *data.EmbedSet
	loader *data.Loader[data.EmbedExample]
	qenc   *data.TextEncoder // queries
	enc    *data.TextEncoder // documents
	batch  int
}

func (s *embedTrainSet) NumBatches(epoch int) int { return s.loader.Batches(epoch) }

func encodeTexts(enc *data.TextEncoder, texts []string) (Inputs, error) {
	e, err := enc.Encode(texts)
	if err != nil {
		return Inputs{}, err
	}
	ids, types, mask := e.Tensors()
	return Inputs{IDs: ids, TypeIDs: types, Mask: mask}, nil
}

func (s *embedTrainSet) Batch(epoch, i int) (*Batch, error) {
	ex := s.loader.Epoch(epoch)
	if (i+1)*s.batch > len(ex) {
		return nil, fmt.Errorf("batch %d of epoch %d is past the data", i, epoch)
	}
	ex = ex[i*s.batch : (i+1)*s.batch]
	var qs, ps, ns []string
	var scores []float32
	for _, e := range ex {
		r := &s.set.Records[e.Record]
		qs = append(qs, r.PromptedQuery())
		ps = append(ps, r.Pos[e.Pos])
		for _, k := range e.Negs {
			ns = append(ns, r.Neg[k])
		}
		if r.Scores != nil {
			scores = append(scores, r.Scores[e.Pos])
		}
	}
	eb := &embedBatch{}
	var err error
	if eb.query, err = encodeTexts(s.qenc, qs); err != nil {
		return nil, err
	}
	if eb.pos, err = encodeTexts(s.enc, ps); err != nil {
		return nil, err
	}
	if len(ns) > 0 {
		if eb.neg, err = encodeTexts(s.enc, ns); err != nil {
			return nil, err
		}
	}
	if scores != nil {
		eb.teacher = tensor.FromFloat32(scores, len(scores))
	}
	return &Batch{Inputs: eb.query, Samples: len(ex), GroupSize: 1 + len(ns)/len(ex), Extra: eb}, nil
}

// EmbedResult describes a finished embedding run.
type EmbedResult struct {
	// ModelDir is the exported model (Hugging Face + sentence-transformers
	// layout).
	ModelDir string
	// Model is the trained model.
	Model *EmbedModel
	// Losses are the losses of this process's optimizer steps.
	Losses []float64
	// Steps is the number of optimizer steps taken in total.
	Steps int
	// LossType is the loss that was trained.
	LossType string
	// Format is the training data's format.
	Format data.Format
	// DataReport describes the training data reading.
	DataReport data.Report
	// Before and After are the evaluation metrics before and after
	// training (see embedeval's Values keys; nil without evaluation data,
	// Before nil on resume).
	Before, After map[string]float64
}

// TrainEmbedding runs embedding training as cfg describes: it checks the
// config, data and model before the first step, trains queries and
// documents through the same encoder (pooled, L2-normalised) with the
// loss of the data format (or loss_type), writes checkpoints,
// metrics.jsonl and loss.png under output_dir, and exports the final model
// to output_dir/model in the sentence-transformers layout.
func TrainEmbedding(ctx context.Context, cfg Config, o RunOptions) (*EmbedResult, error) {
	if err := cfg.validateEmbed(); err != nil {
		return nil, err
	}
	if err := cfg.checkDevice(); err != nil {
		return nil, err
	}
	if cfg.TrainType == "distill" {
		return nil, fmt.Errorf("train: %s: train_type distill is run by TrainDistillEmbedding", cfg.Path)
	}
	defer setGCPercent(cfg.GCPercent)()
	var spec losses.Spec
	r, err := openDocRun(cfg, o, func(set *data.EmbedSet) error {
		var err error
		spec, err = embedLossFor(cfg, set.Kind)
		return err
	})
	if err != nil {
		return nil, err
	}
	set, tok := r.set, r.tok
	res := &EmbedResult{DataReport: set.Report, Format: set.Kind, LossType: spec.Name}
	cfg.LossType = spec.Name
	r.cfg.LossType = spec.Name
	model, err := BuildEmbedModel(cfg, tok.VocabSize())
	if err != nil {
		return nil, err
	}
	res.Model = model
	for _, d := range cfg.MRLDims {
		if d > model.Dim() {
			return nil, fmt.Errorf("train: %s: mrl_dims %v: dimension %d exceeds the model's hidden size %d", cfg.Path, cfg.MRLDims, d, model.Dim())
		}
	}
	params := spec.Defaults
	params.MRLDims = append([]int(nil), cfg.MRLDims...)
	if cfg.Temperature > 0 {
		params.Temperature = cfg.Temperature
	} else {
		params.Temperature = losses.DefaultTemperature
	}
	if r.eval, err = newEmbedEval(cfg, model, r.ts.enc); err != nil {
		return nil, err
	}
	acc := newInBatchAcc(cfg.MRLDims, model.Dim())
	r.stepMetrics = acc.take
	lossFn := func(b *Batch, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
		eb, ok := b.Extra.(*embedBatch)
		if !ok {
			return nil, errors.New("train: embedding batch without its payload")
		}
		var li losses.Inputs
		var err error
		if li.Query, err = model.Encode(eb.query, training, rng, ckpt); err != nil {
			return nil, err
		}
		if li.Pos, err = model.Encode(eb.pos, training, rng, ckpt); err != nil {
			return nil, err
		}
		if eb.neg.IDs != nil {
			if li.Neg, err = model.Encode(eb.neg, training, rng, ckpt); err != nil {
				return nil, err
			}
		}
		li.TeacherScores = eb.teacher
		l, err := spec.Compute(li, &params)
		if err != nil {
			return nil, fmt.Errorf("loss %s: %w", spec.Name, err)
		}
		if training {
			var neg *tensor.Tensor
			if li.Neg != nil {
				neg = li.Neg.Value
			}
			acc.add(li.Query.Value, li.Pos.Value, neg)
		}
		return l, nil
	}
	run, err := r.run(ctx, model, lossFn, func(steps int) string {
		return fmt.Sprintf("embedding: %d parameters, pooling %s, %d records (%s, %d examples/epoch), loss %s (temperature %g, mrl_dims %v), %d steps",
			nparams(model.Params()), model.Pooling, len(set.Records), set.Kind, r.sampler.Len(), spec.Name, params.Temperature, params.MRLDims, steps)
	})
	res.Losses, res.Steps, res.ModelDir = run.losses, run.steps, run.modelDir
	res.Before, res.After = run.before, run.after
	return res, err
}
