// The GEMM and attention kernels for the host emulator (emu_sm90.h: the
// mma.sync ones, and the sm_90a ones with TMA, mbarriers and wgmma),
// registered by name for the fake driver (driver.cpp); the sm_90a ones are
// used when it plays a compute 9.0 device (FAKECUDA_CC=90), each block
// starting with fresh mbarriers and wgmma state.
#include "emu_sm90.h"

#include "../../gemm.cu"
#include "../../gemm90.cu"
#include "../../attention.cu"
#include "../../attention90.cu"
#include "registry.h"

void fake_register_gemm() {
#include "reg_gemm.inc"
}

void fake_register_attn() {
#include "reg_attn.inc"
}

template <typename... A>
static void reg90(const char* name, void (*f)(A...)) {
    fake_registry()[name] = [f](dim3 g, unsigned t, size_t shm, void** p) {
        emu::block_start_hook = emu::reset_sm90;
        fake_invoke(f, g, t, shm, p, std::index_sequence_for<A...>{});
        emu::block_start_hook = nullptr;
    };
}

void fake_register_sm90() {
#include "reg_sm90.inc"
}
