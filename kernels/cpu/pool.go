package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The process-wide worker pool. One job runs on it at a time: a caller that
// finds it busy (another goroutine's kernel, or a kernel called from inside a
// pool worker) runs its loop inline, so pools never nest and never deadlock.

type poolJob struct {
	fn    func(lo, hi int)
	n     int
	chunk int
	next  atomic.Int64
	wg    sync.WaitGroup
}

func (j *poolJob) run() {
	for {
		c := int(j.next.Add(1) - 1)
		lo := c * j.chunk
		if lo >= j.n {
			return
		}
		j.fn(lo, min(lo+j.chunk, j.n))
	}
}

var pool struct {
	mu      sync.Mutex   // held while a job runs on the pool
	threads atomic.Int32 // active threads, the caller included
	spawnMu sync.Mutex   // guards spawned
	spawned int          // worker goroutines started (threads-1 at least)
	work    chan *poolJob
	job     poolJob
}

func init() {
	pool.work = make(chan *poolJob)
	SetThreads(runtime.GOMAXPROCS(0))
}

// Workers returns the number of threads a parallel kernel uses (the caller's
// goroutine included). It is safe to call from inside a pool job.
func Workers() int { return int(pool.threads.Load()) }

// SetThreads sets how many threads parallel kernels use (at least 1) and
// returns the previous value. The default is GOMAXPROCS at start-up.
func SetThreads(n int) int {
	if n < 1 {
		n = 1
	}
	pool.spawnMu.Lock()
	defer pool.spawnMu.Unlock()
	for pool.spawned < n-1 {
		pool.spawned++
		go poolWorker()
	}
	return int(pool.threads.Swap(int32(n)))
}

func poolWorker() {
	for j := range pool.work {
		j.run()
		j.wg.Done()
	}
}

// Parallel calls fn over [0, n) split into contiguous chunks [lo, hi) of at
// least grain items, spread over the pool's threads, and returns when every
// chunk is done. It runs fn(0, n) inline when n is small, when the pool has
// one thread, or when the pool is busy (a nested or concurrent call).
func Parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	if n <= grain || !pool.mu.TryLock() {
		fn(0, n)
		return
	}
	defer pool.mu.Unlock()
	t := int(pool.threads.Load())
	if t <= 1 {
		fn(0, n)
		return
	}
	// A few chunks per thread balance uneven work; never below grain.
	chunk := max(grain, (n+4*t-1)/(4*t))
	nchunks := (n + chunk - 1) / chunk
	helpers := min(t, nchunks) - 1
	if helpers <= 0 {
		fn(0, n)
		return
	}
	j := &pool.job
	j.fn, j.n, j.chunk = fn, n, chunk
	j.next.Store(0)
	j.wg.Add(helpers)
	for i := 0; i < helpers; i++ {
		pool.work <- j
	}
	j.run()
	j.wg.Wait()
	j.fn = nil
}

// ParallelChunks is Parallel with exactly one call per chunk index: it calls
// fn(c) for c in [0, nchunks), spread over the pool's threads.
func ParallelChunks(nchunks int, fn func(c int)) {
	Parallel(nchunks, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			fn(c)
		}
	})
}
