package data

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/models/tokenizer"
)

var (
	bertOnce sync.Once
	bertTok  *tokenizer.Tokenizer
	bertErr  error
	qwenOnce sync.Once
	qwenTok  *tokenizer.Tokenizer
	qwenErr  error
)

func bertChinese(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	bertOnce.Do(func() { bertTok, bertErr = tokenizer.Load("../../testdata/data/tokenizer-bert-base-chinese") })
	require.NoError(t, bertErr)
	return bertTok
}

func qwen(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	qwenOnce.Do(func() { qwenTok, qwenErr = tokenizer.Load("../../testdata/data/tokenizer-qwen2-bpe-from-qwen3") })
	require.NoError(t, qwenErr)
	return qwenTok
}

func row(e Encoded, i int) (ids, types, mask []int32) {
	ids = e.IDs[i*e.Len : (i+1)*e.Len]
	mask = e.Mask[i*e.Len : (i+1)*e.Len]
	if e.TypeIDs != nil {
		types = e.TypeIDs[i*e.Len : (i+1)*e.Len]
	}
	return
}

func TestCrossEncoderBatch(t *testing.T) {
	tok := bertChinese(t)
	pad, _ := tok.PadID()
	gs := loadT2(t)
	sm, err := NewSampler(gs, Sampling{GroupSize: 4})
	require.NoError(t, err)
	batch := sm.Epoch(1, 0)[:3]
	for _, tr := range []tokenizer.Truncation{tokenizer.OnlySecond, tokenizer.LongestFirst} {
		t.Run(tr.String(), func(t *testing.T) {
			enc, err := NewCrossEncoder(tok, CrossEncoderConfig{MaxLen: 64, Truncation: tr})
			require.NoError(t, err)
			b, err := BuildBatch(enc, gs, batch)
			require.NoError(t, err)
			assert.Equal(t, 3, b.Examples)
			assert.Equal(t, 4, b.GroupSize)
			assert.Equal(t, []int{12, 64}, b.IDs.Shape(), "T2Ranking passages are long: every row reaches max_len")
			assert.Equal(t, []int{12, 64}, b.TypeIDs.Shape())
			assert.Equal(t, []int{12, 64}, b.Mask.Shape())
			assert.Equal(t, []int{12}, b.Labels.Shape())
			labels := b.Labels.Float32s()
			for k := 0; k < 3; k++ {
				assert.Equal(t, []float32{1, 0, 0, 0}, labels[k*4:k*4+4])
			}
			// Each row is the tokenizer's own pair encoding.
			ids := b.IDs.Int32s()
			for r := 0; r < 12; r++ {
				ex := batch[r/4]
				g := gs[ex.Group]
				want, err := tok.EncodePairWith(g.Query, g.Items[ex.Items[r%4]].Text, tokenizer.Options{MaxLength: 64, Truncation: tr})
				require.NoError(t, err)
				assert.Equal(t, want.IDs, ids[r*64:r*64+want.Len()])
				for _, id := range ids[r*64+want.Len() : (r+1)*64] {
					assert.Equal(t, pad, id)
				}
			}
		})
	}
}

func TestCrossEncoderPadding(t *testing.T) {
	tok := bertChinese(t)
	pad, _ := tok.PadID()
	enc, err := NewCrossEncoder(tok, CrossEncoderConfig{MaxLen: 16})
	require.NoError(t, err)
	e, err := enc.EncodePairs([]string{"你好", " 天气 ", "很长的查询很长的查询很长的查询很长的查询"}, []string{"我很好", "今天晴天，适合出门散步。今天晴天，适合出门散步。", "文档"})
	require.NoError(t, err)
	assert.Equal(t, 3, e.Rows)
	assert.Equal(t, 16, e.Len)
	ids, types, mask := row(e, 0)
	// [CLS] 你 好 [SEP] 我 很 好 [SEP] then padding.
	assert.Equal(t, []int32{101, 872, 1962, 102, 2769, 2523, 1962, 102}, ids[:8])
	assert.Equal(t, []int32{0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}, types)
	assert.Equal(t, []int32{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}, mask)
	for _, id := range ids[8:] {
		assert.Equal(t, pad, id)
	}
	// Row 1: the query is kept whole (only_second, query stripped).
	ids, _, mask = row(e, 1)
	assert.Equal(t, []int32{101, 1921, 3698, 102}, ids[:4])
	assert.Equal(t, int32(102), ids[15])
	assert.NotContains(t, mask, int32(0))
	// Row 2: the query alone exceeds max_len: longest_first instead of an
	// error.
	assert.Equal(t, 1, enc.Fallbacks())
	ids, types, _ = row(e, 2)
	assert.Equal(t, int32(102), ids[15])
	assert.Contains(t, types, int32(1))

	// Query / document formats.
	fe, err := NewCrossEncoder(tok, CrossEncoderConfig{MaxLen: 32, QueryFormat: "问：{}", DocumentFormat: "答：{}"})
	require.NoError(t, err)
	e, err = fe.EncodePairs([]string{"a"}, []string{"b"})
	require.NoError(t, err)
	want := tok.EncodePair("问：a", "答：b", true)
	assert.Equal(t, want.IDs, e.IDs)

	_, err = NewCrossEncoder(tok, CrossEncoderConfig{MaxLen: 32, QueryFormat: "query:"})
	assert.ErrorContains(t, err, "no {} placeholder")
	_, err = NewCrossEncoder(tok, CrossEncoderConfig{})
	assert.Error(t, err)
	assert.Panics(t, func() { _, _ = enc.EncodePairs([]string{"a"}, nil) })
}

