// core_emu.h — what the core kernel families (every kernels/*.cu except
// gemm.cu and attention.cu) need from CUDA beyond emu.h: 64-bit and double
// shuffles, atomicMin, the explicitly rounded arithmetic intrinsics, __umulhi,
// rsqrtf and the int32 conversions (with CUDA's saturation, NaN -> 0).
// Force-included after emu.h by run_core.sh; compile with -ffp-contract=off
// so the host, like the _rn intrinsics, rounds every operation.
#pragma once
#include <math.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>
#include <cmath>
#include <cstdint>
#include <cstring>

inline long long __shfl_xor_sync(unsigned, long long v, int m) {
    auto& s = emu::next_slot();
    std::memcpy(s.a[emu::lane()], &v, 8);
    emu::warp().bar.arrive_and_wait();
    long long r;
    std::memcpy(&r, s.a[emu::lane() ^ m], 8);
    return r;
}
inline double __shfl_xor_sync(unsigned, double v, int m) {
    auto& s = emu::next_slot();
    std::memcpy(s.a[emu::lane()], &v, 8);
    emu::warp().bar.arrive_and_wait();
    double r;
    std::memcpy(&r, s.a[emu::lane() ^ m], 8);
    return r;
}
inline int atomicMin(int* p, int v) {
    std::atomic_ref<int> a(*p);
    int old = a.load();
    while (v < old && !a.compare_exchange_weak(old, v)) {
    }
    return old;
}
struct alignas(8) uint2 {
    uint32_t x, y;
};
inline uint32_t __umulhi(uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a * b) >> 32); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline float rsqrtf(float a) { return 1.f / sqrtf(a); }
inline float __int2float_rn(int a) { return (float)a; }
inline int __float2int_rz(float a) {
    if (a != a) return 0;
    if (a >= 2147483648.f) return 2147483647;
    if (a < -2147483648.f) return -2147483647 - 1;
    return (int)a;
}
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
