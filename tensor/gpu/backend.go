//go:build cuda

package gpu

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ragr-dev/ragr/kernels/cuda"
	"github.com/ragr-dev/ragr/tensor"
	"gorgonia.org/cu"
)

func init() {
	tensor.RegisterBackend(tensor.KindCUDA, func(d tensor.Device) (tensor.Backend, error) {
		b, err := Open(d.Index)
		if err != nil {
			return nil, err
		}
		return b, nil
	})
}

// Backend is the CUDA backend of one device: tensor.Backend on the
// launchers of a kernels/cuda.Device.
type Backend struct {
	dev  *cuda.Device
	tdev tensor.Device
	// consts holds float32 0 and 1 (the operands of ops composed from
	// broadcast binary kernels).
	consts *cuda.Buffer
	// mixed: Matmul rounds its operands to bf16 and fused attention is
	// used (SetMixedPrecision; mixed.go).
	mixed atomic.Bool
	// masks caches the last key mask FusedAttention converted (mixed.go).
	masks maskCache
}

var opened struct {
	sync.Mutex
	m map[int]*Backend
}

// Open returns the backend of CUDA device index, opening the device (its
// context and the embedded PTX modules) on first use.
func Open(index int) (*Backend, error) {
	opened.Lock()
	defer opened.Unlock()
	if b, ok := opened.m[index]; ok {
		return b, nil
	}
	d, err := cuda.Open(index)
	if err != nil {
		return nil, fmt.Errorf("tensor/gpu: opening cuda:%d: %w", index, err)
	}
	c, err := cuda.Upload(d, []float32{0, 1})
	if err != nil {
		return nil, fmt.Errorf("tensor/gpu: cuda:%d: %w", index, err)
	}
	b := &Backend{dev: d, tdev: tensor.CUDA(index), consts: c}
	if opened.m == nil {
		opened.m = map[int]*Backend{}
	}
	opened.m[index] = b
	return b, nil
}

// Devices describes every CUDA device the driver sees (name, compute
// capability, SMs, memory), without opening them.
func Devices() ([]string, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("tensor/gpu: counting CUDA devices: %w", err)
	}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		d, err := cu.GetDevice(i)
		if err != nil {
			return nil, fmt.Errorf("tensor/gpu: device %d: %w", i, err)
		}
		name, err := d.Name()
		if err != nil {
			return nil, fmt.Errorf("tensor/gpu: device %d name: %w", i, err)
		}
		major, _ := d.Attribute(cu.ComputeCapabilityMajor)
		minor, _ := d.Attribute(cu.ComputeCapabilityMinor)
		sms, _ := d.Attribute(cu.MultiprocessorCount)
		mem, _ := d.TotalMem()
		out = append(out, fmt.Sprintf("cuda:%d %s (sm_%d%d, %d SMs, %.1f GiB)", i, name, major, minor, sms, float64(mem)/(1<<30)))
	}
	return out, nil
}

// CUDA returns the kernels/cuda device the backend launches on (for pool
// statistics, synchronous launches in tests, benchmarks).
func (b *Backend) CUDA() *cuda.Device { return b.dev }

// Device returns the tensor device (cuda:N).
func (b *Backend) Device() tensor.Device { return b.tdev }

// fail panics with a *tensor.DeviceError for op when err is not nil.
func (b *Backend) fail(op string, err error) {
	if err != nil {
		panic(&tensor.DeviceError{Device: b.tdev, Op: op, Err: err})
	}
}

// wrap returns err as a *tensor.DeviceError for op (nil stays nil).
func (b *Backend) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *tensor.DeviceError
	if errors.As(err, &de) {
		return err
	}
	return &tensor.DeviceError{Device: b.tdev, Op: op, Err: err}
}

// float32Only panics when a tensor is not Float32 (Float64 has no kernels).
func (b *Backend) float32Only(op string, ts ...*tensor.Tensor) {
	for _, t := range ts {
		if t == nil || t.DType() == tensor.Float32 {
			continue
		}
		if t.DType() == tensor.Float64 {
			b.fail(op, errors.New("float64 is not supported on cuda (compute in float32; float64 is the CPU reference type)"))
		}
		b.fail(op, fmt.Errorf("dtype %s is not a compute type on cuda (float32)", t.DType()))
	}
}

func dtypeOK(dt tensor.DType) error {
	switch dt {
	case tensor.Float32, tensor.Int32, tensor.BFloat16, tensor.Float16:
		return nil
	case tensor.Float64:
		return errors.New("float64 is not supported on cuda (compute in float32; float64 is the CPU reference type)")
	}
	return fmt.Errorf("unknown dtype %s", dt)
}

