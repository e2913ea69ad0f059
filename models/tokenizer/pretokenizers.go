package tokenizer

// pretokenizers.go: the Hugging Face pre-tokenizers
// (tokenizers/src/pre_tokenizers): BertPreTokenizer, Whitespace,
// WhitespaceSplit, Metaspace, ByteLevel, Split, Punctuation, Digits,
// CharDelimiterSplit, Sequence. A pre-tokenizer splits pieces of
// normalized text into smaller pieces (pre-tokens); pieces that already
// hold tokens (added tokens) pass through untouched, and empty pieces are
// dropped, as PreTokenizedString::split does.

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one model token with its original byte offsets.
type token struct {
	id         int32
	value      string
	start, end int
}

// piece is a split of the input: normalized text, or an added token.
type piece struct {
	n      normStr
	tokens []token // set once tokenized (added tokens are set at once)
}

type preTokenizer interface {
	preTokenize(ps []piece) []piece
}

// splitBehavior is SplitDelimiterBehavior.
type splitBehavior int

const (
	behRemoved splitBehavior = iota
	behIsolated
	behMergedWithPrevious
	behMergedWithNext
	behContiguous
)

// seg is a byte range of a string and whether it is a pattern match.
type seg struct {
	a, b  int
	match bool
}

// charSegs returns the segments of s for a character predicate: every
// matching character is a match of its own, the text between is not.
func charSegs(s string, f func(rune) bool, out []seg) []seg {
	last := 0
	for i := 0; i < len(s); {
		r, n := decodeAt(s, i)
		if f(r) {
			if last < i {
				out = append(out, seg{last, i, false})
			}
			out = append(out, seg{i, i + n, true})
			last = i + n
		}
		i += n
	}
	if last < len(s) {
		out = append(out, seg{last, len(s), false})
	}
	return out
}

// matchSegs turns match spans (sorted, non-overlapping) into segments.
func matchSegs(s string, ms [][2]int, out []seg) []seg {
	last := 0
	for _, m := range ms {
		if m[1] <= m[0] || m[0] < last {
			continue
		}
		if last < m[0] {
			out = append(out, seg{last, m[0], false})
		}
		out = append(out, seg{m[0], m[1], true})
		last = m[1]
	}
	if last < len(s) {
		out = append(out, seg{last, len(s), false})
	}
	return out
}

// applyBehavior is NormalizedString::split's grouping of segments; it
// appends the resulting non-empty pieces of n to out.
func applyBehavior(n normStr, segs []seg, beh splitBehavior, out []piece) []piece {
	emit := func(a, b int) {
		if b > a {
			out = append(out, piece{n: n.slice(a, b)})
		}
	}
	switch beh {
	case behRemoved:
		for _, g := range segs {
			if !g.match {
				emit(g.a, g.b)
			}
		}
	case behIsolated:
		for _, g := range segs {
			emit(g.a, g.b)
		}
	case behContiguous:
		prev := false
		a, b, open := 0, 0, false
		for _, g := range segs {
			if open && g.match == prev {
				b = g.b
			} else {
				if open {
					emit(a, b)
				}
				a, b, open = g.a, g.b, true
			}
			prev = g.match
		}
		if open {
			emit(a, b)
		}
	case behMergedWithPrevious:
		prev := false
		a, b, open := 0, 0, false
		for _, g := range segs {
			if g.match && !prev && open {
				b = g.b
			} else {
				if open {
					emit(a, b)
				}
				a, b, open = g.a, g.b, true
			}
			prev = g.match
		}
		if open {
			emit(a, b)
		}
	case behMergedWithNext:
		// Walk backwards: a match is merged into the segment after it.
		var rev [][2]int
		prev := false
		for k := len(segs) - 1; k >= 0; k-- {
			g := segs[k]
			if g.match && !prev && len(rev) > 0 {
				rev[len(rev)-1][0] = g.a
			} else {
				rev = append(rev, [2]int{g.a, g.b})
			}
			prev = g.match
		}
		for k := len(rev) - 1; k >= 0; k-- {
			emit(rev[k][0], rev[k][1])
		}
	}
	return out
}

// eachPiece runs f over the pieces that are not tokenized yet.
func eachPiece(ps []piece, f func(n normStr, out []piece) []piece) []piece {
	est := len(ps)
	for k := range ps {
		est += len(ps[k].n.s) / 5
	}
	out := make([]piece, 0, est)
	for _, p := range ps {
		if p.tokens != nil {
			out = append(out, p)
			continue
		}
		out = f(p.n, out)
	}
	return out
}

