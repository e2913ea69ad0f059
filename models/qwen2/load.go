package qwen2

import (
	"fmt"
	"path/filepath"

	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/tensor"
)

// basePrefixes are the names task models nest the decoder under: with them
// a Qwen2Model file loads into a task model and a task model's file into a
// bare Qwen2Model.
var basePrefixes = []string{"model."}

// LoadModel builds the decoder described by cfg and fills it from w (a
// Qwen2Model file, or a task model's file whose decoder is under "model.").
func LoadModel(cfg *models.Config, w models.Weights) (*Model, error) {
	c, err := ConfigFrom(cfg)
	if err != nil {
		return nil, err
	}
	m := New(c, tensor.NewRNG(0))
	if err := models.LoadParams(m.NamedParams(""), w, models.LoadOptions{Prefixes: basePrefixes}); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadCausalLM builds a Qwen2ForCausalLM from cfg and fills it from w.
// lm_head.weight is required unless tie_word_embeddings is set, in which
// case the head shares embed_tokens and a stored lm_head.weight is ignored.
func LoadCausalLM(cfg *models.Config, w models.Weights) (*CausalLM, error) {
	c, err := ConfigFrom(cfg)
	if err != nil {
		return nil, err
	}
	m := NewCausalLM(c, tensor.NewRNG(0))
	if err := models.LoadParams(m.NamedParams(""), w, models.LoadOptions{Prefixes: basePrefixes}); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadClassifier builds a Qwen2ForSequenceClassification with
// cfg.NumLabels labels and fills it from w. The pooling rule is
// PoolFirstPad (transformers 4.40.2).
func LoadClassifier(cfg *models.Config, w models.Weights) (*Classifier, error) {
	c, err := ConfigFrom(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.NumLabels <= 0 {
		return nil, fmt.Errorf("qwen2: %s: num_labels %d", cfg.Path, cfg.NumLabels)
	}
	m := NewClassifier(c, cfg.NumLabels, tensor.NewRNG(0))
	if err := models.LoadParams(m.NamedParams(""), w, models.LoadOptions{Prefixes: basePrefixes}); err != nil {
		return nil, err
	}
	return m, nil
}

// openDir reads a model directory's config and opens its weights.
func openDir(dir string) (*models.Config, models.Weights, error) {
	cfg, err := models.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, nil, err
	}
	w, err := models.OpenWeights(dir)
	if err != nil {
		return nil, nil, err
	}
	return cfg, w, nil
}

// LoadDir loads the decoder (Qwen2Model) of a model directory.
func LoadDir(dir string) (*Model, error) {
	cfg, w, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	m, err := LoadModel(cfg, w)
	if err != nil {
		return nil, fmt.Errorf("qwen2: loading %s: %w", dir, err)
	}
	return m, nil
}

// LoadCausalLMDir loads a Qwen2ForCausalLM directory.
func LoadCausalLMDir(dir string) (*CausalLM, error) {
	cfg, w, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	m, err := LoadCausalLM(cfg, w)
	if err != nil {
		return nil, fmt.Errorf("qwen2: loading %s: %w", dir, err)
	}
	return m, nil
}

// LoadClassifierDir loads a Qwen2ForSequenceClassification directory.
func LoadClassifierDir(dir string) (*Classifier, error) {
	cfg, w, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	m, err := LoadClassifier(cfg, w)
	if err != nil {
		return nil, fmt.Errorf("qwen2: loading %s: %w", dir, err)
	}
	return m, nil
}
