// map.cuh: element-wise map helpers shared by the element-wise kernel
// families (not a kernel family). Each helper runs a grid-stride loop; when
// every pointer is 16-byte aligned it moves 16 bytes per load/store (4 fp32
// or 8 bf16/fp16 values) and finishes the tail element by element,
// otherwise it goes element by element. Compute is fp32 (to_f32/from_f32).
#pragma once
#include "common.cuh"

template <typename T> struct Vec16 {
	static constexpr int N = 16 / sizeof(T);
	union {
		uint4 u;
		T v[16 / sizeof(T)];
	};
};

__device__ __forceinline__ bool aligned16(const void* p) { return ((uintptr_t)p & 15) == 0; }

// y[i] = f(x[i])
template <typename T, typename F> __device__ __forceinline__ void map1(T* __restrict__ y, const T* __restrict__ x, long long n, F f) {
	constexpr int V = Vec16<T>::N;
	long long done = 0;
	if (aligned16(x) && aligned16(y)) {
		const long long nv = n / V;
		RAGR_GRID_STRIDE(i, nv) {
			Vec16<T> a, r;
			a.u = reinterpret_cast<const uint4*>(x)[i];
#pragma unroll
			for (int k = 0; k < V; k++) r.v[k] = from_f32<T>(f(to_f32(a.v[k])));
			reinterpret_cast<uint4*>(y)[i] = r.u;
		}
		done = nv * V;
	}
	RAGR_GRID_STRIDE(j, n - done) {
		const long long i = done + j;
		y[i] = from_f32<T>(f(to_f32(x[i])));
	}
}

// y[i] = f(a[i], b[i])
template <typename T, typename F>
__device__ __forceinline__ void map2(T* __restrict__ y, const T* __restrict__ a, const T* __restrict__ b, long long n, F f) {
	constexpr int V = Vec16<T>::N;
	long long done = 0;
	if (aligned16(a) && aligned16(b) && aligned16(y)) {
		const long long nv = n / V;
		RAGR_GRID_STRIDE(i, nv) {
			Vec16<T> va, vb, r;
			va.u = reinterpret_cast<const uint4*>(a)[i];
			vb.u = reinterpret_cast<const uint4*>(b)[i];
#pragma unroll
			for (int k = 0; k < V; k++) r.v[k] = from_f32<T>(f(to_f32(va.v[k]), to_f32(vb.v[k])));
			reinterpret_cast<uint4*>(y)[i] = r.u;
		}
		done = nv * V;
	}
	RAGR_GRID_STRIDE(j, n - done) {
		const long long i = done + j;
		y[i] = from_f32<T>(f(to_f32(a[i]), to_f32(b[i])));
	}
}
