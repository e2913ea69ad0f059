package safetensors

import "github.com/ragr-dev/ragr/tensor"

// dtypeSpec describes one safetensors dtype code.
type dtypeSpec struct {
	size int // bytes per element
	rank int // the reference implementation's order, used to lay out data
}

// dtypes lists the safetensors dtype codes this package recognises. Files may
// hold any of them; only F32, F16, BF16, F64, I32 and I64 load into tensors.
var dtypes = map[string]dtypeSpec{
	"BOOL":    {1, 0},
	"U8":      {1, 1},
	"I8":      {1, 2},
	"F8_E5M2": {1, 3},
	"F8_E4M3": {1, 4},
	"F8_E8M0": {1, 5},
	"I16":     {2, 6},
	"U16":     {2, 7},
	"F16":     {2, 8},
	"BF16":    {2, 9},
	"I32":     {4, 10},
	"U32":     {4, 11},
	"F32":     {4, 12},
	"F64":     {8, 13},
	"I64":     {8, 14},
	"U64":     {8, 15},
}

// codeOf returns the safetensors dtype code a tensor dtype is stored as.
func codeOf(d tensor.DType) (string, bool) {
	switch d {
	case tensor.Float32:
		return "F32", true
	case tensor.Float64:
		return "F64", true
	case tensor.BFloat16:
		return "BF16", true
	case tensor.Float16:
		return "F16", true
	case tensor.Int32:
		return "I32", true
	}
	return "", false
}
