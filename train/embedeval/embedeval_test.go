package embedeval

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/train/data"
	"github.com/ragr-dev/ragr/train/metrics"
)

var testdata = filepath.Join("..", "..", "testdata", "data")

// refRanks is the O(n²) definition: rank = #smaller + (#equal + 1)/2.
func refRanks(x []float64) []float64 {
	r := make([]float64, len(x))
	for i := range x {
		less, eq := 0, 0
		for j := range x {
			if x[j] < x[i] {
				less++
			} else if x[j] == x[i] {
				eq++
			}
		}
		r[i] = float64(less) + float64(eq+1)/2
	}
	return r
}

func TestSpearman(t *testing.T) {
	// scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]).correlation (the
	// example of scipy's documentation).
	testutil.AssertClose(t, "scipy example", []float64{Spearman([]float64{1, 2, 3, 4, 5}, []float64{5, 6, 7, 8, 7})}, []float64{0.8207826816681233}, testutil.F64)
	assert.Equal(t, []float64{2.5, 1, 2.5, 4}, Ranks([]float64{3, 1, 3, 7}))
	assert.Equal(t, 1.0, Spearman([]float64{1, 2, 3}, []float64{10, 20, 1000}))
	assert.Equal(t, -1.0, Spearman([]float64{1, 2, 3}, []float64{3, 2, 1}))
	assert.True(t, math.IsNaN(Spearman([]float64{1, 1, 1}, []float64{3, 2, 1})))
	assert.Panics(t, func() { Spearman([]float64{1}, []float64{1, 2}) })

	r := testutil.NewRand(7)
	for _, n := range []int{2, 3, 17, 200, 1001} {
		x := make([]float64, n)
		y := make([]float64, n)
		for i := range x {
			x[i] = float64(r.IntN(6)) // many ties, like STS scores
			y[i] = r.NormFloat64() + 0.3*x[i]
		}
		if n == 2 {
			x[0], x[1] = 0, 1
		}
		rx, ry := refRanks(x), refRanks(y)
		assert.Equal(t, rx, Ranks(x), "ranks n=%d", n)
		want := stat.Correlation(rx, ry, nil)
		testutil.AssertClose(t, fmt.Sprintf("spearman n=%d", n), []float64{Spearman(x, y)}, []float64{want}, testutil.F64)
		testutil.AssertClose(t, fmt.Sprintf("pearson n=%d", n), []float64{Pearson(x, y)}, []float64{stat.Correlation(x, y, nil)}, testutil.F64)
	}
}

// table is an EncodeFunc over fixed vectors.
func table(t *testing.T, vs map[string][]float32) EncodeFunc {
	return func(texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, s := range texts {
			v, ok := vs[s]
			require.True(t, ok, "no vector for %q", s)
			out[i] = v
		}
		return out, nil
	}
}

