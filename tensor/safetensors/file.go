package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"unsafe"

	"github.com/ragr-dev/ragr/kernels/cpu"
	"github.com/ragr-dev/ragr/tensor"
)

// Source is a set of named tensors: one safetensors file (*File) or a
// sharded checkpoint (*Sharded). Its methods may be called from several
// goroutines at once, except Close.
type Source interface {
	// Names returns the tensor names, sorted.
	Names() []string
	// Info describes a tensor without loading it.
	Info(name string) (Info, error)
	// Metadata returns the string metadata (a copy).
	Metadata() map[string]string
	// Tensor loads a tensor in its stored dtype; see File.Tensor.
	Tensor(name string) (*tensor.Tensor, error)
	// Float32 loads a float tensor converted to a fresh float32 tensor.
	Float32(name string) (*tensor.Tensor, error)
	// Close releases the files; tensors that alias them become invalid.
	Close() error
}

// Info describes one stored tensor.
type Info struct {
	// DType is the safetensors dtype code: "F32", "BF16", "F16", "F64",
	// "I32", "I64", "U8", ...
	DType string
	// Shape is the tensor's shape ([] for a scalar).
	Shape []int
	// Size is the tensor's length in bytes.
	Size int64
}

// File is an open safetensors file. It implements Source.
type File struct {
	path    string
	data    []byte // the whole file (mapped, or read where mmap is not used)
	release func() error
	h       *header
}

var _ Source = (*File)(nil)

// littleEndian reports whether the host stores integers little-endian, so
// that stored bytes can be used in place.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// Open memory-maps the safetensors file at path and validates its header.
// Every error names the file. The file must not be truncated or rewritten in
// place while it is open (replacing it, as Write does, is safe).
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("safetensors: %s: %w: not a regular file", path, ErrInvalid)
	}
	data, release, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	h, err := parseHeader(data, st.Size())
	if err != nil {
		release()
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return &File{path: path, data: data, release: release, h: h}, nil
}

// Path returns the file's path as given to Open.
func (f *File) Path() string { return f.path }

// Names returns the tensor names, sorted.
func (f *File) Names() []string { return append([]string(nil), f.h.names...) }

// Metadata returns a copy of the "__metadata__" strings (empty when the file
// has none).
func (f *File) Metadata() map[string]string {
	m := make(map[string]string, len(f.h.meta))
	for k, v := range f.h.meta {
		m[k] = v
	}
	return m
}

// Info describes tensor name.
func (f *File) Info(name string) (Info, error) {
	e, err := f.lookup(name)
	if err != nil {
		return Info{}, err
	}
	return Info{DType: e.dtype, Shape: append([]int{}, e.shape...), Size: e.end - e.begin}, nil
}

// Close unmaps the file. Tensors returned by Tensor that alias the mapping
// must not be used afterwards (Clone them first to keep them); tensors from
// Float32 are unaffected.
func (f *File) Close() error {
	if f.data == nil && f.release == nil {
		return nil
	}
	err := f.release()
	f.data, f.release = nil, nil
	if err != nil {
		return fmt.Errorf("safetensors: %s: close: %w", f.path, err)
	}
	return nil
}

func (f *File) lookup(name string) (*entry, error) {
	e, ok := f.h.entries[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", f.path, name, ErrNotFound)
	}
	return e, nil
}

// bytesOf returns the stored bytes of e, or an error once the file is closed.
func (f *File) bytesOf(e *entry) ([]byte, error) {
	if f.release == nil {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: file is closed", f.path, e.name)
	}
	return f.data[f.h.dataStart+e.begin : f.h.dataStart+e.end], nil
}

// aliasable reports whether b can be viewed in place as elements of size
// bytes: a little-endian host and an aligned, non-empty slice.
func aliasable(b []byte, size int) bool {
	return littleEndian && len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%uintptr(size) == 0
}

// view reinterprets b (aliasable for T) as a []T without copying.
func view[T any](b []byte) []T {
	var z T
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(z)))
}

