// The mma.sync GEMM and attention kernels for the host emulator,
// registered by name for the fake driver (driver.cpp).
#include "../../gemm.cu"
#include "../../attention.cu"
#include "registry.h"
void fake_register_gemm() {
#include "reg_gemm.inc"
}
void fake_register_attn() {
#include "reg_attn.inc"
}