func write(t *testing.T, name, body string) string {
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

// A hand-computed case: 5 documents, 3 queries, 2-d vectors, at width 2
// and at the MRL prefix 1.
func TestRetrievalHandCase(t *testing.T) {
	corpus := write(t, "corpus.jsonl", `{"id":"a","text":"A"}
{"_id":"b","title":"B","text":""}
{"id":3,"text":"C"}
{"id":"d","text":"D"}
{"id":"e","text":"E"}
`)
	queries := write(t, "queries.jsonl", `{"id":"q1","text":"Q1"}
{"id":"q2","text":"Q2"}
{"id":"q3","text":"Q3"}
{"id":"q4","text":"Q4"}
`)
	qrels := write(t, "qrels.tsv", "query-id\tcorpus-id\tscore\nq1\tb\t1\nq2\ta\t2\nq2\t3\t1\nq3\te\t0\nq4\td\t1\n")
	set, err := ReadRetrieval(corpus, queries, qrels)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "3", "d", "e"}, set.DocIDs)
	// Cosines at width 2: A (1,0), B (0.8,0.6), C (0,1), D (-1,0),
	// E (0.6,-0.8).
	vs := map[string][]float32{
		"A": {2, 0}, "B": {0.8, 0.6}, "C": {0, 3}, "D": {-1, 0}, "E": {0.6, -0.8},
		"Q1": {1, 0}, // A 1, B .8, E .6, C 0, D -1: b at rank 2
		"Q2": {0, 1}, // C 1, B .6, A 0, D 0, E -.8: a(2) at rank 3, c(1) at 1
		"Q3": {1, 1}, // no relevant judgement: skipped
		"Q4": {1, 0}, // d last (rank 5)
	}
	rep, err := EvaluateRetrieval(set, table(t, vs), Options{Dims: []int{1}, Batch: 2})
	require.NoError(t, err)
	require.Len(t, rep.Dims, 2)
	full := rep.Dims[1]
	assert.True(t, full.Full)
	assert.Equal(t, 3, full.Queries)
	assert.Equal(t, 1, full.NoPositive)
	l2 := func(r int) float64 { return 1 / math.Log2(float64(r+1)) }
	// q1: RR 1/2, nDCG l2(2)/1; q2: RR 1, DCG 1·l2(1)+2·l2(3), IDCG
	// 2·l2(1)+1·l2(2); q4: RR 0 (rank 5 within 10: 1/5), nDCG l2(5).
	wantMRR := (0.5 + 1 + 0.2) / 3
	wantNDCG := (l2(2) + (1+2*l2(3))/(2+l2(2)) + l2(5)) / 3
	testutil.AssertClose(t, "mrr", []float64{full.MRR}, []float64{wantMRR}, testutil.F64)
	testutil.AssertClose(t, "ndcg", []float64{full.NDCG}, []float64{wantNDCG}, testutil.F64)
	r1, _ := full.RecallAt(1)
	r5, _ := full.RecallAt(5)
	testutil.AssertClose(t, "recall", []float64{r1, r5}, []float64{(0 + 0.5 + 0) / 3, 1}, testutil.F64)
	_, has10 := full.RecallAt(10)
	assert.False(t, has10, "k above the corpus size is dropped")

	// Width 1: A 1, B 1, C 0 (zero prefix), D -1, E 1 for Q1/Q4 (ties in
	// document order: A, B, E, C, D); Q2 has a zero prefix, every
	// cosine 0: order A, B, C, D, E.
	d1 := rep.Dims[0]
	assert.Equal(t, 1, d1.Dim)
	wantMRR = (0.5 + 1 + 0.2) / 3
	wantNDCG = (l2(2) + (2+1*l2(3))/(2+l2(2)) + l2(5)) / 3
	testutil.AssertClose(t, "mrr d1", []float64{d1.MRR}, []float64{wantMRR}, testutil.F64)
	testutil.AssertClose(t, "ndcg d1", []float64{d1.NDCG}, []float64{wantNDCG}, testutil.F64)
	v := rep.Values()
	assert.Equal(t, full.NDCG, v["ndcg@10"])
	assert.Equal(t, d1.NDCG, v["ndcg@10/d1"])
	assert.Contains(t, v, "recall@5/d1")

	// Depth below the corpus: relevant documents outside the kept top
	// still count in recall and the ideal DCG.
	rep2, err := EvaluateRetrieval(set, table(t, vs), Options{RecallAt: []int{1}, Cutoff: 2})
	require.NoError(t, err)
	r1b, _ := rep2.Dims[0].RecallAt(1)
	testutil.AssertClose(t, "recall@1 depth 2", []float64{r1b}, []float64{0.5 / 3}, testutil.F64)
	testutil.AssertClose(t, "ndcg@2 depth 2", []float64{rep2.Dims[0].NDCG}, []float64{(l2(2) + 1/(2+l2(2))) / 3}, testutil.F64)

	_, err = EvaluateRetrieval(set, table(t, vs), Options{Dims: []int{3}})
	assert.ErrorContains(t, err, "MRL dimension 3 is outside 1..2")
}

