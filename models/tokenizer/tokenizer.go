package tokenizer

// tokenizer.go: the Tokenizer and its encoding pipeline, as
// tokenizers/src/tokenizer/mod.rs: added tokens split out of the raw text,
// normalization, pre-tokenization, the model, truncation, the
// post-processor, padding.

import (
	"fmt"
	"strings"
)

// SpecialTokens names a tokenizer's special tokens ("" when it has none).
// They come from tokenizer_config.json / special_tokens_map.json when the
// tokenizer is loaded from a directory holding them, otherwise from the
// tokenizer file itself (unknown token, post-processor, padding) and
// conventional names present in the vocabulary.
type SpecialTokens struct {
	Pad, Unk, CLS, SEP, Mask, BOS, EOS string
}

// Tokenizer turns text into token ids. It is safe for concurrent use.
type Tokenizer struct {
	normalizer normalizer
	pre        preTokenizer
	model      model
	post       postProcessor
	decoder    decoder

	added       []AddedToken
	addedByID   map[int32]int
	addedByText map[string]int32
	rawMatcher  *addedMatcher
	normMatcher *addedMatcher

	modelType   string
	special     SpecialTokens
	fileOptions Options
	maxLength   int
}

// ModelType returns "WordPiece", "BPE", "Unigram" or "WordLevel".
func (t *Tokenizer) ModelType() string { return t.modelType }

// TokenToID returns the id of a token (added tokens first, then the model's
// vocabulary).
func (t *Tokenizer) TokenToID(tok string) (int32, bool) {
	if id, ok := t.addedByText[tok]; ok {
		return id, true
	}
	return t.model.tokenToID(tok)
}

// IDToToken returns the token of an id (added tokens first).
func (t *Tokenizer) IDToToken(id int32) (string, bool) {
	if k, ok := t.addedByID[id]; ok {
		return t.added[k].Content, true
	}
	return t.model.idToToken(id)
}

// VocabSize returns the number of distinct tokens of the model's vocabulary
// and the added tokens together (Hugging Face get_vocab_size(true)).
func (t *Tokenizer) VocabSize() int {
	n := t.model.vocabSize()
	for _, a := range t.added {
		if _, ok := t.model.tokenToID(a.Content); !ok {
			n++
		}
	}
	return n
}

// AddedTokens returns a copy of the added tokens.
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// Special returns the names of the special tokens.
func (t *Tokenizer) Special() SpecialTokens { return t.special }

// PadID returns the id of the padding token, if the tokenizer has one.
func (t *Tokenizer) PadID() (int32, bool) {
	if t.special.Pad == "" {
		return 0, false
	}
	return t.TokenToID(t.special.Pad)
}

// UnkID returns the id of the unknown token, if the tokenizer has one.
func (t *Tokenizer) UnkID() (int32, bool) {
	if t.special.Unk == "" {
		return 0, false
	}
	return t.TokenToID(t.special.Unk)
}

// ModelMaxLength returns model_max_length from tokenizer_config.json, or 0.
func (t *Tokenizer) ModelMaxLength() int { return t.maxLength }

// FileOptions returns the truncation and padding stored in the tokenizer
// file (zero Options when it has none). Encode never applies them on its
// own; pass them to EncodeBatch to get the file's behaviour.
func (t *Tokenizer) FileOptions() Options { return t.fileOptions }

// NumSpecialTokens returns how many tokens the post-processor adds to a
// single text (pair false) or a pair.
func (t *Tokenizer) NumSpecialTokens(pair bool) int {
	if t.post == nil {
		return 0
	}
	return t.post.added(pair)
}

// Encode tokenizes one text, with the post-processor's special tokens when
// addSpecial, without truncation or padding.
func (t *Tokenizer) Encode(text string, addSpecial bool) Encoding {
	e, _ := t.encode(text, "", false, &Options{NoSpecialTokens: !addSpecial})
	return e
}

// EncodePair tokenizes a pair of texts (query and passage, ...), with the
// post-processor's special tokens when addSpecial, without truncation or
// padding.
func (t *Tokenizer) EncodePair(a, b string, addSpecial bool) Encoding {
	e, _ := t.encode(a, b, true, &Options{NoSpecialTokens: !addSpecial})
	return e
}

// EncodeWith tokenizes one text with options (truncation, padding to
// MaxLength). Errors come from invalid options.
func (t *Tokenizer) EncodeWith(text string, opts Options) (Encoding, error) {
	es, err := t.encodeBatch([]string{text}, nil, opts)
	if err != nil {
		return Encoding{}, err
	}
	return es[0], nil
}

