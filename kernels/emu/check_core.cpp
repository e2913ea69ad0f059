// check_core.cpp — runs the core kernel families (kernels/*.cu except gemm.cu
// and attention.cu) in the host emulator (emu.h + core_emu.h: every CUDA
// thread an OS thread, blocks one after another) against float64 references
// on small odd shapes, with poisoned outputs and guard values. It checks
// indexing, grid-stride loops, block/warp reductions, vector and tail paths,
// error flags and the algorithms without a GPU; it does not check timing,
// the device libm's exact rounding, or anything about speed (see
// kernels/cuda's tests, which run on a GPU). Prints FAIL lines; exits 1 on
// any failure. Run by run_core.sh.
#include "../adamw.cu"
#include "../copy.cu"
#include "../dropout.cu"
#include "../elementwise.cu"
#include "../embedding.cu"
#include "../gradnorm.cu"
#include "../norm.cu"
#include "../reduce.cu"
#include "../rope.cu"
#include "../softmax.cu"
#include "../xent.cu"

#include "check_util.h"

#include <climits>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

static int failures = 0, checks = 0;
static std::mt19937_64 rng(11);
static float urand(float lo = -1, float hi = 1) { return std::uniform_real_distribution<float>(lo, hi)(rng); }
static std::vector<float> rvec(size_t n, float lo = -1, float hi = 1) {
    std::vector<float> v(n);
    for (auto& x : v) x = urand(lo, hi);
    return v;
}

// Guarded output: n elements of T poisoned with NaN bytes (0xff), with 16
// guard elements on each side that must stay untouched.
template <typename T>
struct Out {
    std::vector<T> buf;
    size_t n;
    explicit Out(size_t n_) : buf(n_ + 32), n(n_) { std::memset(buf.data(), 0xff, buf.size() * sizeof(T)); }
    T* p() { return buf.data() + 16; }
    T& operator[](size_t i) { return buf[16 + i]; }
    bool guards_ok() {
        const unsigned char* b = (const unsigned char*)buf.data();
        for (size_t i = 0; i < 16 * sizeof(T); i++)
            if (b[i] != 0xff || b[(16 + n) * sizeof(T) + i] != 0xff) return false;
        return true;
    }
};

static bool close(double got, double want, double rel, double abs) {
    if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
    if (std::isinf(want) || std::isinf(got)) return got == want;
    return std::fabs(got - want) <= abs + rel * std::fabs(want);
}

static void check(const std::string& name, const float* got, const double* want, size_t n, double rel, double abs) {
    checks++;
    for (size_t i = 0; i < n; i++) {
        if (!close(got[i], want[i], rel, abs)) {
            std::printf("FAIL %s: element %zu = %.9g, want %.9g\n", name.c_str(), i, got[i], want[i]);
            failures++;
            return;
        }
    }
}
template <typename T>
static void guards(const std::string& name, Out<T>& o) {
    if (!o.guards_ok()) {
        std::printf("FAIL %s: guard values overwritten\n", name.c_str());
        failures++;
    }
}
static float bf(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }

static void launch(int grid, int block, const std::function<void()>& k) { emu::launch(dim3{(unsigned)grid, 1, 1}, block, k); }

static void test_elementwise() {
    for (size_t n : {1, 3, 17, 1000, 1031}) {
        for (int off : {0, 1}) {  // off = 1: pointers not 16-byte aligned (scalar path)
            auto x = rvec(n + 1, -6, 6), dy = rvec(n + 1);
            Out<float> y(n), dx(n);
            launch(3, 64, [&] { ragr_gelu_erf_fwd_f32(y.p(), x.data() + off, (long long)n); });
            launch(2, 32, [&] { ragr_gelu_erf_bwd_f32(dx.p(), dy.data() + off, x.data() + off, (long long)n); });
            std::vector<double> wy(n), wdx(n);
            for (size_t i = 0; i < n; i++) {
                double v = x[i + off];
                wy[i] = 0.5 * v * std::erfc(-v / std::sqrt(2.0));
                wdx[i] = dy[i + off] * (0.5 * std::erfc(-v / std::sqrt(2.0)) + v * std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI));
            }
            std::string nm = "gelu_erf n=" + std::to_string(n) + " off=" + std::to_string(off);
            check(nm + " fwd", y.p(), wy.data(), n, 1e-5, 1e-6);
            check(nm + " bwd", dx.p(), wdx.data(), n, 1e-5, 1e-6);
            guards(nm, y), guards(nm, dx);

            // bf16 silu and add through the 8-wide vector path
            std::vector<__nv_bfloat16> xb(n + 1), bb(n + 1);
            for (size_t i = 0; i <= n; i++) xb[i] = __float2bfloat16_rn(x[i]), bb[i] = __float2bfloat16_rn(dy[i]);
            Out<__nv_bfloat16> ys(n), ya(n);
            launch(2, 64, [&] { ragr_silu_fwd_bf16(ys.p(), xb.data() + off, (long long)n); });
            launch(1, 32, [&] { ragr_binary_add_bf16(ya.p(), xb.data() + off, bb.data() + off, (long long)n); });
            std::vector<float> gs(n), ga(n);
            std::vector<double> ws(n), wa(n);
            for (size_t i = 0; i < n; i++) {
                double v = __bfloat162float(xb[i + off]);
                gs[i] = __bfloat162float(ys[i]), ga[i] = __bfloat162float(ya[i]);
                ws[i] = v / (1 + std::exp(-v));
                wa[i] = bf((float)(v + __bfloat162float(bb[i + off])));
            }
            // gelu_erf bf16 (its own erfc fit): vector path, tail, misaligned
            Out<__nv_bfloat16> yge(n);
            launch(2, 64, [&] { ragr_gelu_erf_fwd_bf16(yge.p(), xb.data() + off, (long long)n); });
            std::vector<float> gge(n);
            std::vector<double> wge(n);
            for (size_t i = 0; i < n; i++) {
                double v = __bfloat162float(xb[i + off]);
                gge[i] = __bfloat162float(yge[i]);
                wge[i] = 0.5 * v * std::erfc(-v / std::sqrt(2.0));
            }
            check(nm + " gelu_erf bf16", gge.data(), wge.data(), n, 1.0 / 256, 1e-30);
            guards(nm + " gelu_erf bf16", yge);
            check(nm + " silu bf16", gs.data(), ws.data(), n, 1.0 / 256, 1e-6);
            check(nm + " add bf16", ga.data(), wa.data(), n, 0, 0);
            guards(nm + " bf16", ys), guards(nm + " bf16", ya);
        }
    }
    // gelu_erf bf16 over the range that matters, its tails and special
    // values, against the correctly rounded result (within 1 bf16 ulp: the
    // host's exp2/erfc stand in for the device's)
    {
        std::vector<__nv_bfloat16> xb;
        for (float v = -16.f; v <= 16.f; v += 0.0371f) xb.push_back(__float2bfloat16_rn(v));
        for (float v : {0.f, -0.f, 1e-30f, -1e-30f, -13.f, -13.25f, 3e38f, -3e38f}) xb.push_back(__float2bfloat16_rn(v));
        const size_t nsp = xb.size();
        xb.push_back(__float2bfloat16_rn(INFINITY)), xb.push_back(__float2bfloat16_rn(-INFINITY)), xb.push_back(__float2bfloat16_rn(NAN));
        const size_t n = xb.size();
        Out<__nv_bfloat16> y(n);
        launch(3, 64, [&] { ragr_gelu_erf_fwd_bf16(y.p(), xb.data(), (long long)n); });
        std::vector<float> got(n);
        std::vector<double> want(n);
        for (size_t i = 0; i < n; i++) {
            const double v = __bfloat162float(xb[i]);
            got[i] = __bfloat162float(y[i]);
            want[i] = i < nsp ? bf((float)(0.5 * v * std::erfc(-v / std::sqrt(2.0)))) : 0;
        }
        want[nsp] = INFINITY, want[nsp + 1] = NAN, want[nsp + 2] = NAN;
        check("gelu_erf bf16 sweep", got.data(), want.data(), n, 1.0 / 128, 1e-38);
        guards("gelu_erf bf16 sweep", y);
    }
    // broadcast through the 4-wide path (inner dimension a multiple of 4):
    // [6, 8] = a + bias b [8] (16-byte loads, a single load for b), then
    // [5, 4, 4] = a (stored [4, 4, 5]: inner stride 5) * b [4] (inner stride
    // 0), then a and b one float off 16-byte alignment (scalar loads), then
    // c misaligned (the element path)
    for (int v = 0; v < 4; v++) {
        const int A = v == 1 ? 5 : 6, B = v == 1 ? 4 : 1, C = v == 1 ? 4 : 8;
        const int n = A * B * C, ao = v == 2 ? 1 : 0, co = v == 3 ? 1 : 0;
        auto a = rvec(n + 1), b = rvec(C + 1);
        BcastArgs g{};
        g.n = n;
        if (v == 1) {
            long long sh[3] = {A, B, C}, sa[3] = {1, A, A * B}, sb[3] = {0, 1, 0};
            g.ndim = 3;
            for (int d = 0; d < 3; d++) g.shape[d] = sh[d], g.sa[d] = sa[d], g.sb[d] = sb[d];
        } else {
            g.ndim = 2, g.shape[0] = A, g.shape[1] = C, g.sa[0] = C, g.sa[1] = 1, g.sb[0] = 0, g.sb[1] = 1;
        }
        Out<float> c(n + 1);
        launch(2, 32, [&] {
            if (v == 1) ragr_binary_bcast_mul_f32(c.p() + co, a.data() + ao, b.data() + ao, g);
            else ragr_binary_bcast_add_f32(c.p() + co, a.data() + ao, b.data() + ao, g);
        });
        std::vector<double> w(n + 1);
        w[0] = c[0];  // c[0] stays poisoned when co = 1
        for (int i = 0; i < A; i++)
            for (int j = 0; j < B; j++)
                for (int k = 0; k < C; k++) {
                    const int o = (i * B + j) * C + k;
                    w[o + co] = v == 1 ? (double)(a[i + j * A + k * A * B] * b[j]) : (double)(a[ao + i * C + k] + b[ao + k]);
                }
        if (co == 0) w[n] = c[n];
        std::string nm = "bcast quads variant " + std::to_string(v);
        check(nm, c.p() + co, w.data() + co, n, 0, 0);
        guards(nm, c);
    }
    // broadcast: [3, 5, 7] = a (transposed [7,5,3] view) + b [5, 1]
    {
        const int A = 3, B = 5, C = 7;
        auto a = rvec(A * B * C), b = rvec(B);
        BcastArgs g{};
        g.n = A * B * C, g.ndim = 3;
        long long sh[3] = {A, B, C}, sa[3] = {1, A, A * B}, sb[3] = {0, 1, 0};
        for (int d = 0; d < 3; d++) g.shape[d] = sh[d], g.sa[d] = sa[d], g.sb[d] = sb[d];
        Out<float> c(A * B * C);
        launch(2, 32, [&] { ragr_binary_bcast_mul_f32(c.p(), a.data(), b.data(), g); });
        std::vector<double> w(A * B * C);
        for (int i = 0; i < A; i++)
            for (int j = 0; j < B; j++)
                for (int k = 0; k < C; k++) w[(i * B + j) * C + k] = (double)(a[i + j * A + k * A * B] * b[j]);
        check("bcast mul", c.p(), w.data(), w.size(), 0, 0);
        guards("bcast", c);
    }
}

