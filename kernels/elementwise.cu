// elementwise.cu: element-wise activations with their backward passes, and
// binary arithmetic (same-shape and broadcasting).
//
// Activations (storage f32 or bf16, compute f32; contiguous, n elements,
// outputs may alias inputs):
//   ragr_gelu_erf_fwd_T(y, x, n)       y = x/2 * (1 + erf(x/sqrt2)), as 0.5x*erfc(-x/sqrt2)
//                                      (bf16: erfc from a cheaper fit, see GeluErfBf16F)
//   ragr_gelu_erf_bwd_T(dx, dy, x, n)  dx = dy * (Phi(x) + x*phi(x))
//   ragr_gelu_tanh_fwd_T / _bwd_T      x/2*(1+tanh(u)), u = sqrt(2/pi)(x+0.044715x^3), as x*sigmoid(2u)
//   ragr_silu_fwd_T / _bwd_T           x*sigmoid(x); dx = dy*s*(1+x(1-s))
//   ragr_tanh_fwd_T(y, x, n), ragr_tanh_bwd_T(dx, dy, y, n)          dx = dy*(1-y^2), from the output
//   ragr_sigmoid_fwd_T(y, x, n), ragr_sigmoid_bwd_T(dx, dy, y, n)    dx = dy*y*(1-y), from the output
//   ragr_exp_fwd_T / _bwd_T(dx, dy, y, n)    expf; dx = dy*y, from the output
//   ragr_log_fwd_T / _bwd_T(dx, dy, x, n)    logf; dx = dy/x
//   ragr_sqrt_fwd_T / _bwd_T(dx, dy, y, n)   sqrtf; dx = 0.5*dy/y, from the output
//   ragr_rsqrt_fwd_T / _bwd_T(dx, dy, y, n)  rsqrtf; dx = -0.5*dy*y^3, from the output
//   ragr_erf_fwd_T / _bwd_T(dx, dy, x, n)    erff; dx = dy*2/sqrt(pi)*exp(-x^2)
//   ragr_abs_fwd_T / _bwd_T(dx, dy, x, n)    |x|; dx = dy*sign(x) (0 at x = 0 and NaN)
//   ragr_relu_fwd_T / _bwd_T(dx, dy, x, n)   max(x, 0) (NaN stays NaN, -0 gives +0);
//                                            dx = x > 0 ? dy : 0
// Accuracy (CUDA C Programming Guide, Mathematical Functions appendix, max
// ulp error against the correctly rounded result, default -prec-div/-prec-sqrt):
// expf 2, logf 1, sqrtf 0, rsqrtf 2, erff 2, powf 4; everything else here is
// one or a few IEEE-rounded operations.
// The backward passes write dx (no accumulation); at x = +-Inf they use the
// derivative's limits (1 and 0) as kernels/cpu does; the forward passes
// follow PyTorch (GELU(-Inf) and SiLU(-Inf) are NaN).
//
// Binary, same shape (storage f32 or bf16, contiguous):
//   ragr_binary_<op>_T(c, a, b, n)       op in add, sub, mul, div, max, min, pow,
//                                        greater, less, equal
//   ragr_scale_f32(y, x, alpha, n)       y = alpha*x
//   ragr_axpy_f32(y, alpha, x, n)        y += alpha*x
// max/min propagate NaN and return b when a == b, as kernels/cpu. pow is
// powf (C99 special cases: pow(x, 0) = 1, pow(1, y) = 1, even for NaN);
// greater/less/equal write 1 or 0 (0 whenever an operand is NaN).
//
// Binary, broadcasting (f32): ragr_binary_bcast_<op>_f32(c, a, b, BcastArgs)
// writes the contiguous output c of shape args.shape[0..ndim) (ndim <= 8),
// reading a and b through element strides (stride 0 on a broadcast
// dimension; any strides, so views need no copy). Broadcasting is done here,
// with strides, not through the copy kernel: no temporary of the output's
// size. When the innermost dimension is a multiple of 4 (and c 16-byte
// aligned) a thread computes 4 consecutive outputs with 16-byte loads where
// a's or b's inner stride is 1 (the launcher merges dimensions that are
// contiguous in every operand first, so [B, S, H] + [H] runs as [B*S, H]).
// The backward of a broadcast binary op is the same-shape op followed
// by ragr_reduce_sum_{rows,cols}_f32 over the broadcast dimensions (reduce.cu).
//
// Select, broadcasting (f32 values): ragr_where_c32_f32 / _c16_f32(c, cond,
// mask, a, b, WhereArgs) writes the contiguous c of shape args.shape to
// (bits(cond) & mask) != 0 ? a : b, reading cond, a and b through element
// strides (args.sc, sa, sb). cond is read as raw 32- or 16-bit words, so one
// kernel serves every cond dtype: mask 0x7fffffff for f32 and 0x7fff for
// bf16/fp16 (value != 0: -0 is false, NaN is true), 0xffffffff for int32.
//
// Launch: 1-D grid-stride; block 256, grid = min(ceil(n/(256*V)), 16*SMs)
// with V = 4 (f32) or 8 (bf16) elements per 16-byte vector. Every kernel is
// correct for any grid.
//
// Benchmark: ragr bench kernels (rows gelu_erf_fwd_f32, binary_add_f32, ...).
#include "map.cuh"

