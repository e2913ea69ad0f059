//go:build ignore

// gemm_gen.go writes the SGEMM micro-kernels (gemm_kernels_amd64.s) and their
// Go declarations (gemm_kernels_amd64.go). Run it with `go generate` in
// kernels/cpu after changing a kernel shape or the unrolling.
//
// Every kernel computes one register tile of C:
//
//	C[i][j] = alpha*sum_p a[p*MR+i]*b[p*NR+j] + beta*C[i][j]   (i < mr, j < NR)
//
// with C not read when beta == 0. a is a packed A micro-panel (MR floats per
// k step, rows beyond mr are ignored), b a packed B micro-panel (NR floats
// per k step). One TEXT symbol is generated per row count mr = 1..MR so that
// edge tiles in M cost no wasted FMAs. The AVX-512 kernels take a column mask
// (16 bits per vector) for edge tiles in N; the AVX2 kernels always write NR
// columns (the driver routes N-edge tiles through a scratch tile).
//
// It also writes the transposing pack routines gemmTransPack512 (16×16
// in-register transposes) and gemmTransPack256 (8×8), which pack a row-major
// matrix into k-major micro-panels.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
	"strconv"
)

// Kernel shapes; keep in sync with the constants in gemm.go.
const (
	mr512, nv512 = 14, 2 // 14 rows x 32 columns: 28 zmm accumulators
	mr256, nv256 = 6, 2  // 6 rows x 16 columns: 12 ymm accumulators
	unroll       = 4     // k steps per loop iteration
)

// Software prefetch distances in bytes ahead in the packed A and B panels
// (0 for none), issued in the unrolled k loop: B streams from L2 when the
// macro-kernel keeps the A micro-panel in L1. GEMM_PFA / GEMM_PFB override
// them for experiments.
var pfA, pfB = envInt("GEMM_PFA", 0), envInt("GEMM_PFB", 1024)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

type gen struct {
	b bytes.Buffer
}

func (g *gen) p(format string, args ...any) { fmt.Fprintf(&g.b, format+"\n", args...) }

