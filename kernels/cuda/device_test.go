//go:build cuda

package cuda

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ragr-dev/ragr/kernels"
)

func TestDeviceModulesLoaded(t *testing.T) {
	for _, m := range kernels.Modules() {
		runs := m.RunsOn(dev.Major, dev.Minor)
		for _, e := range m.Entries {
			if dev.Has(e) != runs {
				t.Errorf("kernel %s of module %s (target %s): registered %v on sm_%d%d", e, m.Name, m.Target, dev.Has(e), dev.Major, dev.Minor)
			}
		}
	}
	if err := dev.Launch("ragr_no_such_kernel", [3]int{1, 1, 1}, [3]int{1, 1, 1}, 0); err == nil || !strings.Contains(err.Error(), "ragr_no_such_kernel") {
		t.Fatalf("unknown kernel: error %v, want one naming the kernel", err)
	}
}

func TestAllocatorStats(t *testing.T) {
	before := dev.Stats()
	b, err := dev.Alloc(1000)
	must(t, err)
	st := dev.Stats()
	if st.Current-before.Current != 1024 {
		t.Fatalf("Current grew by %d, want 1024 (the 512-byte class of 1000)", st.Current-before.Current)
	}
	if st.Peak < st.Current {
		t.Fatalf("Peak %d < Current %d", st.Peak, st.Current)
	}
	p := b.Ptr()
	b.Free()
	b2, err := dev.Alloc(900)
	must(t, err)
	if b2.Ptr() != p {
		t.Errorf("a freed block of the same class was not reused")
	}
	b2.Free()
	if got := dev.Stats().Current; got != before.Current {
		t.Fatalf("Current %d after freeing, want %d", got, before.Current)
	}
	// An impossible request fails with an error naming the request and the pool.
	_, err = dev.Alloc(1 << 50)
	if err == nil || !strings.Contains(err.Error(), "1125899906842624 bytes") || !strings.Contains(err.Error(), "pool:") {
		t.Fatalf("huge Alloc: error %v, want one naming the request and the pool's use", err)
	}
}

// TestAllocGCPacing: buffers owned by garbage (freed by cleanups, as
// tensor/gpu's storage is) do not pile up in the pool: 4 GiB of 64 MiB
// buffers dropped one after the other keep the in-use peak near the
// pacer's trigger, and background collections ran.
func TestAllocGCPacing(t *testing.T) {
	type owner struct{ _ [64]byte }
	runtime.GC()
	dev.settle()
	dev.ResetPeak()
	before := dev.Stats().Current
	runs := dev.GCRuns()
	for i := 0; i < 64; i++ {
		b, err := dev.Alloc(64 << 20)
		must(t, err)
		o := &owner{}
		runtime.AddCleanup(o, func(b *Buffer) { b.Free() }, b)
		time.Sleep(time.Millisecond) // the background collection gets a turn, as it would between real launches
	}
	for i := 0; i < 500 && dev.gc.running.Load(); i++ { // the last collection finishing
		time.Sleep(2 * time.Millisecond)
	}
	st := dev.Stats()
	if grew := st.Peak - before; grew > 2<<30 {
		t.Errorf("in-use peak grew by %d MiB over 4 GiB of dropped buffers, want at most 2048 (pacing trigger %d MiB)", grew>>20, GCMinTrigger>>20)
	}
	if dev.GCRuns() == runs {
		t.Errorf("no background collection ran")
	}
}

func TestCopyRoundTrip(t *testing.T) {
	for _, n := range oddSizes {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(i) * 0.5
		}
		p := up(t, src)
		o := out(t, n, 4)
		must(t, dev.CopyDtoD(o.ptr(), p, int64(n)*4))
		got := o.f32(t)
		for i := range got {
			if got[i] != src[i] {
				t.Fatalf("n=%d: element %d = %v, want %v", n, i, got[i], src[i])
			}
		}
	}
}

