//go:build !unix

package tokenizer

// processCPUSeconds is not available here; the cpu-MB/s metric reads 0.
func processCPUSeconds() float64 { return 0 }
