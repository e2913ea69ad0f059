// Package cuda is ragr's thin layer over the CUDA driver (through
// gorgonia.org/cu): a Device with the embedded PTX modules of package
// kernels loaded once (plus the extra PTX files of RAGR_EXTRA_PTX: the
// sm_90a kernels built on the GPU machine), kernel launches by name, a caching device allocator
// with current/peak statistics, host↔device copies, events for timing, and
// one Go launcher per kernel that checks shapes and returns an error naming
// the kernel and the shape before anything reaches the GPU.
//
// Everything except this file, layout.go (dtypes, names, launch geometry,
// shape checks, argument-struct layouts), gemm90plan.go (the sm_90a GEMM's
// eligibility, block tiles and tensor-map arguments), attnpath.go (the
// choice between the mma.sync and sm_90a attention kernels, their kernel
// names and shared memory), modules.go (which PTX modules a device loads,
// RAGR_EXTRA_PTX, why the sm_90a kernels are unavailable) and their tests
// (layout_test.go, gemm90plan_test.go, attnpath_test.go, modules_test.go,
// and philox_test.go: the plain-Go
// Philox twin and its known answers), which run anywhere, carries the `cuda`
// build tag:
// the cu package's init exits the process on a machine without a GPU, so
// the default build must never link it. Build with `go build -tags cuda` (cgo,
// cuda.h and libcuda.so at link time; no nvcc). Do not run the test binary
// on a machine without a GPU: it exits in cu's init.
//
// Launchers take device pointers plus sizes (and strides where a kernel
// accepts them), never tensors, so the tensor package's CUDA backend can call
// them directly. Non-contiguous views are made contiguous first with
// CopyStrided.
//
// Errors: a CUDA failure becomes a Go error naming the kernel (or the
// copy/allocation) and the sizes. Kernel launches are asynchronous; with
// SetSyncLaunch(true) (or RAGR_CUDA_SYNC=1) every launch is followed by a
// synchronize, so an execution fault is reported against the kernel that
// caused it (the tests run that way).
package cuda
