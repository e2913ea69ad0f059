//go:build !amd64 || purego

package cpu

// hasAsm reports whether this build carries the Go assembly kernels.
const hasAsm = false
