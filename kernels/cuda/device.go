//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ragr-dev/ragr/kernels"
	"gorgonia.org/cu"
)

// DevicePtr is a device address (an alias of cu.DevicePtr, so callers need
// not import cu).
type DevicePtr = cu.DevicePtr

// Device is one GPU with its primary context, the embedded PTX modules
// loaded into it, a stream, and a caching allocator. A Device may be used
// from several goroutines; launches and copies are serialized on its one
// stream.
type Device struct {
	ordinal int
	dev     cu.Device
	ctx     cu.CUContext
	stream  cu.Stream

	// Name is the GPU's name as the driver reports it.
	Name string
	// SMs is the number of streaming multiprocessors.
	SMs int
	// Major and Minor are the compute capability.
	Major, Minor int
	// SharedPerBlock is the largest shared memory (bytes) a block may opt in to.
	SharedPerBlock int
	// L2Bytes is the L2 cache size.
	L2Bytes int
	// TotalMem is the device memory in bytes.
	TotalMem int64

	mu        sync.Mutex
	modules   map[string]cu.Module // by module name
	skipped   map[string]string    // embedded modules not loaded (another architecture's target): name -> target
	wgmmaErr  error                // why the sm_90a GEMM cannot run (nil: it can)
	attn90Err error                // why the sm_90a attention kernels cannot run (nil: it can)
	entryMod  map[string]string    // kernel name -> module name
	params    map[string][]kernels.Param
	funcs     map[string]cu.Function // looked up lazily
	syncEach  atomic.Bool
	poison    bool                     // RAGR_CUDA_POISON=1: every allocation filled with NaN
	prof      atomic.Pointer[profiler] // non-nil while profiling (profile.go)

	pool pool
	gc   gcPacer
}

// Open creates the context of GPU ordinal (the device's primary context),
// loads every embedded PTX module the device can run once (the driver
// JIT-compiles compute_80 PTX for the GPU at hand; sm_90a modules load only
// on compute capability 9.0), then the PTX files named in RAGR_EXTRA_PTX
// (comma-separated paths; each must run on the device, and no kernel may be
// defined twice), and creates the device's stream. RAGR_GEMM90=0 in the
// environment turns the sm_90a GEMM off (CheckWGMMA says so), RAGR_ATTN90=0
// the sm_90a attention kernels (CheckAttn90 says so).
func Open(ordinal int) (*Device, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda.Open: counting devices: %w", err)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda.Open: device %d does not exist (%d devices)", ordinal, n)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return nil, fmt.Errorf("cuda.Open: device %d: %w", ordinal, err)
	}
	d := &Device{ordinal: ordinal, dev: dev,
		modules: map[string]cu.Module{}, entryMod: map[string]string{}, funcs: map[string]cu.Function{}, params: map[string][]kernels.Param{},
	}
	d.syncEach.Store(os.Getenv("RAGR_CUDA_SYNC") == "1")
	d.poison = os.Getenv(PoisonEnv) == "1"
	d.pool.init()
	if d.Name, err = dev.Name(); err != nil {
		return nil, fmt.Errorf("cuda.Open: device %d name: %w", ordinal, err)
	}
	attrs := []struct {
		a cu.DeviceAttribute
		p *int
	}{
		{cu.MultiprocessorCount, &d.SMs},
		{cu.ComputeCapabilityMajor, &d.Major},
		{cu.ComputeCapabilityMinor, &d.Minor},
		{cu.DeviceAttribute(attrSharedOptin), &d.SharedPerBlock},
		{cu.L2CacheSize, &d.L2Bytes},
	}
	for _, a := range attrs {
		if *a.p, err = dev.Attribute(a.a); err != nil {
			return nil, fmt.Errorf("cuda.Open: device %d attribute %v: %w", ordinal, a.a, err)
		}
	}
	if d.TotalMem, err = dev.TotalMem(); err != nil {
		return nil, fmt.Errorf("cuda.Open: device %d memory size: %w", ordinal, err)
	}
	extra, err := readExtraPTXEnv()
	if err != nil {
		return nil, fmt.Errorf("cuda.Open: device %d: %w", ordinal, err)
	}
	load, skipped, err := planModules(kernels.Modules(), extra, d.Major, d.Minor)
	if err != nil {
		return nil, fmt.Errorf("cuda.Open: device %d: %w", ordinal, err)
	}
	d.skipped = skipped
	if d.ctx, err = dev.RetainPrimaryCtx(); err != nil {
		return nil, fmt.Errorf("cuda.Open: device %d primary context: %w", ordinal, err)
	}
	err = d.do(func() error {
		var err error
		if d.stream, err = cu.MakeStream(cu.DefaultStream); err != nil {
			return fmt.Errorf("cuda.Open: creating stream: %w", err)
		}
		for _, m := range load {
			mod, err := cu.LoadData(m.PTX)
			if err != nil {
				return fmt.Errorf("cuda.Open: loading PTX module %s (%s, target %s, %d kernels): %w", m.Name, m.source, m.Target, len(m.Entries), err)
			}
			d.modules[m.Name] = mod
			for _, e := range m.Entries {
				d.entryMod[e] = m.Name
				d.params[e] = m.Params[e]
			}
		}
		return nil
	})
	if err != nil {
		_ = dev.ReleasePrimaryCtx()
		return nil, err
	}
	if why := gemm90Missing(d.Major, d.Minor, d.Has); why != "" {
		d.wgmmaErr = errors.New(why)
	} else if os.Getenv(Gemm90Env) == "0" {
		d.wgmmaErr = fmt.Errorf("the sm_90a GEMM is turned off (%s=0 in the environment)", Gemm90Env)
	} else {
		d.wgmmaErr = initTensorMapEncoder()
	}
	d.attn90Err = attn90Unavailable(d.Major, d.Minor, d.Has, os.Getenv(Attn90Env))
	return d, nil
}

