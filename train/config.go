package train

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is a training run's configuration. YAML keys are RAG-Retrieval's
// (rag_retrieval/train/reranker/config/*.yaml) where it has them.
type Config struct {
	// ModelNameOrPath is a model directory (config.json + weights +
	// tokenizer) to fine-tune; empty means a fresh model from ModelConfig.
	ModelNameOrPath string `yaml:"model_name_or_path"`
	// ModelType is "cross_encoder" (BERT / XLM-R) or "llm_decoder" (Qwen2
	// sequence classification), as in RAG-Retrieval.
	ModelType string `yaml:"model_type"`
	// ModelConfig holds config.json fields for a fresh model.
	ModelConfig map[string]any `yaml:"model_config"`
	// Tokenizer is a directory with tokenizer files (default: the model's).
	Tokenizer string `yaml:"tokenizer"`

	TrainDataset string `yaml:"train_dataset"`
	ValDataset   string `yaml:"val_dataset"`
	// ValProportion holds out this share of the training queries for
	// evaluation when ValDataset is empty.
	ValProportion float64 `yaml:"val_proportion"`
	OutputDir     string  `yaml:"output_dir"`

	LossType string `yaml:"loss_type"`
	// Sampling is how training groups are drawn: top_positive (one
	// positive and train_group_size-1 negatives per query), chunks
	// (RAG-Retrieval's grouped dataset) or pointwise; empty picks
	// top_positive, or pointwise for a pointwise loss with group size 1.
	Sampling string `yaml:"sampling"`
	// NoReplacement makes a query with too few negatives an error instead
	// of drawing its negatives repeatedly.
	NoReplacement bool `yaml:"no_replacement"`
	// QueryFormat, DocumentFormat, Sep and SpecialToken shape decoder
	// reranker inputs (RAG-Retrieval's LLM reranker template).
	QueryFormat    string  `yaml:"query_format"`
	DocumentFormat string  `yaml:"document_format"`
	Sep            string  `yaml:"seq"`
	SpecialToken   string  `yaml:"special_token"`
	LR             float64 `yaml:"lr"`
	Epochs         int     `yaml:"epochs"`
	BatchSize      int     `yaml:"batch_size"`
	TrainGroupSize int     `yaml:"train_group_size"`
	MaxLen         int     `yaml:"max_len"`
	Seed           int64   `yaml:"seed"`
	// MaxSteps stops training after this many optimizer steps (0: no limit).
	MaxSteps int `yaml:"max_steps"`

	Scheduler        string  `yaml:"lr_scheduler_type"`
	WarmupProportion float64 `yaml:"warmup_proportion"`
	StableProportion float64 `yaml:"stable_proportion"`
	WeightDecay      float64 `yaml:"weight_decay"`
	MaxGradNorm      float64 `yaml:"max_grad_norm"`
	GradAccum        int     `yaml:"gradient_accumulation_steps"`

	MinLabel *float64 `yaml:"min_label"`
	MaxLabel *float64 `yaml:"max_label"`

	LogInterval        int    `yaml:"log_interval"`
	EvalSteps          int    `yaml:"eval_steps"`
	SaveSteps          int    `yaml:"save_steps"`
	SaveOnEpochEnd     bool   `yaml:"save_on_epoch_end"`
	NumMaxCheckpoints  int    `yaml:"num_max_checkpoints"`
	GradientCheckpoint bool   `yaml:"gradient_checkpointing"`
	SkipBadLines       bool   `yaml:"skip_bad_lines"`
	Device             string `yaml:"device"`
	// MixedPrecision is RAG-Retrieval's (accelerate's) mixed_precision: on
	// a device, "" or bf16 trains with bf16 matmuls and attention over
	// fp32 master weights, no trains in fp32, fp16 is taken as bf16 (with
	// a note: same tensor cores, fp32's range, no loss scaling). The CPU
	// computes in float32 whatever it says (a note for bf16 / fp16).
	MixedPrecision string `yaml:"mixed_precision"`
	// Pooling is the embedding mode's pooling, cls or mean (empty: the
	// checkpoint's sentence-transformers pooling, else cls).
	Pooling string `yaml:"pooling"`
	// Temperature is the embedding losses' softmax temperature (0: 0.02).
	Temperature float64 `yaml:"temperature"`
	// NegNums is the number of hard negatives drawn per query each epoch
	// from triplet embedding data (0: train_group_size-1).
	NegNums int `yaml:"neg_nums"`
	// MRLDims, when set, trains the embedding Matryoshka-style over these
	// leading dimensions (RAG-Retrieval use_mrl + mrl_dims).
	MRLDims IntList `yaml:"mrl_dims"`
	// QueryMaxLen and PassageMaxLen cut queries and documents of the
	// embedding and ColBERT modes (RAG-Retrieval query_max_len,
	// passage_max_len; 0: max_len).
	QueryMaxLen   int `yaml:"query_max_len"`
	PassageMaxLen int `yaml:"passage_max_len"`
	// ColBERTDim is the width of colbert_linear, the ColBERT token vectors
	// (nil: the checkpoint's colbert_linear, else 768 as RAG-Retrieval).
	ColBERTDim *int `yaml:"colbert_dim"`
	// UseMRL false turns mrl_dims off (RAG-Retrieval use_mrl); unset keeps
	// mrl_dims as given.
	UseMRL *bool `yaml:"use_mrl"`

	// TrainType is the embedding mode's RAG-Retrieval train_type: "train"
	// (default) or "distill" (Jasper/Stella distillation from
	// train_dataset_vec; see TrainDistillEmbedding).
	TrainType string `yaml:"train_type"`
	// TrainDatasetVec holds the teacher embeddings of distillation, row i
	// for line i of train_dataset: a .safetensors file (one 2-D tensor) or
	// RAG-Retrieval's raw float32 np.memmap of rows × teatch_emebedding_dim.
	TrainDatasetVec string `yaml:"train_dataset_vec"`
	// TrainDatasetVecTensor names the tensor of a safetensors
	// train_dataset_vec holding several (default: its only tensor).
	TrainDatasetVecTensor string `yaml:"train_dataset_vec_tensor"`
	// TeacherDim is the teacher's embedding width (RAG-Retrieval's key,
	// spelled as there): required for a raw train_dataset_vec, checked
	// against a safetensors one.
	TeacherDim int `yaml:"teatch_emebedding_dim"`
	// Shuffle false keeps distillation's data in file order every epoch
	// (RAG-Retrieval shuffle; default true).
	Shuffle *bool `yaml:"shuffle"`
	// CosineLossWeight, SimilarityLossWeight and TripletLossWeight weigh
	// the Jasper/Stella terms (default 10, 200, 20); TripletMargin is the
	// relative ranking margin (default 0.015).
	CosineLossWeight     *float64 `yaml:"cosine_loss_weight"`
	SimilarityLossWeight *float64 `yaml:"similarity_loss_weight"`
	TripletLossWeight    *float64 `yaml:"triplet_loss_weight"`
	TripletMargin        *float64 `yaml:"triplet_margin"`
	// DistillTemperature is the temperature T of the distill_kl and
	// distill_soft_ce reranker losses (0: 1).
	DistillTemperature float64 `yaml:"distill_temperature"`
	// EvalCorpus, EvalQueries and EvalQrels are a retrieval evaluation
	// set for embedding training (corpus and queries JSONL {"id","text"},
	// qrels JSONL or TSV; see train/embedeval), evaluated like val_dataset.
	EvalCorpus  string `yaml:"eval_corpus"`
	EvalQueries string `yaml:"eval_queries"`
	EvalQrels   string `yaml:"eval_qrels"`
	// EvalSTS is an STS pair file (zh STS-B "s1\ts2\tscore" or the
	// English STS benchmark TSV) whose Spearman correlation embedding
	// training reports; EvalSTSSplit picks the split of a file with a
	// split column.
	EvalSTS      string `yaml:"eval_sts"`
	EvalSTSSplit string `yaml:"eval_sts_split"`
	// GCPercent is the heap growth the Go collector allows between
	// collections during training (GOGC; default 25): lower keeps peak
	// memory near the live tensors at a small CPU cost. The GOGC
	// environment variable, when set, wins.
	GCPercent int `yaml:"gc_percent"`

	// Ignored are RAG-Retrieval keys ragr accepts and does not use
	// (log_with, mixed_precision on the CPU, …), kept for the warning.
	Ignored map[string]any `yaml:"-"`
	// Path is the file the config was read from.
	Path string `yaml:"-"`
}

