package tensor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// The optional capabilities on the CPU: absent, and the portable paths.
func TestAccelOnCPU(t *testing.T) {
	_, err := SetMixedPrecision(CPU, true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "float32")
	assert.False(t, MixedPrecision(CPU))
	assert.False(t, MixedPrecision(CUDA(0)))
	require.NoError(t, Synchronize(CPU))
	_, ok := DeviceMemory(CPU)
	assert.False(t, ok)
	ResetPeakMemory(CPU)

	q := FromFloat32(testutil.Normal32(testutil.NewRand(1), 2*2*3*4, 1), 2, 2, 3, 4)
	_, _, ok = FusedAttention(q, q, q, AttentionOpts{Scale: 0.5})
	assert.False(t, ok, "the CPU backend has no fused attention")
	_, ok = GlobalNorm([]*Tensor{q})
	assert.False(t, ok)
	n, ok := GlobalNorm(nil)
	assert.True(t, ok)
	assert.Equal(t, 0.0, n)
}

// AdamWSteps without a multi-tensor kernel equals AdamWStep tensor by
// tensor, each with its own weight decay.
func TestAdamWStepsMatchesAdamWStep(t *testing.T) {
	sizes := []int{1, 17, 33}
	wds := []float64{0.01, 0, 0.1}
	mk := func() (ps, gs, ms, vs []*Tensor) {
		rr := testutil.NewRand(9)
		for _, n := range sizes {
			ps = append(ps, FromFloat32(testutil.Normal32(rr, n, 1), n))
			gs = append(gs, FromFloat32(testutil.Normal32(rr, n, 1), n))
			ms = append(ms, FromFloat32(testutil.Uniform32(rr, n, -0.1, 0.1), n))
			vs = append(vs, FromFloat32(testutil.Uniform32(rr, n, 0, 0.1), n))
		}
		return
	}
	p := AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 3}
	ps, gs, ms, vs := mk()
	AdamWSteps(ps, gs, ms, vs, wds, p)
	ps2, gs2, ms2, vs2 := mk()
	for i := range ps2 {
		q := p
		q.WeightDecay = wds[i]
		AdamWStep(ps2[i], gs2[i], ms2[i], vs2[i], q)
	}
	for i := range ps {
		testutil.AssertClose(t, "param", ps[i].Float32s(), ps2[i].Float32s(), testutil.Exact)
		testutil.AssertClose(t, "m", ms[i].Float32s(), ms2[i].Float32s(), testutil.Exact)
		testutil.AssertClose(t, "v", vs[i].Float32s(), vs2[i].Float32s(), testutil.Exact)
	}
	assert.Panics(t, func() { AdamWSteps(ps, gs[:1], ms, vs, wds, p) })
	assert.Panics(t, func() { AdamWSteps(ps, []*Tensor{gs[1], gs[0], gs[2]}, ms, vs, wds, p) })
}
