//go:build !cuda

package main

import (
	"bytes"
	"strings"
	"testing"
)

// Without the cuda tag, `ragr bench kernels` fails with a message saying
// how to build it (exit status 1, not a crash).
func TestBenchKernelsWithoutCUDA(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "kernels"}, &out, &errb); code != 1 {
		t.Fatalf("exit status %d, want 1; stderr %q", code, errb.String())
	}
	if !strings.Contains(errb.String(), "-tags cuda") {
		t.Errorf("stderr %q does not say how to build with CUDA", errb.String())
	}
}