// EncodePairWith tokenizes a pair of texts with options. It returns
// ErrSequenceTooShort when only_first/only_second truncation cannot reach
// MaxLength.
func (t *Tokenizer) EncodePairWith(a, b string, opts Options) (Encoding, error) {
	es, err := t.encodeBatch([]string{a}, []string{b}, opts)
	if err != nil {
		return Encoding{}, err
	}
	return es[0], nil
}

// EncodeBatch tokenizes texts with options; padding applies across the
// batch. It runs on the calling goroutine (the Tokenizer is safe for
// concurrent use, so callers may split a batch themselves).
func (t *Tokenizer) EncodeBatch(texts []string, opts Options) ([]Encoding, error) {
	return t.encodeBatch(texts, nil, opts)
}

// EncodePairBatch tokenizes the pairs (a[i], b[i]) with options. It panics
// if a and b differ in length.
func (t *Tokenizer) EncodePairBatch(a, b []string, opts Options) ([]Encoding, error) {
	if len(a) != len(b) {
		panic(fmt.Sprintf("tokenizer: EncodePairBatch: %d first texts but %d second texts", len(a), len(b)))
	}
	if b == nil {
		b = []string{}
	}
	return t.encodeBatch(a, b, opts)
}

func (t *Tokenizer) checkOptions(opts *Options) error {
	if opts.Truncation < TruncateNone || opts.Truncation > OnlySecond {
		return fmt.Errorf("tokenizer: unknown truncation strategy %d", int(opts.Truncation))
	}
	if opts.Truncation != TruncateNone && opts.MaxLength <= 0 {
		return fmt.Errorf("tokenizer: truncation %s needs MaxLength > 0 (got %d)", opts.Truncation, opts.MaxLength)
	}
	if opts.Padding == PadMaxLength && opts.MaxLength <= 0 {
		return fmt.Errorf("tokenizer: padding to MaxLength needs MaxLength > 0 (got %d)", opts.MaxLength)
	}
	if opts.PadToMultipleOf < 0 || opts.MaxLength < 0 {
		return fmt.Errorf("tokenizer: negative MaxLength %d or PadToMultipleOf %d", opts.MaxLength, opts.PadToMultipleOf)
	}
	return nil
}

func (t *Tokenizer) encodeBatch(a, b []string, opts Options) ([]Encoding, error) {
	if err := t.checkOptions(&opts); err != nil {
		return nil, err
	}
	var padID int32
	padTok := opts.PadToken
	if opts.Padding != PadNone {
		if padTok == "" {
			padTok = t.special.Pad
		}
		id, ok := t.TokenToID(padTok)
		if padTok == "" || !ok {
			return nil, fmt.Errorf("tokenizer: padding needs a padding token; the tokenizer has none (set Options.PadToken)")
		}
		padID = id
	}
	out := make([]Encoding, len(a))
	for i := range a {
		var err error
		if b != nil {
			out[i], err = t.encode(a[i], b[i], true, &opts)
		} else {
			out[i], err = t.encode(a[i], "", false, &opts)
		}
		if err != nil {
			return nil, fmt.Errorf("tokenizer: text %d: %w", i, err)
		}
	}
	if opts.Padding != PadNone && len(out) > 0 {
		n := opts.MaxLength
		if opts.Padding == PadLongest {
			n = 0
			for k := range out {
				n = max(n, out[k].Len())
			}
		}
		if m := opts.PadToMultipleOf; m > 0 && n%m != 0 {
			n += m - n%m
		}
		for k := range out {
			out[k].pad(n, padID, opts.PadTypeID, padTok, opts.PadSide == Left)
		}
	}
	return out, nil
}

// encode runs the pipeline on a text or a pair.
func (t *Tokenizer) encode(a, b string, pair bool, opts *Options) (Encoding, error) {
	addSpecial := !opts.NoSpecialTokens
	// Like tokenizers 0.23 ("early exit for truncation"), with right-side
	// truncation each sequence is tokenized only up to the pre-token at
	// which MaxLength tokens exist; truncation then sees those capped
	// lengths.
	limit := 0
	if opts.Truncation != TruncateNone && opts.TruncationSide == Right && !opts.FullLengthTruncation {
		limit = opts.MaxLength
	}
	encs := make([]Encoding, 1, 2)
	encs[0] = t.encodeSequence(a, 0, limit)
	if pair {
		encs = append(encs, t.encodeSequence(b, 1, limit))
	}
	if opts.Truncation != TruncateNone {
		n := 0
		if addSpecial && t.post != nil {
			n = t.post.added(pair)
		}
		var eb *Encoding
		if pair {
			eb = &encs[1]
		}
		if err := truncatePair(&encs[0], eb, max(opts.MaxLength-n, 0), opts.Truncation, opts.TruncationSide == Left); err != nil {
			return Encoding{}, err
		}
	}
	if t.post != nil {
		encs = t.post.processEncodings(encs, addSpecial)
	}
	return mergeEncodings(encs), nil
}

