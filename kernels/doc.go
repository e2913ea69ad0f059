// Package kernels holds ragr's CUDA kernel sources (kernels/*.cu, one kernel
// family per file, each opening with what it computes, its shapes, its
// variants and the launch geometry it expects) and their generated PTX
// (kernels/ptx/*.ptx, target compute_80, committed and embedded here with
// go:embed), so that a `-tags cuda` build needs the CUDA driver but no nvcc.
//
// A source whose header comment has the line `// Target: sm_90a` (Hopper
// only: wgmma, TMA) is compiled for sm_90a instead and needs nvcc >= 12.3;
// its PTX may be missing from kernels/ptx (the CI's nvcc 11.8 cannot build
// it), and kernels/cuda then loads it at run time from RAGR_EXTRA_PTX.
// Module.Target records each module's .target; ParsePTX reads such an extra
// file.
//
// `make kernels` regenerates the PTX with nvcc; `make kernels-check` fails
// when the committed PTX is stale. The package has no cgo and no Go
// dependencies; the CPU kernels live in kernels/cpu and the CUDA launchers
// in kernels/cuda.
//
// Kernel names follow one convention, ragr_<family>_<op>_<dtype>, and every
// kernel is extern "C", so the PTX entry name is the name a launcher uses.
package kernels
