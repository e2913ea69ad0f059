//go:build cuda

package cuda

import (
	"fmt"
	"math/rand/v2"
)

// The core kernels' rows of `ragr bench kernels` (the GEMM and attention
// rows come from BenchGemm and BenchAttention). Each row times the raw
// launch(es) with CUDA events (benchReps repetitions after as many
// warm-ups) on random inputs, never zeros, and names the same op for
// bench/pytorch/kernels_bench.py in Torch (spec grammar there).

// benchArena hands out random device buffers for one row and frees them.
type benchArena struct {
	d    *Device
	bufs []*Buffer
	seed uint64
}

func (a *benchArena) free() {
	for _, b := range a.bufs {
		b.Free()
	}
	a.bufs = nil
}

// raw allocates an uninitialized buffer of bytes bytes.
func (a *benchArena) raw(bytes int64) (DevicePtr, error) {
	b, err := a.d.Alloc(bytes)
	if err != nil {
		return 0, err
	}
	a.bufs = append(a.bufs, b)
	return b.Ptr(), nil
}

// f32 allocates n float32 uniform in [lo, hi): a random block of up to
// 1<<20 values uploaded once and tiled with device copies.
func (a *benchArena) f32(n int64, lo, hi float32) (DevicePtr, error) {
	p, err := a.raw(n * 4)
	if err != nil {
		return 0, err
	}
	a.seed++
	r := rand.New(rand.NewPCG(a.seed, 0x5eed))
	blk := make([]float32, min(n, 1<<20))
	for i := range blk {
		blk[i] = lo + (hi-lo)*r.Float32()
	}
	if err := CopyHtoD(a.d, p, blk); err != nil {
		return 0, err
	}
	for off := int64(len(blk)); off < n; off += int64(len(blk)) {
		if err := a.d.CopyDtoD(p+DevicePtr(off*4), p, min(int64(len(blk)), n-off)*4); err != nil {
			return 0, err
		}
	}
	return p, nil
}

// bf16 allocates n random bf16 values (cast from f32).
func (a *benchArena) bf16(n int64, lo, hi float32) (DevicePtr, error) {
	f, err := a.f32(n, lo, hi)
	if err != nil {
		return 0, err
	}
	p, err := a.raw(n * 2)
	if err != nil {
		return 0, err
	}
	return p, a.d.Cast(p, BF16, f, F32, n)
}

// ids allocates n int32 uniform in [0, hi).
func (a *benchArena) ids(n int64, hi int) (DevicePtr, error) {
	a.seed++
	r := rand.New(rand.NewPCG(a.seed, 0x1d5))
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(r.IntN(hi))
	}
	b, err := Upload(a.d, v)
	if err != nil {
		return 0, err
	}
	a.bufs = append(a.bufs, b)
	return b.Ptr(), nil
}

// benchCase is one core row: setup allocates its inputs and returns the
// call to time.
type benchCase struct {
	kernel, shape, torch string
	bytes, flops         float64
	setup                func(a *benchArena) (func() error, error)
}

func (d *Device) runBenchCase(c benchCase) (BenchRow, error) {
	a := &benchArena{d: d, seed: uint64(len(c.kernel))*7919 + uint64(len(c.shape))}
	defer a.free()
	fn, err := c.setup(a)
	if err != nil {
		return BenchRow{}, fmt.Errorf("bench %s %s: setup: %w", c.kernel, c.shape, err)
	}
	tm, err := d.Time(benchReps, benchReps, fn)
	if err != nil {
		return BenchRow{}, fmt.Errorf("bench %s %s: %w", c.kernel, c.shape, err)
	}
	return BenchRow{Kernel: c.kernel, Shape: c.shape, Time: tm, FLOPs: c.flops, Bytes: c.bytes, Torch: c.torch}, nil
}

// BenchCopy times a device-to-device copy of a large f32 buffer: the
// bandwidth ceiling of the table (bytes read plus bytes written).
func BenchCopy(d *Device, quick bool) (BenchRow, error) {
	n := int64(1) << 26 // 256 MiB
	if quick {
		n = 1 << 22
	}
	return d.runBenchCase(benchCase{
		kernel: "memcpy_dtod", shape: fmt.Sprintf("N=%d f32", n), torch: fmt.Sprintf("copy:f32:%d", n), bytes: 8 * float64(n),
		setup: func(a *benchArena) (func() error, error) {
			src, err := a.f32(n, -1, 1)
			if err != nil {
				return nil, err
			}
			dst, err := a.raw(4 * n)
			if err != nil {
				return nil, err
			}
			return func() error { return d.CopyDtoD(dst, src, 4*n) }, nil
		}})
}

