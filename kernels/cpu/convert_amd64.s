//go:build amd64 && !purego

#include "textflag.h"

// Conversions between float32 and bfloat16 / IEEE half (see convert.go).
// The AVX-512 kernels handle any n with masked tails; the AVX2 kernels take
// n a multiple of 8 (the Go caller converts the rest).

DATA convBF16Round<>+0(SB)/4, $0x00007fff
GLOBL convBF16Round<>(SB), RODATA|NOPTR, $4
DATA convOne<>+0(SB)/4, $0x00000001
GLOBL convOne<>(SB), RODATA|NOPTR, $4
DATA convAbsMask<>+0(SB)/4, $0x7fffffff
GLOBL convAbsMask<>(SB), RODATA|NOPTR, $4
DATA convInf<>+0(SB)/4, $0x7f800000
GLOBL convInf<>(SB), RODATA|NOPTR, $4
DATA convQuiet<>+0(SB)/4, $0x00000040
GLOBL convQuiet<>(SB), RODATA|NOPTR, $4

// CONV_TAIL_MASK sets K1 to the low CX bits (CX in 1..15); clobbers BX.
#define CONV_TAIL_MASK \
	MOVL $1, BX \
	SHLL CX, BX \
	DECL BX \
	KMOVW BX, K1

// func convF16ToF32AVX512(dst *float32, src *uint16, n int)
TEXT ·convF16ToF32AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
	MOVQ CX, DX
	ANDQ $-16, DX
h2sLoop:
	CMPQ AX, DX
	JGE h2sTail
	VCVTPH2PS (SI)(AX*2), Z0
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ $16, AX
	JMP h2sLoop
h2sTail:
	SUBQ AX, CX
	JLE h2sDone
	CONV_TAIL_MASK
	VMOVDQU16.Z (SI)(AX*2), K1, Y0
	VCVTPH2PS Y0, Z0
	VMOVUPS Z0, K1, (DI)(AX*4)
h2sDone:
	VZEROUPPER
	RET

// func convF32ToF16AVX512(dst *uint16, src *float32, n int)
TEXT ·convF32ToF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
	MOVQ CX, DX
	ANDQ $-16, DX
s2hLoop:
	CMPQ AX, DX
	JGE s2hTail
	VMOVUPS (SI)(AX*4), Z0
	VCVTPS2PH $0, Z0, Y1 // round to nearest even
	VMOVDQU Y1, (DI)(AX*2)
	ADDQ $16, AX
	JMP s2hLoop
s2hTail:
	SUBQ AX, CX
	JLE s2hDone
	CONV_TAIL_MASK
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	VCVTPS2PH $0, Z0, Y1
	VMOVDQU16 Y1, K1, (DI)(AX*2)
s2hDone:
	VZEROUPPER
	RET

// func convBF16ToF32AVX512(dst *float32, src *uint16, n int)
TEXT ·convBF16ToF32AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
	MOVQ CX, DX
	ANDQ $-16, DX
b2sLoop:
	CMPQ AX, DX
	JGE b2sTail
	VPMOVZXWD (SI)(AX*2), Z0
	VPSLLD $16, Z0, Z0
	VMOVDQU32 Z0, (DI)(AX*4)
	ADDQ $16, AX
	JMP b2sLoop
b2sTail:
	SUBQ AX, CX
	JLE b2sDone
	CONV_TAIL_MASK
	VMOVDQU16.Z (SI)(AX*2), K1, Y0
	VPMOVZXWD Y0, Z0
	VPSLLD $16, Z0, Z0
	VMOVDQU32 Z0, K1, (DI)(AX*4)
b2sDone:
	VZEROUPPER
	RET

