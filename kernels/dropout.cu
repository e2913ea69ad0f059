// dropout.cu: inverted dropout with a counter-based RNG, so the mask is a
// pure function of (seed, offset, element index) and the backward pass
// regenerates it instead of storing it.
//
//   ragr_dropout_fwd_f32(y, x, n, p, seed, offset)    y = x * keep / (1-p)
//   ragr_dropout_bwd_f32(dx, dy, n, p, seed, offset)  dx = dy * keep / (1-p), the same mask
//   ragr_dropout_mask_f32(m, n, p, seed, offset)      m = keep / (1-p) (for tests and debugging)
// keep(i) = u(i) >= p, u(i) a uniform in [0, 1) with 24 random bits. p in
// [0, 1); p == 0 copies (every u >= 0). n, seed and offset are 64-bit.
//
// RNG: Philox 4x32-10 (common.cuh). Element i belongs to group g = i/4;
// the counter is (lo32(g), hi32(g), lo32(offset), hi32(offset)), the key
// (lo32(seed), hi32(seed)), and element i takes output word i%4 (x, y, z,
// w). So the mask does not depend on the launch geometry, and any two calls
// with different offsets (or seeds) draw independent masks: callers pass a
// fresh offset per dropout call (e.g. a running call counter). The CPU
// backend's RNG differs: the masks of the two backends are not equal; their
// statistics are (the tests check the keep rate and that fwd and bwd agree).
//
// Launch: 1-D grid-stride over groups of 4 elements, block 256, grid =
// min(ceil(n/1024), 16*SMs).
//
// Benchmark: ragr bench kernels (row dropout_fwd_f32).
#include "common.cuh"

__device__ __forceinline__ Philox4 dropout_bits(long long g, unsigned long long seed, unsigned long long offset) {
	Philox4 c;
	c.x = (uint32_t)g;
	c.y = (uint32_t)((unsigned long long)g >> 32);
	c.z = (uint32_t)offset;
	c.w = (uint32_t)(offset >> 32);
	return philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

// mode 0: y = x*mask; mode 1: y = mask (x unused).
template <int MODE>
__device__ __forceinline__ void dropout(float* __restrict__ y, const float* __restrict__ x, long long n, float p,
                                        unsigned long long seed, unsigned long long offset) {
	const float scale = 1.f / (1.f - p);
	RAGR_GRID_STRIDE(g, (n + 3) / 4) {
		const Philox4 r = dropout_bits(g, seed, offset);
		const uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
		for (int k = 0; k < 4; k++) {
			const long long i = g * 4 + k;
			if (i < n) {
				const float m = u01(w[k]) >= p ? scale : 0.f;
				y[i] = MODE == 0 ? x[i] * m : m;
			}
		}
	}
}

extern "C" __global__ void ragr_dropout_fwd_f32(float* __restrict__ y, const float* __restrict__ x, long long n, float p,
                                                unsigned long long seed, unsigned long long offset) {
	dropout<0>(y, x, n, p, seed, offset);
}
extern "C" __global__ void ragr_dropout_bwd_f32(float* __restrict__ dx, const float* __restrict__ dy, long long n, float p,
                                                unsigned long long seed, unsigned long long offset) {
	dropout<0>(dx, dy, n, p, seed, offset);
}
extern "C" __global__ void ragr_dropout_mask_f32(float* __restrict__ m, long long n, float p, unsigned long long seed,
                                                 unsigned long long offset) {
	dropout<1>(m, nullptr, n, p, seed, offset);
}

// ragr_philox_u32: the raw generator, out[4*g + k] = word k of
// philox4x32_10((lo(g), hi(g), lo(offset), hi(offset)), seed), as uint32 bits,
// for the known-answer test against a plain-Go Philox.
extern "C" __global__ void ragr_philox_u32(unsigned* __restrict__ out, long long groups, unsigned long long seed,
                                           unsigned long long offset) {
	RAGR_GRID_STRIDE(g, groups) {
		const Philox4 r = dropout_bits(g, seed, offset);
		out[4 * g + 0] = r.x;
		out[4 * g + 1] = r.y;
		out[4 * g + 2] = r.z;
		out[4 * g + 3] = r.w;
	}
}
