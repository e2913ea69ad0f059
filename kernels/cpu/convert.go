package cpu

// Conversions between float32 and the 16-bit storage formats bfloat16 and
// IEEE 754 binary16 (half), element-wise over slices of equal length.
//
// Rounding is to nearest, ties to even; NaN stays NaN (made quiet, sign and
// top payload bits kept); half conversions handle subnormals exactly and
// overflow to ±Inf.
//
// Variants: AVX-512 kernels (VCVTPH2PS/VCVTPS2PH for half, integer
// rounding and VPMOVDW for bfloat16) and AVX2 ones (F16C; VPACKUSDW) in
// convert_amd64.s, and the plain-Go twins below; every tier gives the same
// bits (the tests compare all 65536 16-bit inputs and 2^20 random float32s
// on every tier). Long slices are split over the worker pool.
//
// Benchmarks: go test -run '^$' -bench 'Convert' ./kernels/cpu/

import (
	"fmt"
	"math"
)

func convCheck(fn string, nd, ns int) {
	if nd != ns {
		panic(fmt.Sprintf("cpu.%s: len(dst)=%d != len(src)=%d", fn, nd, ns))
	}
}

// F32ToBF16 sets dst[i] to the bfloat16 bits nearest to src[i] (ties to
// even; values beyond the largest bfloat16 round to ±Inf; NaN gives a quiet
// NaN).
func F32ToBF16(dst []uint16, src []float32) {
	convCheck("F32ToBF16", len(dst), len(src))
	t := Current()
	elemRun(len(src), func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		done := convTo16(t, true, d, s, convF32ToBF16AVX512, convF32ToBF16AVX2)
		for i := done; i < len(s); i++ {
			d[i] = convF32ToBF16(s[i])
		}
	})
}

// BF16ToF32 sets dst[i] to the float32 value of the bfloat16 bits src[i]
// (exact; NaN payloads are kept as they are).
func BF16ToF32(dst []float32, src []uint16) {
	convCheck("BF16ToF32", len(dst), len(src))
	t := Current()
	elemRun(len(src), func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		done := convFrom16(t, true, d, s, convBF16ToF32AVX512, convBF16ToF32AVX2)
		for i := done; i < len(s); i++ {
			d[i] = math.Float32frombits(uint32(s[i]) << 16)
		}
	})
}

// F32ToF16 sets dst[i] to the IEEE half-precision bits nearest to src[i]
// (ties to even, subnormal halves exact, magnitudes from 65520 up round to
// ±Inf, NaN gives a quiet NaN).
func F32ToF16(dst []uint16, src []float32) {
	convCheck("F32ToF16", len(dst), len(src))
	t := Current()
	elemRun(len(src), func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		done := convTo16(t, convHasF16C, d, s, convF32ToF16AVX512, convF32ToF16AVX2)
		for i := done; i < len(s); i++ {
			d[i] = convF32ToF16(s[i])
		}
	})
}

// F16ToF32 sets dst[i] to the float32 value of the IEEE half-precision
// bits src[i] (exact; a signaling NaN becomes quiet, as F16C's VCVTPH2PS
// does).
func F16ToF32(dst []float32, src []uint16) {
	convCheck("F16ToF32", len(dst), len(src))
	t := Current()
	elemRun(len(src), func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		done := convFrom16(t, convHasF16C, d, s, convF16ToF32AVX512, convF16ToF32AVX2)
		for i := done; i < len(s); i++ {
			d[i] = convF16ToF32(s[i])
		}
	})
}

// convTo16 runs a float32 -> 16-bit kernel of tier t over as much of s as
// it takes and returns how many elements it converted (the AVX2 kernels
// take multiples of 8; ok2 gates them on F16C).
func convTo16(t Tier, ok2 bool, d []uint16, s []float32, avx512, avx2 func(dst *uint16, src *float32, n int)) int {
	n := len(s)
	switch {
	case n == 0:
		return 0
	case t == AVX512:
		avx512(&d[0], &s[0], n)
		return n
	case t == AVX2 && ok2 && n >= 8:
		m := n &^ 7
		avx2(&d[0], &s[0], m)
		return m
	}
	return 0
}

// convFrom16 is convTo16 for 16-bit -> float32 kernels.
func convFrom16(t Tier, ok2 bool, d []float32, s []uint16, avx512, avx2 func(dst *float32, src *uint16, n int)) int {
	n := len(s)
	switch {
	case n == 0:
		return 0
	case t == AVX512:
		avx512(&d[0], &s[0], n)
		return n
	case t == AVX2 && ok2 && n >= 8:
		m := n &^ 7
		avx2(&d[0], &s[0], m)
		return m
	}
	return 0
}

func convF32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40 // NaN: keep sign and top payload, set the quiet bit
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

func convF32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13)
	}
	e := exp - 127 + 15 // the half's biased exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// A half subnormal (or zero): value = h * 2^-24.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++ // may carry into the smallest normal, which is encoded right
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // may carry into the exponent, up to Inf
	}
	return sign | uint16(h)
}

func convF16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0x1f:
		if mant != 0 {
			mant |= 0x200 // quiet
		}
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0:
		// Zero or subnormal: mant * 2^-24, exact in float32.
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}
