//go:build amd64 && !purego

#include "textflag.h"

// Copy-packing for the SGEMM micro-panels (packA with transA, packB without
// transB; see gemm.go): row p of the source holds, side by side, step
// floats for each of npan panels. The routines walk the source row by row
// (sequential reads that the hardware prefetchers follow) and scatter each
// row's pieces to the panels:
//
//	dst[q*panelStride + p*step + j] = src[p*ld + q*step + j]
//
// for p < kc, q < npan, j < step, except that the last panel only loads the
// lanes of its (shorter) mask and stores zeros in the others. Masked-off
// lanes are neither read nor written. The transposing packs are generated
// (gemm_gen.go).

// func gemmCopyPackRows512(dst *float32, panelStride, step int, src *float32, ld, kc, npan int, fullMask, lastMask uint32)
// step <= 32; fullMask = the step lanes (also the store mask), lastMask =
// the lanes the last panel loads.
TEXT ·gemmCopyPackRows512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ panelStride+8(FP), R8
	SHLQ $2, R8
	MOVQ step+16(FP), R9
	SHLQ $2, R9
	MOVQ src+24(FP), SI
	MOVQ ld+32(FP), R10
	SHLQ $2, R10
	MOVQ kc+40(FP), CX
	MOVQ npan+48(FP), R11
	DECQ R11                     // full panels before the last
	MOVL fullMask+56(FP), AX
	KMOVW AX, K1
	KMOVW AX, K5
	SHRL $16, AX
	KMOVW AX, K2
	KMOVW AX, K6
	MOVL lastMask+60(FP), AX
	KMOVW AX, K3
	SHRL $16, AX
	KMOVW AX, K4
	TESTQ CX, CX
	JLE  rows512_done

rows512_row:
	MOVQ SI, R12                 // source piece
	MOVQ DI, R13                 // destination row in panel q
	MOVQ R11, DX
	TESTQ DX, DX
	JEQ  rows512_last

rows512_panel:
	VMOVUPS.Z (R12), K1, Z0
	VMOVUPS.Z 64(R12), K2, Z1
	VMOVUPS Z0, K5, (R13)
	VMOVUPS Z1, K6, 64(R13)
	ADDQ R9, R12
	ADDQ R8, R13
	DECQ DX
	JNE  rows512_panel

rows512_last:
	VMOVUPS.Z (R12), K3, Z0
	VMOVUPS.Z 64(R12), K4, Z1
	VMOVUPS Z0, K5, (R13)
	VMOVUPS Z1, K6, 64(R13)
	ADDQ R10, SI
	ADDQ R9, DI
	DECQ CX
	JNE  rows512_row

rows512_done:
	VZEROUPPER
	RET

// func gemmCopyPackRows256(dst *float32, panelStride, step int, src *float32, ld, kc, npan int, masks *[48]int32)
// The AVX2 gemmCopyPackRows512 for step <= 16. masks holds six 8-lane masks
// (each lane 0 or -1): full-panel loads (low, high half), last-panel loads
// (low, high) and stores (low, high).
TEXT ·gemmCopyPackRows256(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ panelStride+8(FP), R8
	SHLQ $2, R8
	MOVQ step+16(FP), R9
	SHLQ $2, R9
	MOVQ src+24(FP), SI
	MOVQ ld+32(FP), R10
	SHLQ $2, R10
	MOVQ kc+40(FP), CX
	MOVQ npan+48(FP), R11
	DECQ R11
	MOVQ masks+56(FP), AX
	VMOVDQU (AX), Y10
	VMOVDQU 32(AX), Y11
	VMOVDQU 64(AX), Y12
	VMOVDQU 96(AX), Y13
	VMOVDQU 128(AX), Y14
	VMOVDQU 160(AX), Y15
	TESTQ CX, CX
	JLE  rows256_done

rows256_row:
	MOVQ SI, R12
	MOVQ DI, R13
	MOVQ R11, DX
	TESTQ DX, DX
	JEQ  rows256_last

rows256_panel:
	VMASKMOVPS (R12), Y10, Y0
	VMASKMOVPS 32(R12), Y11, Y1
	VMASKMOVPS Y0, Y14, (R13)
	VMASKMOVPS Y1, Y15, 32(R13)
	ADDQ R9, R12
	ADDQ R8, R13
	DECQ DX
	JNE  rows256_panel

rows256_last:
	VMASKMOVPS (R12), Y12, Y0
	VMASKMOVPS 32(R12), Y13, Y1
	VMASKMOVPS Y0, Y14, (R13)
	VMASKMOVPS Y1, Y15, 32(R13)
	ADDQ R10, SI
	ADDQ R9, DI
	DECQ CX
	JNE  rows256_row

rows256_done:
	VZEROUPPER
	RET
