package tensor

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
)

func TestParseDeviceSim(t *testing.T) {
	cases := []struct {
		in   string
		want Device
		ok   bool
	}{
		{"sim", Sim(0), true}, {"sim:0", Sim(0), true}, {"sim:3", Sim(3), true},
		{"cuda:2", CUDA(2), true}, {"cpu", CPU, true},
		{"sim:", CPU, false}, {"sim:-1", CPU, false}, {"sim:1x", CPU, false}, {"cuda:1x", CPU, false}, {"simulator", CPU, false},
	}
	for _, c := range cases {
		d, err := ParseDevice(c.in)
		if !c.ok {
			require.Error(t, err, c.in)
			assert.Contains(t, err.Error(), "sim:N", c.in)
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, d, c.in)
	}
	assert.Equal(t, "sim:3", Sim(3).String())
}

// A sim tensor is behind a device boundary: host accessors refuse it, ops
// refuse to mix it with CPU tensors, and To / Float32s bring it back.
func TestSimDeviceBoundary(t *testing.T) {
	d := Sim(0)
	x := FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	xs, err := x.To(d)
	require.NoError(t, err)
	assert.Equal(t, d, xs.Device())
	assert.Nil(t, xs.Storage().F32, "no host slice on the device storage")
	assert.PanicsWithValue(t, "tensor.Data32: tensor is on sim:0; copy it to the CPU first", func() { xs.Data32() })
	assert.Panics(t, func() { Add(xs, x) })
	assert.Equal(t, x.Float32s(), xs.Float32s())
	back, err := xs.T().To(CPU)
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 4, 2, 5, 3, 6}, back.Data32())
	// One sim device to another goes through the host.
	x1, err := xs.To(Sim(1))
	require.NoError(t, err)
	assert.Equal(t, x.Float32s(), x1.Float32s())
	assert.Panics(t, func() { Add(xs, x1) })
	// float64 stays on the CPU, as on a GPU
	_, err = x.Cast(Float64).To(d)
	var de *DeviceError
	require.ErrorAs(t, err, &de)
	assert.Contains(t, err.Error(), "float64 is not supported on sim:0")
}

// Every op on the sim equals the CPU's bit for bit (the same kernels run
// behind the boundary) while mixed precision is off.
func TestSimOpsMatchCPU(t *testing.T) {
	d := Sim(0)
	r := testutil.NewRand(3)
	a := FromFloat32(testutil.Normal32(r, 3*5*7, 1), 3, 5, 7)
	b := FromFloat32(testutil.Normal32(r, 3*7*4, 1), 3, 7, 4)
	g := FromFloat32(testutil.Normal32(r, 7, 1), 7)
	ids := FromInt32([]int32{4, 0, 2, 2}, 4)
	to := func(x *Tensor) *Tensor { y, err := x.To(d); require.NoError(t, err); return y }
	cases := []struct {
		name string
		f    func(a, b, g, ids *Tensor) *Tensor
	}{
		{"matmul", func(a, b, _, _ *Tensor) *Tensor { return Matmul(a, b) }},
		{"matmulT", func(a, _, _, _ *Tensor) *Tensor { return MatmulT(a, a, false, true) }},
		{"gelu", func(a, _, _, _ *Tensor) *Tensor { return Gelu(a) }},
		{"broadcast", func(a, _, g, _ *Tensor) *Tensor { return Div(Add(a, g), AddScalar(Square(g), 1)) }},
		{"softmax", func(a, _, _, _ *Tensor) *Tensor { return LogSoftmax(a.Transpose(0, 2), -1) }},
		{"layernorm", func(a, _, g, _ *Tensor) *Tensor { y, _ := LayerNorm(a, g, g, 1e-5); return y }},
		{"rmsnorm", func(a, _, g, _ *Tensor) *Tensor { y, _ := RMSNorm(a, g, 1e-6); return y }},
		{"sum", func(a, _, _, _ *Tensor) *Tensor { return Sum(a, 1, false) }},
		{"max", func(a, _, _, _ *Tensor) *Tensor { m, _ := Max(a, 2, true); return m }},
		{"concat", func(a, _, _, _ *Tensor) *Tensor { return Concat(1, a, a.Narrow(1, 1, 2)) }},
		{"index", func(a, _, _, ids *Tensor) *Tensor {
			y, err := IndexSelect(a.Reshape(15, 7), 0, ids)
			require.NoError(t, err)
			return y
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.f(a, b, g, ids)
			got := c.f(to(a), to(b), to(g), to(ids))
			assert.Equal(t, d, got.Device())
			assert.Equal(t, want.Shape(), got.Shape())
			assert.Equal(t, want.Float32s(), got.Float32s())
		})
	}
}

