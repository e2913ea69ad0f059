package rerank

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
)

// TestWindows checks the max_score_slice rule by hand: w=10 gives an
// overlap of min(80, ⌊20/7⌋) = 2, so windows start at 0, 8, 16, 24.
func TestWindows(t *testing.T) {
	for _, tc := range []struct {
		n, w, overlap int
		want          [][2]int
	}{
		{0, 10, 80, [][2]int{{0, 0}}},
		{10, 10, 80, [][2]int{{0, 10}}},
		{11, 10, 80, [][2]int{{0, 10}, {8, 11}}},
		{30, 10, 80, [][2]int{{0, 10}, {8, 18}, {16, 26}, {24, 30}}},
		{30, 10, 1, [][2]int{{0, 10}, {9, 19}, {18, 28}, {27, 30}}},
		{30, 10, -1, [][2]int{{0, 10}, {10, 20}, {20, 30}}},
		// w = 509 (512 − [CLS] q(0) [SEP] … [SEP]): overlap 80 < ⌊1018/7⌋.
		{1000, 509, 80, [][2]int{{0, 509}, {429, 938}, {858, 1000}}},
	} {
		assert.Equal(t, tc.want, Windows(tc.n, tc.w, tc.overlap), "n=%d w=%d overlap=%d", tc.n, tc.w, tc.overlap)
	}
}

func seqIDs(start, n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(200 + (start+i*7)%300)
	}
	return out
}

// TestMaxScoreSlice: a document longer than the window scores the max of
// its windows, each scored on its own (Truncate on the window's ids).
func TestMaxScoreSlice(t *testing.T) {
	dir := filepath.Join(golden.Root(), "bert-cross-encoder")
	r, err := Load(dir, LoadOptions{Template: BERTTemplate(101, 102, 0)})
	require.NoError(t, err)
	ts := r.(TokenScorer)
	ctx := context.Background()
	q := seqIDs(0, 3)
	d := seqIDs(5, 30)
	// max_length 16: budget 16 − 3 special = 13, window 13 − 3 = 10,
	// overlap ⌊20/7⌋ = 2: windows [0,10) [8,18) [16,26) [24,30).
	o := Options{MaxLength: 16}
	var parts []TokenPair
	for _, sp := range [][2]int{{0, 10}, {8, 18}, {16, 26}, {24, 30}} {
		parts = append(parts, TokenPair{q, d[sp[0]:sp[1]]})
	}
	ws, err := ts.ScoreTokens(ctx, parts, Options{MaxLength: 16, Strategy: Truncate})
	require.NoError(t, err)
	best := ws[0]
	for _, s := range ws {
		best = max(best, s)
	}
	got, err := ts.ScoreTokens(ctx, []TokenPair{{q, d}, {q, d[:5]}}, o)
	require.NoError(t, err)
	assert.Equal(t, best, got[0], "max over windows %v", ws)
	tr, err := ts.ScoreTokens(ctx, []TokenPair{{q, d}}, Options{MaxLength: 16, Strategy: Truncate})
	require.NoError(t, err)
	assert.Equal(t, ws[0], tr[0], "truncate = first window")
	short, err := ts.ScoreTokens(ctx, []TokenPair{{q, d[:5]}}, Options{MaxLength: 16, Strategy: Truncate})
	require.NoError(t, err)
	assert.Equal(t, short[0], got[1], "a document that fits is one row")
	// The windows differ, so the test would catch a wrong window.
	assert.NotEqual(t, ws[0], ws[1])
}

// writeVocab writes golden.WriteWordVocab's 512-token vocabulary.
func writeVocab(t *testing.T, dir string) {
	require.NoError(t, golden.WriteWordVocab(dir))
}

// TextModelDir copies a golden model directory and adds writeVocab's
// vocabulary, for text-level tests.
func textModelDir(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(golden.Root(), name)
	dir := t.TempDir()
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") && e.Name() != "config.json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644))
	}
	writeVocab(t, dir)
	return dir
}

func words(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprintf("w%d", id)
	}
	return strings.Join(s, " ")
}

