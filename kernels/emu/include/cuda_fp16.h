// Host stand-in for cuda_fp16.h in the kernel emulator (kernels/emu), using
// GCC's _Float16 (IEEE binary16, round to nearest even).
#pragma once
#include <cstdint>
#include <cstring>

struct __half {
    uint16_t x;
};
struct __half2 {
    __half x, y;
};

inline __half __float2half_rn(float f) {
    _Float16 h = (_Float16)f;
    __half r;
    std::memcpy(&r.x, &h, 2);
    return r;
}
inline float __half2float(__half h) {
    _Float16 f;
    std::memcpy(&f, &h.x, 2);
    return (float)f;
}
inline __half2 __floats2half2_rn(float a, float b) { return {__float2half_rn(a), __float2half_rn(b)}; }
