// emu_sm90.h — the host emulator's version of kernels/sm90.cuh (mbarriers,
// TMA tile loads with the 128-byte swizzle, wgmma from shared-memory
// descriptors), included after emu.h by kernels/emu/check_gemm90.cpp.
//
// Models, and what they catch:
// - shared addresses are offsets from the block's 1024-byte-aligned window
//   (emu::smem_window), so swizzles and descriptor fields see the same bits
//   as on a device; every TMA write and wgmma read is bounds-checked.
// - mbarriers follow the PTX phase rules (arrival count, transaction bytes,
//   try_wait.parity returns once the phase of that parity has completed); a
//   wait that lasts 20 s reports a deadlock and aborts (on a GPU the kernel
//   would hang).
// - TMA copies at issue (out-of-range elements as zeros) and completes its
//   bytes on the barrier at once.
// - wgmma is deferred: each thread records its operations and computes its
//   own accumulator elements (layout in sm90.cuh) only when wgmma.wait_group
//   retires them, reading shared memory then — so a buffer overwritten
//   before the wait gives wrong results here too. A operands from registers
//   are taken at issue (as the PTX ISA allows the hardware to) from the four
//   threads of the quad, per the mma.m16n8k16 A-fragment layout. Descriptors are decoded
//   field by field per the layouts in sm90.cuh's header; only the 128-byte
//   swizzle is modelled (any other layout type aborts).
// It cannot check the real hardware's reading of a descriptor: that this
// model is the hardware's is what the first GPU run of TestGemm90 decides.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <array>
#include <map>
#include <mutex>

namespace emu {

struct MBar {
    int count = 0, pending = 0;
    long long tx = 0;
    unsigned phase = 0;
};
inline std::mutex mbar_mu;
inline std::condition_variable mbar_cv;
inline std::map<const void*, MBar> mbars;

inline void reset_mbars() {
    std::lock_guard<std::mutex> l(mbar_mu);
    mbars.clear();
}
inline void reset_sm90();  // reset_mbars and the register-sourced wgmma table

// The host-side tensor map: what cuTensorMapEncodeTiled is given (rank 3,
// 128-byte swizzle, zero fill), stored in the 128 bytes of a TmaDesc.
struct Tmap {
    const uint8_t* base;
    uint64_t dims[3];
    uint64_t strides[2];  // bytes, dims 1 and 2
    uint32_t box[3];
    uint32_t esize;
};

inline size_t check_smem(uint32_t off, size_t bytes, const char* what) {
    if (off + bytes > smem_limit) {
        std::fprintf(stderr, "emu: %s at shared offset %u (+%zu) beyond the block's %zu bytes\n", what, off, bytes,
                     smem_limit);
        std::abort();
    }
    return off;
}

inline uint32_t swz128(uint32_t a) { return a ^ (((a >> 7) & 7) << 4); }

}  // namespace emu

namespace ragr_mma {
inline uint32_t smem_u32(const void* p) {
    const uint8_t* q = (const uint8_t*)p;
    if (q < emu::smem_window || q >= emu::smem_window + emu::smem_limit) {
        std::fprintf(stderr, "emu: smem_u32 of %p outside the block's shared memory\n", p);
        std::abort();
    }
    return (uint32_t)(q - emu::smem_window);
}
}  // namespace ragr_mma

#include "../sm90.cuh"

namespace ragr_sm90 {

inline emu::MBar& mbar_locked(const void* bar) {
    auto it = emu::mbars.find(bar);
    if (it == emu::mbars.end()) {
        std::fprintf(stderr, "emu: mbarrier %p used before mbarrier.init\n", bar);
        std::abort();
    }
    return it->second;
}

inline void mbar_complete_locked(emu::MBar& b) {
    if (b.pending == 0 && b.tx == 0) {
        b.phase++;
        b.pending = b.count;
        emu::mbar_cv.notify_all();
    }
}

inline void mbar_init(uint64_t* bar, int count) {
    smem_u32(bar);
    std::lock_guard<std::mutex> l(emu::mbar_mu);
    emu::MBar b;
    b.count = b.pending = count;
    emu::mbars[bar] = b;
}

inline void mbar_fence_init() {}

inline void mbar_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
    std::lock_guard<std::mutex> l(emu::mbar_mu);
    auto& b = mbar_locked(bar);
    b.tx += bytes;
    if (--b.pending < 0) {
        std::fprintf(stderr, "emu: mbarrier %p: more arrivals than its count %d\n", (void*)bar, b.count);
        std::abort();
    }
    mbar_complete_locked(b);
}

inline void mbar_arrive(uint64_t* bar) { mbar_arrive_expect_tx(bar, 0); }

