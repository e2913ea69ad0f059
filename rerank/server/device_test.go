package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/rerank"
	"github.com/ragr-dev/ragr/tensor"
)

// The server with its models on a device (the simulated accelerator):
// concurrent clients, micro-batched together, get the CPU library's
// scores (up to the rounding of other padding), and /embed the CPU's
// vectors bit for bit (one request is one library call).
func TestServeOnDevice(t *testing.T) {
	d := tensor.Sim(0)
	require.NoError(t, rerank.SetPrecision(d, rerank.FP32))
	dir := modelDir(t, "bert-cross-encoder")
	cpu, err := rerank.Load(dir, rerank.LoadOptions{})
	require.NoError(t, err)
	dev, err := rerank.Load(dir, rerank.LoadOptions{Device: d})
	require.NoError(t, err)
	s := New(dev, nil, Config{MaxBatch: 16, MaxWait: 5 * time.Millisecond})
	ts := httptest.NewServer(s.Handler())
	defer func() { ts.Close(); s.Close() }()
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			q, docs := text(c, 3), []string{text(c+1, 5), text(c+2, 9), text(c+3, 2+c)}
			want, err := cpu.Rank(context.Background(), q, docs, rerank.Options{Normalize: true})
			assert.NoError(t, err)
			code, body := post(t, ts.URL+"/rerank", "", map[string]any{"query": q, "texts": docs})
			assert.Equal(t, 200, code, string(body))
			var got []RerankResult
			assert.NoError(t, json.Unmarshal(body, &got))
			assert.Len(t, got, 3)
			for _, g := range got {
				s, _ := want.ScoreByDocID(g.Index)
				testutil.AssertClose(t, "score", []float32{g.Score}, []float32{s}, testutil.F32)
			}
		}(c)
	}
	wg.Wait()

	edir := modelDir(t, "bert-tiny")
	ecpu, err := rerank.LoadEncoder(edir, rerank.EncoderOptions{})
	require.NoError(t, err)
	edev, err := rerank.LoadEncoder(edir, rerank.EncoderOptions{Device: d})
	require.NoError(t, err)
	es := New(nil, edev, Config{})
	ets := httptest.NewServer(es.Handler())
	defer func() { ets.Close(); es.Close() }()
	texts := []string{text(1, 4), text(2, 7), text(3, 1)}
	want, err := ecpu.Encode(context.Background(), texts, rerank.EncodeOptions{Normalize: true, Dim: 8})
	require.NoError(t, err)
	code, body := post(t, ets.URL+"/embed", "", map[string]any{"inputs": texts, "dimensions": 8})
	require.Equal(t, 200, code, string(body))
	var got [][]float32
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, want, got)
}