// encodeSequence tokenizes one text into content tokens with type and
// sequence id seq; limit > 0 stops after the pre-token that reaches it.
func (t *Tokenizer) encodeSequence(text string, seq int32, limit int) Encoding {
	ps := []piece{{n: newNormStr(text, 0)}}
	ps = splitAdded(ps, t.rawMatcher, nil)
	if t.normalizer != nil || t.normMatcher != nil {
		var f func(normStr) normStr
		if t.normalizer != nil {
			f = t.normalizer.normalize
		}
		ps = splitAdded(ps, t.normMatcher, f)
	}
	if t.pre != nil {
		ps = t.pre.preTokenize(ps)
	}
	var e Encoding
	n := len(text)/4 + 4
	e.IDs = make([]int32, 0, n)
	e.Tokens = make([]string, 0, n)
	e.Offsets = make([][2]int, 0, n)
	buf := make([]token, 0, 16)
	for _, p := range ps {
		if p.tokens != nil {
			for _, tk := range p.tokens {
				e.IDs = append(e.IDs, tk.id)
				e.Tokens = append(e.Tokens, tk.value)
				e.Offsets = append(e.Offsets, [2]int{tk.start, tk.end})
			}
		} else {
			buf = t.model.tokenize(p.n.s, buf[:0])
			for _, tk := range buf {
				st, en := p.n.orig(tk.start, tk.end)
				e.IDs = append(e.IDs, tk.id)
				e.Tokens = append(e.Tokens, tk.value)
				e.Offsets = append(e.Offsets, [2]int{st, en})
			}
		}
		if limit > 0 && len(e.IDs) >= limit {
			break
		}
	}
	k := len(e.IDs)
	e.TypeIDs = fill(k, seq)
	e.SequenceIDs = fill(k, seq)
	e.SpecialTokensMask = fill(k, 0)
	e.AttentionMask = fill(k, 1)
	return e
}

func fill(n int, v int32) []int32 {
	s := make([]int32, n)
	if v != 0 {
		for i := range s {
			s[i] = v
		}
	}
	return s
}

// Tokenize returns the token strings of text without special tokens.
func (t *Tokenizer) Tokenize(text string) []string {
	return t.Encode(text, false).Tokens
}

// Decode turns ids back into text with the tokenizer's decoder (tokens
// joined by spaces when it has none). Unknown ids are skipped; with
// skipSpecial, special added tokens are too.
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		var tok string
		if k, ok := t.addedByID[id]; ok {
			tok = t.added[k].Content
		} else if s, ok := t.model.idToToken(id); ok {
			tok = s
		} else {
			continue
		}
		if skipSpecial && t.isSpecial(tok) {
			continue
		}
		toks = append(toks, tok)
	}
	if t.decoder == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.decoder.decodeChain(toks), "")
}

func (t *Tokenizer) isSpecial(tok string) bool {
	id, ok := t.addedByText[tok]
	if !ok {
		return false
	}
	return t.added[t.addedByID[id]].Special
}

// setAdded installs the added tokens and builds their matchers.
func (t *Tokenizer) setAdded(tokens []AddedToken) error {
	t.added = tokens
	t.addedByID = make(map[int32]int, len(tokens))
	t.addedByText = make(map[string]int32, len(tokens))
	var raw, nrm []AddedToken
	var rawC, nrmC []string
	for i, a := range tokens {
		if a.Content == "" {
			return fmt.Errorf("added token %d has empty content", a.ID)
		}
		t.addedByID[a.ID] = i
		t.addedByText[a.Content] = a.ID
		if a.Normalized {
			c := a.Content
			if t.normalizer != nil {
				c = t.normalizer.normalize(newNormStr(c, 0)).s
			}
			if c == "" { // normalizes to nothing: it can never match
				continue
			}
			nrm = append(nrm, a)
			nrmC = append(nrmC, c)
		} else {
			raw = append(raw, a)
			rawC = append(rawC, a.Content)
		}
	}
	t.rawMatcher = newAddedMatcher(raw, rawC)
	t.normMatcher = newAddedMatcher(nrm, nrmC)
	return nil
}
