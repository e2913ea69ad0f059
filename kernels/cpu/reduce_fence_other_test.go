//go:build !linux

package cpu

import "testing"

// reduceFenced32 returns a plain copy of vals where page protection is not
// available (the fenced over-read checks then only run on Linux).
func reduceFenced32(t testing.TB, vals []float32, atEnd bool) []float32 {
	return append(make([]float32, 0, len(vals)), vals...)
}