#define RAGR_SQRT1_2 0.70710678118654752440f
#define RAGR_INV_SQRT_2PI 0.39894228040143267794f
#define RAGR_SQRT_2_OVER_PI 0.79788456080286535588f

struct GeluErfF {
	__device__ float operator()(float x) const { return 0.5f * x * erfcf(-x * RAGR_SQRT1_2); }
};
// rcp_approx: PTX rcp.approx.ftz.f32 (max 1 ulp; one MUFU instruction).
__device__ __forceinline__ float rcp_approx(float x) {
#ifdef RAGR_EMU
	return 1.f / x;
#else
	float r;
	asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
	return r;
#endif
}

// GeluErfBf16F: the same GELU for bf16 storage, without erfcf, whose ~50
// instructions an element made the bf16 kernel compute-bound (it moves half
// the f32 kernel's bytes per element); this is about 23. With a = |x|/sqrt2
// and E = erfc(a): Phi(x) = 1 - E/2 (x >= 0) or E/2 (x < 0), and
// E/2 = t * 2^(P(t) - a^2 log2(e)), t = 1/(1 + a/2), P a degree-9
// polynomial: this project's Chebyshev least-squares fit of
// log2(erfcx(a)/t) - 1 for a in [0, 10.6] (beyond, erfc underflows fp32).
// E is within ~1e-5 relative of erfc over fp32's normal range (the exp2
// argument's rounding dominates), far inside bf16's 2^-9: over every finite
// bf16 input the bf16 result is the correctly rounded GELU (checked
// offline with exact rcp/exp2). x = +-Inf gives +Inf and NaN as GeluErfF
// (t = 0, 2^-Inf = 0), NaN gives NaN.
struct GeluErfBf16F {
	__device__ float operator()(float x) const {
		const float t = rcp_approx(fmaf(0.35355339059327376220f, fabsf(x), 1.f)); // 1/(1 + |x|/(2 sqrt2))
		float p = 2.156876624e-01f;
		p = fmaf(p, t, -1.018127561e+00f);
		p = fmaf(p, t, 1.753201604e+00f);
		p = fmaf(p, t, -1.116613388e+00f);
		p = fmaf(p, t, -2.328145690e-02f);
		p = fmaf(p, t, -4.718858749e-02f);
		p = fmaf(p, t, 6.652697921e-02f);
		p = fmaf(p, t, 5.543473959e-01f);
		p = fmaf(p, t, 1.441122413e+00f);
		p = fmaf(p, t, -2.825675011e+00f);
		const float h = t * exp2f(fmaf(-0.72134752044448170368f * x, x, p)); // a^2 log2(e) = x^2 log2(e)/2
		return x * (x >= 0.f ? 1.f - h : h);
	}
};
struct GeluErfB {
	__device__ float operator()(float dy, float x) const {
		if (isinf(x)) return x > 0.f ? dy : 0.f * dy;
		const float cdf = 0.5f * erfcf(-x * RAGR_SQRT1_2);
		const float pdf = RAGR_INV_SQRT_2PI * expf(-0.5f * x * x);
		return dy * (cdf + x * pdf);
	}
};
__device__ __forceinline__ float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }
struct GeluTanhF {
	__device__ float operator()(float x) const {
		const float u = RAGR_SQRT_2_OVER_PI * (x + 0.044715f * x * x * x);
		return x * sigmoidf(2.f * u);
	}
};
struct GeluTanhB {
	__device__ float operator()(float dy, float x) const {
		if (isinf(x)) return x > 0.f ? dy : 0.f * dy;
		const float u = RAGR_SQRT_2_OVER_PI * (x + 0.044715f * x * x * x);
		const float du = RAGR_SQRT_2_OVER_PI * (1.f + 3.f * 0.044715f * x * x);
		const float s = sigmoidf(2.f * u);
		return dy * (s + 2.f * x * s * (1.f - s) * du);
	}
};
struct SiluF {
	__device__ float operator()(float x) const { return x * sigmoidf(x); }
};
struct SiluB {
	__device__ float operator()(float dy, float x) const {
		if (isinf(x)) return x > 0.f ? dy : 0.f * dy;
		const float s = sigmoidf(x);
		return dy * s * (1.f + x * (1.f - s));
	}
};
struct TanhF {
	__device__ float operator()(float x) const { return tanhf(x); }
};
struct TanhB {
	__device__ float operator()(float dy, float y) const { return dy * (1.f - y * y); }
};
struct SigmoidF {
	__device__ float operator()(float x) const { return sigmoidf(x); }
};
struct SigmoidB {
	__device__ float operator()(float dy, float y) const { return dy * y * (1.f - y); }
};

