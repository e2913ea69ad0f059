package cpu

import (
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// convHalfValue decodes IEEE half bits from their fields (the reference
// for F16ToF32; NaN is reported through isNaN).
func convHalfValue(h uint16) (v float64, isNaN bool) {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0x1f:
		if m != 0 {
			return 0, true
		}
		return sign * math.Inf(1), false
	case 0:
		return sign * m / 1024 * math.Ldexp(1, -14), false
	}
	return sign * (1 + m/1024) * math.Ldexp(1, e-15), false
}

// convBF16Value decodes bfloat16 bits from their fields.
func convBF16Value(h uint16) (v float64, isNaN bool) {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>7) & 0xff
	m := float64(h & 0x7f)
	switch e {
	case 0xff:
		if m != 0 {
			return 0, true
		}
		return sign * math.Inf(1), false
	case 0:
		return sign * m / 128 * math.Ldexp(1, -126), false
	}
	return sign * (1 + m/128) * math.Ldexp(1, e-127), false
}

// convRoundRef rounds f to a binary format with mantBits stored mantissa
// bits, minimum normal exponent minExp and overflow threshold maxFinite,
// ties to even, computing in float64 (exact for these formats).
func convRoundRef(f float32, mantBits, minExp int, maxFinite float64) float64 {
	x := float64(f)
	if x == 0 || math.IsInf(x, 0) {
		return x
	}
	_, e := math.Frexp(math.Abs(x)) // |x| = frac * 2^e, frac in [0.5, 1)
	e--
	if e < minExp {
		e = minExp
	}
	q := math.Ldexp(1, e-mantBits)
	r := math.RoundToEven(x/q) * q
	if math.Abs(r) > maxFinite {
		return math.Copysign(math.Inf(1), x)
	}
	return r
}

const (
	convMaxHalf = 65504
	convMaxBF16 = (2 - 1.0/128) * 0x1p127 // 0x7f7f
)

func TestF16ToF32Exhaustive(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		src := make([]uint16, 1<<16)
		for i := range src {
			src[i] = uint16(i)
		}
		dst := make([]float32, len(src))
		F16ToF32(dst, src)
		for i, h := range src {
			want, isNaN := convHalfValue(h)
			got := dst[i]
			if isNaN {
				b := math.Float32bits(got)
				wantBits := uint32(h&0x8000)<<16 | 0x7f800000 | uint32(h&0x3ff|0x200)<<13
				if got == got || b != wantBits {
					t.Fatalf("F16ToF32(%#04x) = %#08x, want quiet NaN %#08x", h, b, wantBits)
				}
				continue
			}
			if float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
				t.Fatalf("F16ToF32(%#04x) = %g, want %g", h, got, want)
			}
		}
	})
}

func TestBF16ToF32Exhaustive(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		src := make([]uint16, 1<<16)
		for i := range src {
			src[i] = uint16(i)
		}
		dst := make([]float32, len(src))
		BF16ToF32(dst, src)
		for i, h := range src {
			want, isNaN := convBF16Value(h)
			got := dst[i]
			if isNaN {
				if got == got || math.Float32bits(got) != uint32(h)<<16 {
					t.Fatalf("BF16ToF32(%#04x) = %#08x, want NaN %#08x", h, math.Float32bits(got), uint32(h)<<16)
				}
				continue
			}
			if float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
				t.Fatalf("BF16ToF32(%#04x) = %g, want %g", h, got, want)
			}
		}
	})
}

// convCheckTo checks one float32 -> 16-bit conversion against the float64
// rounding reference.
func convCheckTo(t *testing.T, name string, conv func([]uint16, []float32), decode func(uint16) (float64, bool),
	mantBits, minExp int, maxFinite float64, x []float32) {
	t.Helper()
	got := make([]uint16, len(x))
	conv(got, x)
	for i, f := range x {
		g, gNaN := decode(got[i])
		if f != f {
			if !gNaN || (got[i]&0x8000 != 0) != math.Signbit(float64(f)) {
				t.Fatalf("%s(NaN %#08x) = %#04x, want a NaN of the same sign", name, math.Float32bits(f), got[i])
			}
			continue
		}
		want := convRoundRef(f, mantBits, minExp, maxFinite)
		if gNaN || g != want || math.Signbit(g) != math.Signbit(float64(f)) {
			t.Fatalf("%s(%g [%#08x]) = %#04x (%g), want %g", name, f, math.Float32bits(f), got[i], g, want)
		}
	}
}

// convTieInputs returns, for every pair of adjacent finite values of a
// 16-bit format (both signs), the midpoint and the float32s just below and
// above it, plus every value itself.
func convTieInputs(decode func(uint16) (float64, bool), maxBits uint16, overflowAt float64) []float32 {
	var x []float32
	for h := uint16(0); h <= maxBits; h++ {
		v, _ := decode(h)
		next := overflowAt
		if h < maxBits {
			next, _ = decode(h + 1)
		}
		mid := float32((v + next) / 2)
		for _, s := range []float32{1, -1} {
			x = append(x, s*float32(v), s*mid, s*math.Nextafter32(mid, 0), s*math.Nextafter32(mid, mathInf))
		}
	}
	return x
}

