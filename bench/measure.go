package bench

import (
	"time"
)

// Measure runs fn repeatedly for at least minDur (after one warm-up call)
// and returns the mean time of one call in the best of three rounds, which
// is robust against noise from the machine's other work.
func Measure(minDur time.Duration, fn func()) time.Duration {
	fn()
	best := time.Duration(1<<63 - 1)
	for round := 0; round < 3; round++ {
		n := 0
		start := time.Now()
		var el time.Duration
		for {
			fn()
			n++
			el = time.Since(start)
			if el >= minDur/3 {
				break
			}
		}
		if per := el / time.Duration(n); per < best {
			best = per
		}
	}
	return best
}

// CopyBandwidth measures the machine's memory bandwidth in GB/s as bytes read
// plus bytes written per second by copy() over a buffer of mib MiB per side
// (large enough to miss every cache level).
func CopyBandwidth(mib int, minDur time.Duration) float64 {
	n := mib << 20 / 4
	src := make([]float32, n)
	dst := make([]float32, n)
	for i := range src {
		src[i] = float32(i)
	}
	d := Measure(minDur, func() { copy(dst, src) })
	return float64(2*4*n) / d.Seconds() / 1e9
}
