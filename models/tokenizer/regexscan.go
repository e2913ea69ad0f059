package tokenizer

// regexscan.go: hand-written scanners for the pre-tokenization regular
// expressions of byte-level BPE tokenizers. Go's regexp has no lookahead,
// so `\s+(?!\S)` cannot be compiled; these scanners implement the exact
// backtracking (Oniguruma, leftmost-first alternation) semantics of:
//
//	GPT-2:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//	Qwen2:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//	Llama3: the Qwen2 pattern with \p{N}{1,3}
//
// \s is Unicode White_Space, \p{L} letters, \p{N} numbers.

import (
	"unicode"
	"unicode/utf8"
)

const (
	gpt2Pattern   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	qwen2Pattern  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// bpeScanner matches one of the patterns above.
type bpeScanner struct {
	qwen      bool // Qwen2/Llama3 family, else GPT-2
	maxDigits int  // Qwen2 1, Llama3 3
}

// scannerFor returns the scanner of a known pattern.
func scannerFor(pattern string) (*bpeScanner, bool) {
	switch pattern {
	case gpt2Pattern:
		return &bpeScanner{}, true
	case qwen2Pattern:
		return &bpeScanner{qwen: true, maxDigits: 1}, true
	case llama3Pattern:
		return &bpeScanner{qwen: true, maxDigits: 3}, true
	}
	return nil, false
}

func isL(r rune) bool {
	if r < utf8.RuneSelf {
		return (r|0x20) >= 'a' && (r|0x20) <= 'z'
	}
	return unicode.IsLetter(r)
}

func isN(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= '0' && r <= '9'
	}
	return unicode.IsNumber(r)
}

func isS(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.IsSpace(r)
}

// isP is [^\s\p{L}\p{N}].
func isP(r rune) bool { return !isS(r) && !isL(r) && !isN(r) }

func decodeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// runWhile returns the end of the run of runes from i satisfying f.
func runWhile(s string, i int, f func(rune) bool) int {
	for i < len(s) {
		r, n := decodeAt(s, i)
		if !f(r) {
			break
		}
		i += n
	}
	return i
}

// contraction matches the letters after an apostrophe at s[p:]; it returns
// the end of the match or -1.
func contraction(s string, p int, fold bool) int {
	eq := func(i int, lower byte) (int, bool) {
		if i >= len(s) {
			return 0, false
		}
		c := s[i]
		if c == lower || (fold && c == lower-'a'+'A') {
			return 1, true
		}
		// Unicode case folding: U+017F LATIN SMALL LETTER LONG S folds to s.
		if fold && lower == 's' && c == 0xC5 && i+1 < len(s) && s[i+1] == 0xBF {
			return 2, true
		}
		return 0, false
	}
	for _, one := range []byte{'s', 't', 'm', 'd'} {
		if n, ok := eq(p, one); ok {
			return p + n
		}
	}
	for _, two := range [][2]byte{{'r', 'e'}, {'v', 'e'}, {'l', 'l'}} {
		if n1, ok := eq(p, two[0]); ok {
			if n2, ok := eq(p+n1, two[1]); ok {
				return p + n1 + n2
			}
		}
	}
	return -1
}

// next returns the end of the match starting at i (i < len(s)); every
// position matches one alternative of these patterns.
func (sc *bpeScanner) next(s string, i int) int {
	r, n := decodeAt(s, i)
	if r == '\'' {
		if e := contraction(s, i+1, sc.qwen); e > 0 {
			return e
		}
	}
	if sc.qwen {
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if isL(r) {
			return runWhile(s, i+n, isL)
		}
		if r != '\r' && r != '\n' && !isN(r) {
			if r2, n2 := decodeAt(s, i+n); n2 > 0 && isL(r2) {
				return runWhile(s, i+n+n2, isL)
			}
		}
		// \p{N}{1,maxDigits}
		if isN(r) {
			e := i + n
			for k := 1; k < sc.maxDigits; k++ {
				r2, n2 := decodeAt(s, e)
				if n2 == 0 || !isN(r2) {
					break
				}
				e += n2
			}
			return e
		}
		// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
		if e := punctRun(s, i, r, n); e > 0 {
			return runWhile(s, e, func(c rune) bool { return c == '\r' || c == '\n' })
		}
		if isS(r) {
			j := i
			lastNL := -1
			cnt := 0
			last := i
			for j < len(s) {
				c, m := decodeAt(s, j)
				if !isS(c) {
					break
				}
				if c == '\r' || c == '\n' {
					lastNL = j
				}
				last = j
				cnt++
				j += m
			}
			if lastNL >= 0 { // \s*[\r\n]+
				return lastNL + 1
			}
			return spaceTail(s, j, last, cnt)
		}
		return i + n
	}
	// GPT-2: ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
	if r == ' ' {
		if r2, n2 := decodeAt(s, i+1); n2 > 0 {
			switch {
			case isL(r2):
				return runWhile(s, i+1+n2, isL)
			case isN(r2):
				return runWhile(s, i+1+n2, isN)
			case isP(r2):
				return runWhile(s, i+1+n2, isP)
			}
		}
	}
	switch {
	case isL(r):
		return runWhile(s, i+n, isL)
	case isN(r):
		return runWhile(s, i+n, isN)
	case isP(r):
		return runWhile(s, i+n, isP)
	}
	j, last, cnt := i, i, 0
	for j < len(s) {
		c, m := decodeAt(s, j)
		if !isS(c) {
			break
		}
		last = j
		cnt++
		j += m
	}
	if cnt == 0 {
		return i + n
	}
	return spaceTail(s, j, last, cnt)
}

// punctRun matches ` ?[^\s\p{L}\p{N}]+` at i and returns its end, or -1.
func punctRun(s string, i int, r rune, n int) int {
	if r == ' ' {
		if r2, n2 := decodeAt(s, i+1); n2 > 0 && isP(r2) {
			return runWhile(s, i+1+n2, isP)
		}
		return -1
	}
	if isP(r) {
		return runWhile(s, i+n, isP)
	}
	return -1
}

// spaceTail resolves `\s+(?!\S)|\s+` for a whitespace run ending at j whose
// last rune starts at last and that holds cnt runes.
func spaceTail(s string, j, last, cnt int) int {
	if j == len(s) || cnt < 2 {
		return j
	}
	return last
}

// matches returns the spans of all matches in s (they tile s).
func (sc *bpeScanner) matches(s string) [][2]int {
	out := make([][2]int, 0, len(s)/4+1)
	for i := 0; i < len(s); {
		e := sc.next(s, i)
		if e <= i { // cannot happen; never loop forever
			_, n := decodeAt(s, i)
			e = i + n
		}
		out = append(out, [2]int{i, e})
		i = e
	}
	return out
}
