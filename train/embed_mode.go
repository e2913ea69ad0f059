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
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/losses"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/train/data"
)

// EmbedModel is a trainable bi-encoder: a BERT / XLM-R encoder, a pooling
// and L2 normalisation.
type EmbedModel struct {
	// Encoder is the transformer.
	Encoder *bert.Model
	// Pooling is models.PoolCLS or models.PoolMean.
	Pooling models.Pooling
	// MaxLen is the token limit written to sentence_bert_config.json.
	MaxLen int
	cfg    *models.Config
}

// Params lists the encoder's parameters with BertModel checkpoint names.
func (m *EmbedModel) Params() []nn.NamedParam { return m.Encoder.NamedParams("") }

// Encode returns the pooled, L2-normalised embeddings [B, H] of a batch.
func (m *EmbedModel) Encode(in Inputs, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
	o, err := m.Encoder.Forward(bert.Inputs{IDs: in.IDs, TypeIDs: in.TypeIDs, Mask: in.Mask},
		bert.RunOptions{Training: training, RNG: rng, Checkpoint: ckpt})
	if err != nil {
		return nil, err
	}
	var e *autograd.Var
	switch m.Pooling {
	case models.PoolCLS:
		e = nn.PoolCLS(o.Last)
	case models.PoolMean:
		e = nn.PoolMean(o.Last, in.Mask)
	default:
		return nil, fmt.Errorf("train: pooling %q is not cls or mean", m.Pooling)
	}
	return nn.L2Normalize(e, 1e-12), nil
}

// Export writes the encoder in the Hugging Face layout (BertModel or
// XLMRobertaModel) plus the sentence-transformers modules (Pooling with
// the model's mode, Normalize) and sentence_bert_config.json.
func (m *EmbedModel) Export(dir string) error {
	arch := "BertModel"
	if m.Encoder.Cfg.XLMR {
		arch = "XLMRobertaModel"
	}
	u := map[string]any{"architectures": []string{arch}}
	if m.cfg.Raw == nil || m.cfg.Raw["model_type"] == nil {
		u["model_type"] = m.cfg.ModelType
	}
	if err := models.Export(dir, m.Params(), models.ExportOptions{Config: m.cfg, Updates: u}); err != nil {
		return err
	}
	st := &models.SentenceTransformer{Pooling: m.Pooling, Dim: m.Encoder.Cfg.Hidden, Normalize: true, IncludePrompt: true}
	if err := models.WriteSentenceTransformer(dir, st); err != nil {
		return err
	}
	return models.WriteJSON(filepath.Join(dir, "sentence_bert_config.json"), map[string]any{"max_seq_length": m.MaxLen, "do_lower_case": false})
}

// BuildEmbedModel loads cfg.ModelNameOrPath, or builds a fresh encoder from
// cfg.ModelConfig, with cfg.Pooling (empty: the checkpoint's
// sentence-transformers pooling, else cls).
func BuildEmbedModel(cfg Config, vocabSize int) (*EmbedModel, error) {
	pool, err := embedPooling(cfg)
	if err != nil {
		return nil, err
	}
	hf, w, err := modelSource(cfg, vocabSize)
	if err != nil {
		return nil, err
	}
	var enc *bert.Model
	if w != nil {
		defer w.Close()
		if enc, err = bert.LoadModel(hf, w); err != nil {
			return nil, fmt.Errorf("train: %s: %w", cfg.ModelNameOrPath, err)
		}
	} else {
		bc, err := bert.ConfigFrom(hf)
		if err != nil {
			return nil, err
		}
		enc = bert.New(bc, false, tensor.NewRNG(uint64(cfg.Seed)))
	}
	return &EmbedModel{Encoder: enc, Pooling: pool, MaxLen: cfg.MaxLen, cfg: hf}, nil
}