// ignoredKeys are RAG-Retrieval keys accepted without effect, with why.
var ignoredKeys = map[string]string{
	"log_with":     "ragr logs to metrics.jsonl and a PNG",
	"shuffle_rate": "not used",
	"project_name": "not used",
}

// DefaultGCPercent is the trainer's default GC percent (see
// Config.GCPercent).
const DefaultGCPercent = 25

// DefaultConfig returns RAG-Retrieval's reranker defaults.
func DefaultConfig() Config {
	return Config{
		ModelType: "cross_encoder", LossType: "pointwise_bce", LR: 5e-5, Epochs: 2, BatchSize: 8,
		TrainGroupSize: 8, MaxLen: 512, Seed: 666, Scheduler: "cosine", WarmupProportion: 0.1,
		WeightDecay: 0.01, MaxGradNorm: 1.0, GradAccum: 1, LogInterval: 10, SaveOnEpochEnd: true,
		NumMaxCheckpoints: 3, OutputDir: "output", GCPercent: DefaultGCPercent,
	}
}

// LoadConfig reads a YAML config over the defaults. Unknown keys are errors
// naming the file and the key; RAG-Retrieval keys ragr does not use are
// kept in Ignored.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("train: reading config: %w", err)
	}
	if err := c.parse(b, path); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Config) parse(b []byte, path string) error {
	c.Path = path
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("train: %s: malformed YAML: %w", path, err)
	}
	c.Ignored = map[string]any{}
	// RAG-Retrieval's argparse takes save_on_epoch_end as 0 or 1.
	if v, ok := raw["save_on_epoch_end"].(int); ok && (v == 0 || v == 1) {
		raw["save_on_epoch_end"] = v == 1
	}
	// RAG-Retrieval spells the epoch count "epoch".
	if v, ok := raw["epoch"]; ok {
		if _, both := raw["epochs"]; both {
			return fmt.Errorf("train: %s: both epoch and epochs are set", path)
		}
		raw["epochs"] = v
		delete(raw, "epoch")
	}
	for k, v := range raw {
		if _, ok := ignoredKeys[k]; ok {
			c.Ignored[k] = v
			delete(raw, k)
		}
	}
	clean, err := yaml.Marshal(raw)
	if err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(clean))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	if c.UseMRL != nil && !*c.UseMRL {
		c.MRLDims = nil
	}
	// Relative paths are relative to the config file.
	base := filepath.Dir(path)
	for _, p := range []*string{&c.ModelNameOrPath, &c.Tokenizer, &c.TrainDataset, &c.ValDataset, &c.OutputDir, &c.TrainDatasetVec,
		&c.EvalCorpus, &c.EvalQueries, &c.EvalQrels, &c.EvalSTS} {
		if *p != "" && !filepath.IsAbs(*p) && base != "" {
			if _, err := os.Stat(*p); err != nil {
				*p = filepath.Join(base, *p)
			}
		}
	}
	return nil
}

