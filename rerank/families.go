package rerank

// families.go: the built-in families. Adding one = a type implementing
// Reranker (usually by embedding pairScorer and giving it a rowModel) plus
// one Register line in init.

import (
	"fmt"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/colbert"
	"github.com/ragr-dev/ragr/models/qwen2"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/tensor"
)

func init() {
	Register("colbert", func(dir string, _ *models.Config) bool { return colbert.HasLinear(dir) }, loadColBERT)
	Register("cross-encoder", archIn("BertForSequenceClassification", "XLMRobertaForSequenceClassification", "RobertaForSequenceClassification"), loadCrossEncoder)
	Register("qwen2-seqcls", archIn("Qwen2ForSequenceClassification"), loadQwen2SeqCls)
	Register("causal-lm-yes", archIn("Qwen2ForCausalLM"), loadCausalYes)
}

func archIn(names ...string) func(string, *models.Config) bool {
	return func(_ string, cfg *models.Config) bool {
		for _, n := range names {
			if cfg.Architecture() == n {
				return true
			}
		}
		return false
	}
}

// CrossEncoder is a BERT / XLM-R sequence-classification reranker with one
// label: the score is the logit (RAG-Retrieval's CrossEncoder; bge-reranker).
type CrossEncoder struct {
	pairScorer
	m *bert.Classifier
}

func (c *CrossEncoder) scoreBatch(b batch) (s []float32, err error) {
	autograd.NoGrad(func() {
		var l *autograd.Var
		l, err = c.m.Forward(bert.Inputs{IDs: b.ids, TypeIDs: b.types, Mask: b.mask}, bert.RunOptions{})
		if err == nil {
			s = column(l.Value, 0)
		}
	})
	return s, err
}

// column returns column j of t [N, W] on the host; on a device only the
// column is copied (a causal LM's yes logit out of [N, vocab]).
func column(t *tensor.Tensor, j int) []float32 {
	return t.Narrow(1, j, 1).Contiguous().Float32s()
}

func loadCrossEncoder(dir string, cfg *models.Config, o LoadOptions) (Reranker, error) {
	if cfg.NumLabels > 1 {
		return nil, fmt.Errorf("rerank: %s: num_labels %d: a cross-encoder reranker has one label", dir, cfg.NumLabels)
	}
	w, err := models.OpenWeights(dir)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	defer w.Close()
	m, err := bert.LoadClassifier(cfg, w)
	if err != nil {
		return nil, fmt.Errorf("rerank: %s: %w", dir, err)
	}
	c := &CrossEncoder{m: m}
	if err := c.setup(dir, o, "cross-encoder", m.Base.Cfg.VocabSize, bertPosMax(m.Base.Cfg), true); err != nil {
		return nil, err
	}
	c.model = c
	return c, nil
}

func bertPosMax(c bert.Config) int {
	if c.XLMR {
		return c.MaxPositions - c.PadID - 1
	}
	return c.MaxPositions
}

// setup fills the pairScorer: tokenizer, template (pair template of the
// tokenizer for encoders, or the prompt's parts for decoders).
func (p *pairScorer) setup(dir string, o LoadOptions, family string, vocab, posMax int, encoder bool) error {
	p.family, p.vocab, p.posMax, p.maxLen = family, vocab, posMax, defaultMaxLen(o)
	tok, err := loadTokenizer(dir)
	if err != nil {
		return err
	}
	p.tok = tok
	if o.Prompt != nil {
		p.qfmt, p.dfmt = o.Prompt.QueryFormat, o.Prompt.DocumentFormat
	}
	switch {
	case o.Template != nil:
		p.tmpl = o.Template
	case tok == nil:
		return fmt.Errorf("rerank: %s has no tokenizer (tokenizer.json or vocab.txt) and no LoadOptions.Template was given", dir)
	case encoder:
		if p.tmpl, err = PairTemplate(tok); err != nil {
			return fmt.Errorf("rerank: %s: %w", dir, err)
		}
	default:
		pc := defaultPrompt(o.Prompt)
		p.qfmt, p.dfmt = pc.QueryFormat, pc.DocumentFormat
		pad, ok := tok.TokenToID(tok.Special().EOS)
		if !ok || tok.Special().EOS == "" {
			if pad, ok = tok.PadID(); !ok {
				return fmt.Errorf("rerank: %s: the tokenizer has neither an EOS nor a padding token", dir)
			}
		}
		p.tmpl = &Template{Mid: tok.Encode(pc.Sep, false).IDs, Post: tok.Encode(pc.SpecialToken, false).IDs, PadID: pad}
	}
	return nil
}

// defaultPrompt fills RAG-Retrieval's LLMDecoder defaults into unset fields.
func defaultPrompt(p *PromptConfig) PromptConfig {
	var c PromptConfig
	if p != nil {
		c = *p
	} else {
		c = PromptConfig{Sep: " ", SpecialToken: "</s>"}
	}
	if c.QueryFormat == "" {
		c.QueryFormat = "query: {}"
	}
	if c.DocumentFormat == "" {
		c.DocumentFormat = "document: {}"
	}
	return c
}

