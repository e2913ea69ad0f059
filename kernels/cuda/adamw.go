//go:build cuda

package cuda

import (
	"fmt"
	"math"
)

// AdamWParam is one parameter tensor of a fused AdamW step: device
// pointers to the parameter, its gradient and its two moments (f32, N
// elements each) and its weight decay (0 for the no-decay group).
type AdamWParam struct {
	Param, Grad, M, V DevicePtr
	N                 int64
	WeightDecay       float32
}

// AdamWTable is a parameter list uploaded once (pointer table and chunk
// table in device memory) for repeated AdamWStep launches. Free it when
// the parameter list changes.
type AdamWTable struct {
	d        *Device
	table    *Buffer
	chunks   *Buffer
	ntensors int
	nchunks  int
}

// NewAdamWTable uploads the pointer and chunk tables of params.
func (d *Device) NewAdamWTable(params []AdamWParam) (*AdamWTable, error) {
	const name = "ragr_adamw_f32"
	ns := make([]int64, len(params))
	var tb []byte
	for i, p := range params {
		ns[i] = p.N
		if p.N > 0 && (p.Param == 0 || p.Grad == 0 || p.M == 0 || p.V == 0) {
			return nil, fmt.Errorf("kernel %s: tensor %d (%d elements) has a nil pointer", name, i, p.N)
		}
		for _, v := range []uint64{uint64(p.Param), uint64(p.Grad), uint64(p.M), uint64(p.V), uint64(p.N), math.Float64bits(widen(p.WeightDecay))} {
			tb = putU64(tb, v)
		}
	}
	cs, err := chunkTable(name, ns)
	if err != nil {
		return nil, err
	}
	t := &AdamWTable{d: d, ntensors: len(params), nchunks: int(cs[len(params)])}
	if t.table, err = Upload(d, tb); err != nil {
		return nil, err
	}
	if t.chunks, err = Upload(d, cs); err != nil {
		t.table.Free()
		return nil, err
	}
	return t, nil
}

// Free releases the tables' device memory.
func (t *AdamWTable) Free() {
	t.table.Free()
	t.chunks.Free()
}

// AdamWStep applies one AdamW step (PyTorch's arithmetic, bit-identical to
// kernels/cpu.AdamW) to every tensor of t in one launch. step is 1-based
// (1 on the first call). When gscale is not 0 it points to a device
// float32 the gradients are multiplied by first (GradNorm's clip
// coefficient).
func (d *Device) AdamWStep(t *AdamWTable, lr, beta1, beta2, eps float32, step int, gscale DevicePtr) error {
	const name = "ragr_adamw_f32"
	if step < 1 {
		return fmt.Errorf("kernel %s: step %d < 1 (1-based, counted after the increment)", name, step)
	}
	if t.nchunks == 0 {
		return nil
	}
	lr64, b1, b2, eps64 := widen(lr), widen(beta1), widen(beta2), widen(eps)
	bc1 := 1 - math.Pow(b1, float64(step))
	bc2 := 1 - math.Pow(b2, float64(step))
	w1 := 1 - b1
	small := int32(0)
	if math.Abs(w1) < 0.5 {
		small = 1
	}
	return d.Launch(name, [3]int{t.nchunks, 1, 1}, [3]int{256, 1, 1}, 0,
		t.table, t.chunks, int32(t.ntensors), gscale, lr64,
		float32(w1), float32(b2), float32(1-b2), float32(math.Sqrt(bc2)), float32(-(lr64 / bc1)), float32(eps64), small)
}
