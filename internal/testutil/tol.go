package testutil

import (
	"fmt"
	"math"
	"testing"
)

// Level is a named tolerance: |got-want| <= Abs + Rel*|want| element-wise.
type Level struct {
	Name string
	Rel  float64
	Abs  float64
}

// The named tolerance levels. Choose the tightest one that a correct
// implementation meets; never loosen one to make a test pass.
var (
	// Exact: bit-for-bit equality (NaN equals NaN).
	Exact = Level{"exact", 0, 0}
	// F32Rounding: a float32 computation with a different but equally valid
	// order of a few operations (a handful of ulps).
	F32Rounding = Level{"f32-rounding", 4e-7 * 8, 1e-7}
	// F32: a float32 kernel against a float64 reference over short reductions
	// (hundreds of terms) or vectorized transcendental functions.
	F32 = Level{"f32", 1e-5, 1e-6}
	// F32Accum: float32 against float64 over long reductions (GEMM with k in
	// the thousands, norms over thousands of elements).
	F32Accum = Level{"f32-accum", 1e-4, 1e-5}
	// F64: float64 kernels against float64 references in another order.
	F64 = Level{"f64", 1e-12, 1e-13}
	// FiniteDiff: analytic float64 gradients against central finite
	// differences with step 1e-6.
	FiniteDiff = Level{"finite-diff", 1e-5, 1e-6}
	// Golden: float32 forward passes against the float64 PyTorch fixtures.
	Golden = Level{"golden", 1e-4, 1e-5}
	// BF16Mixed: a bf16 mixed-precision computation (every matmul and the
	// fused attention on bf16 operands, 2^-8 relative rounding each, fp32
	// accumulation) against the same computation in float32: losses of a
	// few training steps of a small model, or attention outputs and
	// gradients compared by relative L2 (RelL2 <= Rel).
	BF16Mixed = Level{"bf16-mixed", 2e-2, 2e-3}
	// BF16Rounding / F16Rounding: one rounding to bfloat16 (8 significant
	// bits: relative 2⁻⁸) or float16 (11 bits: 2⁻¹⁰ with margin) of a value
	// computed in float32.
	BF16Rounding = Level{"bf16-rounding", 1.0 / 256, 1e-6}
	F16Rounding  = Level{"f16-rounding", 1.0 / 1024, 1e-7}
)

// within reports whether got is within lvl of want; two NaNs are equal, and
// infinities must match exactly.
func (lvl Level) within(got, want float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		return got == want
	}
	return math.Abs(got-want) <= lvl.Abs+lvl.Rel*math.Abs(want)
}

// Float is float32 or float64.
type Float interface{ ~float32 | ~float64 }

// Close reports the first index where got and want differ beyond lvl, with
// the largest absolute error, as an error; nil when they agree.
func Close[T, U Float](got []T, want []U, lvl Level) error {
	if len(got) != len(want) {
		return fmt.Errorf("length %d, want %d", len(got), len(want))
	}
	bad, nbad := -1, 0
	maxErr := 0.0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if !lvl.within(g, w) {
			if bad < 0 {
				bad = i
			}
			nbad++
		}
		if e := math.Abs(g - w); e > maxErr && !math.IsNaN(e) {
			maxErr = e
		}
	}
	if bad >= 0 {
		return fmt.Errorf("%d of %d elements beyond %s tolerance (rel %g, abs %g); first at [%d]: got %g want %g; max abs err %g",
			nbad, len(got), lvl.Name, lvl.Rel, lvl.Abs, bad, float64(got[bad]), float64(want[bad]), maxErr)
	}
	return nil
}

// AssertClose fails t (without stopping it) when got and want differ beyond
// lvl, naming what was compared.
func AssertClose[T, U Float](t testing.TB, name string, got []T, want []U, lvl Level) bool {
	t.Helper()
	if err := Close(got, want, lvl); err != nil {
		t.Errorf("%s: %v", name, err)
		return false
	}
	return true
}

// RelL2 returns ||got-want||_2 / ||want||_2 (the plain L2 norm of got-want
// when want is all zeros).
func RelL2[T, U Float](got []T, want []U) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range got {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}