// The unary ops of the tensor backend (exp, log, sqrt, rsqrt, erf, abs,
// relu), pow and the comparisons, where: the host libm stands in for the
// device's, so this checks indexing, tails and the formulas, not the
// device's ulp bounds (kernels/cuda's tests do, on a GPU).
static double relu64(double v) { return v > 0 || v != v ? v : 0; }
static void test_elementwise_ops() {
    struct U {
        const char* name;
        void (*fwd)(float*, const float*, long long);
        void (*bwd)(float*, const float*, const float*, long long);
        double (*f)(double);
        double (*g)(double dy, double v);  // v = x, or y when by_output
        bool by_output, positive;
    };
    const U ops[] = {
        {"exp", ragr_exp_fwd_f32, ragr_exp_bwd_f32, [](double x) { return std::exp(x); }, [](double dy, double y) { return dy * y; }, true, false},
        {"log", ragr_log_fwd_f32, ragr_log_bwd_f32, [](double x) { return std::log(x); }, [](double dy, double x) { return dy / x; }, false, true},
        {"sqrt", ragr_sqrt_fwd_f32, ragr_sqrt_bwd_f32, [](double x) { return std::sqrt(x); }, [](double dy, double y) { return 0.5 * dy / y; }, true, true},
        {"rsqrt", ragr_rsqrt_fwd_f32, ragr_rsqrt_bwd_f32, [](double x) { return 1 / std::sqrt(x); }, [](double dy, double y) { return -0.5 * dy * y * y * y; }, true, true},
        {"erf", ragr_erf_fwd_f32, ragr_erf_bwd_f32, [](double x) { return std::erf(x); }, [](double dy, double x) { return dy * 2 / std::sqrt(M_PI) * std::exp(-x * x); }, false, false},
        {"abs", ragr_abs_fwd_f32, ragr_abs_bwd_f32, [](double x) { return std::fabs(x); }, [](double dy, double x) { return x > 0 ? dy : x < 0 ? -dy : 0.0; }, false, false},
        {"relu", ragr_relu_fwd_f32, ragr_relu_bwd_f32, relu64, [](double dy, double x) { return x > 0 ? dy : 0.0; }, false, false},
    };
    for (size_t n : {1, 3, 17, 1031}) {
        for (int off : {0, 1}) {
            auto x = rvec(n + 1, -4, 4), dy = rvec(n + 1);
            if (n > 3) x[off + 2] = 0, x[off + 3] = -0.f;
            for (const U& u : ops) {
                std::vector<float> xs(x);
                if (u.positive)
                    for (auto& v : xs) v = std::fabs(v) + 1e-3f;
                Out<float> y(n), dx(n);
                launch(3, 64, [&] { u.fwd(y.p(), xs.data() + off, (long long)n); });
                std::vector<float> v(n + 1);  // the backward's second input, at the same offset
                for (size_t i = 0; i < n; i++) v[i + off] = u.by_output ? y[i] : xs[i + off];
                launch(2, 32, [&] { u.bwd(dx.p(), dy.data() + off, v.data() + off, (long long)n); });
                std::vector<double> wy(n), wdx(n);
                for (size_t i = 0; i < n; i++) wy[i] = u.f(xs[i + off]), wdx[i] = u.g(dy[i + off], v[i + off]);
                std::string nm = std::string(u.name) + " n=" + std::to_string(n) + " off=" + std::to_string(off);
                check(nm + " fwd", y.p(), wy.data(), n, 2e-6, 1e-7);
                check(nm + " bwd", dx.p(), wdx.data(), n, 1e-5, 1e-6);
                guards(nm, y), guards(nm, dx);
            }
            // pow (positive bases, any exponent) and the comparisons, with ties and a NaN
            auto a = rvec(n + 1, 0.1f, 3), b = rvec(n + 1, -3, 3);
            for (size_t i = 0; i <= n; i += 3) b[i] = a[i];
            if (n > 3) a[off + 1] = NAN;
            Out<float> p(n), gt(n), lt(n), eq(n);
            launch(2, 64, [&] { ragr_binary_pow_f32(p.p(), a.data() + off, b.data() + off, (long long)n); });
            launch(1, 32, [&] { ragr_binary_greater_f32(gt.p(), a.data() + off, b.data() + off, (long long)n); });
            launch(3, 32, [&] { ragr_binary_less_f32(lt.p(), a.data() + off, b.data() + off, (long long)n); });
            launch(1, 64, [&] { ragr_binary_equal_f32(eq.p(), a.data() + off, b.data() + off, (long long)n); });
            std::vector<double> wp(n), wg(n), wl(n), we(n);
            for (size_t i = 0; i < n; i++) {
                double av = a[i + off], bv = b[i + off];
                wp[i] = std::pow(av, bv), wg[i] = av > bv, wl[i] = av < bv, we[i] = av == bv;
            }
            std::string nm = "n=" + std::to_string(n) + " off=" + std::to_string(off);
            check("pow " + nm, p.p(), wp.data(), n, 2e-6, 1e-7);
            check("greater " + nm, gt.p(), wg.data(), n, 0, 0);
            check("less " + nm, lt.p(), wl.data(), n, 0, 0);
            check("equal " + nm, eq.p(), we.data(), n, 0, 0);
            guards("pow", p), guards("greater", gt), guards("less", lt), guards("equal", eq);

            // bf16: exp and greater through the 8-wide vector path
            std::vector<__nv_bfloat16> ab(n + 1), bb(n + 1);
            for (size_t i = 0; i <= n; i++) ab[i] = __float2bfloat16_rn(x[i]), bb[i] = __float2bfloat16_rn(i % 3 ? dy[i] : x[i]);
            Out<__nv_bfloat16> ye(n), yg(n);
            launch(2, 32, [&] { ragr_exp_fwd_bf16(ye.p(), ab.data() + off, (long long)n); });
            launch(1, 64, [&] { ragr_binary_greater_bf16(yg.p(), ab.data() + off, bb.data() + off, (long long)n); });
            std::vector<float> ge(n), gg(n);
            std::vector<double> we2(n), wg2(n);
            for (size_t i = 0; i < n; i++) {
                double av = __bfloat162float(ab[i + off]), bv = __bfloat162float(bb[i + off]);
                ge[i] = __bfloat162float(ye[i]), gg[i] = __bfloat162float(yg[i]);
                we2[i] = std::exp(av), wg2[i] = av > bv;
            }
            check("exp bf16 " + nm, ge.data(), we2.data(), n, 1.0 / 256, 1e-6);
            check("greater bf16 " + nm, gg.data(), wg2.data(), n, 0, 0);
            guards("exp bf16", ye), guards("greater bf16", yg);
        }
    }
    // broadcast pow and less: [3, 5, 7] = a (transposed [7,5,3] view) op b [5, 1]
    {
        const int A = 3, B = 5, C = 7;
        auto a = rvec(A * B * C, 0.1f, 2), b = rvec(B, -2, 2);
        BcastArgs g{};
        g.n = A * B * C, g.ndim = 3;
        long long sh[3] = {A, B, C}, sa[3] = {1, A, A * B}, sb[3] = {0, 1, 0};
        for (int d = 0; d < 3; d++) g.shape[d] = sh[d], g.sa[d] = sa[d], g.sb[d] = sb[d];
        Out<float> cp(A * B * C), cl(A * B * C);
        launch(2, 32, [&] { ragr_binary_bcast_pow_f32(cp.p(), a.data(), b.data(), g); });
        launch(1, 64, [&] { ragr_binary_bcast_less_f32(cl.p(), a.data(), b.data(), g); });
        std::vector<double> wp(A * B * C), wl(A * B * C);
        for (int i = 0; i < A; i++)
            for (int j = 0; j < B; j++)
                for (int k = 0; k < C; k++) {
                    double av = a[i + j * A + k * A * B], bv = b[j];
                    wp[(i * B + j) * C + k] = std::pow(av, bv), wl[(i * B + j) * C + k] = av < bv;
                }
        check("bcast pow", cp.p(), wp.data(), wp.size(), 2e-6, 1e-7);
        check("bcast less", cl.p(), wl.data(), wl.size(), 0, 0);
        guards("bcast pow", cp), guards("bcast less", cl);
    }
    // where: out [3, 5, 7] = cond [3, 1, 7] ? a (stored [7, 5, 3]) : b [5, 7],
    // cond as f32 (-0 false, NaN true), int32 and bf16
    {
        const int A = 3, B = 5, C = 7;
        auto cf = rvec(A * C, -2, 2), a = rvec(A * B * C), b = rvec(B * C);
        for (int i = 0; i < A * C; i += 3) cf[i] = (i & 1) ? -0.f : 0.f;
        cf[1] = NAN;
        std::vector<int> ci(A * C);
        std::vector<__nv_bfloat16> cb(A * C);
        for (int i = 0; i < A * C; i++) ci[i] = cf[i] == cf[i] ? (int)cf[i] : 0, cb[i] = __float2bfloat16_rn(cf[i]);
        WhereArgs g{};
        g.n = A * B * C, g.ndim = 3;
        long long sh[3] = {A, B, C}, sc[3] = {C, 0, 1}, sa[3] = {1, A, A * B}, sb[3] = {0, C, 1};
        for (int d = 0; d < 3; d++) g.shape[d] = sh[d], g.sc[d] = sc[d], g.sa[d] = sa[d], g.sb[d] = sb[d];
        Out<float> wf(A * B * C), wi(A * B * C), wb(A * B * C);
        launch(2, 32, [&] { ragr_where_c32_f32(wf.p(), (const unsigned*)cf.data(), 0x7fffffffu, a.data(), b.data(), g); });
        launch(1, 64, [&] { ragr_where_c32_f32(wi.p(), (const unsigned*)ci.data(), 0xffffffffu, a.data(), b.data(), g); });
        launch(3, 32, [&] { ragr_where_c16_f32(wb.p(), (const unsigned short*)cb.data(), 0x7fffu, a.data(), b.data(), g); });
        std::vector<double> ef(A * B * C), ei(A * B * C);
        for (int i = 0; i < A; i++)
            for (int j = 0; j < B; j++)
                for (int k = 0; k < C; k++) {
                    const int o = (i * B + j) * C + k;
                    const double av = a[i + j * A + k * A * B], bv = b[j * C + k];
                    ef[o] = cf[i * C + k] != 0 ? av : bv;  // NaN != 0: true
                    ei[o] = ci[i * C + k] != 0 ? av : bv;
                }
        check("where f32 cond", wf.p(), ef.data(), ef.size(), 0, 0);
        check("where i32 cond", wi.p(), ei.data(), ei.size(), 0, 0);
        check("where bf16 cond", wb.p(), ef.data(), ef.size(), 0, 0);
        guards("where", wf), guards("where", wi), guards("where", wb);
    }
}

