package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/rerank"
)

// Config holds the service limits.
type Config struct {
	// MaxBatch is the most pairs / texts per library call (default 32).
	MaxBatch int
	// MaxWait is how long the batcher waits for more requests after the
	// first (default 2ms; negative: no wait).
	MaxWait time.Duration
	// QueueSize is the most requests waiting (default 256); more get 429.
	QueueSize int
	// MaxBodyBytes limits request bodies (default 2 MiB); more get 413.
	MaxBodyBytes int64
	// MaxDocs is the most texts per request (default 1000); more get 422.
	MaxDocs int
	// MaxTokens is the most tokens per text without "truncate": true
	// (default 512); more get 422.
	MaxTokens int
	// Timeout bounds each request (default 60s); past it 504.
	Timeout time.Duration
	// APIKey, when set, is the bearer token every request but /health
	// must present.
	APIKey string
	// ModelName is reported by /v1/embeddings.
	ModelName string
	// Options are the base reranking options (MaxLength, Strategy, …);
	// BatchSize is set from MaxBatch.
	Options rerank.Options
}

func (c *Config) defaults() {
	if c.MaxBatch <= 0 {
		c.MaxBatch = 32
	}
	if c.MaxWait == 0 {
		c.MaxWait = 2 * time.Millisecond
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 256
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 2 << 20
	}
	if c.MaxDocs <= 0 {
		c.MaxDocs = 1000
	}
	if c.MaxTokens <= 0 {
		c.MaxTokens = 512
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
}

// Server is the HTTP service. Create it with New.
type Server struct {
	cfg     Config
	rr      rerank.Reranker
	enc     *rerank.Encoder
	tok     *tokenizer.Tokenizer
	queue   chan *job
	mu      sync.Mutex
	closing bool
	done    chan struct{}
	wg      sync.WaitGroup // accepted jobs
	m       *metrics
	mux     *http.ServeMux
	// onAccept, when set (tests), is called after a job is queued.
	onAccept func()
}

type job struct {
	ctx    context.Context
	embed  bool
	key    string
	pairs  []rerank.Pair
	texts  []string
	ropts  rerank.Options
	eopts  rerank.EncodeOptions
	result chan jobResult
}

type jobResult struct {
	scores []float32
	vecs   [][]float32
	err    error
}

// New returns a Server over a reranker and/or an encoder (either may be
// nil, not both) and starts its batcher.
func New(rr rerank.Reranker, enc *rerank.Encoder, cfg Config) *Server {
	if rr == nil && enc == nil {
		panic("server.New: neither a reranker nor an encoder")
	}
	cfg.defaults()
	s := &Server{cfg: cfg, rr: rr, enc: enc, queue: make(chan *job, cfg.QueueSize), done: make(chan struct{}), m: newMetrics()}
	if t, ok := rr.(interface{ Tokenizer() *tokenizer.Tokenizer }); ok && rr != nil {
		s.tok = t.Tokenizer()
	} else if enc != nil {
		s.tok = enc.Tokenizer()
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /rerank", s.handleRerank)
	s.mux.HandleFunc("POST /embed", s.handleEmbed)
	s.mux.HandleFunc("POST /v1/embeddings", s.handleOpenAI)
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /metrics", s.m.write(s))
	go s.batcher()
	return s
}

// Handler returns the HTTP handler (auth, limits, metrics around the
// routes).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, code: 200}
		route := r.URL.Path
		switch route {
		case "/rerank", "/embed", "/v1/embeddings", "/health", "/metrics":
		default:
			route = "other"
		}
		defer func() { s.m.observe(route, rw.code, time.Since(start)) }()
		if s.cfg.APIKey != "" && route != "/health" {
			h := r.Header.Get("Authorization")
			tok, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.APIKey)) != 1 {
				rw.Header().Set("WWW-Authenticate", `Bearer realm="ragr"`)
				writeErr(rw, http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token (Authorization: Bearer <key>)")
				return
			}
		}
		r.Body = http.MaxBytesReader(rw, r.Body, s.cfg.MaxBodyBytes)
		s.mux.ServeHTTP(rw, r)
	})
}

