package tensor

import (
	"fmt"
	"strings"
)

// Storage is a flat buffer of elements of one dtype on one device. On the CPU
// exactly one of the typed slices is set; other backends keep their handle in
// Handle and the length in N.
type Storage struct {
	Device Device
	DType  DType
	// N is the number of elements.
	N int
	// F32, F64, U16 and I32 are the host buffers (CPU only): F32 for Float32,
	// F64 for Float64, U16 for BFloat16 and Float16 bits, I32 for Int32.
	F32 []float32
	F64 []float64
	U16 []uint16
	I32 []int32
	// Handle is a non-CPU backend's own reference to device memory.
	Handle any
}

// newCPUStorage allocates zeroed host storage.
func newCPUStorage(dtype DType, n int) *Storage {
	s := &Storage{Device: CPU, DType: dtype, N: n}
	switch dtype {
	case Float32:
		s.F32 = make([]float32, n)
	case Float64:
		s.F64 = make([]float64, n)
	case BFloat16, Float16:
		s.U16 = make([]uint16, n)
	case Int32:
		s.I32 = make([]int32, n)
	default:
		panic(fmt.Sprintf("tensor: unknown dtype %d", dtype))
	}
	return s
}

// Tensor is an N-d strided view of a Storage. The zero value is not usable;
// make tensors with the constructors. Views share storage with their source.
type Tensor struct {
	shape   []int
	strides []int
	offset  int
	st      *Storage
}

// contiguousStrides returns row-major strides for shape.
func contiguousStrides(shape []int) []int {
	strides := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	return strides
}

// numel is the product of shape.
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func checkShape(op string, shape []int) {
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor.%s: negative dimension in shape %v", op, shape))
		}
	}
}

func cloneInts(s []int) []int { return append([]int(nil), s...) }

// fromStorage wraps st as a contiguous tensor of shape.
func fromStorage(st *Storage, shape []int) *Tensor {
	return &Tensor{shape: cloneInts(shape), strides: contiguousStrides(shape), st: st}
}

// New returns a zero-filled CPU tensor of dtype and shape.
func New(dtype DType, shape ...int) *Tensor {
	checkShape("New", shape)
	return fromStorage(newCPUStorage(dtype, numel(shape)), shape)
}

// NewOn returns a zero-filled tensor on device d, or an error when the device
// is unavailable or the allocation fails.
func NewOn(d Device, dtype DType, shape ...int) (*Tensor, error) {
	checkShape("NewOn", shape)
	b, err := BackendFor(d)
	if err != nil {
		return nil, err
	}
	st, err := b.Alloc(dtype, numel(shape))
	if err != nil {
		return nil, fmt.Errorf("tensor: allocating %s %v on %s: %w", dtype, shape, d, err)
	}
	t := fromStorage(st, shape)
	if d.Kind != KindCPU {
		b.Fill(t, 0)
	}
	return t, nil
}

// Zeros returns a zero-filled float32 CPU tensor.
func Zeros(shape ...int) *Tensor { return New(Float32, shape...) }

// ZerosLike returns a zero-filled contiguous tensor with t's shape, dtype and
// device.
func ZerosLike(t *Tensor) *Tensor { return ZerosAs(t, t.shape...) }

// Full returns a float32 CPU tensor filled with v.
func Full(v float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.st.F32 {
		t.st.F32[i] = v
	}
	return t
}

// Ones returns a float32 CPU tensor of ones.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// FromFloat32 wraps data (no copy) as a CPU tensor of shape; len(data) must
// equal the number of elements.
func FromFloat32(data []float32, shape ...int) *Tensor {
	checkData("FromFloat32", len(data), shape)
	return fromStorage(&Storage{Device: CPU, DType: Float32, N: len(data), F32: data}, shape)
}

// FromFloat64 wraps data (no copy) as a CPU tensor of shape.
func FromFloat64(data []float64, shape ...int) *Tensor {
	checkData("FromFloat64", len(data), shape)
	return fromStorage(&Storage{Device: CPU, DType: Float64, N: len(data), F64: data}, shape)
}

// FromInt32 wraps data (no copy) as a CPU tensor of shape.
func FromInt32(data []int32, shape ...int) *Tensor {
	checkData("FromInt32", len(data), shape)
	return fromStorage(&Storage{Device: CPU, DType: Int32, N: len(data), I32: data}, shape)
}

// FromUint16 wraps raw bfloat16 or float16 bits (no copy) as a CPU tensor.
func FromUint16(dtype DType, data []uint16, shape ...int) *Tensor {
	if dtype != BFloat16 && dtype != Float16 {
		panic(fmt.Sprintf("tensor.FromUint16: dtype %s is not a 16-bit float type", dtype))
	}
	checkData("FromUint16", len(data), shape)
	return fromStorage(&Storage{Device: CPU, DType: dtype, N: len(data), U16: data}, shape)
}

// Scalar returns a 0-d float32 CPU tensor.
func Scalar(v float32) *Tensor { return FromFloat32([]float32{v}) }