// Tensor loads tensor name in its stored dtype: F32 → Float32, BF16 →
// BFloat16, F16 → Float16, F64 → Float64, I32 → Int32, and I64 → Int32 (an
// error names the first value outside the int32 range). Other dtypes (BOOL,
// U8, I8, ...) return an error wrapping ErrUnsupportedDType.
//
// On little-endian hosts the result aliases the mapped file when the data is
// aligned for its dtype (always the case for files written by Write and by
// the reference implementation): no copy is made, the tensor is valid only
// until Close, and writes to it stay private to this process. I64 tensors, and
// data on big-endian hosts or at unaligned offsets, are copied.
func (f *File) Tensor(name string) (*tensor.Tensor, error) {
	e, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	b, err := f.bytesOf(e)
	if err != nil {
		return nil, err
	}
	n := int(e.numel)
	switch e.dtype {
	case "F32":
		if aliasable(b, 4) {
			return tensor.FromFloat32(view[float32](b), e.shape...), nil
		}
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return tensor.FromFloat32(d, e.shape...), nil
	case "F64":
		if aliasable(b, 8) {
			return tensor.FromFloat64(view[float64](b), e.shape...), nil
		}
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		return tensor.FromFloat64(d, e.shape...), nil
	case "BF16", "F16":
		dt := tensor.BFloat16
		if e.dtype == "F16" {
			dt = tensor.Float16
		}
		if aliasable(b, 2) {
			return tensor.FromUint16(dt, view[uint16](b), e.shape...), nil
		}
		d := make([]uint16, n)
		for i := range d {
			d[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		return tensor.FromUint16(dt, d, e.shape...), nil
	case "I32":
		if aliasable(b, 4) {
			return tensor.FromInt32(view[int32](b), e.shape...), nil
		}
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return tensor.FromInt32(d, e.shape...), nil
	case "I64":
		d := make([]int32, n)
		for i := range d {
			v := int64(binary.LittleEndian.Uint64(b[8*i:]))
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, fmt.Errorf("safetensors: %s: tensor %q: I64 value %d at index %d does not fit in int32", f.path, name, v, i)
			}
			d[i] = int32(v)
		}
		return tensor.FromInt32(d, e.shape...), nil
	}
	return nil, fmt.Errorf("safetensors: %s: tensor %q: %w %s (loadable: F32, F16, BF16, F64, I32, I64)", f.path, name, ErrUnsupportedDType, e.dtype)
}

// convertGrain is the number of elements one pool task converts.
const convertGrain = 1 << 16

// Float32 loads float tensor name (F32, F16, BF16 or F64) into a fresh
// float32 tensor, converting straight from the mapped file into the result
// in one pass (in parallel over the kernels' worker pool): no other copy of
// the data is made. Integer and other dtypes return an error wrapping
// ErrUnsupportedDType; load them with Tensor.
func (f *File) Float32(name string) (*tensor.Tensor, error) {
	e, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	switch e.dtype {
	case "F32", "F16", "BF16", "F64":
	default:
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w %s for Float32 (want F32, F16, BF16 or F64; use Tensor)", f.path, name, ErrUnsupportedDType, e.dtype)
	}
	b, err := f.bytesOf(e)
	if err != nil {
		return nil, err
	}
	dst := make([]float32, e.numel)
	convertToF32(dst, b, e.dtype)
	return tensor.FromFloat32(dst, e.shape...), nil
}

// convertToF32 converts the little-endian bytes b of dtype (F32, F16, BF16 or
// F64) into dst, len(dst) elements.
func convertToF32(dst []float32, b []byte, dtype string) {
	switch dtype {
	case "F32":
		if aliasable(b, 4) {
			src := view[float32](b)
			cpu.Parallel(len(dst), convertGrain, func(lo, hi int) { copy(dst[lo:hi], src[lo:hi]) })
			return
		}
		cpu.Parallel(len(dst), convertGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		})
	case "F64":
		if aliasable(b, 8) {
			src := view[float64](b)
			cpu.Parallel(len(dst), convertGrain, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					dst[i] = float32(src[i])
				}
			})
			return
		}
		cpu.Parallel(len(dst), convertGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
			}
		})
	case "BF16", "F16":
		conv := cpu.BF16ToF32
		if dtype == "F16" {
			conv = cpu.F16ToF32
		}
		if aliasable(b, 2) {
			src := view[uint16](b)
			cpu.Parallel(len(dst), convertGrain, func(lo, hi int) { conv(dst[lo:hi], src[lo:hi]) })
			return
		}
		// Unaligned or big-endian: decode through a small per-task buffer.
		cpu.Parallel(len(dst), convertGrain, func(lo, hi int) {
			var buf [2048]uint16
			for i := lo; i < hi; i += len(buf) {
				m := min(len(buf), hi-i)
				for j := 0; j < m; j++ {
					buf[j] = binary.LittleEndian.Uint16(b[2*(i+j):])
				}
				conv(dst[i:i+m], buf[:m])
			}
		})
	default:
		panic("safetensors: convertToF32: dtype " + dtype)
	}
}
