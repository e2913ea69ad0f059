package models

import (
	"encoding/json"
	"fmt"
	"os"
)

// Config is a Hugging Face config.json, with the fields ragr's architectures
// read. Raw keeps every key, so export can write the file back unchanged.
type Config struct {
	Architectures         []string          `json:"architectures"`
	ModelType             string            `json:"model_type"`
	VocabSize             int               `json:"vocab_size"`
	HiddenSize            int               `json:"hidden_size"`
	NumHiddenLayers       int               `json:"num_hidden_layers"`
	NumAttentionHeads     int               `json:"num_attention_heads"`
	NumKeyValueHeads      int               `json:"num_key_value_heads"`
	IntermediateSize      int               `json:"intermediate_size"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"`
	TypeVocabSize         int               `json:"type_vocab_size"`
	HiddenAct             string            `json:"hidden_act"`
	LayerNormEps          float64           `json:"layer_norm_eps"`
	RMSNormEps            float64           `json:"rms_norm_eps"`
	RopeTheta             float64           `json:"rope_theta"`
	InitializerRange      float64           `json:"initializer_range"`
	HiddenDropoutProb     float64           `json:"hidden_dropout_prob"`
	AttentionDropoutProb  float64           `json:"attention_probs_dropout_prob"`
	AttentionDropout      float64           `json:"attention_dropout"`
	ClassifierDropout     *float64          `json:"classifier_dropout"`
	PadTokenID            *int              `json:"pad_token_id"`
	BosTokenID            *int              `json:"bos_token_id"`
	EosTokenID            any               `json:"eos_token_id"`
	TieWordEmbeddings     bool              `json:"tie_word_embeddings"`
	NumLabels             int               `json:"num_labels"`
	ID2Label              map[string]string `json:"id2label"`
	PositionEmbeddingType string            `json:"position_embedding_type"`
	TorchDtype            string            `json:"torch_dtype"`

	// Raw holds every key of the file.
	Raw map[string]any `json:"-"`
	// Path is the file the config came from ("" when built in code).
	Path string `json:"-"`
}

// LoadConfig reads and validates a config.json.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("models: reading config: %w", err)
	}
	return ParseConfig(b, path)
}

// ParseConfig parses config.json bytes; path names the source in errors.
func ParseConfig(b []byte, path string) (*Config, error) {
	c := &Config{Path: path}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("models: %s: malformed config.json: %w", path, err)
	}
	if err := json.Unmarshal(b, &c.Raw); err != nil {
		return nil, fmt.Errorf("models: %s: malformed config.json: %w", path, err)
	}
	if c.ModelType == "" && len(c.Architectures) == 0 {
		return nil, fmt.Errorf("models: %s: config has neither model_type nor architectures", path)
	}
	if c.NumLabels == 0 {
		c.NumLabels = len(c.ID2Label)
	}
	if c.NumLabels == 0 {
		c.NumLabels = 2 // transformers' PretrainedConfig default
	}
	return c, nil
}

// Architecture returns the first entry of architectures ("" when absent).
func (c *Config) Architecture() string {
	if len(c.Architectures) == 0 {
		return ""
	}
	return c.Architectures[0]
}

// Require returns an error naming the file and field when any listed
// integer field is not positive.
func (c *Config) Require(fields map[string]int) error {
	for name, v := range fields {
		if v <= 0 {
			return fmt.Errorf("models: %s: config field %s = %d, want a positive value", c.Path, name, v)
		}
	}
	return nil
}
