package nn

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

// causalCase is a decoder attention problem: grouped-query heads, a
// right-padded row, a left-padded row (its first queries see no key) and
// a row without padding.
type causalCase struct {
	q, k, v, dout *tensor.Tensor
	mask          *tensor.Tensor // [B, L] 1/0
	blind         []bool         // [B·L]: the query sees no key
}

func newCausalCase(t *testing.T, seed uint64) causalCase {
	const B, H, KVH, L, D = 3, 4, 2, 7, 8
	r := testutil.NewRand(seed)
	mk := func(h int) *tensor.Tensor {
		return tensor.FromFloat32(testutil.Normal32(r, B*h*L*D, 1), B, h, L, D)
	}
	c := causalCase{q: mk(H), k: mk(KVH), v: mk(KVH), dout: mk(H)}
	m := []int32{
		1, 1, 1, 1, 1, 0, 0, // right padding
		0, 0, 1, 1, 1, 1, 1, // left padding: queries 0 and 1 see nothing
		1, 1, 1, 1, 1, 1, 1,
	}
	c.mask = tensor.FromInt32(m, B, L)
	c.blind = make([]bool, B*L)
	c.blind[L+0], c.blind[L+1] = true, true
	// The composite and fused paths differ only at blind queries; with a
	// zero output gradient there, the gradients agree too.
	g := c.dout.Data32()
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < L; i++ {
				if c.blind[b*L+i] {
					clear(g[((b*H+h)*L+i)*D : ((b*H+h)*L+i+1)*D])
				}
			}
		}
	}
	return c
}

// run computes CausalAttention on device d and returns the output (blind
// rows zeroed) and the q, k, v gradients, plus the generator's next draw.
func (c causalCase) run(t *testing.T, d tensor.Device, round bool, dropout float64) (out []float32, grads [][]float32, next float64) {
	to := func(x *tensor.Tensor) *tensor.Tensor {
		if round {
			x = x.Cast(tensor.BFloat16).Cast(tensor.Float32)
		}
		y, err := x.To(d)
		require.NoError(t, err)
		return y
	}
	q, k, v := autograd.Param(to(c.q), "q"), autograd.Param(to(c.k), "k"), autograd.Param(to(c.v), "v")
	m, err := NewDecoderMask(c.mask, c.q.Dim(0), c.q.Dim(2), tensor.Float32, d)
	require.NoError(t, err)
	rng := tensor.NewRNG(77)
	o := CausalAttention(q, k, v, m, 0, dropout, rng, dropout > 0)
	dout, err := c.dout.To(d)
	require.NoError(t, err)
	require.NoError(t, o.BackwardWith(dout))
	out = o.Value.Float32s()
	B, H, L, D := c.q.Dim(0), c.q.Dim(1), c.q.Dim(2), c.q.Dim(3)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < L; i++ {
				if c.blind[b*L+i] {
					clear(out[((b*H+h)*L+i)*D : ((b*H+h)*L+i+1)*D])
				}
			}
		}
	}
	return out, [][]float32{q.Grad.Float32s(), k.Grad.Float32s(), v.Grad.Float32s()}, rng.Float64()
}

// On a device without fused attention (the sim outside mixed precision)
// CausalAttention is the composite path, bit for bit the CPU's.
func TestCausalAttentionCompositeOnDevice(t *testing.T) {
	c := newCausalCase(t, 1)
	wo, wg, wn := c.run(t, tensor.CPU, false, 0.2)
	go_, gg, gn := c.run(t, tensor.Sim(0), false, 0.2)
	assert.Equal(t, wo, go_)
	assert.Equal(t, wg, gg)
	assert.Equal(t, wn, gn)
}

// The fused path (the sim in mixed precision: grouped heads in place, the
// causal rule beside the key padding mask, dropout inside) equals the
// composite path on the CPU with bf16-rounded q, k, v, except at queries
// that see no key; with and without dropout, and the generator advances
// alike.
func TestCausalAttentionFusedMatchesComposite(t *testing.T) {
	d := tensor.Sim(1)
	prev, err := tensor.SetMixedPrecision(d, true)
	require.NoError(t, err)
	defer tensor.SetMixedPrecision(d, prev) //nolint:errcheck
	for _, p := range []float64{0, 0.3} {
		c := newCausalCase(t, 2)
		wo, wg, wn := c.run(t, tensor.CPU, true, p)
		go_, gg, gn := c.run(t, d, false, p)
		testutil.AssertClose(t, "out", go_, wo, testutil.F32)
		for i, name := range []string{"dq", "dk", "dv"} {
			testutil.AssertClose(t, name, gg[i], wg[i], testutil.F32)
		}
		assert.Equal(t, wn, gn, "dropout %g: one key drawn on both paths", p)
	}
	// The fused path ran: the composite one would have built the full mask.
	c := newCausalCase(t, 3)
	m, err := NewDecoderMask(c.mask, 3, 7, tensor.Float32, d)
	require.NoError(t, err)
	q, _ := c.q.To(d)
	k, _ := c.k.To(d)
	CausalAttention(autograd.Const(q), autograd.Const(k), autograd.Const(k), m, 0, 0, nil, false)
	assert.Nil(t, m.full, "fused: the [B, 1, L, L] mask was never built")
	// Blind queries get 0 on the fused path.
	out, _, ok := tensor.FusedAttention(q, k, k, tensor.AttentionOpts{KeyMask: m.Key, Causal: true, Scale: 1})
	require.True(t, ok)
	o := out.Float32s()
	assert.Equal(t, make([]float32, 8), o[(4*7+0)*8:(4*7+1)*8], "batch row 1, head 0, query 0")
}

func TestDecoderMaskShape(t *testing.T) {
	_, err := NewDecoderMask(tensor.FromInt32([]int32{1, 1}, 1, 2), 1, 3, tensor.Float32, tensor.CPU)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "[1 2]")
	m, err := NewDecoderMask(nil, 2, 3, tensor.Float32, tensor.CPU)
	require.NoError(t, err)
	assert.Nil(t, m.Key)
	assert.Equal(t, CausalPaddingMask(nil, 2, 3, tensor.Float32).Float32s(), m.Full().Float32s())
	assert.Panics(t, func() {
		x := autograd.Const(tensor.Zeros(1, 3, 2, 4))
		CausalAttention(x, autograd.Const(tensor.Zeros(1, 2, 2, 4)), autograd.Const(tensor.Zeros(1, 2, 2, 4)), m, 0, 0, nil, false)
	})
}
