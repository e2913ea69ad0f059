package safetensors

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ragr-dev/ragr/kernels/cpu"
	"github.com/ragr-dev/ragr/tensor"
)

// benchFile writes a checkpoint of ntensors BF16 tensors of perTensor
// elements each into dir and returns its path and size in bytes.
func benchFile(b *testing.B, dir string, dtype tensor.DType, ntensors, perTensor int) (string, int64) {
	b.Helper()
	all := make([]uint16, ntensors*perTensor)
	for i := range all {
		all[i] = uint16(0x3c00 + i%977) // finite values in both bf16 and f16
	}
	state := map[string]*tensor.Tensor{}
	for i := 0; i < ntensors; i++ {
		state[fmt.Sprintf("layer.%02d.weight", i)] = tensor.FromUint16(dtype, all[i*perTensor:(i+1)*perTensor], perTensor/1024, 1024)
	}
	path := filepath.Join(dir, "bench.safetensors")
	if err := Write(path, state, nil); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, st.Size()
}

// BenchmarkLoadBF16AsFloat32 opens a 256 MiB BF16 checkpoint (32 tensors of
// 4 Mi elements) and loads every tensor as float32, all kept live until the
// file is closed, as a model load does. It reports MB/s of file and the heap
// the load allocated: peak-extra-heap-MB is the live heap growth over the
// load and heap/output its ratio to the float32 weights themselves (1.00
// means no copy besides the result: the BF16 bytes are read through the
// mapping, which is not heap).
//
//	go test -run '^$' -bench LoadBF16AsFloat32 -benchtime 5x ./tensor/safetensors/
func BenchmarkLoadBF16AsFloat32(b *testing.B) {
	const ntensors, perTensor = 32, 4 << 20
	path, size := benchFile(b, b.TempDir(), tensor.BFloat16, ntensors, perTensor)
	outBytes := float64(ntensors * perTensor * 4)
	for _, threads := range []int{1, cpu.Workers()} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			prev := cpu.SetThreads(threads)
			defer cpu.SetThreads(prev)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base, total0 := ms.HeapAlloc, ms.TotalAlloc
			var peak uint64
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				out := make([]*tensor.Tensor, 0, ntensors)
				for _, name := range f.Names() {
					x, err := f.Float32(name)
					if err != nil {
						b.Fatal(err)
					}
					out = append(out, x)
				}
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
					peak = ms.HeapAlloc - base
				}
				out = nil
				runtime.GC()
				b.StartTimer()
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(peak)/(1<<20), "peak-extra-heap-MB")
			b.ReportMetric(float64(peak)/outBytes, "heap/output")
			b.ReportMetric(float64(ms.TotalAlloc-total0)/float64(b.N)/outBytes, "alloc/output")
		})
	}
}

// BenchmarkLoadBF16Alias opens the same kind of checkpoint and takes every
// tensor in its stored dtype, which aliases the mapping: the cost is the
// header parse and the mmap, independent of the weights' size (pages are
// only read when the weights are used).
func BenchmarkLoadBF16Alias(b *testing.B) {
	const ntensors, perTensor = 32, 1 << 20
	path, _ := benchFile(b, b.TempDir(), tensor.BFloat16, ntensors, perTensor)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range f.Names() {
			if _, err := f.Tensor(name); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}
