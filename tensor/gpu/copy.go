//go:build cuda

package gpu

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/kernels/cpu"
	"github.com/ragr-dev/ragr/kernels/cuda"
	"github.com/ragr-dev/ragr/tensor"
)

// FromHost copies host storage src from element off into the contiguous
// dst (same dtype).
func (b *Backend) FromHost(dst *tensor.Tensor, src *tensor.Storage, off int) error {
	defer keep(dst)
	n := dst.Numel()
	if src.DType != dst.DType() {
		return b.wrap("FromHost", fmt.Errorf("host %s into device %s", src.DType, dst.DType()))
	}
	if off < 0 || off+n > src.N {
		return b.wrap("FromHost", fmt.Errorf("elements [%d, %d) of a host storage of %d", off, off+n, src.N))
	}
	if !dst.IsContiguous() {
		return b.wrap("FromHost", fmt.Errorf("device tensor %v strides %v is not contiguous", dst.Shape(), dst.Strides()))
	}
	return b.wrap("FromHost", b.upload(ptr(dst), src, off, n))
}

// upload copies n elements of host storage src from off to device address p.
func (b *Backend) upload(p cuda.DevicePtr, src *tensor.Storage, off, n int) error {
	if n == 0 {
		return nil
	}
	switch src.DType {
	case tensor.Float32:
		return cuda.CopyHtoD(b.dev, p, src.F32[off:off+n])
	case tensor.Int32:
		return cuda.CopyHtoD(b.dev, p, src.I32[off:off+n])
	case tensor.BFloat16, tensor.Float16:
		return cuda.CopyHtoD(b.dev, p, src.U16[off:off+n])
	}
	return dtypeOK(src.DType)
}

// download copies n elements at device address p into host storage dst
// from element 0.
func (b *Backend) download(dst *tensor.Storage, p cuda.DevicePtr, n int) error {
	if n == 0 {
		return nil
	}
	if n > dst.N {
		return fmt.Errorf("%d elements into a host storage of %d", n, dst.N)
	}
	switch dst.DType {
	case tensor.Float32:
		return cuda.CopyDtoH(b.dev, dst.F32[:n], p)
	case tensor.Int32:
		return cuda.CopyDtoH(b.dev, dst.I32[:n], p)
	case tensor.BFloat16, tensor.Float16:
		return cuda.CopyDtoH(b.dev, dst.U16[:n], p)
	}
	return dtypeOK(dst.DType)
}

// ToHost copies the device tensor src into host storage dst (same dtype).
func (b *Backend) ToHost(dst *tensor.Storage, src *tensor.Tensor) (err error) {
	defer keep(src)
	defer tensor.RecoverDeviceError(&err)
	if dst.DType != src.DType() {
		return b.wrap("ToHost", fmt.Errorf("device %s into host %s", src.DType(), dst.DType))
	}
	v := viewOf(src)
	n := src.Numel()
	if !v.contiguous() {
		buf := b.temp("ToHost", v.dt, n)
		defer buf.Free()
		c := flat(buf, v.dt, v.shape)
		b.copySame("ToHost", c, v)
		v = c
	}
	return b.wrap("ToHost", b.download(dst, v.p, n))
}

// hostOf returns a CPU tensor with the values of the device view v (a
// broadcast view stays a broadcast view of the data it reads).
func (b *Backend) hostOf(op string, v view) *tensor.Tensor {
	cs := compact(v.shape, v.strides)
	n := numel(cs)
	h := tensor.New(v.dt, cs...)
	if n > 0 {
		src := view{p: v.p, dt: v.dt, shape: cs, strides: v.strides}
		if !src.contiguous() {
			buf := b.temp(op, v.dt, n)
			defer buf.Free()
			c := flat(buf, v.dt, cs)
			b.copySame(op, c, src)
			src = c
		}
		b.fail(op, b.download(h.Storage(), src.p, n))
	}
	for i := range cs {
		if cs[i] != v.shape[i] {
			return h.Expand(v.shape...)
		}
	}
	return h
}

// hostInto copies the contiguous CPU tensor h into the device view dst
// (same dtype and shape; dst may be strided).
func (b *Backend) hostInto(op string, dst view, h *tensor.Tensor) {
	h = h.Contiguous()
	n := h.Numel()
	if n == 0 {
		return
	}
	if dst.contiguous() {
		b.fail(op, b.upload(dst.p, h.Storage(), h.Offset(), n))
		return
	}
	buf := b.temp(op, dst.dt, n)
	defer buf.Free()
	c := flat(buf, dst.dt, dst.shape)
	b.fail(op, b.upload(c.p, h.Storage(), h.Offset(), n))
	b.copySame(op, dst, c)
}

