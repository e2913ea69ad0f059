package data

// batch.go: tokenizing batches with dynamic padding. CrossEncoder follows
// RAG-Retrieval's model_bert.py CrossEncoder.preprocess (query_format /
// document_format, strip, truncation only_second, padding longest);
// DecoderEncoder follows model_llm.py LLMDecoder.preprocess (query ids +
// seq ids + document ids truncated to what is left + special_token ids,
// padding longest with the EOS token, right side).

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/tensor"
)

// Encoded is a padded batch of token rows, row-major [Rows, Len].
type Encoded struct {
	// IDs are the token ids.
	IDs []int32
	// TypeIDs are the segment ids (nil for encoders without them).
	TypeIDs []int32
	// Mask is 1 for tokens and 0 for padding.
	Mask []int32
	// Rows and Len are the shape.
	Rows, Len int
}

// Tensors wraps the rows as int32 tensors [Rows, Len] (no copy); typeIDs is
// nil when the encoding has none.
func (e *Encoded) Tensors() (ids, typeIDs, mask *tensor.Tensor) {
	ids = tensor.FromInt32(e.IDs, e.Rows, e.Len)
	mask = tensor.FromInt32(e.Mask, e.Rows, e.Len)
	if e.TypeIDs != nil {
		typeIDs = tensor.FromInt32(e.TypeIDs, e.Rows, e.Len)
	}
	return ids, typeIDs, mask
}

// PairEncoder tokenizes (query, document) pairs into one padded batch.
type PairEncoder interface {
	// EncodePairs encodes the pairs (queries[i], docs[i]); the slices have
	// the same length.
	EncodePairs(queries, docs []string) (Encoded, error)
}

// applyFormat replaces "{}" in format with text, as Python's
// format.format(text) for the single-placeholder templates RAG-Retrieval
// uses. An empty format is "{}".
func applyFormat(format, text string) string {
	if format == "" {
		return text
	}
	return strings.Replace(format, "{}", text, 1)
}

func checkFormat(name, format string) error {
	if format != "" && !strings.Contains(format, "{}") {
		return fmt.Errorf("data: %s %q has no {} placeholder", name, format)
	}
	return nil
}

// pad writes rows into an Encoded padded to the longest row.
func pad(rows [][]int32, types [][]int32, padID int32, left bool) Encoded {
	L := 0
	for _, r := range rows {
		L = max(L, len(r))
	}
	e := Encoded{Rows: len(rows), Len: L}
	e.IDs = make([]int32, len(rows)*L)
	e.Mask = make([]int32, len(rows)*L)
	if types != nil {
		e.TypeIDs = make([]int32, len(rows)*L)
	}
	for i, r := range rows {
		off := i * L
		if left {
			off += L - len(r)
		}
		for j := range L {
			e.IDs[i*L+j] = padID
		}
		copy(e.IDs[off:], r)
		for j := range r {
			e.Mask[off+j] = 1
		}
		if types != nil {
			copy(e.TypeIDs[off:], types[i])
		}
	}
	return e
}

// CrossEncoder encodes pairs for BERT-style cross-encoders:
// [CLS] query [SEP] document [SEP] with type ids 0/1, truncated to MaxLen
// and padded to the longest pair of the batch (right side, the tokenizer's
// padding token, type id 0). It is safe for concurrent use.
type CrossEncoder struct {
	tok       *tokenizer.Tokenizer
	opts      tokenizer.Options
	padID     int32
	queryFmt  string
	docFmt    string
	fallbacks atomic.Int64
}

// CrossEncoderConfig configures a CrossEncoder.
type CrossEncoderConfig struct {
	// MaxLen is max_len, special tokens included (> 0).
	MaxLen int
	// Truncation is tokenizer.OnlySecond (RAG-Retrieval's CrossEncoder)
	// or tokenizer.LongestFirst; TruncateNone means OnlySecond. With
	// OnlySecond a query too long to leave room for any document token is
	// encoded with LongestFirst instead of failing (Hugging Face raises).
	Truncation tokenizer.Truncation
	// QueryFormat and DocumentFormat are RAG-Retrieval's query_format /
	// document_format ("{}" placeholder; "" means "{}").
	QueryFormat, DocumentFormat string
}

