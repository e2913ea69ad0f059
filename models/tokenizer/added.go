package tokenizer

// added.go: added tokens (tokenizers/src/tokenizer/added_vocabulary.rs).
// Tokens with normalized=false are matched in the raw text before
// normalization; those with normalized=true are matched in each
// normalized piece. Matching is leftmost-longest (as the reference's
// Aho-Corasick automaton), honoring single_word, lstrip and rstrip.

import (
	"unicode/utf8"
)

// AddedToken is a token the tokenizer matches in the text before the model
// sees it (special tokens such as [CLS] or <|im_start|>, and user tokens).
type AddedToken struct {
	ID      int32
	Content string
	// SingleWord: match only when not surrounded by word characters.
	SingleWord bool
	// LStrip, RStrip: the match absorbs the whitespace on its left/right.
	LStrip, RStrip bool
	// Normalized: matched in the normalized text instead of the raw text.
	Normalized bool
	// Special: a special token (skipped by Decode with skipSpecial).
	Special bool
}

// addedMatcher finds added tokens in a string.
type addedMatcher struct {
	trie   *byteTrie
	first  [256]bool
	tokens []AddedToken // indexed by trie value
}

func newAddedMatcher(tokens []AddedToken, contents []string) *addedMatcher {
	if len(tokens) == 0 {
		return nil
	}
	m := &addedMatcher{tokens: tokens}
	idx := make([]int32, len(tokens))
	for i := range tokens {
		idx[i] = int32(i)
		if contents[i] != "" {
			m.first[contents[i][0]] = true
		}
	}
	m.trie = buildTrie(contents, idx)
	return m
}

// longest returns the index and length of the longest token at s[i:].
func (m *addedMatcher) longest(s string, i int) (int32, int) {
	best, bestLen := int32(-1), 0
	m.trie.prefixes(s[i:], func(n int, v int32) {
		best, bestLen = v, n
	})
	return best, bestLen
}

// addedMatch is one split: [a, b) and the token index, or -1 for text.
type addedMatch struct {
	a, b int
	tok  int32
}

// find is AddedVocabulary::find_matches.
func (m *addedMatcher) find(s string) []addedMatch {
	var out []addedMatch
	startOffset := 0
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		k, n := m.longest(s, i)
		if k < 0 {
			i++
			continue
		}
		start, stop := i, i+n
		i = stop // the automaton resumes after the raw match
		t := &m.tokens[k]
		if t.SingleWord {
			startSpace := start == 0 || !endsWithWord(s[:start])
			stopSpace := stop == len(s) || !startsWithWord(s[stop:])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if t.LStrip {
			ns := spaceLeftmostAtEnd(s[:start])
			if ns < startOffset {
				ns = startOffset
			}
			start = ns
		}
		if t.RStrip {
			stop += spaceRightmostAtStart(s[stop:])
		}
		if start < startOffset { // overlaps the previous token's stripped spaces
			start = startOffset
		}
		if startOffset < start {
			out = append(out, addedMatch{startOffset, start, -1})
		}
		out = append(out, addedMatch{start, stop, k})
		startOffset = stop
		if i < stop {
			i = stop
		}
	}
	if startOffset < len(s) {
		out = append(out, addedMatch{startOffset, len(s), -1})
	}
	return out
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordChar(r)
}

// spaceLeftmostAtEnd returns where the trailing whitespace of s begins.
func spaceLeftmostAtEnd(s string) int {
	i := len(s)
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:i])
		if !isS(r) {
			break
		}
		i -= n
	}
	return i
}

// spaceRightmostAtStart returns the length of the leading whitespace of s.
func spaceRightmostAtStart(s string) int {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isS(r) {
			break
		}
		i += n
	}
	return i
}

// splitAdded splits the pieces that hold text on the matcher's tokens;
// matched tokens become tokenized pieces, empty pieces are dropped.
func splitAdded(ps []piece, m *addedMatcher, normalize func(normStr) normStr) []piece {
	out := make([]piece, 0, len(ps)+2)
	for _, p := range ps {
		if p.tokens != nil {
			out = append(out, p)
			continue
		}
		n := p.n
		if normalize != nil {
			n = normalize(n)
		}
		if m == nil {
			if n.s != "" {
				out = append(out, piece{n: n})
			}
			continue
		}
		for _, mt := range m.find(n.s) {
			if mt.b <= mt.a {
				continue
			}
			sub := n.slice(mt.a, mt.b)
			if mt.tok < 0 {
				out = append(out, piece{n: sub})
				continue
			}
			st, en := sub.orig(0, len(sub.s))
			t := m.tokens[mt.tok]
			out = append(out, piece{n: sub, tokens: []token{{id: t.ID, value: sub.s, start: st, end: en}}})
		}
	}
	return out
}