// Alloc returns uninitialised device storage of n elements. Float64 is
// refused. Out of memory: runtime.GC() lets unreachable storage return to
// the pool, then the allocation is tried once more.
func (b *Backend) Alloc(dtype tensor.DType, n int) (*tensor.Storage, error) {
	if n < 0 {
		return nil, b.wrap("Alloc", fmt.Errorf("negative size %d", n))
	}
	if err := dtypeOK(dtype); err != nil {
		return nil, b.wrap("Alloc", err)
	}
	buf, err := b.alloc(int64(n) * int64(dtype.Size()))
	if err != nil {
		return nil, b.wrap("Alloc", fmt.Errorf("%s[%d]: %w", dtype, n, err))
	}
	st := &tensor.Storage{Device: b.tdev, DType: dtype, N: n, Handle: buf}
	runtime.AddCleanup(st, func(buf *cuda.Buffer) { buf.Free() }, buf)
	return st, nil
}

// alloc takes bytes from the pool (cuda.Device.Alloc: on out of memory it
// releases the pool's cache, then collects garbage and retries).
func (b *Backend) alloc(bytes int64) (*cuda.Buffer, error) { return b.dev.Alloc(bytes) }

// temp allocates scratch of n elements of dt, panicking with a DeviceError
// for op when the device is out of memory. Free it with defer: the stream
// orders any reuse after the kernels queued before.
func (b *Backend) temp(op string, dt tensor.DType, n int) *cuda.Buffer {
	buf, err := b.alloc(int64(n) * int64(dt.Size()))
	b.fail(op, err)
	return buf
}

// strict is RAGR_CUDA_STRICT=1: host fallbacks panic instead.
var strict = os.Getenv("RAGR_CUDA_STRICT") == "1"

var fallbacks struct {
	sync.Mutex
	n map[string]int64
}

// HostFallbacks returns how many times each op ran on the host because no
// kernel computes it yet (op names as "IndexRows.int32", "Binary.Add", ...).
func HostFallbacks() map[string]int64 {
	fallbacks.Lock()
	defer fallbacks.Unlock()
	out := make(map[string]int64, len(fallbacks.n))
	for k, v := range fallbacks.n {
		out[k] = v
	}
	return out
}

// SetStrict makes host fallbacks panic with "not supported on cuda yet"
// (on) or run (off, the default unless RAGR_CUDA_STRICT=1); it returns the
// previous setting. Not safe to call while ops run.
func SetStrict(on bool) bool {
	old := strict
	strict = on
	return old
}

// fallback records a host fallback of op, or panics in strict mode.
func (b *Backend) fallback(op string) {
	if strict {
		b.fail(op, errors.New("not supported on cuda yet (no kernel; RAGR_CUDA_STRICT=1 forbids the host fallback)"))
	}
	fallbacks.Lock()
	if fallbacks.n == nil {
		fallbacks.n = map[string]int64{}
	}
	fallbacks.n[op]++
	fallbacks.Unlock()
}

// ptr returns the device address of t's first element (0 for nil).
func ptr(t *tensor.Tensor) cuda.DevicePtr {
	if t == nil {
		return 0
	}
	buf, ok := t.Storage().Handle.(*cuda.Buffer)
	if !ok {
		panic(fmt.Sprintf("tensor/gpu: a %s tensor on %s without a device buffer", t.DType(), t.Device()))
	}
	return buf.Ptr() + cuda.DevicePtr(t.Offset()*t.DType().Size())
}

// keep keeps tensors (and so their storage) reachable until the deferred
// call runs, so no cleanup returns their memory while this method still
// queues work on it.
func keep(ts ...*tensor.Tensor) { runtime.KeepAlive(ts) }

// view is a strided device array: address, dtype, shape, strides.
type view struct {
	p       cuda.DevicePtr
	dt      tensor.DType
	shape   []int
	strides []int
}

func viewOf(t *tensor.Tensor) view {
	return view{p: ptr(t), dt: t.DType(), shape: t.Shape(), strides: t.Strides()}
}

// flat is a contiguous view of buffer buf as shape.
func flat(buf *cuda.Buffer, dt tensor.DType, shape []int) view {
	return view{p: buf.Ptr(), dt: dt, shape: shape, strides: contiguousStrides(shape)}
}

func (v view) contiguous() bool { return isContiguous(v.shape, v.strides) }

func (v view) at(elem int) cuda.DevicePtr { return v.p + cuda.DevicePtr(elem*v.dt.Size()) }

func i64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

func kdtype(dt tensor.DType) cuda.DType {
	switch dt {
	case tensor.BFloat16:
		return cuda.BF16
	case tensor.Float16:
		return cuda.F16
	case tensor.Int32:
		return cuda.I32
	}
	return cuda.F32
}