static void test_copy() {
    const int R = 13, C = 9;
    auto x = rvec(R * C);
    StridedArgs g{};
    g.n = R * C, g.ndim = 2, g.shape[0] = C, g.shape[1] = R, g.stride[0] = 1, g.stride[1] = C;  // transpose
    Out<unsigned> y(R * C);
    launch(2, 32, [&] { ragr_copy_strided_b32(y.p(), (const unsigned*)x.data(), g); });
    std::vector<double> w(R * C);
    for (int i = 0; i < C; i++)
        for (int j = 0; j < R; j++) w[i * R + j] = x[j * C + i];
    check("copy_strided transpose", (const float*)y.p(), w.data(), w.size(), 0, 0);
    guards("copy_strided", y);
    Out<__nv_bfloat16> h(R * C);
    launch(1, 64, [&] { ragr_cast_f32_bf16(h.p(), x.data(), R * C); });
    Out<float> back(R * C);
    launch(1, 32, [&] { ragr_cast_bf16_f32(back.p(), h.p(), R * C); });
    for (int i = 0; i < R * C; i++) w[i] = bf(x[i]);
    check("cast bf16 round trip", back.p(), w.data(), w.size(), 0, 0);
    guards("cast", h), guards("cast", back);

    // the 8-wide cast path and its tail, and misaligned pointers (off = 1:
    // element by element): f32 <-> bf16, f32 <-> f16, i32 -> f16, bf16 -> i32
    for (int cn : {1, 7, 8, 9, 1031})
        for (int off : {0, 1}) {
            auto xs = rvec(cn + 1, -300, 300);
            xs[off] = NAN;
            Out<__nv_bfloat16> hb(cn);
            Out<__half> hh(cn);
            Out<float> fb(cn), fh(cn);
            launch(2, 32, [&] { ragr_cast_f32_bf16(hb.p() + 0, xs.data() + off, cn); });
            launch(1, 64, [&] { ragr_cast_f32_f16(hh.p(), xs.data() + off, cn); });
            std::vector<__nv_bfloat16> hb1(cn + 1);
            std::vector<__half> hh1(cn + 1);
            for (int i = 0; i < cn; i++) hb1[i + off] = hb[i], hh1[i + off] = hh[i];
            launch(3, 32, [&] { ragr_cast_bf16_f32(fb.p(), hb1.data() + off, cn); });
            launch(1, 32, [&] { ragr_cast_f16_f32(fh.p(), hh1.data() + off, cn); });
            std::vector<double> wbf(cn), whf(cn);
            for (int i = 0; i < cn; i++) wbf[i] = bf(xs[i + off]), whf[i] = __half2float(__float2half_rn(xs[i + off]));
            std::string nm = "cast n=" + std::to_string(cn) + " off=" + std::to_string(off);
            check(nm + " f32->bf16->f32", fb.p(), wbf.data(), cn, 0, 0);
            check(nm + " f32->f16->f32", fh.p(), whf.data(), cn, 0, 0);
            guards(nm, hb), guards(nm, hh), guards(nm, fb), guards(nm, fh);
            std::vector<int> is(cn + 1);
            for (int i = 0; i <= cn; i++) is[i] = (int)(rng() % 200001) - 100000;
            Out<__half> ih(cn);
            Out<int> bi2(cn);
            launch(2, 64, [&] { ragr_cast_i32_f16(ih.p(), is.data() + off, cn); });
            launch(2, 32, [&] { ragr_cast_bf16_i32(bi2.p(), hb1.data() + off, cn); });
            std::vector<float> gih(cn), gbi(cn);
            std::vector<double> wih(cn), wbi(cn);
            for (int i = 0; i < cn; i++) {
                gih[i] = __half2float(ih[i]), wih[i] = __half2float(__float2half_rn((float)is[i + off]));
                const float bv = __bfloat162float(hb1[i + off]);
                gbi[i] = (float)bi2[i], wbi[i] = bv != bv ? 0 : std::trunc(bv);
            }
            check(nm + " i32->f16", gih.data(), wih.data(), cn, 0, 0);
            check(nm + " bf16->i32", gbi.data(), wbi.data(), cn, 0, 0);
            guards(nm, ih), guards(nm, bi2);
        }

    // int32 casts: to f32 (round to nearest even) and bf16 (then rounded
    // again); from f32 truncated toward zero, saturating, NaN -> 0
    std::vector<int> iv(R * C);
    for (int i = 0; i < R * C; i++) iv[i] = (int)((rng() >> (i % 31)) & 0x7fffffff) * (i & 1 ? -1 : 1);
    iv[0] = INT_MIN, iv[1] = INT_MAX, iv[2] = (1 << 24) + 1;
    Out<float> fi(R * C);
    Out<__nv_bfloat16> bi(R * C);
    launch(2, 32, [&] { ragr_cast_i32_f32(fi.p(), iv.data(), R * C); });
    launch(1, 64, [&] { ragr_cast_i32_bf16(bi.p(), iv.data(), R * C); });
    std::vector<float> gb(R * C);
    std::vector<double> wb(R * C);
    for (int i = 0; i < R * C; i++) w[i] = (float)(double)iv[i], wb[i] = bf((float)iv[i]), gb[i] = __bfloat162float(bi[i]);
    check("cast i32 -> f32", fi.p(), w.data(), w.size(), 0, 0);
    check("cast i32 -> bf16", gb.data(), wb.data(), wb.size(), 0, 0);
    guards("cast i32", fi), guards("cast i32", bi);
    auto xf = rvec(R * C, -70000, 70000);
    xf[0] = 3e9f, xf[1] = -3e9f, xf[2] = NAN, xf[3] = INFINITY, xf[4] = -0.75f;
    Out<int> ti(R * C);
    launch(2, 64, [&] { ragr_cast_f32_i32(ti.p(), xf.data(), R * C); });
    std::vector<float> gi(R * C);
    for (int i = 0; i < R * C; i++) {
        const double v = xf[i];
        w[i] = v != v ? 0 : v >= 2147483647.0 ? 2147483647.0 : v <= -2147483648.0 ? -2147483648.0 : std::trunc(v);
        gi[i] = (float)ti[i];
    }
    for (int i = 0; i < R * C; i++) w[i] = (float)w[i];  // compared as floats: the same rounding on both sides
    check("cast f32 -> i32", gi.data(), w.data(), w.size(), 0, 0);
    guards("cast f32 -> i32", ti);
}

