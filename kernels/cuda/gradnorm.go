//go:build cuda

package cuda

// GradNormTable is a gradient list uploaded once for repeated GradNorm
// launches, with its scratch for the per-chunk partial sums.
type GradNormTable struct {
	table    *Buffer
	chunks   *Buffer
	partial  *Buffer
	ntensors int
	nchunks  int
}

// GradTensor is one gradient: an f32 device pointer and its length.
type GradTensor struct {
	Grad DevicePtr
	N    int64
}

// NewGradNormTable uploads the pointer and chunk tables of grads.
func (d *Device) NewGradNormTable(grads []GradTensor) (*GradNormTable, error) {
	const name = "ragr_gradnorm_partial_f32"
	ns := make([]int64, len(grads))
	var tb []byte
	for i, g := range grads {
		ns[i] = g.N
		tb = putU64(putU64(tb, uint64(g.Grad)), uint64(g.N))
	}
	cs, err := chunkTable(name, ns)
	if err != nil {
		return nil, err
	}
	t := &GradNormTable{ntensors: len(grads), nchunks: int(cs[len(grads)])}
	if t.table, err = Upload(d, tb); err != nil {
		return nil, err
	}
	if t.chunks, err = Upload(d, cs); err != nil {
		t.table.Free()
		return nil, err
	}
	if t.partial, err = d.Alloc(int64(max(t.nchunks, 1)) * 4); err != nil {
		t.table.Free()
		t.chunks.Free()
		return nil, err
	}
	return t, nil
}

// Free releases the tables' device memory.
func (t *GradNormTable) Free() {
	t.table.Free()
	t.chunks.Free()
	t.partial.Free()
}

// GradNorm writes the global L2 norm of all gradients of t to out[0] and
// the clip coefficient min(1, maxNorm/(norm+1e-6)) of
// torch.nn.utils.clip_grad_norm_ to out[1] (1 when maxNorm <= 0); out is
// a device float32[2]. Deterministic (two stages, no atomics), and
// asynchronous: AdamWStep can read out[1] as its gscale without a host
// round trip.
func (d *Device) GradNorm(t *GradNormTable, out DevicePtr, maxNorm float32) error {
	if t.nchunks > 0 {
		err := d.Launch("ragr_gradnorm_partial_f32", [3]int{t.nchunks, 1, 1}, [3]int{256, 1, 1}, 0,
			t.partial, t.table, t.chunks, int32(t.ntensors))
		if err != nil {
			return err
		}
	}
	return d.Launch("ragr_gradnorm_finish_f32", [3]int{1, 1, 1}, [3]int{1024, 1, 1}, 0,
		out, t.partial, int32(t.nchunks), maxNorm)
}