// TestRankText: text input through a real tokenizer gives the token-level
// scores; results are ranked, keep doc ids, and TopK / ScoreByDocID agree.
func TestRankText(t *testing.T) {
	dir := textModelDir(t, "bert-cross-encoder")
	r, err := Load(dir, LoadOptions{})
	require.NoError(t, err)
	tmpl := r.(*CrossEncoder).tmpl
	assert.Equal(t, BERTTemplate(101, 102, 0), tmpl, "template derived from the tokenizer")
	q := seqIDs(1, 4)
	var docs []string
	var tp []TokenPair
	for i := 0; i < 9; i++ {
		d := seqIDs(10*i, 3+5*i)
		docs = append(docs, words(d))
		tp = append(tp, TokenPair{q, d})
	}
	ctx := context.Background()
	want, err := r.(TokenScorer).ScoreTokens(ctx, tp, Options{})
	require.NoError(t, err)
	res, err := r.Rank(ctx, "  "+words(q)+" ", docs, Options{BatchSize: 4})
	require.NoError(t, err)
	// Other batch sizes pad rows to other lengths: equal up to rounding.
	testutil.AssertClose(t, "rank scores", res.Scores, want, testutil.F32)
	for i := 1; i < len(res.Results); i++ {
		assert.GreaterOrEqual(t, res.Results[i-1].Score, res.Results[i].Score)
	}
	for _, x := range res.Results {
		s, ok := res.ScoreByDocID(x.Index)
		require.True(t, ok)
		assert.Equal(t, x.Score, s)
		assert.Equal(t, docs[x.Index], x.Doc)
	}
	assert.Len(t, res.TopK(3), 3)
	assert.Equal(t, res.Results[:3], res.TopK(3))
	assert.Len(t, res.TopK(0), 9)
	_, ok := res.ScoreByDocID(9)
	assert.False(t, ok)

	ps := make([]Pair, len(docs))
	for i := range docs {
		ps[i] = Pair{words(q), docs[i]}
	}
	cs, err := r.ComputeScore(ctx, ps, Options{Normalize: true})
	require.NoError(t, err)
	for i := range cs {
		testutil.AssertClose(t, "sigmoid", []float32{cs[i]}, []float32{sigmoid(want[i])}, testutil.F32)
	}
}

func TestInputErrors(t *testing.T) {
	dir := textModelDir(t, "bert-cross-encoder")
	r, err := Load(dir, LoadOptions{})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = r.Rank(ctx, "w5", []string{"w6", "  "}, Options{})
	require.Error(t, err)
	assert.True(t, IsInputError(err))
	assert.Contains(t, err.Error(), "document 1 is empty")
	_, err = r.Rank(ctx, "", []string{"w6"}, Options{})
	assert.True(t, IsInputError(err))
	_, err = r.Rank(ctx, "w5", []string{"w6"}, Options{MaxLength: 3})
	assert.True(t, IsInputError(err))
	_, err = r.(TokenScorer).ScoreTokens(ctx, []TokenPair{{[]int32{5}, []int32{512}}}, Options{})
	assert.True(t, IsInputError(err))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = r.Rank(cctx, "w5", []string{"w6"}, Options{})
	assert.ErrorIs(t, err, context.Canceled)

	_, err = Load(t.TempDir(), LoadOptions{})
	assert.Error(t, err)
	_, err = Load(filepath.Join(golden.Root(), "bert-tiny"), LoadOptions{})
	assert.ErrorContains(t, err, "not a reranker")
	_, err = Load(filepath.Join(golden.Root(), "bert-cross-encoder"), LoadOptions{})
	assert.ErrorContains(t, err, "no tokenizer")
}

// TestEncoderText: Encode on text equals EncodeTokens on the ids; MRL
// truncation and normalization.
func TestEncoderText(t *testing.T) {
	dir := textModelDir(t, "bert-tiny")
	e, err := LoadEncoder(dir, EncoderOptions{Pooling: "mean"})
	require.NoError(t, err)
	ctx := context.Background()
	ids := [][]int32{seqIDs(0, 5), seqIDs(3, 12), seqIDs(7, 1)}
	texts := []string{words(ids[0]), words(ids[1]), words(ids[2])}
	want, err := e.EncodeTokens(ctx, ids, EncodeOptions{})
	require.NoError(t, err)
	got, err := e.Encode(ctx, texts, EncodeOptions{BatchSize: 1})
	require.NoError(t, err)
	assert.Equal(t, want, got)
	g8, err := e.Encode(ctx, texts, EncodeOptions{Dim: 8, Normalize: true})
	require.NoError(t, err)
	for i, v := range g8 {
		require.Len(t, v, 8)
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		assert.InDelta(t, 1, n, 1e-5, "row %d", i)
		// the direction of the first 8 features is kept
		assert.InDelta(t, float64(want[i][0])/float64(want[i][1]), float64(v[0])/float64(v[1]), 1e-4)
	}
	p, err := e.Encode(ctx, texts[:1], EncodeOptions{Prompt: "w9 "})
	require.NoError(t, err)
	pw, err := e.EncodeTokens(ctx, [][]int32{append([]int32{9}, ids[0]...)}, EncodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, pw, p)
	_, err = e.Encode(ctx, texts, EncodeOptions{Dim: 33})
	assert.True(t, IsInputError(err))
}
