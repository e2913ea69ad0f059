// embedding.cu: embedding lookup and its backward.
//
//   ragr_embedding_gather_f32(y, table, ids, nids, dim, vocab, err)
//       y[i][:] = table[ids[i]][:]   (y [nids, dim], table [vocab, dim], ids int32 [nids])
//   ragr_embedding_scatter_add_f32(dtable, dy, ids, nids, dim, vocab, err)
//       dtable[ids[i]][:] += dy[i][:] (accumulates: the caller zeroes dtable
//       first; atomicAdd, so the summation order of repeated ids varies
//       between runs by rounding)
// nids and vocab are long long, dim int. An id outside [0, vocab) is not
// read or written (gather writes zeros for its row); the kernel records the
// smallest such position with atomicMin in err[0], which the launcher sets
// to INT_MAX before the launch and checks after it, returning an error
// naming the position and the id.
//
// Launch: blocks stride over ids (the launcher uses min(nids, 32*SMs)
// blocks), threads over the row (about dim/4, a multiple of 32); gather
// moves 16-byte vectors when dim is a multiple of 4 and the pointers are
// aligned. No integer division per element.
//
// Benchmark: ragr bench kernels (rows embedding_gather_f32 ...).
#include "common.cuh"

extern "C" __global__ void ragr_embedding_gather_f32(float* __restrict__ y, const float* __restrict__ table, const int* __restrict__ ids,
                                                     long long nids, int dim, long long vocab, int* __restrict__ err) {
	const bool vec = (dim & 3) == 0 && (((uintptr_t)y | (uintptr_t)table) & 15) == 0;
	for (long long row = blockIdx.x; row < nids; row += gridDim.x) {
		const int id = ids[row];
		float* yr = y + row * dim;
		if (id < 0 || id >= vocab) {
			if (threadIdx.x == 0) atomicMin(err, (int)row);
			for (int j = threadIdx.x; j < dim; j += blockDim.x) yr[j] = 0.f;
			continue;
		}
		const float* tr = table + (long long)id * dim;
		if (vec) {
			float4* y4 = reinterpret_cast<float4*>(yr);
			const float4* t4 = reinterpret_cast<const float4*>(tr);
			for (int j = threadIdx.x; j < dim / 4; j += blockDim.x) y4[j] = t4[j];
		} else {
			for (int j = threadIdx.x; j < dim; j += blockDim.x) yr[j] = tr[j];
		}
	}
}

extern "C" __global__ void ragr_embedding_scatter_add_f32(float* __restrict__ dtable, const float* __restrict__ dy,
                                                          const int* __restrict__ ids, long long nids, int dim, long long vocab,
                                                          int* __restrict__ err) {
	for (long long row = blockIdx.x; row < nids; row += gridDim.x) {
		const int id = ids[row];
		if (id < 0 || id >= vocab) {
			if (threadIdx.x == 0) atomicMin(err, (int)row);
			continue;
		}
		float* tr = dtable + (long long)id * dim;
		const float* dr = dy + row * dim;
		for (int j = threadIdx.x; j < dim; j += blockDim.x) atomicAdd(tr + j, dr[j]);
	}
}
