// Package testutil holds the helpers every ragr test shares: tolerances with
// named levels (the one place they live), element-wise and relative-L2
// comparisons, output buffers poisoned with NaN and framed by guard values,
// and seeded random inputs.
//
// It is imported only by _test.go files.
package testutil
