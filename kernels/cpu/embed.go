package cpu

// Embedding lookup and its gradient:
//
//	EmbeddingGather      dst[i*dim:(i+1)*dim]  = table[ids[i]*dim:(ids[i]+1)*dim]
//	EmbeddingScatterAdd  dtable[ids[i]*dim:...] += dy[i*dim:(i+1)*dim]
//
// with float64 twins. ids are user data: an id outside [0, rows) returns an
// error naming its position, never a panic. Gather copies rows with copy()
// (memmove); ScatterAdd adds rows with the vector add of reduce.go
// (reduceAdd32: AVX-512, AVX2 or plain Go by tier).
//
// Threads: Gather splits ids over the pool. ScatterAdd splits the dim columns
// over the pool, each worker walking all ids in order, so repeated ids are
// accumulated in id order whatever the thread count: results are
// bit-identical for any SetThreads value.
//
// Benchmarks: go test -run XXX -bench Embedding ./kernels/cpu/

import "fmt"

// embedGrain is the number of elements a pool chunk should move.
const embedGrain = 1 << 15

// embedCheck panics unless dim, the table and the row buffer fit together,
// and returns the table's row count. what names the row buffer (dst or dy).
func embedCheck(fn, what string, ltable, lrows, nids, dim int) int {
	if dim < 1 {
		panic(fmt.Sprintf("cpu.%s: dim=%d < 1", fn, dim))
	}
	if ltable%dim != 0 {
		panic(fmt.Sprintf("cpu.%s: len(table)=%d is not a multiple of dim=%d", fn, ltable, dim))
	}
	if lrows < nids*dim {
		panic(fmt.Sprintf("cpu.%s: len(%s)=%d < len(ids)*dim=%d*%d", fn, what, lrows, nids, dim))
	}
	return ltable / dim
}

// embedValidate returns an error for the first id outside [0, rows).
func embedValidate(fn string, ids []int32, rows int) error {
	for i, id := range ids {
		if id < 0 || int(id) >= rows {
			return fmt.Errorf("cpu.%s: ids[%d]=%d out of range [0, %d)", fn, i, id, rows)
		}
	}
	return nil
}

// embedGather is the shared body of EmbeddingGather and EmbeddingGather64.
func embedGather[T reduceFloat](fn string, dst, table []T, ids []int32, dim int) error {
	rows := embedCheck(fn, "dst", len(table), len(dst), len(ids), dim)
	if err := embedValidate(fn, ids, rows); err != nil {
		return err
	}
	Parallel(len(ids), max(1, embedGrain/dim), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			id := int(ids[i])
			copy(dst[i*dim:(i+1)*dim], table[id*dim:(id+1)*dim])
		}
	})
	return nil
}

// embedScatterAdd is the shared body of EmbeddingScatterAdd and its twin.
func embedScatterAdd[T reduceFloat](fn string, dtable, dy []T, ids []int32, dim int, add func(dst, x []T)) error {
	rows := embedCheck(fn, "dy", len(dtable), len(dy), len(ids), dim)
	if err := embedValidate(fn, ids, rows); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	// Column chunks of at least 64 elements (one cache line pair) per worker.
	cw := max(64, embedGrain/max(len(ids), 1))
	cw = (cw + 15) &^ 15
	nc := (dim + cw - 1) / cw
	ParallelChunks(nc, func(c int) {
		lo, hi := c*cw, min(dim, (c+1)*cw)
		for i, id := range ids {
			r := int(id)
			add(dtable[r*dim+lo:r*dim+hi], dy[i*dim+lo:i*dim+hi])
		}
	})
	return nil
}

// EmbeddingGather copies row ids[i] of table (rows×dim, rows = len(table)/dim)
// into dst[i*dim:(i+1)*dim] for every i. An id < 0 or >= rows returns an
// error naming its position and value; dst is then unchanged (ids are all
// checked before any copy). It panics if dim < 1, len(table) is not a
// multiple of dim, or dst is shorter than len(ids)*dim.
func EmbeddingGather(dst, table []float32, ids []int32, dim int) error {
	return embedGather("EmbeddingGather", dst, table, ids, dim)
}

// EmbeddingGather64 is the float64 twin of EmbeddingGather.
func EmbeddingGather64(dst, table []float64, ids []int32, dim int) error {
	return embedGather("EmbeddingGather64", dst, table, ids, dim)
}

// EmbeddingScatterAdd adds dy[i*dim:(i+1)*dim] into row ids[i] of dtable
// (rows×dim) for every i; repeated ids accumulate, in increasing i. An id out
// of range returns an error naming its position and value, with dtable
// unchanged (ids are all checked first). It panics on the size violations
// EmbeddingGather panics on (dy in place of dst). The result is the same for
// any thread count.
func EmbeddingScatterAdd(dtable, dy []float32, ids []int32, dim int) error {
	t := Current()
	return embedScatterAdd("EmbeddingScatterAdd", dtable, dy, ids, dim,
		func(d, x []float32) { reduceAdd32(t, d, x) })
}

// EmbeddingScatterAdd64 is the float64 twin of EmbeddingScatterAdd.
func EmbeddingScatterAdd64(dtable, dy []float64, ids []int32, dim int) error {
	return embedScatterAdd("EmbeddingScatterAdd64", dtable, dy, ids, dim, reduceAddGeneric[float64])
}
