// Package gpu is the tensor package's CUDA backend: tensor.Backend
// implemented on the launchers of kernels/cuda. Built with the cuda tag,
// its init registers it for tensor.KindCUDA, so tensor.NewOn(tensor.CUDA(i),
// ...) and t.To(tensor.CUDA(i)) work, and every tensor op on a CUDA tensor
// runs here; one kernels/cuda.Device per index is opened on first use.
// A blank import (import _ "github.com/ragr-dev/ragr/tensor/gpu") in a
// cuda-tagged file of a command is all it takes; cmd/ragr has one.
//
// Types: Float32 computes; BFloat16 and Float16 are storage (copies, casts,
// fills); Int32 holds indices (copies, fills, index ops); Float64 is not
// supported on cuda (Alloc returns an error saying so, compute methods
// panic).
//
// Memory: Storage.Handle is the *cuda.Buffer from the device's caching
// pool. It goes back to the pool when the Storage becomes unreachable
// (runtime.AddCleanup); all work is queued on the device's one stream, so
// a block reused by a later allocation is written only after the earlier
// kernels that read it. An allocation that fails with out-of-memory runs
// runtime.GC(), lets the cleanups return unreachable storage, and retries
// once; the error then names the request and the pool's use.
//
// Errors: methods without an error return panic with a *tensor.DeviceError
// naming the op and the kernel (recover it with tensor.RecoverDeviceError);
// methods with one (Alloc, FromHost, ToHost, the index ops) return it. Ids
// out of range in the index ops are returned as errors, as on the CPU.
//
// Coverage: every op of the training path runs on kernels (unary ops and
// their backwards, binary ops with Pow and the comparisons, Where, casts
// between every device dtype). What the kernels cannot compute yet (index
// ops on non-float32 data; Binary and Where on views that keep more than 8
// dimensions after merging) runs on the host: inputs are copied to the CPU,
// the CPU backend computes, the result is copied back. That is correct but
// slow; HostFallbacks counts it per op, and RAGR_CUDA_STRICT=1 (or
// SetStrict) makes it panic with "not supported on cuda yet" instead.
// kernels/NOTES.md keeps the list.
//
// Everything but this file and layout.go (launch-independent layout
// helpers, tested in the default build) carries the cuda build tag.
package gpu
