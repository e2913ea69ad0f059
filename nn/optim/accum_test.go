package optim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

func TestAccumulatorCounts(t *testing.T) {
	a := NewAccumulator(3)
	require.Equal(t, 3, a.Steps())
	var got []bool
	for i := 0; i < 7; i++ {
		got = append(got, a.Tick())
	}
	require.Equal(t, []bool{false, false, true, false, false, true, false}, got)
	require.Equal(t, 1, a.Pending())
	require.True(t, a.Flush(), "one micro-batch pending at the end")
	require.False(t, a.Flush())
	a.Tick()
	a.Reset()
	require.Equal(t, 0, a.Pending())

	one := NewAccumulator(1)
	require.True(t, one.Tick())
	require.False(t, one.Flush())
	require.Panics(t, func() { NewAccumulator(0) })
}

// TestAccumulatorGradients: three micro-batches with scaled losses
// accumulate the gradient of the mean loss: for L_i = Σ w·x_i the gradient
// is mean(x_i).
func TestAccumulatorGradients(t *testing.T) {
	r := testutil.NewRand(31)
	const n = 13
	w := autograd.Param(tensor.FromFloat32(testutil.Normal32(r, n, 1), n), "w")
	acc := NewAccumulator(3)
	want := make([]float64, n)
	stepped := 0
	for i := 0; i < 3; i++ {
		x := testutil.Normal32(r, n, 1)
		for j, v := range x {
			want[j] += float64(v) / 3
		}
		loss := autograd.SumAll(autograd.Mul(w, autograd.Const(tensor.FromFloat32(x, n))))
		require.NoError(t, acc.ScaleLoss(loss).Backward())
		if acc.Tick() {
			stepped++
		}
	}
	require.Equal(t, 1, stepped)
	testutil.AssertClose(t, "accumulated gradient", w.Grad.Float32s(), want, testutil.F32Rounding)

	// With one micro-batch per step the loss is passed through untouched.
	loss := autograd.SumAll(w)
	require.Same(t, loss, NewAccumulator(1).ScaleLoss(loss))
}