// copySame copies src into dst, both of one dtype and shape, either strided.
func (b *Backend) copySame(op string, dst, src view) {
	n := numel(dst.shape)
	if n == 0 {
		return
	}
	es := dst.dt.Size()
	if !src.contiguous() && !dst.contiguous() {
		buf := b.temp(op, src.dt, n)
		defer buf.Free()
		c := flat(buf, src.dt, src.shape)
		b.copySame(op, c, src)
		src = c
	}
	if dst.contiguous() {
		if src.contiguous() {
			b.fail(op, b.dev.CopyDtoD(dst.p, src.p, int64(n*es)))
			return
		}
		cs, cst := collapse(src.shape, src.strides)
		if lead := len(cs) - cuda.MaxDims; lead > 0 {
			// more dimensions than the kernel takes: one strided copy of
			// the trailing MaxDims per index of the leading ones
			inner, block := cs[lead:], numel(cs[lead:])
			idx := make([]int, lead)
			for k := 0; k < numel(cs[:lead]); k++ {
				off := 0
				for i, x := range idx {
					off += x * cst[0][i]
				}
				b.fail(op, b.dev.CopyStrided(dst.at(k*block), src.at(off), es, i64s(inner), i64s(cst[0][lead:])))
				for i := lead - 1; i >= 0; i-- { // the next leading index
					if idx[i]++; idx[i] < cs[i] {
						break
					}
					idx[i] = 0
				}
			}
			return
		}
		b.fail(op, b.dev.CopyStrided(dst.p, src.p, es, i64s(cs), i64s(cst[0])))
		return
	}
	// src contiguous, dst strided: pitched copies.
	for _, p := range pitchedPlan(dst.shape, dst.strides) {
		d, s := dst.at(p.dstOff), src.at(p.srcOff)
		w, pitch := int64(p.width*es), int64(p.pitch*es)
		if pitch < 1<<31 {
			b.fail(op, b.dev.CopyDtoD2D(d, pitch, s, w, w, int64(p.rows)))
			continue
		}
		for r := 0; r < p.rows; r++ {
			b.fail(op, b.dev.CopyDtoD(d+cuda.DevicePtr(int64(r)*pitch), s+cuda.DevicePtr(int64(r)*w), w))
		}
	}
}

// convert converts the contiguous src into the contiguous dst (same
// shape, other dtype) on the device: casts between float32 and bf16/fp16,
// and between Int32 and each float type; bf16 <-> fp16 through float32.
func (b *Backend) convert(op string, dst, src view) {
	n := numel(dst.shape)
	f32 := func(dt tensor.DType) bool { return dt == tensor.Float32 }
	half := func(dt tensor.DType) bool { return dt == tensor.BFloat16 || dt == tensor.Float16 }
	switch {
	case half(src.dt) && half(dst.dt):
		buf := b.temp(op, tensor.Float32, n)
		defer buf.Free()
		b.fail(op, b.dev.Cast(buf.Ptr(), cuda.F32, src.p, kdtype(src.dt), int64(n)))
		b.fail(op, b.dev.Cast(dst.p, kdtype(dst.dt), buf.Ptr(), cuda.F32, int64(n)))
	case f32(src.dt) || half(src.dt) || src.dt == tensor.Int32:
		b.fail(op, b.dev.Cast(dst.p, kdtype(dst.dt), src.p, kdtype(src.dt), int64(n)))
	default: // a dtype no kernel converts (none on the device today)
		b.fallback(op + "." + src.dt.String() + "->" + dst.dt.String())
		h := b.hostOf(op, src)
		b.hostInto(op, dst, h.Cast(dst.dt))
	}
}

// Copy copies src into dst (same shape, either strided), converting dtypes.
func (b *Backend) Copy(dst, src *tensor.Tensor) {
	defer keep(dst, src)
	const op = "Copy"
	n := dst.Numel()
	if n == 0 {
		return
	}
	d, s := viewOf(dst), viewOf(src)
	b.fail(op, dtypeOK(d.dt))
	b.fail(op, dtypeOK(s.dt))
	if d.dt == s.dt {
		b.copySame(op, d, s)
		return
	}
	if !s.contiguous() {
		buf := b.temp(op, s.dt, n)
		defer buf.Free()
		c := flat(buf, s.dt, s.shape)
		b.copySame(op, c, s)
		s = c
	}
	if d.contiguous() {
		b.convert(op, d, s)
		return
	}
	buf := b.temp(op, d.dt, n)
	defer buf.Free()
	c := flat(buf, d.dt, d.shape)
	b.convert(op, c, s)
	b.copySame(op, d, c)
}

// Fill sets every element of the contiguous dst to v (converted to dst's
// dtype as the CPU backend converts it).
func (b *Backend) Fill(dst *tensor.Tensor, v float64) {
	defer keep(dst)
	const op = "Fill"
	n := int64(dst.Numel())
	if n == 0 {
		return
	}
	if !dst.IsContiguous() {
		b.fail(op, fmt.Errorf("tensor %v strides %v is not contiguous", dst.Shape(), dst.Strides()))
	}
	p := ptr(dst)
	switch dst.DType() {
	case tensor.Float32:
		b.fail(op, b.dev.Memset32(p, math.Float32bits(float32(v)), n))
	case tensor.Int32:
		b.fail(op, b.dev.Memset32(p, uint32(int32(v)), n))
	case tensor.BFloat16:
		var h [1]uint16
		cpu.F32ToBF16(h[:], []float32{float32(v)})
		b.fail(op, b.dev.FillB16(p, h[0], n))
	case tensor.Float16:
		var h [1]uint16
		cpu.F32ToF16(h[:], []float32{float32(v)})
		b.fail(op, b.dev.FillB16(p, h[0], n))
	default:
		b.fail(op, dtypeOK(dst.DType()))
	}
}