// Close stops accepting jobs, waits for the accepted ones and stops the
// batcher. Call it after http.Server.Shutdown has returned.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.closing = true
	s.mu.Unlock()
	s.wg.Wait()
	close(s.done)
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

type apiError struct {
	Error     string `json:"error"`
	ErrorType string `json:"error_type"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, kind, format string, args ...any) {
	writeJSON(w, code, apiError{Error: fmt.Sprintf(format, args...), ErrorType: kind})
}

// decode reads a JSON body; it writes the error response and returns false
// on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeErr(w, http.StatusRequestEntityTooLarge, "payload_too_large", "request body larger than the limit of %d bytes (max_body_bytes)", mbe.Limit)
			return false
		}
		writeErr(w, http.StatusBadRequest, "validation", "reading the body: %v", err)
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeErr(w, http.StatusBadRequest, "validation", "malformed JSON body: %v", err)
		return false
	}
	return true
}

// strOrList is a JSON string or list of strings.
type strOrList []string

func (s *strOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*s = many
	return nil
}

// checkTexts enforces the per-request limits (422 with the limit's name).
func (s *Server) checkTexts(w http.ResponseWriter, field string, texts []string, truncate bool) bool {
	if len(texts) == 0 {
		writeErr(w, http.StatusUnprocessableEntity, "validation", "%q is empty: give at least one text", field)
		return false
	}
	if len(texts) > s.cfg.MaxDocs {
		writeErr(w, http.StatusUnprocessableEntity, "validation", "%q has %d texts, more than the limit max_docs = %d", field, len(texts), s.cfg.MaxDocs)
		return false
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			writeErr(w, http.StatusUnprocessableEntity, "validation", "%s[%d] is empty", field, i)
			return false
		}
		if !truncate && s.tok != nil {
			if n := len(s.tok.Encode(t, false).IDs); n > s.cfg.MaxTokens {
				writeErr(w, http.StatusUnprocessableEntity, "validation", "%s[%d] has %d tokens, more than the limit max_tokens = %d (send \"truncate\": true to cut it)", field, i, n, s.cfg.MaxTokens)
				return false
			}
		}
	}
	return true
}

// submit queues a job and waits for its result; on failure it writes the
// error response and returns false.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, j *job) (jobResult, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	j.ctx = ctx
	j.result = make(chan jobResult, 1)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "the server is shutting down")
		return jobResult{}, false
	}
	select {
	case s.queue <- j:
		s.wg.Add(1)
		if s.onAccept != nil {
			s.onAccept()
		}
	default:
		s.mu.Unlock()
		writeErr(w, http.StatusTooManyRequests, "overloaded", "queue full (%d requests waiting, queue_size)", s.cfg.QueueSize)
		return jobResult{}, false
	}
	s.mu.Unlock()
	select {
	case res := <-j.result:
		if res.err != nil {
			switch {
			case rerank.IsInputError(res.err):
				writeErr(w, http.StatusUnprocessableEntity, "validation", "%v", res.err)
			case errors.Is(res.err, context.DeadlineExceeded):
				writeErr(w, http.StatusGatewayTimeout, "timeout", "request timed out after %s", s.cfg.Timeout)
			case errors.Is(res.err, context.Canceled):
				writeErr(w, 499, "canceled", "request canceled")
			default:
				writeErr(w, http.StatusInternalServerError, "backend", "%v", res.err)
			}
			return res, false
		}
		return res, true
	case <-ctx.Done():
		writeErr(w, http.StatusGatewayTimeout, "timeout", "request timed out after %s", s.cfg.Timeout)
		return jobResult{}, false
	}
}

type rerankReq struct {
	Query      *string  `json:"query"`
	Texts      []string `json:"texts"`
	RawScores  bool     `json:"raw_scores"`
	ReturnText bool     `json:"return_text"`
	Truncate   bool     `json:"truncate"`
}

// RerankResult is one entry of the /rerank response.
type RerankResult struct {
	Index int     `json:"index"`
	Score float32 `json:"score"`
	Text  *string `json:"text,omitempty"`
}

func (s *Server) handleRerank(w http.ResponseWriter, r *http.Request) {
	if s.rr == nil {
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "this server runs an embedding model: use /embed")
		return
	}
	var req rerankReq
	if !decode(w, r, &req) {
		return
	}
	if req.Query == nil || strings.TrimSpace(*req.Query) == "" {
		writeErr(w, http.StatusUnprocessableEntity, "validation", "\"query\" is missing or empty")
		return
	}
	if !s.checkTexts(w, "texts", req.Texts, req.Truncate) {
		return
	}
	o := s.cfg.Options
	o.Normalize = !req.RawScores
	if req.Truncate {
		o.Strategy = rerank.Truncate
	}
	j := &job{pairs: make([]rerank.Pair, len(req.Texts)), ropts: o, key: fmt.Sprintf("r%v/%v", o.Normalize, o.Strategy)}
	for i, t := range req.Texts {
		j.pairs[i] = rerank.Pair{Query: *req.Query, Doc: t}
	}
	res, ok := s.submit(w, r, j)
	if !ok {
		return
	}
	ranked := rerank.NewRankedResults(*req.Query, req.Texts, res.scores)
	out := make([]RerankResult, len(ranked.Results))
	for i, x := range ranked.Results {
		out[i] = RerankResult{Index: x.Index, Score: x.Score}
		if req.ReturnText {
			t := req.Texts[x.Index]
			out[i].Text = &t
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type embedReq struct {
	Inputs     strOrList `json:"inputs"`
	Normalize  *bool     `json:"normalize"`
	Truncate   bool      `json:"truncate"`
	Dimensions int       `json:"dimensions"`
}

func (s *Server) embed(w http.ResponseWriter, r *http.Request, field string, texts []string, normalize, truncate bool, dim int) ([][]float32, bool) {
	if s.enc == nil {
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "this server runs a reranker: use /rerank")
		return nil, false
	}
	if !s.checkTexts(w, field, texts, truncate) {
		return nil, false
	}
	if dim < 0 || dim > s.enc.Dim() {
		writeErr(w, http.StatusUnprocessableEntity, "validation", "\"dimensions\" %d outside [1, %d]", dim, s.enc.Dim())
		return nil, false
	}
	eo := rerank.EncodeOptions{MaxLength: s.cfg.Options.MaxLength, Normalize: normalize, Dim: dim}
	j := &job{embed: true, texts: texts, eopts: eo, key: fmt.Sprintf("e%v/%d", normalize, dim)}
	res, ok := s.submit(w, r, j)
	return res.vecs, ok
}

func (s *Server) handleEmbed(w http.ResponseWriter, r *http.Request) {
	var req embedReq
	if !decode(w, r, &req) {
		return
	}
	norm := req.Normalize == nil || *req.Normalize
	v, ok := s.embed(w, r, "inputs", req.Inputs, norm, req.Truncate, req.Dimensions)
	if ok {
		writeJSON(w, http.StatusOK, v)
	}
}

type openAIReq struct {
	Input      strOrList `json:"input"`
	Model      string    `json:"model"`
	Dimensions int       `json:"dimensions"`
}

type openAIEmbedding struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

type openAIResp struct {
	Object string            `json:"object"`
	Data   []openAIEmbedding `json:"data"`
	Model  string            `json:"model"`
	Usage  struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func (s *Server) handleOpenAI(w http.ResponseWriter, r *http.Request) {
	var req openAIReq
	if !decode(w, r, &req) {
		return
	}
	v, ok := s.embed(w, r, "input", req.Input, true, true, req.Dimensions)
	if !ok {
		return
	}
	resp := openAIResp{Object: "list", Model: s.cfg.ModelName}
	if req.Model != "" {
		resp.Model = req.Model
	}
	for i, e := range v {
		resp.Data = append(resp.Data, openAIEmbedding{Object: "embedding", Index: i, Embedding: e})
	}
	if s.tok != nil {
		for _, t := range req.Input {
			resp.Usage.PromptTokens += len(s.tok.Encode(t, true).IDs)
		}
	}
	resp.Usage.TotalTokens = resp.Usage.PromptTokens
	writeJSON(w, http.StatusOK, resp)
}
