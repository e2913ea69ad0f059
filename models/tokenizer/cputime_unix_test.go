//go:build unix

package tokenizer

import "syscall"

// processCPUSeconds returns the user+system CPU time of the process, so
// benchmarks can report throughput per core even on a busy machine.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
