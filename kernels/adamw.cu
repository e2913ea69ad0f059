// adamw.cu: one fused AdamW step over many fp32 tensors in one launch, in
// the arithmetic of PyTorch's torch.optim.AdamW (single-tensor path,
// amsgrad=False), rounding after every operation exactly as kernels/cpu's
// AdamW does (explicit _rn intrinsics, so nvcc contracts nothing into an
// FMA; the result is bit-identical to the CPU's):
//   p *= decay_t                                  decay_t = fp32(1 - lr*wd_t), in fp64 (per tensor: decay/no-decay groups)
//   m = small ? m + w1*(g-m) : g - (g-m)*(1-w1)   (torch.lerp, w1 = 1-beta1)
//   v = v*beta2 + (c2*g)*g                        c2 = 1-beta2
//   p += (negstep*m) / (sqrt(v)/bc2sqrt + eps)    negstep = -lr/(1-beta1^step), bc2sqrt = sqrt(1-beta2^step)
// The host computes the scalars in float64 and rounds them once, as
// kernels/cpu does. When gscale is not NULL, g is first multiplied by
// *gscale (the clip coefficient from gradnorm.cu, read on the device, so
// clipping needs no host synchronization).
//
//   ragr_adamw_f32(table, chunk_start, ntensors, gscale, lr, w1, beta2, c2, bc2sqrt, negstep, eps, small)
//       lr is a double (the widened float the CPU uses); small = |w1| < 0.5.
//       table: AdamWTensor[ntensors] in device memory; chunk_start: int[ntensors+1]
//       (multitensor.cuh).
//
// Launch: grid = chunk_start[ntensors] (one block per chunk of 16384
// elements), block 256.
//
// Benchmark: ragr bench kernels (row adamw_f32): 16 bytes read + 12 written
// per element.
#include "multitensor.cuh"

struct AdamWTensor {
	float* p;
	const float* g;
	float* m;
	float* v;
	long long n;
	double wd; // this tensor's weight decay, widened as kernels/cpu widens it
};

extern "C" __global__ void ragr_adamw_f32(const AdamWTensor* __restrict__ table, const int* __restrict__ chunk_start, int ntensors,
                                          const float* __restrict__ gscale, double lr, float w1, float beta2, float c2, float bc2sqrt,
                                          float negstep, float eps, int small) {
	const int c = blockIdx.x;
	const int t = find_tensor(chunk_start, ntensors, c);
	const AdamWTensor T = table[t];
	const long long lo = (long long)(c - chunk_start[t]) * RAGR_CHUNK;
	const long long hi = min(lo + RAGR_CHUNK, T.n);
	const float gs = gscale ? *gscale : 1.f;
	const float decay = (float)__dadd_rn(1.0, -__dmul_rn(lr, T.wd));
	const float omw1 = __fsub_rn(1.f, w1);
	for (long long i = lo + threadIdx.x; i < hi; i += blockDim.x) {
		float g = T.g[i];
		if (gscale) g = __fmul_rn(g, gs);
		float p = __fmul_rn(T.p[i], decay);
		float m = T.m[i];
		if (small) m = __fadd_rn(m, __fmul_rn(w1, __fsub_rn(g, m)));
		else m = __fsub_rn(g, __fmul_rn(__fsub_rn(g, m), omw1));
		float v = __fadd_rn(__fmul_rn(T.v[i], beta2), __fmul_rn(__fmul_rn(c2, g), g));
		const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(v), bc2sqrt), eps);
		p = __fadd_rn(p, __fdiv_rn(__fmul_rn(negstep, m), denom));
		T.p[i] = p;
		T.m[i] = m;
		T.v[i] = v;
	}
}
