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
// Launch: 1-D grid-stride over nids*dim elements; block 256, grid =
// min(ceil(nids*dim/256), 16*SMs).
//
// Benchmark: ragr bench kernels (rows embedding_gather_f32 ...).
#include "common.cuh"

extern "C" __global__ void ragr_embedding_gather_f32(float* __restrict__ y, const float* __restrict__ table, const int* __restrict__ ids,
                                                     long long nids, int dim, long long vocab, int* __restrict__ err) {
	RAGR_GRID_STRIDE(i, nids * dim) {
		const long long row = i / dim, j = i - row * dim;
		const int id = ids[row];
		if (id < 0 || id >= vocab) {
			y[i] = 0.f;
			if (j == 0) atomicMin(err, (int)row);
			continue;
		}
		y[i] = table[(long long)id * dim + j];
	}
}

extern "C" __global__ void ragr_embedding_scatter_add_f32(float* __restrict__ dtable, const float* __restrict__ dy,
                                                          const int* __restrict__ ids, long long nids, int dim, long long vocab,
                                                          int* __restrict__ err) {
	RAGR_GRID_STRIDE(i, nids * dim) {
		const long long row = i / dim, j = i - row * dim;
		const int id = ids[row];
		if (id < 0 || id >= vocab) {
			if (j == 0) atomicMin(err, (int)row);
			continue;
		}
		atomicAdd(dtable + (long long)id * dim + j, dy[i]);
	}
}