// isBertPunc is bert.rs is_bert_punc: ASCII punctuation or Unicode P*.
func isBertPunc(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// bertPreTokenizer splits on whitespace (removed) and punctuation (isolated).
type bertPreTokenizer struct{}

func (bertPreTokenizer) preTokenize(ps []piece) []piece {
	return eachPiece(ps, func(n normStr, out []piece) []piece {
		s := n.s
		start := -1
		for i := 0; i < len(s); {
			r, sz := decodeAt(s, i)
			switch {
			case isS(r):
				if start >= 0 {
					out = append(out, piece{n: n.slice(start, i)})
					start = -1
				}
			case isBertPunc(r):
				if start >= 0 {
					out = append(out, piece{n: n.slice(start, i)})
					start = -1
				}
				out = append(out, piece{n: n.slice(i, i+sz)})
			default:
				if start < 0 {
					start = i
				}
			}
			i += sz
		}
		if start >= 0 {
			out = append(out, piece{n: n.slice(start, len(s))})
		}
		return out
	})
}

// whitespaceSplit splits on whitespace, removing it.
type whitespaceSplit struct{}

func (whitespaceSplit) preTokenize(ps []piece) []piece {
	return eachPiece(ps, func(n normStr, out []piece) []piece {
		s := n.s
		start := -1
		for i := 0; i < len(s); {
			r, sz := decodeAt(s, i)
			if isS(r) {
				if start >= 0 {
					out = append(out, piece{n: n.slice(start, i)})
					start = -1
				}
			} else if start < 0 {
				start = i
			}
			i += sz
		}
		if start >= 0 {
			out = append(out, piece{n: n.slice(start, len(s))})
		}
		return out
	})
}

// isWordChar is the Unicode \w of Rust's regex crate.
func isWordChar(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || (r >= '0' && r <= '9') || ((r|0x20) >= 'a' && (r|0x20) <= 'z')
	}
	return unicode.IsLetter(r) || unicode.Is(unicode.M, r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Other_Alphabetic, r) || unicode.Is(unicode.Nl, r) ||
		r == 0x200C || r == 0x200D
}

// whitespacePre is the Whitespace pre-tokenizer: `\w+|[^\w\s]+`, the rest
// (whitespace) removed.
type whitespacePre struct{}

func (whitespacePre) preTokenize(ps []piece) []piece {
	return eachPiece(ps, func(n normStr, out []piece) []piece {
		s := n.s
		for i := 0; i < len(s); {
			r, sz := decodeAt(s, i)
			var f func(rune) bool
			switch {
			case isWordChar(r):
				f = isWordChar
			case !isS(r):
				f = func(c rune) bool { return !isWordChar(c) && !isS(c) }
			default:
				i += sz
				continue
			}
			j := runWhile(s, i+sz, f)
			out = append(out, piece{n: n.slice(i, j)})
			i = j
		}
		return out
	})
}

// prependScheme is Metaspace's prepend_scheme.
type prependScheme int

const (
	prependAlways prependScheme = iota
	prependFirst
	prependNever
)

// metaspacePre replaces spaces by the replacement character, prepends one
// to the piece (per scheme) and splits before each replacement character.
type metaspacePre struct {
	repl   rune
	scheme prependScheme
	split  bool
}

func (m metaspacePre) preTokenize(ps []piece) []piece {
	replStr := string(m.repl)
	// Build every transformed piece in one shared buffer.
	var nb normBuilder
	size := 0
	for k := range ps {
		size += len(ps[k].n.s) + 2*len(replStr)
	}
	nb.grow(size)
	type rng struct{ a, b int }
	ranges := make([]rng, len(ps))
	for k := range ps {
		if ps[k].tokens != nil {
			continue
		}
		n := ps[k].n
		a := len(nb.b)
		// (a leading space becomes the replacement: no prepend then)
		if n.s != "" && n.s[0] != ' ' && !strings.HasPrefix(n.s, replStr) &&
			(m.scheme == prependAlways || (m.scheme == prependFirst && n.base == 0)) {
			// prepend: the new character takes the first character's alignment
			for _, r := range replStr {
				nb.add(r, n.align[0])
			}
		}
		for i := 0; i < len(n.s); i++ {
			if n.s[i] == ' ' { // each space becomes the replacement, same alignment
				for _, r := range replStr {
					nb.add(r, n.align[i])
				}
				continue
			}
			nb.b = append(nb.b, n.s[i])
			nb.align = append(nb.align, n.align[i])
		}
		ranges[k] = rng{a, len(nb.b)}
	}
	all := string(nb.b)
	out := make([]piece, 0, len(ps)+size/8)
	for k := range ps {
		if ps[k].tokens != nil {
			out = append(out, ps[k])
			continue
		}
		r := ranges[k]
		n := normStr{s: all[r.a:r.b], align: nb.align[r.a:r.b:r.b], base: ps[k].n.base}
		if n.s == "" {
			continue
		}
		if !m.split {
			out = append(out, piece{n: n})
			continue
		}
		out = applyBehavior(n, charSegs(n.s, func(c rune) bool { return c == m.repl }, nil), behMergedWithNext, out)
	}
	return out
}

