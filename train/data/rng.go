package data

// rng.go: the deterministic random source of sampling and shuffling. It is
// SplitMix64 (Steele, Lea, Flood 2014) keyed by a hash of (seed, epoch,
// group, ...), with Lemire's unbiased bounded integers, written out here
// so that the sequence never depends on the Go version or on global state:
// a resumed run, another rank and another machine draw the same numbers.

import "math/bits"

type rng struct{ s uint64 }

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRNG returns a generator keyed by the given values.
func newRNG(keys ...uint64) *rng {
	h := uint64(0x6a09e667f3bcc909)
	for _, k := range keys {
		h = mix64(h ^ mix64(k+0x9e3779b97f4a7c15))
	}
	return &rng{s: h}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// intn returns a uniform integer in [0, n), n > 0.
func (r *rng) intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(r.next(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.next(), un)
		}
	}
	return int(hi)
}

// perm returns a uniform permutation of [0, n) (Fisher-Yates).
func (r *rng) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r.shuffleInts(p)
	return p
}

func (r *rng) shuffleInts(p []int) {
	for i := len(p) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
}

// sample returns k distinct elements of pool in random order (a partial
// Fisher-Yates on a copy), k <= len(pool).
func (r *rng) sample(pool []int, k int) []int {
	p := append([]int(nil), pool...)
	for i := 0; i < k; i++ {
		j := i + r.intn(len(p)-i)
		p[i], p[j] = p[j], p[i]
	}
	return p[:k:k]
}

// Stream keys separating the uses of one seed.
const (
	keyOrder uint64 = iota + 1
	keyGroup
	keySplit
	keyEmbed
	keyCranfield
)