// kernel emits one micro-kernel for a tile of mr (of MR) rows and nv vectors.
func (g *gen) kernel(name string, mr, MR, nv int, wide bool) {
	reg, lanes := "Y", 8
	if wide {
		reg, lanes = "Z", 16
	}
	nr := nv * lanes
	nregs := 16
	if wide {
		nregs = 32
	}
	acc := func(i, v int) string { return fmt.Sprintf("%s%d", reg, i*nv+v) }
	// B vectors and broadcast registers sit at the top of the file.
	nb := nv
	bReg := func(v int) string { return fmt.Sprintf("%s%d", reg, nregs-2-nb+v) }
	bc := func(i int) string { return fmt.Sprintf("%s%d", reg, nregs-2+i%2) }
	if mr*nv+nv+2 > nregs {
		log.Fatalf("%s: %d accumulators + %d B + 2 broadcast registers exceed %d", name, mr*nv, nv, nregs)
	}
	astep, bstep := MR*4, nr*4

	g.p("// func %s(k int, a, b, c *float32, ldc int, alpha, beta float32, mask uint64)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
	g.p("\tMOVQ k+0(FP), CX")
	g.p("\tMOVQ a+8(FP), SI")
	g.p("\tMOVQ b+16(FP), DX")
	g.p("\tMOVQ c+24(FP), DI")
	g.p("\tMOVQ ldc+32(FP), R8")
	g.p("\tSHLQ $2, R8")
	// Prefetch the C tile while the k loop runs.
	g.p("\tMOVQ DI, R9")
	for i := 0; i < mr; i++ {
		for off := 0; off < nr*4; off += 64 {
			g.p("\tPREFETCHT0 %d(R9)", off)
		}
		g.p("\tPREFETCHT0 %d(R9)", nr*4-4)
		if i < mr-1 {
			g.p("\tADDQ R8, R9")
		}
	}
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			if wide {
				g.p("\tVPXORD %s, %s, %s", acc(i, v), acc(i, v), acc(i, v))
			} else {
				g.p("\tVXORPS %s, %s, %s", acc(i, v), acc(i, v), acc(i, v))
			}
		}
	}
	step := func(u int, prefetch bool) {
		if prefetch && pfB > 0 {
			for off := 0; off < bstep; off += 64 {
				g.p("\tPREFETCHT0 %d(DX)", pfB+u*bstep+off)
			}
		}
		if prefetch && pfA > 0 {
			g.p("\tPREFETCHT0 %d(SI)", pfA+u*64)
		}
		for v := 0; v < nv; v++ {
			g.p("\tVMOVUPS %d(DX), %s", u*bstep+v*lanes*4, bReg(v))
		}
		for i := 0; i < mr; i++ {
			g.p("\tVBROADCASTSS %d(SI), %s", u*astep+i*4, bc(i))
			for v := 0; v < nv; v++ {
				g.p("\tVFMADD231PS %s, %s, %s", bReg(v), bc(i), acc(i, v))
			}
		}
	}
	g.p("\tCMPQ CX, $%d", unroll)
	g.p("\tJLT %s_tail", name)
	g.p("%s_loop:", name)
	for u := 0; u < unroll; u++ {
		step(u, true)
	}
	g.p("\tADDQ $%d, SI", unroll*astep)
	g.p("\tADDQ $%d, DX", unroll*bstep)
	g.p("\tSUBQ $%d, CX", unroll)
	g.p("\tCMPQ CX, $%d", unroll)
	g.p("\tJGE %s_loop", name)
	g.p("%s_tail:", name)
	g.p("\tTESTQ CX, CX")
	g.p("\tJEQ %s_store", name)
	g.p("%s_tail1:", name)
	step(0, false)
	g.p("\tADDQ $%d, SI", astep)
	g.p("\tADDQ $%d, DX", bstep)
	g.p("\tDECQ CX")
	g.p("\tJNE %s_tail1", name)

	g.p("%s_store:", name)
	// C = alpha*acc + beta*C: scale by alpha unless it is 1, then either
	// fold in beta*C with one fused load-FMA per vector or, for beta == 0,
	// store without reading C.
	alpha, beta := bReg(0), bReg(1)
	if wide {
		g.p("\tMOVQ mask+48(FP), AX")
		for v := 0; v < nv; v++ {
			g.p("\tKMOVW AX, K%d", v+1)
			if v < nv-1 {
				g.p("\tSHRQ $16, AX")
			}
		}
	}
	g.p("\tMOVL alpha+40(FP), AX")
	g.p("\tCMPL AX, $0x3f800000")
	g.p("\tJEQ %s_alpha1", name)
	g.p("\tVBROADCASTSS alpha+40(FP), %s", alpha)
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			g.p("\tVMULPS %s, %s, %s", alpha, acc(i, v), acc(i, v))
		}
	}
	g.p("%s_alpha1:", name)
	store := func(i, v int) string {
		if wide {
			return fmt.Sprintf("\tVMOVUPS %s, K%d, %d(DI)", acc(i, v), v+1, v*lanes*4)
		}
		return fmt.Sprintf("\tVMOVUPS %s, %d(DI)", acc(i, v), v*lanes*4)
	}
	g.p("\tMOVL beta+44(FP), AX")
	g.p("\tANDL $0x7fffffff, AX")
	g.p("\tJEQ %s_beta0", name)
	g.p("\tVBROADCASTSS beta+44(FP), %s", beta)
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			if wide {
				// Masked-off lanes are not loaded (and not stored).
				g.p("\tVFMADD231PS.Z %d(DI), %s, K%d, %s", v*lanes*4, beta, v+1, acc(i, v))
			} else {
				g.p("\tVFMADD231PS %d(DI), %s, %s", v*lanes*4, beta, acc(i, v))
			}
			g.p(store(i, v))
		}
		if i < mr-1 {
			g.p("\tADDQ R8, DI")
		}
	}
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("%s_beta0:", name)
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			g.p(store(i, v))
		}
		if i < mr-1 {
			g.p("\tADDQ R8, DI")
		}
	}
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}

