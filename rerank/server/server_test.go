package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/rerank"
)

// modelDir copies a golden model and adds a 512-token WordPiece vocabulary
// (golden.TextModelDir).
func modelDir(t testing.TB, name string) string {
	dir, err := golden.TextModelDir(t.TempDir(), name)
	require.NoError(t, err)
	return dir
}

func text(seed, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("w%d", 200+(seed*13+i*7)%300)
	}
	return strings.Join(w, " ")
}

func post(t testing.TB, url, key string, body any) (int, []byte) {
	var r io.Reader
	switch b := body.(type) {
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest("POST", url, r)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func newReranker(t testing.TB) rerank.Reranker {
	r, err := rerank.Load(modelDir(t, "bert-cross-encoder"), rerank.LoadOptions{})
	require.NoError(t, err)
	return r
}

// TestConcurrentClientsMatchLibrary: 16 clients at once (micro-batched
// together) get the library's scores, ranked.
func TestConcurrentClientsMatchLibrary(t *testing.T) {
	rr := newReranker(t)
	s := New(rr, nil, Config{MaxBatch: 16, MaxWait: 5 * time.Millisecond, APIKey: "k"})
	ts := httptest.NewServer(s.Handler())
	defer func() { ts.Close(); s.Close() }()
	var wg sync.WaitGroup
	for c := 0; c < 16; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			q := text(c, 3)
			docs := []string{text(c+1, 5), text(c+2, 9), text(c+3, 2+c)}
			want, err := rr.Rank(context.Background(), q, docs, rerank.Options{Normalize: true})
			assert.NoError(t, err)
			code, body := post(t, ts.URL+"/rerank", "k", map[string]any{"query": q, "texts": docs, "return_text": c%2 == 0})
			assert.Equal(t, 200, code, string(body))
			var got []RerankResult
			assert.NoError(t, json.Unmarshal(body, &got))
			assert.Len(t, got, 3)
			for _, g := range got {
				// Micro-batches pad rows to other lengths than the
				// library call: equal up to float32 rounding.
				s, _ := want.ScoreByDocID(g.Index)
				testutil.AssertClose(t, "score", []float32{g.Score}, []float32{s}, testutil.F32)
				if c%2 == 0 {
					assert.Equal(t, docs[g.Index], *g.Text)
				} else {
					assert.Nil(t, g.Text)
				}
			}
		}(c)
	}
	wg.Wait()
	// raw scores
	q, docs := text(1, 3), []string{text(2, 4)}
	want, _ := rr.ComputeScore(context.Background(), []rerank.Pair{{Query: q, Doc: docs[0]}}, rerank.Options{})
	code, body := post(t, ts.URL+"/rerank", "k", map[string]any{"query": q, "texts": docs, "raw_scores": true})
	require.Equal(t, 200, code)
	var got []RerankResult
	require.NoError(t, json.Unmarshal(body, &got))
	testutil.AssertClose(t, "raw score", []float32{got[0].Score}, want, testutil.F32)

	resp, err := http.Get(ts.URL + "/metrics")
	require.NoError(t, err)
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)
	req, _ := http.NewRequest("GET", ts.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer k")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	m, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ragr_requests_total{route="/rerank",code="200"} 17`, "ragr_request_duration_seconds_bucket", "ragr_batch_size_count", "ragr_queue_depth 0"} {
		assert.Contains(t, string(m), want)
	}
}