// Scalar64 returns a 0-d float64 CPU tensor.
func Scalar64(v float64) *Tensor { return FromFloat64([]float64{v}) }

func checkData(op string, n int, shape []int) {
	checkShape(op, shape)
	if numel(shape) != n {
		panic(fmt.Sprintf("tensor.%s: %d values for shape %v (%d elements)", op, n, shape, numel(shape)))
	}
}

// Shape returns a copy of the tensor's shape.
func (t *Tensor) Shape() []int { return cloneInts(t.shape) }

// Strides returns a copy of the tensor's strides, in elements.
func (t *Tensor) Strides() []int { return cloneInts(t.strides) }

// Offset returns the index of the tensor's first element in its storage.
func (t *Tensor) Offset() int { return t.offset }

// Storage returns the storage the tensor views (shared with other views).
func (t *Tensor) Storage() *Storage { return t.st }

// NDim returns the number of dimensions.
func (t *Tensor) NDim() int { return len(t.shape) }

// Dim returns the size of dimension i (negative i counts from the end).
func (t *Tensor) Dim(i int) int { return t.shape[t.axis("Dim", i)] }

// Numel returns the number of elements.
func (t *Tensor) Numel() int { return numel(t.shape) }

// DType returns the element type.
func (t *Tensor) DType() DType { return t.st.DType }

// Device returns the device of the storage.
func (t *Tensor) Device() Device { return t.st.Device }

// IsContiguous reports whether the tensor is row-major contiguous (dimensions
// of size 1 may have any stride).
func (t *Tensor) IsContiguous() bool {
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.strides[i] != s {
			return false
		}
		s *= t.shape[i]
	}
	return true
}

// axis normalises a possibly negative axis, panicking when out of range.
func (t *Tensor) axis(op string, i int) int {
	n := len(t.shape)
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		panic(fmt.Sprintf("tensor.%s: axis %d out of range for shape %v", op, i, t.shape))
	}
	return i
}

// SameShape reports whether a and b have equal shapes.
func SameShape(a, b *Tensor) bool { return equalInts(a.shape, b.shape) }

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// empty allocates a contiguous tensor on t's device: zeroed on the CPU,
// uninitialised on other devices (every caller writes all of it or fills
// it first). Allocation failure on a
// device is reported as a panic carrying the backend's error: ops have no
// error return, and callers that must survive it allocate with NewOn first.
func (t *Tensor) empty(dtype DType, shape []int) *Tensor {
	if t.st.Device.Kind == KindCPU {
		return New(dtype, shape...)
	}
	// not zeroed off the CPU: every op writes all of its output (a memset per
	// op output cost 5% of a BERT-base training step on an H200); the ones
	// that accumulate start from ZerosAs
	checkShape("empty", shape)
	b, err := BackendFor(t.st.Device)
	if err != nil {
		panic(err)
	}
	st, err := b.Alloc(dtype, numel(shape))
	if err != nil {
		panic(fmt.Errorf("tensor: allocating %s %v on %s: %w", dtype, shape, t.st.Device, err))
	}
	return fromStorage(st, shape)
}

// backend returns the backend of t's device.
func (t *Tensor) backend() Backend {
	if t.st.Device.Kind == KindCPU {
		return cpuBackendInstance
	}
	b, err := BackendFor(t.st.Device)
	if err != nil {
		panic(err)
	}
	return b
}

// Data32 returns the float32 storage slice of a contiguous CPU float32 tensor
// (shared, not copied), covering exactly its elements.
func (t *Tensor) Data32() []float32 {
	t.mustHost("Data32", Float32)
	n := t.Numel()
	return t.st.F32[t.offset : t.offset+n : t.offset+n]
}

// Data64 is Data32 for float64 tensors.
func (t *Tensor) Data64() []float64 {
	t.mustHost("Data64", Float64)
	n := t.Numel()
	return t.st.F64[t.offset : t.offset+n : t.offset+n]
}

// DataI32 is Data32 for int32 tensors.
func (t *Tensor) DataI32() []int32 {
	t.mustHost("DataI32", Int32)
	n := t.Numel()
	return t.st.I32[t.offset : t.offset+n : t.offset+n]
}

// DataU16 is Data32 for bfloat16 and float16 tensors (their raw bits).
func (t *Tensor) DataU16() []uint16 {
	if t.DType() != BFloat16 && t.DType() != Float16 {
		panic(fmt.Sprintf("tensor.DataU16: dtype %s is not a 16-bit float type", t.DType()))
	}
	t.mustHost("DataU16", t.DType())
	n := t.Numel()
	return t.st.U16[t.offset : t.offset+n : t.offset+n]
}

func (t *Tensor) mustHost(op string, dtype DType) {
	if t.st.Device.Kind != KindCPU {
		panic(fmt.Sprintf("tensor.%s: tensor is on %s; copy it to the CPU first", op, t.st.Device))
	}
	if t.st.DType != dtype {
		panic(fmt.Sprintf("tensor.%s: tensor is %s, not %s", op, t.st.DType, dtype))
	}
	if !t.IsContiguous() {
		panic(fmt.Sprintf("tensor.%s: tensor of shape %v strides %v is not contiguous; call Contiguous first", op, t.shape, t.strides))
	}
}

