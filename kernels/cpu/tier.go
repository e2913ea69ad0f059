package cpu

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/klauspost/cpuid/v2"
)

// Tier is a level of SIMD support that a kernel implementation targets.
type Tier int32

const (
	// Generic is plain Go, valid on every machine.
	Generic Tier = iota
	// AVX2 needs AVX2 and FMA3 (256-bit vectors).
	AVX2
	// AVX512 needs AVX-512 F, DQ, BW and VL (512-bit vectors).
	AVX512
)

// String returns the tier's name as RAGR_CPU spells it.
func (t Tier) String() string {
	switch t {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("Tier(%d)", int32(t))
}

// ParseTier parses a tier name (generic, avx2, avx512).
func ParseTier(s string) (Tier, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "generic", "go", "none":
		return Generic, nil
	case "avx2":
		return AVX2, nil
	case "avx512", "avx-512":
		return AVX512, nil
	}
	return Generic, fmt.Errorf("cpu: unknown tier %q (want generic, avx2 or avx512)", s)
}

var (
	bestTier Tier         // the best tier this machine supports
	curTier  atomic.Int32 // the tier kernels dispatch on
	envNote  string       // what RAGR_CPU did, for TierInfo
)

func init() {
	bestTier = detect()
	t := bestTier
	if v, ok := os.LookupEnv("RAGR_CPU"); ok && v != "" {
		want, err := ParseTier(v)
		switch {
		case err != nil:
			envNote = fmt.Sprintf("RAGR_CPU=%q ignored: %v", v, err)
		case want > bestTier:
			envNote = fmt.Sprintf("RAGR_CPU=%s not supported by this CPU; using %s", want, bestTier)
		default:
			t = want
			envNote = fmt.Sprintf("RAGR_CPU=%s", want)
		}
	}
	curTier.Store(int32(t))
}

// detect reads the CPU feature bits.
func detect() Tier {
	if !hasAsm {
		return Generic
	}
	if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3) {
		return AVX512
	}
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		return AVX2
	}
	return Generic
}

// Best returns the best tier the machine supports.
func Best() Tier { return bestTier }

// Current returns the tier the kernels dispatch on now.
func Current() Tier { return Tier(curTier.Load()) }

// Tiers returns every tier the machine supports, lowest first.
func Tiers() []Tier {
	ts := make([]Tier, 0, 3)
	for t := Generic; t <= bestTier; t++ {
		ts = append(ts, t)
	}
	return ts
}

// SetTier makes the kernels dispatch on t and returns the previous tier. It
// panics if the machine does not support t. It is meant for tests and
// benchmarks; it must not race with running kernels.
func SetTier(t Tier) Tier {
	if t < Generic || t > bestTier {
		panic(fmt.Sprintf("cpu.SetTier: tier %s not supported on this CPU (best is %s)", t, bestTier))
	}
	return Tier(curTier.Swap(int32(t)))
}

// TierInfo describes the CPU, its best tier, the current tier and what
// RAGR_CPU did, on one line.
func TierInfo() string {
	s := fmt.Sprintf("cpu=%q best=%s current=%s threads=%d", cpuid.CPU.BrandName, bestTier, Current(), Workers())
	if envNote != "" {
		s += " (" + envNote + ")"
	}
	return s
}