inline void mbar_wait(uint64_t* bar, int parity) {
    std::unique_lock<std::mutex> l(emu::mbar_mu);
    auto& b = mbar_locked(bar);
    if (!emu::mbar_cv.wait_for(l, std::chrono::seconds(20), [&] { return (int)(b.phase & 1) != parity; })) {
        std::fprintf(stderr,
                     "emu: deadlock: thread %u of block (%u,%u,%u) waited 20 s on mbarrier %p (parity %d, phase %u, "
                     "%d arrivals and %lld bytes outstanding)\n",
                     threadIdx.x, blockIdx.x, blockIdx.y, blockIdx.z, (void*)bar, parity, b.phase, b.pending, b.tx);
        std::abort();
    }
}

inline void tma_load_3d(void* dst, const TmaDesc* map, int c0, int c1, int c2, uint64_t* bar) {
    emu::Tmap m;
    std::memcpy(&m, map, sizeof m);
    const uint32_t d = smem_u32(dst);
    if (d % 128 != 0) {
        std::fprintf(stderr, "emu: TMA destination offset %u is not 128-byte aligned\n", d);
        std::abort();
    }
    if (m.box[0] * m.esize != 128 || m.box[2] != 1) {
        std::fprintf(stderr, "emu: TMA box {%u,%u,%u} is not a 128-byte-row box\n", m.box[0], m.box[1], m.box[2]);
        std::abort();
    }
    const size_t bytes = (size_t)m.box[0] * m.box[1] * m.esize;
    emu::check_smem(d, bytes, "TMA destination");
    for (uint32_t o = 0; o < m.box[1]; o++)
        for (uint32_t i = 0; i < m.box[0]; i++) {
            const long long x = (long long)c0 + i, y = (long long)c1 + o, z = c2;
            uint8_t* to = emu::smem_window + emu::swz128(d + o * 128 + i * m.esize);
            if (x < 0 || y < 0 || z < 0 || (uint64_t)x >= m.dims[0] || (uint64_t)y >= m.dims[1] ||
                (uint64_t)z >= m.dims[2]) {
                std::memset(to, 0, m.esize);
                continue;
            }
            std::memcpy(to, m.base + z * m.strides[1] + y * m.strides[0] + x * m.esize, m.esize);
        }
    std::lock_guard<std::mutex> l(emu::mbar_mu);
    auto& b = mbar_locked(bar);
    b.tx -= (long long)bytes;
    mbar_complete_locked(b);
}

template <int N>
inline void setmaxnreg_inc() {}
template <int N>
inline void setmaxnreg_dec() {}

struct WgOp {
    float* d;
    int n;  // N of m64nNk16
    uint64_t da, db;
    int ma, nb;
    bool bf;
    long rs = -1;  // A from registers: this thread's sequence number of such ops (emu::rs_regs key)
};
inline thread_local std::vector<WgOp> wg_open;
inline thread_local std::deque<std::vector<WgOp>> wg_groups;

// One operand element: (mn, k) of a 128-byte-swizzled operand.
inline float wg_load(uint64_t desc, int mn, int k, bool mn_major, bool bf) {
    if ((desc >> 62) != 1 || ((desc >> 49) & 7) != 0) {
        std::fprintf(stderr, "emu: wgmma descriptor %016llx: only the 128-byte swizzle with base offset 0 is modelled\n",
                     (unsigned long long)desc);
        std::abort();
    }
    const uint32_t start = (uint32_t)(desc & 0x3FFF) << 4, lbo = (uint32_t)((desc >> 16) & 0x3FFF) << 4,
                   sbo = (uint32_t)((desc >> 32) & 0x3FFF) << 4;
    uint32_t a;
    if (!mn_major)
        a = start + 128 * (mn % 8) + sbo * (mn / 8) + 2 * k;
    else
        a = start + 2 * (mn % 64) + lbo * (mn / 64) + 128 * (k % 8) + sbo * (k / 8);
    const uint32_t p = (uint32_t)emu::check_smem(emu::swz128(a), 2, "wgmma operand");
    return ragr_mma::half_to_f(ragr_mma::ld16(emu::smem_window + p, 0), bf);
}

// The A registers each thread gave its register-sourced wgmma, by (thread,
// sequence number): a thread's rows need the registers of the four threads
// of its quad (same lane/4).
inline std::mutex rs_mu;
inline std::map<std::pair<int, long>, std::array<uint32_t, 4>> rs_regs;
inline thread_local long rs_seq;