#define RAGR_2_SQRTPI 1.12837916709551257390f

struct ExpF {
	__device__ float operator()(float x) const { return expf(x); }
};
struct ExpB {
	__device__ float operator()(float dy, float y) const { return dy * y; }
};
struct LogF {
	__device__ float operator()(float x) const { return logf(x); }
};
struct LogB {
	__device__ float operator()(float dy, float x) const { return dy / x; }
};
struct SqrtF {
	__device__ float operator()(float x) const { return sqrtf(x); }
};
struct SqrtB {
	__device__ float operator()(float dy, float y) const { return 0.5f * dy / y; }
};
struct RsqrtF {
	__device__ float operator()(float x) const { return rsqrtf(x); }
};
struct RsqrtB {
	__device__ float operator()(float dy, float y) const { return -0.5f * dy * (y * y * y); }
};
struct ErfF {
	__device__ float operator()(float x) const { return erff(x); }
};
struct ErfB {
	__device__ float operator()(float dy, float x) const { return dy * (RAGR_2_SQRTPI * expf(-x * x)); }
};
struct AbsF {
	__device__ float operator()(float x) const { return fabsf(x); }
};
struct AbsB {
	__device__ float operator()(float dy, float x) const { return x > 0.f ? dy : x < 0.f ? -dy : 0.f; }
};
// relu: x > 0 ? x : 0, but NaN stays NaN (kernels/cpu's rule)
struct ReluF {
	__device__ float operator()(float x) const { return x > 0.f ? x : (x != x ? x : 0.f); }
};
struct ReluB {
	__device__ float operator()(float dy, float x) const { return x > 0.f ? dy : 0.f; }
};

