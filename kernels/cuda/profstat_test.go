package cuda

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKernelStats(t *testing.T) {
	got := kernelStats([]string{"gemm", "gelu", "gemm", "copy", "gelu"}, []float64{0.25, 0.125, 0.5, 0.0625, 0.25})
	assert.Equal(t, []KernelStat{
		{"gemm", 2, 0.75},
		{"gelu", 2, 0.375},
		{"copy", 1, 0.0625},
	}, got)
	assert.Empty(t, kernelStats(nil, nil))
}
