package rerank

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
)

func loadCase(t *testing.T, name string) *golden.Case {
	t.Helper()
	c, err := golden.Load(filepath.Join(golden.Root(), name))
	require.NoError(t, err)
	return c
}

func inputInts(t *testing.T, c *golden.Case, key string) [][]int32 {
	t.Helper()
	var v [][]int32
	require.NoError(t, json.Unmarshal(c.Inputs[key], &v), key)
	return v
}

// stripRow returns the content of a [CLS] … [SEP] row (pads removed).
func stripRow(ids, mask []int32) []int32 {
	n := 0
	for _, m := range mask {
		n += int(m)
	}
	return ids[1 : n-1]
}

// TestGoldenCrossEncoders: the pairs' content ids through the API give the
// fixture's logits and sigmoid scores, and the template rebuilds the
// fixture's input rows.
func TestGoldenCrossEncoders(t *testing.T) {
	for _, tc := range []struct {
		name string
		tmpl *Template
	}{
		{"bert-cross-encoder", BERTTemplate(101, 102, 0)},
		{"xlmr-cross-encoder", RoBERTaTemplate(0, 2, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := loadCase(t, tc.name)
			r, err := Load(c.Dir, LoadOptions{Template: tc.tmpl})
			require.NoError(t, err)
			require.Equal(t, "cross-encoder", r.Family())
			var pairs []struct{ Query, Passage []int32 }
			require.NoError(t, json.Unmarshal(c.Inputs["pairs"], &pairs))
			ids := inputInts(t, c, "input_ids")
			mask := inputInts(t, c, "attention_mask")
			types := inputInts(t, c, "token_type_ids")
			tp := make([]TokenPair, len(pairs))
			for i, p := range pairs {
				tp[i] = TokenPair{p.Query, p.Passage}
				row, ty := tc.tmpl.row(p.Query, p.Passage)
				n := len(row)
				require.Equal(t, ids[i][:n], row, "row %d", i)
				if ty != nil {
					require.Equal(t, types[i][:n], ty, "types %d", i)
				}
				require.EqualValues(t, n, sum(mask[i]))
			}
			ts := r.(TokenScorer)
			for _, bs := range []int{1, 3, 32} {
				got, err := ts.ScoreTokens(context.Background(), tp, Options{BatchSize: bs})
				require.NoError(t, err)
				testutil.AssertClose(t, "logits", got, c.Expected["logits"].Float32s(), testutil.Golden)
				got, err = ts.ScoreTokens(context.Background(), tp, Options{BatchSize: bs, Normalize: true, Strategy: Truncate})
				require.NoError(t, err)
				testutil.AssertClose(t, "scores_sigmoid", got, c.Expected["scores_sigmoid"].Float32s(), testutil.Golden)
			}
		})
	}
}

func sum(x []int32) int32 {
	var s int32
	for _, v := range x {
		s += v
	}
	return s
}

// TestGoldenQwen2SeqCls: each sequence as query ids with an empty document
// and an empty template gives the fixture's score at the last token.
func TestGoldenQwen2SeqCls(t *testing.T) {
	c := loadCase(t, "qwen2-seqcls")
	r, err := Load(c.Dir, LoadOptions{Template: &Template{PadID: 511}})
	require.NoError(t, err)
	require.Equal(t, "qwen2-seqcls", r.Family())
	seqs := inputInts(t, c, "sequences")
	tp := make([]TokenPair, len(seqs))
	for i, s := range seqs {
		// Split anywhere: the decoder template joins query and document.
		tp[i] = TokenPair{s[:2], s[2:]}
	}
	for _, bs := range []int{1, 2, 8} {
		got, err := r.(TokenScorer).ScoreTokens(context.Background(), tp, Options{BatchSize: bs})
		require.NoError(t, err)
		testutil.AssertClose(t, "scores", got, c.Expected["scores"].Float32s(), testutil.Golden)
	}
}