// TransposeArgs for a strided copy as kernels/cuda's transposePlan builds
// them: size-1 dimensions dropped, R the last dimension, C the innermost
// earlier one with source stride 1, the rest the batch.
static bool transpose_plan(const std::vector<long long>& shape, const std::vector<long long>& stride, TransposeArgs& g) {
    std::vector<int> dims;
    for (size_t i = 0; i < shape.size(); i++)
        if (shape[i] > 1) dims.push_back((int)i);
    if (dims.size() < 2) return false;
    const int r = dims.back();
    int ci = -1;
    for (int k = (int)dims.size() - 2; k >= 0; k--)
        if (stride[dims[k]] == 1) {
            ci = k;
            break;
        }
    if (ci < 0 || stride[r] == 0 || stride[r] == 1) return false;
    std::vector<long long> dst(dims.size());
    long long acc = 1;
    for (int k = (int)dims.size() - 1; k >= 0; k--) dst[k] = acc, acc *= shape[dims[k]];
    g = TransposeArgs{};
    long long nb = 1;
    for (int k = 0; k + 1 < (int)dims.size(); k++) {
        if (k == ci) continue;
        g.bshape[g.nb] = shape[dims[k]], g.bsrc[g.nb] = stride[dims[k]], g.bdst[g.nb] = dst[k], g.nb++;
        nb *= shape[dims[k]];
    }
    for (int i = g.nb; i < RAGR_TILE_BATCH; i++) g.bshape[i] = 1;
    g.rows = shape[r], g.cols = shape[dims[ci]], g.src_row = stride[r], g.dst_col = dst[ci];
    g.tiles_r = (g.rows + RAGR_TILE - 1) / RAGR_TILE, g.tiles_c = (g.cols + RAGR_TILE - 1) / RAGR_TILE;
    g.tiles = nb * g.tiles_r * g.tiles_c;
    return true;
}

// The tiled transpose (copy.cu) on permuted, sliced and broadcast sources
// with tails in both tiled dimensions, batch dimensions before, between and
// after C, odd source offsets, and capped grids (the loop over tiles).
static void test_transpose() {
    struct C {
        const char* name;
        std::vector<long long> shape, stride;
        long long off, src_len;
        int grid;  // 0: one block per tile
    };
    const std::vector<C> cases = {
        {"2-D 70x45", {45, 70}, {1, 45}, 0, 45 * 70, 0},
        {"2-D 64x64", {64, 64}, {1, 64}, 0, 64 * 64, 0},
        {"2-D 130x17, grid 2", {17, 130}, {1, 17}, 1, 17 * 130 + 1, 2},
        {"permute 021 [3,20,37]", {3, 37, 20}, {740, 1, 37}, 0, 3 * 740, 0},
        {"permute 210 [17,5,66]: batch between", {66, 5, 17}, {1, 66, 330}, 3, 3 + 17 * 330, 3},
        {"R of 2, batch after C", {33, 16, 2}, {1, 66, 33}, 0, 16 * 66, 0},
        {"sliced rows, broadcast batch", {2, 40, 1, 33}, {0, 1, 7, 50}, 5, 5 + 33 * 50, 0},
        {"4-D [2,3,65,18] -> [2,18,3,65]^T", {2, 18, 3, 65}, {3510, 1, 1170, 18}, 0, 2 * 3510, 5},
    };
    for (const auto& c : cases) {
        TransposeArgs g;
        checks++;
        if (!transpose_plan(c.shape, c.stride, g)) {
            std::printf("FAIL transpose %s: no tiled plan\n", c.name);
            failures++;
            continue;
        }
        long long n = 1;
        for (long long s : c.shape) n *= s;
        std::vector<unsigned> src(c.src_len);
        for (auto& v : src) v = (unsigned)rng();
        std::vector<unsigned short> src16(c.src_len);
        for (size_t i = 0; i < src.size(); i++) src16[i] = (unsigned short)src[i];
        std::vector<double> want(n), want16(n);
        std::vector<long long> idx(c.shape.size(), 0);
        for (long long i = 0; i < n; i++) {
            long long o = c.off;
            for (size_t d = 0; d < idx.size(); d++) o += idx[d] * c.stride[d];
            want[i] = (double)src[o], want16[i] = (double)src16[o];
            for (int d = (int)idx.size() - 1; d >= 0; d--) {
                if (++idx[d] < c.shape[d]) break;
                idx[d] = 0;
            }
        }
        const int grid = c.grid ? c.grid : (int)g.tiles;
        Out<unsigned> y(n);
        Out<unsigned short> y16(n);
        launch(grid, 256, [&] { ragr_copy_transpose_b32(y.p(), src.data() + c.off, g); });
        launch(grid, 256, [&] { ragr_copy_transpose_b16(y16.p(), src16.data() + c.off, g); });
        int bad = 0;
        for (long long i = 0; i < n; i++)
            if ((double)y[i] != want[i] || (double)y16[i] != want16[i]) bad++;
        checks++;
        if (bad) std::printf("FAIL transpose %s: %d of %lld elements wrong\n", c.name, bad, n), failures++;
        guards(std::string("transpose ") + c.name, y), guards(std::string("transpose b16 ") + c.name, y16);
    }
}

static void test_reduce() {
    struct S { long long o, n, in; };
    for (S s : {S{1, 1, 1}, S{3, 17, 1}, S{2, 1000, 1}, S{2, 1024, 1}, S{3, 36, 1}, S{5, 33, 7}, S{2, 3, 100}, S{1, 300, 40},
                S{2, 70, 33}}) {
        auto x = rvec(s.o * s.n * s.in);
        for (auto& v : x) v = std::round(v * 4);  // ties
        if (x.size() > 40) x[37] = NAN;
        if (x.size() > 100) x[x.size() - 2] = NAN;  // another lane of a float4 (max: NaN wins wherever it is)
        std::vector<double> ws(s.o * s.in, 0), wm(s.o * s.in), wa(s.o * s.in);
        for (long long o = 0; o < s.o; o++)
            for (long long k = 0; k < s.in; k++) {
                double best = 0;
                long long bi = -1;
                for (long long j = 0; j < s.n; j++) {
                    double v = x[(o * s.n + j) * s.in + k];
                    ws[o * s.in + k] += v;
                    if (bi < 0 || (std::isnan(v) && !std::isnan(best)) || (!std::isnan(best) && v > best)) best = v, bi = j;
                }
                wm[o * s.in + k] = best, wa[o * s.in + k] = (double)bi;
            }
        std::vector<double> wmean(ws);
        for (auto& v : wmean) v /= (double)s.n;
        Out<float> sum(s.o * s.in), mx(s.o * s.in), mean(s.o * s.in);
        Out<int> arg(s.o * s.in);
        std::string nm = "reduce " + std::to_string(s.o) + "x" + std::to_string(s.n) + "x" + std::to_string(s.in);
        if (s.in == 1) {
            // vec 1 (float4 loads) when the launcher would take it: n % 4 == 0, x 16-byte aligned
            const int vec = (s.n % 4 == 0 && (uintptr_t)x.data() % 16 == 0) ? 1 : 0;
            if (s.n % 4 == 0 && !vec) { printf("FAIL %s: the test vector is not 16-byte aligned\n", nm.c_str()); failures++; }
            launch(2, 64, [&] { ragr_reduce_sum_rows_f32(sum.p(), x.data(), s.o, s.n, vec); });
            launch(2, 96, [&] { ragr_reduce_mean_rows_f32(mean.p(), x.data(), s.o, s.n, vec); });
            launch(2, 96, [&] { ragr_reduce_max_rows_f32(mx.p(), arg.p(), x.data(), s.o, s.n, vec); });
            if (vec) {  // the scalar path too
                Out<float> mx0(s.o);
                Out<int> arg0(s.o);
                launch(3, 64, [&] { ragr_reduce_max_rows_f32(mx0.p(), arg0.p(), x.data(), s.o, s.n, 0); });
                std::vector<float> ga0(s.o);
                for (long long i = 0; i < s.o; i++) ga0[i] = (float)arg0[i];
                check(nm + " max (scalar path)", mx0.p(), wm.data(), wm.size(), 0, 0);
                check(nm + " argmax (scalar path)", ga0.data(), wa.data(), wa.size(), 0, 0);
                guards(nm, mx0), guards(nm, arg0);
            }
            if (vec) {  // the scalar path too
                Out<float> sum0(s.o);
                launch(3, 32, [&] { ragr_reduce_sum_rows_f32(sum0.p(), x.data(), s.o, s.n, 0); });
                check(nm + " sum (scalar path)", sum0.p(), ws.data(), ws.size(), 1e-5, 1e-5);
                guards(nm, sum0);
            }
        } else {
            // one launch (chunk >= n), as the launcher does when the column tiles fill the GPU
            launch(2, 256, [&] { ragr_reduce_sum_cols_f32(sum.p(), x.data(), s.o, s.n, s.in, s.n, 0); });
            launch(3, 256, [&] { ragr_reduce_sum_cols_f32(mean.p(), x.data(), s.o, s.n, s.in, s.n + 5, s.n); });
            launch(1, 64, [&] { ragr_reduce_max_cols_f32(mx.p(), arg.p(), x.data(), s.o, s.n, s.in); });
            // two launches through a workspace of partial sums (chunks of 9 rows)
            const long long chunk = 9, chunks = (s.n + chunk - 1) / chunk, m = s.o * s.in;
            Out<float> part(chunks * m), sum2(m), mean2(m);
            launch(4, 256, [&] { ragr_reduce_sum_cols_f32(part.p(), x.data(), s.o, s.n, s.in, chunk, 0); });
            launch(2, 256, [&] { ragr_reduce_sum_cols_f32(sum2.p(), part.p(), 1, chunks, m, chunks, 0); });
            launch(1, 256, [&] { ragr_reduce_sum_cols_f32(mean2.p(), part.p(), 1, chunks, m, chunks, s.n); });
            check(nm + " sum (split in chunks)", sum2.p(), ws.data(), ws.size(), 1e-5, 1e-5);
            check(nm + " mean (split in chunks)", mean2.p(), wmean.data(), wmean.size(), 1e-5, 1e-5);
            guards(nm, part), guards(nm, sum2), guards(nm, mean2);
        }
        check(nm + " mean", mean.p(), wmean.data(), wmean.size(), 1e-5, 1e-5);
        guards(nm, mean);
        std::vector<float> ga(s.o * s.in);
        for (size_t i = 0; i < ga.size(); i++) ga[i] = (float)arg[i];
        check(nm + " sum", sum.p(), ws.data(), ws.size(), 1e-5, 1e-5);
        check(nm + " max", mx.p(), wm.data(), wm.size(), 0, 0);
        check(nm + " argmax", ga.data(), wa.data(), wa.size(), 0, 0);
        guards(nm, sum), guards(nm, mx), guards(nm, arg);
    }
}

