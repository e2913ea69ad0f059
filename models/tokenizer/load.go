package tokenizer

// load.go: reading tokenizer.json (the Hugging Face tokenizers
// serialization), tokenizer.json.gz, vocab.txt (BERT WordPiece) and the
// tokenizer_config.json / special_tokens_map.json beside them.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Load reads the tokenizer stored in dir: tokenizer.json, else
// tokenizer.json.gz, else vocab.txt (a BERT WordPiece vocabulary configured
// by tokenizer_config.json: do_lower_case, strip_accents,
// tokenize_chinese_chars and the special tokens). tokenizer_config.json and
// special_tokens_map.json, when present, name the special tokens
// (Special, PadID) and model_max_length.
func Load(dir string) (*Tokenizer, error) {
	cfg, err := readTokenizerConfig(dir)
	if err != nil {
		return nil, err
	}
	var t *Tokenizer
	for _, name := range []string{"tokenizer.json", "tokenizer.json.gz"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			if t, err = FromFile(p); err != nil {
				return nil, err
			}
			break
		}
	}
	if t == nil {
		p := filepath.Join(dir, "vocab.txt")
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: no tokenizer.json, tokenizer.json.gz or vocab.txt", dir)
		}
		bc := DefaultBertConfig()
		cfg.applyBert(&bc)
		if t, err = FromVocabFile(p, bc); err != nil {
			return nil, err
		}
	}
	cfg.applySpecial(t)
	return t, nil
}

// FromFile reads a tokenizer.json file (gzip-compressed when its name ends
// in .gz) or, for a name ending in .txt, a BERT vocab.txt with
// DefaultBertConfig.
func FromFile(path string) (*Tokenizer, error) {
	if strings.HasSuffix(path, ".txt") {
		return FromVocabFile(path, DefaultBertConfig())
	}
	data, err := readMaybeGzip(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := fromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// FromJSON parses the content of a tokenizer.json file.
func FromJSON(data []byte) (*Tokenizer, error) {
	t, err := fromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: %w", err)
	}
	return t, nil
}

func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".gz") || (len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return out, nil
	}
	return data, nil
}

// BertConfig configures a WordPiece tokenizer built from a vocab.txt, as
// transformers' BertTokenizer. Start from DefaultBertConfig.
type BertConfig struct {
	// Lowercase is do_lower_case.
	Lowercase bool
	// StripAccents is strip_accents; nil follows Lowercase.
	StripAccents *bool
	// ChineseChars is tokenize_chinese_chars (spaces around CJK ideographs).
	ChineseChars bool
	// CleanText removes control characters and maps whitespace to spaces.
	CleanText bool
	// Special tokens.
	Unk, CLS, SEP, Pad, Mask string
	// MaxInputCharsPerWord: longer words become Unk.
	MaxInputCharsPerWord int
}

// DefaultBertConfig returns bert-base-uncased's settings.
func DefaultBertConfig() BertConfig {
	return BertConfig{
		Lowercase: true, ChineseChars: true, CleanText: true,
		Unk: "[UNK]", CLS: "[CLS]", SEP: "[SEP]", Pad: "[PAD]", Mask: "[MASK]",
		MaxInputCharsPerWord: 100,
	}
}

// FromVocabFile builds a BERT WordPiece tokenizer from a vocab.txt (one
// token per line, the line number is the id).
func FromVocabFile(path string, cfg BertConfig) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	t, err := FromVocab(f, cfg)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// FromVocab builds a BERT WordPiece tokenizer from vocab.txt content.
func FromVocab(r io.Reader, cfg BertConfig) (*Tokenizer, error) {
	br := bufio.NewReader(r)
	vocab := make(map[string]int32)
	for id := int32(0); ; id++ {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			if err == io.EOF {
				break
			}
			return nil, err
		}
		line = strings.TrimSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\r")
		vocab[line] = id
		if err == io.EOF {
			break
		}
	}
	if len(vocab) == 0 {
		return nil, errors.New("vocab.txt: empty vocabulary")
	}
	strip := cfg.Lowercase
	if cfg.StripAccents != nil {
		strip = *cfg.StripAccents
	}
	if cfg.MaxInputCharsPerWord <= 0 {
		cfg.MaxInputCharsPerWord = 100
	}
	t := &Tokenizer{
		normalizer: &bertNormalizer{cleanText: cfg.CleanText, chineseChars: cfg.ChineseChars, stripAccents: strip, lowercase: cfg.Lowercase},
		pre:        bertPreTokenizer{},
		model:      newWordPiece(vocab, cfg.Unk, "##", cfg.MaxInputCharsPerWord),
		decoder:    wordPieceDecoder{prefix: "##", cleanup: true},
		modelType:  "WordPiece",
	}
	clsID, okC := vocab[cfg.CLS]
	sepID, okS := vocab[cfg.SEP]
	if !okC || !okS {
		return nil, fmt.Errorf("vocab.txt: special tokens %q/%q not in the vocabulary", cfg.CLS, cfg.SEP)
	}
	t.post = &bertProcessor{cls: cfg.CLS, sep: cfg.SEP, clsID: clsID, sepID: sepID}
	var added []AddedToken
	for _, s := range []string{cfg.Pad, cfg.Unk, cfg.CLS, cfg.SEP, cfg.Mask} {
		if id, ok := vocab[s]; ok && s != "" {
			added = append(added, AddedToken{ID: id, Content: s, Special: true})
		}
	}
	if err := t.setAdded(added); err != nil {
		return nil, err
	}
	t.special = SpecialTokens{Pad: cfg.Pad, Unk: cfg.Unk, CLS: cfg.CLS, SEP: cfg.SEP, Mask: cfg.Mask}
	return t, nil
}