// transPack512 emits gemmTransPack512: a 16×16 in-register transpose per
// block of 16 k steps (4 shuffle stages, 64 shuffles per 256 floats).
//
//	dst[p*dstStride+i] = src[offs[i]/4+p]  (lanes with rowMask bit i, else 0),
//	stored for the lanes in storeMask, p < kc.
func (g *gen) transPack512() {
	name := "gemmTransPack512"
	g.p("// func %s(dst *float32, dstStride int, src *float32, offs *[16]int, kc int, rowMask, storeMask uint32)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-48", name)
	g.p("\tMOVQ dst+0(FP), DI")
	g.p("\tMOVQ dstStride+8(FP), R8")
	g.p("\tSHLQ $2, R8")
	g.p("\tLEAQ (R8)(R8*2), R9")  // 3·stride
	g.p("\tLEAQ (R8)(R8*4), R10") // 5·stride
	g.p("\tLEAQ (R9)(R8*4), R11") // 7·stride
	g.p("\tMOVQ src+16(FP), SI")
	g.p("\tMOVQ offs+24(FP), BX")
	g.p("\tMOVQ kc+32(FP), CX")
	g.p("\tMOVL rowMask+40(FP), AX")
	g.p("\tKMOVW AX, K2")
	g.p("\tMOVL storeMask+44(FP), AX")
	g.p("\tKMOVW AX, K3")
	g.p("\tMOVL $0xffff, AX")
	g.p("\tKMOVW AX, K1")
	g.p("\tCMPQ CX, $16")
	g.p("\tJLT %s_tail", name)
	g.p("%s_loop:", name)
	g.transBlock512(name, false)
	g.p("\tADDQ $64, SI")
	g.p("\tSUBQ $16, CX")
	g.p("\tCMPQ CX, $16")
	g.p("\tJGE %s_loop", name)
	g.p("%s_tail:", name)
	g.p("\tTESTQ CX, CX")
	g.p("\tJEQ %s_done", name)
	g.p("\tMOVL $1, AX")
	g.p("\tSHLL CX, AX")
	g.p("\tDECL AX")
	g.p("\tKMOVW AX, K1")
	g.transBlock512(name, true)
	g.p("%s_done:", name)
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}

// rowAddr returns the address of row j (j < 8) of a block at base with row
// stride s1 = 1·stride, s3 = 3·stride, s5, s7 in registers.
func rowAddr(off int, base string, j int) string {
	switch j {
	case 0:
		return fmt.Sprintf("%d(%s)", off, base)
	case 1:
		return fmt.Sprintf("%d(%s)(R8*1)", off, base)
	case 2:
		return fmt.Sprintf("%d(%s)(R8*2)", off, base)
	case 3:
		return fmt.Sprintf("%d(%s)(R9*1)", off, base)
	case 4:
		return fmt.Sprintf("%d(%s)(R8*4)", off, base)
	case 5:
		return fmt.Sprintf("%d(%s)(R10*1)", off, base)
	case 6:
		return fmt.Sprintf("%d(%s)(R9*2)", off, base)
	case 7:
		return fmt.Sprintf("%d(%s)(R11*1)", off, base)
	}
	panic("rowAddr")
}

// transBlock512 emits one 16-column block of gemmTransPack512; in the tail
// (cond) only the first CX outputs are stored. DI advances past the block.
func (g *gen) transBlock512(name string, cond bool) {
	z := func(i int) string { return fmt.Sprintf("Z%d", i) }
	for i := 0; i < 16; i++ {
		g.p("\tMOVQ %d(BX), R13", 8*i)
		g.p("\tVMOVUPS.Z (SI)(R13*1), K1, %s", z(i))
	}
	for k := 0; k < 8; k++ {
		g.p("\tVUNPCKLPS %s, %s, %s", z(2*k+1), z(2*k), z(16+2*k))
		g.p("\tVUNPCKHPS %s, %s, %s", z(2*k+1), z(2*k), z(16+2*k+1))
	}
	for q := 0; q < 4; q++ {
		t := 16 + 4*q
		g.p("\tVUNPCKLPD %s, %s, %s", z(t+2), z(t), z(4*q))
		g.p("\tVUNPCKHPD %s, %s, %s", z(t+2), z(t), z(4*q+1))
		g.p("\tVUNPCKLPD %s, %s, %s", z(t+3), z(t+1), z(4*q+2))
		g.p("\tVUNPCKHPD %s, %s, %s", z(t+3), z(t+1), z(4*q+3))
	}
	g.p("\tLEAQ (DI)(R8*8), DX")
	for c := 0; c < 4; c++ {
		g.p("\tVSHUFF32X4 $0x44, %s, %s, Z16", z(4+c), z(c))
		g.p("\tVSHUFF32X4 $0xee, %s, %s, Z17", z(4+c), z(c))
		g.p("\tVSHUFF32X4 $0x44, %s, %s, Z18", z(12+c), z(8+c))
		g.p("\tVSHUFF32X4 $0xee, %s, %s, Z19", z(12+c), z(8+c))
		outs := []struct {
			j         int
			imm, a, b string
		}{{c, "0x88", "Z18", "Z16"}, {4 + c, "0xdd", "Z18", "Z16"}, {8 + c, "0x88", "Z19", "Z17"}, {12 + c, "0xdd", "Z19", "Z17"}}
		for n, o := range outs {
			r := z(20 + n)
			g.p("\tVSHUFF32X4 $%s, %s, %s, %s", o.imm, o.a, o.b, r)
			g.p("\tVMOVAPS.Z %s, K2, %s", r, r)
			base := "DI"
			if o.j >= 8 {
				base = "DX"
			}
			if cond {
				g.p("\tCMPQ CX, $%d", o.j)
				g.p("\tJLE %s_skip%d", name, o.j)
			}
			g.p("\tVMOVUPS %s, K3, %s", r, rowAddr(0, base, o.j%8))
			if cond {
				g.p("%s_skip%d:", name, o.j)
			}
		}
	}
	g.p("\tLEAQ (DX)(R8*8), DI")
}

