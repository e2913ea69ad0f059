//go:build !amd64 || purego

package cpu

// fmaLoop runs iters iterations of the plain-Go multiply-add loop (the only
// tier without assembly) and returns the flops it performed.
func fmaLoop(tier Tier, iters int) float64 { return fmaLoopGo(iters) }