#define RAGR_ACT(name, F, B, T, suffix)                                                                      \
	extern "C" __global__ void ragr_##name##_fwd_##suffix(T* __restrict__ y, const T* __restrict__ x, long long n) { \
		map1(y, x, n, F());                                                                                \
	}                                                                                                          \
	extern "C" __global__ void ragr_##name##_bwd_##suffix(T* __restrict__ dx, const T* __restrict__ dy,         \
	                                                      const T* __restrict__ x, long long n) {             \
		map2(dx, dy, x, n, B());                                                                           \
	}

RAGR_ACT(gelu_erf, GeluErfF, GeluErfB, float, f32)
RAGR_ACT(gelu_erf, GeluErfBf16F, GeluErfB, __nv_bfloat16, bf16)
RAGR_ACT(gelu_tanh, GeluTanhF, GeluTanhB, float, f32)
RAGR_ACT(gelu_tanh, GeluTanhF, GeluTanhB, __nv_bfloat16, bf16)
RAGR_ACT(silu, SiluF, SiluB, float, f32)
RAGR_ACT(silu, SiluF, SiluB, __nv_bfloat16, bf16)
RAGR_ACT(tanh, TanhF, TanhB, float, f32)
RAGR_ACT(tanh, TanhF, TanhB, __nv_bfloat16, bf16)
RAGR_ACT(sigmoid, SigmoidF, SigmoidB, float, f32)
RAGR_ACT(sigmoid, SigmoidF, SigmoidB, __nv_bfloat16, bf16)
#define RAGR_ACT_ALL(name, F, B) RAGR_ACT(name, F, B, float, f32) RAGR_ACT(name, F, B, __nv_bfloat16, bf16)
RAGR_ACT_ALL(exp, ExpF, ExpB)
RAGR_ACT_ALL(log, LogF, LogB)
RAGR_ACT_ALL(sqrt, SqrtF, SqrtB)
RAGR_ACT_ALL(rsqrt, RsqrtF, RsqrtB)
RAGR_ACT_ALL(erf, ErfF, ErfB)
RAGR_ACT_ALL(abs, AbsF, AbsB)
RAGR_ACT_ALL(relu, ReluF, ReluB)

struct AddF {
	__device__ float operator()(float a, float b) const { return a + b; }
};
struct SubF {
	__device__ float operator()(float a, float b) const { return a - b; }
};
struct MulF {
	__device__ float operator()(float a, float b) const { return a * b; }
};
struct DivF {
	__device__ float operator()(float a, float b) const { return a / b; }
};
// max/min: NaN if either is NaN; b when they compare equal (kernels/cpu's rule).
struct MaxF {
	__device__ float operator()(float a, float b) const { return (a != a) ? a : (b != b) ? b : (a > b ? a : b); }
};
struct MinF {
	__device__ float operator()(float a, float b) const { return (a != a) ? a : (b != b) ? b : (a < b ? a : b); }
};
struct PowF {
	__device__ float operator()(float a, float b) const { return powf(a, b); }
};
struct GreaterF {
	__device__ float operator()(float a, float b) const { return a > b ? 1.f : 0.f; }
};
struct LessF {
	__device__ float operator()(float a, float b) const { return a < b ? 1.f : 0.f; }
};
struct EqualF {
	__device__ float operator()(float a, float b) const { return a == b ? 1.f : 0.f; }
};

#define RAGR_BIN(op, F, T, suffix)                                                                          \
	extern "C" __global__ void ragr_binary_##op##_##suffix(T* __restrict__ c, const T* __restrict__ a,         \
	                                                        const T* __restrict__ b, long long n) {            \
		map2(c, a, b, n, F());                                                                             \
	}