// Float32s returns the elements as a new float32 slice in row-major order,
// whatever the tensor's dtype, layout or device.
func (t *Tensor) Float32s() []float32 {
	h := t.hostCopy(Float32)
	return h.st.F32
}

// Float64s returns the elements as a new float64 slice in row-major order.
func (t *Tensor) Float64s() []float64 {
	h := t.hostCopy(Float64)
	return h.st.F64
}

// Int32s returns the elements as a new int32 slice (floats truncated toward
// zero).
func (t *Tensor) Int32s() []int32 {
	h := t.hostCopy(Int32)
	return h.st.I32
}

// hostCopy returns a fresh contiguous CPU tensor of dtype with t's values.
func (t *Tensor) hostCopy(dtype DType) *Tensor {
	src := t
	if t.st.Device.Kind != KindCPU {
		var err error
		src, err = t.To(CPU)
		if err != nil {
			panic(err)
		}
	}
	out := New(dtype, t.shape...)
	cpuBackendInstance.Copy(out, src)
	return out
}

// Item returns the single value of a one-element tensor as float64.
func (t *Tensor) Item() float64 {
	if t.Numel() != 1 {
		panic(fmt.Sprintf("tensor.Item: tensor of shape %v has %d elements, want 1", t.shape, t.Numel()))
	}
	return t.Float64s()[0]
}

// At returns the element at index idx as float64 (CPU tensors).
func (t *Tensor) At(idx ...int) float64 {
	off := t.index("At", idx)
	switch t.st.DType {
	case Float32:
		return float64(t.st.F32[off])
	case Float64:
		return t.st.F64[off]
	case Int32:
		return float64(t.st.I32[off])
	case BFloat16:
		return float64(bf16ToF32(t.st.U16[off]))
	case Float16:
		return float64(f16ToF32(t.st.U16[off]))
	}
	panic("unreachable")
}

// Set stores v at index idx (CPU float32, float64 and int32 tensors).
func (t *Tensor) Set(v float64, idx ...int) {
	off := t.index("Set", idx)
	switch t.st.DType {
	case Float32:
		t.st.F32[off] = float32(v)
	case Float64:
		t.st.F64[off] = v
	case Int32:
		t.st.I32[off] = int32(v)
	default:
		panic(fmt.Sprintf("tensor.Set: dtype %s is storage-only", t.st.DType))
	}
}

func (t *Tensor) index(op string, idx []int) int {
	if t.st.Device.Kind != KindCPU {
		panic(fmt.Sprintf("tensor.%s: tensor is on %s", op, t.st.Device))
	}
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor.%s: %d indices for shape %v", op, len(idx), t.shape))
	}
	off := t.offset
	for i, v := range idx {
		if v < 0 || v >= t.shape[i] {
			panic(fmt.Sprintf("tensor.%s: index %v out of range for shape %v", op, idx, t.shape))
		}
		off += v * t.strides[i]
	}
	return off
}

// String prints the shape, dtype, device and up to 8 leading values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v %s %s [", t.shape, t.DType(), t.Device())
	if t.st.Device.Kind == KindCPU {
		v := t.Float64s()
		for i := 0; i < len(v) && i < 8; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.6g", v[i])
		}
		if len(v) > 8 {
			b.WriteString(" …")
		}
	} else {
		b.WriteString("on device")
	}
	b.WriteByte(']')
	return b.String()
}

// To returns t on device d: t itself when it is already there, else a
// contiguous copy.
func (t *Tensor) To(d Device) (*Tensor, error) {
	if t.st.Device == d {
		return t, nil
	}
	if t.st.Device.Kind != KindCPU && d.Kind != KindCPU {
		h, err := t.To(CPU)
		if err != nil {
			return nil, err
		}
		return h.To(d)
	}
	if d.Kind == KindCPU {
		b, err := BackendFor(t.st.Device)
		if err != nil {
			return nil, err
		}
		src := t.Contiguous()
		out := New(t.DType(), t.shape...)
		if err := b.ToHost(out.st, src); err != nil {
			return nil, fmt.Errorf("tensor: copying %v from %s: %w", t.shape, t.st.Device, err)
		}
		return out, nil
	}
	b, err := BackendFor(d)
	if err != nil {
		return nil, err
	}
	out, err := NewOn(d, t.DType(), t.shape...)
	if err != nil {
		return nil, err
	}
	src := t.Contiguous()
	if err := b.FromHost(out, src.st, src.offset); err != nil {
		return nil, fmt.Errorf("tensor: copying %v to %s: %w", t.shape, d, err)
	}
	return out, nil
}

// ZerosAs returns a zero-filled contiguous tensor of shape with ref's dtype
// and device.
func ZerosAs(ref *Tensor, shape ...int) *Tensor {
	out := ref.empty(ref.DType(), shape)
	if out.Device().Kind != KindCPU {
		out.backend().Fill(out, 0)
	}
	return out
}