// TestErrors: each bad request gets its documented status and a JSON
// error naming the problem.
func TestErrors(t *testing.T) {
	s := New(newReranker(t), nil, Config{MaxDocs: 3, MaxTokens: 8, MaxBodyBytes: 400, APIKey: "secret"})
	ts := httptest.NewServer(s.Handler())
	defer func() { ts.Close(); s.Close() }()
	for _, tc := range []struct {
		name, path, key string
		body            any
		code            int
		msg             string
	}{
		{"malformed JSON", "/rerank", "secret", `{"query": "w5", "texts": [`, 400, "malformed JSON"},
		{"wrong type", "/rerank", "secret", `{"query": 5, "texts": ["w6"]}`, 400, "malformed JSON"},
		{"no query", "/rerank", "secret", map[string]any{"texts": []string{"w6"}}, 422, `"query" is missing or empty`},
		{"no texts", "/rerank", "secret", map[string]any{"query": "w5", "texts": []string{}}, 422, `"texts" is empty`},
		{"empty doc", "/rerank", "secret", map[string]any{"query": "w5", "texts": []string{"w6", " "}}, 422, "texts[1] is empty"},
		{"too many docs", "/rerank", "secret", map[string]any{"query": "w5", "texts": []string{"w1", "w2", "w3", "w4"}}, 422, "max_docs = 3"},
		{"too many tokens", "/rerank", "secret", map[string]any{"query": "w5", "texts": []string{text(1, 9)}}, 422, "max_tokens = 8"},
		{"oversized body", "/rerank", "secret", map[string]any{"query": "w5", "texts": []string{strings.Repeat("w6 ", 200)}}, 413, "max_body_bytes"},
		{"wrong key", "/rerank", "nope", map[string]any{"query": "w5", "texts": []string{"w6"}}, 401, "bearer token"},
		{"no key", "/rerank", "", map[string]any{"query": "w5", "texts": []string{"w6"}}, 401, "bearer token"},
		{"no encoder", "/embed", "secret", map[string]any{"inputs": "w5"}, 503, "use /rerank"},
		{"unknown route", "/nope", "secret", map[string]any{}, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(t, ts.URL+tc.path, tc.key, tc.body)
			assert.Equal(t, tc.code, code, string(body))
			if tc.msg != "" {
				var e apiError
				require.NoError(t, json.Unmarshal(body, &e), string(body))
				assert.Contains(t, e.Error, tc.msg)
				assert.NotEmpty(t, e.ErrorType)
			}
		})
	}
	// truncate lifts the token limit; /health needs no key.
	code, body := post(t, ts.URL+"/rerank", "secret", map[string]any{"query": "w5", "texts": []string{text(1, 9)}, "truncate": true})
	assert.Equal(t, 200, code, string(body))
	resp, err := http.Get(ts.URL + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

// TestEmbedRoutes: /embed and /v1/embeddings give the library's vectors.
func TestEmbedRoutes(t *testing.T) {
	enc, err := rerank.LoadEncoder(modelDir(t, "bert-tiny"), rerank.EncoderOptions{})
	require.NoError(t, err)
	s := New(nil, enc, Config{ModelName: "tiny"})
	ts := httptest.NewServer(s.Handler())
	defer func() { ts.Close(); s.Close() }()
	texts := []string{text(1, 4), text(2, 7)}
	want, err := enc.Encode(context.Background(), texts, rerank.EncodeOptions{Normalize: true})
	require.NoError(t, err)
	code, body := post(t, ts.URL+"/embed", "", map[string]any{"inputs": texts})
	require.Equal(t, 200, code, string(body))
	var got [][]float32
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, want, got)
	code, body = post(t, ts.URL+"/embed", "", map[string]any{"inputs": texts[0], "dimensions": 8, "normalize": false})
	require.Equal(t, 200, code, string(body))
	require.NoError(t, json.Unmarshal(body, &got))
	require.Len(t, got, 1)
	assert.Len(t, got[0], 8)
	code, body = post(t, ts.URL+"/v1/embeddings", "", map[string]any{"input": texts, "model": "m"})
	require.Equal(t, 200, code, string(body))
	var oa openAIResp
	require.NoError(t, json.Unmarshal(body, &oa))
	assert.Equal(t, "list", oa.Object)
	require.Len(t, oa.Data, 2)
	assert.Equal(t, want[1], oa.Data[1].Embedding)
	assert.Equal(t, 1, oa.Data[1].Index)
	assert.Equal(t, 4+2+7+2, oa.Usage.PromptTokens)
	code, _ = post(t, ts.URL+"/rerank", "", map[string]any{"query": "w1", "texts": []string{"w2"}})
	assert.Equal(t, 503, code)
}

// TestShutdownUnderLoad: every request accepted before shutdown completes
// with the library's scores.
func TestShutdownUnderLoad(t *testing.T) {
	rr := newReranker(t)
	const n = 24
	accepted := make(chan struct{}, n)
	s := New(rr, nil, Config{MaxBatch: 4, MaxWait: time.Millisecond})
	s.onAccept = func() { accepted <- struct{}{} }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: s.Handler()}
	go hs.Serve(ln)
	url := "http://" + ln.Addr().String() + "/rerank"
	type res struct {
		code  int
		body  []byte
		query string
		doc   string
	}
	out := make(chan res, n)
	for c := 0; c < n; c++ {
		go func(c int) {
			q, d := text(c, 3), text(c+5, 20)
			code, body := post(t, url, "", map[string]any{"query": q, "texts": []string{d}, "raw_scores": true})
			out <- res{code, body, q, d}
		}(c)
	}
	for i := 0; i < n; i++ {
		<-accepted
	}
	require.NoError(t, hs.Shutdown(context.Background()))
	s.Close()
	for i := 0; i < n; i++ {
		r := <-out
		require.Equal(t, 200, r.code, string(r.body))
		var got []RerankResult
		require.NoError(t, json.Unmarshal(r.body, &got))
		want, err := rr.ComputeScore(context.Background(), []rerank.Pair{{Query: r.query, Doc: r.doc}}, rerank.Options{})
		require.NoError(t, err)
		testutil.AssertClose(t, "score", []float32{got[0].Score}, want, testutil.F32)
	}
	// After shutdown the port is closed.
	_, err = http.Post(url, "application/json", strings.NewReader("{}"))
	assert.Error(t, err)
}
