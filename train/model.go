package train

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/qwen2"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// Inputs is one tokenized batch of Int32 tensors [N, L] (TypeIDs may be
// nil for decoders).
type Inputs struct {
	IDs, TypeIDs, Mask *tensor.Tensor
}

// Reranker is a trainable model that scores (query, document) sequences.
type Reranker interface {
	// Params lists the parameters with checkpoint names.
	Params() []nn.NamedParam
	// Scores returns one logit per sequence [N].
	Scores(in Inputs, training bool, rng *tensor.RNG, checkpoint bool) (*autograd.Var, error)
	// Export writes the model in the Hugging Face layout.
	Export(dir string) error
	// Kind is "cross_encoder" or "llm_decoder".
	Kind() string
	// PadID is the tokenizer's padding id the model expects.
	PadID() int
}

// BuildReranker loads cfg.ModelNameOrPath, or builds a fresh model from
// cfg.ModelConfig, as a one-label sequence classifier. Parameters the
// checkpoint lacks (a new classification head on a base model) are drawn
// fresh from the seed; their names are returned.
func BuildReranker(cfg Config, vocabSize int) (Reranker, []string, error) {
	hf, w, err := modelSource(cfg, vocabSize)
	if err != nil {
		return nil, nil, err
	}
	if w != nil {
		defer w.Close()
	}
	rng := tensor.NewRNG(uint64(cfg.Seed))
	hf.NumLabels = 1
	switch cfg.ModelType {
	case "cross_encoder":
		bc, err := bert.ConfigFrom(hf)
		if err != nil {
			return nil, nil, err
		}
		m := bert.NewClassifier(bc, 1, rng)
		if hf.ClassifierDropout != nil {
			m.Dropout = *hf.ClassifierDropout
		}
		fresh, err := loadOptionalHead(m.NamedParams(""), w, []string{"classifier.", "bert.pooler.", "roberta.pooler."}, []string{"bert.", "roberta."})
		if err != nil {
			return nil, nil, err
		}
		return &bertReranker{m: m, cfg: hf}, fresh, nil
	case "llm_decoder":
		qc, err := qwen2.ConfigFrom(hf)
		if err != nil {
			return nil, nil, err
		}
		m := qwen2.NewClassifier(qc, 1, rng)
		fresh, err := loadOptionalHead(m.NamedParams(""), w, []string{"score."}, []string{"model."})
		if err != nil {
			return nil, nil, err
		}
		return &qwenReranker{m: m, cfg: hf}, fresh, nil
	}
	return nil, nil, fmt.Errorf("train: model_type %q is not cross_encoder or llm_decoder", cfg.ModelType)
}

// modelSource returns the Hugging Face config and weights (nil for a fresh
// model).
func modelSource(cfg Config, vocabSize int) (*models.Config, models.Weights, error) {
	if cfg.ModelNameOrPath != "" {
		hf, err := models.LoadConfig(filepath.Join(cfg.ModelNameOrPath, "config.json"))
		if err != nil {
			return nil, nil, err
		}
		w, err := models.OpenWeights(cfg.ModelNameOrPath)
		if err != nil {
			return nil, nil, err
		}
		return hf, w, nil
	}
	mc := map[string]any{}
	for k, v := range cfg.ModelConfig {
		mc[k] = v
	}
	if _, ok := mc["vocab_size"]; !ok && vocabSize > 0 {
		mc["vocab_size"] = vocabSize
	}
	if _, ok := mc["model_type"]; !ok {
		if cfg.ModelType == "llm_decoder" {
			mc["model_type"] = "qwen2"
		} else {
			mc["model_type"] = "bert"
		}
	}
	b, err := json.Marshal(mc)
	if err != nil {
		return nil, nil, fmt.Errorf("train: model_config: %w", err)
	}
	hf, err := models.ParseConfig(b, cfg.Path+": model_config")
	if err != nil {
		return nil, nil, err
	}
	return hf, nil, nil
}

// loadOptionalHead fills params from w; names starting with one of
// headPrefixes may be missing and keep their fresh values.
func loadOptionalHead(params []nn.NamedParam, w models.Weights, headPrefixes, basePrefixes []string) ([]string, error) {
	if w == nil {
		return nil, nil
	}
	var fresh []string
	have := map[string]bool{}
	for _, n := range w.Names() {
		have[n] = true
	}
	optional := func(name string) bool {
		for _, p := range headPrefixes {
			if strings.HasPrefix(name, p) {
				fresh = append(fresh, name)
				return true
			}
		}
		return false
	}
	if err := models.LoadParams(params, w, models.LoadOptions{Prefixes: basePrefixes, Optional: optional}); err != nil {
		return nil, err
	}
	return fresh, nil
}

type bertReranker struct {
	m   *bert.Classifier
	cfg *models.Config
}

func (r *bertReranker) Params() []nn.NamedParam { return r.m.NamedParams("") }
func (r *bertReranker) Kind() string            { return "cross_encoder" }
func (r *bertReranker) PadID() int              { return r.m.Base.Cfg.PadID }

func (r *bertReranker) Scores(in Inputs, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
	logits, err := r.m.Forward(bert.Inputs{IDs: in.IDs, TypeIDs: in.TypeIDs, Mask: in.Mask},
		bert.RunOptions{Training: training, RNG: rng, Checkpoint: ckpt})
	if err != nil {
		return nil, err
	}
	return autograd.Select(logits, 1, 0), nil
}

func (r *bertReranker) Export(dir string) error {
	arch := "BertForSequenceClassification"
	if r.m.RoBERTa {
		arch = "XLMRobertaForSequenceClassification"
	}
	return models.Export(dir, r.Params(), models.ExportOptions{Config: r.cfg, Updates: exportUpdates(r.cfg, arch)})
}

type qwenReranker struct {
	m   *qwen2.Classifier
	cfg *models.Config
}

func (r *qwenReranker) Params() []nn.NamedParam { return r.m.NamedParams("") }
func (r *qwenReranker) Kind() string            { return "llm_decoder" }
func (r *qwenReranker) PadID() int              { return r.m.Base.Cfg.PadID }

func (r *qwenReranker) Scores(in Inputs, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
	s, err := r.m.Forward(qwen2.Inputs{IDs: in.IDs, Mask: in.Mask}, qwen2.RunOptions{Training: training, RNG: rng, Checkpoint: ckpt})
	if err != nil {
		return nil, err
	}
	return autograd.Select(s, 1, 0), nil
}

func (r *qwenReranker) Export(dir string) error {
	return models.Export(dir, r.Params(), models.ExportOptions{Config: r.cfg, Updates: exportUpdates(r.cfg, "Qwen2ForSequenceClassification")})
}

// exportUpdates sets the config.json keys of a one-label classifier.
func exportUpdates(c *models.Config, arch string) map[string]any {
	u := map[string]any{
		"architectures": []string{arch},
		"id2label":      map[string]string{"0": "LABEL_0"},
		"label2id":      map[string]int{"LABEL_0": 0},
	}
	if c.Raw == nil || c.Raw["model_type"] == nil {
		u["model_type"] = c.ModelType
	}
	return u
}