// Qwen2SeqCls is a Qwen2ForSequenceClassification reranker (RAG-Retrieval's
// LLMDecoder): query_format(q) + sep + document_format(d) + special_token,
// scored at the last real token.
type Qwen2SeqCls struct {
	pairScorer
	m *qwen2.Classifier
}

func (q *Qwen2SeqCls) scoreBatch(b batch) (s []float32, err error) {
	autograd.NoGrad(func() {
		var l *autograd.Var
		l, err = q.m.Forward(qwen2.Inputs{IDs: b.ids, Mask: b.mask}, qwen2.RunOptions{})
		if err == nil {
			s = column(l.Value, 0)
		}
	})
	return s, err
}

func loadQwen2SeqCls(dir string, cfg *models.Config, o LoadOptions) (Reranker, error) {
	w, err := models.OpenWeights(dir)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	defer w.Close()
	m, err := qwen2.LoadClassifier(cfg, w)
	if err != nil {
		return nil, fmt.Errorf("rerank: %s: %w", dir, err)
	}
	m.Pool = qwen2.PoolLastMask // batches are padded here: score the last real token
	q := &Qwen2SeqCls{m: m}
	if err := q.setup(dir, o, "qwen2-seqcls", m.Base.Cfg.VocabSize, 0, false); err != nil {
		return nil, err
	}
	q.model = q
	return q, nil
}

// CausalYes is a causal-LM reranker: the prompt of PromptConfig around the
// pair, scored by the logit of YesToken at the last position (bge-reranker
// v2-gemma / Qwen3-Reranker style). The directory needs a rerank.json with
// yes_token (or yes_id).
type CausalYes struct {
	pairScorer
	m   *qwen2.CausalLM
	yes int
}

func (c *CausalYes) scoreBatch(b batch) (s []float32, err error) {
	autograd.NoGrad(func() {
		var o *qwen2.CausalLMOutput
		o, err = c.m.ForwardLast(qwen2.Inputs{IDs: b.ids, Mask: b.mask}, qwen2.RunOptions{})
		if err == nil {
			s = column(o.LastLogits.Value, c.yes)
		}
	})
	return s, err
}

func loadCausalYes(dir string, cfg *models.Config, o LoadOptions) (Reranker, error) {
	if o.Prompt == nil || (o.Prompt.YesToken == "" && o.Prompt.YesID == nil) {
		return nil, fmt.Errorf("rerank: %s: a causal LM reranks only with a rerank.json naming yes_token (the token whose logit is the score)", dir)
	}
	w, err := models.OpenWeights(dir)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	defer w.Close()
	m, err := qwen2.LoadCausalLM(cfg, w)
	if err != nil {
		return nil, fmt.Errorf("rerank: %s: %w", dir, err)
	}
	c := &CausalYes{m: m}
	if err := c.setup(dir, o, "causal-lm-yes", m.Base.Cfg.VocabSize, 0, false); err != nil {
		return nil, err
	}
	switch {
	case o.Prompt.YesID != nil:
		c.yes = *o.Prompt.YesID
	default:
		ids := c.tok.Encode(o.Prompt.YesToken, false).IDs
		if len(ids) != 1 {
			return nil, fmt.Errorf("rerank: %s: yes_token %q is %d tokens, want 1", dir, o.Prompt.YesToken, len(ids))
		}
		c.yes = int(ids[0])
	}
	if c.yes < 0 || c.yes >= m.Base.Cfg.VocabSize {
		return nil, fmt.Errorf("rerank: %s: yes id %d outside the vocabulary", dir, c.yes)
	}
	c.model = c
	return c, nil
}

// NewCrossEncoder wraps an in-memory classifier (one label) as a Reranker:
// tok may be nil (ScoreTokens only); tmpl nil derives the pair template
// from tok; maxLen 0 means 512.
func NewCrossEncoder(m *bert.Classifier, tok *tokenizer.Tokenizer, tmpl *Template, maxLen int) (*CrossEncoder, error) {
	c := &CrossEncoder{m: m}
	c.family, c.vocab, c.posMax, c.maxLen, c.tok, c.tmpl = "cross-encoder", m.Base.Cfg.VocabSize, bertPosMax(m.Base.Cfg), 512, tok, tmpl
	if maxLen > 0 {
		c.maxLen = maxLen
	}
	if tmpl == nil {
		if tok == nil {
			return nil, fmt.Errorf("rerank: NewCrossEncoder needs a tokenizer or a template")
		}
		var err error
		if c.tmpl, err = PairTemplate(tok); err != nil {
			return nil, err
		}
	}
	c.model = c
	return c, nil
}
