package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ragr-dev/ragr/rerank"
	"github.com/ragr-dev/ragr/rerank/server"
	"github.com/ragr-dev/ragr/tensor"
)

const serveUsage = `Usage: ragr serve --model DIR [--addr HOST:PORT] [flags]

Serves the model in DIR over HTTP: a reranker on POST /rerank, an
embedding model on POST /embed and POST /v1/embeddings (text-embeddings-
inference and OpenAI schemas), GET /health and GET /metrics (Prometheus).
Requests are micro-batched across clients. The model is loaded before the
server listens: a directory that fails to load exits with status 1.
SIGINT / SIGTERM stop accepting connections and finish in-flight requests.
--device cuda serves from the GPU in fp32; --precision bf16 adds bf16
matmuls and fused attention.

Examples:
  ragr serve --model ./bge-reranker-base --addr 127.0.0.1:8080
  ragr serve --model ./bge-small-en --addr :8080 --api-key-file key.txt --max-batch 64
  curl -s localhost:8080/rerank -d '{"query":"what is BM25","texts":["a","b"]}'

Flags:
`

// serveReady, when set (tests), receives the listening address.
var serveReady func(addr string, stop func())

func serveCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ragr serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "model directory (required)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address HOST:PORT")
	keyFile := fs.String("api-key-file", "", "file holding the bearer token clients must send")
	maxBatch := fs.Int("max-batch", 32, "most pairs / texts per forward batch")
	maxWait := fs.Duration("max-wait", 2*time.Millisecond, "how long to wait to fill a batch")
	queue := fs.Int("queue", 256, "most requests waiting (more get 429)")
	maxBody := fs.Int64("max-body-bytes", 2<<20, "largest request body (more get 413)")
	maxDocs := fs.Int("max-docs", 1000, "most texts per request (more get 422)")
	maxTokens := fs.Int("max-tokens", 512, "most tokens per text without truncate (more get 422)")
	maxLen := fs.Int("max-length", 0, "tokens per model row (0: model default)")
	timeout := fs.Duration("timeout", 60*time.Second, "per-request timeout (504 after)")
	df := addDeviceFlags(fs)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage); fs.PrintDefaults() }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" {
		fs.Usage()
		return fmt.Errorf("%w: --model is required", errUsage)
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return fmt.Errorf("%w: --addr %q: %v", errUsage, *addr, err)
	}
	if *maxBatch < 1 || *queue < 1 || *maxBody < 1 || *maxDocs < 1 || *maxTokens < 1 || *timeout <= 0 || *maxLen < 0 {
		return fmt.Errorf("%w: --max-batch, --queue, --max-body-bytes, --max-docs, --max-tokens and --timeout must be positive", errUsage)
	}
	dev, err := df.setup()
	if err != nil {
		return err
	}
	cfg := server.Config{MaxBatch: *maxBatch, MaxWait: *maxWait, QueueSize: *queue, MaxBodyBytes: *maxBody, MaxDocs: *maxDocs,
		MaxTokens: *maxTokens, Timeout: *timeout, ModelName: filepath.Base(*model), Options: rerank.Options{MaxLength: *maxLen}}
	if *maxWait < 0 {
		cfg.MaxWait = -1
	}
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("%w: --api-key-file: %v", errUsage, err)
		}
		cfg.APIKey = strings.TrimSpace(string(b))
		if cfg.APIKey == "" {
			return fmt.Errorf("%w: --api-key-file %s is empty", errUsage, *keyFile)
		}
	}
	rr, rerr := rerank.Load(*model, rerank.LoadOptions{MaxLength: *maxLen, Device: dev})
	var enc *rerank.Encoder
	if rerr != nil {
		var eerr error
		enc, eerr = rerank.LoadEncoder(*model, rerank.EncoderOptions{MaxLength: *maxLen, Device: dev})
		if eerr != nil {
			return fmt.Errorf("loading %s: as a reranker: %v; as an embedding model: %v", *model, rerr, eerr)
		}
	}
	s := server.New(rr, enc, cfg)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		s.Close()
		return err
	}
	kind := "reranker (" + familyOf(rr) + ")"
	if enc != nil {
		kind = "embedding model"
	}
	if dev.Kind != tensor.KindCPU {
		kind += fmt.Sprintf(" on %s (%s)", dev, *df.precision)
	}
	fmt.Fprintf(stderr, "ragr serve: %s %s on http://%s\n", kind, *model, ln.Addr())
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if serveReady != nil {
		serveReady(ln.Addr().String(), stop)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "ragr serve: shutting down, finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), *timeout+5*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	s.Close()
	if e := <-errc; err == nil && !errors.Is(e, http.ErrServerClosed) {
		err = e
	}
	return err
}

func familyOf(r rerank.Reranker) string {
	if r == nil {
		return ""
	}
	return r.Family()
}
