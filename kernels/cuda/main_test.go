//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// dev is the GPU every test runs on (device 0), opened once by TestMain
// with synchronous launches, so that a fault is reported by the launch
// that caused it.
var dev *Device

// seedBase makes every run draw fresh inputs: RAGR_TEST_SEED, or the clock.
// TestMain prints it; RAGR_TEST_SEED=<seed> reproduces a run.
var seedBase uint64

// newRand returns the generator of one test: seedBase mixed with the
// test's own constant, so tests draw different streams.
func newRand(k uint64) *rand.Rand { return testutil.NewRand(seedBase ^ (k * 0x9e3779b97f4a7c15)) }

func TestMain(m *testing.M) {
	var err error
	dev, err = Open(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cuda tests: opening device 0:", err)
		os.Exit(1)
	}
	dev.SetSyncLaunch(true)
	seedBase = uint64(time.Now().UnixNano())
	if s := os.Getenv("RAGR_TEST_SEED"); s != "" {
		if seedBase, err = strconv.ParseUint(s, 10, 64); err != nil {
			fmt.Fprintln(os.Stderr, "cuda tests: RAGR_TEST_SEED:", err)
			os.Exit(2)
		}
	}
	fmt.Fprintf(os.Stderr, "cuda tests on %v, seed %d (RAGR_TEST_SEED=%d reproduces the inputs)\n", dev, seedBase, seedBase)
	code := m.Run()
	if st := dev.Stats(); st.Current != 0 {
		fmt.Fprintf(os.Stderr, "cuda tests: %d bytes still allocated at exit (a test leaks buffers)\n", st.Current)
		if code == 0 {
			code = 1
		}
	}
	if err := dev.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "cuda tests: close:", err)
	}
	os.Exit(code)
}

// Tolerance levels per storage dtype: the one place tests take them from.
// The tolerance levels of these tests, all from internal/testutil: bf16 and
// fp16 results are rounded to 8 and 11 significant bits, so their levels
// allow one unit in the last place of the stored value on top of fp32
// compute.
var (
	tolF32      = testutil.F32
	tolF32Accum = testutil.F32Accum
	tolBF16     = testutil.BF16Rounding
	tolF16      = testutil.F16Rounding
)

// assertCloseScaled is testutil.AssertClose with the level's relative part
// taken of scale[i] instead of |want[i]|: for results that are sums of
// terms that can cancel (a reduction, a softmax gradient), where a correct
// float32 kernel's error is relative to the terms' magnitude (scale: the
// sum of their absolute values), not to the possibly tiny result.
func assertCloseScaled(t testing.TB, name string, got []float32, want, scale []float64, lvl testutil.Level) bool {
	t.Helper()
	for i := range want {
		g, w := float64(got[i]), want[i]
		if math.IsNaN(g) || math.IsNaN(w) {
			if math.IsNaN(g) != math.IsNaN(w) {
				t.Errorf("%s: element %d = %v, want %v", name, i, g, w)
				return false
			}
			continue
		}
		if math.Abs(g-w) > lvl.Abs+lvl.Rel*scale[i] {
			t.Errorf("%s: element %d = %.9g, want %.9g (|err| %.3g > %s bound %.3g for term scale %.3g)",
				name, i, g, w, math.Abs(g-w), lvl.Name, lvl.Abs+lvl.Rel*scale[i], scale[i])
			return false
		}
	}
	return true
}

// ropeAngleBound bounds |cos/sin(device) - cos/sin(reference)| for RoPE
// angle f = pos*inv_freq: CUDA documents powf to 4 ulp, so inv_freq (and
// with it f) may differ from the Go reference by 4 ulp plus the division's
// rounding, i.e. up to |f|*2^-21, plus float32 cos/sin rounding (tolF32's
// absolute part).
func ropeAngleBound(f float64) float64 { return math.Abs(f)*0x1p-21 + tolF32.Abs }

const guardWords = 64 // 256 bytes of guard on each side of an output

