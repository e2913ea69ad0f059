package rerank

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/tensor"
)

// Reranker scores (query, document) pairs. Implementations are safe for
// concurrent use.
type Reranker interface {
	// Rank scores every document against query and returns them ranked.
	// Documents are identified by their index in docs.
	Rank(ctx context.Context, query string, docs []string, opts Options) (RankedResults, error)
	// ComputeScore returns one score per pair, in the order of pairs.
	ComputeScore(ctx context.Context, pairs []Pair, opts Options) ([]float32, error)
	// Family names the implementation ("cross-encoder", "qwen2-seqcls",
	// "causal-lm-yes", "colbert").
	Family() string
}

// TokenScorer is implemented by every built-in Reranker: it scores pairs
// given as token ids (the content ids of query and document, without
// special tokens), the entry point for checks against fixtures produced
// without a tokenizer.
type TokenScorer interface {
	ScoreTokens(ctx context.Context, pairs []TokenPair, opts Options) ([]float32, error)
}

// Pair is one (query, document) pair of texts.
type Pair struct {
	Query, Doc string
}

// TokenPair is one (query, document) pair of content token ids (no special
// tokens; the template adds them).
type TokenPair struct {
	Query, Doc []int32
}

// Strategy is the long-document strategy.
type Strategy int

const (
	// MaxScoreSlice cuts a document too long for the window into
	// overlapping windows and scores it with the best window
	// (RAG-Retrieval's default "max_score_slice").
	MaxScoreSlice Strategy = iota
	// Truncate keeps the first tokens of the document that fit
	// (RAG-Retrieval's "max_length_truncation").
	Truncate
)

