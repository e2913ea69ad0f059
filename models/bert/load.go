package bert

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/tensor"
)

// basePrefixes are the names task models nest the encoder under.
var basePrefixes = []string{"bert.", "roberta."}

// LoadModel builds the encoder described by cfg and fills it from w. The
// pooler is created when w holds pooler weights (under any base prefix).
func LoadModel(cfg *models.Config, w models.Weights) (*Model, error) {
	c, err := ConfigFrom(cfg)
	if err != nil {
		return nil, err
	}
	hasPooler := false
	for _, n := range w.Names() {
		if strings.HasSuffix(n, "pooler.dense.weight") {
			hasPooler = true
		}
	}
	m := New(c, hasPooler, tensor.NewRNG(0))
	if err := models.LoadParams(m.NamedParams(""), w, models.LoadOptions{Prefixes: basePrefixes}); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadDir loads config.json and the weights of a model directory.
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
	m, err := LoadModel(cfg, w)
	if err != nil {
		return nil, fmt.Errorf("bert: loading %s: %w", dir, err)
	}
	return m, nil
}
