// check_attn.cpp — runs kernels/attention.cu's forward and backward and
// kernels/attention90.cu's (sm_90a: wgmma, emulated by emu_sm90.h)
// in the host emulator (emu.h) and compares O, lse, dQ, dK, dV with a
// float64 reference on the same bf16 inputs. Exits 1 on any failure.
#include "emu_sm90.h"

#include "../attention.cu"
#include "../attention90.cu"

#include <random>
#include <string>

struct Case {
    int b, hq, hkv, sq, sk, d;
    bool causal;
    std::vector<int> kvlen;
    double maskFrac;
    bool outF32;
    bool fused;
    double drop = 0;  // attention-probability dropout
};

// The CPU's dropout mask (tensor.RNG.DropoutMask) for P element i: kept when
// half i%2 of SplitMix64(key + (i/2+1)·γ) >= thr.
static unsigned long long smix(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static bool kept_ref(unsigned long long key, unsigned long long thr, unsigned long long i) {
    const unsigned long long z = smix(key + (i / 2 + 1) * 0x9e3779b97f4a7c15ull);
    return ((i & 1) ? z >> 32 : z & 0xffffffffull) >= thr;
}

static std::mt19937_64 rng(5);
static float urand() { return std::uniform_real_distribution<float>(-1, 1)(rng); }
static float rb(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }
static int failures = 0;

static double relL2(const std::vector<float>& g, const std::vector<double>& w, bool& finite) {
    double num = 0, den = 0;
    finite = true;
    for (size_t i = 0; i < g.size(); i++) {
        if (!std::isfinite(g[i])) finite = false;
        num += (g[i] - w[i]) * (g[i] - w[i]), den += w[i] * w[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

template <typename TO>
static void run(const Case& c) {
    const int D = c.d, G = c.hq / c.hkv;
    // Inputs (float copies of the bf16 values) and layouts.
    long long qs[3], ks[3], vs[3];
    long long koff = 0, voff = 0;
    std::vector<float> q, k, v;
    auto gen = [](size_t n) {
        std::vector<float> x(n);
        for (auto& e : x) e = rb(urand());
        return x;
    };
    if (c.fused) {
        long long h = (long long)c.hq * D;
        q = gen((size_t)c.b * c.sq * 3 * h);
        long long st[3] = {c.sq * 3 * h, 3 * h, D};
        for (int i = 0; i < 3; i++) qs[i] = ks[i] = vs[i] = st[i];
        koff = h, voff = 2 * h;
    } else {
        q = gen((size_t)c.b * c.sq * c.hq * D);
        k = gen((size_t)c.b * c.sk * c.hkv * D);
        v = gen((size_t)c.b * c.sk * c.hkv * D);
        qs[0] = (long long)c.sq * c.hq * D, qs[1] = (long long)c.hq * D, qs[2] = D;
        ks[0] = vs[0] = (long long)c.sk * c.hkv * D, ks[1] = vs[1] = (long long)c.hkv * D, ks[2] = vs[2] = D;
    }
    const std::vector<float>& kb = c.fused ? q : k;
    const std::vector<float>& vb = c.fused ? q : v;
    std::vector<unsigned char> mask;
    if (c.maskFrac > 0) {
        mask.resize((size_t)c.b * c.sk);
        for (auto& m : mask) m = std::uniform_real_distribution<double>(0, 1)(rng) >= c.maskFrac;
    }
    auto vis = [&](int b, int i, int j) {
        if (!c.kvlen.empty() && j >= c.kvlen[b]) return false;
        if (!mask.empty() && !mask[(size_t)b * c.sk + j]) return false;
        return !(c.causal && j > i);
    };
    auto Q = [&](int b, int s, int h) { return &q[b * qs[0] + s * qs[1] + h * qs[2]]; };
    auto K = [&](int b, int s, int h) { return &kb[koff + b * ks[0] + s * ks[1] + h * ks[2]]; };
    auto V = [&](int b, int s, int h) { return &vb[voff + b * vs[0] + s * vs[1] + h * vs[2]]; };
    const size_t nO = (size_t)c.b * c.sq * c.hq * D, nK = (size_t)c.b * c.sk * c.hkv * D;
    std::vector<float> dO(nO);
    for (auto& x : dO) x = sizeof(TO) == 2 ? rb(urand()) : urand();
    const double scale = 1 / std::sqrt((double)D);

    // Reference.
    std::vector<double> o(nO), lse((size_t)c.b * c.hq * c.sq), dq(nO), dk(nK), dv(nK), p(c.sk), z(c.sk);
    // dropout parameters as kernels/cuda passes them: thr = round(p·2^32), keep = float(1/(1-p))
    const unsigned long long dkey = 0x1234567887654321ull + (unsigned long long)c.sq,
                             dthr = (unsigned long long)std::llround(c.drop * 4294967296.0);
    const float dkeep = (float)(1 / (1 - c.drop));
    for (int b = 0; b < c.b; b++)
        for (int h = 0; h < c.hq; h++) {
            const int hk = h / G;
            for (int i = 0; i < c.sq; i++) {
                double m = -INFINITY;
                for (int j = 0; j < c.sk; j++) {
                    p[j] = -INFINITY;
                    if (!vis(b, i, j)) continue;
                    double s = 0;
                    for (int x = 0; x < D; x++) s += (double)Q(b, i, h)[x] * K(b, j, hk)[x];
                    p[j] = s * scale;
                    m = std::max(m, p[j]);
                }
                double* orow = &o[(((size_t)b * c.sq + i) * c.hq + h) * D];
                const size_t li = ((size_t)b * c.hq + h) * c.sq + i;
                if (m == -INFINITY) {
                    lse[li] = INFINITY;
                    continue;
                }
                double l = 0;
                for (int j = 0; j < c.sk; j++) l += (p[j] = std::exp(p[j] - m));
                lse[li] = m + std::log(l);
                // z[j]: the dropout factor of weight j (0 or keep; 1 without dropout)
                for (int j = 0; j < c.sk; j++) {
                    const unsigned long long pi = (((unsigned long long)b * c.hq + h) * c.sq + i) * c.sk + j;
                    z[j] = c.drop == 0 ? 1.0 : kept_ref(dkey, dthr, pi) ? (double)dkeep : 0.0;
                    p[j] /= l;
                    for (int x = 0; x < D; x++) orow[x] += p[j] * z[j] * V(b, j, hk)[x];
                }
                const float* dor = &dO[(((size_t)b * c.sq + i) * c.hq + h) * D];
                double delta = 0;
                for (int x = 0; x < D; x++) delta += dor[x] * orow[x];
                for (int j = 0; j < c.sk; j++) {
                    if (p[j] == 0) continue;
                    double dp = 0;
                    for (int x = 0; x < D; x++) dp += dor[x] * (double)V(b, j, hk)[x];
                    dp *= z[j];  // the gradient reaching P through the dropout
                    const double ds = p[j] * (dp - delta);
                    for (int x = 0; x < D; x++) {
                        dq[(((size_t)b * c.sq + i) * c.hq + h) * D + x] += scale * ds * K(b, j, hk)[x];
                        dk[(((size_t)b * c.sk + j) * c.hkv + hk) * D + x] += scale * ds * Q(b, i, h)[x];
                        dv[(((size_t)b * c.sk + j) * c.hkv + hk) * D + x] += p[j] * z[j] * dor[x];
                    }
                }
            }
        }

    // Device-side buffers.
    auto tobf = [](const std::vector<float>& x) {
        std::vector<bf16> y(x.size());
        for (size_t i = 0; i < x.size(); i++) y[i] = __float2bfloat16_rn(x[i]);
        return y;
    };
    auto toTO = [](const std::vector<float>& x) {
        std::vector<TO> y(x.size());
        for (size_t i = 0; i < x.size(); i++) y[i] = from_f32<TO>(x[i]);
        return y;
    };
    auto back = [](const std::vector<TO>& x) {
        std::vector<float> y(x.size());
        for (size_t i = 0; i < x.size(); i++) y[i] = to_f32(x[i]);
        return y;
    };
    std::vector<bf16> gq = tobf(q), gk = c.fused ? gq : tobf(k), gv = c.fused ? gq : tobf(v);
    const bf16* pq = gq.data();
    const bf16* pk = (c.fused ? gq.data() : gk.data()) + koff;
    const bf16* pv = (c.fused ? gq.data() : gv.data()) + voff;
    std::vector<TO> gO(nO, from_f32<TO>(NAN)), gdO = toTO(dO), gdQ(nO, from_f32<TO>(NAN)), gdK(nK, from_f32<TO>(NAN)),
        gdV(nK, from_f32<TO>(NAN));
    std::vector<float> glse(lse.size(), NAN), delta(lse.size(), NAN), dqacc(nO, NAN);
    const int* kvl = c.kvlen.empty() ? nullptr : c.kvlen.data();
    const unsigned char* km = mask.empty() ? nullptr : mask.data();
    const bool f32 = sizeof(TO) == 4;
    const float sc = (float)scale;

    typedef void (*Fwd)(TO*, float*, const bf16*, const bf16*, const bf16*, const int*, const unsigned char*, int, int,
                        int, int, int, long long, long long, long long, long long, long long, long long, long long,
                        long long, long long, float, int, unsigned long long, unsigned long long, float);
    typedef void (*Bwd)(TO*, TO*, float*, const bf16*, const bf16*, const bf16*, const TO*, const float*, const float*,
                        const int*, const unsigned char*, int, int, int, int, int, long long, long long, long long,
                        long long, long long, long long, long long, long long, long long, float, int, unsigned long long,
                        unsigned long long, float);
    Fwd fwd;
    Bwd bwd;
    void (*pre)(float*, float*, const TO*, const TO*, int, int, int, int);
    void (*post)(TO*, const float*, long long, float);
    if constexpr (sizeof(TO) == 4) {
        fwd = D == 64 ? ragr_attn_fwd_d64_bf16f32 : ragr_attn_fwd_d128_bf16f32;
        bwd = D == 64 ? ragr_attn_bwd_d64_bf16f32 : ragr_attn_bwd_d128_bf16f32;
        pre = ragr_attn_bwd_pre_f32;
        post = ragr_attn_bwd_post_f32;
    } else {
        fwd = D == 64 ? ragr_attn_fwd_d64_bf16 : ragr_attn_fwd_d128_bf16;
        bwd = D == 64 ? ragr_attn_bwd_d64_bf16 : ragr_attn_bwd_d128_bf16;
        pre = ragr_attn_bwd_pre_bf16;
        post = ragr_attn_bwd_post_bf16;
    }
    emu::launch(dim3{(unsigned)((c.sq + 63) / 64), (unsigned)c.hq, (unsigned)c.b}, 128, [&] {
        fwd(gO.data(), glse.data(), pq, pk, pv, kvl, km, c.b, c.hq, c.hkv, c.sq, c.sk, qs[0], qs[1], qs[2], ks[0],
            ks[1], ks[2], vs[0], vs[1], vs[2], sc, c.causal, dkey, dthr, dkeep);
    });
    const long long rows = (long long)c.b * c.sq * c.hq;
    emu::launch(dim3{(unsigned)((rows + 3) / 4), 1, 1}, 128,
                [&] { pre(delta.data(), dqacc.data(), gO.data(), gdO.data(), c.b, c.sq, c.hq, D); });
    emu::launch(dim3{(unsigned)((c.sk + 63) / 64), (unsigned)c.hkv, (unsigned)c.b}, 128, [&] {
        bwd(gdK.data(), gdV.data(), dqacc.data(), pq, pk, pv, gdO.data(), glse.data(), delta.data(), kvl, km, c.b,
            c.hq, c.hkv, c.sq, c.sk, qs[0], qs[1], qs[2], ks[0], ks[1], ks[2], vs[0], vs[1], vs[2], sc, c.causal, dkey, dthr, dkeep);
    });
    emu::launch(dim3{4, 1, 1}, 256, [&] { post(gdQ.data(), dqacc.data(), (long long)nO, sc); });

    bool ok = true;
    std::string msg;
    auto chk = [&](const char* name, const std::vector<float>& g, const std::vector<double>& w) {
        bool fin;
        double e = relL2(g, w, fin);
        char buf[96];
        std::snprintf(buf, sizeof buf, " %s=%.2e%s", name, e, fin ? "" : "(NaN!)");
        msg += buf;
        // O at the bf16-operand level (2^-8); dQ, dK, dV twice that (their
        // path rounds to bf16 twice: P, then dS), as kernels/cuda's tests
        if (!fin || e > (name[0] == 'd' ? 2.0 : 1.0) / 256) ok = false;
    };
    // O and lse of a forward: O at the bf16-operand level, lse within 1e-5
    // relative, a query with no visible key O = 0 and lse = +inf.
    auto chkFwd = [&](const char* oname, const std::vector<TO>& gOut, const std::vector<float>& gl) {
        std::vector<float> fo = back(gOut);
        chk(oname, fo, o);
        double lerr = 0;
        for (size_t i = 0; i < lse.size(); i++) {
            if (std::isinf(lse[i])) {
                if (!(std::isinf(gl[i]) && gl[i] > 0)) ok = false, msg += " lse-inf-mismatch";
                const size_t b = i / (c.hq * c.sq), r = i % (c.hq * c.sq), h = r / c.sq, qi = r % c.sq;
                for (int x = 0; x < D; x++)
                    if (fo[((b * c.sq + qi) * c.hq + h) * D + x] != 0) ok = false;
                continue;
            }
            lerr = std::max(lerr, std::fabs(gl[i] - lse[i]) / (1 + std::fabs(lse[i])));
        }
        if (!(lerr <= 1e-5)) ok = false;
        char buf[64];
        std::snprintf(buf, sizeof buf, " lse=%.1e", lerr);
        msg += buf;
    };
    chkFwd("O", gO, glse);
    chk("dQ", back(gdQ), dq);
    chk("dK", back(gdK), dk);
    chk("dV", back(gdV), dv);

    // The sm_90a forward on the same inputs.
    std::vector<TO> gO9(nO, from_f32<TO>(NAN));
    std::vector<float> glse9(lse.size(), NAN);
    Fwd fwd9;
    if constexpr (sizeof(TO) == 4)
        fwd9 = D == 64 ? ragr_attn90_fwd_d64_bf16f32 : ragr_attn90_fwd_d128_bf16f32;
    else
        fwd9 = D == 64 ? ragr_attn90_fwd_d64_bf16 : ragr_attn90_fwd_d128_bf16;
    emu::block_start_hook = emu::reset_sm90;
    emu::launch(
        dim3{(unsigned)((c.sq + 127) / 128), (unsigned)c.hq, (unsigned)c.b}, A9_FWD_THREADS,
        [&] {
            fwd9(gO9.data(), glse9.data(), pq, pk, pv, kvl, km, c.b, c.hq, c.hkv, c.sq, c.sk, qs[0], qs[1], qs[2],
                 ks[0], ks[1], ks[2], vs[0], vs[1], vs[2], sc, c.causal, dkey, dthr, dkeep);
        },
        D == 64 ? A9<64>::SMEM : A9<128>::SMEM);
    chkFwd("O90", gO9, glse9);

    // The sm_90a backward (D = 64) with the same pre and post kernels.
    if (D == 64) {
        std::vector<TO> gdQ9(nO, from_f32<TO>(NAN)), gdK9(nK, from_f32<TO>(NAN)), gdV9(nK, from_f32<TO>(NAN));
        std::vector<float> delta9(lse.size(), NAN), dqacc9(nO, NAN);
        Bwd bwd9;
        if constexpr (sizeof(TO) == 4)
            bwd9 = ragr_attn90_bwd_d64_bf16f32;
        else
            bwd9 = ragr_attn90_bwd_d64_bf16;
        emu::launch(dim3{(unsigned)((rows + 3) / 4), 1, 1}, 128,
                    [&] { pre(delta9.data(), dqacc9.data(), gO9.data(), gdO.data(), c.b, c.sq, c.hq, D); });
        emu::launch(
            dim3{(unsigned)((c.sk + 63) / 64), (unsigned)c.hkv, (unsigned)c.b}, 128,
            [&] {
                bwd9(gdK9.data(), gdV9.data(), dqacc9.data(), pq, pk, pv, gdO.data(), glse9.data(), delta9.data(), kvl,
                     km, c.b, c.hq, c.hkv, c.sq, c.sk, qs[0], qs[1], qs[2], ks[0], ks[1], ks[2], vs[0], vs[1], vs[2], sc,
                     c.causal, dkey, dthr, dkeep);
            },
            A9_BWD_SMEM);
        emu::launch(dim3{4, 1, 1}, 256, [&] { post(gdQ9.data(), dqacc9.data(), (long long)nO, sc); });
        chk("dQ90", back(gdQ9), dq);
        chk("dK90", back(gdK9), dk);
        chk("dV90", back(gdV9), dv);
    }
    emu::block_start_hook = nullptr;
    std::printf("b=%d hq=%d hkv=%d sq=%d sk=%d d=%d causal=%d len=%d mask=%.1f %s fused=%d:%s %s\n", c.b, c.hq, c.hkv,
                c.sq, c.sk, D, c.causal, !c.kvlen.empty(), c.maskFrac, f32 ? "f32" : "bf16", c.fused, msg.c_str(),
                ok ? "ok" : "FAIL");
    if (!ok) failures++;
}

int main() {
    if (const char* e = std::getenv("RAGR_EMU_SEED")) rng.seed(std::strtoull(e, nullptr, 10));
    std::vector<Case> cs = {
        {1, 1, 1, 1, 1, 64, false, {}, 0, true, false},
        {2, 4, 2, 17, 33, 64, false, {33, 5}, 0, true, false},
        {2, 2, 1, 100, 100, 128, true, {100, 77}, 0.2, true, false},
        {2, 3, 3, 130, 65, 64, false, {0, 65}, 0.3, false, false},
        {1, 6, 2, 129, 129, 128, true, {}, 0, false, false},
        {2, 2, 2, 70, 70, 64, true, {}, 0, false, true},
        {1, 2, 2, 64, 200, 128, false, {}, 0.5, true, false},
        // attention-probability dropout (the CPU's mask), with GQA, masks,
        // causal, odd lengths (element pairs straddling rows), fused QKV
        {2, 4, 2, 33, 71, 64, false, {71, 40}, 0.2, true, false, 0.1},
        {1, 2, 2, 70, 70, 64, true, {}, 0, false, true, 0.3},
        {1, 2, 1, 65, 97, 128, true, {}, 0.1, true, false, 0.25},
    };
    for (auto& c : cs) {
        if (c.outF32)
            run<float>(c);
        else
            run<bf16>(c);
    }
    std::printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