// String names the strategy as RAG-Retrieval does.
func (s Strategy) String() string {
	switch s {
	case MaxScoreSlice:
		return "max_score_slice"
	case Truncate:
		return "max_length_truncation"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// ParseStrategy parses "max_score_slice"/"slice" or
// "max_length_truncation"/"truncate".
func ParseStrategy(s string) (Strategy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "max_score_slice", "slice", "":
		return MaxScoreSlice, nil
	case "max_length_truncation", "truncate", "truncation":
		return Truncate, nil
	}
	return 0, fmt.Errorf("rerank: unknown long-document strategy %q (want max_score_slice or max_length_truncation)", s)
}

// DefaultOverlap is RAG-Retrieval's overlap_tokens_length.
const DefaultOverlap = 80

// DefaultBatchSize is the batch size used when Options.BatchSize is 0.
const DefaultBatchSize = 32

// Options control one call.
type Options struct {
	// MaxLength is the longest row in tokens, special tokens included
	// (0: the model's default, LoadOptions.MaxLength or 512, capped by its
	// position table).
	MaxLength int
	// BatchSize is the number of rows per forward pass (0: 32).
	BatchSize int
	// Normalize applies a sigmoid to the scores (cross-encoders and
	// decoder rerankers; ignored by ColBERT, whose scores are cosine
	// averages).
	Normalize bool
	// Strategy handles documents longer than the window.
	Strategy Strategy
	// Overlap is the overlap between windows of MaxScoreSlice in tokens
	// (0: DefaultOverlap; negative: no overlap). It is capped at 2/7 of
	// the window as RAG-Retrieval does.
	Overlap int
}

// Result is one ranked document.
type Result struct {
	// Index is the document's position in the caller's docs.
	Index int `json:"index"`
	// Score is its score.
	Score float32 `json:"score"`
	// Doc is the document text.
	Doc string `json:"doc,omitempty"`
}

// RankedResults are a query's documents ranked by score.
type RankedResults struct {
	// Query is the query.
	Query string `json:"query"`
	// Results are sorted by decreasing score (ties by index).
	Results []Result `json:"results"`
	// Scores are the scores in the caller's order of documents.
	Scores []float32 `json:"scores"`
}

// NewRankedResults ranks docs by scores (same length).
func NewRankedResults(query string, docs []string, scores []float32) RankedResults {
	if len(docs) != len(scores) {
		panic(fmt.Sprintf("rerank.NewRankedResults: %d docs, %d scores", len(docs), len(scores)))
	}
	r := RankedResults{Query: query, Scores: scores, Results: make([]Result, len(docs))}
	for i := range docs {
		r.Results[i] = Result{Index: i, Score: scores[i], Doc: docs[i]}
	}
	sort.SliceStable(r.Results, func(a, b int) bool {
		sa, sb := r.Results[a].Score, r.Results[b].Score
		if sa != sb {
			return sa > sb || (math.IsNaN(float64(sb)) && !math.IsNaN(float64(sa)))
		}
		return r.Results[a].Index < r.Results[b].Index
	})
	return r
}

// TopK returns the k best results (all when k <= 0 or k >= len).
func (r RankedResults) TopK(k int) []Result {
	if k <= 0 || k >= len(r.Results) {
		return r.Results
	}
	return r.Results[:k]
}

// ScoreByDocID returns the score of the document with index id.
func (r RankedResults) ScoreByDocID(id int) (float32, bool) {
	if id < 0 || id >= len(r.Scores) {
		return 0, false
	}
	return r.Scores[id], true
}

// InputError is an error caused by the caller's data (an empty document, a
// token id outside the vocabulary, a bad option); servers map it to 4xx.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return "rerank: " + e.Msg }

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// IsInputError reports whether err is (or wraps) an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// LoadOptions configure Load.
type LoadOptions struct {
	// MaxLength is the default Options.MaxLength (0: 512, capped by the
	// model's position table).
	MaxLength int
	// Family forces an implementation by name (see Families); "" picks
	// one from the directory.
	Family string
	// Template gives the special-token template when the directory has no
	// tokenizer (only ScoreTokens works then).
	Template *Template
	// Prompt configures decoder rerankers; nil reads rerank.json from the
	// directory, else RAG-Retrieval's defaults.
	Prompt *PromptConfig
	// Device runs the model on a device (tensor.CUDA(i), tensor.Sim(i));
	// the zero value is the CPU. Its precision is the device's
	// (SetPrecision: float32 unless bf16 was asked for).
	Device tensor.Device
}

// PromptConfig is the text template of decoder rerankers (RAG-Retrieval's
// llm_decoder options), read from rerank.json in the model directory:
//
//	{"query_format": "query: {}", "document_format": "document: {}",
//	 "sep": " ", "special_token": "</s>", "yes_token": "Yes"}
type PromptConfig struct {
	// Family forces the implementation (like LoadOptions.Family).
	Family string `json:"family,omitempty"`
	// QueryFormat and DocumentFormat hold a "{}" placeholder.
	QueryFormat    string `json:"query_format"`
	DocumentFormat string `json:"document_format"`
	// Sep is the text between query and document.
	Sep string `json:"sep"`
	// SpecialToken closes the sequence (the prompt of a yes-logit reranker,
	// e.g. "\nIs the document relevant? Answer Yes or No.").
	SpecialToken string `json:"special_token"`
	// YesToken is the token whose logit is the score of a causal-LM
	// reranker.
	YesToken string `json:"yes_token,omitempty"`
	// YesID gives the yes token's id directly.
	YesID *int `json:"yes_id,omitempty"`
	// MaxLength is the default max length.
	MaxLength int `json:"max_length,omitempty"`
}

// Factory loads one family from a model directory.
type Factory func(dir string, cfg *models.Config, o LoadOptions) (Reranker, error)

type family struct {
	name   string
	detect func(dir string, cfg *models.Config) bool
	load   Factory
}

var (
	regMu    sync.Mutex
	families []family
)

// Register adds a model family: detect says whether a directory holds one
// (families registered first are tried first), load builds it.
func Register(name string, detect func(dir string, cfg *models.Config) bool, load Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	families = append(families, family{name, detect, load})
}

// Families lists the registered family names.
func Families() []string {
	regMu.Lock()
	defer regMu.Unlock()
	var n []string
	for _, f := range families {
		n = append(n, f.name)
	}
	return n
}

// Load reads a model directory and returns the Reranker for it, its
// parameters on o.Device (an unavailable device is an error before any
// weights are read).
func Load(dir string, o LoadOptions) (Reranker, error) {
	if err := checkDevice(o.Device); err != nil {
		return nil, err
	}
	cfg, err := models.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("rerank: %s: %w", dir, err)
	}
	if o.Prompt == nil {
		p, err := readPrompt(dir)
		if err != nil {
			return nil, err
		}
		o.Prompt = p
	}
	name := o.Family
	if name == "" && o.Prompt != nil {
		name = o.Prompt.Family
	}
	regMu.Lock()
	fams := append([]family(nil), families...)
	regMu.Unlock()
	for _, f := range fams {
		if (name != "" && f.name == name) || (name == "" && f.detect(dir, cfg)) {
			r, err := f.load(dir, cfg, o)
			if err != nil {
				return nil, err
			}
			if err := toDevice(r, o.Device); err != nil {
				return nil, err
			}
			return r, nil
		}
	}
	if name != "" {
		return nil, fmt.Errorf("rerank: unknown family %q (have %s)", name, strings.Join(Families(), ", "))
	}
	return nil, fmt.Errorf("rerank: %s: architecture %q (model_type %q) is not a reranker ragr knows (families: %s)", dir, cfg.Architecture(), cfg.ModelType, strings.Join(Families(), ", "))
}

func readPrompt(dir string) (*PromptConfig, error) {
	p := filepath.Join(dir, "rerank.json")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	var pc PromptConfig
	if err := jsonStrict(b, &pc); err != nil {
		return nil, fmt.Errorf("rerank: %s: %w", p, err)
	}
	return &pc, nil
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