#define RAGR_BIN_ALL(op, F) RAGR_BIN(op, F, float, f32) RAGR_BIN(op, F, __nv_bfloat16, bf16)
RAGR_BIN_ALL(add, AddF)
RAGR_BIN_ALL(sub, SubF)
RAGR_BIN_ALL(mul, MulF)
RAGR_BIN_ALL(div, DivF)
RAGR_BIN_ALL(max, MaxF)
RAGR_BIN_ALL(min, MinF)
RAGR_BIN_ALL(pow, PowF)
RAGR_BIN_ALL(greater, GreaterF)
RAGR_BIN_ALL(less, LessF)
RAGR_BIN_ALL(equal, EqualF)

struct ScaleF {
	float alpha;
	__device__ float operator()(float x) const { return alpha * x; }
};
extern "C" __global__ void ragr_scale_f32(float* __restrict__ y, const float* __restrict__ x, float alpha, long long n) {
	map1(y, x, n, ScaleF{alpha});
}

// y += alpha*x. y is both read and written, so no __restrict__ on the map's
// output/input pair: the map reads y[i] before writing y[i] in one thread.
extern "C" __global__ void ragr_axpy_f32(float* y, float alpha, const float* __restrict__ x, long long n) {
	RAGR_GRID_STRIDE(i, n) { y[i] = fmaf(alpha, x[i], y[i]); }
}

#define RAGR_MAX_DIMS 8
struct BcastArgs {
	long long n;                    // output elements (product of shape)
	long long shape[RAGR_MAX_DIMS]; // output shape, outermost first
	long long sa[RAGR_MAX_DIMS];    // a's element strides (0 where broadcast)
	long long sb[RAGR_MAX_DIMS];    // b's element strides
	int ndim;
};

// bcast_offsets decomposes output index r into a's and b's element offsets
// (32-bit quotients when the output has fewer than 2^32 elements). The
// outermost index needs no division: r < n leaves it as the last quotient.
template <typename I>
__device__ __forceinline__ void bcast_offsets(I r, const BcastArgs& g, long long& oa, long long& ob) {
	oa = 0, ob = 0;
	for (int d = g.ndim - 1; d > 0; d--) {
		const I q = r / (I)g.shape[d];
		const long long k = (long long)(r - q * (I)g.shape[d]);
		oa += k * g.sa[d];
		ob += k * g.sb[d];
		r = q;
	}
	if (g.ndim > 0) {
		oa += (long long)r * g.sa[0];
		ob += (long long)r * g.sb[0];
	}
}

// ld4s: the 4 values p[0], p[s], p[2s], p[3s]: one 16-byte load when they
// are contiguous and aligned, one load when s = 0 (a broadcast dimension).
__device__ __forceinline__ float4 ld4s(const float* __restrict__ p, long long s) {
	if (s == 1 && aligned16(p)) return *reinterpret_cast<const float4*>(p);
	if (s == 0) {
		const float v = *p;
		return make_float4(v, v, v, v);
	}
	return make_float4(p[0], p[s], p[2 * s], p[3 * s]);
}

template <typename I, typename F>
__device__ __forceinline__ void bcast_quads(float* __restrict__ c, const float* __restrict__ a, const float* __restrict__ b,
                                            const BcastArgs& g, F f) {
	const long long sa = g.sa[g.ndim - 1], sb = g.sb[g.ndim - 1];
	long long oa, ob;
	RAGR_GRID_STRIDE(q, g.n >> 2) {
		bcast_offsets<I>((I)(q << 2), g, oa, ob);
		const float4 va = ld4s(a + oa, sa), vb = ld4s(b + ob, sb);
		reinterpret_cast<float4*>(c)[q] = make_float4(f(va.x, vb.x), f(va.y, vb.y), f(va.z, vb.z), f(va.w, vb.w));
	}
}