func TestTextEncoder(t *testing.T) {
	tok := bertChinese(t)
	te, err := NewTextEncoder(tok, 8)
	require.NoError(t, err)
	e, err := te.Encode([]string{"你好", "今天天气很好适合出门"})
	require.NoError(t, err)
	assert.Equal(t, 2, e.Rows)
	assert.Equal(t, 8, e.Len)
	ids, types, mask := row(e, 0)
	assert.Equal(t, []int32{101, 872, 1962, 102, 0, 0, 0, 0}, ids)
	assert.Equal(t, make([]int32, 8), types)
	assert.Equal(t, []int32{1, 1, 1, 1, 0, 0, 0, 0}, mask)
	ids, _, _ = row(e, 1)
	assert.Equal(t, int32(102), ids[7])
}

func TestDecoderEncoder(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the 11 MB Qwen tokenizer")
	}
	tok := qwen(t)
	eos, ok := tok.TokenToID(tok.Special().EOS)
	require.True(t, ok)
	cfg := DecoderEncoderConfig{
		MaxLen:         24,
		QueryFormat:    DefaultDecoderQueryFormat,
		DocumentFormat: DefaultDecoderDocumentFormat,
		Sep:            DefaultDecoderSep,
		SpecialToken:   DefaultDecoderSpecialToken,
	}
	enc, err := NewDecoderEncoder(tok, cfg)
	require.NoError(t, err)
	ids := func(s string) []int32 { return tok.Encode(s, false).IDs }
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 10)
	e, err := enc.EncodePairs([]string{"what is go", " hi "}, []string{"a language", long})
	require.NoError(t, err)
	assert.Nil(t, e.TypeIDs)
	assert.Equal(t, 2, e.Rows)
	assert.Equal(t, 24, e.Len)

	var want0 []int32
	want0 = append(want0, ids("query: what is go")...)
	want0 = append(want0, ids(" ")...)
	want0 = append(want0, ids("document: a language")...)
	want0 = append(want0, ids("</s>")...)
	r0, _, m0 := row(e, 0)
	assert.Equal(t, want0, r0[:len(want0)])
	for k := len(want0); k < 24; k++ {
		assert.Equal(t, eos, r0[k], "right padding with EOS")
		assert.Equal(t, int32(0), m0[k])
	}
	// Row 1: the document is cut so that the row is max_len long and
	// still ends with the special token.
	r1, _, m1 := row(e, 1)
	q := ids("query: hi")
	assert.Equal(t, q, r1[:len(q)])
	assert.Equal(t, ids("</s>"), r1[21:])
	assert.NotContains(t, m1, int32(0))

	// Left padding.
	cfg.PadLeft = true
	le, err := NewDecoderEncoder(tok, cfg)
	require.NoError(t, err)
	e2, err := le.EncodePairs([]string{"what is go", " hi "}, []string{"a language", long})
	require.NoError(t, err)
	r0, _, m0 = row(e2, 0)
	pad := 24 - len(want0)
	assert.Equal(t, want0, r0[pad:])
	assert.Equal(t, make([]int32, pad), m0[:pad])

	// A query longer than max_len is cut.
	e3, err := enc.EncodePairs([]string{long}, []string{"doc"})
	require.NoError(t, err)
	assert.Equal(t, 24, e3.Len)

	cfg.MaxLen = 3
	_, err = NewDecoderEncoder(tok, cfg)
	assert.ErrorContains(t, err, "leaves no room")

	// As a PairEncoder in BuildBatch: no type ids.
	gs := mkGroups([]float32{1, 0}, []float32{0, 1})
	b, err := BuildBatch(enc, gs, []Example{{Group: 0, Items: []int{0, 1}}, {Group: 1, Items: []int{1, 0}}})
	require.NoError(t, err)
	assert.Nil(t, b.TypeIDs)
	assert.Equal(t, []float32{1, 0, 1, 0}, b.Labels.Float32s())
}

func TestBuildBatchContract(t *testing.T) {
	tok := bertChinese(t)
	enc, err := NewCrossEncoder(tok, CrossEncoderConfig{MaxLen: 16})
	require.NoError(t, err)
	gs := mkGroups([]float32{1, 0, 0})
	assert.Panics(t, func() { _, _ = BuildBatch(enc, gs, nil) })
	assert.Panics(t, func() {
		_, _ = BuildBatch(enc, gs, []Example{{Group: 0, Items: []int{0, 1}}, {Group: 0, Items: []int{0}}})
	})
}