static void test_softmax() {
    typedef void (*Fwd)(float*, const float*, long long, int);
    typedef void (*Bwd)(float*, const float*, const float*, long long, int);
    struct Variant {
        const char* name;
        int maxCols, blk;  // blk 0: the block kernels' choice; -1: the register-row kernels' (32*ceil(cols/1024))
        Fwd fwd, lfwd;
        Bwd bwd, lbwd;
    };
    const Variant variants[] = {
        {"block", 1 << 30, 0, ragr_softmax_fwd_f32, ragr_log_softmax_fwd_f32, ragr_softmax_bwd_f32, ragr_log_softmax_bwd_f32},
        {"reg", 1 << 30, -1, ragr_softmax_fwd_reg_f32, ragr_log_softmax_fwd_reg_f32, ragr_softmax_bwd_f32,
         ragr_log_softmax_bwd_f32},
        {"w128", 128, 128, ragr_softmax_fwd_w128_f32, ragr_log_softmax_fwd_w128_f32, ragr_softmax_bwd_w128_f32,
         ragr_log_softmax_bwd_w128_f32},
        {"w256", 256, 128, ragr_softmax_fwd_w256_f32, ragr_log_softmax_fwd_w256_f32, ragr_softmax_bwd_w256_f32,
         ragr_log_softmax_bwd_w256_f32},
        {"w512", 512, 64, ragr_softmax_fwd_w512_f32, ragr_log_softmax_fwd_w512_f32, ragr_softmax_bwd_w512_f32,
         ragr_log_softmax_bwd_w512_f32},
        {"w1024", 1024, 128, ragr_softmax_fwd_w1024_f32, ragr_log_softmax_fwd_w1024_f32, ragr_softmax_bwd_w1024_f32,
         ragr_log_softmax_bwd_w1024_f32},
    };
    auto blockFor = [](const Variant& vr, int cols) {
        if (vr.blk > 0) return vr.blk;
        if (vr.blk == 0) return cols > 100 ? 256 : 32;
        // the register-row kernels: the launcher's block up to 32768 columns;
        // a block too small beyond (their two-pass fallback)
        return cols <= 32768 ? 32 * ((cols + 1023) / 1024) : 256;
    };
    // x and y offsets in floats: (0, 0) takes the float4 paths when cols % 4
    // == 0; a misaligned x or y takes the scalar paths
    const int offs[][2] = {{0, 0}, {1, 1}, {0, 3}};
    // 1024, 2052: whole quads; 1000 with block 256: the two-pass loop's odd
    // quad; 4100: reg blocks of 160 (partial quads per thread); 4099: scalar;
    // 33000, 33001: beyond the register row (reg falls back to two passes)
    for (int cols : {1, 17, 200, 300, 1000, 1024, 2052, 4099, 4100, 33000, 33001}) {
        for (const Variant& vr : variants) {
            if (cols > vr.maxCols) continue;
            for (const auto& off : offs) {
                if (cols > 5000 && off[0] + off[1] == 1) continue;
                // rows > warps in the grid for the warp kernels: rows stride
                const long long rows = vr.blk > 0 ? 11 : cols > 5000 ? 3 : 5;
                const size_t n = rows * cols;
                auto xs = rvec(n + 4, -4, 4), dy = rvec(n);
                const float* x = xs.data() + off[0];
                Out<float> yo(n + 4), lyo(n + 4), dx(n), ldx(n);
                float *y = yo.p() + off[1], *ly = lyo.p() + off[1];
                const int blk = blockFor(vr, cols);
                launch(2, blk, [&] { vr.fwd(y, x, rows, cols); });
                launch(2, blk, [&] { vr.lfwd(ly, x, rows, cols); });
                launch(2, blk, [&] { vr.bwd(dx.p(), dy.data(), y, rows, cols); });
                launch(2, blk, [&] { vr.lbwd(ldx.p(), dy.data(), ly, rows, cols); });
                std::vector<double> wy(n), wl(n), wdx(n), wldx(n);
                for (long long r = 0; r < rows; r++) {
                    double m = -INFINITY, s = 0, sdy = 0, sdyy = 0;
                    for (int j = 0; j < cols; j++) m = std::max(m, (double)x[r * cols + j]);
                    for (int j = 0; j < cols; j++) s += std::exp(x[r * cols + j] - m);
                    for (int j = 0; j < cols; j++) {
                        wy[r * cols + j] = std::exp(x[r * cols + j] - m) / s;
                        wl[r * cols + j] = x[r * cols + j] - m - std::log(s);
                        sdy += dy[r * cols + j], sdyy += (double)dy[r * cols + j] * y[r * cols + j];
                    }
                    for (int j = 0; j < cols; j++) {
                        wdx[r * cols + j] = y[r * cols + j] * (dy[r * cols + j] - sdyy);
                        wldx[r * cols + j] = dy[r * cols + j] - std::exp((double)ly[r * cols + j]) * sdy;
                    }
                }
                std::string nm = std::string("softmax ") + vr.name + " cols=" + std::to_string(cols) + " blk=" +
                                 std::to_string(blk) + " off=" + std::to_string(off[0]) + "," + std::to_string(off[1]);
                check(nm + " fwd", y, wy.data(), wy.size(), 1e-5, 1e-7);
                check(nm + " log fwd", ly, wl.data(), wl.size(), 1e-5, 1e-6);
                check(nm + " bwd", dx.p(), wdx.data(), wdx.size(), 1e-4, 1e-6);
                check(nm + " log bwd", ldx.p(), wldx.data(), wldx.size(), 1e-4, 1e-6);
                guards(nm, yo), guards(nm, lyo), guards(nm, dx), guards(nm, ldx);
                // the padding around [off, off + n) stays poisoned
                checks++;
                for (int k = 0; k < (int)n + 4; k++) {
                    if (k >= off[1] && k < off[1] + (int)n) continue;
                    unsigned u, lu;
                    std::memcpy(&u, &yo.p()[k], 4), std::memcpy(&lu, &lyo.p()[k], 4);
                    if (u != 0xffffffffu || lu != 0xffffffffu) {
                        std::printf("FAIL %s: wrote outside the rows (element %d)\n", nm.c_str(), k);
                        failures++;
                        break;
                    }
                }
            }
        }
    }
    // Rows of all -inf, rows holding a NaN and rows holding a +inf give NaN
    // rows, on every kernel; 40 columns (float4 paths) and 41 (scalar), and
    // for the block kernels 3000 (reg: the register row, block: two passes
    // with several quads per thread)
    for (const Variant& vr : variants) {
        for (int cols : {40, 41, 3000}) {
            if (vr.maxCols < cols) continue;
            std::vector<float> x(4 * cols, 0.5f);
            for (int j = 0; j < cols; j++) x[j] = -INFINITY;
            x[cols + 7] = NAN;
            x[2 * cols + cols - 1] = INFINITY;
            for (int j = 0; j < cols; j += 2) x[3 * cols + j] = -INFINITY;  // a finite row with -inf terms
            Out<float> y(4 * cols), ly(4 * cols);
            const int blk = vr.blk > 0 ? vr.blk : vr.blk == -1 ? 32 * ((cols + 1023) / 1024) : 32;
            launch(1, blk, [&] { vr.fwd(y.p(), x.data(), 4, cols); });
            launch(1, blk, [&] { vr.lfwd(ly.p(), x.data(), 4, cols); });
            int bad = 0;
            for (int j = 0; j < 3 * cols; j++) bad += !std::isnan(y.p()[j]) + !std::isnan(ly.p()[j]);
            const double half = cols / 2;  // finite entries of row 3 (odd j): 1/half, log(1/half)
            for (int j = 0; j < cols; j++) {
                const float yy = y.p()[3 * cols + j], ll = ly.p()[3 * cols + j];
                if (j % 2 == 0)
                    bad += !(yy == 0.f) + !(ll == -INFINITY);
                else
                    bad += !close(yy, 1 / half, 1e-5, 0) + !close(ll, -std::log(half), 1e-5, 1e-6);
            }
            checks++;
            if (bad) {
                failures++;
                std::printf("FAIL softmax %s cols=%d: %d outputs of -inf / NaN / +inf rows wrong\n", vr.name, cols, bad);
            }
        }
    }
}

