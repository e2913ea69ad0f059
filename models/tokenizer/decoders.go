package tokenizer

// decoders.go: decoders (tokenizers/src/decoders): WordPiece, ByteLevel,
// Metaspace, BPEDecoder, ByteFallback, Fuse, Strip, Replace, CTC and
// Sequence. A decoder maps the token strings of ids back to text;
// decodeChain transforms the list, Decode joins it.

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type decoder interface {
	decodeChain(tokens []string) []string
}

// wordPieceDecoder removes the continuation prefix and joins words with
// spaces, optionally cleaning up tokenization spaces.
type wordPieceDecoder struct {
	prefix  string
	cleanup bool
}

func cleanupSpaces(s string) string {
	// The replacements apply one after the other, as the reference.
	for _, p := range [][2]string{
		{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
		{" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
	} {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}

func (d wordPieceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		if i != 0 {
			if strings.HasPrefix(t, d.prefix) {
				t = strings.Replace(t, d.prefix, "", 1)
			} else {
				t = " " + t
			}
		}
		if d.cleanup {
			t = cleanupSpaces(t)
		}
		out[i] = t
	}
	return out
}

// byteLevelDecoder maps GPT-2 characters back to bytes (invalid UTF-8
// becomes U+FFFD).
type byteLevelDecoder struct{}

func (byteLevelDecoder) decodeChain(tokens []string) []string {
	var b []byte
	for _, t := range tokens {
		for _, r := range t {
			if c, ok := charBytes[r]; ok {
				b = append(b, c)
			} else {
				b = utf8.AppendRune(b, r)
			}
		}
	}
	return []string{strings.ToValidUTF8(string(b), "\uFFFD")}
}

// metaspaceDecoder turns the replacement character back into spaces,
// dropping those of the first token unless the prepend scheme is never.
type metaspaceDecoder struct {
	repl   rune
	scheme prependScheme
}

func (d metaspaceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		var sb strings.Builder
		for _, r := range t {
			if r == d.repl {
				if i == 0 && d.scheme != prependNever {
					continue
				}
				r = ' '
			}
			sb.WriteRune(r)
		}
		out[i] = sb.String()
	}
	return out
}

// bpeDecoder replaces the end-of-word suffix by a space (none at the end).
type bpeDecoder struct{ suffix string }

func (d bpeDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		rep := " "
		if i == len(tokens)-1 {
			rep = ""
		}
		out[i] = strings.ReplaceAll(t, d.suffix, rep)
	}
	return out
}

// byteFallbackDecoder turns runs of <0xXX> tokens into the text of their
// bytes (U+FFFD per byte when they are not valid UTF-8).
type byteFallbackDecoder struct{}

func parseByteToken(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(t[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

func (byteFallbackDecoder) decodeChain(tokens []string) []string {
	var out []string
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, "\uFFFD")
			}
		}
		pending = pending[:0]
	}
	for _, t := range tokens {
		if b, ok := parseByteToken(t); ok {
			pending = append(pending, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// fuseDecoder joins all tokens into one.
type fuseDecoder struct{}

func (fuseDecoder) decodeChain(tokens []string) []string {
	return []string{strings.Join(tokens, "")}
}

// stripDecoder removes up to start/stop occurrences of content at each
// token's ends.
type stripDecoder struct {
	content     rune
	start, stop int
}

func (d stripDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		rs := []rune(t)
		a := 0
		for a < d.start && a < len(rs) && rs[a] == d.content {
			a++
		}
		b := len(rs)
		for k := 0; k < d.stop && b > a && rs[b-1] == d.content; k++ {
			b--
		}
		out[i] = string(rs[a:b])
	}
	return out
}

// replaceDecoder replaces a literal pattern in every token.
type replaceDecoder struct{ p replaceNormalizer }

func (d replaceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		if d.p.re != nil {
			out[i] = d.p.re.ReplaceAllLiteralString(t, d.p.content)
		} else if d.p.literal != "" {
			out[i] = strings.ReplaceAll(t, d.p.literal, d.p.content)
		} else {
			out[i] = t
		}
	}
	return out
}

// ctcDecoder collapses repeats, drops the pad token and maps the word
// delimiter to spaces.
type ctcDecoder struct {
	pad, delim string
	cleanup    bool
}

func (d ctcDecoder) decodeChain(tokens []string) []string {
	var out []string
	for i, t := range tokens {
		if i > 0 && t == tokens[i-1] {
			continue
		}
		if t == d.pad {
			continue
		}
		t = strings.ReplaceAll(t, d.delim, " ")
		if d.cleanup {
			t = cleanupSpaces(t)
		}
		out = append(out, t)
	}
	return out
}

// sequenceDecoder applies decoders in order.
type sequenceDecoder []decoder

func (s sequenceDecoder) decodeChain(tokens []string) []string {
	for _, d := range s {
		tokens = d.decodeChain(tokens)
	}
	return tokens
}