func TestF32ToF16(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		// Every half value, every midpoint between neighbours (ties go to the
		// even one), the floats just around the midpoints, the overflow
		// threshold 65520, and 2^20 random bit patterns.
		x := convTieInputs(convHalfValue, 0x7bff, 65536)
		r := testutil.NewRand(41)
		for i := 0; i < 1<<20; i++ {
			x = append(x, math.Float32frombits(r.Uint32()))
		}
		x = append(x, 65519.996, 65520, 1e10, mathInf, -mathInf, mathNaN, -mathNaN, 0x1p-25, math.Nextafter32(0x1p-25, 1), mathMinSub, -mathMaxSub,
			math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00123))
		convCheckTo(t, "F32ToF16", F32ToF16, convHalfValue, 10, -14, convMaxHalf, x)

		// Round trip and quiet NaNs.
		src := make([]uint16, 1<<16)
		for i := range src {
			src[i] = uint16(i)
		}
		f := make([]float32, len(src))
		back := make([]uint16, len(src))
		F16ToF32(f, src)
		F32ToF16(back, f)
		for i, h := range src {
			want := h
			if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
				want = h | 0x200
			}
			if back[i] != want {
				t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x, want %#04x", h, back[i], want)
			}
		}
		// Spot values worked out by hand.
		for _, c := range []struct {
			f    float32
			want uint16
		}{
			{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65519.996, 0x7bff}, {65520, 0x7c00},
			{0x1p-24, 0x0001}, {0x1p-25, 0x0000}, {0x1.8p-24, 0x0002}, {0x1p-14, 0x0400},
			{1 + 0x1p-11, 0x3c00}, {1 + 0x3p-11, 0x3c02}, // ties to even
		} {
			got := make([]uint16, 1)
			F32ToF16(got, []float32{c.f})
			if got[0] != c.want {
				t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.f, got[0], c.want)
			}
		}
	})
}

func TestF32ToBF16(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		x := convTieInputs(convBF16Value, 0x7f7f, 0x1p128)
		r := testutil.NewRand(42)
		for i := 0; i < 1<<20; i++ {
			x = append(x, math.Float32frombits(r.Uint32()))
		}
		x = append(x, math.MaxFloat32, mathInf, -mathInf, mathNaN, mathMinSub, -mathMaxSub, math.Float32frombits(0x7f800001), math.Float32frombits(0xff80ffff))
		convCheckTo(t, "F32ToBF16", F32ToBF16, convBF16Value, 7, -126, convMaxBF16, x)

		src := make([]uint16, 1<<16)
		for i := range src {
			src[i] = uint16(i)
		}
		f := make([]float32, len(src))
		back := make([]uint16, len(src))
		BF16ToF32(f, src)
		F32ToBF16(back, f)
		for i, h := range src {
			want := h
			if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
				want = h | 0x40
			}
			if back[i] != want {
				t.Fatalf("F32ToBF16(BF16ToF32(%#04x)) = %#04x, want %#04x", h, back[i], want)
			}
		}
		for _, c := range []struct {
			f    float32
			want uint16
		}{
			{1, 0x3f80}, {1 + 0x1p-8, 0x3f80}, {1 + 0x3p-8, 0x3f82}, {1 + 0x1p-8 + 0x1p-20, 0x3f81}, {math.MaxFloat32, 0x7f80},
		} {
			got := make([]uint16, 1)
			F32ToBF16(got, []float32{c.f})
			if got[0] != c.want {
				t.Errorf("F32ToBF16(%g) = %#04x, want %#04x", c.f, got[0], c.want)
			}
		}
	})
}

// TestConvertSizes runs every conversion over lengths around the vector
// widths, with guard values around the outputs, against the plain-Go
// element functions.
func TestConvertSizes(t *testing.T) {
	const guard = 0xa5a5
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(43)
		for _, n := range append(elemSizes, elemParSize) {
			f := testutil.Normal32(r, n, 100)
			h := make([]uint16, n)
			for i := range h {
				h[i] = uint16(r.Uint32())
			}
			// float32 -> 16 bits.
			for _, c := range []struct {
				name string
				conv func([]uint16, []float32)
				one  func(float32) uint16
			}{{"F32ToF16", F32ToF16, convF32ToF16}, {"F32ToBF16", F32ToBF16, convF32ToBF16}} {
				buf := make([]uint16, n+2*8)
				for i := range buf {
					buf[i] = guard
				}
				c.conv(buf[8:8+n], f)
				for i, v := range buf {
					switch {
					case i < 8 || i >= 8+n:
						if v != guard {
							t.Fatalf("%s n=%d: guard at %d overwritten", c.name, n, i-8)
						}
					case v != c.one(f[i-8]):
						t.Fatalf("%s n=%d: [%d] = %#04x, want %#04x", c.name, n, i-8, v, c.one(f[i-8]))
					}
				}
			}
			// 16 bits -> float32.
			for _, c := range []struct {
				name string
				conv func([]float32, []uint16)
				one  func(uint16) float32
			}{{"F16ToF32", F16ToF32, convF16ToF32}, {"BF16ToF32", BF16ToF32, func(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }}} {
				out := testutil.NewGuarded32(n)
				c.conv(out.Data, h)
				out.Check(t)
				for i, v := range out.Data {
					if math.Float32bits(v) != math.Float32bits(c.one(h[i])) {
						t.Fatalf("%s n=%d: [%d] = %#08x, want %#08x", c.name, n, i, math.Float32bits(v), math.Float32bits(c.one(h[i])))
					}
				}
			}
		}
	})
}

func TestConvertPanics(t *testing.T) {
	mathExpectPanic(t, "cpu.F32ToBF16", func() { F32ToBF16(make([]uint16, 2), make([]float32, 3)) })
	mathExpectPanic(t, "cpu.BF16ToF32", func() { BF16ToF32(make([]float32, 2), make([]uint16, 3)) })
	mathExpectPanic(t, "cpu.F32ToF16", func() { F32ToF16(make([]uint16, 3), make([]float32, 2)) })
	mathExpectPanic(t, "cpu.F16ToF32", func() { F16ToF32(make([]float32, 3), make([]uint16, 2)) })
}