// NewCrossEncoder returns a CrossEncoder. The tokenizer must have a
// padding token.
func NewCrossEncoder(tok *tokenizer.Tokenizer, cfg CrossEncoderConfig) (*CrossEncoder, error) {
	if cfg.MaxLen <= 0 {
		return nil, fmt.Errorf("data: cross-encoder max_len %d: want > 0", cfg.MaxLen)
	}
	tr := cfg.Truncation
	if tr == tokenizer.TruncateNone {
		tr = tokenizer.OnlySecond
	}
	if tr != tokenizer.OnlySecond && tr != tokenizer.LongestFirst {
		return nil, fmt.Errorf("data: cross-encoder truncation %s: want only_second or longest_first", tr)
	}
	if err := checkFormat("query_format", cfg.QueryFormat); err != nil {
		return nil, err
	}
	if err := checkFormat("document_format", cfg.DocumentFormat); err != nil {
		return nil, err
	}
	id, ok := tok.PadID()
	if !ok {
		return nil, errors.New("data: cross-encoder: the tokenizer has no padding token")
	}
	return &CrossEncoder{
		tok:      tok,
		opts:     tokenizer.Options{MaxLength: cfg.MaxLen, Truncation: tr},
		padID:    id,
		queryFmt: cfg.QueryFormat,
		docFmt:   cfg.DocumentFormat,
	}, nil
}

// Fallbacks returns how many pairs so far were truncated longest_first
// because only_second could not reach MaxLen.
func (c *CrossEncoder) Fallbacks() int { return int(c.fallbacks.Load()) }

// EncodePairs implements PairEncoder.
func (c *CrossEncoder) EncodePairs(queries, docs []string) (Encoded, error) {
	if len(queries) != len(docs) {
		panic(fmt.Sprintf("data: CrossEncoder.EncodePairs: %d queries but %d documents", len(queries), len(docs)))
	}
	qs := make([]string, len(queries))
	ds := make([]string, len(docs))
	for i := range queries {
		qs[i] = applyFormat(c.queryFmt, strings.TrimSpace(queries[i]))
		ds[i] = applyFormat(c.docFmt, strings.TrimSpace(docs[i]))
	}
	encs, err := c.tok.EncodePairBatch(qs, ds, c.opts)
	if err != nil {
		if !errors.Is(err, tokenizer.ErrSequenceTooShort) {
			return Encoded{}, fmt.Errorf("data: cross-encoder: %w", err)
		}
		// Some query leaves no room for its document: encode pair by pair,
		// those with longest_first.
		encs = make([]tokenizer.Encoding, len(qs))
		for i := range qs {
			encs[i], err = c.tok.EncodePairWith(qs[i], ds[i], c.opts)
			if errors.Is(err, tokenizer.ErrSequenceTooShort) {
				o := c.opts
				o.Truncation = tokenizer.LongestFirst
				encs[i], err = c.tok.EncodePairWith(qs[i], ds[i], o)
				c.fallbacks.Add(1)
			}
			if err != nil {
				return Encoded{}, fmt.Errorf("data: cross-encoder: pair %d: %w", i, err)
			}
		}
	}
	rows := make([][]int32, len(encs))
	types := make([][]int32, len(encs))
	for i := range encs {
		rows[i], types[i] = encs[i].IDs, encs[i].TypeIDs
	}
	return pad(rows, types, c.padID, false), nil
}

// Default decoder-reranker template of RAG-Retrieval's
// LLMDecoder.from_pretrained.
const (
	DefaultDecoderQueryFormat    = "query: {}"
	DefaultDecoderDocumentFormat = "document: {}"
	DefaultDecoderSep            = " "
	DefaultDecoderSpecialToken   = "</s>"
)

