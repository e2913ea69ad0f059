package gpu_test

// The backend conformance helpers shared by the CUDA run (main_test.go,
// cuda tag) and the simulated accelerator's run (main_sim_test.go, every
// other build): the same test bodies check a device backend against the
// CPU backend on either.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

var (
	dev      tensor.Device  // the device under test
	gb, cb   tensor.Backend // its backend and the CPU's
	seedBase uint64
)

// initSeed sets seedBase from RAGR_TEST_SEED, else the clock.
func initSeed() error {
	seedBase = uint64(time.Now().UnixNano())
	if s := os.Getenv("RAGR_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("RAGR_TEST_SEED: %w", err)
		}
		seedBase = v
	}
	return nil
}

func newRand(k uint64) *rand.Rand { return testutil.NewRand(seedBase ^ (k * 0x9e3779b97f4a7c15)) }

// uniform returns a float32 CPU tensor of shape with values in [lo, hi).
func uniform(r *rand.Rand, lo, hi float32, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return tensor.FromFloat32(testutil.Uniform32(r, n, lo, hi), shape...)
}

// onDev copies the CPU tensor h to the device under test.
func onDev(t testing.TB, h *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	d, err := h.To(dev)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const guard = 64

// guardVal marks the elements around an output.
const guardVal = -12345

// poisoned returns a contiguous device output of shape and dtype: a view at
// element offset guard into a larger buffer whose other elements are
// guardVal, its own elements NaN (Int32: a huge value). check verifies the
// guards.
func poisoned(t testing.TB, dt tensor.DType, shape ...int) (*tensor.Tensor, func()) {
	t.Helper()
	n := 1
	for _, d := range shape {
		n *= d
	}
	all, err := tensor.NewOn(dev, dt, n+2*guard)
	if err != nil {
		t.Fatal(err)
	}
	all.Fill(guardVal)
	out := all.Narrow(0, guard, n)
	if dt == tensor.Int32 {
		out.Fill(math.MaxInt32)
	} else {
		out.Fill(math.NaN())
	}
	out = out.Reshape(shape...)
	// the guard as the dtype stores it (-12345 rounds to -12352 in bf16)
	gv := tensor.FromFloat64([]float64{guardVal}, 1).Cast(dt).Float64s()[0]
	return out, func() {
		t.Helper()
		v := all.Float64s()
		for i := 0; i < guard; i++ {
			if v[i] != gv || v[n+guard+i] != gv {
				t.Fatalf("guard elements around an output of %v overwritten: before[%d]=%v after[%d]=%v", shape, i, v[i], i, v[n+guard+i])
			}
		}
	}
}

// same compares a device result with the CPU one at lvl.
func same(t testing.TB, name string, got, want *tensor.Tensor, lvl testutil.Level) {
	t.Helper()
	if !tensor.SameShape(got, want) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
	}
	testutil.AssertClose(t, name, got.Float64s(), want.Float64s(), lvl)
}

// sameScaled compares with the level's relative part taken of scale (the
// sum of the absolute values of the terms of each result) instead of the
// possibly cancelled result.
func sameScaled(t testing.TB, name string, got, want, scale *tensor.Tensor, lvl testutil.Level) {
	t.Helper()
	g, w, s := got.Float64s(), want.Float64s(), scale.Float64s()
	for i := range w {
		if math.IsNaN(g[i]) != math.IsNaN(w[i]) || math.Abs(g[i]-w[i]) > lvl.Abs+lvl.Rel*s[i] {
			t.Errorf("%s: element %d = %.9g, want %.9g (term scale %.3g, %s)", name, i, g[i], w[i], s[i], lvl.Name)
			return
		}
	}
}

// sizes are element counts not multiples of any vector or block width.
var sizes = []int{1, 3, 17, 1000, 4097}

func abs(h *tensor.Tensor) *tensor.Tensor { return tensor.Unary(tensor.OpAbs, h.Contiguous()) }
