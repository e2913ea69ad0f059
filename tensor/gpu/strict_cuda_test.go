//go:build cuda

package gpu_test

// The CUDA backend's own rules: dtypes it refuses, allocation failures as
// DeviceErrors, strict mode and the host-fallback counter.

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/gpu"
)

func TestErrors(t *testing.T) {
	_, err := tensor.NewOn(dev, tensor.Float64, 3)
	require.Error(t, err)
	require.Contains(t, err.Error(), "float64 is not supported on cuda")
	var de *tensor.DeviceError
	require.True(t, errors.As(err, &de), "%T", err)

	_, err = gb.Alloc(tensor.Float32, 1<<50)
	require.Error(t, err)
	require.Contains(t, err.Error(), "float32[")
	require.True(t, errors.As(err, &de))

	// IndexSelect of an Int32 tensor still runs on the host: strict refuses it
	old := gpu.SetStrict(true)
	defer gpu.SetStrict(old)
	x := onDev(t, tensor.FromInt32([]int32{4, 5, 6}, 3))
	_, err = tensor.IndexSelect(x, 0, onDev(t, tensor.FromInt32([]int32{2}, 1)))
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "not supported on cuda yet") && strings.Contains(err.Error(), "IndexRows.int32"), err.Error())
}

// TestNoFallbacks: the ops of the training path that used to run on the
// host (Exp, Log, Sqrt, Rsqrt, Erf, Abs/Relu backward, Pow, comparisons,
// Where, Int32 casts) run in strict mode, so on kernels.
func TestNoFallbacks(t *testing.T) {
	old := gpu.SetStrict(true)
	defer gpu.SetStrict(old)
	before := gpu.HostFallbacks()
	r := newRand(13)
	h := uniform(r, 0.1, 2, 5, 7)
	x := onDev(t, h)
	for _, op := range []tensor.UnaryOp{tensor.OpExp, tensor.OpLog, tensor.OpSqrt, tensor.OpRsqrt, tensor.OpErf, tensor.OpAbs, tensor.OpRelu} {
		y := tensor.Unary(op, x)
		dx, _ := poisoned(t, tensor.Float32, 5, 7)
		gb.UnaryBackward(op, dx, x, y)
	}
	for _, op := range []tensor.BinaryOp{tensor.OpPow, tensor.OpGreater, tensor.OpLess, tensor.OpEqual} {
		tensor.Binary(op, x, x.Narrow(0, 0, 1))
		tensor.BinaryScalar(op, x, 0.1, true)
	}
	mask := tensor.BinaryScalar(tensor.OpGreater, x, 1, false)
	w := tensor.Where(mask.Cast(tensor.Int32), x, tensor.Neg(x))
	back := w.Cast(tensor.Int32).Cast(tensor.BFloat16).Cast(tensor.Int32).Cast(tensor.Float32)
	want := tensor.Where(tensor.BinaryScalar(tensor.OpGreater, h, 1, false).Cast(tensor.Int32), h, tensor.Neg(h)).
		Cast(tensor.Int32).Cast(tensor.BFloat16).Cast(tensor.Int32).Cast(tensor.Float32)
	same(t, "where and int32 casts", back, want, testutil.Exact)
	require.Equal(t, before, gpu.HostFallbacks())
}

// TestLinearBiasEpilogue: tensor.Linear on the GPU adds the bias in the
// GEMM's epilogue (BiasMatmulBackend) — fp32 and bf16 mixed precision —
// and matches the CPU's copy-the-bias-then-multiply.
func TestLinearBiasEpilogue(t *testing.T) {
	_, ok := gb.(tensor.BiasMatmulBackend)
	require.True(t, ok, "the CUDA backend adds biases in the GEMM epilogue")
	r := newRand(21)
	x := uniform(r, -1, 1, 3, 37, 48)
	w := uniform(r, -1, 1, 20, 48)
	bias := uniform(r, -1, 1, 40).Narrow(0, 7, 20) // a view at an offset
	want := tensor.Linear(x, w, bias.Contiguous())
	got := tensor.Linear(onDev(t, x), onDev(t, w), onDev(t, bias))
	same(t, "linear fp32", got, want, testutil.F32Accum)
	prev, err := tensor.SetMixedPrecision(dev, true)
	require.NoError(t, err)
	defer tensor.SetMixedPrecision(dev, prev) //nolint:errcheck
	got = tensor.Linear(onDev(t, x), onDev(t, w), onDev(t, bias))
	wantBF := tensor.Linear(x.Cast(tensor.BFloat16).Cast(tensor.Float32), w.Cast(tensor.BFloat16).Cast(tensor.Float32), bias.Contiguous())
	same(t, "linear bf16 mixed", got, wantBF, testutil.F32Accum)
}