// CheckWGMMA returns nil when GEMM can take the sm_90a path on d (compute
// capability 9.0, every ragr_gemm90_* kernel loaded, a driver with
// cuTensorMapEncodeTiled, not turned off by RAGR_GEMM90=0), else an error
// saying what is missing.
func (d *Device) CheckWGMMA() error { return d.wgmmaErr }

// CheckAttn90 returns nil when AttentionForward and AttentionBackward can take the sm_90a path
// on d (compute capability 9.0, every ragr_attn90_* kernel loaded, not
// turned off by RAGR_ATTN90=0), else an error saying what is missing.
func (d *Device) CheckAttn90() error { return d.attn90Err }

// String describes the device: ordinal, name, compute capability, SMs, memory.
func (d *Device) String() string {
	return fmt.Sprintf("cuda:%d %s (sm_%d%d, %d SMs, %.1f GiB)", d.ordinal, d.Name, d.Major, d.Minor, d.SMs, float64(d.TotalMem)/(1<<30))
}

// Close frees the allocator's cached blocks and releases the primary
// context. Buffers still alive become invalid (freeing them later is
// harmless); Alloc fails from then on.
func (d *Device) Close() error {
	var first error
	d.pool.mu.Lock()
	d.pool.closed = true // buffers freed from now on are not cached; Alloc fails
	d.pool.mu.Unlock()
	err := d.do(func() error {
		if e := d.pool.releaseCached(); e != nil {
			first = e
		}
		if e := d.stream.Destroy(); e != nil && first == nil {
			first = fmt.Errorf("cuda.Close: destroying stream: %w", e)
		}
		for name, m := range d.modules {
			if e := m.Unload(); e != nil && first == nil {
				first = fmt.Errorf("cuda.Close: unloading module %s: %w", name, e)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if e := d.dev.ReleasePrimaryCtx(); e != nil && first == nil {
		first = fmt.Errorf("cuda.Close: releasing context: %w", e)
	}
	return first
}

// PoisonEnv names the environment variable that, set to 1 at Open, fills
// every block Alloc hands out (a reused pool block too) with float32 NaNs,
// so that a kernel or an op relying on fresh memory being zero, or reading
// what it did not write, shows in the results (the fake-driver CI runs with
// it; slow on a GPU: a memset per allocation).
const PoisonEnv = "RAGR_CUDA_POISON"

// SetSyncLaunch makes every later Launch synchronize the device and report
// an execution error against the kernel just launched (slow; for tests and
// debugging). It returns the previous setting. RAGR_CUDA_SYNC=1 turns it on
// at Open.
func (d *Device) SetSyncLaunch(on bool) bool { return d.syncEach.Swap(on) }

// do runs fn on a locked OS thread with the device's context current: CUDA
// contexts are per thread and goroutines move between threads.
func (d *Device) do(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(d.ctx); err != nil {
		return fmt.Errorf("cuda: making the context of device %d current: %w", d.ordinal, err)
	}
	return fn()
}

// Synchronize waits until all work queued on the device's stream has
// finished and returns the first asynchronous error, if any.
func (d *Device) Synchronize() error {
	return d.do(func() error {
		if err := d.stream.Synchronize(); err != nil {
			return fmt.Errorf("cuda: synchronize device %d: %w", d.ordinal, err)
		}
		return nil
	})
}

// MemInfo returns the device's free and total memory in bytes.
func (d *Device) MemInfo() (free, total int64, err error) {
	err = d.do(func() error {
		var e error
		free, total, e = cu.MemInfo()
		return e
	})
	return free, total, err
}

// Has reports whether a loaded module (embedded, or from RAGR_EXTRA_PTX)
// defines the kernel named name.
func (d *Device) Has(name string) bool {
	_, ok := d.entryMod[name]
	return ok
}

// function returns the cached handle of kernel name, looking it up on first
// use. Called with the context current.
func (d *Device) function(name string) (cu.Function, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.funcs[name]; ok {
		return f, nil
	}
	mname, ok := d.entryMod[name]
	if !ok {
		if m, found := kernels.Find(name); found && d.skipped[m.Name] != "" {
			return cu.Function{}, fmt.Errorf("kernel %s: its module %s (target %s) does not run on this sm_%d%d device", name, m.Name, m.Target, d.Major, d.Minor)
		}
		return cu.Function{}, fmt.Errorf("kernel %s: no loaded PTX module defines it (run make kernels? for sm_90a kernels, %s)", name, ExtraPTXEnv)
	}
	f, err := d.modules[mname].Function(name)
	if err != nil {
		return cu.Function{}, fmt.Errorf("kernel %s: looking it up in module %s: %w", name, mname, err)
	}
	d.funcs[name] = f
	return f, nil
}
