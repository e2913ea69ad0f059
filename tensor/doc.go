// Package tensor is ragr's N-d strided tensor: shape, strides, offset, dtype,
// device and storage, with views (Reshape, Permute, Transpose, Narrow,
// Select, Expand, Squeeze, Unsqueeze), contiguous copies, Concat and Stack,
// IndexSelect and Gather, MaskedFill and Where, casts, a seeded RNG, and the
// eager compute ops that models and autograd build on.
//
// Float32 is the working type; Float64 exists on the CPU for gradient checks
// and references; BFloat16 and Float16 are storage types (cast them to
// Float32 to compute); Int32 holds token ids and indices.
//
// Every op validates shapes, dtypes and devices, allocates its output and
// dispatches to the Backend of the tensors' device. The CPU backend is always
// present and calls the SIMD kernels of kernels/cpu; a CUDA backend registers
// itself in builds with the cuda tag, and asking for a CUDA device in a build
// without it returns a clear error.
//
// Errors follow DESIGN.md: a shape, dtype, axis or device mismatch is a
// programmer error and panics with a message naming the op and the shapes;
// everything user data can cause (token ids out of range, allocation on an
// absent device) returns an error.
package tensor
