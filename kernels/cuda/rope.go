//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"strings"
)

// RopeTable fills cos and sin [npos, dim/2] (f32) for positions 0..npos-1
// with inv_freq[j] = 1/theta^(2j/dim), as transformers' rotary embedding
// computes them in fp32. dim must be even.
func (d *Device) RopeTable(cos, sin DevicePtr, npos, dim int, theta float32) error {
	const name = "ragr_rope_table_f32"
	if npos < 0 || dim <= 0 || dim%2 != 0 {
		return fmt.Errorf("kernel %s: npos %d, dim %d: need npos >= 0 and an even dim > 0", name, npos, dim)
	}
	if npos == 0 {
		return nil
	}
	return d.launch1D(name, int64(npos)*int64(dim/2), 1, cos, sin, int64(npos), int32(dim/2), int32(dim), theta)
}

func (d *Device) rope(dir string, dt DType, y, x, cos, sin, pos DevicePtr, tokens int64, heads, dim, npos int) error {
	name := kname("rope", dir, dt.String())
	if dt != F32 && dt != BF16 {
		return fmt.Errorf("kernel %s: dtype %v not supported (f32, bf16)", name, dt)
	}
	if tokens < 0 || heads < 0 || dim <= 0 || dim%2 != 0 || npos < 0 {
		return fmt.Errorf("kernel %s: shape [tokens %d, heads %d, dim %d], npos %d: need an even dim > 0", name, tokens, heads, dim, npos)
	}
	if tokens > math.MaxInt32 {
		return fmt.Errorf("kernel %s: %d tokens; at most %d per launch", name, tokens, math.MaxInt32)
	}
	pairs := tokens * int64(heads) * int64(dim/2)
	if pairs == 0 {
		return nil
	}
	bad, err := d.withErrFlag(func(flag DevicePtr) error {
		return d.ropeLaunch(name, y, x, cos, sin, pos, tokens, heads, dim, npos, flag)
	})
	if err != nil {
		return err
	}
	if bad >= 0 {
		return fmt.Errorf("kernel %s: position %d of token %d is outside the table [0, %d)", name, d.readInt32(pos+DevicePtr(4*bad)), bad, npos)
	}
	return nil
}

// Rope applies rotary position embedding in the rotate-half convention
// (Qwen2, Llama) to x [tokens, heads, dim] of type dt (f32 or bf16) with
// positions pos (int32 [tokens]) and tables from RopeTable: for j < dim/2,
// y[j] = x[j]*c - x[j+h]*s, y[j+h] = x[j+h]*c + x[j]*s. y may alias x. A
// position outside [0, npos) returns an error naming the token (it
// synchronizes to read the error flag).
func (d *Device) Rope(dt DType, y, x, cos, sin, pos DevicePtr, tokens int64, heads, dim, npos int) error {
	return d.rope("fwd", dt, y, x, cos, sin, pos, tokens, heads, dim, npos)
}

// RopeBackward rotates the gradient back: dx[j] = dy[j]*c + dy[j+h]*s,
// dx[j+h] = dy[j+h]*c - dy[j]*s.
func (d *Device) RopeBackward(dt DType, dx, dy, cos, sin, pos DevicePtr, tokens int64, heads, dim, npos int) error {
	return d.rope("bwd", dt, dx, dy, cos, sin, pos, tokens, heads, dim, npos)
}

// ropeHeadsPerThread is RAGR_ROPE_G of rope.cu: heads a thread rotates with
// one read of the position's cos/sin.
const ropeHeadsPerThread = 2

// ropeItems is the rope kernels' work-item count: (token, group of
// ropeHeadsPerThread heads, chunk of V pairs), V the widest of 16/es, 8/es,
// 4/es, 1 elements dividing dim/2 (the kernel narrows V further when a
// pointer is not aligned to it; the count only sizes the grid).
func ropeItems(es int, tokens int64, heads, dim int) int64 {
	half := dim / 2
	v := 16 / es
	for v > 1 && half%v != 0 {
		v /= 2
	}
	return tokens * int64((heads+ropeHeadsPerThread-1)/ropeHeadsPerThread) * int64(half/v)
}

// ropeLaunch queues a RoPE kernel with the error flag at flag (no check, no
// synchronization: the benchmark times this).
func (d *Device) ropeLaunch(name string, y, x, cos, sin, pos DevicePtr, tokens int64, heads, dim, npos int, flag DevicePtr) error {
	es := 4
	if strings.HasSuffix(name, "_bf16") {
		es = 2
	}
	g := Grid1D(ropeItems(es, tokens, heads, dim), blockElem, 1, d.maxGrid1D())
	return d.Launch(name, [3]int{g, 1, 1}, [3]int{blockElem, 1, 1}, 0, y, x, cos, sin, pos, tokens, int32(heads), int32(dim), int32(npos), flag)
}