// DecoderEncoderConfig configures a DecoderEncoder. Its fields are
// RAG-Retrieval's llm_decoder options.
type DecoderEncoderConfig struct {
	// MaxLen is max_len (> 0).
	MaxLen int
	// QueryFormat and DocumentFormat ("{}" placeholder; "" means "{}").
	QueryFormat, DocumentFormat string
	// Sep is `seq`, the text between query and document.
	Sep string
	// SpecialToken is the text closing the document (`special_token`,
	// e.g. "</s>" or "\nrelevance").
	SpecialToken string
	// PadToken is the padding token ("" means the tokenizer's EOS token,
	// as RAG-Retrieval sets pad_token = eos_token; else its padding token).
	PadToken string
	// PadLeft pads on the left (RAG-Retrieval pads on the right).
	PadLeft bool
}

// DecoderEncoder encodes pairs as one sequence for decoder rerankers
// (Qwen2 sequence classification): ids(QueryFormat(query)) + ids(Sep) +
// ids(DocumentFormat(doc))[:MaxLen-rest] + ids(SpecialToken), each part
// tokenized without special tokens, padded to the longest row. There are
// no type ids. Unlike RAG-Retrieval, a query whose ids alone exceed what
// MaxLen leaves is cut too, so no row is longer than MaxLen. The
// tokenizer's post-processor is not applied to the joined ids (RAG-Retrieval
// calls prepare_for_model, which adds nothing for Qwen2).
type DecoderEncoder struct {
	tok        *tokenizer.Tokenizer
	cfg        DecoderEncoderConfig
	sepIDs     []int32
	specialIDs []int32
	padID      int32
}

// NewDecoderEncoder returns a DecoderEncoder.
func NewDecoderEncoder(tok *tokenizer.Tokenizer, cfg DecoderEncoderConfig) (*DecoderEncoder, error) {
	if cfg.MaxLen <= 0 {
		return nil, fmt.Errorf("data: decoder max_len %d: want > 0", cfg.MaxLen)
	}
	if err := checkFormat("query_format", cfg.QueryFormat); err != nil {
		return nil, err
	}
	if err := checkFormat("document_format", cfg.DocumentFormat); err != nil {
		return nil, err
	}
	d := &DecoderEncoder{tok: tok, cfg: cfg}
	d.sepIDs = tok.Encode(cfg.Sep, false).IDs
	d.specialIDs = tok.Encode(cfg.SpecialToken, false).IDs
	if len(d.sepIDs)+len(d.specialIDs) >= cfg.MaxLen {
		return nil, fmt.Errorf("data: decoder max_len %d leaves no room beside seq and special_token (%d tokens)", cfg.MaxLen, len(d.sepIDs)+len(d.specialIDs))
	}
	padTok := cfg.PadToken
	if padTok == "" {
		padTok = tok.Special().EOS
	}
	if padTok == "" {
		padTok = tok.Special().Pad
	}
	id, ok := tok.TokenToID(padTok)
	if padTok == "" || !ok {
		return nil, fmt.Errorf("data: decoder: padding token %q not found (set PadToken)", padTok)
	}
	d.padID = id
	return d, nil
}

// EncodePairs implements PairEncoder.
func (d *DecoderEncoder) EncodePairs(queries, docs []string) (Encoded, error) {
	if len(queries) != len(docs) {
		panic(fmt.Sprintf("data: DecoderEncoder.EncodePairs: %d queries but %d documents", len(queries), len(docs)))
	}
	rows := make([][]int32, len(queries))
	fixed := len(d.sepIDs) + len(d.specialIDs)
	for i := range queries {
		q := d.tok.Encode(applyFormat(d.cfg.QueryFormat, strings.TrimSpace(queries[i])), false).IDs
		if len(q) > d.cfg.MaxLen-fixed {
			q = q[:d.cfg.MaxLen-fixed]
		}
		room := d.cfg.MaxLen - fixed - len(q)
		doc := d.tok.Encode(applyFormat(d.cfg.DocumentFormat, strings.TrimSpace(docs[i])), false).IDs
		if len(doc) > room {
			doc = doc[:room]
		}
		r := make([]int32, 0, len(q)+fixed+len(doc))
		r = append(r, q...)
		r = append(r, d.sepIDs...)
		r = append(r, doc...)
		r = append(r, d.specialIDs...)
		rows[i] = r
	}
	return pad(rows, nil, d.padID, d.cfg.PadLeft), nil
}