// transPack256 emits gemmTransPack256, the AVX2 twin of gemmTransPack512 for
// up to 8 rows: an 8×8 transpose per block of 8 k steps (24 shuffles per 64
// floats). masks points at four 8-lane masks: rows, stores, and a table of
// 8 ones then 8 zeros for the column tail.
func (g *gen) transPack256() {
	name := "gemmTransPack256"
	g.p("// func %s(dst *float32, dstStride int, src *float32, offs *[8]int, kc int, masks *[32]int32)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-48", name)
	g.p("\tMOVQ dst+0(FP), DI")
	g.p("\tMOVQ dstStride+8(FP), R8")
	g.p("\tSHLQ $2, R8")
	g.p("\tLEAQ (R8)(R8*2), R9")
	g.p("\tLEAQ (R8)(R8*4), R10")
	g.p("\tLEAQ (R9)(R8*4), R11")
	g.p("\tMOVQ src+16(FP), SI")
	g.p("\tMOVQ offs+24(FP), BX")
	g.p("\tMOVQ kc+32(FP), CX")
	g.p("\tMOVQ masks+40(FP), AX")
	g.p("\tCMPQ CX, $8")
	g.p("\tJLT %s_tail", name)
	g.p("%s_loop:", name)
	g.transBlock256(name, false)
	g.p("\tADDQ $32, SI")
	g.p("\tSUBQ $8, CX")
	g.p("\tCMPQ CX, $8")
	g.p("\tJGE %s_loop", name)
	g.p("%s_tail:", name)
	g.p("\tTESTQ CX, CX")
	g.p("\tJEQ %s_done", name)
	g.transBlock256(name, true)
	g.p("%s_done:", name)
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}

