// multitensor.cuh: the chunk table that lets one launch walk many tensors
// (fused AdamW, global gradient norm); not a kernel family.
//
// Tensor t (of ntensors) covers chunks [chunk_start[t], chunk_start[t+1]),
// each chunk RAGR_CHUNK elements (the last one of a tensor shorter); one
// block handles one chunk, so grid = chunk_start[ntensors]. The launcher
// builds the table once per parameter list and keeps it on the device.
#pragma once
#include "common.cuh"

#define RAGR_CHUNK 16384

// find_tensor returns t with chunk_start[t] <= c < chunk_start[t+1].
__device__ __forceinline__ int find_tensor(const int* __restrict__ chunk_start, int ntensors, int c) {
	int lo = 0, hi = ntensors - 1;
	while (lo < hi) {
		const int mid = (lo + hi + 1) >> 1;
		if (chunk_start[mid] <= c) lo = mid;
		else hi = mid - 1;
	}
	return lo;
}