// embedPooling resolves the pooling of cfg.
func embedPooling(cfg Config) (models.Pooling, error) {
	switch cfg.Pooling {
	case "cls":
		return models.PoolCLS, nil
	case "mean":
		return models.PoolMean, nil
	case "":
	default:
		return "", fmt.Errorf("train: %s: pooling %q is not cls or mean", cfg.Path, cfg.Pooling)
	}
	if cfg.ModelNameOrPath != "" {
		st, err := models.ReadSentenceTransformer(cfg.ModelNameOrPath)
		if err != nil {
			return "", fmt.Errorf("train: %w", err)
		}
		if st != nil {
			if st.Pooling != models.PoolCLS && st.Pooling != models.PoolMean {
				return "", fmt.Errorf("train: %s: the checkpoint's pooling %q is not cls or mean; set pooling", cfg.ModelNameOrPath, st.Pooling)
			}
			return st.Pooling, nil
		}
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
	if c.ModelType == "llm_decoder" {
		return fmt.Errorf("train: %s: embedding training of llm_decoder (Qwen2) models is not supported yet", c.Path)
	}
	if _, err := embedPooling(Config{Pooling: c.Pooling, Path: c.Path}); err != nil {
		return err
	}
	if c.Temperature < 0 || c.NegNums < 0 {
		return fmt.Errorf("train: %s: temperature and neg_nums must not be negative", c.Path)
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
	enc    *data.TextEncoder
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
	if eb.query, err = encodeTexts(s.enc, qs); err != nil {
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
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if err := cfg.validateEmbed(); err != nil {
		return nil, err
	}
	for k := range cfg.Ignored {
		fmt.Fprintf(out, "note: config key %s is accepted for RAG-Retrieval compatibility and not used (%s)\n", k, ignoredKeys[k])
	}
	tokDir := cfg.Tokenizer
	if tokDir == "" {
		tokDir = cfg.ModelNameOrPath
	}
	if tokDir == "" {
		return nil, fmt.Errorf("train: %s: a fresh model needs tokenizer: DIR", cfg.Path)
	}
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		return nil, fmt.Errorf("train: tokenizer: %w", err)
	}
	enc, err := data.NewTextEncoder(tok, cfg.MaxLen)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer setGCPercent(cfg.GCPercent)()
	set, err := data.ReadEmbedding(cfg.TrainDataset, data.Options{SkipBadLines: cfg.SkipBadLines})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	res := &EmbedResult{DataReport: set.Report, Format: set.Kind}
	if set.Report.BadLines > 0 {
		fmt.Fprintf(out, "warning: %s: skipped %d malformed lines (first: %v)\n", cfg.TrainDataset, set.Report.BadLines, set.Report.Errors[0])
	}
	spec, err := embedLossFor(cfg, set.Kind)
	if err != nil {
		return nil, err
	}
	cfg.LossType = spec.Name
	res.LossType = spec.Name
	negNums := cfg.NegNums
	if negNums == 0 {
		negNums = max(cfg.TrainGroupSize-1, 1)
	}
	sampler, err := data.NewEmbedSampler(set, negNums, !cfg.NoReplacement)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", cfg.TrainDataset, err)
	}
	red := o.Reducer
	if red == nil {
		red = localReducer{}
	}
	loader, err := data.NewLoader(sampler.Epoch, data.LoaderConfig{Seed: uint64(cfg.Seed), BatchSize: cfg.BatchSize, Rank: red.Rank(), World: red.World()})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	ts := &embedTrainSet{set: set, loader: loader, enc: enc, batch: cfg.BatchSize}
	if ts.NumBatches(0) == 0 {
		return nil, fmt.Errorf("train: %s: %d training examples make no batch of %d", cfg.TrainDataset, sampler.Len(), cfg.BatchSize)
	}
	model, err := BuildEmbedModel(cfg, tok.VocabSize())
	if err != nil {
		return nil, err
	}
	res.Model = model
	for _, d := range cfg.MRLDims {
		if d > model.Encoder.Cfg.Hidden {
			return nil, fmt.Errorf("train: %s: mrl_dims %v: dimension %d exceeds the model's hidden size %d", cfg.Path, cfg.MRLDims, d, model.Encoder.Cfg.Hidden)
		}
	}
	ev, err := newEmbedEval(cfg, model, enc)
	if err != nil {
		return nil, err
	}
	params := spec.Defaults
	params.MRLDims = append([]int(nil), cfg.MRLDims...)
	if cfg.Temperature > 0 {
		params.Temperature = cfg.Temperature
	} else {
		params.Temperature = losses.DefaultTemperature
	}
	if err := os.MkdirAll(cfg.OutputDir, 0o755); err != nil {
		return nil, fmt.Errorf("train: output_dir: %w", err)
	}
	resume, err := ResolveResume(o.Resume, cfg.OutputDir)
	if err != nil {
		return nil, err
	}
	loop := &Loop{Cfg: cfg, Model: model, Train: ts, Reducer: red, Eval: ev.loopEval(),
		Export: func(dir string) error { return models.CopyTokenizer(tokDir, dir) },
		LossFn: func(b *Batch, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
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
			return l, nil
		}}
	if err := loop.Init(resume); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "embedding: %d parameters, pooling %s, %d records (%s, %d examples/epoch), loss %s (temperature %g, mrl_dims %v), %d steps\n",
		nparams(model.Params()), model.Pooling, len(set.Records), set.Kind, sampler.Len(), spec.Name, params.Temperature, params.MRLDims, loop.TotalSteps())
	rl, err := openRunLog(cfg, loop, out, o, resume != "")
	if err != nil {
		return nil, err
	}
	defer rl.close()
	if res.Before, err = ev.attach(loop, rl, resume == ""); err != nil {
		return nil, err
	}
	start := time.Now()
	res.Losses, err = loop.Run(ctx)
	logErr := rl.stop()
	res.Steps = loop.Step()
	if err != nil {
		return res, err
	}
	if logErr != nil {
		return res, logErr
	}
	fmt.Fprintf(out, "trained %d steps in %s\n", res.Steps, time.Since(start).Round(time.Second))
	if res.After, err = ev.final(loop, rl); err != nil {
		return res, err
	}
	if res.Before != nil {
		fmt.Fprintf(out, "before training: %s\n", summary(res.Before))
	}
	if res.After != nil {
		fmt.Fprintf(out, "after training:  %s\n", summary(res.After))
	}
	res.ModelDir = filepath.Join(cfg.OutputDir, modelDir)
	if err := model.Export(res.ModelDir); err != nil {
		return res, fmt.Errorf("train: export: %w", err)
	}
	if err := models.CopyTokenizer(tokDir, res.ModelDir); err != nil {
		return res, err
	}
	return res, rl.plot(out, cfg, res.ModelDir)
}