// transBlock256 emits one 8-column block of gemmTransPack256.
func (g *gen) transBlock256(name string, cond bool) {
	y := func(i int) string { return fmt.Sprintf("Y%d", i) }
	if cond {
		// Column mask: 8-CX ones-then-zeros table entries from offset 64.
		g.p("\tMOVQ $8, DX")
		g.p("\tSUBQ CX, DX")
		g.p("\tVMOVDQU 64(AX)(DX*4), Y15")
	}
	for i := 0; i < 8; i++ {
		g.p("\tMOVQ %d(BX), R13", 8*i)
		if cond {
			g.p("\tVMASKMOVPS (SI)(R13*1), Y15, %s", y(i))
		} else {
			g.p("\tVMOVUPS (SI)(R13*1), %s", y(i))
		}
	}
	for k := 0; k < 4; k++ {
		g.p("\tVUNPCKLPS %s, %s, %s", y(2*k+1), y(2*k), y(8+2*k))
		g.p("\tVUNPCKHPS %s, %s, %s", y(2*k+1), y(2*k), y(8+2*k+1))
	}
	for q := 0; q < 2; q++ {
		t := 8 + 4*q
		g.p("\tVUNPCKLPD %s, %s, %s", y(t+2), y(t), y(4*q))
		g.p("\tVUNPCKHPD %s, %s, %s", y(t+2), y(t), y(4*q+1))
		g.p("\tVUNPCKLPD %s, %s, %s", y(t+3), y(t+1), y(4*q+2))
		g.p("\tVUNPCKHPD %s, %s, %s", y(t+3), y(t+1), y(4*q+3))
	}
	for c := 0; c < 4; c++ {
		g.p("\tVPERM2F128 $0x20, %s, %s, %s", y(4+c), y(c), y(8+c))
		g.p("\tVPERM2F128 $0x31, %s, %s, %s", y(4+c), y(c), y(12+c))
	}
	g.p("\tVMOVDQU 0(AX), Y0")  // row mask
	g.p("\tVMOVDQU 32(AX), Y1") // store mask
	for j := 0; j < 8; j++ {
		r := y(8 + j)
		g.p("\tVANDPS Y0, %s, %s", r, r)
		if cond {
			g.p("\tCMPQ CX, $%d", j)
			g.p("\tJLE %s_skip%d", name, j)
		}
		g.p("\tVMASKMOVPS %s, Y1, %s", r, rowAddr(0, "DI", j))
		if cond {
			g.p("%s_skip%d:", name, j)
		}
	}
	g.p("\tLEAQ (DI)(R8*8), DI")
}

func main() {
	var s gen
	s.p("// Code generated by gemm_gen.go; DO NOT EDIT.")
	s.p("")
	s.p("//go:build amd64 && !purego")
	s.p("")
	s.p("#include \"textflag.h\"")
	s.p("")
	var d gen
	d.p("// Code generated by gemm_gen.go; DO NOT EDIT.")
	d.p("")
	d.p("//go:build amd64 && !purego")
	d.p("")
	d.p("package cpu")
	d.p("")
	emit := func(prefix, table string, MR, nv int, wide bool, tier string) {
		d.p("// %s[mr-1] is the %s micro-kernel for a tile of mr rows.", table, tier)
		d.p("var %s = [%d]sgemmKernelFunc{", table, MR)
		for mr := 1; mr <= MR; mr++ {
			name := fmt.Sprintf("%s%d", prefix, mr)
			s.kernel(name, mr, MR, nv, wide)
			d.p("%s,", name)
		}
		d.p("}")
		d.p("")
		for mr := 1; mr <= MR; mr++ {
			name := fmt.Sprintf("%s%d", prefix, mr)
			d.p("// %s is the %s micro-kernel for %d rows (see gemm_gen.go).", name, tier, mr)
			d.p("//")
			d.p("//go:noescape")
			d.p("func %s(k int, a, b, c *float32, ldc int, alpha, beta float32, mask uint64)", name)
			d.p("")
		}
	}
	emit("sgemmKernelAVX512x", "sgemmKernelsAVX512", mr512, nv512, true, "AVX-512")
	emit("sgemmKernelAVX2x", "sgemmKernelsAVX2", mr256, nv256, false, "AVX2")
	s.transPack512()
	s.transPack256()
	d.p("// gemmTransPack512 transposes up to 16 rows of src (row i at byte offset")
	d.p("// offs[i]) into a packed panel: dst[p*dstStride+i] = row i's element p for")
	d.p("// p < kc, 0 in lanes outside rowMask, written in the lanes of storeMask.")
	d.p("// AVX-512.")
	d.p("//")
	d.p("//go:noescape")
	d.p("func gemmTransPack512(dst *float32, dstStride int, src *float32, offs *[16]int, kc int, rowMask, storeMask uint32)")
	d.p("")
	d.p("// gemmTransPack256 is the AVX2 gemmTransPack512 for up to 8 rows; masks")
	d.p("// holds the row mask (lanes 0-7), the store mask (8-15) and the column-tail")
	d.p("// table of 8 ones then 8 zeros (16-31), all lanes 0 or -1.")
	d.p("//")
	d.p("//go:noescape")
	d.p("func gemmTransPack256(dst *float32, dstStride int, src *float32, offs *[8]int, kc int, masks *[32]int32)")
	if err := os.WriteFile("gemm_kernels_amd64.s", s.b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	src, err := format.Source(d.b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("gemm_kernels_amd64.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}
