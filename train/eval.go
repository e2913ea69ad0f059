package train

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/train/data"
)

// ErrNotTrainedReranker is wrapped by LoadReranker's error for a directory
// that holds no sequence-classification reranker this package trains (a
// ColBERT model, a causal LM scored by its "yes" logit, a bare encoder):
// the rerank package scores those.
var ErrNotTrainedReranker = errors.New("not a trained reranker")

// LoadReranker loads a reranker model directory (BERT / XLM-R cross-encoder
// or Qwen2 sequence classifier, the type read from config.json) with its
// tokenizer, ready to score.
func LoadReranker(dir string, maxLen int) (Reranker, data.PairEncoder, error) {
	hf, err := models.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, nil, err
	}
	cfg := DefaultConfig()
	cfg.ModelNameOrPath, cfg.Path = dir, dir
	cfg.MaxLen = maxLen
	switch hf.ModelType {
	case "qwen2":
		cfg.ModelType = "llm_decoder"
	case "bert", "roberta", "xlm-roberta", "camembert":
		cfg.ModelType = "cross_encoder"
	default:
		return nil, nil, fmt.Errorf("train: %s: model_type %q is not a supported reranker (bert, xlm-roberta, qwen2): %w", hf.Path, hf.ModelType, ErrNotTrainedReranker)
	}
	run := &rerankRun{cfg: cfg}
	if err := run.loadTokenizer(); err != nil {
		return nil, nil, err
	}
	m, fresh, err := BuildReranker(cfg, run.tok.VocabSize())
	if err != nil {
		return nil, nil, err
	}
	if len(fresh) > 0 {
		return nil, nil, fmt.Errorf("train: %s: missing %v: %w", dir, fresh, ErrNotTrainedReranker)
	}
	return m, run.enc, nil
}

// EvalReranker scores a reranker data file's queries with the model in dir
// on device dev (tensor.CPU, or a device whose precision the caller set)
// and returns the ranking metrics beside BM25's. An unavailable device is
// an error before the model is read.
func EvalReranker(dir, dataPath string, maxLen, batch int, opts data.Options, dev tensor.Device) (rep *EvalReport, err error) {
	if dev.Kind != tensor.KindCPU {
		if _, err := tensor.BackendFor(dev); err != nil {
			return nil, fmt.Errorf("train: device %s: %w", dev, err)
		}
	}
	m, enc, err := LoadReranker(dir, maxLen)
	if err != nil {
		return nil, err
	}
	if dev.Kind != tensor.KindCPU {
		if err := nn.MoveParams(m.Params(), dev); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		defer tensor.RecoverDeviceError(&err)
	}
	set, err := data.ReadReranker(dataPath, opts)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return EvaluateGroups(m, enc, set.Groups, batch)
}
