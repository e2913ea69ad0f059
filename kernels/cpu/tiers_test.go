package cpu

import "testing"

// forEachTier runs f once per tier the machine supports, with the kernels
// switched to that tier, as a subtest named after the tier.
func forEachTier(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, tier := range Tiers() {
		t.Run(tier.String(), func(t *testing.T) {
			prev := SetTier(tier)
			defer SetTier(prev)
			f(t)
		})
	}
}

func TestTiers(t *testing.T) {
	ts := Tiers()
	if len(ts) == 0 || ts[0] != Generic || ts[len(ts)-1] != Best() {
		t.Fatalf("Tiers() = %v, best %v", ts, Best())
	}
	for _, name := range []string{"generic", "avx2", "avx512"} {
		tier, err := ParseTier(name)
		if err != nil || tier.String() != name {
			t.Errorf("ParseTier(%q) = %v, %v", name, tier, err)
		}
	}
	if _, err := ParseTier("sse9"); err == nil {
		t.Error("ParseTier accepted an unknown tier")
	}
	t.Log(TierInfo())
}

func TestParallelCoversRange(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		prev := SetThreads(threads)
		for _, n := range []int{0, 1, 7, 64, 1000, 1003} {
			seen := make([]int32, n)
			Parallel(n, 5, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					seen[i]++
				}
				// A nested call runs inline rather than deadlocking.
				Parallel(3, 1, func(lo, hi int) {})
			})
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("threads=%d n=%d: index %d visited %d times", threads, n, i, c)
				}
			}
		}
		SetThreads(prev)
	}
}

func TestWorkersInsideJob(t *testing.T) {
	prev := SetThreads(2)
	defer SetThreads(prev)
	got := make([]int, 4)
	Parallel(4, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			got[i] = Workers() // must not deadlock
		}
	})
	for _, w := range got {
		if w != 2 {
			t.Fatalf("Workers() inside a job = %d, want 2", w)
		}
	}
}