// devOut is a poisoned device output buffer with guard words around it:
// every element starts as NaN (float32 0x7fc00000, or 0x7fc0 pairs for
// 16-bit types), the guards as 0xDEADBEEF, so an unwritten element or a
// write out of bounds shows.
type devOut struct {
	buf   *Buffer
	n     int   // elements
	elem  int   // bytes per element
	bytes int64 // bytes of the interior
}

func newOut(t testing.TB, n int, elemBytes int) *devOut {
	t.Helper()
	bytes := int64(n) * int64(elemBytes)
	words := (bytes + 3) / 4
	b, err := dev.Alloc((words + 2*guardWords) * 4)
	if err != nil {
		t.Fatal(err)
	}
	o := &devOut{buf: b, n: n, elem: elemBytes, bytes: bytes}
	o.poison(t)
	return o
}

func (o *devOut) poison(t testing.TB) {
	t.Helper()
	words := (o.bytes + 3) / 4
	pat := uint32(0x7fc07fc0) // bf16/fp16 NaN pairs
	if o.elem == 4 {
		pat = 0x7fc00000 // float32 NaN (int32 outputs: a huge value)
	}
	must(t, dev.Memset32(o.buf.Ptr(), 0xDEADBEEF, guardWords))
	must(t, dev.Memset32(o.buf.At(guardWords*4), pat, words))
	must(t, dev.Memset32(o.buf.At(guardWords*4+words*4), 0xDEADBEEF, guardWords))
	if o.bytes%4 == 2 { // the last word's upper half lies past the output: a guard too
		must(t, CopyHtoD(dev, o.buf.At(guardWords*4+o.bytes), []uint16{0xBEEF}))
	}
}

// ptr is the interior's device address.
func (o *devOut) ptr() DevicePtr { return o.buf.At(guardWords * 4) }

// check verifies the guards are untouched.
func (o *devOut) check(t testing.TB) {
	t.Helper()
	words := (o.bytes + 3) / 4
	lo := make([]uint32, guardWords)
	hi := make([]uint32, guardWords)
	must(t, CopyDtoH(dev, lo, o.buf.Ptr()))
	must(t, CopyDtoH(dev, hi, o.buf.At(guardWords*4+words*4)))
	for i := range lo {
		if lo[i] != 0xDEADBEEF || hi[i] != 0xDEADBEEF {
			t.Fatalf("guard words overwritten around a %d-byte output: before[%d]=%#x after[%d]=%#x", o.bytes, i, lo[i], i, hi[i])
		}
	}
	if o.bytes%4 == 2 {
		var tail [1]uint16
		must(t, CopyDtoH(dev, tail[:], o.buf.At(guardWords*4+o.bytes)))
		if tail[0] != 0xBEEF {
			t.Fatalf("guard half-word after a %d-byte output overwritten: %#x", o.bytes, tail[0])
		}
	}
}

func (o *devOut) f32(t testing.TB) []float32 {
	t.Helper()
	out := make([]float32, o.n)
	must(t, CopyDtoH(dev, out, o.ptr()))
	o.check(t)
	return out
}

func (o *devOut) u16(t testing.TB) []uint16 {
	t.Helper()
	out := make([]uint16, o.n)
	must(t, CopyDtoH(dev, out, o.ptr()))
	o.check(t)
	return out
}

func (o *devOut) i32(t testing.TB) []int32 {
	t.Helper()
	out := make([]int32, o.n)
	must(t, CopyDtoH(dev, out, o.ptr()))
	o.check(t)
	return out
}

func (o *devOut) free() { o.buf.Free() }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// up uploads host data and registers the buffer's Free with t.Cleanup.
func up[T Elem](t testing.TB, src []T) DevicePtr {
	t.Helper()
	b, err := Upload(dev, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Free)
	return b.Ptr()
}

// out makes a poisoned output and registers its Free with t.Cleanup.
func out(t testing.TB, n, elemBytes int) *devOut {
	t.Helper()
	o := newOut(t, n, elemBytes)
	t.Cleanup(o.free)
	return o
}

// oddSizes are the element counts every element-wise kernel is tested at:
// not multiples of the vector width or the block size.
var oddSizes = []int{1, 3, 17, 1000, 4097, 65537}

// allFinite reports the index of the first NaN or Inf in x, or -1.
func allFinite(x []float32) int {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	return -1
}
