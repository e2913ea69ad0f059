package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzEncode runs texts and pairs through the three kinds of tokenizer
// (WordPiece, byte-level BPE, SentencePiece Unigram): nothing may panic,
// every encoding must be consistent with offsets inside its text, and
// byte-level BPE must decode back to the NFC form of valid UTF-8 input. The
// seed corpus runs as a normal test; fuzz with
//
//	go test ./models/tokenizer -run '^$' -fuzz FuzzEncode -fuzztime 60s
func FuzzEncode(f *testing.F) {
	for _, s := range []string{
		"", " ", "Hello, world!", "café naïve e\u0301", "我爱北京天安门", "😀👍🏽 🇺🇸 👨\u200d👩\u200d👧",
		"\x00\x01\x7f\u0085\u200b\ufeff\u00ad", "a\r\n\tb  \n\n c", "[CLS] [SEP] <s></s><pad> <|endoftext|><|im_start|>",
		"\xff\xfe\xc3", "ﬁ①ｶﾞ각\u1100\u1161", "'s 'LL 123456 ((x", strings.Repeat("ab", 80), "Ａ\u0301 e\u0301\u0301\u0301",
		"\u0600a \u0e33 x\u0308\u0301", "abc<|im_end|>\u0301",
	} {
		f.Add(s, "second text")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, rel := range []string{
			"tokenizer-all-minilm-l6-v2/tokenizer.json",
			"tokenizer-qwen2-bpe-from-qwen3/tokenizer.json.gz",
			"tokenizer-unigram-t5/tokenizer.json",
		} {
			tok := benchTokenizer(t, rel)
			e := tok.Encode(a, true)
			checkEncoding(t, e, a, "")
			_ = e.RuneOffsets(a, "")
			p := tok.EncodePair(a, b, true)
			checkEncoding(t, p, a, b)
			pad := tok.Special().Pad
			if pad == "" {
				pad = "<|endoftext|>"
			}
			tr, err := tok.EncodePairWith(a, b, Options{MaxLength: 16, Truncation: LongestFirst, Padding: PadMaxLength, PadToken: pad})
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			checkEncoding(t, tr, a, b)
			if tr.Len() != 16 {
				t.Fatalf("%s: padded length %d", rel, tr.Len())
			}
			_ = tok.Decode(e.IDs, true)
			if tok.ModelType() == "BPE" && utf8.ValidString(a) && !strings.Contains(a, "<") {
				if got, want := tok.Decode(e.IDs, false), norm.NFC.String(a); got != want {
					t.Fatalf("BPE round trip: got %q want %q", got, want)
				}
			}
		}
	})
}

// TestPathological runs large adversarial inputs through the real
// tokenizers: they must finish (no quadratic blow-up) with consistent
// encodings.
func TestPathological(t *testing.T) {
	inputs := map[string]string{
		"marks":   "a" + strings.Repeat("\u0301\u0323", 20000),
		"letters": strings.Repeat("abcdefghij", 30000),
		"spaces":  strings.Repeat(" ", 100000) + "x",
		"newline": strings.Repeat(" \n", 50000),
		"digits":  strings.Repeat("0123456789", 20000),
		"quotes":  strings.Repeat("'s", 50000),
		"cjk":     strings.Repeat("中文", 30000),
		"emoji":   strings.Repeat("👨\u200d👩\u200d👧", 10000),
		"flags":   strings.Repeat("🇺", 20001),
		"invalid": strings.Repeat("\xff\xc3", 50000),
	}
	for _, rel := range []string{
		"tokenizer-all-minilm-l6-v2/tokenizer.json",
		"tokenizer-qwen2-bpe-from-qwen3/tokenizer.json.gz",
		"tokenizer-unigram-t5/tokenizer.json",
	} {
		tok := benchTokenizer(t, rel)
		for name, s := range inputs {
			e := tok.Encode(s, true)
			checkEncoding(t, e, s, "")
			if e.Len() == 0 && name != "spaces" {
				t.Errorf("%s %s: no tokens", rel, name)
			}
		}
	}
}