// BenchCore times every core kernel family at training-sized shapes (BERT-base
// and Qwen2-0.5B activations); quick shrinks the shapes for a smoke run.
func BenchCore(d *Device, quick bool) ([]BenchRow, error) {
	var rows []BenchRow
	for _, c := range coreBenchCases(d, quick) {
		r, err := d.runBenchCase(c)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func coreBenchCases(d *Device, quick bool) []benchCase {
	s := int64(1)
	if quick {
		s = 16
	}
	N := (int64(1) << 26) / s           // element-wise length
	M, K := int64(16384)/s, int64(4096) // [M, K] row-wise reductions
	tok := int64(16384) / s             // tokens of a batch (32 x 512)
	attnRows := int64(8*12*512) / s     // BERT-base attention score rows
	vrows, vocab := int64(2048)/s, int64(32000)
	nt, tsz := int64(100)/s, int64(1)<<20 // AdamW / grad-norm: nt tensors of tsz

	unary := func(kernel string, dt DType, torch string, bytesPer float64, launch func(y, x DevicePtr) error) benchCase {
		return benchCase{kernel: kernel, shape: fmt.Sprintf("N=%d", N), torch: fmt.Sprintf("%s:%v:%d", torch, dt, N), bytes: bytesPer * float64(N),
			setup: func(a *benchArena) (func() error, error) {
				var x DevicePtr
				var err error
				if dt == BF16 {
					x, err = a.bf16(N, -3, 3)
				} else {
					x, err = a.f32(N, -3, 3)
				}
				if err != nil {
					return nil, err
				}
				y, err := a.raw(N * int64(dt.Size()))
				if err != nil {
					return nil, err
				}
				return func() error { return launch(y, x) }, nil
			}}
	}
	binary := func(kernel string, dt DType, torch string, bytesPer float64, launch func(c, a, b DevicePtr) error) benchCase {
		return benchCase{kernel: kernel, shape: fmt.Sprintf("N=%d", N), torch: fmt.Sprintf("%s:%v:%d", torch, dt, N), bytes: bytesPer * float64(N),
			setup: func(ar *benchArena) (func() error, error) {
				mk := ar.f32
				if dt == BF16 {
					mk = ar.bf16
				}
				a, err := mk(N, -1, 1)
				if err != nil {
					return nil, err
				}
				b, err := mk(N, 0.5, 2)
				if err != nil {
					return nil, err
				}
				c, err := ar.raw(N * int64(dt.Size()))
				if err != nil {
					return nil, err
				}
				return func() error { return launch(c, a, b) }, nil
			}}
	}
	// rowsCase: f32 [r, c] inputs (count of them), outputs allocated by launch's caller.
	rowsCase := func(kernel, torch string, r, c int64, bytesPer float64, nin int, launch func(in []DevicePtr, out DevicePtr) error) benchCase {
		return benchCase{kernel: kernel, shape: fmt.Sprintf("%dx%d", r, c), torch: fmt.Sprintf("%s:f32:%d:%d", torch, r, c), bytes: bytesPer * float64(r*c),
			setup: func(a *benchArena) (func() error, error) {
				in := make([]DevicePtr, nin)
				for i := range in {
					var err error
					if in[i], err = a.f32(r*c, -2, 2); err != nil {
						return nil, err
					}
				}
				o, err := a.raw(r*c*4 + 4*r) // output (+ a row vector for stats)
				if err != nil {
					return nil, err
				}
				return func() error { return launch(in, o) }, nil
			}}
	}

	cases := []benchCase{
		unary("ragr_gelu_erf_fwd_f32", F32, "gelu_erf_fwd", 8, func(y, x DevicePtr) error { return d.ActForward(GeluErf, F32, y, x, N) }),
		unary("ragr_gelu_erf_fwd_bf16", BF16, "gelu_erf_fwd", 4, func(y, x DevicePtr) error { return d.ActForward(GeluErf, BF16, y, x, N) }),
		binary("ragr_gelu_erf_bwd_f32", F32, "gelu_erf_bwd", 12, func(dx, dy, x DevicePtr) error { return d.ActBackward(GeluErf, F32, dx, dy, x, N) }),
		unary("ragr_gelu_tanh_fwd_f32", F32, "gelu_tanh_fwd", 8, func(y, x DevicePtr) error { return d.ActForward(GeluTanh, F32, y, x, N) }),
		unary("ragr_silu_fwd_bf16", BF16, "silu_fwd", 4, func(y, x DevicePtr) error { return d.ActForward(Silu, BF16, y, x, N) }),
		binary("ragr_binary_add_f32", F32, "add", 12, func(c, a, b DevicePtr) error { return d.Binary(Add, F32, c, a, b, N) }),
		binary("ragr_binary_mul_bf16", BF16, "mul", 6, func(c, a, b DevicePtr) error { return d.Binary(Mul, BF16, c, a, b, N) }),
		unary("ragr_cast_f32_bf16", F32, "cast_bf16", 6, func(y, x DevicePtr) error { return d.Cast(y, BF16, x, F32, N) }),
		unary("ragr_dropout_fwd_f32", F32, "dropout", 8, func(y, x DevicePtr) error { return d.Dropout(y, x, N, 0.1, 1234, 1) }),
		{kernel: "ragr_binary_bcast_add_f32", shape: fmt.Sprintf("%dx%d + %d", M, K, K), torch: fmt.Sprintf("bias_add:f32:%d:%d", M, K), bytes: 8 * float64(M*K),
			setup: func(a *benchArena) (func() error, error) {
				x, err := a.f32(M*K, -1, 1)
				if err != nil {
					return nil, err
				}
				b, err := a.f32(K, -1, 1)
				if err != nil {
					return nil, err
				}
				y, err := a.raw(M * K * 4)
				if err != nil {
					return nil, err
				}
				return func() error {
					return d.BinaryBroadcast(Add, y, []int64{M, K}, x, []int64{K, 1}, b, []int64{0, 1})
				}, nil
			}},
		{kernel: "ragr_copy_transpose_b32", shape: fmt.Sprintf("transpose %dx%d", M/2, M/2), torch: fmt.Sprintf("transpose:f32:%d:%d", M/2, M/2), bytes: 8 * float64(M*M/4),
			setup: func(a *benchArena) (func() error, error) {
				x, err := a.f32(M*M/4, -1, 1)
				if err != nil {
					return nil, err
				}
				y, err := a.raw(M * M)
				if err != nil {
					return nil, err
				}
				return func() error { return d.CopyStrided(y, x, 4, []int64{M / 2, M / 2}, []int64{1, M / 2}) }, nil
			}},
		rowsCase("ragr_reduce_sum_rows_f32", "sum_rows", M, K, 4, 1, func(in []DevicePtr, o DevicePtr) error { return d.ReduceSum(o, in[0], M, K, 1) }),
		rowsCase("ragr_reduce_sum_cols_f32", "sum_cols", M, K, 4, 1, func(in []DevicePtr, o DevicePtr) error { return d.ReduceSum(o, in[0], 1, M, K) }),
		rowsCase("ragr_reduce_max_rows_f32", "max_rows", M, K, 4, 1, func(in []DevicePtr, o DevicePtr) error {
			return d.ReduceMax(o, o+DevicePtr(4*M), in[0], M, K, 1)
		}),
		rowsCase(softmaxBenchKernel("ragr_softmax_fwd_f32", 512), "softmax_fwd", attnRows, 512, 8, 1, func(in []DevicePtr, o DevicePtr) error { return d.Softmax(o, in[0], attnRows, 512) }),
		rowsCase(softmaxBenchKernel("ragr_softmax_bwd_f32", 512), "softmax_bwd", attnRows, 512, 12, 2, func(in []DevicePtr, o DevicePtr) error {
			return d.SoftmaxBackward(o, in[0], in[1], attnRows, 512)
		}),
		rowsCase(softmaxBenchKernel("ragr_log_softmax_fwd_f32", vocab), "log_softmax_fwd", vrows, vocab, 8, 1, func(in []DevicePtr, o DevicePtr) error {
			return d.LogSoftmax(o, in[0], vrows, int(vocab))
		}),
		normCase(d, "layernorm", tok, 768),
		normCase(d, "rmsnorm", tok, 896),
		{kernel: "ragr_embedding_gather_f32", shape: fmt.Sprintf("%d ids x 768, vocab 30522", tok), torch: fmt.Sprintf("embedding_fwd:f32:%d:768:30522", tok), bytes: 8 * float64(tok*768),
			setup: func(a *benchArena) (func() error, error) { return embBench(d, a, "ragr_embedding_gather_f32", tok) }},
		{kernel: "ragr_embedding_scatter_add_f32", shape: fmt.Sprintf("%d ids x 768, vocab 30522", tok), torch: fmt.Sprintf("embedding_bwd:f32:%d:768:30522", tok), bytes: 12 * float64(tok*768),
			setup: func(a *benchArena) (func() error, error) {
				return embBench(d, a, "ragr_embedding_scatter_add_f32", tok)
			}},
		{kernel: "ragr_rope_fwd_bf16", shape: fmt.Sprintf("%d tokens x 14 heads x 64", tok), torch: fmt.Sprintf("rope_fwd:bf16:%d:14:64", tok), bytes: 4 * float64(tok*14*64),
			setup: func(a *benchArena) (func() error, error) {
				const heads, dim, npos = 14, 64, 4096
				x, err := a.bf16(tok*heads*dim, -1, 1)
				if err != nil {
					return nil, err
				}
				y, err := a.raw(tok * heads * dim * 2)
				if err != nil {
					return nil, err
				}
				cs, err := a.raw(2 * npos * dim / 2 * 4)
				if err != nil {
					return nil, err
				}
				if err := d.RopeTable(cs, cs+DevicePtr(npos*dim/2*4), npos, dim, 1e6); err != nil {
					return nil, err
				}
				pos, err := a.ids(tok, 512)
				if err != nil {
					return nil, err
				}
				flag, err := a.raw(4)
				if err != nil {
					return nil, err
				}
				if err := d.Memset32(flag, 1<<31-1, 1); err != nil {
					return nil, err
				}
				return func() error {
					return d.ropeLaunch("ragr_rope_fwd_bf16", y, x, cs, cs+DevicePtr(npos*dim/2*4), pos, tok, heads, dim, npos, flag)
				}, nil
			}},
		xentCase(d, false, vrows, vocab),
		xentCase(d, true, vrows, vocab),
		multiCase(d, "ragr_adamw_f32", "adamw", nt, tsz, 28),
		multiCase(d, "ragr_gradnorm_f32", "gradnorm", nt, tsz, 4),
	}
	return cases
}

func normCase(d *Device, kind string, rows, cols int64) benchCase {
	return benchCase{kernel: "ragr_" + kind + "_fwd+bwd_f32", shape: fmt.Sprintf("%dx%d", rows, cols),
		torch: fmt.Sprintf("%s_fwdbwd:f32:%d:%d", kind, rows, cols), bytes: (8 + 12) * float64(rows*cols),
		setup: func(a *benchArena) (func() error, error) {
			n := rows * cols
			x, err := a.f32(n, -2, 2)
			if err != nil {
				return nil, err
			}
			dy, err := a.f32(n, -1, 1)
			if err != nil {
				return nil, err
			}
			g, err := a.f32(cols, 0.5, 1.5)
			if err != nil {
				return nil, err
			}
			y, err := a.raw(n * 4)
			if err != nil {
				return nil, err
			}
			st, err := a.raw(8 * rows)
			if err != nil {
				return nil, err
			}
			dg, err := a.raw(8 * cols)
			if err != nil {
				return nil, err
			}
			mean, rstd := st, st+DevicePtr(4*rows)
			if kind == "layernorm" {
				return func() error {
					if err := d.LayerNorm(y, mean, rstd, x, g, g, rows, int(cols), 1e-12); err != nil {
						return err
					}
					return d.LayerNormBackward(y, dg, dg+DevicePtr(4*cols), dy, x, mean, rstd, g, rows, int(cols))
				}, nil
			}
			return func() error {
				if err := d.RMSNorm(y, rstd, x, g, rows, int(cols), 1e-6); err != nil {
					return err
				}
				return d.RMSNormBackward(y, dg, dy, x, rstd, g, rows, int(cols))
			}, nil
		}}
}

func embBench(d *Device, a *benchArena, name string, tok int64) (func() error, error) {
	const dim, vocab = 768, 30522
	table, err := a.f32(vocab*dim, -1, 1)
	if err != nil {
		return nil, err
	}
	rows, err := a.f32(tok*dim, -1, 1)
	if err != nil {
		return nil, err
	}
	ids, err := a.ids(tok, vocab)
	if err != nil {
		return nil, err
	}
	flag, err := a.raw(4)
	if err != nil {
		return nil, err
	}
	if err := d.Memset32(flag, 1<<31-1, 1); err != nil {
		return nil, err
	}
	if name == "ragr_embedding_gather_f32" {
		return func() error { return d.embeddingLaunch(name, rows, table, ids, tok, dim, vocab, flag) }, nil
	}
	return func() error { return d.embeddingLaunch(name, table, rows, ids, tok, dim, vocab, flag) }, nil
}

func xentCase(d *Device, bwd bool, rows, vocab int64) benchCase {
	kernel, torch, bytes := "ragr_xent_fwd_f32", "xent_fwd", 4*float64(rows*vocab)
	if bwd {
		kernel, torch, bytes = "ragr_xent_bwd_f32", "xent_bwd", 8*float64(rows*vocab)
	}
	return benchCase{kernel: kernel, shape: fmt.Sprintf("%dx%d", rows, vocab), torch: fmt.Sprintf("%s:f32:%d:%d", torch, rows, vocab), bytes: bytes,
		setup: func(a *benchArena) (func() error, error) {
			x, err := a.f32(rows*vocab, -3, 3)
			if err != nil {
				return nil, err
			}
			tg, err := a.ids(rows, int(vocab))
			if err != nil {
				return nil, err
			}
			small, err := a.f32(3*rows, 0.1, 1) // loss, lse, dloss
			if err != nil {
				return nil, err
			}
			loss, lse, dl := small, small+DevicePtr(4*rows), small+DevicePtr(8*rows)
			flag, err := a.raw(4)
			if err != nil {
				return nil, err
			}
			if err := d.Memset32(flag, 1<<31-1, 1); err != nil {
				return nil, err
			}
			if err := d.xentLaunch(loss, lse, x, tg, rows, int(vocab), -100, flag); err != nil {
				return nil, err
			}
			if !bwd {
				return func() error { return d.xentLaunch(loss, lse, x, tg, rows, int(vocab), -100, flag) }, nil
			}
			dx, err := a.raw(rows * vocab * 4)
			if err != nil {
				return nil, err
			}
			return func() error { return d.CrossEntropyBackward(dx, dl, x, lse, tg, rows, int(vocab), -100) }, nil
		}}
}

func multiCase(d *Device, kernel, torch string, nt, tsz int64, bytesPer float64) benchCase {
	return benchCase{kernel: kernel, shape: fmt.Sprintf("%d tensors x %d", nt, tsz), torch: fmt.Sprintf("%s:f32:%d:%d", torch, nt, tsz), bytes: bytesPer * float64(nt*tsz),
		setup: func(a *benchArena) (func() error, error) {
			if torch == "gradnorm" {
				gs := make([]GradTensor, nt)
				for i := range gs {
					p, err := a.f32(tsz, -1e-2, 1e-2)
					if err != nil {
						return nil, err
					}
					gs[i] = GradTensor{Grad: p, N: tsz}
				}
				tab, err := d.NewGradNormTable(gs)
				if err != nil {
					return nil, err
				}
				a.bufs = append(a.bufs, tab.table, tab.chunks, tab.partial)
				o, err := a.raw(8)
				if err != nil {
					return nil, err
				}
				return func() error { return d.GradNorm(tab, o, 1) }, nil
			}
			ps := make([]AdamWParam, nt)
			for i := range ps {
				var q [4]DevicePtr
				for k := range q {
					var err error
					if q[k], err = a.f32(tsz, 0, 1e-2); err != nil {
						return nil, err
					}
				}
				ps[i] = AdamWParam{Param: q[0], Grad: q[1], M: q[2], V: q[3], N: tsz, WeightDecay: 0.01}
			}
			tab, err := d.NewAdamWTable(ps)
			if err != nil {
				return nil, err
			}
			a.bufs = append(a.bufs, tab.table, tab.chunks)
			step := 0
			return func() error { step++; return d.AdamWStep(tab, 1e-4, 0.9, 0.999, 1e-8, step, 0) }, nil
		}}
}

// softmaxBenchKernel is the kernel that rowsLaunch runs for a bench row's
// width (named in the table).
func softmaxBenchKernel(name string, cols int64) string {
	k, _, _ := softmaxPlan(name, 1, int(cols), 1)
	return k
}