// tokenizerConfig is what is read from tokenizer_config.json and
// special_tokens_map.json.
type tokenizerConfig struct {
	special      map[string]string
	lower        *bool
	stripAccents *bool
	stripSet     bool
	chinese      *bool
	maxLength    int
}

func readTokenizerConfig(dir string) (*tokenizerConfig, error) {
	c := &tokenizerConfig{special: map[string]string{}}
	for _, name := range []string{"special_tokens_map.json", "tokenizer_config.json"} {
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", p, err)
		}
		for _, k := range []string{"pad_token", "unk_token", "cls_token", "sep_token", "mask_token", "bos_token", "eos_token"} {
			if raw, ok := m[k]; ok {
				if s, ok := tokenContent(raw); ok {
					c.special[k] = s
				}
			}
		}
		var b bool
		if raw, ok := m["do_lower_case"]; ok && json.Unmarshal(raw, &b) == nil {
			c.lower = &b
		}
		if raw, ok := m["tokenize_chinese_chars"]; ok {
			var cb bool
			if json.Unmarshal(raw, &cb) == nil {
				c.chinese = &cb
			}
		}
		if raw, ok := m["strip_accents"]; ok {
			c.stripSet = true
			var sb *bool
			if json.Unmarshal(raw, &sb) == nil {
				c.stripAccents = sb
			}
		}
		if raw, ok := m["model_max_length"]; ok {
			var f float64
			if json.Unmarshal(raw, &f) == nil && f > 0 && f < 1<<31 {
				c.maxLength = int(f)
			}
		}
	}
	return c, nil
}

// tokenContent reads a token given as a string or as {"content": ...}.
func tokenContent(raw json.RawMessage) (string, bool) {
	var s *string
	if json.Unmarshal(raw, &s) == nil {
		if s == nil {
			return "", false
		}
		return *s, true
	}
	var o struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(raw, &o) == nil && o.Content != nil {
		return *o.Content, true
	}
	return "", false
}

func (c *tokenizerConfig) applyBert(b *BertConfig) {
	if c.lower != nil {
		b.Lowercase = *c.lower
	}
	if c.stripSet {
		b.StripAccents = c.stripAccents
	}
	if c.chinese != nil {
		b.ChineseChars = *c.chinese
	}
	set := func(dst *string, k string) {
		if v, ok := c.special[k]; ok && v != "" {
			*dst = v
		}
	}
	set(&b.Unk, "unk_token")
	set(&b.CLS, "cls_token")
	set(&b.SEP, "sep_token")
	set(&b.Pad, "pad_token")
	set(&b.Mask, "mask_token")
}

func (c *tokenizerConfig) applySpecial(t *Tokenizer) {
	set := func(dst *string, k string) {
		if v, ok := c.special[k]; ok && v != "" {
			*dst = v
		}
	}
	set(&t.special.Pad, "pad_token")
	set(&t.special.Unk, "unk_token")
	set(&t.special.CLS, "cls_token")
	set(&t.special.SEP, "sep_token")
	set(&t.special.Mask, "mask_token")
	set(&t.special.BOS, "bos_token")
	set(&t.special.EOS, "eos_token")
	if c.maxLength > 0 {
		t.maxLength = c.maxLength
	}
}