static void test_norm() {
    typedef void (*LnFwd)(float*, float*, float*, const float*, const float*, const float*, long long, int, float);
    typedef void (*LnBwd)(float*, float*, const float*, const float*, const float*, const float*, const float*, long long,
                          int);
    typedef void (*RmsFwd)(float*, float*, const float*, const float*, long long, int, float);
    typedef void (*RmsBwd)(float*, float*, const float*, const float*, const float*, const float*, long long, int);
    struct Variant {
        const char* name;
        int maxCols;
        LnFwd lf;
        LnBwd lb;
        RmsFwd rf;
        RmsBwd rb;
    };
#define NORM_W(C)                                                                                                  \
    Variant {                                                                                                      \
        "w" #C, C, ragr_layernorm_fwd_w##C##_f32, ragr_layernorm_bwd_w##C##_f32, ragr_rmsnorm_fwd_w##C##_f32,     \
            ragr_rmsnorm_bwd_w##C##_f32                                                                            \
    }
#define NORM_W4(C)                                                                                                 \
    Variant {                                                                                                      \
        "w" #C "x4", C, ragr_layernorm_fwd_w##C##x4_f32, ragr_layernorm_bwd_w##C##x4_f32,                          \
            ragr_rmsnorm_fwd_w##C##x4_f32, ragr_rmsnorm_bwd_w##C##x4_f32                                           \
    }
    const Variant warps[] = {NORM_W(128), NORM_W(256), NORM_W(512), NORM_W(768), NORM_W(1024)};
    const Variant warps4[] = {NORM_W4(128), NORM_W4(256), NORM_W4(512), NORM_W4(768), NORM_W4(1024)};
    // (cols, block) for the block kernels: 300 columns on 32 threads takes
    // the backward's global-partials path (more than 8 columns per thread),
    // the others the register path. Every warp size class that holds cols
    // runs too (block 128, grid 2: 8 warps, 8 partial rows), and for cols a
    // multiple of 4 every 16-byte vector class that holds it (block 128, grid
    // 1: 4 warps over 11 rows; grid 3: 12 warps, one idle; one partial row a
    // block). 132 columns are 33 float4s: one lane holds a second vector.
    for (auto [cols, blk] : {std::pair{1, 32}, std::pair{4, 32}, std::pair{17, 32}, std::pair{132, 64}, std::pair{300, 32},
                             std::pair{768, 256}, std::pair{1000, 256}}) {
        const long long rows = 11;
        auto x = rvec(rows * cols, 1, 4), dy = rvec(rows * cols), g = rvec(cols, 0.5, 1.5), b = rvec(cols);
        // reference
        std::vector<double> wy(rows * cols), wm(rows), wr(rows), wdx(rows * cols), wdg(cols, 0.5), wdb(cols, -0.25);
        std::vector<double> wry(rows * cols), wrr(rows), wrdx(rows * cols), wrdg(cols, 0);
        for (long long r = 0; r < rows; r++) {
            double mu = 0, var = 0;
            for (int j = 0; j < cols; j++) mu += x[r * cols + j];
            mu /= cols;
            for (int j = 0; j < cols; j++) var += (x[r * cols + j] - mu) * (x[r * cols + j] - mu);
            double rs = 1 / std::sqrt(var / cols + 1e-5);
            wm[r] = mu, wr[r] = rs;
            double sg = 0, sgx = 0;
            for (int j = 0; j < cols; j++) {
                double xh = (x[r * cols + j] - mu) * rs, gg = dy[r * cols + j] * (double)g[j];
                wy[r * cols + j] = xh * g[j] + b[j];
                sg += gg, sgx += gg * xh;
                wdg[j] += dy[r * cols + j] * xh, wdb[j] += dy[r * cols + j];
            }
            for (int j = 0; j < cols; j++) {
                double xh = (x[r * cols + j] - mu) * rs;
                wdx[r * cols + j] = rs * (dy[r * cols + j] * (double)g[j] - sg / cols - xh * sgx / cols);
            }
            double ss = 0;
            for (int j = 0; j < cols; j++) ss += (double)x[r * cols + j] * x[r * cols + j];
            double rrs = 1 / std::sqrt(ss / cols + 1e-6), rsgx = 0;
            wrr[r] = rrs;
            for (int j = 0; j < cols; j++) {
                double xh = x[r * cols + j] * rrs;
                wry[r * cols + j] = g[j] * xh;
                rsgx += dy[r * cols + j] * (double)g[j] * xh;
                wrdg[j] += dy[r * cols + j] * xh;
            }
            for (int j = 0; j < cols; j++)
                wrdx[r * cols + j] = rrs * (dy[r * cols + j] * (double)g[j] - x[r * cols + j] * rrs * rsgx / cols);
        }
        auto run = [&](const std::string& vname, LnFwd lf, LnBwd lb, RmsFwd rf, RmsBwd rbw, int grid, int threads,
                       int nparts) {
            Out<float> y(rows * cols), mean(rows), rstd(rows), dx(rows * cols), part(2 * nparts * cols);
            std::vector<float> dg(cols, 0.5f), db(cols, -0.25f);  // accumulated into
            launch(grid, threads, [&] { lf(y.p(), mean.p(), rstd.p(), x.data(), g.data(), b.data(), rows, cols, 1e-5f); });
            launch(grid, threads, [&] { lb(dx.p(), part.p(), dy.data(), x.data(), mean.p(), rstd.p(), g.data(), rows, cols); });
            // colsum2: blocks of 2 row groups striding over both outputs' tiles
            launch(2, 64, [&] { ragr_norm_colsum2_f32(dg.data(), db.data(), part.p(), nparts, cols); });
            std::string nm = "layernorm " + vname + " cols=" + std::to_string(cols);
            check(nm + " y", y.p(), wy.data(), wy.size(), 1e-4, 1e-5);
            check(nm + " mean", mean.p(), wm.data(), rows, 1e-5, 1e-6);
            check(nm + " rstd", rstd.p(), wr.data(), rows, 1e-4, 1e-5);
            check(nm + " dx", dx.p(), wdx.data(), wdx.size(), 1e-4, 1e-4);
            check(nm + " dgamma", dg.data(), wdg.data(), cols, 1e-4, 1e-5);
            check(nm + " dbeta", db.data(), wdb.data(), cols, 1e-4, 1e-5);
            guards(nm, y), guards(nm, dx), guards(nm, part);

            Out<float> ry(rows * cols), rr(rows), rdx(rows * cols), rpart(nparts * cols);
            std::vector<float> rdg(cols, 0.f);
            launch(grid, threads, [&] { rf(ry.p(), rr.p(), x.data(), g.data(), rows, cols, 1e-6f); });
            launch(grid, threads, [&] { rbw(rdx.p(), rpart.p(), dy.data(), x.data(), rr.p(), g.data(), rows, cols); });
            // colsum: 3 row groups (more than some nparts), one block striding over the tiles
            launch(1, 96, [&] { ragr_norm_colsum_f32(rdg.data(), rpart.p(), nparts, cols); });
            nm = "rmsnorm " + vname + " cols=" + std::to_string(cols);
            check(nm + " y", ry.p(), wry.data(), wry.size(), 1e-4, 1e-5);
            check(nm + " rstd", rr.p(), wrr.data(), rows, 1e-4, 1e-5);
            check(nm + " dx", rdx.p(), wrdx.data(), wrdx.size(), 1e-4, 1e-4);
            check(nm + " dgamma", rdg.data(), wrdg.data(), cols, 1e-4, 1e-5);
            guards(nm, ry), guards(nm, rdx), guards(nm, rpart);
        };
        run("block", ragr_layernorm_fwd_f32, ragr_layernorm_bwd_f32, ragr_rmsnorm_fwd_f32, ragr_rmsnorm_bwd_f32, 3, blk, 3);
        for (const Variant& v : warps)
            if (cols <= v.maxCols) run(v.name, v.lf, v.lb, v.rf, v.rb, 2, 128, 8);
        if (cols % 4 == 0)
            for (const Variant& v : warps4)
                if (cols <= v.maxCols)
                    for (int grid : {1, 3}) run(std::string(v.name) + " grid " + std::to_string(grid), v.lf, v.lb, v.rf, v.rb, grid, 128, grid);
    }
#undef NORM_W
#undef NORM_W4
}

static void test_embedding() {
  for (int dim : {5, 8}) {
    const int vocab = 11;
    std::vector<int> ids = {3, 0, 10, 3, 7, 3};
    auto table = rvec(vocab * dim);
    Out<float> y(ids.size() * dim);
    int err = INT_MAX;
    launch(2, 32, [&] { ragr_embedding_gather_f32(y.p(), table.data(), ids.data(), (long long)ids.size(), dim, vocab, &err); });
    std::vector<double> w(ids.size() * dim);
    for (size_t i = 0; i < ids.size(); i++)
        for (int j = 0; j < dim; j++) w[i * dim + j] = table[ids[i] * dim + j];
    check("embedding gather", y.p(), w.data(), w.size(), 0, 0);
    guards("embedding gather", y);
    if (err != INT_MAX) std::printf("FAIL embedding gather: error flag %d with valid ids\n", err), failures++;
    auto dy = rvec(ids.size() * dim);
    std::vector<float> dt(vocab * dim, 1.f);
    std::vector<double> wdt(vocab * dim, 1.0);
    for (size_t i = 0; i < ids.size(); i++)
        for (int j = 0; j < dim; j++) wdt[ids[i] * dim + j] += dy[i * dim + j];
    launch(1, 64, [&] { ragr_embedding_scatter_add_f32(dt.data(), dy.data(), ids.data(), (long long)ids.size(), dim, vocab, &err); });
    check("embedding scatter-add", dt.data(), wdt.data(), wdt.size(), 1e-6, 1e-6);
    ids[4] = vocab, ids[5] = -1;
    launch(2, 32, [&] { ragr_embedding_gather_f32(y.p(), table.data(), ids.data(), (long long)ids.size(), dim, vocab, &err); });
    checks++;
    if (err != 4) std::printf("FAIL embedding gather: error flag %d, want 4 (first bad position)\n", err), failures++;
    for (int j = 0; j < dim; j++) w[4 * dim + j] = 0, w[5 * dim + j] = 0;
    check("embedding gather, bad rows zero", y.p(), w.data(), w.size(), 0, 0);
  }
}

// The rotation with the kernel's roundings (rope.cu's header), in float.
static void rope_ref(bool bwd, float a, float b, float c, float s, float& ya, float& yb) {
    if (bwd) {
        ya = std::fma(a, c, b * s);
        yb = b * c - a * s;
    } else {
        ya = a * c - b * s;
        yb = std::fma(a, s, b * c);
    }
}
#define ROPE_ARGS const float *cs, const float *sn, const int *pos, long long tokens, int heads, int dim, int npos, int *err
#define ROPE_PASS cs, sn, pos, tokens, heads, dim, npos, err
static void rope_fwd(float* y, const float* x, ROPE_ARGS) { ragr_rope_fwd_f32(y, x, ROPE_PASS); }
static void rope_fwd(__nv_bfloat16* y, const __nv_bfloat16* x, ROPE_ARGS) { ragr_rope_fwd_bf16(y, x, ROPE_PASS); }
static void rope_bwd(float* y, const float* x, ROPE_ARGS) { ragr_rope_bwd_f32(y, x, ROPE_PASS); }
static void rope_bwd(__nv_bfloat16* y, const __nv_bfloat16* x, ROPE_ARGS) { ragr_rope_bwd_bf16(y, x, ROPE_PASS); }