// TextEncoder encodes single texts (bi-encoder queries or passages):
// special tokens added, truncated to MaxLen, padded to the longest text of
// the batch on the right with the tokenizer's padding token.
type TextEncoder struct {
	tok   *tokenizer.Tokenizer
	opts  tokenizer.Options
	padID int32
}

// NewTextEncoder returns a TextEncoder for texts of at most maxLen tokens.
func NewTextEncoder(tok *tokenizer.Tokenizer, maxLen int) (*TextEncoder, error) {
	if maxLen <= 0 {
		return nil, fmt.Errorf("data: text encoder max_len %d: want > 0", maxLen)
	}
	id, ok := tok.PadID()
	if !ok {
		return nil, errors.New("data: text encoder: the tokenizer has no padding token")
	}
	return &TextEncoder{tok: tok, opts: tokenizer.Options{MaxLength: maxLen, Truncation: tokenizer.LongestFirst}, padID: id}, nil
}

// Encode tokenizes texts into one padded batch.
func (t *TextEncoder) Encode(texts []string) (Encoded, error) {
	encs, err := t.tok.EncodeBatch(texts, t.opts)
	if err != nil {
		return Encoded{}, fmt.Errorf("data: text encoder: %w", err)
	}
	rows := make([][]int32, len(encs))
	types := make([][]int32, len(encs))
	for i := range encs {
		rows[i], types[i] = encs[i].IDs, encs[i].TypeIDs
	}
	return pad(rows, types, t.padID, false), nil
}

// RerankBatch is a tokenized batch of reranker examples: B examples of
// GroupSize documents each, flattened example-major (row b·G+k is document
// k of example b).
type RerankBatch struct {
	// IDs, TypeIDs and Mask are int32 [B·G, L]; TypeIDs is nil for
	// decoder encoders.
	IDs, TypeIDs, Mask *tensor.Tensor
	// Labels are float32 [B·G].
	Labels *tensor.Tensor
	// Examples is B and GroupSize is G.
	Examples, GroupSize int
}

// BuildBatch tokenizes a batch of examples of groups with enc. All
// examples must have the same number of items (it panics otherwise).
func BuildBatch(enc PairEncoder, groups []Group, batch []Example) (*RerankBatch, error) {
	if len(batch) == 0 {
		panic("data: BuildBatch: empty batch")
	}
	g := len(batch[0].Items)
	qs := make([]string, 0, len(batch)*g)
	ds := make([]string, 0, len(batch)*g)
	labels := make([]float32, 0, len(batch)*g)
	for bi, ex := range batch {
		if len(ex.Items) != g {
			panic(fmt.Sprintf("data: BuildBatch: example %d has %d documents, example 0 has %d", bi, len(ex.Items), g))
		}
		grp := &groups[ex.Group]
		for _, i := range ex.Items {
			qs = append(qs, grp.Query)
			ds = append(ds, grp.Items[i].Text)
			labels = append(labels, grp.Items[i].Label)
		}
	}
	e, err := enc.EncodePairs(qs, ds)
	if err != nil {
		return nil, err
	}
	ids, types, mask := e.Tensors()
	return &RerankBatch{
		IDs: ids, TypeIDs: types, Mask: mask,
		Labels:   tensor.FromFloat32(labels, len(labels)),
		Examples: len(batch), GroupSize: g,
	}, nil
}
