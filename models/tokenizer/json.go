package tokenizer

// json.go: decoding the components of a tokenizer.json. Every error names
// the component (normalizer, pre_tokenizer, model, post_processor,
// decoder, added_tokens, truncation, padding) and, for unknown variants,
// the type found.

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

type jsonFile struct {
	Truncation    json.RawMessage  `json:"truncation"`
	Padding       json.RawMessage  `json:"padding"`
	AddedTokens   []jsonAddedToken `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	Model         json.RawMessage  `json:"model"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Decoder       json.RawMessage  `json:"decoder"`
}

type jsonAddedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// isNull reports an absent or null component.
func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// typeOf reads the "type" field of a component.
func typeOf(raw json.RawMessage) (string, error) {
	var h struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", err
	}
	return h.Type, nil
}

func fromJSON(data []byte) (*Tokenizer, error) {
	var f jsonFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if isNull(f.Model) {
		return nil, errors.New("model: missing")
	}
	t := &Tokenizer{}
	var err error
	if !isNull(f.Normalizer) {
		if t.normalizer, err = parseNormalizer(f.Normalizer); err != nil {
			return nil, fmt.Errorf("normalizer: %w", err)
		}
	}
	if !isNull(f.PreTokenizer) {
		if t.pre, err = parsePreTokenizer(f.PreTokenizer); err != nil {
			return nil, fmt.Errorf("pre_tokenizer: %w", err)
		}
	}
	if t.model, t.modelType, err = parseModel(f.Model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if !isNull(f.PostProcessor) {
		if t.post, err = parsePostProcessor(f.PostProcessor); err != nil {
			return nil, fmt.Errorf("post_processor: %w", err)
		}
	}
	if !isNull(f.Decoder) {
		if t.decoder, err = parseDecoder(f.Decoder); err != nil {
			return nil, fmt.Errorf("decoder: %w", err)
		}
	}
	added := make([]AddedToken, len(f.AddedTokens))
	for i, a := range f.AddedTokens {
		added[i] = AddedToken{ID: a.ID, Content: a.Content, SingleWord: a.SingleWord, LStrip: a.LStrip,
			RStrip: a.RStrip, Normalized: a.Normalized, Special: a.Special}
	}
	if err := t.setAdded(added); err != nil {
		return nil, fmt.Errorf("added_tokens: %w", err)
	}
	if !isNull(f.Truncation) {
		if err := parseTruncation(f.Truncation, &t.fileOptions); err != nil {
			return nil, fmt.Errorf("truncation: %w", err)
		}
	}
	if !isNull(f.Padding) {
		if err := parsePadding(f.Padding, &t.fileOptions); err != nil {
			return nil, fmt.Errorf("padding: %w", err)
		}
	}
	t.guessSpecial()
	return t, nil
}

// guessSpecial fills SpecialTokens from the file itself.
func (t *Tokenizer) guessSpecial() {
	has := func(s string) bool { _, ok := t.TokenToID(s); return ok }
	pick := func(names ...string) string {
		for _, n := range names {
			if has(n) {
				return n
			}
		}
		return ""
	}
	switch m := t.model.(type) {
	case *wordPiece:
		t.special.Unk = m.unkToken
	case *bpe:
		t.special.Unk = m.unkToken
	case *wordLevel:
		t.special.Unk = m.unkToken
	case *unigram:
		if m.hasUnk {
			t.special.Unk = m.tokens[m.unkID]
		}
	}
	if t.special.Unk != "" && !has(t.special.Unk) {
		t.special.Unk = ""
	}
	t.special.Pad = t.fileOptions.PadToken
	if t.special.Pad == "" || !has(t.special.Pad) {
		t.special.Pad = pick("[PAD]", "<pad>")
	}
	t.special.CLS = pick("[CLS]", "<s>")
	t.special.SEP = pick("[SEP]", "</s>")
	t.special.Mask = pick("[MASK]", "<mask>")
	t.special.BOS = pick("<s>", "<|begin_of_text|>")
	t.special.EOS = pick("</s>", "<|end_of_text|>")
}

// ---- normalizers ----

func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "BertNormalizer":
		var c struct {
			CleanText          *bool `json:"clean_text"`
			HandleChineseChars *bool `json:"handle_chinese_chars"`
			StripAccents       *bool `json:"strip_accents"`
			Lowercase          *bool `json:"lowercase"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("BertNormalizer: %w", err)
		}
		b := &bertNormalizer{cleanText: true, chineseChars: true, lowercase: true}
		if c.CleanText != nil {
			b.cleanText = *c.CleanText
		}
		if c.HandleChineseChars != nil {
			b.chineseChars = *c.HandleChineseChars
		}
		if c.Lowercase != nil {
			b.lowercase = *c.Lowercase
		}
		b.stripAccents = b.lowercase
		if c.StripAccents != nil {
			b.stripAccents = *c.StripAccents
		}
		return b, nil
	case "NFC":
		return unicodeNormalizer{norm.NFC}, nil
	case "NFD":
		return unicodeNormalizer{norm.NFD}, nil
	case "NFKC":
		return unicodeNormalizer{norm.NFKC}, nil
	case "NFKD":
		return unicodeNormalizer{norm.NFKD}, nil
	case "Lowercase":
		return lowercaseNormalizer{}, nil
	case "StripAccents":
		return stripAccentsNormalizer{}, nil
	case "Nmt":
		return nmtNormalizer{}, nil
	case "Strip":
		var c struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Strip: %w", err)
		}
		return stripNormalizer{left: c.Left, right: c.Right}, nil
	case "Prepend":
		var c struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Prepend: %w", err)
		}
		return prependNormalizer{prefix: c.Prepend}, nil
	case "Replace":
		r, err := parseReplace(raw)
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		return r, nil
	case "Precompiled":
		var c struct {
			Charsmap *string `json:"precompiled_charsmap"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Precompiled: %w", err)
		}
		if c.Charsmap == nil {
			return &precompiledNormalizer{}, nil
		}
		p, err := newPrecompiled(*c.Charsmap)
		if err != nil {
			return nil, fmt.Errorf("Precompiled: %w", err)
		}
		return p, nil
	case "ByteLevel":
		return byteLevelNormalizer{}, nil
	case "Sequence":
		var c struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Sequence: %w", err)
		}
		var seq sequenceNormalizer
		for i, r := range c.Normalizers {
			if isNull(r) {
				continue
			}
			n, err := parseNormalizer(r)
			if err != nil {
				return nil, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			seq = append(seq, n)
		}
		return seq, nil
	case "":
		return nil, errors.New("missing type")
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

// byteLevelNormalizer is the ByteLevel normalizer: bytes to GPT-2 chars.
type byteLevelNormalizer struct{}

func (byteLevelNormalizer) normalize(n normStr) normStr { return byteLevelMap(n) }

// parsePattern reads {"String": s} or {"Regex": r}.
func parsePattern(raw json.RawMessage) (literal string, re string, isRegex bool, err error) {
	var p struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", "", false, err
	}
	switch {
	case p.String != nil:
		return *p.String, "", false, nil
	case p.Regex != nil:
		return "", *p.Regex, true, nil
	}
	return "", "", false, errors.New("pattern: neither String nor Regex")
}