func TestReadRetrievalErrors(t *testing.T) {
	corpus := write(t, "c.jsonl", `{"id":"a","text":"A"}`+"\n")
	queries := write(t, "q.jsonl", `{"id":"q","text":"Q"}`+"\n")
	cases := []struct{ name, corpus, queries, qrels, want string }{
		{"unknown doc", corpus, queries, `{"query_id":"q","doc_id":"zz","relevance":1}`, `q.tsv:1: doc_id "zz" is not in`},
		{"unknown query", corpus, queries, "q\ta\t1\nx\ta\t1\n", `q.tsv:2: query_id "x" is not in`},
		{"bad relevance", corpus, queries, "q\ta\t1\nq\ta\tyes\n", `q.tsv:2: relevance "yes" is not a number`},
		{"columns", corpus, queries, "q a\n", "q.tsv:1: want 3 columns"},
		{"empty qrels", corpus, queries, "query-id\tcorpus-id\tscore\n", "no qrels rows"},
		{"no text", write(t, "c2.jsonl", `{"id":"a"}`+"\n"), queries, "q\ta\t1\n", `c2.jsonl:1: missing field "text"`},
		{"dup id", write(t, "c3.jsonl", `{"id":"a","text":"x"}`+"\n"+`{"id":"a","text":"y"}`+"\n"), queries, "q\ta\t1\n", `c3.jsonl:2: document id "a" repeats`},
		{"not json", write(t, "c4.jsonl", "nope\n"), queries, "q\ta\t1\n", "c4.jsonl:1: not a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			qr := write(t, "q.tsv", c.qrels)
			_, err := ReadRetrieval(c.corpus, c.queries, qr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := ReadRetrieval(filepath.Join(t.TempDir(), "missing.jsonl"), queries, corpus)
	assert.ErrorContains(t, err, "missing.jsonl")
}

func TestFromEmbedData(t *testing.T) {
	p := write(t, "e.jsonl", `{"query":"q1","pos":["p1"],"neg":["n1","shared"]}
{"query":"q2","pos":["p2","shared"],"neg":["n2"],"prompt_for_query":"Q: "}
`)
	set, err := ReadEmbedData(p)
	require.NoError(t, err)
	assert.Equal(t, []string{"p1", "n1", "shared", "p2", "n2"}, set.Docs)
	assert.Equal(t, []string{"q1", "Q: q2"}, set.Queries)
	assert.Equal(t, []map[int]float64{{0: 1}, {3: 1, 2: 1}}, set.Qrels)
	_, err = ReadEmbedData(write(t, "bad.jsonl", `{"query":"q1"}`+"\n"))
	assert.ErrorContains(t, err, "bad.jsonl:1")
}

func TestReadSTS(t *testing.T) {
	dir := filepath.Join(testdata, "sts-benchmark")
	zh, err := ReadSTS(filepath.Join(dir, "zh-STS-B.test.data"), "")
	require.NoError(t, err)
	assert.Len(t, zh, 1361)
	assert.Equal(t, STSPair{S1: "一个女孩在给她的头发做发型。", S2: "一个女孩在梳头。", Score: 2}, zh[0])
	en := filepath.Join(dir, "en-stsbenchmark.tsv.gz")
	test, err := ReadSTS(en, "test")
	require.NoError(t, err)
	assert.Len(t, test, 1379)
	all := 0
	for _, s := range []string{"train", "dev", "test"} {
		ps, err := ReadSTS(en, s)
		require.NoError(t, err)
		all += len(ps)
	}
	assert.Equal(t, 8628, all)
	_, err = ReadSTS(en, "")
	assert.ErrorContains(t, err, "has splits [dev test train]: choose one")
	_, err = ReadSTS(en, "val")
	assert.ErrorContains(t, err, `no rows of split "val"`)
	_, err = ReadSTS(filepath.Join(dir, "zh-STS-B.test.data"), "test")
	assert.ErrorContains(t, err, "has no split column")
	_, err = ReadSTS(write(t, "s.data", "a\tb\t1\nc\td\n"), "")
	assert.ErrorContains(t, err, "s.data:2: want 3 tab-separated columns")
	_, err = ReadSTS(write(t, "s.data", "a\tb\t1\nc\td\tx\n"), "")
	assert.ErrorContains(t, err, `s.data:2: score "x" is not a number`)
}

// hashBOW is a bag-of-words encoder: each BM25 term hashed into one of
// dim buckets with weight idf (a lexical baseline needing no model).
func hashBOW(dim int, idf map[string]float64) EncodeFunc {
	return func(texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, s := range texts {
			v := make([]float32, dim)
			for _, w := range metrics.Analyze(s) {
				h := fnv.New32a()
				h.Write([]byte(w))
				v[h.Sum32()%uint32(dim)] += float32(idf[w])
			}
			out[i] = v
		}
		return out, nil
	}
}

// cranfieldFiles writes Cranfield as corpus / queries JSONL and qrels
// JSONL with graded labels (CranfieldLabel).
func cranfieldFiles(t *testing.T) (corpus, queries, qrels string, c *data.Cranfield) {
	c, err := data.LoadCranfield(filepath.Join(testdata, "cranfield"))
	require.NoError(t, err)
	dir := t.TempDir()
	var cb, qb, rb strings.Builder
	enc := func(b *strings.Builder, v any) {
		j, err := json.Marshal(v)
		require.NoError(t, err)
		b.Write(j)
		b.WriteByte('\n')
	}
	for _, d := range c.Docs {
		enc(&cb, map[string]any{"id": d.ID, "title": d.Title, "text": d.Text})
	}
	for _, q := range c.Queries {
		enc(&qb, map[string]any{"id": q.ID, "text": q.Text})
		for doc, code := range c.Qrels[q.ID] {
			enc(&rb, map[string]any{"query_id": q.ID, "doc_id": doc, "relevance": data.CranfieldLabel(code)})
		}
	}
	corpus, queries, qrels = filepath.Join(dir, "corpus.jsonl"), filepath.Join(dir, "queries.jsonl"), filepath.Join(dir, "qrels.jsonl")
	require.NoError(t, os.WriteFile(corpus, []byte(cb.String()), 0o644))
	require.NoError(t, os.WriteFile(queries, []byte(qb.String()), 0o644))
	require.NoError(t, os.WriteFile(qrels, []byte(rb.String()), 0o644))
	return corpus, queries, qrels, c
}

func TestRetrievalCranfield(t *testing.T) {
	corpus, queries, qrels, _ := cranfieldFiles(t)
	set, err := ReadRetrieval(corpus, queries, qrels)
	require.NoError(t, err)
	require.Len(t, set.Docs, 1400)
	require.Len(t, set.Queries, 225)

	// An oracle: document j is the unit vector e_j and a query is the sum
	// of its judged documents' e_j weighted by relevance, so cosine order
	// is relevance order.
	docIdx := map[string]int{}
	for i, d := range set.Docs {
		docIdx[d] = i
	}
	oracle := func(texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, s := range texts {
			v := make([]float32, len(set.Docs))
			if j, ok := docIdx[s]; ok {
				v[j] = 1
			} else {
				for qi, q := range set.Queries {
					if q == s {
						for j, rel := range set.Qrels[qi] {
							v[j] = float32(rel)
						}
					}
				}
			}
			out[i] = v
		}
		return out, nil
	}
	rep, err := EvaluateRetrieval(set, oracle, Options{})
	require.NoError(t, err)
	o := rep.Dims[0]
	assert.Equal(t, 225, o.Queries)
	testutil.AssertClose(t, "oracle", []float64{o.NDCG, o.MRR}, []float64{1, 1}, testutil.F64)
	r100, _ := o.RecallAt(100)
	assert.Equal(t, 1.0, r100)

	// A hashed bag of words weighted by idf ranks far above chance and
	// near BM25 over the whole corpus; a random encoder is near chance.
	df := map[string]int{}
	var cands []string
	for _, d := range set.Docs {
		seen := map[string]bool{}
		for _, w := range metrics.Analyze(d) {
			if !seen[w] {
				df[w]++
				seen[w] = true
			}
		}
		cands = append(cands, d)
	}
	idf := map[string]float64{}
	for w, n := range df {
		idf[w] = math.Log(1 + (1400-float64(n)+0.5)/(float64(n)+0.5))
	}
	bow, err := EvaluateRetrieval(set, hashBOW(4096, idf), Options{Dims: []int{256}})
	require.NoError(t, err)
	all := make([][]string, len(set.Queries))
	for i := range all {
		all[i] = cands
	}
	bm := metrics.BM25Scores(set.Queries, all, metrics.BM25Params{})
	qs := make([]metrics.Query, len(set.Queries))
	for i := range qs {
		qs[i].Scores = bm[i]
		qs[i].Labels = make([]float64, len(set.Docs))
		for j, rel := range set.Qrels[i] {
			qs[i].Labels[j] = rel
		}
	}
	bmRes := metrics.Evaluate(qs, metrics.Options{})
	rnd := testutil.NewRand(1)
	random := func(texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i := range out {
			out[i] = testutil.Normal32(rnd, 64, 1)
		}
		return out, nil
	}
	rr, err := EvaluateRetrieval(set, random, Options{})
	require.NoError(t, err)
	full := bow.Dims[1]
	t.Logf("Cranfield nDCG@10: BM25 %.4f, hashed idf bag of words %.4f (d256 %.4f), random %.4f", bmRes.NDCG, full.NDCG, bow.Dims[0].NDCG, rr.Dims[0].NDCG)
	for _, d := range append(bow.Dims, rr.Dims...) {
		for _, x := range []float64{d.NDCG, d.MRR} {
			assert.True(t, x >= 0 && x <= 1, "metric %v outside [0,1]", x)
		}
	}
	assert.Greater(t, bmRes.NDCG, 0.3)
	assert.Greater(t, full.NDCG, 0.6*bmRes.NDCG)
	assert.Less(t, rr.Dims[0].NDCG, 0.1)
	assert.Less(t, bow.Dims[0].NDCG, full.NDCG+0.05)
}

func TestEvaluateSTS(t *testing.T) {
	pairs := []STSPair{{"a", "b", 5}, {"a", "c", 3}, {"a", "d", 0}, {"b", "d", 1}}
	vs := map[string][]float32{"a": {1, 0, 0}, "b": {1, 0.1, 5}, "c": {1, 1, -3}, "d": {-1, 0, 0.5}}
	rep, err := EvaluateSTS(pairs, table(t, vs), Options{Dims: []int{1, 2}})
	require.NoError(t, err)
	require.Len(t, rep.Dims, 3)
	for _, d := range rep.Dims {
		// Reference: cosines in float64 from the definition.
		cos := make([]float64, len(pairs))
		for i, p := range pairs {
			a, b := vs[p.S1][:d.Dim], vs[p.S2][:d.Dim]
			var ab, aa, bb float64
			for k := range a {
				ab += float64(a[k]) * float64(b[k])
				aa += float64(a[k]) * float64(a[k])
				bb += float64(b[k]) * float64(b[k])
			}
			cos[i] = ab / math.Sqrt(aa*bb)
		}
		gold := []float64{5, 3, 0, 1}
		testutil.AssertClose(t, fmt.Sprintf("d%d", d.Dim), []float64{d.Spearman, d.Pearson},
			[]float64{stat.Correlation(refRanks(cos), refRanks(gold), nil), stat.Correlation(cos, gold, nil)}, testutil.F64)
	}
	assert.Contains(t, rep.Values(), "sts_spearman/d1")
	assert.Contains(t, rep.Values(), "sts_spearman")
	_, err = EvaluateSTS(pairs[:1], table(t, vs), Options{})
	assert.Error(t, err)
	failing := func([]string) ([][]float32, error) { return nil, fmt.Errorf("boom") }
	_, err = EvaluateSTS(pairs, failing, Options{})
	assert.ErrorContains(t, err, "boom")
}