func TestLaunchArgErrors(t *testing.T) {
	err := dev.Launch("ragr_scale_f32", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, "bad")
	if err == nil || !strings.Contains(err.Error(), "ragr_scale_f32") {
		t.Fatalf("bad argument type: error %v", err)
	}
	err = dev.Launch("ragr_scale_f32", [3]int{0, 1, 1}, [3]int{32, 1, 1}, 0, DevicePtr(0), DevicePtr(0), float32(1), int64(0))
	if err == nil || !strings.Contains(err.Error(), "geometry") {
		t.Fatalf("zero grid: error %v", err)
	}
	// an int where the kernel takes a long long is caught before the launch
	err = dev.Launch("ragr_scale_f32", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, DevicePtr(0), DevicePtr(0), float32(1), 5)
	if err == nil || !strings.Contains(err.Error(), "argument 3 is 4 bytes") {
		t.Fatalf("int for long long: error %v", err)
	}
	err = dev.Launch("ragr_scale_f32", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, DevicePtr(0))
	if err == nil || !strings.Contains(err.Error(), "1 arguments, the kernel takes 4") {
		t.Fatalf("missing arguments: error %v", err)
	}
}

// TestExtraPTX: Open loads the PTX files of RAGR_EXTRA_PTX beside the
// embedded modules; a missing file or a kernel defined twice is an error
// naming it.
func TestExtraPTX(t *testing.T) {
	dir := t.TempDir()
	write := func(name, ptx string) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(ptx), 0o644))
		return p
	}
	const noop = `.version 7.0
.target sm_80
.address_size 64

.visible .entry ragr_extratest_noop(
	.param .u64 ragr_extratest_noop_param_0
)
{
	ret;
}
`
	good := write("extratest.ptx", noop)
	t.Setenv(ExtraPTXEnv, good)
	d2, err := Open(0)
	must(t, err)
	if !d2.Has("ragr_extratest_noop") || !d2.Has("ragr_scale_f32") {
		t.Errorf("extra kernel loaded %v, embedded kernel loaded %v", d2.Has("ragr_extratest_noop"), d2.Has("ragr_scale_f32"))
	}
	err = d2.Launch("ragr_extratest_noop", [3]int{1, 1, 1}, [3]int{32, 1, 1}, 0, DevicePtr(0))
	if err == nil {
		err = d2.Synchronize()
	}
	must(t, err)
	must(t, d2.Close())

	dup := write("dup.ptx", strings.ReplaceAll(noop, "ragr_extratest_noop", "ragr_scale_f32"))
	for _, c := range []struct{ list, want string }{
		{good + "," + dup, "kernel ragr_scale_f32 defined twice"},
		{filepath.Join(dir, "missing.ptx"), "missing.ptx"},
		{good + "," + good, "module extratest loaded twice"},
	} {
		t.Setenv(ExtraPTXEnv, c.list)
		d3, err := Open(0)
		if err == nil {
			d3.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), ExtraPTXEnv) {
			t.Errorf("%s=%s: error %v, want one containing %q", ExtraPTXEnv, c.list, err, c.want)
		}
	}
}

// TestGCTrigger: twice the low-water mark, capped halfway to the device's
// memory (a large live set or one big tensor alive at the last collection
// must not put the trigger beyond the device), at least GCMinTrigger.
func TestGCTrigger(t *testing.T) {
	const gib = int64(1) << 30
	for _, c := range []struct{ low, total, want int64 }{
		{0, 80 * gib, GCMinTrigger},
		{gib, 80 * gib, 2 * gib},
		{24 * gib, 80 * gib, 48 * gib},
		{41 * gib, 80 * gib, 41*gib + 39*gib/2}, // one 40 GiB tensor alive at the last collection
		{70 * gib, 80 * gib, 75 * gib},
		{90 * gib, 80 * gib, 90 * gib}, // over the reported total: never below low
		{5 * gib, 0, 10 * gib},         // total unknown: no cap
	} {
		if got := gcTrigger(c.low, c.total); got != c.want {
			t.Errorf("gcTrigger(%d GiB, %d GiB) = %.2f GiB, want %.2f", c.low/gib, c.total/gib, float64(got)/float64(gib), float64(c.want)/float64(gib))
		}
	}
}

// TestAllocAfterClose: a buffer freed after its device was closed is not
// cached (its memory went with the context), and Alloc fails with an error
// saying so instead of handing out a dead block.
func TestAllocAfterClose(t *testing.T) {
	d2, err := Open(dev.ordinal)
	must(t, err)
	b, err := d2.Alloc(4096)
	must(t, err)
	must(t, d2.Close())
	b.Free()
	if st := d2.Stats(); st.Cached != 0 || st.Current != 0 {
		t.Errorf("after Close and Free: %d B cached, %d B in use; want 0, 0", st.Cached, st.Current)
	}
	if _, err := d2.Alloc(4096); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Alloc after Close: error %v, want one saying the device is closed", err)
	}
}
