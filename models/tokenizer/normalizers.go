package tokenizer

// normalizers.go: the Hugging Face normalizers (tokenizers/src/normalizers):
// BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase, StripAccents, Strip,
// Replace, Prepend, Nmt, Sequence. Precompiled lives in precompiled.go.
// Every normalizer keeps the alignments exactly as the Rust code does, so
// offsets match the reference.

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer transforms a normalized string.
type normalizer interface {
	normalize(n normStr) normStr
}

// sequenceNormalizer applies normalizers in order.
type sequenceNormalizer []normalizer

func (s sequenceNormalizer) normalize(n normStr) normStr {
	for _, x := range s {
		n = x.normalize(n)
	}
	return n
}

// bertNormalizer is BertNormalizer: clean text, spaces around CJK
// ideographs, accent stripping, lowercasing (in that order, as
// tokenizers/src/normalizers/bert.rs).
type bertNormalizer struct {
	cleanText    bool
	chineseChars bool
	stripAccents bool // already resolved: strip_accents null follows lowercase
	lowercase    bool
}

// bertIsWhitespace is bert.rs is_whitespace: \t, \n, \r or Unicode White_Space.
func bertIsWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r)
}

// bertIsControl is bert.rs is_control: Cc, Cf or Co except \t, \n, \r.
func bertIsControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if r < 0x80 {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isChineseChar is bert.rs is_chinese_char (CJK Unified Ideographs blocks).
func isChineseChar(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF,
		r >= 0x3400 && r <= 0x4DBF,
		r >= 0x20000 && r <= 0x2A6DF,
		r >= 0x2A700 && r <= 0x2B73F,
		r >= 0x2B740 && r <= 0x2B81F,
		r >= 0x2B920 && r <= 0x2CEAF,
		r >= 0xF900 && r <= 0xFAFF,
		r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

func (b *bertNormalizer) normalize(n normStr) normStr {
	if isASCII(n.s) {
		return b.normalizeASCII(n)
	}
	if b.cleanText || b.chineseChars {
		var nb normBuilder
		nb.grow(len(n.s) + 16)
		for i := 0; i < len(n.s); {
			r, sz := utf8.DecodeRuneInString(n.s[i:])
			sp := n.align[i]
			i += sz
			if b.cleanText {
				if r == 0 || r == 0xFFFD || bertIsControl(r) {
					continue
				}
				if bertIsWhitespace(r) {
					r = ' '
				}
			}
			if b.chineseChars && isChineseChar(r) {
				nb.add(' ', sp)
				nb.add(r, sp)
				nb.add(' ', sp)
				continue
			}
			nb.add(r, sp)
		}
		n = nb.done(n.base)
	}
	if b.stripAccents {
		n = stripMn(unicodeNormalize(n, norm.NFD))
	}
	if b.lowercase {
		n = lowercase(n)
	}
	return n
}

func (b *bertNormalizer) normalizeASCII(n normStr) normStr {
	buf := make([]byte, 0, len(n.s))
	var al []span
	changed := false
	for i := 0; i < len(n.s); i++ {
		c := n.s[i]
		if b.cleanText && (c < 0x20 || c == 0x7f) {
			if c == '\t' || c == '\n' || c == '\r' {
				c = ' '
			} else {
				if al == nil {
					al = make([]span, i, len(n.s))
					copy(al, n.align[:i])
				}
				changed = true
				continue
			}
		}
		if b.lowercase && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
		if al != nil {
			al = append(al, n.align[i])
		}
	}
	if !changed {
		al = n.align
	}
	return normStr{s: string(buf), align: al, base: n.base}
}

// stripMn drops nonspacing marks (Mn), keeping the other characters'
// alignments (NormalizedString::filter).
func stripMn(n normStr) normStr {
	if isASCII(n.s) {
		return n
	}
	var nb normBuilder
	nb.grow(len(n.s))
	for i := 0; i < len(n.s); {
		r, sz := utf8.DecodeRuneInString(n.s[i:])
		if r < utf8.RuneSelf || !unicode.Is(unicode.Mn, r) {
			nb.addRaw(n, i, i+sz)
		}
		i += sz
	}
	return nb.done(n.base)
}

// lowercase is NormalizedString::lowercase: full lowercase mapping per
// character (Rust char::to_lowercase), every produced character aligned to
// its source character.
func lowercase(n normStr) normStr {
	if isASCII(n.s) {
		if !hasUpperASCII(n.s) {
			return n
		}
		b := []byte(n.s)
		for i, c := range b {
			if c >= 'A' && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return normStr{s: string(b), align: n.align, base: n.base}
	}
	var nb normBuilder
	nb.grow(len(n.s) + 8)
	for i := 0; i < len(n.s); {
		r, sz := utf8.DecodeRuneInString(n.s[i:])
		sp := n.align[i]
		i += sz
		if r == 0x130 { // İ: the only unconditional multi-char lowercase mapping
			nb.add('i', sp)
			nb.add(0x307, sp)
			continue
		}
		nb.add(unicode.ToLower(r), sp)
	}
	return nb.done(n.base)
}

func hasUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// unicodeNormalizer is one of NFC, NFD, NFKC, NFKD.
type unicodeNormalizer struct{ form norm.Form }

func (u unicodeNormalizer) normalize(n normStr) normStr { return unicodeNormalize(n, u.form) }

// lowercaseNormalizer is the Lowercase normalizer.
type lowercaseNormalizer struct{}

func (lowercaseNormalizer) normalize(n normStr) normStr { return lowercase(n) }

// stripAccentsNormalizer is StripAccents: drops Mn characters (it does not
// decompose; configurations pair it with NFD).
type stripAccentsNormalizer struct{}

func (stripAccentsNormalizer) normalize(n normStr) normStr { return stripMn(n) }

// stripNormalizer is Strip: removes leading and/or trailing whitespace.
type stripNormalizer struct{ left, right bool }

func (s stripNormalizer) normalize(n normStr) normStr {
	i, j := 0, len(n.s)
	if s.left {
		for i < j {
			r, sz := utf8.DecodeRuneInString(n.s[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += sz
		}
	}
	if s.right {
		for j > i {
			r, sz := utf8.DecodeLastRuneInString(n.s[i:j])
			if !unicode.IsSpace(r) {
				break
			}
			j -= sz
		}
	}
	if i == 0 && j == len(n.s) {
		return n
	}
	out := n.slice(i, j)
	out.base = n.base
	return out
}

// prependNormalizer is Prepend: puts a string in front of non-empty input;
// the prepended characters take the alignment of the first character.
type prependNormalizer struct{ prefix string }

func (p prependNormalizer) normalize(n normStr) normStr {
	if n.s == "" || p.prefix == "" {
		return n
	}
	return prepend(n, p.prefix)
}

// prepend is NormalizedString::prepend.
func prepend(n normStr, prefix string) normStr {
	if n.s == "" {
		return n
	}
	var nb normBuilder
	nb.grow(len(n.s) + len(prefix))
	sp := n.align[0]
	for _, r := range prefix {
		nb.add(r, sp)
	}
	nb.addRaw(n, 0, len(n.s))
	return nb.done(n.base)
}

// replaceNormalizer is Replace: every match of a literal string or a
// regular expression is replaced by content.
type replaceNormalizer struct {
	literal string
	re      *regexp.Regexp
	content string
}

func (p replaceNormalizer) normalize(n normStr) normStr {
	return replaceMatches(n, p.find(n.s), p.content)
}

func (p replaceNormalizer) find(s string) [][2]int {
	if p.re != nil {
		var out [][2]int
		for _, m := range p.re.FindAllStringIndex(s, -1) {
			if m[1] > m[0] {
				out = append(out, [2]int{m[0], m[1]})
			}
		}
		return out
	}
	if p.literal == "" {
		return nil
	}
	var out [][2]int
	for i := 0; ; {
		k := strings.Index(s[i:], p.literal)
		if k < 0 {
			break
		}
		out = append(out, [2]int{i + k, i + k + len(p.literal)})
		i += k + len(p.literal)
	}
	return out
}

// replaceMatches is NormalizedString::replace: the replacement characters
// all take the alignment of the last byte of the match.
func replaceMatches(n normStr, matches [][2]int, content string) normStr {
	if len(matches) == 0 {
		return n
	}
	var nb normBuilder
	nb.grow(len(n.s) + len(matches)*len(content))
	last := 0
	for _, m := range matches {
		nb.addRaw(n, last, m[0])
		sp := n.align[m[1]-1]
		for _, r := range content {
			nb.add(r, sp)
		}
		last = m[1]
	}
	nb.addRaw(n, last, len(n.s))
	return nb.done(n.base)
}

// nmtNormalizer is Nmt: removes some control characters and maps others to
// spaces (tokenizers/src/normalizers/unicode.rs, do_nmt).
type nmtNormalizer struct{}

func (nmtNormalizer) normalize(n normStr) normStr {
	var nb normBuilder
	nb.grow(len(n.s))
	for i := 0; i < len(n.s); {
		r, sz := utf8.DecodeRuneInString(n.s[i:])
		sp := n.align[i]
		i += sz
		switch {
		case r >= 0x1 && r <= 0x8, r == 0xB, r >= 0xE && r <= 0x1F, r == 0x7F, r == 0x8F, r == 0x9F:
			continue
		case r == 0x9, r == 0xA, r == 0xC, r == 0xD, r == 0x1680, r >= 0x200B && r <= 0x200F,
			r == 0x2028, r == 0x2029, r == 0x2581, r == 0xFEFF, r == 0xFFFD:
			r = ' '
		}
		nb.add(r, sp)
	}
	return nb.done(n.base)
}

// unicodeNormalize applies a Unicode normalization form keeping Hugging
// Face's alignments (unicode-normalization-alignments): a decomposed
// character's first part replaces it and the others are inserted; a
// composed character replaces the first character it absorbs and removes
// the others.
func unicodeNormalize(n normStr, form norm.Form) normStr {
	if isASCII(n.s) || form.IsNormalString(n.s) {
		return n
	}
	decomp := norm.NFD
	if form == norm.NFKC || form == norm.NFKD {
		decomp = norm.NFKD
	}
	// Decompose every input character, then reorder combining marks.
	type entry struct {
		r    rune
		c    int
		ccc  uint8
		used bool
	}
	entries := make([]entry, 0, len(n.s)+8)
	var tmp [4]byte
	for _, r := range n.s {
		if r < utf8.RuneSelf {
			entries = append(entries, entry{r: r})
			continue
		}
		k := utf8.EncodeRune(tmp[:], r)
		d := decomp.String(string(tmp[:k]))
		first := true
		for _, dr := range d {
			c := 1
			if first {
				c = 0
				first = false
			}
			entries = append(entries, entry{r: dr, c: c, ccc: norm.NFD.PropertiesString(string(dr)).CCC()})
		}
		if first { // decomposes to nothing: keep the accounting consistent
			entries = append(entries, entry{r: -1, c: 0})
		}
	}
	// Canonical ordering: stable sort of each run of non-starters by ccc.
	for i := 0; i < len(entries); {
		if entries[i].ccc == 0 {
			i++
			continue
		}
		j := i
		for j < len(entries) && entries[j].ccc != 0 {
			j++
		}
		if j-i > 32 { // pathological runs of marks: stay O(n log n)
			run := entries[i:j]
			sort.SliceStable(run, func(x, y int) bool { return run[x].ccc < run[y].ccc })
		} else {
			for a := i + 1; a < j; a++ { // insertion sort, runs are short
				for b := a; b > i && entries[b-1].ccc > entries[b].ccc; b-- {
					entries[b-1], entries[b] = entries[b], entries[b-1]
				}
			}
		}
		i = j
	}
	items := make([]change, 0, len(entries))
	if form == norm.NFD || form == norm.NFKD {
		for _, e := range entries {
			if e.r >= 0 {
				items = append(items, change{e.r, e.c})
			} else if len(items) > 0 {
				items[len(items)-1].c--
			}
		}
		return applyChanges(n, items, 0)
	}
	// Composition: match every output character's decomposition with the
	// decomposed entries (earliest unused entry with the same rune).
	out := form.String(n.s)
	lo := 0
	find := func(r rune, from int) int {
		for k := from; k < len(entries) && k < from+64; k++ {
			if !entries[k].used && entries[k].r == r {
				return k
			}
		}
		return -1
	}
	for _, o := range out {
		for lo < len(entries) && entries[lo].used {
			lo++
		}
		var d string
		if o < utf8.RuneSelf {
			d = string(o)
		} else {
			k := utf8.EncodeRune(tmp[:], o)
			d = decomp.String(string(tmp[:k]))
		}
		c := 0
		first := true
		for _, dr := range d {
			k := find(dr, lo)
			if first {
				first = false
				if k < 0 {
					c = 1 // not found: an inserted character
					continue
				}
				c = entries[k].c
			} else if k >= 0 {
				c += entries[k].c - 1
			}
			if k >= 0 {
				entries[k].used = true
			}
		}
		items = append(items, change{o, c})
	}
	return applyChanges(n, items, 0)
}