// In mixed precision a sim matmul equals the CPU's on bf16-rounded
// operands, and the setting is per device.
func TestSimMixedPrecisionMatmul(t *testing.T) {
	d := Sim(5)
	prev, err := SetMixedPrecision(d, true)
	require.NoError(t, err)
	assert.False(t, prev)
	defer SetMixedPrecision(d, false) //nolint:errcheck
	assert.True(t, MixedPrecision(d))
	assert.False(t, MixedPrecision(Sim(0)))
	r := testutil.NewRand(4)
	a := FromFloat32(testutil.Normal32(r, 2*9*33, 1), 2, 9, 33)
	b := FromFloat32(testutil.Normal32(r, 33*6, 1), 33, 6)
	as, _ := a.To(d)
	bs, _ := b.To(d)
	got := Matmul(as, bs).Float32s()
	want := Matmul(roundBF16(a), roundBF16(b)).Float32s()
	assert.Equal(t, want, got)
	assert.NotEqual(t, Matmul(a, b).Float32s(), got, "the operands were rounded")
}

// RoundOperand's bf16 copies stand in for float32 operands of Matmul,
// MatmulT and Linear with the same result bit for bit (transposed, batched
// and broadcast views too), only in mixed precision, and bf16 operands are
// refused elsewhere.
func TestSimRoundedOperands(t *testing.T) {
	d := Sim(11)
	r := testutil.NewRand(12)
	up := func(shape ...int) *Tensor {
		x, err := FromFloat32(testutil.Normal32(r, numel(shape), 1), shape...).To(d)
		require.NoError(t, err)
		return x
	}
	a, b, w, bias := up(2, 9, 33), up(33, 6), up(7, 33), up(7)
	assert.Nil(t, RoundOperand(a), "no rounding outside mixed precision")
	_, err := SetMixedPrecision(d, true)
	require.NoError(t, err)
	defer SetMixedPrecision(d, false) //nolint:errcheck
	ar, br, wr := RoundOperand(a), RoundOperand(b), RoundOperand(w)
	require.NotNil(t, ar)
	assert.Equal(t, BFloat16, ar.DType())
	assert.Equal(t, Float32, Matmul(ar, br).DType())
	assert.Equal(t, Matmul(a, b).Float32s(), Matmul(ar, br).Float32s())
	assert.Equal(t, Matmul(a, b).Float32s(), Matmul(a, br).Float32s())
	bt := up(6, 33)
	assert.Equal(t, MatmulT(a, bt, false, true).Float32s(), MatmulT(ar, RoundOperand(bt), false, true).Float32s())
	at := up(2, 33, 9)
	assert.Equal(t, MatmulT(at, b, true, false).Float32s(), MatmulT(RoundOperand(at), br, true, false).Float32s())
	assert.Equal(t, Linear(a, w, bias).Float32s(), Linear(ar, wr, bias).Float32s())
	assert.Equal(t, Linear(a, w, nil).Float32s(), Linear(ar, wr, nil).Float32s())
	assert.NotEqual(t, Linear(a, w, bias).Float32s(), func() []float32 {
		SetMixedPrecision(d, false)      //nolint:errcheck
		defer SetMixedPrecision(d, true) //nolint:errcheck
		return Linear(a, w, bias).Float32s()
	}(), "the operands were rounded")
	assert.Panics(t, func() { Add(ar, ar) }, "a bf16 operand is not a compute tensor")
	ac := FromFloat32(testutil.Normal32(r, 6, 1), 2, 3)
	assert.Panics(t, func() { Matmul(ac.Cast(BFloat16), ac.T()) }, "the CPU takes no bf16 operands")
}

