// rowsoftmax.cuh: helpers for the row softmax kernels (softmax.cu, xent.cu);
// not a kernel family.
//
//   - rows_vec4(cols, a, b): whether every row of cols floats at a and at b
//     starts 16-byte aligned (cols % 4 == 0 and both bases aligned), so the
//     rows can move as float4.
//   - exp_term(t): exp(t) for the terms of a sum of exp(x - max) (t <= 0,
//     -inf or NaN): exp2f(t * log2(e)), one ex2.approx. Its error is that
//     of ex2 (~2 ulp) plus the rounding of t*log2(e) (relative 2^-24 |t|,
//     i.e. < 3e-6 relative for every term above 2^-24 of the largest),
//     below the fp32 sum's own rounding; values that are outputs
//     (softmax, dlogits) keep expf.
//   - maxsum_fold(ms, v): folds N values into a thread's online (max, sum
//     of exp(x - max)) state with one rescale at most: a NaN anywhere makes
//     m and s NaN, a +Inf makes s NaN (Inf - Inf), values of -Inf add 0,
//     and a state of only -Inf stays {-Inf, 0} (merged by maxsum_merge /
//     block_maxsum of common.cuh, which keep these rules).
#pragma once

#include "common.cuh"

__device__ __forceinline__ bool rows_vec4(int cols, const void* a, const void* b) {
	return (cols & 3) == 0 && ((((uintptr_t)a) | ((uintptr_t)b)) & 15) == 0;
}

__device__ __forceinline__ float exp_term(float t) { return exp2f(t * 1.44269504088896340736f); }

template <int N>
__device__ __forceinline__ void maxsum_fold(MaxSum& ms, const float (&v)[N]) {
	float cm = v[0];
#pragma unroll
	for (int i = 1; i < N; i++) cm = nan_max(cm, v[i]);
	const float m = nan_max(ms.m, cm);
	if (m == -INFINITY) return;                 // only -inf so far: the sum stays 0
	if (m != ms.m) ms.s *= exp_term(ms.m - m);  // ms.m = -inf: 0; m NaN: NaN
	ms.m = m;
	float s = 0.f;
#pragma unroll
	for (int i = 0; i < N; i++) s += exp_term(v[i] - m);
	ms.s += s;
}

// 16-byte load / store of element quad q of a row (the caller checked
// rows_vec4).
#ifdef RAGR_EMU
// the hardware faults on a misaligned float4 access; the host does not, so
// the emulator checks
#define RAGR_CHECK_ALIGN16(p) ragr_mma::check_align(p, "float4")
#else
#define RAGR_CHECK_ALIGN16(p)
#endif
__device__ __forceinline__ float4 ld4(const float* p, int q) {
	RAGR_CHECK_ALIGN16(p + 4 * (long long)q);
	return reinterpret_cast<const float4*>(p)[q];
}
__device__ __forceinline__ void st4(float* p, int q, float4 v) {
	RAGR_CHECK_ALIGN16(p + 4 * (long long)q);
	reinterpret_cast<float4*>(p)[q] = v;
}
