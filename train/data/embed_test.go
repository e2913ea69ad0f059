package data

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEmbeddingKinds(t *testing.T) {
	cases := []struct {
		name string
		src  string
		kind Format
		want []EmbedRecord
	}{
		{
			name: "pair",
			src:  `{"query": "q1", "pos": ["a", "b"]}` + "\n" + `{"query": " q2", "pos": ["c "], "prompt_for_query": "query: "}`,
			kind: FormatEmbedPair,
			want: []EmbedRecord{
				{Query: "q1", Pos: []string{"a", "b"}, File: "e", Line: 1},
				{Query: " q2", Prompt: "query: ", Pos: []string{"c "}, File: "e", Line: 2},
			},
		},
		{
			name: "triplet",
			src:  `{"query": "q", "pos": ["a"], "neg": ["n1", "n2"], "pos_scores": [1], "type": "x"}`,
			kind: FormatEmbedTriplet,
			want: []EmbedRecord{{Query: "q", Pos: []string{"a"}, Neg: []string{"n1", "n2"}, File: "e", Line: 1}},
		},
		{
			name: "pair with scores",
			src:  `{"query": "q", "pos": ["a", "b"], "scores": [0.8, 0.2]}`,
			kind: FormatEmbedPairScore,
			want: []EmbedRecord{{Query: "q", Pos: []string{"a", "b"}, Scores: []float32{0.8, 0.2}, File: "e", Line: 1}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseEmbedding(strings.NewReader(c.src), "e", Options{})
			require.NoError(t, err)
			assert.Equal(t, c.kind, s.Kind)
			assert.Equal(t, c.want, s.Records)
		})
	}
}

func TestPromptQuery(t *testing.T) {
	r := EmbedRecord{Query: "what is go", Prompt: "Represent this query: "}
	assert.Equal(t, "Represent this query: what is go", r.PromptedQuery())
	assert.Equal(t, "q", PromptQuery("", "q"))
	assert.Equal(t, []string{"p:a", "p:b"}, PromptQueries("p:", []string{"a", "b"}))
}

func TestParseEmbeddingErrors(t *testing.T) {
	cases := []struct {
		name, line, want string
	}{
		{"missing pos", `{"query": "q"}`, `e:2: field "pos": missing`},
		{"empty pos", `{"query": "q", "pos": []}`, `e:2: field "pos": empty list`},
		{"blank pos", `{"query": "q", "pos": ["  "]}`, `e:2: field "pos[0]": empty text`},
		{"prompt type", `{"query": "q", "pos": ["a"], "prompt_for_query": 1}`, `e:2: field "prompt_for_query": want a string, got number`},
		{"mixed kinds", `{"query": "q", "pos": ["a"], "neg": ["b"]}`, `e:2: record is a triplet but the file's first record (line 1) is a pair`},
		{"scores length", `{"query": "q", "pos": ["a"], "scores": [1, 2]}`, `e:2: field "scores": 2 values for 1 "pos" texts`},
		{"scores NaN", `{"query": "q", "pos": ["a"], "scores": [NaN]}`, `e:2: field "scores[0]": NaN is not a valid label`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := `{"query": "ok", "pos": ["fine"]}` + "\n" + c.line
			_, err := ParseEmbedding(strings.NewReader(src), "e", Options{})
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
			s, err := ParseEmbedding(strings.NewReader(src), "e", Options{SkipBadLines: true})
			require.NoError(t, err)
			assert.Equal(t, 1, s.Report.BadLines)
			assert.Len(t, s.Records, 1)
		})
	}
	// The empty-neg triplet is an error (a triplet needs negatives).
	_, err := ParseEmbedding(strings.NewReader(`{"query": "q", "pos": ["a"], "neg": []}`), "e", Options{})
	assert.EqualError(t, err, `e:1: field "neg": empty list`)
}

func TestEmbeddingExampleFiles(t *testing.T) {
	s, err := ReadEmbedding(filepath.Join(exampleDir, "t2rank_100.jsonl"), Options{})
	require.NoError(t, err)
	assert.Equal(t, FormatEmbedTriplet, s.Kind)
	assert.Len(t, s.Records, 100)
	s2, err := ReadEmbedding(filepath.Join(exampleDir, "lmsft.jsonl"), Options{})
	require.NoError(t, err)
	assert.Equal(t, FormatEmbedPairScore, s2.Kind)
	require.Len(t, s2.Records, 2)
	assert.Equal(t, []float32{0.8, 0.2}, s2.Records[0].Scores)

	sm, err := NewEmbedSampler(s, 15, false)
	require.NoError(t, err)
	assert.Equal(t, 505, sm.Len())
	_, err = NewEmbedSampler(s, 16, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "neg_nums 16 is more than the negatives of 100 of 100 records (../../testdata/data/rag-retrieval-example-data/t2rank_100.jsonl:1 has 15,")

	dir := "../../testdata/data/flagembedding-examples"
	{
		nq, err := ReadEmbedding(filepath.Join(dir, "embedder_retrieval_nq.jsonl"), Options{})
		require.NoError(t, err)
		assert.Equal(t, FormatEmbedTriplet, nq.Kind)
		assert.Len(t, nq.Records, 10)
		_, err = NewEmbedSampler(nq, 80, false)
		assert.ErrorContains(t, err, "embedder_retrieval_nq.jsonl:")
		assert.ErrorContains(t, err, " has 79")
	}
}

func TestEmbedSampler(t *testing.T) {
	src := `{"query": "q0", "pos": ["p0", "p1"], "neg": ["n0", "n1", "n2", "n3"]}
{"query": "q1", "pos": ["p2"], "neg": ["n4", "n5"]}
{"query": "q2", "pos": ["p3", "p4", "p5"], "neg": ["n6"]}`
	s, err := ParseEmbedding(strings.NewReader(src), "e", Options{})
	require.NoError(t, err)
	_, err = NewEmbedSampler(s, 0, false)
	assert.ErrorContains(t, err, "neg_nums 0")
	_, err = NewEmbedSampler(s, 2, false)
	assert.EqualError(t, err, "data: neg_nums 2 is more than the negatives of 1 of 3 records (e:3 has 1); lower neg_nums or allow repeated negatives")

	sm, err := NewEmbedSampler(s, 3, true)
	require.NoError(t, err)
	assert.Equal(t, 6, sm.Len())
	e0 := sm.Epoch(7, 0)
	assert.Equal(t, e0, sm.Epoch(7, 0))
	assert.NotEqual(t, e0, sm.Epoch(7, 1))
	assert.NotEqual(t, e0, sm.Epoch(8, 0))
	seen := map[[2]int]bool{}
	for _, ex := range e0 {
		seen[[2]int{ex.Record, ex.Pos}] = true
		r := s.Records[ex.Record]
		require.Len(t, ex.Negs, 3)
		// Drawn from the list repeated ceil(3/len) times: no index more
		// often than that.
		count := map[int]int{}
		for _, n := range ex.Negs {
			require.Less(t, n, len(r.Neg))
			count[n]++
		}
		reps := (3 + len(r.Neg) - 1) / len(r.Neg)
		for _, c := range count {
			assert.LessOrEqual(t, c, reps)
		}
	}
	assert.Len(t, seen, 6, "every positive once per epoch")

	// Pairs have no negatives.
	p, err := ParseEmbedding(strings.NewReader(`{"query": "q", "pos": ["a", "b"]}`), "e", Options{})
	require.NoError(t, err)
	ps, err := NewEmbedSampler(p, 0, false)
	require.NoError(t, err)
	for _, ex := range ps.Epoch(1, 0) {
		assert.Nil(t, ex.Negs)
	}
}
