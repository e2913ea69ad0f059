package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// loadTiny loads a fixture from testdata, optionally patched: patch edits
// the decoded JSON before it is parsed.
func loadTiny(t *testing.T, name string, patch func(m map[string]any)) *Tokenizer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if patch != nil {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		patch(m)
		if data, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := FromJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tok
}

type encCase struct {
	name    string
	text    string
	pair    *string
	special bool
	ids     []int32
	tokens  []string
	offsets [][2]int // byte offsets; nil: not checked
	types   []int32  // nil: not checked
}

func strp(s string) *string { return &s }

func runEncCases(t *testing.T, tok *Tokenizer, cases []encCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e Encoding
			if c.pair != nil {
				e = tok.EncodePair(c.text, *c.pair, c.special)
			} else {
				e = tok.Encode(c.text, c.special)
			}
			if !reflect.DeepEqual(e.IDs, c.ids) {
				t.Errorf("ids: got %v want %v (tokens %q)", e.IDs, c.ids, e.Tokens)
			}
			if c.tokens != nil && !reflect.DeepEqual(e.Tokens, c.tokens) {
				t.Errorf("tokens: got %q want %q", e.Tokens, c.tokens)
			}
			if c.offsets != nil && !reflect.DeepEqual(e.Offsets, c.offsets) {
				t.Errorf("offsets: got %v want %v", e.Offsets, c.offsets)
			}
			if c.types != nil && !reflect.DeepEqual(e.TypeIDs, c.types) {
				t.Errorf("type ids: got %v want %v", e.TypeIDs, c.types)
			}
			checkEncoding(t, e, c.text, deref(c.pair))
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// checkEncoding checks the invariants every encoding must satisfy.
func checkEncoding(t *testing.T, e Encoding, a, b string) {
	t.Helper()
	n := len(e.IDs)
	for name, l := range map[string]int{"TypeIDs": len(e.TypeIDs), "Tokens": len(e.Tokens), "Offsets": len(e.Offsets),
		"SpecialTokensMask": len(e.SpecialTokensMask), "AttentionMask": len(e.AttentionMask), "SequenceIDs": len(e.SequenceIDs)} {
		if l != n {
			t.Fatalf("%s has %d entries, IDs %d", name, l, n)
		}
	}
	for i, o := range e.Offsets {
		s := a
		if e.SequenceIDs[i] == 1 {
			s = b
		}
		if o[0] < 0 || o[0] > o[1] || o[1] > len(s) {
			t.Fatalf("token %d %q: offsets %v out of bounds for a text of %d bytes", i, e.Tokens[i], o, len(s))
		}
		if e.SequenceIDs[i] < 0 && o != [2]int{0, 0} {
			t.Fatalf("special token %d has offsets %v", i, o)
		}
	}
}

func TestWordPieceTiny(t *testing.T) {
	tok := loadTiny(t, "tiny-wordpiece.json", nil)
	runEncCases(t, tok, []encCase{
		{name: "basic", text: "Hello, worlds!", special: true,
			ids: []int32{2, 5, 11, 6, 7, 12, 3}, tokens: []string{"[CLS]", "hello", ",", "world", "##s", "!", "[SEP]"},
			offsets: [][2]int{{0, 0}, {0, 5}, {5, 6}, {7, 12}, {12, 13}, {13, 14}, {0, 0}}},
		{name: "no-special", text: "Hello", ids: []int32{5}},
		{name: "subwords", text: "unaffable", ids: []int32{8, 9, 10}, tokens: []string{"un", "##aff", "##able"}},
		{name: "too-long", text: "abbbbbbbbbbb", ids: []int32{1}, offsets: [][2]int{{0, 12}}},
		{name: "max-chars", text: "abbbbbbbbb", ids: []int32{13, 14, 14, 14, 14, 14, 14, 14, 14, 14}},
		{name: "no-piece-whole-word-unk", text: "abx", ids: []int32{1}, tokens: []string{"[UNK]"}, offsets: [][2]int{{0, 3}}},
		{name: "accents-offsets", text: "Café", ids: []int32{16}, offsets: [][2]int{{0, 5}}},
		{name: "cjk", text: "中文", ids: []int32{17, 18}, offsets: [][2]int{{0, 3}, {3, 6}}},
		{name: "control-removed", text: "wor\x01ld\u200b!", ids: []int32{6, 12}, offsets: [][2]int{{0, 6}, {9, 10}}},
		{name: "empty", text: "", special: true, ids: []int32{2, 3}},
		{name: "lstrip", text: "a  [MASK]", ids: []int32{13, 4}, tokens: []string{"a", "  [MASK]"}, offsets: [][2]int{{0, 1}, {1, 9}}},
		{name: "rstrip", text: "<R>   hello", ids: []int32{19, 5}, tokens: []string{"<R>   ", "hello"}, offsets: [][2]int{{0, 6}, {6, 11}}},
		{name: "single-word-inside", text: "a<w>", ids: []int32{13, 1, 1, 1}},
		{name: "single-word-alone", text: "a <w> a", ids: []int32{13, 15, 13}},
		{name: "normalized-added", text: "aXYb", ids: []int32{13, 20, 1}, tokens: []string{"a", "xy", "[UNK]"}, offsets: [][2]int{{0, 1}, {1, 3}, {3, 4}}},
		{name: "case-sensitive-special", text: "[cls]", ids: []int32{1, 1, 1}},
		{name: "pair", text: "hello", pair: strp("world!"), special: true,
			ids: []int32{2, 5, 3, 6, 12, 3}, types: []int32{0, 0, 0, 1, 1, 1},
			offsets: [][2]int{{0, 0}, {0, 5}, {0, 0}, {0, 5}, {5, 6}, {0, 0}}},
		{name: "pair-no-special", text: "hello", pair: strp("world"), ids: []int32{5, 6}, types: []int32{0, 1}},
	})
	if got := tok.Decode([]int32{2, 5, 11, 6, 7, 12, 3}, true); got != "hello, worlds!" {
		t.Errorf("Decode: got %q", got)
	}
	if got := tok.Decode([]int32{2, 5, 3, 999}, false); got != "[CLS] hello [SEP]" {
		t.Errorf("Decode with special: got %q", got)
	}
	if id, ok := tok.TokenToID("##able"); !ok || id != 10 {
		t.Errorf("TokenToID(##able) = %d, %v", id, ok)
	}
	if s, ok := tok.IDToToken(19); !ok || s != "<R>" {
		t.Errorf("IDToToken(19) = %q, %v", s, ok)
	}
	if _, ok := tok.IDToToken(1000); ok {
		t.Error("IDToToken(1000) found")
	}
	if tok.VocabSize() != 22 { // 21 model tokens + "XY"
		t.Errorf("VocabSize = %d", tok.VocabSize())
	}
	if id, ok := tok.PadID(); !ok || id != 0 {
		t.Errorf("PadID = %d, %v", id, ok)
	}
	sp := tok.Special()
	if sp.CLS != "[CLS]" || sp.SEP != "[SEP]" || sp.Unk != "[UNK]" || sp.Mask != "[MASK]" {
		t.Errorf("Special = %+v", sp)
	}
	fo := tok.FileOptions()
	want := Options{MaxLength: 8, Truncation: LongestFirst, Padding: PadLongest, PadSide: Left, PadToMultipleOf: 4, PadToken: "[PAD]"}
	if fo != want {
		t.Errorf("FileOptions = %+v want %+v", fo, want)
	}
	if tok.NumSpecialTokens(false) != 2 || tok.NumSpecialTokens(true) != 3 {
		t.Errorf("NumSpecialTokens = %d, %d", tok.NumSpecialTokens(false), tok.NumSpecialTokens(true))
	}
}

func TestBatchOptions(t *testing.T) {
	tok := loadTiny(t, "tiny-wordpiece.json", nil)
	es, err := tok.EncodeBatch([]string{"hello", "hello world hello world"}, tok.FileOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Truncated to 8, padded on the left to the longest (6) rounded up to 8.
	if !reflect.DeepEqual(es[1].IDs, []int32{0, 0, 2, 5, 6, 5, 6, 3}) {
		t.Errorf("row 1: %v", es[1].IDs)
	}
	if !reflect.DeepEqual(es[0].IDs, []int32{0, 0, 0, 0, 0, 2, 5, 3}) {
		t.Errorf("row 0: %v", es[0].IDs)
	}
	for _, c := range []struct {
		name string
		opts Options
		ids  [][]int32
		mask [][]int32
	}{
		{"longest-right", Options{Padding: PadLongest},
			[][]int32{{2, 5, 3, 0, 0, 0}, {2, 6, 11, 5, 6, 3}}, [][]int32{{1, 1, 1, 0, 0, 0}, {1, 1, 1, 1, 1, 1}}},
		{"longest-left-multiple", Options{Padding: PadLongest, PadSide: Left, PadToMultipleOf: 4},
			[][]int32{{0, 0, 0, 0, 0, 2, 5, 3}, {0, 0, 2, 6, 11, 5, 6, 3}}, nil},
		{"max-length-truncate", Options{Padding: PadMaxLength, MaxLength: 5, Truncation: LongestFirst},
			[][]int32{{2, 5, 3, 0, 0}, {2, 6, 11, 5, 3}}, [][]int32{{1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}}},
		{"truncate-left", Options{MaxLength: 4, Truncation: LongestFirst, TruncationSide: Left},
			[][]int32{{2, 5, 3}, {2, 5, 6, 3}}, nil},
		{"no-special", Options{NoSpecialTokens: true, MaxLength: 2, Truncation: LongestFirst},
			[][]int32{{5}, {6, 11}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			texts := []string{"hello", "world, hello world"}
			es, err := tok.EncodeBatch(texts, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range es {
				if !reflect.DeepEqual(e.IDs, c.ids[i]) {
					t.Errorf("row %d ids: got %v want %v", i, e.IDs, c.ids[i])
				}
				if c.mask != nil && !reflect.DeepEqual(e.AttentionMask, c.mask[i]) {
					t.Errorf("row %d mask: got %v want %v", i, e.AttentionMask, c.mask[i])
				}
				checkEncoding(t, e, texts[i], "")
				for k, id := range e.IDs {
					if e.AttentionMask[k] == 0 && (id != 0 || e.SpecialTokensMask[k] != 1 || e.SequenceIDs[k] != -1) {
						t.Errorf("row %d: bad padding at %d", i, k)
					}
				}
			}
		})
	}
	// Pairs: only_second fails when the first text alone is too long.
	_, err = tok.EncodePairBatch([]string{"hello world hello"}, []string{"world"}, Options{MaxLength: 5, Truncation: OnlySecond})
	if !errors.Is(err, ErrSequenceTooShort) {
		t.Errorf("only_second: got %v", err)
	}
	es, err = tok.EncodePairBatch([]string{"hello"}, []string{"world world world"}, Options{MaxLength: 6, Truncation: OnlySecond})
	if err != nil || !reflect.DeepEqual(es[0].IDs, []int32{2, 5, 3, 6, 6, 3}) {
		t.Errorf("only_second: %v %v", es, err)
	}
	if _, err := tok.EncodeWith("hello world hello world", Options{Truncation: OnlySecond, MaxLength: 5}); !errors.Is(err, ErrSecondSequenceMissing) {
		t.Errorf("only_second single: %v", err)
	}
	for _, bad := range []Options{{Truncation: LongestFirst}, {Padding: PadMaxLength}, {MaxLength: -1}, {Truncation: Truncation(9), MaxLength: 3}} {
		if _, err := tok.EncodeBatch([]string{"x"}, bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
	bpeTok := loadTiny(t, "tiny-bpe.json", nil)
	if _, err := bpeTok.EncodeBatch([]string{"x"}, Options{Padding: PadLongest}); err == nil {
		t.Error("padding without a pad token accepted")
	}
	if es, err := bpeTok.EncodeBatch([]string{"hello world", "aa"}, Options{Padding: PadLongest, PadToken: "<|end|>"}); err != nil ||
		!reflect.DeepEqual(es[1].IDs, []int32{20, 100}) {
		t.Errorf("PadToken override: %v %v", es, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("EncodePairBatch with mismatched lengths did not panic")
		}
	}()
	_, _ = tok.EncodePairBatch([]string{"a"}, nil, Options{})
}

func TestTruncatePair(t *testing.T) {
	mk := func(n int) *Encoding {
		var e Encoding
		for i := 0; i < n; i++ {
			e.appendToken(int32(i), 0, "", [2]int{}, 0, 1, 0)
		}
		return &e
	}
	for _, c := range []struct {
		n1, n2, budget int
		s              Truncation
		k1, k2         int
		err            error
	}{
		{10, 10, 9, LongestFirst, 4, 5, nil},
		{3, 20, 9, LongestFirst, 3, 6, nil},
		{20, 3, 9, LongestFirst, 6, 3, nil},
		{5, 4, 9, LongestFirst, 5, 4, nil},
		{6, 6, 10, LongestFirst, 5, 5, nil},
		{5, 10, 9, OnlySecond, 5, 4, nil},
		{9, 10, 9, OnlySecond, 9, 10, ErrSequenceTooShort},
		{10, 2, 9, OnlyFirst, 7, 2, nil},
		{10, 2, 0, LongestFirst, 0, 0, nil},
	} {
		a, b := mk(c.n1), mk(c.n2)
		err := truncatePair(a, b, c.budget, c.s, false)
		if !errors.Is(err, c.err) || a.Len() != c.k1 || b.Len() != c.k2 {
			t.Errorf("%+v: got %d %d %v", c, a.Len(), b.Len(), err)
		}
	}
	a := mk(20)
	if err := truncatePair(a, nil, 9, LongestFirst, false); err != nil || a.Len() != 9 || a.IDs[8] != 8 {
		t.Errorf("single: %v %v", a.IDs, err)
	}
	a = mk(20)
	if err := truncatePair(a, nil, 9, LongestFirst, true); err != nil || a.Len() != 9 || a.IDs[0] != 11 {
		t.Errorf("single left: %v %v", a.IDs, err)
	}
}

func TestBPETiny(t *testing.T) {
	tok := loadTiny(t, "tiny-bpe.json", nil)
	runEncCases(t, tok, []encCase{
		{name: "merges", text: "hello world", ids: []int32{14, 19}, tokens: []string{"hello", "Ġworld"}, offsets: [][2]int{{0, 5}, {5, 11}}},
		{name: "rank-leftmost", text: "aaa", ids: []int32{20, 8}},
		{name: "no-unk-drops", text: "hez", ids: []int32{11}},
		{name: "nfc-and-bytes", text: "e\u0301", ids: []int32{21}, tokens: []string{"Ã©"}, offsets: [][2]int{{0, 1}}},
		{name: "added", text: "he<|end|>he", special: true, ids: []int32{11, 100, 11}, offsets: [][2]int{{0, 2}, {2, 9}, {9, 11}}},
		{name: "pair-types", text: "he", pair: strp("he"), special: true, ids: []int32{11, 11}, types: []int32{0, 1}},
	})
	if got := tok.Decode([]int32{14, 19, 100}, true); got != "hello world" {
		t.Errorf("Decode: %q", got)
	}
	if got := tok.Decode([]int32{14, 100}, false); got != "hello<|end|>" {
		t.Errorf("Decode: %q", got)
	}
	// The same merges given as [a, b] pairs give the same model.
	pairs := loadTiny(t, "tiny-bpe.json", func(m map[string]any) {
		mm := m["model"].(map[string]any)
		var ms []any
		for _, s := range mm["merges"].([]any) {
			p := strings.Split(s.(string), " ")
			ms = append(ms, []any{p[0], p[1]})
		}
		mm["merges"] = ms
	})
	for _, s := range []string{"hello world", "aaaa", "hell o"} {
		if a, b := tok.Encode(s, true).IDs, pairs.Encode(s, true).IDs; !reflect.DeepEqual(a, b) {
			t.Errorf("%q: string merges %v, pair merges %v", s, a, b)
		}
	}
	// byte_fallback, unk and fuse_unk.
	variant := func(f func(mm map[string]any)) *Tokenizer {
		return loadTiny(t, "tiny-bpe.json", func(m map[string]any) { f(m["model"].(map[string]any)) })
	}
	fb := variant(func(mm map[string]any) { mm["byte_fallback"] = true; mm["unk_token"] = "<unk>" })
	// As the reference, fallback bytes do not flush a pending unknown token:
	// the unknown "y" lands after the second "z".
	if got := fb.Encode("hezyz", false).IDs; !reflect.DeepEqual(got, []int32{11, 22, 22, 23}) {
		t.Errorf("byte_fallback: %v", got)
	}
	unk := variant(func(mm map[string]any) { mm["unk_token"] = "<unk>" })
	if got := unk.Encode("hezq", false).IDs; !reflect.DeepEqual(got, []int32{11, 23, 23}) {
		t.Errorf("unk: %v", got)
	}
	fuse := variant(func(mm map[string]any) { mm["unk_token"] = "<unk>"; mm["fuse_unk"] = true })
	if got := fuse.Encode("hezq", false); !reflect.DeepEqual(got.IDs, []int32{11, 23}) || got.Offsets[1] != [2]int{2, 4} {
		t.Errorf("fuse_unk: %v %v", got.IDs, got.Offsets)
	}
	ign := variant(func(mm map[string]any) { mm["ignore_merges"] = true; mm["vocab"].(map[string]any)["hew"] = 30.0 })
	if got := ign.Encode("hew", false).IDs; !reflect.DeepEqual(got, []int32{30}) {
		t.Errorf("ignore_merges: %v", got)
	}
	// continuing_subword_prefix and end_of_word_suffix with a whitespace pre-tokenizer.
	sub := loadTiny(t, "tiny-bpe.json", func(m map[string]any) {
		m["normalizer"] = nil
		m["pre_tokenizer"] = map[string]any{"type": "Whitespace"}
		m["post_processor"] = nil
		m["decoder"] = map[string]any{"type": "BPEDecoder", "suffix": "</w>"}
		m["model"] = map[string]any{"type": "BPE", "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>",
			"vocab":  map[string]any{"a": 0, "##b": 1, "##c</w>": 2, "ab": 3, "abc</w>": 4, "a</w>": 5},
			"merges": []any{"a ##b", "ab ##c</w>"}}
	})
	if got := sub.Encode("abc a", false); !reflect.DeepEqual(got.IDs, []int32{4, 5}) {
		t.Errorf("prefix/suffix: %v %q", got.IDs, got.Tokens)
	}
	if got := sub.Decode([]int32{4, 5}, false); got != "abc a" {
		t.Errorf("BPEDecoder: %q", got)
	}
}

func TestUnigramTiny(t *testing.T) {
	tok := loadTiny(t, "tiny-unigram.json", nil)
	runEncCases(t, tok, []encCase{
		{name: "best-path", text: "ab c", special: true, ids: []int32{2, 6, 9, 1},
			tokens: []string{"<s>", "▁ab", "▁c", "</s>"}, offsets: [][2]int{{0, 0}, {0, 2}, {2, 4}, {0, 0}}},
		{name: "byte-fallback", text: "abd", ids: []int32{6, 8}, tokens: []string{"▁ab", "<0x64>"}, offsets: [][2]int{{0, 2}, {2, 3}}},
		{name: "unk-is-source-text", text: "abéé", ids: []int32{6, 0}, tokens: []string{"▁ab", "éé"}, offsets: [][2]int{{0, 2}, {2, 6}}},
		{name: "scores", text: "ccc", ids: []int32{9, 10}},
		{name: "strip-replace", text: "  ab   c  ", ids: []int32{6, 9}, offsets: [][2]int{{2, 4}, {6, 8}}},
		{name: "added-new-segment", text: "ab</s>c", ids: []int32{6, 1, 9}, offsets: [][2]int{{0, 2}, {2, 6}, {6, 7}}},
		{name: "pair", text: "ab", pair: strp("c"), special: true, ids: []int32{2, 6, 1, 1, 9, 1}, types: []int32{0, 0, 0, 0, 0, 0}},
	})
	if got := tok.Decode([]int32{2, 6, 9, 1}, true); got != "ab c" {
		t.Errorf("Decode: %q", got)
	}
	never := loadTiny(t, "tiny-unigram.json", func(m map[string]any) {
		m["pre_tokenizer"].(map[string]any)["prepend_scheme"] = "never"
	})
	// Without "▁", "a" has no piece (unknown) and "b" has one.
	if got := never.Encode("ab", false).IDs; !reflect.DeepEqual(got, []int32{0, 5}) {
		t.Errorf("prepend never: %v", got)
	}
	first := loadTiny(t, "tiny-unigram.json", func(m map[string]any) {
		m["pre_tokenizer"].(map[string]any)["prepend_scheme"] = "first"
	})
	if got := first.Encode("ab</s>ab", false).IDs; !reflect.DeepEqual(got, []int32{6, 1, 0, 5}) {
		t.Errorf("prepend first: %v", got)
	}
	// Without the Strip normalizer a leading space becomes the "▁" itself.
	nostrip := loadTiny(t, "tiny-unigram.json", func(m map[string]any) { m["normalizer"] = nil })
	if got := nostrip.Encode(" ab", false); !reflect.DeepEqual(got.IDs, []int32{6}) || got.Offsets[0] != [2]int{0, 3} {
		t.Errorf("leading space: %v %v", got.IDs, got.Offsets)
	}
	if got := nostrip.Encode("ab  c", false).IDs; !reflect.DeepEqual(got, []int32{6, 3, 9}) {
		t.Errorf("double space: %v", got)
	}
	nosplit := loadTiny(t, "tiny-unigram.json", func(m map[string]any) {
		m["pre_tokenizer"].(map[string]any)["split"] = false
	})
	if got := nosplit.Encode("ab c", false).IDs; !reflect.DeepEqual(got, []int32{6, 9}) {
		t.Errorf("split false: %v", got)
	}
}

func TestRobertaProcessing(t *testing.T) {
	tok := loadTiny(t, "tiny-bpe.json", func(m map[string]any) {
		m["post_processor"] = map[string]any{"type": "RobertaProcessing", "sep": []any{"<|end|>", 100}, "cls": []any{"h", 0},
			"trim_offsets": true, "add_prefix_space": false}
	})
	e := tok.EncodePair("hello", " world", true)
	if !reflect.DeepEqual(e.IDs, []int32{0, 14, 100, 100, 19, 100}) || !reflect.DeepEqual(e.TypeIDs, make([]int32, 6)) {
		t.Errorf("ids %v types %v", e.IDs, e.TypeIDs)
	}
	if e.Offsets[4] != [2]int{1, 6} { // trim_offsets drops the leading space of Ġworld
		t.Errorf("offsets %v", e.Offsets)
	}
	seq := loadTiny(t, "tiny-bpe.json", func(m map[string]any) {
		m["post_processor"] = map[string]any{"type": "Sequence", "processors": []any{
			map[string]any{"type": "ByteLevel", "trim_offsets": true, "add_prefix_space": false},
			map[string]any{"type": "TemplateProcessing",
				"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": "<|end|>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
				"pair":           nil,
				"special_tokens": map[string]any{"<|end|>": map[string]any{"id": "<|end|>", "ids": []any{100}, "tokens": []any{"<|end|>"}}}},
		}}
	})
	e = seq.Encode(" world", true)
	if !reflect.DeepEqual(e.IDs, []int32{100, 19}) || e.Offsets[1] != [2]int{1, 6} {
		t.Errorf("sequence: %v %v", e.IDs, e.Offsets)
	}
	if seq.NumSpecialTokens(false) != 1 {
		t.Errorf("NumSpecialTokens = %d", seq.NumSpecialTokens(false))
	}
	ep := seq.EncodePair("he", "he", true)
	if !reflect.DeepEqual(ep.IDs, []int32{100, 11, 11}) || !reflect.DeepEqual(ep.TypeIDs, []int32{0, 0, 1}) {
		t.Errorf("default pair template: %v %v", ep.IDs, ep.TypeIDs)
	}
}

func TestNormalizerAlignments(t *testing.T) {
	spans := func(n normStr) [][2]int {
		var out [][2]int
		for i := 0; i < len(n.s); i++ {
			out = append(out, [2]int{int(n.align[i].start), int(n.align[i].end)})
		}
		return out
	}
	for _, c := range []struct {
		name  string
		f     func(normStr) normStr
		in    string
		out   string
		spans [][2]int // per rune of out
	}{
		{"nfc-compose", unicodeNormalizer{norm.NFC}.normalize, "e\u0301x", "éx", [][2]int{{0, 1}, {3, 4}}},
		{"nfc-stack", unicodeNormalizer{norm.NFC}.normalize, "a\u0300\u0301", "à\u0301", [][2]int{{0, 1}, {3, 5}}},
		{"nfd", unicodeNormalizer{norm.NFD}.normalize, "é", "e\u0301", [][2]int{{0, 2}, {0, 2}}},
		{"nfkc", unicodeNormalizer{norm.NFKC}.normalize, "ﬁx", "fix", [][2]int{{0, 3}, {0, 3}, {3, 4}}},
		{"lower-dotted-I", lowercaseNormalizer{}.normalize, "İa", "i\u0307a", [][2]int{{0, 2}, {0, 2}, {2, 3}}},
		{"bert", (&bertNormalizer{cleanText: true, chineseChars: true, stripAccents: true, lowercase: true}).normalize,
			"Ä\x00中\tb", "a 中  b", [][2]int{{0, 2}, {3, 6}, {3, 6}, {3, 6}, {6, 7}, {7, 8}}},
		{"strip", stripNormalizer{left: true, right: true}.normalize, "  ab ", "ab", [][2]int{{2, 3}, {3, 4}}},
		{"replace", replaceNormalizer{literal: "ab", content: "X"}.normalize, "cab", "cX", [][2]int{{0, 1}, {2, 3}}},
		{"prepend", prependNormalizer{prefix: "▁"}.normalize, "ab", "▁ab", [][2]int{{0, 1}, {0, 1}, {1, 2}}},
		{"nmt", nmtNormalizer{}.normalize, "a\x01\tb", "a b", [][2]int{{0, 1}, {2, 3}, {3, 4}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := c.f(newNormStr(c.in, 0))
			if n.s != c.out {
				t.Fatalf("got %q want %q", n.s, c.out)
			}
			var got [][2]int
			all := spans(n)
			for i := range n.s {
				if i == 0 || !isContinuation(n.s[i]) {
					got = append(got, all[i])
				}
			}
			if !reflect.DeepEqual(got, c.spans) {
				t.Errorf("spans: got %v want %v", got, c.spans)
			}
		})
	}
}

func isContinuation(b byte) bool { return b&0xC0 == 0x80 }

func TestInvalidUTF8(t *testing.T) {
	tok := loadTiny(t, "tiny-wordpiece.json", nil)
	text := "hello\xffworld\xc3"
	e := tok.Encode(text, true)
	checkEncoding(t, e, text, "")
	// Invalid bytes read as U+FFFD, which clean_text removes: the two
	// words join into one unknown word, offsets still index the input.
	if !reflect.DeepEqual(e.IDs, []int32{2, 1, 3}) {
		t.Errorf("ids %v tokens %q", e.IDs, e.Tokens)
	}
	n := newNormStr("a\xffb", 10)
	if n.s != "a\uFFFDb" || n.align[1] != (span{11, 12}) || n.align[4] != (span{12, 13}) {
		t.Errorf("newNormStr: %q %v", n.s, n.align)
	}
}

func TestBPEScanner(t *testing.T) {
	gpt2, _ := scannerFor(gpt2Pattern)
	qwen, _ := scannerFor(qwen2Pattern)
	llama, _ := scannerFor(llama3Pattern)
	split := func(sc *bpeScanner, s string) []string {
		var out []string
		for _, m := range sc.matches(s) {
			out = append(out, s[m[0]:m[1]])
		}
		return out
	}
	for _, c := range []struct {
		sc   *bpeScanner
		in   string
		want []string
	}{
		{gpt2, "Hello world", []string{"Hello", " world"}},
		{gpt2, "  hi", []string{" ", " hi"}},
		{gpt2, "I'm OK'S", []string{"I", "'m", " OK", "'", "S"}},
		{gpt2, "x  \n", []string{"x", "  \n"}},
		{gpt2, "a  b", []string{"a", " ", " b"}},
		{gpt2, "12 34$$$ !", []string{"12", " 34", "$$$", " !"}},
		{qwen, "Hello world", []string{"Hello", " world"}},
		{qwen, "123", []string{"1", "2", "3"}},
		{qwen, "I'M it'Ll", []string{"I", "'M", " it", "'Ll"}},
		{qwen, "a\n\n b", []string{"a", "\n\n", " b"}},
		{qwen, "(hello", []string{"(hello"}},
		{qwen, "  \n  x", []string{"  \n", " ", " x"}},
		{qwen, ",\n\nx", []string{",\n\n", "x"}},
		{qwen, "a \tb", []string{"a", " ", "\tb"}},
		{qwen, "x  ", []string{"x", "  "}},
		{qwen, " ((x", []string{" ((", "x"}},
		{qwen, "\u00a0\u00a0x", []string{"\u00a0", "\u00a0x"}},
		{qwen, "日本語123", []string{"日本語", "1", "2", "3"}},
		{llama, "12345", []string{"123", "45"}},
	} {
		if got := split(c.sc, c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %q want %q", c.in, got, c.want)
		}
	}
}

func TestGraphemeLen(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{"e\u0301x", "e\u0301"},
		{"\r\nx", "\r\n"},
		{"\n\r", "\n"},
		{"🇺🇸🇯🇵", "🇺🇸"},
		{"👨\u200d👩\u200d👧x", "👨\u200d👩\u200d👧"},
		{"👍🏽!", "👍🏽"},
		{"a\u200dx", "a\u200d"},
		{"\u1100\u1161\u11a8\u1100", "\u1100\u1161\u11a8"},
		{"각\u11a8x", "각\u11a8"},
		{"\u0600a", "\u0600a"},
		{"क\u093fx", "क\u093f"},
		{"a\u00adb", "a"},
		{"\u00ad\u0301", "\u00ad"},
		{"x", "x"},
	} {
		if n := graphemeLen(c.in); c.in[:n] != c.want {
			t.Errorf("%+q: got %+q want %+q", c.in, c.in[:n], c.want)
		}
	}
	if graphemeLen("") != 0 {
		t.Error("empty")
	}
}

func TestPrecompiledErrors(t *testing.T) {
	for _, raw := range [][]byte{{1, 2}, {8, 0, 0, 0, 1, 2}, {3, 0, 0, 0, 1, 2, 3}} {
		if _, err := parsePrecompiled(raw); err == nil {
			t.Errorf("%v accepted", raw)
		}
	}
	if _, err := newPrecompiled("!!"); err == nil {
		t.Error("bad base64 accepted")
	}
	// A trie with a unit pointing outside the array must not panic.
	p, err := parsePrecompiled([]byte{4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 'x', 0})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.normalize(newNormStr("abc\u00e9", 0)).s; got != "abc\u00e9" {
		t.Errorf("got %q", got)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base, err := os.ReadFile(filepath.Join("testdata", "tiny-wordpiece.json"))
	if err != nil {
		t.Fatal(err)
	}
	patched := func(f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(base, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, c := range []struct {
		name    string
		content string
		want    []string
	}{
		{"malformed.json", "{", []string{"malformed.json", "malformed JSON"}},
		{"no-model.json", `{"version": "1.0"}`, []string{"no-model.json", "model"}},
		{"norm.json", patched(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "Frobnicate"} }), []string{"norm.json", "normalizer", "Frobnicate"}},
		{"pre.json", patched(func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "UnicodeScripts"} }), []string{"pre.json", "pre_tokenizer", "UnicodeScripts"}},
		{"model.json", patched(func(m map[string]any) { m["model"].(map[string]any)["type"] = "Magic" }), []string{"model.json", "model", "Magic"}},
		{"post.json", patched(func(m map[string]any) { m["post_processor"] = map[string]any{"type": "Nope"} }), []string{"post.json", "post_processor", "Nope"}},
		{"dec.json", patched(func(m map[string]any) { m["decoder"] = map[string]any{"type": "Nope"} }), []string{"dec.json", "decoder", "Nope"}},
		{"regex.json", patched(func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `a(?=b)`}, "behavior": "Isolated"}
		}), []string{"regex.json", "pre_tokenizer", "unsupported regex"}},
		{"merges.json", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}`, []string{"merges.json", "model", "merge 0"}},
		{"template.json", patched(func(m map[string]any) {
			m["post_processor"] = map[string]any{"type": "TemplateProcessing", "single": []any{map[string]any{"SpecialToken": map[string]any{"id": "[X]", "type_id": 0}}}}
		}), []string{"template.json", "post_processor", "[X]"}},
	} {
		p := write(c.name, c.content)
		_, err := FromFile(p)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	if _, err := FromFile(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "nothing-here")); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
}

func TestLoadDir(t *testing.T) {
	// vocab.txt fallback configured by tokenizer_config.json.
	dir := t.TempDir()
	vocab := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nHello\nhello\n##s\n\u2028\n"
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(vocab), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"do_lower_case": false, "model_max_length": 512, "pad_token": {"content": "[PAD]"}}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("Hello hellos", true).IDs; !reflect.DeepEqual(got, []int32{2, 5, 6, 7, 3}) {
		t.Errorf("cased vocab.txt: %v", got)
	}
	if tok.ModelMaxLength() != 512 || tok.ModelType() != "WordPiece" {
		t.Errorf("ModelMaxLength %d, ModelType %s", tok.ModelMaxLength(), tok.ModelType())
	}
	if s, ok := tok.IDToToken(8); !ok || s != "\u2028" {
		t.Errorf("U+2028 line lost: %q", s)
	}
	// tokenizer.json.gz is read transparently.
	gzDir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join("testdata", "tiny-bpe.json"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	if err := os.WriteFile(filepath.Join(gzDir, "tokenizer.json.gz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gzDir, "tokenizer_config.json"), []byte(`{"pad_token": "<|end|>", "eos_token": "<|end|>"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	gz, err := Load(gzDir)
	if err != nil {
		t.Fatal(err)
	}
	if got := gz.Encode("hello world", true).IDs; !reflect.DeepEqual(got, []int32{14, 19}) {
		t.Errorf("gz: %v", got)
	}
	if id, ok := gz.PadID(); !ok || id != 100 || gz.Special().EOS != "<|end|>" {
		t.Errorf("gz special: %d %v %+v", id, ok, gz.Special())
	}
	// The T5 directory: tokenizer.json + tokenizer_config.json.
	t5dir, err := goldenDataPath(goldenRoot(), "tokenizer-unigram-t5")
	if err != nil {
		t.Skip(err)
	}
	t5, err := Load(t5dir)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := t5.PadID(); !ok || id != 0 || t5.ModelMaxLength() != 512 || t5.Special().EOS != "</s>" || t5.ModelType() != "Unigram" {
		t.Errorf("t5: pad %d %v, max %d, %+v", id, ok, t5.ModelMaxLength(), t5.Special())
	}
	if fo := t5.FileOptions(); fo.Truncation != LongestFirst || fo.MaxLength != 32 || fo.Padding != PadMaxLength {
		t.Errorf("t5 FileOptions %+v", fo)
	}
}

// TestDecodeReal checks Decode on the repository's real tokenizers.
func TestDecodeReal(t *testing.T) {
	qwen := benchTokenizer(t, "tokenizer-qwen2-bpe-from-qwen3/tokenizer.json.gz")
	for _, s := range []string{"Hello, world! 你好 🦙 café", "e\u0301 \t\n  x", "<|im_start|>user\nhi<|im_end|>"} {
		if got, want := qwen.Decode(qwen.Encode(s, true).IDs, false), norm.NFC.String(s); got != want {
			t.Errorf("qwen round trip %q: got %q", want, got)
		}
	}
	if got := qwen.Decode(qwen.Encode("<|im_start|>user", true).IDs, true); got != "user" {
		t.Errorf("qwen skip special: %q", got)
	}
	bert := benchTokenizer(t, "tokenizer-all-minilm-l6-v2/tokenizer.json")
	// The WordPiece decoder cleans up token by token (as tokenizers; the
	// string-level clean-up of transformers' decode would also join "' t").
	if got := bert.Decode(bert.Encode("Hello, World! Don't stop-believing.", true).IDs, true); got != "hello, world! don ' t stop - believing." {
		t.Errorf("bert: %q", got)
	}
	t5 := benchTokenizer(t, "tokenizer-unigram-t5/tokenizer.json")
	if got := t5.Decode(t5.Encode("Hello world, ﬁne.", true).IDs, true); got != "Hello world, fine." {
		t.Errorf("t5: %q", got)
	}
	if got := t5.Decode(t5.Encode("Hello", true).IDs, false); got != "Hello</s>" {
		t.Errorf("t5 with special: %q", got)
	}
}

// TestLlamaCpp checks llama.cpp's HF-generated ids (no special tokens) for
// the bge (bert-base-uncased vocabulary) and Qwen2 tokenizers.
func TestLlamaCpp(t *testing.T) {
	dir, err := goldenDataPath(goldenRoot(), "tokenizer-golden-llamacpp")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, tok string }{
		{"ggml-vocab-bert-bge.gguf", "tokenizer-all-minilm-l6-v2/tokenizer.json"},
		{"ggml-vocab-qwen2.gguf", "tokenizer-qwen2-bpe-from-qwen3/tokenizer.json.gz"},
	} {
		inp, err1 := os.ReadFile(filepath.Join(dir, c.name+".inp"))
		out, err2 := os.ReadFile(filepath.Join(dir, c.name+".out"))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", c.name, err1, err2)
		}
		texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
		texts = texts[:len(texts)-1] // the file ends with a separator
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(texts) != len(lines) {
			t.Fatalf("%s: %d inputs, %d outputs", c.name, len(texts), len(lines))
		}
		tok := benchTokenizer(t, c.tok)
		bad := 0
		for i, text := range texts {
			var want []int32
			for _, f := range strings.Fields(lines[i]) {
				var id int32
				if err := json.Unmarshal([]byte(f), &id); err != nil {
					t.Fatalf("%s line %d: %v", c.name, i, err)
				}
				want = append(want, id)
			}
			got := tok.Encode(text, false).IDs
			if len(got) == 0 && len(want) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				bad++
				t.Errorf("%s %d %q: got %v want %v", c.name, i, text, got, want)
			}
		}
		t.Logf("llama.cpp %s records=%d mismatches=%d", c.name, len(texts), bad)
	}
}

// TestConcurrentEncode: a Tokenizer is shared by goroutines (run with
// -race); results equal the sequential ones.
func TestConcurrentEncode(t *testing.T) {
	tok := loadTiny(t, "tiny-bpe.json", nil)
	texts := []string{"hello world", "aaaa hello", "world hello aa", "éé hello"}
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = tok.Encode(s, true).IDs
	}
	tok2 := loadTiny(t, "tiny-bpe.json", nil) // fresh cache
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func(g int) {
			for k := 0; k < 200; k++ {
				i := (g + k) % len(texts)
				if got := tok2.Encode(texts[i], true).IDs; !reflect.DeepEqual(got, want[i]) {
					done <- errors.New("mismatch on " + texts[i])
					return
				}
			}
			done <- nil
		}(g)
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
