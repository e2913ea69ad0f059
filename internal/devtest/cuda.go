//go:build cuda

package devtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/gpu"
)

// CUDA opens GPU 0 with a synchronizing launch after every kernel (errors
// name the kernel) and returns tensor.CUDA(0) with bf16 mixed precision
// set to mixed until the test ends.
func CUDA(t testing.TB, mixed bool) tensor.Device {
	t.Helper()
	b, err := gpu.Open(0)
	require.NoError(t, err)
	b.CUDA().SetSyncLaunch(true)
	return Mixed(t, tensor.CUDA(0), mixed)
}
