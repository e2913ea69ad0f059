package cuda

// The kernel profile's bookkeeping (no cgo, no build tag): the totals per
// kernel name of the timed launches Device.StopProfile reads back.

import "sort"

// KernelStat is one kernel's total in a profile: its launches and their
// GPU time in seconds (CUDA events around each launch).
type KernelStat struct {
	Name    string
	Count   int
	Seconds float64
}

// kernelStats totals the launches (names[i] took secs[i] seconds) per
// kernel name, the largest total first (then by name).
func kernelStats(names []string, secs []float64) []KernelStat {
	by := map[string]*KernelStat{}
	for i, n := range names {
		k := by[n]
		if k == nil {
			k = &KernelStat{Name: n}
			by[n] = k
		}
		k.Count++
		k.Seconds += secs[i]
	}
	out := make([]KernelStat, 0, len(by))
	for _, k := range by {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Seconds != out[j].Seconds {
			return out[i].Seconds > out[j].Seconds
		}
		return out[i].Name < out[j].Name
	})
	return out
}
