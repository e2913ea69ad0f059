package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/golden"
)

// goldenTextDir copies a golden model and adds a 512-token vocabulary
// (golden.TextModelDir).
func goldenTextDir(t *testing.T, name string) string {
	dir, err := golden.TextModelDir(t.TempDir(), name)
	require.NoError(t, err)
	return dir
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRerankCommand(t *testing.T) {
	model := goldenTextDir(t, "bert-cross-encoder")
	docs := filepath.Join(t.TempDir(), "docs.jsonl")
	require.NoError(t, os.WriteFile(docs, []byte(`{"id": "a", "text": "w300 w301 w302"}
"w400 w401"

{"id": 7, "text": "w210 w211 w212 w213"}
`), 0o644))
	code, out, errs := runCLI("rerank", "--model", model, "--query", "w250 w251", "--docs", docs)
	require.Equal(t, 0, code, errs)
	var res struct {
		Query   string
		Results []struct {
			Index int
			ID    any
			Score float32
			Text  string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Len(t, res.Results, 3)
	assert.GreaterOrEqual(t, res.Results[0].Score, res.Results[1].Score)
	code, out, errs = runCLI("rerank", "--model", model, "--query", "w250", "--docs", docs, "--format", "table", "--top-k", "2", "--normalize")
	require.Equal(t, 0, code, errs)
	assert.Equal(t, 3, strings.Count(out, "\n"), out)
	assert.Contains(t, out, "rank")

	stdinReader = strings.NewReader(`["w300", "w301 w5"]`)
	defer func() { stdinReader = os.Stdin }()
	code, _, errs = runCLI("rerank", "--model", model, "--query", "w250", "--docs", "-")
	require.Equal(t, 0, code, errs)

	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`["ok", 5]`), 0o644))
	empty := filepath.Join(t.TempDir(), "empty.json")
	require.NoError(t, os.WriteFile(empty, []byte(`["ok", "  "]`), 0o644))
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"rerank", "--model", model, "--docs", docs}, 2, "required"},
		{[]string{"rerank", "--model", model, "--query", "q", "--docs", bad}, 2, "element 1"},
		{[]string{"rerank", "--model", model, "--query", "q", "--docs", empty}, 2, "empty document"},
		{[]string{"rerank", "--model", model, "--query", "q", "--docs", "/nonexistent"}, 2, "no such file"},
		{[]string{"rerank", "--model", model, "--query", "q", "--docs", docs, "--format", "xml"}, 2, "--format"},
		{[]string{"rerank", "--model", model, "--query", "q", "--docs", docs, "--strategy", "x"}, 2, "strategy"},
		{[]string{"rerank", "--model", model, "--query", "q", "--docs", docs, "--max-length", "3"}, 2, "max_length 3"},
		{[]string{"rerank", "--model", t.TempDir(), "--query", "q", "--docs", docs}, 1, "config"},
		{[]string{"rerank", "--bogus"}, 2, "bogus"},
	} {
		code, _, errs := runCLI(tc.args...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, errs)
		assert.Contains(t, errs, tc.msg, "%v", tc.args)
	}
	code, _, errs = runCLI("rerank", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, errs, "Examples:")
}

func TestEmbedCommand(t *testing.T) {
	model := goldenTextDir(t, "bert-tiny")
	stdinReader = strings.NewReader(`["w300 w301", {"id": "x", "text": "w5"}]`)
	defer func() { stdinReader = os.Stdin }()
	code, out, errs := runCLI("embed", "--model", model, "--texts", "-", "--dim", "8")
	require.Equal(t, 0, code, errs)
	var res struct {
		Dim        int
		Embeddings []struct {
			Index     int
			ID        any
			Embedding []float32
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	assert.Equal(t, 8, res.Dim)
	require.Len(t, res.Embeddings, 2)
	assert.Equal(t, "x", res.Embeddings[1].ID)
	code, _, errs = runCLI("embed", "--model", model, "--texts", "-", "--pooling", "max")
	assert.Equal(t, 2, code, errs)
	code, _, _ = runCLI("embed", "--help")
	assert.Equal(t, 0, code)
}

func TestServeCommand(t *testing.T) {
	// A directory that fails to load exits 1 before listening.
	code, _, errs := runCLI("serve", "--model", t.TempDir(), "--addr", "127.0.0.1:0")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "loading")
	code, _, _ = runCLI("serve", "--model", "x", "--addr", "nope")
	assert.Equal(t, 2, code)
	code, _, _ = runCLI("serve", "--help")
	assert.Equal(t, 0, code)

	model := goldenTextDir(t, "bert-cross-encoder")
	key := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(key, []byte("s3cret\n"), 0o600))
	ready := make(chan string, 1)
	var stop func()
	serveReady = func(addr string, s func()) { stop = s; ready <- addr }
	defer func() { serveReady = nil }()
	done := make(chan int, 1)
	go func() {
		c, _, _ := runCLI("serve", "--model", model, "--addr", "127.0.0.1:0", "--api-key-file", key)
		done <- c
	}()
	addr := <-ready
	req, _ := http.NewRequest("POST", "http://"+addr+"/rerank", strings.NewReader(`{"query":"w5","texts":["w6","w7 w8"]}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, string(body))
	stop()
	assert.Equal(t, 0, <-done)
}

// ragr eval reranker scores the families the trainer does not build
// (ColBERT here) through the rerank package, and says clearly when a
// directory holds no reranker at all.
func TestEvalRerankerColBERT(t *testing.T) {
	model := goldenTextDir(t, "colbert")
	lin, err := os.ReadFile(filepath.Join(golden.Root(), "colbert", "colbert_linear.safetensors"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(model, "colbert_linear.safetensors"), lin, 0o644))
	dataPath := filepath.Join(t.TempDir(), "eval.jsonl")
	require.NoError(t, os.WriteFile(dataPath, []byte(`{"query": "w250 w251", "pos": ["w250 w251 w252"], "neg": ["w400 w401", "w77 w78 w79"]}
{"query": "w300", "pos": ["w300 w301"], "neg": ["w12", "w13 w14"]}
`), 0o644))
	code, out, errs := runCLI("eval", "reranker", "--model", model, "--data", dataPath, "--max-len", "32")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "2 queries (colbert reranker)")
	assert.Regexp(t, `model: MAP [0-9.]+ +MRR@10`, out)
	assert.Contains(t, out, "BM25:  MAP")

	// a bare encoder is no reranker: one clear error
	enc := goldenTextDir(t, "bert-tiny")
	code, _, errs = runCLI("eval", "reranker", "--model", enc, "--data", dataPath)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errs, "is not a reranker ragr knows")
}