// One RoPE launch against the exact reference (fp32 roundings of rope_ref,
// then rounded to T) and a float64 one: x at element offset xoff of its
// buffer, y at yoff (alignment selects the vector width), the tables at
// float offset toff; inplace: y = x; bad: tokens whose position is outside
// the table (rows NaN, err = the smallest).
template <typename T>
static void rope_case(bool bwd, long long tokens, int heads, int dim, int npos, int xoff, int yoff, int toff, int grid, int block,
                      bool inplace, std::vector<int> bad = {}) {
    const int half = dim / 2;
    const size_t n = (size_t)tokens * heads * dim;
    std::vector<float> cs(npos * half + toff), sn(npos * half + toff);
    for (auto& v : cs) v = urand();
    for (auto& v : sn) v = urand();
    std::vector<int> pos(tokens);
    for (auto& p : pos) p = (int)(rng() % npos);
    int want_err = INT_MAX;
    for (int t : bad) pos[t] = t % 2 ? -1 : npos, want_err = std::min(want_err, t);
    std::vector<T> xs(n + xoff);
    for (auto& v : xs) v = cvt<T>(urand(-2, 2));
    Out<T> y(n + 8);
    if (inplace) std::copy(xs.begin() + xoff, xs.end(), y.p() + yoff);
    const T* xp = inplace ? y.p() + yoff : xs.data() + xoff;
    int err = INT_MAX;
    auto k = [&] {
        if (bwd)
            launch(grid, block, [&] {
                rope_bwd(y.p() + yoff, xp, cs.data() + toff, sn.data() + toff, pos.data(), tokens, heads, dim, npos, &err);
            });
        else
            launch(grid, block, [&] {
                rope_fwd(y.p() + yoff, xp, cs.data() + toff, sn.data() + toff, pos.data(), tokens, heads, dim, npos, &err);
            });
    };
    k();
    std::vector<double> want(n), wide(n);
    std::vector<float> got(n);
    for (long long t = 0; t < tokens; t++)
        for (int h = 0; h < heads; h++)
            for (int j = 0; j < half; j++) {
                const size_t i = ((size_t)t * heads + h) * dim + j;
                const bool ok = pos[t] >= 0 && pos[t] < npos;
                const float c = ok ? cs[toff + pos[t] * half + j] : 0, s = ok ? sn[toff + pos[t] * half + j] : 0;
                const float a = back(xs[xoff + i]), b = back(xs[xoff + i + half]);
                float ya, yb;
                rope_ref(bwd, a, b, c, s, ya, yb);
                want[i] = ok ? back(cvt<T>(ya)) : NAN, want[i + half] = ok ? back(cvt<T>(yb)) : NAN;
                const double sg = bwd ? -1 : 1;
                wide[i] = ok ? (double)a * c - sg * (double)b * s : NAN;
                wide[i + half] = ok ? (double)b * c + sg * (double)a * s : NAN;
            }
    for (size_t i = 0; i < n; i++) got[i] = back(y[yoff + i]);
    const std::string nm = std::string("rope ") + (bwd ? "bwd " : "fwd ") + (sizeof(T) == 2 ? "bf16" : "f32") + " [" +
                           std::to_string(tokens) + "," + std::to_string(heads) + "," + std::to_string(dim) + "] xoff " +
                           std::to_string(xoff) + " yoff " + std::to_string(yoff) + " toff " + std::to_string(toff) +
                           (inplace ? " in place" : "") + " grid " + std::to_string(grid) + "x" + std::to_string(block);
    check(nm + " exact", got.data(), want.data(), n, 0, 0);
    check(nm + " vs float64", got.data(), wide.data(), n, sizeof(T) == 2 ? 1.0 / 128 : 1e-6, sizeof(T) == 2 ? 1e-2 : 1e-6);
    guards(nm, y);
    for (int i = 0; i < yoff; i++)  // the elements before y stay poisoned
        if (!std::isnan(back(y[i]))) std::printf("FAIL %s: element %d before y written\n", nm.c_str(), i), failures++;
    for (size_t i = yoff + n; i < n + 8; i++)
        if (!std::isnan(back(y[i]))) std::printf("FAIL %s: element %zu past y written\n", nm.c_str(), i), failures++;
    checks++;
    if (err != want_err) std::printf("FAIL %s: error flag %d, want %d\n", nm.c_str(), err, want_err), failures++;
}

static void test_rope() {
    const int npos = 9, dim = 10, half = dim / 2;
    Out<float> cs(npos * half), sn(npos * half);
    launch(1, 32, [&] { ragr_rope_table_f32(cs.p(), sn.p(), npos, half, dim, 10000.f); });
    std::vector<double> wc(npos * half), ws(npos * half);
    for (int p = 0; p < npos; p++)
        for (int j = 0; j < half; j++) {
            float inv = 1.f / powf(10000.f, (float)(2 * j) / (float)dim);
            wc[p * half + j] = std::cos((double)((float)p * inv)), ws[p * half + j] = std::sin((double)((float)p * inv));
        }
    check("rope table cos", cs.p(), wc.data(), wc.size(), 0, 2e-7);
    check("rope table sin", sn.p(), ws.data(), ws.size(), 0, 2e-7);
    {  // bwd(fwd(x)) = x on the real tables
        const int heads = 3;
        const long long tokens = 4;
        std::vector<int> pos = {0, 8, 3, 3};
        auto x = rvec(tokens * heads * dim);
        Out<float> y(x.size()), dx(x.size());
        int err = INT_MAX;
        launch(1, 64, [&] { ragr_rope_fwd_f32(y.p(), x.data(), cs.p(), sn.p(), pos.data(), tokens, heads, dim, npos, &err); });
        launch(2, 32, [&] { ragr_rope_bwd_f32(dx.p(), y.p(), cs.p(), sn.p(), pos.data(), tokens, heads, dim, npos, &err); });
        std::vector<double> wx(x.begin(), x.end());
        check("rope bwd(fwd(x)) = x", dx.p(), wx.data(), wx.size(), 1e-5, 1e-6);
        checks++;
        if (err != INT_MAX) std::printf("FAIL rope: error flag %d with valid positions\n", err), failures++;
    }
    // Every vector width (f32: 4, 2, 1 elements; bf16: 8, 4, 2, 1), chosen
    // by half and by the alignment of x, y and the tables; odd head counts
    // (a group of RAGR_ROPE_G = 2 heads with one missing), grid-stride
    // loops (small grids), in place, bad positions.
    struct C {
        long long tokens;
        int heads, dim, npos, xoff, yoff, toff, grid, block;
        bool inplace;
        std::vector<int> bad;
    };
    const std::vector<C> cases = {
        {5, 3, 64, 40, 0, 0, 0, 4, 64, false, {}},     // f32 V4, bf16 V8
        {3, 5, 128, 7, 0, 0, 0, 1, 32, false, {}},     // wider heads, one small block: grid-stride
        {4, 7, 24, 6, 0, 0, 0, 2, 64, true, {}},       // half 12: f32 V4, bf16 V4; in place
        {3, 3, 12, 5, 0, 0, 0, 3, 32, false, {1}},     // half 6: V2 (both); token 1 bad
        {4, 3, 10, 9, 0, 0, 0, 1, 64, false, {}},      // half 5: scalar
        {2, 1, 2, 3, 0, 0, 0, 1, 32, false, {}},       // half 1, one head
        {6, 14, 64, 50, 0, 0, 0, 9, 256, false, {}},   // the benchmark's layout, small
        {3, 3, 64, 11, 1, 1, 0, 2, 64, false, {}},     // x, y one element off: scalar
        {3, 3, 64, 11, 2, 2, 0, 2, 64, false, {}},     // two elements off: f32 V2, bf16 V2
        {3, 3, 64, 11, 4, 4, 0, 2, 64, false, {}},     // four off: f32 V4, bf16 V4
        {3, 3, 64, 11, 0, 0, 1, 2, 64, false, {}},     // tables one float off: scalar
        {3, 3, 64, 11, 0, 0, 2, 2, 64, false, {}},     // tables two floats off: V2
        {3, 3, 64, 11, 4, 4, 0, 2, 64, true, {0, 2}},  // in place at an offset, tokens 0 and 2 bad
        {5, 2, 16, 4, 0, 0, 0, 1, 32, false, {4, 3}},  // f32 V4, bf16 V8, bad tail tokens
    };
    for (const auto& c : cases)
        for (bool bwd : {false, true}) {
            rope_case<float>(bwd, c.tokens, c.heads, c.dim, c.npos, c.xoff, c.yoff, c.toff, c.grid, c.block, c.inplace, c.bad);
            rope_case<__nv_bfloat16>(bwd, c.tokens, c.heads, c.dim, c.npos, c.xoff, c.yoff, c.toff, c.grid, c.block, c.inplace,
                                     c.bad);
        }
}

