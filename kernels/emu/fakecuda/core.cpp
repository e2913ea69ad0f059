// The core kernel families compiled for the host emulator and registered
// by name for the fake driver (driver.cpp). Built with -ffp-contract=off
// (as kernels/emu/run_core.sh) so the emulated float arithmetic matches
// the unfused device code the tests expect.
#include "../../adamw.cu"
#include "../../copy.cu"
#include "../../dropout.cu"
#include "../../elementwise.cu"
#include "../../embedding.cu"
#include "../../gradnorm.cu"
#include "../../norm.cu"
#include "../../reduce.cu"
#include "../../rope.cu"
#include "../../softmax.cu"
#include "../../xent.cu"
#include "registry.h"
void fake_register_core() {
#include "reg_core.inc"
}