func parseReplace(raw json.RawMessage) (replaceNormalizer, error) {
	var c struct {
		Pattern json.RawMessage `json:"pattern"`
		Content string          `json:"content"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return replaceNormalizer{}, err
	}
	lit, re, isRe, err := parsePattern(c.Pattern)
	if err != nil {
		return replaceNormalizer{}, err
	}
	r := replaceNormalizer{literal: lit, content: c.Content}
	if isRe {
		if r.re, err = compileRegex(re); err != nil {
			return replaceNormalizer{}, err
		}
	}
	return r, nil
}

// compileRegex compiles an Oniguruma-style pattern with Go's regexp after
// giving \s, \d and \w their Unicode meaning. Patterns Go cannot express
// (lookaround, backreferences) are an error.
func compileRegex(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(translateRegex(pattern))
	if err != nil {
		return nil, fmt.Errorf("unsupported regex %q: %w", pattern, err)
	}
	return re, nil
}

func translateRegex(p string) string {
	const (
		space = `\pZ\t\n\v\f\r\x{85}`
		digit = `\p{Nd}`
		word  = `\pL\pM\p{Nd}\p{Pc}`
	)
	var sb strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			e := p[i+1]
			i++
			var rep string
			switch e {
			case 's':
				rep = space
			case 'd':
				rep = digit
			case 'w':
				rep = word
			case 'S', 'D', 'W':
				if !inClass {
					m := map[byte]string{'S': space, 'D': digit, 'W': word}[e]
					sb.WriteString("[^" + m + "]")
					continue
				}
			}
			if rep == "" {
				sb.WriteByte('\\')
				sb.WriteByte(e)
				continue
			}
			if inClass {
				sb.WriteString(rep)
			} else {
				sb.WriteString("[" + rep + "]")
			}
		case c == '[' && !inClass:
			inClass = true
			sb.WriteByte(c)
			if i+1 < len(p) && p[i+1] == '^' {
				sb.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' { // literal ] first in a class
				sb.WriteByte(']')
				i++
			}
		case c == ']' && inClass:
			inClass = false
			sb.WriteByte(c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// ---- pre-tokenizers ----

func parseBehavior(s string) (splitBehavior, error) {
	switch s {
	case "Removed":
		return behRemoved, nil
	case "Isolated", "":
		return behIsolated, nil
	case "MergedWithPrevious":
		return behMergedWithPrevious, nil
	case "MergedWithNext":
		return behMergedWithNext, nil
	case "Contiguous":
		return behContiguous, nil
	}
	return 0, fmt.Errorf("unknown split behavior %q", s)
}

func parsePrependScheme(scheme *string, addPrefixSpace *bool) (prependScheme, error) {
	if scheme == nil {
		if addPrefixSpace != nil && !*addPrefixSpace {
			return prependNever, nil
		}
		return prependAlways, nil
	}
	switch strings.ToLower(*scheme) {
	case "always":
		return prependAlways, nil
	case "first":
		return prependFirst, nil
	case "never":
		return prependNever, nil
	}
	return 0, fmt.Errorf("unknown prepend_scheme %q", *scheme)
}

func parseReplacement(s string) (rune, error) {
	r, n := utf8.DecodeRuneInString(s)
	if s == "" || n != len(s) {
		return 0, fmt.Errorf("replacement %q is not one character", s)
	}
	return r, nil
}

func parsePreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "BertPreTokenizer":
		return bertPreTokenizer{}, nil
	case "Whitespace":
		return whitespacePre{}, nil
	case "WhitespaceSplit":
		return whitespaceSplit{}, nil
	case "Metaspace":
		var c struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			Split          *bool   `json:"split"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		r, err := parseReplacement(c.Replacement)
		if err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		sch, err := parsePrependScheme(c.PrependScheme, c.AddPrefixSpace)
		if err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		return metaspacePre{repl: r, scheme: sch, split: c.Split == nil || *c.Split}, nil
	case "ByteLevel":
		var c struct {
			AddPrefixSpace bool  `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("ByteLevel: %w", err)
		}
		return byteLevelPre{addPrefixSpace: c.AddPrefixSpace, useRegex: c.UseRegex == nil || *c.UseRegex}, nil
	case "Split":
		var c struct {
			Pattern  json.RawMessage `json:"pattern"`
			Behavior string          `json:"behavior"`
			Invert   bool            `json:"invert"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		beh, err := parseBehavior(c.Behavior)
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		lit, re, isRe, err := parsePattern(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		p := splitPre{literal: lit, beh: beh, invert: c.Invert}
		if isRe {
			if sc, ok := scannerFor(re); ok {
				p.scanner = sc
			} else if p.re, err = compileRegex(re); err != nil {
				return nil, fmt.Errorf("Split: %w", err)
			}
		}
		return p, nil
	case "Punctuation":
		var c struct {
			Behavior string `json:"behavior"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Punctuation: %w", err)
		}
		beh, err := parseBehavior(c.Behavior)
		if err != nil {
			return nil, fmt.Errorf("Punctuation: %w", err)
		}
		return predicatePre{f: isBertPunc, beh: beh}, nil
	case "Digits":
		var c struct {
			Individual bool `json:"individual_digits"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Digits: %w", err)
		}
		isDigit := func(r rune) bool { return r >= '0' && r <= '9' }
		if c.Individual {
			return predicatePre{f: isDigit, beh: behIsolated}, nil
		}
		return predicatePre{f: isDigit, beh: behContiguous}, nil
	case "CharDelimiterSplit":
		var c struct {
			Delimiter string `json:"delimiter"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("CharDelimiterSplit: %w", err)
		}
		d, err := parseReplacement(c.Delimiter)
		if err != nil {
			return nil, fmt.Errorf("CharDelimiterSplit: %w", err)
		}
		return predicatePre{f: func(r rune) bool { return r == d }, beh: behRemoved}, nil
	case "Sequence":
		var c struct {
			PreTokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Sequence: %w", err)
		}
		var seq sequencePre
		for i, r := range c.PreTokenizers {
			if isNull(r) {
				continue
			}
			p, err := parsePreTokenizer(r)
			if err != nil {
				return nil, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			seq = append(seq, p)
		}
		return seq, nil
	case "":
		return nil, errors.New("missing type")
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

// ---- models ----

func parseModel(raw json.RawMessage) (model, string, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, "", err
	}
	if typ == "" { // older files omit the type: recognise the fields
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, "", err
		}
		_, hasMerges := probe["merges"]
		_, hasUnkID := probe["unk_id"]
		_, hasMaxChars := probe["max_input_chars_per_word"]
		switch {
		case hasMerges:
			typ = "BPE"
		case hasUnkID:
			typ = "Unigram"
		case hasMaxChars:
			typ = "WordPiece"
		default:
			typ = "WordLevel"
		}
	}
	switch typ {
	case "WordPiece":
		var c struct {
			Vocab    map[string]int32 `json:"vocab"`
			Unk      *string          `json:"unk_token"`
			Prefix   *string          `json:"continuing_subword_prefix"`
			MaxChars *int             `json:"max_input_chars_per_word"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, "", fmt.Errorf("WordPiece: %w", err)
		}
		if len(c.Vocab) == 0 {
			return nil, "", errors.New("WordPiece: empty vocab")
		}
		unk, prefix, maxChars := "[UNK]", "##", 100
		if c.Unk != nil {
			unk = *c.Unk
		}
		if c.Prefix != nil {
			prefix = *c.Prefix
		}
		if c.MaxChars != nil {
			maxChars = *c.MaxChars
		}
		return newWordPiece(c.Vocab, unk, prefix, maxChars), "WordPiece", nil
	case "BPE":
		m, err := parseBPE(raw)
		if err != nil {
			return nil, "", fmt.Errorf("BPE: %w", err)
		}
		return m, "BPE", nil
	case "Unigram":
		var c struct {
			Vocab        []json.RawMessage `json:"vocab"`
			UnkID        *int              `json:"unk_id"`
			ByteFallback bool              `json:"byte_fallback"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, "", fmt.Errorf("Unigram: %w", err)
		}
		if len(c.Vocab) == 0 {
			return nil, "", errors.New("Unigram: empty vocab")
		}
		pieces := make([]string, len(c.Vocab))
		scores := make([]float64, len(c.Vocab))
		for i, e := range c.Vocab {
			var pair []json.RawMessage
			if err := json.Unmarshal(e, &pair); err != nil || len(pair) != 2 {
				return nil, "", fmt.Errorf("Unigram: vocab entry %d is not [piece, score]", i)
			}
			if err := json.Unmarshal(pair[0], &pieces[i]); err != nil {
				return nil, "", fmt.Errorf("Unigram: vocab entry %d: %w", i, err)
			}
			if err := json.Unmarshal(pair[1], &scores[i]); err != nil {
				return nil, "", fmt.Errorf("Unigram: vocab entry %d: %w", i, err)
			}
		}
		unkID := -1
		if c.UnkID != nil {
			unkID = *c.UnkID
		}
		u, err := newUnigram(pieces, scores, unkID, c.UnkID != nil, c.ByteFallback)
		if err != nil {
			return nil, "", fmt.Errorf("Unigram: %w", err)
		}
		return u, "Unigram", nil
	case "WordLevel":
		var c struct {
			Vocab map[string]int32 `json:"vocab"`
			Unk   string           `json:"unk_token"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, "", fmt.Errorf("WordLevel: %w", err)
		}
		return &wordLevel{vocabulary: newVocabulary(c.Vocab), unkToken: c.Unk}, "WordLevel", nil
	}
	return nil, "", fmt.Errorf("unknown type %q", typ)
}

func parseBPE(raw json.RawMessage) (*bpe, error) {
	var c struct {
		Vocab        map[string]int32  `json:"vocab"`
		Merges       []json.RawMessage `json:"merges"`
		Unk          *string           `json:"unk_token"`
		Prefix       *string           `json:"continuing_subword_prefix"`
		Suffix       *string           `json:"end_of_word_suffix"`
		FuseUnk      bool              `json:"fuse_unk"`
		ByteFallback bool              `json:"byte_fallback"`
		IgnoreMerges bool              `json:"ignore_merges"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if len(c.Vocab) == 0 {
		return nil, errors.New("empty vocab")
	}
	merges := make([][2]string, 0, len(c.Merges))
	for i, mr := range c.Merges {
		var s string
		if err := json.Unmarshal(mr, &s); err == nil {
			if strings.HasPrefix(s, "#version") {
				continue
			}
			parts := strings.Split(s, " ")
			if len(parts) != 2 {
				return nil, fmt.Errorf("merge %d: %q is not two tokens separated by one space", i, s)
			}
			merges = append(merges, [2]string{parts[0], parts[1]})
			continue
		}
		var pair []string
		if err := json.Unmarshal(mr, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("merge %d: neither \"a b\" nor [a, b]", i)
		}
		merges = append(merges, [2]string{pair[0], pair[1]})
	}
	m, err := newBPE(c.Vocab)
	if err != nil {
		return nil, err
	}
	if c.Unk != nil {
		m.unkToken = *c.Unk
		m.unkID, m.hasUnk = c.Vocab[*c.Unk]
	}
	if c.Prefix != nil {
		m.prefix = *c.Prefix
	}
	if c.Suffix != nil {
		m.suffix = *c.Suffix
	}
	m.fuseUnk, m.byteFallback, m.ignoreMerges = c.FuseUnk, c.ByteFallback, c.IgnoreMerges
	if err := m.setMerges(merges); err != nil {
		return nil, err
	}
	return m, nil
}

// ---- post-processors ----

func parseTokenID(raw json.RawMessage) (string, int32, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return "", 0, errors.New("expected [token, id]")
	}
	var s string
	var id int32
	if err := json.Unmarshal(pair[0], &s); err != nil {
		return "", 0, err
	}
	if err := json.Unmarshal(pair[1], &id); err != nil {
		return "", 0, err
	}
	return s, id, nil
}

func parseTemplate(raw json.RawMessage, specials map[string]templateSpecial) ([]templatePiece, error) {
	var items []struct {
		Special *struct {
			ID     string `json:"id"`
			TypeID int32  `json:"type_id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID     string `json:"id"`
			TypeID int32  `json:"type_id"`
		} `json:"Sequence"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	out := make([]templatePiece, 0, len(items))
	for i, it := range items {
		switch {
		case it.Sequence != nil:
			if it.Sequence.ID != "A" && it.Sequence.ID != "B" {
				return nil, fmt.Errorf("piece %d: unknown sequence %q", i, it.Sequence.ID)
			}
			out = append(out, templatePiece{isSeq: true, seqB: it.Sequence.ID == "B", typeID: it.Sequence.TypeID})
		case it.Special != nil:
			if _, ok := specials[it.Special.ID]; !ok {
				return nil, fmt.Errorf("piece %d: special token %q not in special_tokens", i, it.Special.ID)
			}
			out = append(out, templatePiece{special: it.Special.ID, typeID: it.Special.TypeID})
		default:
			return nil, fmt.Errorf("piece %d: neither SpecialToken nor Sequence", i)
		}
	}
	return out, nil
}

func parsePostProcessor(raw json.RawMessage) (postProcessor, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "TemplateProcessing":
		var c struct {
			Single   json.RawMessage `json:"single"`
			Pair     json.RawMessage `json:"pair"`
			Specials map[string]struct {
				IDs    []int32  `json:"ids"`
				Tokens []string `json:"tokens"`
			} `json:"special_tokens"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("TemplateProcessing: %w", err)
		}
		p := &templateProcessor{specials: map[string]templateSpecial{}}
		for k, v := range c.Specials {
			p.specials[k] = templateSpecial{ids: v.IDs, tokens: v.Tokens}
		}
		if p.single, err = parseTemplate(c.Single, p.specials); err != nil {
			return nil, fmt.Errorf("TemplateProcessing: single: %w", err)
		}
		if isNull(c.Pair) {
			p.pair = append(append([]templatePiece(nil), p.single...), templatePiece{isSeq: true, seqB: true, typeID: 1})
		} else if p.pair, err = parseTemplate(c.Pair, p.specials); err != nil {
			return nil, fmt.Errorf("TemplateProcessing: pair: %w", err)
		}
		return p, nil
	case "BertProcessing":
		var c struct {
			Sep json.RawMessage `json:"sep"`
			Cls json.RawMessage `json:"cls"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("BertProcessing: %w", err)
		}
		b := &bertProcessor{}
		if b.sep, b.sepID, err = parseTokenID(c.Sep); err != nil {
			return nil, fmt.Errorf("BertProcessing: sep: %w", err)
		}
		if b.cls, b.clsID, err = parseTokenID(c.Cls); err != nil {
			return nil, fmt.Errorf("BertProcessing: cls: %w", err)
		}
		return b, nil
	case "RobertaProcessing":
		var c struct {
			Sep            json.RawMessage `json:"sep"`
			Cls            json.RawMessage `json:"cls"`
			TrimOffsets    *bool           `json:"trim_offsets"`
			AddPrefixSpace *bool           `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("RobertaProcessing: %w", err)
		}
		r := &robertaProcessor{trimOffsets: c.TrimOffsets == nil || *c.TrimOffsets, addPrefixSpace: c.AddPrefixSpace == nil || *c.AddPrefixSpace}
		if r.sep, r.sepID, err = parseTokenID(c.Sep); err != nil {
			return nil, fmt.Errorf("RobertaProcessing: sep: %w", err)
		}
		if r.cls, r.clsID, err = parseTokenID(c.Cls); err != nil {
			return nil, fmt.Errorf("RobertaProcessing: cls: %w", err)
		}
		return r, nil
	case "ByteLevel":
		var c struct {
			TrimOffsets    *bool `json:"trim_offsets"`
			AddPrefixSpace *bool `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("ByteLevel: %w", err)
		}
		return byteLevelProcessor{trimOffsets: c.TrimOffsets == nil || *c.TrimOffsets, addPrefixSpace: c.AddPrefixSpace == nil || *c.AddPrefixSpace}, nil
	case "Sequence":
		var c struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Sequence: %w", err)
		}
		var seq sequenceProcessor
		for i, r := range c.Processors {
			if isNull(r) {
				continue
			}
			p, err := parsePostProcessor(r)
			if err != nil {
				return nil, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			seq = append(seq, p)
		}
		return seq, nil
	case "":
		return nil, errors.New("missing type")
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

// ---- decoders ----

func parseDecoder(raw json.RawMessage) (decoder, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "WordPiece":
		var c struct {
			Prefix  *string `json:"prefix"`
			Cleanup *bool   `json:"cleanup"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("WordPiece: %w", err)
		}
		d := wordPieceDecoder{prefix: "##", cleanup: true}
		if c.Prefix != nil {
			d.prefix = *c.Prefix
		}
		if c.Cleanup != nil {
			d.cleanup = *c.Cleanup
		}
		return d, nil
	case "ByteLevel":
		return byteLevelDecoder{}, nil
	case "Metaspace":
		var c struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		r, err := parseReplacement(c.Replacement)
		if err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		sch, err := parsePrependScheme(c.PrependScheme, c.AddPrefixSpace)
		if err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		return metaspaceDecoder{repl: r, scheme: sch}, nil
	case "BPEDecoder":
		var c struct {
			Suffix *string `json:"suffix"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("BPEDecoder: %w", err)
		}
		d := bpeDecoder{suffix: "</w>"}
		if c.Suffix != nil {
			d.suffix = *c.Suffix
		}
		return d, nil
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "Strip":
		var c struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Strip: %w", err)
		}
		r, err := parseReplacement(c.Content)
		if err != nil {
			return nil, fmt.Errorf("Strip: %w", err)
		}
		return stripDecoder{content: r, start: c.Start, stop: c.Stop}, nil
	case "Replace":
		r, err := parseReplace(raw)
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		return replaceDecoder{r}, nil
	case "CTC":
		var c struct {
			Pad     string `json:"pad_token"`
			Delim   string `json:"word_delimiter_token"`
			Cleanup bool   `json:"cleanup"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("CTC: %w", err)
		}
		return ctcDecoder{pad: c.Pad, delim: c.Delim, cleanup: c.Cleanup}, nil
	case "Sequence":
		var c struct {
			Decoders []json.RawMessage `json:"decoders"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Sequence: %w", err)
		}
		var seq sequenceDecoder
		for i, r := range c.Decoders {
			if isNull(r) {
				continue
			}
			d, err := parseDecoder(r)
			if err != nil {
				return nil, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			seq = append(seq, d)
		}
		return seq, nil
	case "":
		return nil, errors.New("missing type")
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

// ---- truncation and padding ----

func parseTruncation(raw json.RawMessage, o *Options) error {
	var c struct {
		Direction string `json:"direction"`
		MaxLength int    `json:"max_length"`
		Strategy  string `json:"strategy"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	switch c.Strategy {
	case "LongestFirst", "":
		o.Truncation = LongestFirst
	case "OnlyFirst":
		o.Truncation = OnlyFirst
	case "OnlySecond":
		o.Truncation = OnlySecond
	default:
		return fmt.Errorf("unknown strategy %q", c.Strategy)
	}
	if c.Direction == "Left" {
		o.TruncationSide = Left
	}
	o.MaxLength = c.MaxLength
	return nil
}

func parsePadding(raw json.RawMessage, o *Options) error {
	var c struct {
		Strategy  json.RawMessage `json:"strategy"`
		Direction string          `json:"direction"`
		Multiple  *int            `json:"pad_to_multiple_of"`
		PadTypeID int32           `json:"pad_type_id"`
		PadToken  string          `json:"pad_token"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	var s string
	if json.Unmarshal(c.Strategy, &s) == nil {
		if s != "BatchLongest" {
			return fmt.Errorf("unknown strategy %q", s)
		}
		o.Padding = PadLongest
	} else {
		var f struct {
			Fixed *int `json:"Fixed"`
		}
		if err := json.Unmarshal(c.Strategy, &f); err != nil || f.Fixed == nil {
			return errors.New("strategy: neither BatchLongest nor {Fixed: n}")
		}
		o.Padding = PadMaxLength
		if o.MaxLength == 0 || o.Truncation == TruncateNone {
			o.MaxLength = *f.Fixed
		}
	}
	if c.Direction == "Left" {
		o.PadSide = Left
	}
	if c.Multiple != nil {
		o.PadToMultipleOf = *c.Multiple
	}
	o.PadTypeID = c.PadTypeID
	o.PadToken = c.PadToken
	return nil
}
