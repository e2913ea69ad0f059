// Command loadtest sends a bounded number of POST /rerank requests to a
// ragr serve on a loopback address and reports throughput and p50/p99
// latency. It refuses non-loopback addresses.
//
//	go run ./scripts/loadtest --addr 127.0.0.1:8080 --requests 200 --concurrency 8 --docs 16 --duration 60s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address (loopback only)")
	n := flag.Int("requests", 200, "total requests (at most 100000)")
	conc := flag.Int("concurrency", 8, "concurrent clients")
	docs := flag.Int("docs", 16, "documents per request")
	words := flag.Int("words", 60, "words per document")
	dur := flag.Duration("duration", time.Minute, "stop after this long (at most 10m)")
	key := flag.String("api-key", "", "bearer token")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		fail("--addr: %v", err)
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		fail("--addr: cannot resolve %q", host)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			fail("--addr %s is not a loopback address: the load test only targets this machine", *addr)
		}
	}
	if *n < 1 || *n > 100000 || *conc < 1 || *docs < 1 || *dur <= 0 || *dur > 10*time.Minute {
		fail("--requests must be in [1, 100000], --duration in (0, 10m], --concurrency and --docs positive")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	jobs := make(chan int)
	go func() {
		defer close(jobs)
		for i := 0; i < *n; i++ {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var mu sync.Mutex
	var lat []time.Duration
	errs := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < *conc; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				body := request(i, *docs, *words)
				req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+*addr+"/rerank", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if *key != "" {
					req.Header.Set("Authorization", "Bearer "+*key)
				}
				t0 := time.Now()
				resp, err := http.DefaultClient.Do(req)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					errs[err.Error()]++
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						lat = append(lat, d)
					} else {
						errs[fmt.Sprintf("HTTP %d", resp.StatusCode)]++
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	fmt.Printf("requests ok: %d, failed: %d, in %.2fs\n", len(lat), sum(errs), el.Seconds())
	for e, c := range errs {
		fmt.Printf("  %d × %s\n", c, e)
	}
	if len(lat) > 0 {
		fmt.Printf("throughput: %.2f req/s, %.1f docs/s\n", float64(len(lat))/el.Seconds(), float64(len(lat)**docs)/el.Seconds())
		fmt.Printf("latency p50 %.0fms, p99 %.0fms, max %.0fms\n", ms(pct(lat, 0.50)), ms(pct(lat, 0.99)), ms(lat[len(lat)-1]))
	}
}

func request(i, docs, words int) []byte {
	w := func(seed, n int) string {
		s := make([]string, n)
		for k := range s {
			s[k] = fmt.Sprintf("w%d", 200+(seed*13+k*7)%300)
		}
		return strings.Join(s, " ")
	}
	t := make([]string, docs)
	for d := range t {
		t[d] = w(i*docs+d, words)
	}
	b, _ := json.Marshal(map[string]any{"query": w(i, 6), "texts": t, "truncate": true})
	return b
}

func pct(l []time.Duration, p float64) time.Duration { return l[min(len(l)-1, int(p*float64(len(l))))] }
func ms(d time.Duration) float64                     { return float64(d) / 1e6 }
func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadtest: "+format+"\n", args...)
	os.Exit(2)
}