inline void wg_run(const WgOp& op) {
    const int tid = threadIdx.x % 128, w = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
    // A from registers: rows g and g+8 of the warp's 16, k = 2t'..2t'+1 (regs
    // 0/1) and 2t'+8..2t'+9 (regs 2/3) from quad member t'
    float A[2][16];
    if (op.rs >= 0) {
        std::lock_guard<std::mutex> l(rs_mu);
        for (int tp = 0; tp < 4; tp++) {
            const int src = (threadIdx.x & ~31) + 4 * g + tp;
            auto it = rs_regs.find({src, op.rs});
            if (it == rs_regs.end()) {
                std::fprintf(stderr, "emu: wgmma A registers of thread %d (op %ld) missing\n", src, op.rs);
                std::abort();
            }
            const auto& r = it->second;
            for (int h = 0; h < 2; h++) {
                A[0][2 * tp + h] = ragr_mma::half_to_f((uint16_t)(h ? r[0] >> 16 : r[0] & 0xffff), op.bf);
                A[1][2 * tp + h] = ragr_mma::half_to_f((uint16_t)(h ? r[1] >> 16 : r[1] & 0xffff), op.bf);
                A[0][2 * tp + 8 + h] = ragr_mma::half_to_f((uint16_t)(h ? r[2] >> 16 : r[2] & 0xffff), op.bf);
                A[1][2 * tp + 8 + h] = ragr_mma::half_to_f((uint16_t)(h ? r[3] >> 16 : r[3] & 0xffff), op.bf);
            }
        }
    }
    for (int j = 0; j < op.n / 8; j++)
        for (int i = 0; i < 4; i++) {
            const int row = 16 * w + g + 8 * (i / 2), col = 8 * j + 2 * t + i % 2;
            float acc = op.d[4 * j + i];
            for (int k = 0; k < 16; k++) {
                const float a = op.rs >= 0 ? A[i / 2][k] : wg_load(op.da, row, k, op.ma, op.bf);
                acc += a * wg_load(op.db, col, k, op.nb, op.bf);
            }
            op.d[4 * j + i] = acc;
        }
}

template <int R>
inline void fence_acc(float (&)[R]) {}

template <int R>
inline void wgmma_fence(float (&)[R]) {}

inline void wgmma_commit() {
    wg_groups.push_back(std::move(wg_open));
    wg_open.clear();
}

template <int N, int R>
inline void wgmma_wait(float (&)[R]) {
    if (!wg_open.empty()) {
        std::fprintf(stderr, "emu: wgmma.wait_group with uncommitted wgmma operations\n");
        std::abort();
    }
    // wgmma.wait_group is warp-collective: every thread of the warp has
    // issued (and published its A registers) before any computes
    emu::warp().bar.arrive_and_wait();
    while (wg_groups.size() > (size_t)N) {
        for (auto& op : wg_groups.front()) wg_run(op);
        wg_groups.pop_front();
    }
}

template <int MA, int NB, typename T, int R>
inline void wgmma_record(float (&d)[R], uint64_t da, uint64_t db) {
    wg_open.push_back(WgOp{d, 2 * R, da, db, MA, NB, std::is_same_v<T, __nv_bfloat16>});
}

inline void fence_proxy_async() {}

template <int MA, int NB>
inline void wgmma_n64(float (&d)[32], uint64_t da, uint64_t db, __nv_bfloat16*) {
    wgmma_record<MA, NB, __nv_bfloat16>(d, da, db);
}

template <int NB, int R>
inline void wgmma_rs(float (&d)[R], const uint32_t (&a)[4], uint64_t db) {
    const long seq = rs_seq++;
    {
        std::lock_guard<std::mutex> l(rs_mu);
        rs_regs[{(int)threadIdx.x, seq}] = {a[0], a[1], a[2], a[3]};
    }
    WgOp op{d, 2 * R, 0, db, 0, NB, true};
    op.rs = seq;
    wg_open.push_back(op);
}
template <int NB>
inline void wgmma_rs_n64(float (&d)[32], const uint32_t (&a)[4], uint64_t db, __nv_bfloat16*) {
    wgmma_rs<NB>(d, a, db);
}
template <int NB>
inline void wgmma_rs_n128(float (&d)[64], const uint32_t (&a)[4], uint64_t db, __nv_bfloat16*) {
    wgmma_rs<NB>(d, a, db);
}

template <int MA, int NB>
inline void wgmma_n128(float (&d)[64], uint64_t da, uint64_t db, __nv_bfloat16*) {
    wgmma_record<MA, NB, __nv_bfloat16>(d, da, db);
}
template <int MA, int NB>
inline void wgmma_n128(float (&d)[64], uint64_t da, uint64_t db, __half*) {
    wgmma_record<MA, NB, __half>(d, da, db);
}
template <int MA, int NB>
inline void wgmma_n256(float (&d)[128], uint64_t da, uint64_t db, __nv_bfloat16*) {
    wgmma_record<MA, NB, __nv_bfloat16>(d, da, db);
}
template <int MA, int NB>
inline void wgmma_n256(float (&d)[128], uint64_t da, uint64_t db, __half*) {
    wgmma_record<MA, NB, __half>(d, da, db);
}

}  // namespace ragr_sm90

inline void emu::reset_sm90() {
    reset_mbars();
    std::lock_guard<std::mutex> l(ragr_sm90::rs_mu);
    ragr_sm90::rs_regs.clear();
}