// bytesChar is GPT-2's bytes_to_unicode map.
var bytesChar, charBytes = func() ([256]rune, map[rune]byte) {
	var bc [256]rune
	cb := make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			bc[b] = rune(b)
		} else {
			bc[b] = rune(256 + n)
			n++
		}
		cb[bc[b]] = byte(b)
	}
	return bc, cb
}()

// byteLevelPre is the ByteLevel pre-tokenizer.
type byteLevelPre struct {
	addPrefixSpace bool
	useRegex       bool
}

var gpt2Scanner = &bpeScanner{}

func (b byteLevelPre) preTokenize(ps []piece) []piece {
	if b.addPrefixSpace || b.useRegex {
		ps = eachPiece(ps, func(n normStr, out []piece) []piece {
			if b.addPrefixSpace && !strings.HasPrefix(n.s, " ") {
				n = prepend(n, " ")
			}
			if !b.useRegex {
				if n.s != "" {
					out = append(out, piece{n: n})
				}
				return out
			}
			return applyBehavior(n, matchSegs(n.s, gpt2Scanner.matches(n.s), nil), behIsolated, out)
		})
	}
	// Map all pieces into one shared buffer (one allocation per text).
	total := 0
	for k := range ps {
		if ps[k].tokens == nil {
			total += byteLevelLen(ps[k].n.s)
		}
	}
	buf := make([]byte, 0, total)
	al := make([]span, 0, total)
	for k := range ps {
		if ps[k].tokens != nil {
			continue
		}
		n := ps[k].n
		for i := 0; i < len(n.s); i++ {
			r := bytesChar[n.s[i]]
			if r < utf8.RuneSelf {
				buf = append(buf, byte(r))
				al = append(al, n.align[i])
			} else {
				buf = append(buf, byte(0xC0|r>>6), byte(0x80|r&0x3F))
				al = append(al, n.align[i], n.align[i])
			}
		}
	}
	s := string(buf)
	off := 0
	for k := range ps {
		if ps[k].tokens != nil {
			continue
		}
		l := byteLevelLen(ps[k].n.s)
		ps[k].n = normStr{s: s[off : off+l], align: al[off : off+l : off+l], base: ps[k].n.base}
		off += l
	}
	return ps
}

// byteLevelLen is the length of the byte-level mapping of s: every byte
// maps to a character below U+0800 (one or two bytes).
func byteLevelLen(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if bytesChar[s[i]] < utf8.RuneSelf {
			n++
		} else {
			n += 2
		}
	}
	return n
}

// byteLevelMap maps every byte to its GPT-2 character; all characters from
// the bytes of one original character share its alignment.
func byteLevelMap(n normStr) normStr {
	var nb normBuilder
	nb.grow(2 * len(n.s))
	for i := 0; i < len(n.s); i++ {
		nb.add(bytesChar[n.s[i]], n.align[i])
	}
	return nb.done(n.base)
}

// splitPre is the Split pre-tokenizer.
type splitPre struct {
	literal string
	re      *regexp.Regexp
	scanner *bpeScanner
	beh     splitBehavior
	invert  bool
}

func (p splitPre) find(s string) [][2]int {
	switch {
	case p.scanner != nil:
		return p.scanner.matches(s)
	case p.re != nil:
		raw := p.re.FindAllStringIndex(s, -1)
		out := make([][2]int, 0, len(raw))
		for _, m := range raw {
			out = append(out, [2]int{m[0], m[1]})
		}
		return out
	case p.literal != "":
		var out [][2]int
		for i := 0; ; {
			k := strings.Index(s[i:], p.literal)
			if k < 0 {
				return out
			}
			out = append(out, [2]int{i + k, i + k + len(p.literal)})
			i += k + len(p.literal)
		}
	}
	return nil
}

func (p splitPre) preTokenize(ps []piece) []piece {
	return eachPiece(ps, func(n normStr, out []piece) []piece {
		segs := matchSegs(n.s, p.find(n.s), nil)
		if p.invert {
			for k := range segs {
				segs[k].match = !segs[k].match
			}
		}
		return applyBehavior(n, segs, p.beh, out)
	})
}

// predicatePre splits on characters satisfying f with a behavior
// (Punctuation, Digits, CharDelimiterSplit).
type predicatePre struct {
	f   func(rune) bool
	beh splitBehavior
}

func (p predicatePre) preTokenize(ps []piece) []piece {
	return eachPiece(ps, func(n normStr, out []piece) []piece {
		return applyBehavior(n, charSegs(n.s, p.f, nil), p.beh, out)
	})
}

// sequencePre applies pre-tokenizers in order.
type sequencePre []preTokenizer

func (s sequencePre) preTokenize(ps []piece) []piece {
	for _, p := range s {
		ps = p.preTokenize(ps)
	}
	return ps
}
