package server

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
var batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128}

type histogram struct {
	bounds []float64
	counts []uint64 // per bucket (not cumulative), last = +Inf
	sum    float64
	n      uint64
}

func newHist(b []float64) *histogram {
	return &histogram{bounds: b, counts: make([]uint64, len(b)+1)}
}

func (h *histogram) add(v float64) {
	i := sort.SearchFloat64s(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) write(b *strings.Builder, name, labels string) {
	var c uint64
	sep := ""
	if labels != "" {
		sep = ","
	}
	for i, ub := range h.bounds {
		c += h.counts[i]
		fmt.Fprintf(b, "%s_bucket{%s%sle=\"%g\"} %d\n", name, labels, sep, ub, c)
	}
	c += h.counts[len(h.bounds)]
	fmt.Fprintf(b, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, c)
	wrap := ""
	if labels != "" {
		wrap = "{" + labels + "}"
	}
	fmt.Fprintf(b, "%s_sum%s %g\n%s_count%s %d\n", name, wrap, h.sum, name, wrap, h.n)
}

type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // route, code
	latency  map[string]*histogram
	batches  *histogram
}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]uint64{}, latency: map[string]*histogram{}, batches: newHist(batchBuckets)}
}

func (m *metrics) observe(route string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{route, fmt.Sprint(code)}]++
	h := m.latency[route]
	if h == nil {
		h = newHist(latencyBuckets)
		m.latency[route] = h
	}
	h.add(d.Seconds())
}

func (m *metrics) batch(n int) {
	m.mu.Lock()
	m.batches.add(float64(n))
	m.mu.Unlock()
}

func (m *metrics) write(s *Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		m.mu.Lock()
		b.WriteString("# HELP ragr_requests_total HTTP requests by route and status code.\n# TYPE ragr_requests_total counter\n")
		keys := make([][2]string, 0, len(m.requests))
		for k := range m.requests {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
		for _, k := range keys {
			fmt.Fprintf(&b, "ragr_requests_total{route=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
		}
		b.WriteString("# HELP ragr_request_duration_seconds Request latency by route.\n# TYPE ragr_request_duration_seconds histogram\n")
		routes := make([]string, 0, len(m.latency))
		for r := range m.latency {
			routes = append(routes, r)
		}
		sort.Strings(routes)
		for _, r := range routes {
			m.latency[r].write(&b, "ragr_request_duration_seconds", fmt.Sprintf("route=%q", r))
		}
		b.WriteString("# HELP ragr_batch_size Pairs or texts per library call.\n# TYPE ragr_batch_size histogram\n")
		m.batches.write(&b, "ragr_batch_size", "")
		m.mu.Unlock()
		fmt.Fprintf(&b, "# HELP ragr_queue_depth Requests waiting for the batcher.\n# TYPE ragr_queue_depth gauge\nragr_queue_depth %d\n", len(s.queue))
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(b.String()))
	}
}
