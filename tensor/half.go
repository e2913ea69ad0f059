package tensor

import "github.com/ragr-dev/ragr/kernels/cpu"

// Scalar conversions between float32 and the 16-bit storage types, through
// the kernels' slice conversions (round to nearest even).

func bf16ToF32(h uint16) float32 {
	var d [1]float32
	cpu.BF16ToF32(d[:], []uint16{h})
	return d[0]
}

func f16ToF32(h uint16) float32 {
	var d [1]float32
	cpu.F16ToF32(d[:], []uint16{h})
	return d[0]
}

func f32ToBF16(f float32) uint16 {
	var d [1]uint16
	cpu.F32ToBF16(d[:], []float32{f})
	return d[0]
}

func f32ToF16(f float32) uint16 {
	var d [1]uint16
	cpu.F32ToF16(d[:], []float32{f})
	return d[0]
}
