// Code written by hand: AdamW over whole vectors (see adamw.go); the
// per-element arithmetic is adamwGeneric's, operation for operation, with
// no fused multiply-adds, so the results are bit-identical to it. The
// gradient is multiplied by k[8] (1 when not scaling: exact).

//go:build amd64 && !purego

#include "textflag.h"

// func adamwAVX512(param, grad, m, v *float32, n int, k *[9]float32, small bool)
TEXT ·adamwAVX512(SB), NOSPLIT, $0-49
	MOVQ param+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	MOVBLZX small+48(FP), DX
	VBROADCASTSS 0(AX), Z16 // decay
	VBROADCASTSS 4(AX), Z17 // w1
	VBROADCASTSS 8(AX), Z18 // 1-w1
	VBROADCASTSS 12(AX), Z19 // beta2
	VBROADCASTSS 16(AX), Z20 // c2
	VBROADCASTSS 20(AX), Z21 // bc2sqrt
	VBROADCASTSS 24(AX), Z22 // negStep
	VBROADCASTSS 28(AX), Z23 // eps
	VBROADCASTSS 32(AX), Z24 // gscale
	XORQ BX, BX
	TESTQ DX, DX
	JZ large512_loop
small512_loop:
	LEAQ 16(BX), R10
	CMPQ R10, CX
	JGT done512
	VMOVUPS (SI)(BX*4), Z0 // g
	VMULPS Z24, Z0, Z0 // g*gscale
	VMOVUPS (R8)(BX*4), Z1 // m
	VSUBPS Z1, Z0, Z2 // g-m
	VMULPS Z17, Z2, Z2
	VADDPS Z2, Z1, Z1 // m + w1*(g-m)
	VMOVUPS Z1, (R8)(BX*4)
	VMOVUPS (R9)(BX*4), Z3 // v
	VMULPS Z19, Z3, Z3
	VMULPS Z20, Z0, Z4
	VMULPS Z0, Z4, Z4 // (c2*g)*g
	VADDPS Z4, Z3, Z3
	VMOVUPS Z3, (R9)(BX*4)
	VSQRTPS Z3, Z5
	VDIVPS Z21, Z5, Z5
	VADDPS Z23, Z5, Z5 // denom
	VMOVUPS (DI)(BX*4), Z6 // param
	VMULPS Z16, Z6, Z6
	VMULPS Z22, Z1, Z7
	VDIVPS Z5, Z7, Z7
	VADDPS Z7, Z6, Z6
	VMOVUPS Z6, (DI)(BX*4)
	MOVQ R10, BX
	JMP small512_loop
large512_loop:
	LEAQ 16(BX), R10
	CMPQ R10, CX
	JGT done512
	VMOVUPS (SI)(BX*4), Z0 // g
	VMULPS Z24, Z0, Z0 // g*gscale
	VMOVUPS (R8)(BX*4), Z1 // m
	VSUBPS Z1, Z0, Z2 // g-m
	VMULPS Z18, Z2, Z2
	VSUBPS Z2, Z0, Z1 // g - (g-m)*(1-w1)
	VMOVUPS Z1, (R8)(BX*4)
	VMOVUPS (R9)(BX*4), Z3 // v
	VMULPS Z19, Z3, Z3
	VMULPS Z20, Z0, Z4
	VMULPS Z0, Z4, Z4 // (c2*g)*g
	VADDPS Z4, Z3, Z3
	VMOVUPS Z3, (R9)(BX*4)
	VSQRTPS Z3, Z5
	VDIVPS Z21, Z5, Z5
	VADDPS Z23, Z5, Z5 // denom
	VMOVUPS (DI)(BX*4), Z6 // param
	VMULPS Z16, Z6, Z6
	VMULPS Z22, Z1, Z7
	VDIVPS Z5, Z7, Z7
	VADDPS Z7, Z6, Z6
	VMOVUPS Z6, (DI)(BX*4)
	MOVQ R10, BX
	JMP large512_loop
done512:
	VZEROUPPER
	RET

// func adamwAVX2(param, grad, m, v *float32, n int, k *[9]float32, small bool)
TEXT ·adamwAVX2(SB), NOSPLIT, $0-49
	MOVQ param+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	MOVBLZX small+48(FP), DX
	VBROADCASTSS 0(AX), Y8 // decay
	VBROADCASTSS 4(AX), Y9 // w1
	VBROADCASTSS 8(AX), Y10 // 1-w1
	VBROADCASTSS 12(AX), Y11 // beta2
	VBROADCASTSS 16(AX), Y12 // c2
	VBROADCASTSS 20(AX), Y13 // bc2sqrt
	VBROADCASTSS 24(AX), Y14 // negStep
	VBROADCASTSS 28(AX), Y15 // eps
	XORQ BX, BX
	TESTQ DX, DX
	JZ large256_loop
small256_loop:
	LEAQ 8(BX), R10
	CMPQ R10, CX
	JGT done256
	VMOVUPS (SI)(BX*4), Y0 // g
	VBROADCASTSS 32(AX), Y7
	VMULPS Y7, Y0, Y0 // g*gscale
	VMOVUPS (R8)(BX*4), Y1 // m
	VSUBPS Y1, Y0, Y2 // g-m
	VMULPS Y9, Y2, Y2
	VADDPS Y2, Y1, Y1 // m + w1*(g-m)
	VMOVUPS Y1, (R8)(BX*4)
	VMOVUPS (R9)(BX*4), Y3 // v
	VMULPS Y11, Y3, Y3
	VMULPS Y12, Y0, Y4
	VMULPS Y0, Y4, Y4 // (c2*g)*g
	VADDPS Y4, Y3, Y3
	VMOVUPS Y3, (R9)(BX*4)
	VSQRTPS Y3, Y5
	VDIVPS Y13, Y5, Y5
	VADDPS Y15, Y5, Y5 // denom
	VMOVUPS (DI)(BX*4), Y6 // param
	VMULPS Y8, Y6, Y6
	VMULPS Y14, Y1, Y7
	VDIVPS Y5, Y7, Y7
	VADDPS Y7, Y6, Y6
	VMOVUPS Y6, (DI)(BX*4)
	MOVQ R10, BX
	JMP small256_loop
large256_loop:
	LEAQ 8(BX), R10
	CMPQ R10, CX
	JGT done256
	VMOVUPS (SI)(BX*4), Y0 // g
	VBROADCASTSS 32(AX), Y7
	VMULPS Y7, Y0, Y0 // g*gscale
	VMOVUPS (R8)(BX*4), Y1 // m
	VSUBPS Y1, Y0, Y2 // g-m
	VMULPS Y10, Y2, Y2
	VSUBPS Y2, Y0, Y1 // g - (g-m)*(1-w1)
	VMOVUPS Y1, (R8)(BX*4)
	VMOVUPS (R9)(BX*4), Y3 // v
	VMULPS Y11, Y3, Y3
	VMULPS Y12, Y0, Y4
	VMULPS Y0, Y4, Y4 // (c2*g)*g
	VADDPS Y4, Y3, Y3
	VMOVUPS Y3, (R9)(BX*4)
	VSQRTPS Y3, Y5
	VDIVPS Y13, Y5, Y5
	VADDPS Y15, Y5, Y5 // denom
	VMOVUPS (DI)(BX*4), Y6 // param
	VMULPS Y8, Y6, Y6
	VMULPS Y14, Y1, Y7
	VDIVPS Y5, Y7, Y7
	VADDPS Y7, Y6, Y6
	VMOVUPS Y6, (DI)(BX*4)
	MOVQ R10, BX
	JMP large256_loop
done256:
	VZEROUPPER
	RET