// bcast: when the innermost dimension is a multiple of 4 and c is 16-byte
// aligned, each thread takes 4 consecutive outputs of one row (bcast_quads):
// one index decomposition for 4 elements, 16-byte loads of a and b where
// their inner stride is 1 (and the address aligned), a single load where it
// is 0 (a bias), and a 16-byte store. Otherwise element by element.
template <typename F> __device__ __forceinline__ void bcast(float* __restrict__ c, const float* __restrict__ a,
                                                            const float* __restrict__ b, const BcastArgs& g, F f) {
	if (g.ndim > 0 && g.shape[g.ndim - 1] % 4 == 0 && aligned16(c)) {
		if (g.n <= 0xffffffffLL) bcast_quads<unsigned>(c, a, b, g, f);
		else bcast_quads<long long>(c, a, b, g, f);
		return;
	}
	long long oa, ob;
	if (g.n <= 0xffffffffLL) {
		RAGR_GRID_STRIDE(i, g.n) {
			bcast_offsets<unsigned>((unsigned)i, g, oa, ob);
			c[i] = f(a[oa], b[ob]);
		}
	} else {
		RAGR_GRID_STRIDE(i, g.n) {
			bcast_offsets<long long>(i, g, oa, ob);
			c[i] = f(a[oa], b[ob]);
		}
	}
}

#define RAGR_BCAST(op, F)                                                                                   \
	extern "C" __global__ void ragr_binary_bcast_##op##_f32(float* __restrict__ c, const float* __restrict__ a, \
	                                                         const float* __restrict__ b, const BcastArgs args) { \
		bcast(c, a, b, args, F());                                                                         \
	}
RAGR_BCAST(add, AddF)
RAGR_BCAST(sub, SubF)
RAGR_BCAST(mul, MulF)
RAGR_BCAST(div, DivF)
RAGR_BCAST(max, MaxF)
RAGR_BCAST(min, MinF)
RAGR_BCAST(pow, PowF)
RAGR_BCAST(greater, GreaterF)
RAGR_BCAST(less, LessF)
RAGR_BCAST(equal, EqualF)

struct WhereArgs {
	long long n;                    // output elements (product of shape)
	long long shape[RAGR_MAX_DIMS]; // output shape, outermost first
	long long sc[RAGR_MAX_DIMS];    // cond's element strides (0 where broadcast)
	long long sa[RAGR_MAX_DIMS];    // a's element strides
	long long sb[RAGR_MAX_DIMS];    // b's element strides
	int ndim;
};

template <typename I>
__device__ __forceinline__ void where_offsets(I r, const WhereArgs& g, long long& oc, long long& oa, long long& ob) {
	oc = 0, oa = 0, ob = 0;
	for (int d = g.ndim - 1; d >= 0; d--) {
		const I q = r / (I)g.shape[d];
		const long long k = (long long)(r - q * (I)g.shape[d]);
		oc += k * g.sc[d];
		oa += k * g.sa[d];
		ob += k * g.sb[d];
		r = q;
	}
}

template <typename C>
__device__ __forceinline__ void where(float* __restrict__ c, const C* __restrict__ cond, C mask, const float* __restrict__ a,
                                      const float* __restrict__ b, const WhereArgs& g) {
	long long oc, oa, ob;
	if (g.n <= 0xffffffffLL) {
		RAGR_GRID_STRIDE(i, g.n) {
			where_offsets<unsigned>((unsigned)i, g, oc, oa, ob);
			c[i] = (cond[oc] & mask) ? a[oa] : b[ob];
		}
	} else {
		RAGR_GRID_STRIDE(i, g.n) {
			where_offsets<long long>(i, g, oc, oa, ob);
			c[i] = (cond[oc] & mask) ? a[oa] : b[ob];
		}
	}
}

extern "C" __global__ void ragr_where_c32_f32(float* __restrict__ c, const unsigned* __restrict__ cond, unsigned mask,
                                              const float* __restrict__ a, const float* __restrict__ b, const WhereArgs args) {
	where(c, cond, mask, a, b, args);
}
extern "C" __global__ void ragr_where_c16_f32(float* __restrict__ c, const unsigned short* __restrict__ cond, unsigned mask,
                                              const float* __restrict__ a, const float* __restrict__ b, const WhereArgs args) {
	where(c, cond, (unsigned short)mask, a, b, args);
}
