package nn

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

func TestPaddingAndCausalMasks(t *testing.T) {
	m := PaddingMask(tensor.FromInt32([]int32{1, 1, 0}, 1, 3), tensor.Float32)
	assert.Equal(t, []int{1, 1, 1, 3}, m.Shape())
	assert.Equal(t, []float32{0, 0, -math.MaxFloat32}, m.Float32s())
	c := CausalPaddingMask(tensor.FromInt32([]int32{0, 1, 1}, 1, 3), 1, 3, tensor.Float32)
	mn := float32(-math.MaxFloat32)
	assert.Equal(t, []float32{mn, mn, mn, mn, 0, mn, mn, 0, 0}, c.Float32s())
}

func TestRoPEHandWorked(t *testing.T) {
	// dim 4, theta 100: inv_freq = [1, 0.1]; position 1 rotates pair (x0, x2)
	// by 1 rad and (x1, x3) by 0.1 rad (rotate_half pairs i with i+d/2).
	r := RoPE{Dim: 4, Theta: 100}
	cos, sin := r.Tables([][]int{{0, 1}}, tensor.Float64)
	x := autograd.Const(tensor.FromFloat64([]float64{1, 2, 3, 4, 1, 2, 3, 4}, 1, 1, 2, 4))
	y := ApplyRoPE(x, cos, sin).Value.Float64s()
	testutil.AssertClose(t, "position 0 unchanged", y[:4], []float64{1, 2, 3, 4}, testutil.F32)
	c1, s1 := math.Cos(1), math.Sin(1)
	c2, s2 := math.Cos(0.1), math.Sin(0.1)
	want := []float64{1*c1 - 3*s1, 2*c2 - 4*s2, 3*c1 + 1*s1, 4*c2 + 2*s2}
	testutil.AssertClose(t, "position 1", y[4:], want, testutil.F32)
}

func TestRepeatKVAndHeads(t *testing.T) {
	x := autograd.Const(tensor.FromFloat32([]float32{1, 2, 3, 4}, 1, 2, 1, 2)) // 2 KV heads of dim 2
	r := RepeatKV(x, 2)
	assert.Equal(t, []int{1, 4, 1, 2}, r.Shape())
	assert.Equal(t, []float32{1, 2, 1, 2, 3, 4, 3, 4}, r.Value.Float32s())
	h := autograd.Const(tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 4))
	s := SplitHeads(h, 2)
	assert.Equal(t, []int{1, 2, 2, 2}, s.Shape())
	assert.Equal(t, []float32{1, 2, 5, 6, 3, 4, 7, 8}, s.Value.Float32s())
	assert.Equal(t, h.Value.Float32s(), MergeHeads(s).Value.Float32s())
}

func TestPooling(t *testing.T) {
	h := autograd.Const(tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60}, 2, 3, 2))
	mask := tensor.FromInt32([]int32{1, 1, 0, 0, 1, 1}, 2, 3)
	assert.Equal(t, []float32{1, 2, 10, 20}, PoolCLS(h).Value.Float32s())
	assert.Equal(t, []float32{2, 3, 40, 50}, PoolMean(h, mask).Value.Float32s())
	idx := LastTokenIndex(mask)
	assert.Equal(t, []int{1, 2}, idx)
	assert.Equal(t, []float32{3, 4, 50, 60}, PoolAt(h, idx).Value.Float32s())
	n := L2Normalize(autograd.Const(tensor.FromFloat32([]float32{3, 4, 0, 0}, 2, 2)), 1e-12).Value.Float32s()
	assert.Equal(t, []float32{0.6, 0.8, 0, 0}, n)
	assert.Equal(t, []int{2, 1}, Truncate(autograd.Const(tensor.Zeros(2, 4)), 1).Shape())
}

func TestAttentionMatchesManual(t *testing.T) {
	rng := tensor.NewRNG(3)
	q := autograd.Const(rng.Normal64(0, 1, 1, 1, 2, 4))
	k := autograd.Const(rng.Normal64(0, 1, 1, 1, 3, 4))
	v := autograd.Const(rng.Normal64(0, 1, 1, 1, 3, 4))
	mask := PaddingMask(tensor.FromInt32([]int32{1, 1, 0}, 1, 3), tensor.Float64)
	got := Attention(q, k, v, mask, 0, 0, nil, false).Value.Float64s()
	qv, kv, vv := q.Value.Float64s(), k.Value.Float64s(), v.Value.Float64s()
	for i := 0; i < 2; i++ {
		var s [2]float64
		for j := 0; j < 2; j++ { // the third key is padding
			for d := 0; d < 4; d++ {
				s[j] += qv[i*4+d] * kv[j*4+d] / 2
			}
		}
		m := math.Max(s[0], s[1])
		e0, e1 := math.Exp(s[0]-m), math.Exp(s[1]-m)
		for d := 0; d < 4; d++ {
			want := (e0*vv[d] + e1*vv[4+d]) / (e0 + e1)
			require.InDelta(t, want, got[i*4+d], 1e-12)
		}
	}
}

func TestEmbeddingPaddingRowGetsNoGradient(t *testing.T) {
	e := NewEmbedding(4, 2, 0, 1, tensor.NewRNG(1))
	assert.Equal(t, []float32{0, 0}, e.Weight.Value.Select(0, 0).Float32s())
	out, err := e.Forward(tensor.FromInt32([]int32{0, 2, 0}, 3))
	require.NoError(t, err)
	require.NoError(t, autograd.SumAll(out).Backward())
	assert.Equal(t, []float32{0, 0, 0, 0, 1, 1, 0, 0}, e.Weight.Grad.Float32s())
	_, err = e.Forward(tensor.FromInt32([]int32{4}, 1))
	assert.Error(t, err)
}