static void test_xent() {
    // 1000 with block 256: float4, the one-quad loop only; 4100: float4 with
    // four quads in flight and a tail; 4099 and misaligned logits: scalar,
    // four in flight and a tail
    for (int V : {1, 17, 1000, 4099, 4100}) {
        for (int off : {0, 1}) {
            if (V < 1000 && off) continue;
            const long long rows = 5;
            auto xs = rvec(rows * V + 4, -3, 3), dl = rvec(rows, 0.1, 1);
            const float* x = xs.data() + off;
            std::vector<int> t = {0, -100, V - 1, V / 2, 3 % V};
            Out<float> loss(rows), lse(rows), dxo(rows * V + 4);
            float* dx = dxo.p() + off;  // misaligned with the logits too when off = 1
            int err = INT_MAX;
            const int blk = V > 100 ? 256 : 32;
            launch(3, blk, [&] { ragr_xent_fwd_f32(loss.p(), lse.p(), x, t.data(), rows, V, -100, &err); });
            launch(2, blk, [&] { ragr_xent_bwd_f32(dx, dl.data(), x, lse.p(), t.data(), rows, V, -100); });
            std::vector<double> wl(rows), wlse(rows), wdx(rows * V, 0);
            for (long long r = 0; r < rows; r++) {
                double m = -INFINITY, s = 0;
                for (int j = 0; j < V; j++) m = std::max(m, (double)x[r * V + j]);
                for (int j = 0; j < V; j++) s += std::exp(x[r * V + j] - m);
                wlse[r] = m + std::log(s);
                if (t[r] == -100) {
                    wl[r] = 0;
                    continue;
                }
                wl[r] = wlse[r] - x[r * V + t[r]];
                for (int j = 0; j < V; j++) wdx[r * V + j] = dl[r] * (std::exp(x[r * V + j] - wlse[r]) - (j == t[r]));
            }
            std::string nm = "xent V=" + std::to_string(V) + " off=" + std::to_string(off);
            check(nm + " loss", loss.p(), wl.data(), rows, 1e-5, 1e-5);
            check(nm + " lse", lse.p(), wlse.data(), rows, 1e-5, 1e-5);
            check(nm + " dlogits", dx, wdx.data(), wdx.size(), 1e-4, 1e-6);
            guards(nm, loss), guards(nm, dxo);
            checks++;
            if (err != INT_MAX) std::printf("FAIL %s: error flag %d with valid targets\n", nm.c_str(), err), failures++;
            t[3] = V;
            launch(3, blk, [&] { ragr_xent_fwd_f32(loss.p(), lse.p(), x, t.data(), rows, V, -100, &err); });
            launch(2, blk, [&] { ragr_xent_bwd_f32(dx, dl.data(), x, lse.p(), t.data(), rows, V, -100); });
            checks++;
            if (err != 3 || !std::isnan(loss[3])) std::printf("FAIL %s: bad target: flag %d loss %g\n", nm.c_str(), err, loss[3]), failures++;
            int nz = 0;  // the bad target's row of dlogits is zero, as an ignored one
            for (int j = 0; j < V; j++) nz += dx[3 * V + j] != 0.f || dx[1 * V + j] != 0.f;
            checks++;
            if (nz) std::printf("FAIL %s: %d nonzero dlogits in ignored / bad-target rows\n", nm.c_str(), nz), failures++;
        }
    }
    // Rows of all -inf (lse -inf, loss NaN), holding a NaN or a +inf (both
    // NaN), and a finite row with -inf entries, on the float4 (V = 2000) and
    // scalar (2001) paths
    for (int V : {2000, 2001}) {
        std::vector<float> x(4 * V, 0.25f);
        for (int j = 0; j < V; j++) x[j] = -INFINITY;
        x[V + 1500] = NAN;
        x[2 * V + 3] = INFINITY;
        for (int j = 0; j < V; j += 2) x[3 * V + j] = -INFINITY;
        std::vector<int> t = {1, 2, 3, 1};
        Out<float> loss(4), lse(4);
        int err = INT_MAX;
        launch(2, 256, [&] { ragr_xent_fwd_f32(loss.p(), lse.p(), x.data(), t.data(), 4, V, -100, &err); });
        const double half = V / 2;
        const bool ok = lse[0] == -INFINITY && std::isnan(loss[0]) && std::isnan(lse[1]) && std::isnan(loss[1]) &&
                        std::isnan(lse[2]) && std::isnan(loss[2]) && close(lse[3], 0.25 + std::log(half), 1e-6, 1e-6) &&
                        close(loss[3], std::log(half), 1e-6, 1e-6) && err == INT_MAX;
        checks++;
        if (!ok)
            std::printf("FAIL xent V=%d special rows: lse %g %g %g %g loss %g %g %g %g flag %d\n", V, lse[0], lse[1], lse[2],
                        lse[3], loss[0], loss[1], loss[2], loss[3], err),
                failures++;
    }
}

static void test_dropout() {
    // Random123 known answer: counter 0, key 0
    Out<unsigned> w(4);
    launch(1, 32, [&] { ragr_philox_u32(w.p(), 1, 0, 0); });
    const unsigned want[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    checks++;
    for (int k = 0; k < 4; k++)
        if (w[k] != want[k]) std::printf("FAIL philox KAT word %d = %#x, want %#x\n", k, w[k], want[k]), failures++;
    for (size_t n : {1, 5, 1001}) {
        auto x = rvec(n), dy = rvec(n);
        Out<float> m(n), y(n), dx(n);
        launch(2, 32, [&] { ragr_dropout_mask_f32(m.p(), (long long)n, 0.3f, 99, 5); });
        launch(1, 64, [&] { ragr_dropout_fwd_f32(y.p(), x.data(), (long long)n, 0.3f, 99, 5); });
        launch(3, 32, [&] { ragr_dropout_bwd_f32(dx.p(), dy.data(), (long long)n, 0.3f, 99, 5); });
        std::vector<double> wy(n), wdx(n), wm(n);
        for (size_t i = 0; i < n; i++) {
            Philox4 c{(uint32_t)(i / 4), 0, 5, 0};
            Philox4 r = philox4x32_10(c, 99, 0);
            uint32_t ws[4] = {r.x, r.y, r.z, r.w};
            float keep = u01(ws[i % 4]) >= 0.3f ? 1.f / (1.f - 0.3f) : 0.f;
            wm[i] = keep, wy[i] = x[i] * keep, wdx[i] = dy[i] * keep;
        }
        std::string nm = "dropout n=" + std::to_string(n);
        check(nm + " mask", m.p(), wm.data(), n, 0, 0);
        check(nm + " fwd", y.p(), wy.data(), n, 0, 0);
        check(nm + " bwd", dx.p(), wdx.data(), n, 0, 0);
        guards(nm, m), guards(nm, y), guards(nm, dx);
    }
}

static void test_multitensor() {
    std::vector<long long> sizes = {1, 16385, 0, 3, 20000};
    std::vector<std::vector<float>> p, g, m, v;
    std::vector<AdamWTensor> tab;
    std::vector<GradTensor> gtab;
    std::vector<int> cs;
    int chunks = 0;
    for (long long n : sizes) {
        p.push_back(rvec(n)), g.push_back(rvec(n, -0.1, 0.1)), m.push_back(rvec(n, -0.01, 0.01)), v.push_back(rvec(n, 0, 1e-3));
    }
    std::vector<std::vector<float>> p0 = p, m0 = m, v0 = v;
    for (size_t t = 0; t < sizes.size(); t++) {
        tab.push_back(AdamWTensor{p[t].data(), g[t].data(), m[t].data(), v[t].data(), sizes[t], t % 2 ? 0.0 : 0.01});
        gtab.push_back(GradTensor{g[t].data(), sizes[t]});
        cs.push_back(chunks);
        chunks += (int)((sizes[t] + RAGR_CHUNK - 1) / RAGR_CHUNK);
    }
    cs.push_back(chunks);
    // step 1, lr 1e-3, betas 0.9/0.999, eps 1e-8, scalars as the Go launcher computes them
    const double lr = 1e-3, b1 = 0.9, b2 = 0.999;
    const float w1 = (float)(1 - b1), beta2 = (float)b2, c2 = (float)(1 - b2), bc2 = (float)std::sqrt(1 - b2), neg = (float)(-(lr / (1 - b1)));
    launch(chunks, 64, [&] { ragr_adamw_f32(tab.data(), cs.data(), (int)tab.size(), nullptr, lr, w1, beta2, c2, bc2, neg, 1e-8f, 1); });
    double ss = 0;
    for (size_t t = 0; t < sizes.size(); t++) {
        std::vector<double> wp(sizes[t]), wm(sizes[t]), wv(sizes[t]);
        const float decay = (float)(1.0 - lr * (t % 2 ? 0.0 : 0.01));
        for (long long i = 0; i < sizes[t]; i++) {
            float gi = g[t][i], pi = p0[t][i] * decay, mi = m0[t][i] + w1 * (gi - m0[t][i]);
            float vi = v0[t][i] * beta2 + (c2 * gi) * gi;
            float den = sqrtf(vi) / bc2 + 1e-8f;
            wp[i] = pi + (neg * mi) / den, wm[i] = mi, wv[i] = vi;
            ss += (double)gi * gi;
        }
        std::string nm = "adamw tensor " + std::to_string(t);
        check(nm + " p", p[t].data(), wp.data(), sizes[t], 0, 0);
        check(nm + " m", m[t].data(), wm.data(), sizes[t], 0, 0);
        check(nm + " v", v[t].data(), wv.data(), sizes[t], 0, 0);
    }
    Out<float> partial(chunks), out(2);
    launch(chunks, 64, [&] { ragr_gradnorm_partial_f32(partial.p(), gtab.data(), cs.data(), (int)gtab.size()); });
    launch(1, 256, [&] { ragr_gradnorm_finish_f32(out.p(), partial.p(), chunks, 1.f); });
    const double norm = std::sqrt(ss);
    const double want[2] = {norm, std::min(1.0, 1.0 / (norm + 1e-6))};
    check("gradnorm", out.p(), want, 2, 1e-5, 1e-7);
    guards("gradnorm", partial), guards("gradnorm", out);
}

int main() {
    test_elementwise();
    test_elementwise_ops();
    test_copy();
    test_transpose();
    test_reduce();
    test_softmax();
    test_norm();
    test_embedding();
    test_rope();
    test_xent();
    test_dropout();
    test_multitensor();
    std::printf("check_core: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
