package tokenizer

// wordpiece.go: the WordPiece model (tokenizers/src/models/wordpiece) and
// the WordLevel model. WordPiece is greedy longest-match-first: from the
// start of the word take the longest vocabulary piece, then continue with
// pieces carrying the continuing-subword prefix ("##"); if some position
// has no piece, or the word is longer than max_input_chars_per_word
// characters, the whole word becomes the unknown token.

import (
	"unicode/utf8"
)

// model turns one pre-token into tokens; offsets are byte offsets into s.
type model interface {
	tokenize(s string, dst []token) []token
	tokenToID(tok string) (int32, bool)
	idToToken(id int32) (string, bool)
	vocabSize() int
}

// vocabulary maps tokens to ids and back.
type vocabulary struct {
	ids     map[string]int32
	tokens  []string // by id
	present []bool   // whether some token has that id
	sparse  map[int32]string
}

func newVocabulary(m map[string]int32) vocabulary {
	maxID := int32(-1)
	for _, id := range m {
		if id > maxID {
			maxID = id
		}
	}
	if int(maxID) > 4*len(m)+1024 { // very sparse ids: no dense table
		v := vocabulary{ids: m, sparse: make(map[int32]string, len(m))}
		for t, id := range m {
			v.sparse[id] = t
		}
		return v
	}
	v := vocabulary{ids: m, tokens: make([]string, maxID+1), present: make([]bool, maxID+1)}
	for t, id := range m {
		if id >= 0 {
			v.tokens[id] = t
			v.present[id] = true
		}
	}
	return v
}

// token returns the token of an id known to be in the vocabulary.
func (v *vocabulary) token(id int32) string {
	if v.sparse != nil {
		return v.sparse[id]
	}
	return v.tokens[id]
}

func (v *vocabulary) tokenToID(t string) (int32, bool) {
	id, ok := v.ids[t]
	return id, ok
}

func (v *vocabulary) idToToken(id int32) (string, bool) {
	if v.sparse != nil {
		t, ok := v.sparse[id]
		return t, ok
	}
	if id < 0 || int(id) >= len(v.tokens) || !v.present[id] {
		return "", false
	}
	return v.tokens[id], true
}

func (v *vocabulary) vocabSize() int { return len(v.ids) }

// wordPiece is the WordPiece model.
type wordPiece struct {
	vocabulary
	cont        map[string]int32 // continuation pieces, keyed without the prefix
	prefix      string
	unkToken    string
	unkID       int32
	hasUnk      bool
	maxChars    int
	maxPieceLen int // longest first piece, bytes
	maxContLen  int // longest continuation piece without prefix, bytes
}

func newWordPiece(vocab map[string]int32, unk, prefix string, maxChars int) *wordPiece {
	w := &wordPiece{vocabulary: newVocabulary(vocab), prefix: prefix, unkToken: unk, maxChars: maxChars}
	w.unkID, w.hasUnk = vocab[unk]
	w.cont = make(map[string]int32)
	for t, id := range vocab {
		if len(t) > w.maxPieceLen {
			w.maxPieceLen = len(t)
		}
		if prefix != "" && len(t) > len(prefix) && t[:len(prefix)] == prefix {
			rest := t[len(prefix):]
			w.cont[rest] = id
			if len(rest) > w.maxContLen {
				w.maxContLen = len(rest)
			}
		}
	}
	if prefix == "" {
		w.cont = vocab
		w.maxContLen = w.maxPieceLen
	}
	return w
}

func (w *wordPiece) unk(s string, dst []token) []token {
	if !w.hasUnk {
		return dst // a vocabulary without its unknown token: drop the word
	}
	return append(dst, token{id: w.unkID, value: w.unkToken, start: 0, end: len(s)})
}

func (w *wordPiece) tokenize(s string, dst []token) []token {
	if s == "" {
		return dst
	}
	if utf8.RuneCountInString(s) > w.maxChars {
		return w.unk(s, dst)
	}
	mark := len(dst)
	for start := 0; start < len(s); {
		m, maxLen := w.ids, w.maxPieceLen
		if start > 0 {
			m, maxLen = w.cont, w.maxContLen
		}
		end := len(s)
		if end-start > maxLen {
			end = start + maxLen
			for end > start && !utf8.RuneStart(s[end]) {
				end--
			}
		}
		found := false
		for end > start {
			if id, ok := m[s[start:end]]; ok {
				dst = append(dst, token{id: id, value: w.token(id), start: start, end: end})
				found = true
				break
			}
			_, sz := utf8.DecodeLastRuneInString(s[start:end])
			end -= sz
		}
		if !found {
			return w.unk(s, dst[:mark])
		}
		start = end
	}
	return dst
}

// wordLevel is the WordLevel model: the whole pre-token or unknown.
type wordLevel struct {
	vocabulary
	unkToken string
}

func (w *wordLevel) tokenize(s string, dst []token) []token {
	if s == "" {
		return dst
	}
	if id, ok := w.ids[s]; ok {
		return append(dst, token{id: id, value: w.token(id), start: 0, end: len(s)})
	}
	if id, ok := w.ids[w.unkToken]; ok {
		return append(dst, token{id: id, value: w.unkToken, start: 0, end: len(s)})
	}
	return dst
}
