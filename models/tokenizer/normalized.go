package tokenizer

// normalized.go: the string that flows through normalizers and
// pre-tokenizers, with the alignment of every byte back to the original
// input. It follows Hugging Face tokenizers' NormalizedString
// (tokenizers/src/tokenizer/normalizer.rs): one (start, end) pair per
// normalized byte, all bytes of one character sharing the span of the
// original character they come from. Spans here are absolute byte offsets
// into the text given to Encode.

import (
	"unicode/utf8"
)

// span is a half-open byte range [start, end) of the original input.
type span struct{ start, end int32 }

// normStr is a normalized string with its alignments.
type normStr struct {
	s     string
	align []span // len(align) == len(s)
	// base is the original offset of the piece, used for characters that
	// are inserted before any original character.
	base int32
}

// newNormStr wraps text (found at original offset base) as a normStr.
// Bytes that are not valid UTF-8 become U+FFFD, each aligned to its own
// byte, so offsets always index the caller's string.
func newNormStr(text string, base int) normStr {
	b := int32(base)
	if utf8.ValidString(text) {
		al := make([]span, len(text))
		if isASCII(text) {
			for i := range al {
				al[i] = span{b + int32(i), b + int32(i) + 1}
			}
		} else {
			for i, r := range text {
				n := utf8.RuneLen(r)
				sp := span{b + int32(i), b + int32(i+n)}
				for k := 0; k < n; k++ {
					al[i+k] = sp
				}
			}
		}
		return normStr{s: text, align: al, base: b}
	}
	var nb normBuilder
	nb.grow(len(text) + 8)
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		nb.add(r, span{b + int32(i), b + int32(i+n)})
		i += n
	}
	return nb.done(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// slice returns the sub-string of bytes [i, j) with its alignments.
func (n normStr) slice(i, j int) normStr {
	base := n.base
	if i < len(n.align) {
		base = n.align[i].start
	} else if len(n.align) > 0 {
		base = n.align[len(n.align)-1].end
	}
	return normStr{s: n.s[i:j], align: n.align[i:j:j], base: base}
}

// orig maps the normalized byte range [i, j) to original byte offsets: the
// start of its first byte and the end of its last byte (as Hugging Face's
// expand_alignments).
func (n normStr) orig(i, j int) (int, int) {
	if i < 0 {
		i = 0
	}
	if j > len(n.align) {
		j = len(n.align)
	}
	if i >= j {
		switch {
		case i < len(n.align):
			return int(n.align[i].start), int(n.align[i].start)
		case len(n.align) > 0:
			e := int(n.align[len(n.align)-1].end)
			return e, e
		default:
			return int(n.base), int(n.base)
		}
	}
	return int(n.align[i].start), int(n.align[j-1].end)
}

// normBuilder accumulates a new normStr.
type normBuilder struct {
	b     []byte
	align []span
}

func (nb *normBuilder) grow(n int) {
	if cap(nb.b)-len(nb.b) < n {
		b := make([]byte, len(nb.b), len(nb.b)+n)
		copy(b, nb.b)
		nb.b = b
		a := make([]span, len(nb.align), len(nb.align)+n)
		copy(a, nb.align)
		nb.align = a
	}
}

// add appends rune r aligned to sp.
func (nb *normBuilder) add(r rune, sp span) {
	if r < utf8.RuneSelf {
		nb.b = append(nb.b, byte(r))
		nb.align = append(nb.align, sp)
		return
	}
	k := len(nb.b)
	nb.b = utf8.AppendRune(nb.b, r)
	for ; k < len(nb.b); k++ {
		nb.align = append(nb.align, sp)
	}
}

// addRaw appends the bytes of s[i:j] of n with their alignments.
func (nb *normBuilder) addRaw(n normStr, i, j int) {
	nb.b = append(nb.b, n.s[i:j]...)
	nb.align = append(nb.align, n.align[i:j]...)
}

func (nb *normBuilder) done(base int32) normStr {
	return normStr{s: string(nb.b), align: nb.align, base: base}
}

// change is one output character of a Hugging Face style transformation:
// c <= 0 means the character replaces the next input character and -c more
// input characters are removed after it; c > 0 means it is inserted.
type change struct {
	r rune
	c int
}

// applyChanges reproduces NormalizedString::transform over the whole
// string: initialOffset input characters are dropped first; a replacing
// character takes the alignment of the input character it replaces, an
// inserted one the alignment of the byte before the cursor. Inconsistent
// change lists never panic: a cursor past the end keeps the last
// alignment.
func applyChanges(n normStr, items []change, initialOffset int) normStr {
	var nb normBuilder
	nb.grow(len(n.s) + 8)
	pos := 0
	skip := func() {
		if pos < len(n.s) {
			_, sz := utf8.DecodeRuneInString(n.s[pos:])
			pos += sz
		}
	}
	for k := 0; k < initialOffset; k++ {
		skip()
	}
	for _, it := range items {
		var sp span
		if it.c > 0 {
			switch {
			case pos >= 1 && pos-1 < len(n.align):
				sp = n.align[pos-1]
			case pos >= 1 && len(n.align) > 0:
				sp = n.align[len(n.align)-1]
			default:
				sp = span{n.base, n.base}
			}
		} else {
			switch {
			case pos < len(n.align):
				sp = n.align[pos]
			case len(n.align) > 0:
				e := n.align[len(n.align)-1].end
				sp = span{e, e}
			default:
				sp = span{n.base, n.base}
			}
			skip()
			for k := 0; k < -it.c; k++ {
				skip()
			}
		}
		nb.add(it.r, sp)
	}
	return nb.done(n.base)
}
