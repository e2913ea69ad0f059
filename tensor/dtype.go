package tensor

import "fmt"

// DType is a tensor's element type.
type DType uint8

const (
	// Float32 is the compute type.
	Float32 DType = iota
	// Float64 is the CPU reference type used by gradient checks.
	Float64
	// BFloat16 is a storage type (bfloat16 bits in uint16).
	BFloat16
	// Float16 is a storage type (IEEE half bits in uint16).
	Float16
	// Int32 holds token ids, indices and masks.
	Int32
)

// String names the dtype as safetensors and PyTorch do.
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case BFloat16:
		return "bfloat16"
	case Float16:
		return "float16"
	case Int32:
		return "int32"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size returns the size of one element in bytes.
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Float64:
		return 8
	case BFloat16, Float16:
		return 2
	}
	panic(fmt.Sprintf("tensor: unknown dtype %d", uint8(d)))
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d != Int32 }

// IsCompute reports whether ops compute in d (Float32, Float64); the others
// are storage types that must be cast first.
func (d DType) IsCompute() bool { return d == Float32 || d == Float64 }