// The sim's multi-tensor AdamW and global norm equal the CPU's per-tensor
// step and norm.
func TestSimMultiTensor(t *testing.T) {
	d := Sim(0)
	r := testutil.NewRand(8)
	mk := func(n int) *Tensor { return FromFloat32(testutil.Normal32(r, n, 1), n) }
	var ps, gs, ms, vs, sps, sgs, sms, svs []*Tensor
	for _, n := range []int{5, 17} {
		p, g := mk(n), mk(n)
		ps, gs, ms, vs = append(ps, p), append(gs, g), append(ms, Zeros(n)), append(vs, Zeros(n))
		for _, pair := range []struct {
			dst *[]*Tensor
			src *Tensor
		}{{&sps, p}, {&sgs, g}, {&sms, Zeros(n)}, {&svs, Zeros(n)}} {
			x, err := pair.src.To(d)
			require.NoError(t, err)
			*pair.dst = append(*pair.dst, x)
		}
	}
	wds := []float64{0.01, 0}
	p := AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 1}
	n, ok := GlobalNorm(sgs)
	require.True(t, ok)
	assert.InDelta(t, Norm(Concat(0, gs...), 0, false).Item(), n, 1e-5)
	AdamWSteps(ps, gs, ms, vs, wds, p)
	AdamWSteps(sps, sgs, sms, svs, wds, p)
	for i := range ps {
		assert.Equal(t, ps[i].Float32s(), sps[i].Float32s())
		assert.Equal(t, vs[i].Float32s(), svs[i].Float32s())
	}
}

// The sim counts the bytes of its live tensors.
func TestSimMemoryStats(t *testing.T) {
	d := Sim(7)
	ResetPeakMemory(d)
	s0, ok := DeviceMemory(d)
	require.True(t, ok)
	x, err := NewOn(d, Float32, 1000)
	require.NoError(t, err)
	s1, _ := DeviceMemory(d)
	assert.Equal(t, s0.Current+4000, s1.Current)
	assert.GreaterOrEqual(t, s1.Peak, s1.Current)
	runtime.KeepAlive(x)
	x = nil
	for i := 0; i < 10; i++ {
		runtime.GC()
		if s, _ := DeviceMemory(d); s.Current == s0.Current {
			break
		}
	}
	s2, _ := DeviceMemory(d)
	assert.Equal(t, s0.Current, s2.Current, "freed once unreachable")
	assert.Equal(t, s1.Peak, s2.Peak)
	ResetPeakMemory(d)
	s3, _ := DeviceMemory(d)
	assert.Equal(t, s2.Current, s3.Peak)
	require.NoError(t, Synchronize(d))
}

// Beyond its memory limit the sim fails an allocation as a GPU does: a
// *DeviceError naming the request and the use, after freeing what is
// unreachable.
func TestSimMemoryLimit(t *testing.T) {
	d := Sim(8)
	_, err := SetSimMemoryLimit(CPU, 1)
	require.Error(t, err)
	prev, err := SetSimMemoryLimit(d, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, int64(0), prev)
	defer SetSimMemoryLimit(d, 0)        //nolint:errcheck
	x, err := NewOn(d, Float32, 200_000) // 800 kB
	require.NoError(t, err)
	_, err = NewOn(d, Float32, 100_000)
	require.Error(t, err)
	var de *DeviceError
	require.ErrorAs(t, err, &de)
	assert.Contains(t, err.Error(), "float32[100000]: out of memory: 400000 bytes requested")
	assert.Contains(t, err.Error(), "sim:8")
	runtime.KeepAlive(x)
	x = nil
	_, err = NewOn(d, Float32, 100_000)
	require.NoError(t, err, "the unreachable tensor was freed first")
	// an op's output beyond the limit panics with the DeviceError inside
	y, err := NewOn(d, Float32, 150_000)
	require.NoError(t, err)
	assert.Panics(t, func() { Add(y, y) })
	runtime.KeepAlive(y)
}

// The sim's profile totals each backend method's calls and time, the
// largest first; profiling twice, or stopping without starting, is an
// error, and the CPU cannot profile.
func TestSimProfile(t *testing.T) {
	d := Sim(10)
	require.NoError(t, StartProfile(d))
	require.Error(t, StartProfile(d))
	x, err := FromFloat32(testutil.Normal32(testutil.NewRand(1), 64*64, 1), 64, 64).To(d)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		x = Tanh(Matmul(x, x))
	}
	ks, err := StopProfile(d)
	require.NoError(t, err)
	byName := map[string]KernelTime{}
	for i, k := range ks {
		byName[k.Name] = k
		if i > 0 {
			assert.GreaterOrEqual(t, ks[i-1].Seconds, k.Seconds, "largest first")
		}
	}
	assert.Equal(t, 3, byName["Matmul"].Count)
	assert.Equal(t, 3, byName["Unary.Tanh"].Count)
	assert.Greater(t, byName["Matmul"].Seconds, 0.0)
	_, err = StopProfile(d)
	require.Error(t, err)
	require.Error(t, StartProfile(CPU))
}