// TestGoldenColBERT: every query × doc of the fixture's grid gives
// scores_maxsim_excl_cls_avg (bge-m3's colbert_score).
func TestGoldenColBERT(t *testing.T) {
	c := loadCase(t, "colbert")
	r, err := Load(c.Dir, LoadOptions{Template: SingleTemplate([]int32{101}, []int32{102}, 0)})
	require.NoError(t, err)
	require.Equal(t, "colbert", r.Family())
	qi, qm := inputInts(t, c, "query_input_ids"), inputInts(t, c, "query_attention_mask")
	di, dm := inputInts(t, c, "doc_input_ids"), inputInts(t, c, "doc_attention_mask")
	var tp []TokenPair
	for a := range qi {
		for b := range di {
			tp = append(tp, TokenPair{stripRow(qi[a], qm[a]), stripRow(di[b], dm[b])})
		}
	}
	got, err := r.(TokenScorer).ScoreTokens(context.Background(), tp, Options{BatchSize: 2})
	require.NoError(t, err)
	testutil.AssertClose(t, "scores_maxsim_excl_cls_avg", got, c.Expected["scores_maxsim_excl_cls_avg"].Float32s(), testutil.Golden)
}

// TestGoldenEncoders: CLS + normalize and mean + normalize embeddings of
// the encoder fixtures.
func TestGoldenEncoders(t *testing.T) {
	for _, tc := range []struct {
		name string
		tmpl *Template
	}{
		{"xlmr-encoder", SingleTemplate([]int32{0}, []int32{2}, 1)},
	} {
		c := loadCase(t, tc.name)
		ids, mask := inputInts(t, c, "input_ids"), inputInts(t, c, "attention_mask")
		texts := make([][]int32, len(ids))
		for i := range ids {
			texts[i] = stripRow(ids[i], mask[i])
		}
		for pool, want := range map[string]string{"cls": "cls_embedding_normalized", "mean": "mean_pooled_normalized"} {
			e, err := LoadEncoder(c.Dir, EncoderOptions{Template: tc.tmpl, Pooling: modelsPooling(pool)})
			require.NoError(t, err)
			got, err := e.EncodeTokens(context.Background(), texts, EncodeOptions{Normalize: true, BatchSize: 2})
			require.NoError(t, err)
			testutil.AssertClose(t, tc.name+" "+want, flatten(got), c.Expected[want].Float32s(), testutil.Golden)
		}
	}
}

func flatten(v [][]float32) []float32 {
	var out []float32
	for _, r := range v {
		out = append(out, r...)
	}
	return out
}

// TestGoldenCausalYes: the causal-LM reranker's score is the logit of the
// yes token at each sequence's last token, so for every yes id it equals
// the fixture's last_token_logits column.
func TestGoldenCausalYes(t *testing.T) {
	c := loadCase(t, "qwen2-tiny")
	seqs := inputInts(t, c, "sequences")
	tp := make([]TokenPair, len(seqs))
	for i, s := range seqs {
		tp[i] = TokenPair{s[:2], s[2:]}
	}
	logits := c.Expected["last_token_logits"]
	vocab := logits.Dim(1)
	for _, yes := range []int{7, 300, vocab - 1} {
		yes := yes
		r, err := Load(c.Dir, LoadOptions{Template: &Template{PadID: 511}, Prompt: &PromptConfig{YesID: &yes}})
		require.NoError(t, err)
		require.Equal(t, "causal-lm-yes", r.Family())
		got, err := r.(TokenScorer).ScoreTokens(context.Background(), tp, Options{BatchSize: 2})
		require.NoError(t, err)
		want := logits.Narrow(1, yes, 1).Float32s()
		testutil.AssertClose(t, "yes logit", got, want, testutil.Golden)
	}
	_, err := Load(c.Dir, LoadOptions{Template: &Template{PadID: 511}})
	require.Error(t, err, "a causal LM without a yes token is not a reranker")
}