// CONV_S2B_512 rounds the float32 bits in Z0 to bfloat16 bits in the low
// halves of Z3 (ties to even; NaN made quiet). Z10-Z14 hold the constants.
#define CONV_S2B_512 \
	VPSRLD $16, Z0, Z1 \
	VPANDD Z11, Z1, Z2 \
	VPADDD Z10, Z0, Z3 \
	VPADDD Z2, Z3, Z3 \
	VPSRLD $16, Z3, Z3 \
	VPANDD Z12, Z0, Z4 \
	VPCMPGTD Z13, Z4, K2 \
	VPORD Z14, Z1, K2, Z3

// func convF32ToBF16AVX512(dst *uint16, src *float32, n int)
TEXT ·convF32ToBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VPBROADCASTD convBF16Round<>(SB), Z10
	VPBROADCASTD convOne<>(SB), Z11
	VPBROADCASTD convAbsMask<>(SB), Z12
	VPBROADCASTD convInf<>(SB), Z13
	VPBROADCASTD convQuiet<>(SB), Z14
	XORQ AX, AX
	MOVQ CX, DX
	ANDQ $-16, DX
s2bLoop:
	CMPQ AX, DX
	JGE s2bTail
	VMOVDQU32 (SI)(AX*4), Z0
	CONV_S2B_512
	VPMOVDW Z3, (DI)(AX*2)
	ADDQ $16, AX
	JMP s2bLoop
s2bTail:
	SUBQ AX, CX
	JLE s2bDone
	CONV_TAIL_MASK
	VMOVDQU32.Z (SI)(AX*4), K1, Z0
	CONV_S2B_512
	VPMOVDW Z3, K1, (DI)(AX*2)
s2bDone:
	VZEROUPPER
	RET

// func convF16ToF32AVX2(dst *float32, src *uint16, n int)
TEXT ·convF16ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
h2sLoop2:
	CMPQ AX, CX
	JGE h2sDone2
	VCVTPH2PS (SI)(AX*2), Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP h2sLoop2
h2sDone2:
	VZEROUPPER
	RET

// func convF32ToF16AVX2(dst *uint16, src *float32, n int)
TEXT ·convF32ToF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
s2hLoop2:
	CMPQ AX, CX
	JGE s2hDone2
	VMOVUPS (SI)(AX*4), Y0
	VCVTPS2PH $0, Y0, X1
	VMOVDQU X1, (DI)(AX*2)
	ADDQ $8, AX
	JMP s2hLoop2
s2hDone2:
	VZEROUPPER
	RET

// func convBF16ToF32AVX2(dst *float32, src *uint16, n int)
TEXT ·convBF16ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
b2sLoop2:
	CMPQ AX, CX
	JGE b2sDone2
	VPMOVZXWD (SI)(AX*2), Y0
	VPSLLD $16, Y0, Y0
	VMOVDQU Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP b2sLoop2
b2sDone2:
	VZEROUPPER
	RET

// func convF32ToBF16AVX2(dst *uint16, src *float32, n int)
TEXT ·convF32ToBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VPBROADCASTD convBF16Round<>(SB), Y10
	VPBROADCASTD convOne<>(SB), Y11
	VPBROADCASTD convAbsMask<>(SB), Y12
	VPBROADCASTD convInf<>(SB), Y13
	VPBROADCASTD convQuiet<>(SB), Y14
	XORQ AX, AX
s2bLoop2:
	CMPQ AX, CX
	JGE s2bDone2
	VMOVDQU (SI)(AX*4), Y0
	VPSRLD $16, Y0, Y1
	VPAND Y11, Y1, Y2
	VPADDD Y10, Y0, Y3
	VPADDD Y2, Y3, Y3
	VPSRLD $16, Y3, Y3
	VPAND Y12, Y0, Y4
	VPCMPGTD Y13, Y4, Y5
	VPOR Y14, Y1, Y6
	VPBLENDVB Y5, Y6, Y3, Y3
	VEXTRACTI128 $1, Y3, X4
	VPACKUSDW X4, X3, X3
	VMOVDQU X3, (DI)(AX*2)
	ADDQ $8, AX
	JMP s2bLoop2
s2bDone2:
	VZEROUPPER
	RET
