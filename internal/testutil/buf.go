package testutil

import (
	"math"
	"math/rand/v2"
	"testing"
)

// guardLen is how many guard values frame a guarded buffer on each side.
const guardLen = 19

// Guard values: a pattern a kernel is unlikely to write by accident.
var (
	guard32 = float32(-7.25e33)
	guard64 = -7.25e233
)

// Guarded32 is a float32 output buffer framed by guard values. Data starts
// poisoned with NaN, so a kernel that skips an element is caught too; Check
// reports any guard value a kernel overwrote.
type Guarded32 struct {
	full []float32
	// Data is the buffer a kernel writes; its capacity equals its length.
	Data []float32
}

// NewGuarded32 returns a poisoned, guarded buffer of n float32s.
func NewGuarded32(n int) *Guarded32 {
	full := make([]float32, n+2*guardLen)
	for i := range full {
		full[i] = guard32
	}
	g := &Guarded32{full: full, Data: full[guardLen : guardLen+n : guardLen+n]}
	g.Poison()
	return g
}

// Poison fills Data with NaN.
func (g *Guarded32) Poison() {
	nan := float32(math.NaN())
	for i := range g.Data {
		g.Data[i] = nan
	}
}

// Check fails t if a guard value changed.
func (g *Guarded32) Check(t testing.TB) {
	t.Helper()
	n := len(g.Data)
	for i := 0; i < guardLen; i++ {
		if g.full[i] != guard32 {
			t.Errorf("guard before output overwritten at offset -%d: %g", guardLen-i, g.full[i])
			return
		}
		if g.full[guardLen+n+i] != guard32 {
			t.Errorf("guard after output overwritten at offset +%d: %g", i, g.full[guardLen+n+i])
			return
		}
	}
}

// Guarded64 is the float64 twin of Guarded32.
type Guarded64 struct {
	full []float64
	// Data is the buffer a kernel writes; its capacity equals its length.
	Data []float64
}

// NewGuarded64 returns a poisoned, guarded buffer of n float64s.
func NewGuarded64(n int) *Guarded64 {
	full := make([]float64, n+2*guardLen)
	for i := range full {
		full[i] = guard64
	}
	g := &Guarded64{full: full, Data: full[guardLen : guardLen+n : guardLen+n]}
	for i := range g.Data {
		g.Data[i] = math.NaN()
	}
	return g
}

// Check fails t if a guard value changed.
func (g *Guarded64) Check(t testing.TB) {
	t.Helper()
	n := len(g.Data)
	for i := 0; i < guardLen; i++ {
		if g.full[i] != guard64 || g.full[guardLen+n+i] != guard64 {
			t.Errorf("guard value around output overwritten")
			return
		}
	}
}

// NewRand returns a deterministic generator for a test.
func NewRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// Uniform32 returns n float32s uniform in [lo, hi).
func Uniform32(r *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s
}

// Normal32 returns n float32s from N(0, std²).
func Normal32(r *rand.Rand, n int, std float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * std)
	}
	return s
}

// Uniform64 returns n float64s uniform in [lo, hi).
func Uniform64(r *rand.Rand, n int, lo, hi float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float64()
	}
	return s
}

// To64 widens a float32 slice.
func To64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}
