package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ragr-dev/ragr/kernels/cpu"
)

// RNG is a seeded random generator for tensors (PCG). The same seed gives the
// same tensors on every machine. It is not safe for concurrent use.
type RNG struct {
	r    *rand.Rand
	pcg  *rand.PCG
	seed uint64
}

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG {
	p := rand.NewPCG(seed, seed^0x5851f42d4c957f2d)
	return &RNG{r: rand.New(p), pcg: p, seed: seed}
}

// State returns the generator's state, for checkpoints.
func (g *RNG) State() ([]byte, error) { return g.pcg.MarshalBinary() }

// SetState restores a state returned by State.
func (g *RNG) SetState(b []byte) error {
	if err := g.pcg.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("tensor: restoring RNG state: %w", err)
	}
	return nil
}

// Float64 returns a uniform float64 in [0, 1).
func (g *RNG) Float64() float64 { return g.r.Float64() }

// IntN returns a uniform int in [0, n).
func (g *RNG) IntN(n int) int { return g.r.IntN(n) }

// Perm returns a random permutation of [0, n).
func (g *RNG) Perm(n int) []int { return g.r.Perm(n) }

// Normal returns a float32 CPU tensor of N(mean, std²) samples.
func (g *RNG) Normal(mean, std float64, shape ...int) *Tensor {
	t := Zeros(shape...)
	d := t.Data32()
	for i := range d {
		d[i] = float32(mean + std*g.r.NormFloat64())
	}
	return t
}

// Uniform returns a float32 CPU tensor of samples uniform in [lo, hi).
func (g *RNG) Uniform(lo, hi float64, shape ...int) *Tensor {
	t := Zeros(shape...)
	d := t.Data32()
	for i := range d {
		d[i] = float32(lo + (hi-lo)*g.r.Float64())
	}
	return t
}

// Normal64 and Uniform64 are the float64 versions.
func (g *RNG) Normal64(mean, std float64, shape ...int) *Tensor {
	t := New(Float64, shape...)
	d := t.Data64()
	for i := range d {
		d[i] = mean + std*g.r.NormFloat64()
	}
	return t
}

// Uniform64 returns a float64 CPU tensor uniform in [lo, hi).
func (g *RNG) Uniform64(lo, hi float64, shape ...int) *Tensor {
	t := New(Float64, shape...)
	d := t.Data64()
	for i := range d {
		d[i] = lo + (hi-lo)*g.r.Float64()
	}
	return t
}

// DropoutMask returns a float32 CPU tensor whose elements are 0 with
// probability p and 1/(1-p) otherwise (inverted dropout). p must be in [0, 1).
//
// The mask is counter-based: one 64-bit draw from the generator is the key,
// and element pair j takes its two 32-bit uniforms from the SplitMix64
// output for key + (j+1)·γ (γ the golden-ratio increment); an element is
// kept when its uniform is at or above p·2³² (resolution 2⁻³²). So the mask
// depends on the seed and the shape alone, not on the thread count, and is
// filled by the worker pool in parallel.
func (g *RNG) DropoutMask(p float64, shape ...int) *Tensor {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("tensor.DropoutMask: p = %g, want 0 <= p < 1", p))
	}
	return DropoutMaskKey(g.DropoutKey(), p, shape...)
}

// DropoutKey draws the key of one dropout mask: the one draw DropoutMask
// makes. A fused kernel that drops inside (the CUDA attention) takes the key
// and reproduces DropoutMaskKey's mask element by element: element i is kept
// when DropoutKept(key, thr, i), thr as DropoutThreshold.
func (g *RNG) DropoutKey() uint64 { return g.r.Uint64() }

// DropoutThreshold returns the integer threshold and the scale of dropout
// probability p: an element is dropped when its 32-bit uniform is below thr
// = round(p·2³²), and kept ones are scaled by keep = float32(1/(1−p)).
func DropoutThreshold(p float64) (thr uint64, keep float32) {
	return uint64(math.Round(p * (1 << 32))), float32(1 / (1 - p))
}

// DropoutKept reports whether element i of the mask with key and threshold
// thr is kept: the 32-bit half i%2 (low first) of SplitMix64's output for
// key + (i/2 + 1)·γ, γ the golden-ratio increment, is at least thr.
func DropoutKept(key, thr uint64, i int64) bool {
	const gamma = 0x9e3779b97f4a7c15
	z := splitMix(key + (uint64(i)/2+1)*gamma)
	if i%2 == 1 {
		z >>= 32
	}
	return z&0xffffffff >= thr
}

// DropoutMaskKey is DropoutMask with the key given (see DropoutKey).
func DropoutMaskKey(key uint64, p float64, shape ...int) *Tensor {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("tensor.DropoutMaskKey: p = %g, want 0 <= p < 1", p))
	}
	t := New(Float32, shape...)
	d := t.Data32()
	thr, keep := DropoutThreshold(p)
	const chunk = 1 << 15 // elements per task (even)
	cpu.ParallelChunks((len(d)+chunk-1)/chunk, func(c int) {
		lo := c * chunk
		hi := min(lo+chunk, len(d))
		dropoutFill(d[lo:hi], key, uint64(lo/2), thr, keep)
	})
	return t
}

// dropoutFill writes the mask of elements 2·pair0 … into d (len(d) even
// except at the end of the tensor). Branch-free: a kept element's bits are
// keep's, a dropped one's zero (the keep/drop test would mispredict often).
func dropoutFill(d []float32, key, pair0, thr uint64, keep float32) {
	const gamma = 0x9e3779b97f4a7c15
	kb := math.Float32bits(keep)
	x := key + pair0*gamma
	// drop is all ones when u < thr: u - thr borrows into the sign bit
	// (u < 2³², thr <= 2³²).
	drop := func(u uint64) uint32 { return uint32(int64(u-thr) >> 63) }
	i := 0
	for ; i+1 < len(d); i += 2 {
		x += gamma
		z := splitMix(x)
		d[i] = math.Float32frombits(kb &^ drop(z&0xffffffff))
		d[i+1] = math.Float32frombits(kb &^ drop(z>>32))
	}
	if i < len(d) {
		d[i] = math.Float32frombits(kb &^ drop(splitMix(x+gamma)&0xffffffff))
	}
}

// splitMix is SplitMix64's output function.
func splitMix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