// ParseConfig reads a YAML config from b over the defaults, as LoadConfig
// does for a file; path names it in messages and anchors relative paths.
func ParseConfig(b []byte, path string) (Config, error) {
	c := DefaultConfig()
	if err := c.parse(b, path); err != nil {
		return c, err
	}
	return c, nil
}

// Set applies one "key=value" override with the YAML key names (flags
// override config keys).
func (c *Config) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("train: override %q is not key=value", kv)
	}
	path := c.Path
	cur, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	var raw map[string]any
	if err := yaml.Unmarshal(cur, &raw); err != nil {
		return err
	}
	var val any
	if err := yaml.Unmarshal([]byte(v), &val); err != nil {
		return fmt.Errorf("train: override %s: %w", k, err)
	}
	if k == "epoch" {
		k = "epochs"
	}
	raw[k] = val
	b, err := yaml.Marshal(raw)
	if err != nil {
		return err
	}
	ignored := c.Ignored
	next := DefaultConfig()
	if err := next.parse(b, "override "+k); err != nil {
		return err
	}
	next.Path, next.Ignored = path, ignored
	for key, val := range next.Ignored {
		ignored[key] = val
	}
	*c = next
	return nil
}

// Validate checks the config before any data or model is loaded.
func (c *Config) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.TrainDataset == "" {
		add("train_dataset is required")
	}
	if c.ModelNameOrPath == "" && c.ModelConfig == nil {
		add("model_name_or_path or model_config is required")
	}
	switch c.ModelType {
	case "cross_encoder", "llm_decoder":
	default:
		add("model_type %q is not cross_encoder or llm_decoder", c.ModelType)
	}
	if c.LR <= 0 {
		add("lr must be positive (got %g)", c.LR)
	}
	if c.Epochs <= 0 {
		add("epochs must be positive (got %d)", c.Epochs)
	}
	if c.BatchSize <= 0 {
		add("batch_size must be positive (got %d)", c.BatchSize)
	}
	if c.TrainGroupSize <= 0 {
		add("train_group_size must be positive (got %d)", c.TrainGroupSize)
	}
	if c.MaxLen < 8 {
		add("max_len must be at least 8 (got %d)", c.MaxLen)
	}
	if c.GradAccum <= 0 {
		add("gradient_accumulation_steps must be positive (got %d)", c.GradAccum)
	}
	if c.WarmupProportion < 0 || c.WarmupProportion > 1 || c.StableProportion < 0 || c.WarmupProportion+c.StableProportion > 1 {
		add("warmup_proportion and stable_proportion must be in [0, 1] and sum to at most 1")
	}
	if c.ValProportion < 0 || c.ValProportion >= 1 {
		add("val_proportion must be in [0, 1)")
	}
	if c.MinLabel != nil && c.MaxLabel != nil && *c.MaxLabel <= *c.MinLabel {
		add("max_label (%g) must exceed min_label (%g)", *c.MaxLabel, *c.MinLabel)
	}
	for _, l := range []struct {
		key string
		n   int
	}{{"query_max_len", c.QueryMaxLen}, {"passage_max_len", c.PassageMaxLen}} {
		if l.n != 0 && l.n < 8 {
			add("%s must be at least 8 (got %d; 0 means max_len)", l.key, l.n)
		}
	}
	if c.DistillTemperature < 0 || math.IsNaN(c.DistillTemperature) || math.IsInf(c.DistillTemperature, 0) {
		add("distill_temperature must be a positive number (got %g)", c.DistillTemperature)
	}
	if c.NumMaxCheckpoints < 0 || c.SaveSteps < 0 || c.EvalSteps < 0 || c.MaxSteps < 0 {
		add("num_max_checkpoints, save_steps, eval_steps and max_steps must not be negative")
	}
	if _, err := c.device(); err != nil {
		add("%v", err)
	}
	switch c.MixedPrecision {
	case "", "no", "bf16", "fp16":
	default:
		add("mixed_precision %q is not no, bf16 or fp16", c.MixedPrecision)
	}
	if len(errs) > 0 {
		src := c.Path
		if src == "" {
			src = "config"
		}
		return fmt.Errorf("train: %s: %s", src, strings.Join(errs, "; "))
	}
	return nil
}

// queryMaxLen is the token limit of queries (query_max_len, else max_len).
func (c *Config) queryMaxLen() int {
	if c.QueryMaxLen > 0 {
		return c.QueryMaxLen
	}
	return c.MaxLen
}

// passageMaxLen is the token limit of documents (passage_max_len, else
// max_len).
func (c *Config) passageMaxLen() int {
	if c.PassageMaxLen > 0 {
		return c.PassageMaxLen
	}
	return c.MaxLen
}

// IntList is a YAML list of integers that also reads RAG-Retrieval's
// comma-separated string form ("256,512,1024").
type IntList []int

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *IntList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		*l = nil
		for _, f := range strings.Split(n.Value, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			v, err := strconv.Atoi(f)
			if err != nil {
				return fmt.Errorf("line %d: %q is not a list of integers", n.Line, n.Value)
			}
			*l = append(*l, v)
		}
		return nil
	}
	var v []int
	if err := n.Decode(&v); err != nil {
		return err
	}
	*l = v
	return nil
}
