//go:build ignore

// math_asmgen writes the AVX2 and AVX-512 kernels of the math, activation,
// elementwise and softmax files of package cpu, their Go declarations, the
// fallbacks for builds without assembly, and the polynomial constants shared
// by the assembly and the plain-Go twins (math_consts.go).
//
// Run it from kernels/cpu with `go generate` (see math.go) or
// `go run math_asmgen.go`. It writes:
//
//	math_consts.go
//	{math,act,elementwise,softmax}_amd64.s
//	{math,act,elementwise,softmax}_amd64.go
//	{math,act,elementwise,softmax}_other.go
//
// Every kernel is one loop template (an optionally unrolled vector loop, a
// one-vector loop and a masked tail, so no kernel touches memory outside its
// slices) around a body written once below for both instruction sets: the
// body uses a small three-address vocabulary (add, fma, cmp, sel, ...) that
// this program lowers to AVX2 (Y registers, constants as 32-byte memory
// operands, vector masks) or AVX-512 (Z registers, constants broadcast into
// Z16-Z31 or embedded broadcasts, K masks).
//
// The polynomial coefficients were fitted by a Remez exchange (minimax
// relative error) in float64 and rounded to float32; the error figures in
// math.go are measured, on the rounded coefficients, by math_test.go.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ---------------------------------------------------------------------------
// Constants.

type constDef struct {
	bits uint32
	goF  bool // also emitted as a float32 Go constant
	doc  string
}

var (
	consts     = map[string]constDef{}
	constNames []string
)

func defF(name string, v float64, doc string) {
	if _, dup := consts[name]; dup {
		log.Fatalf("constant %s defined twice", name)
	}
	consts[name] = constDef{bits: math.Float32bits(float32(v)), goF: true, doc: doc}
	constNames = append(constNames, name)
}

func defBits(name string, b uint32) {
	consts[name] = constDef{bits: b}
	constNames = append(constNames, name)
}

func defineConsts() {
	defF("mathOne", 1, "")
	defF("mathTwo", 2, "")
	defF("mathHalf", 0.5, "")
	defBits("mathAbsMask", 0x7fffffff)
	defBits("mathSignMask", 0x80000000)
	defBits("mathNegInf", 0xff800000)
	defBits("mathInt127", 127)

	// exp(x) = 2^n * p(r), n = round(x*log2(e)), r = x - n*ln2 (Cody-Waite,
	// ln2 = ln2Hi + ln2Lo with ln2Hi exact in 9 bits so n*ln2Hi is exact),
	// p(r) = 1 + r*(1 + r*q(r)), q of degree 4 on [-ln2/2, ln2/2]
	// (minimax relative error of p: 3.3e-9).
	defF("mathExpHi", 89, "inputs above are clamped here (exp overflows to +Inf)")
	defF("mathExpLo", -110, "inputs below are clamped here (exp underflows to 0)")
	defF("mathLog2E", 1.4426950408889634, "")
	defF("mathLn2Hi", 0.693359375, "")
	defF("mathLn2Lo", -2.1219444005469058e-4, "")
	defF("mathExpQ0", 0.499999931, "")
	defF("mathExpQ1", 0.166665148, "")
	defF("mathExpQ2", 0.0416684568, "")
	defF("mathExpQ3", 0.00836941883, "")
	defF("mathExpQ4", 0.00138131446, "")

	// tanh(x) = x + x*u*P(u), u = x*x, for |x| < mathTanhT (minimax relative
	// error 4.4e-9); 1 - 2/(exp(2|x|)+1) with the sign of x above.
	defF("mathTanhT", 0.625, "")
	defF("mathTanhP0", -0.333332819, "")
	defF("mathTanhP1", 0.133314422, "")
	defF("mathTanhP2", -0.0537397151, "")
	defF("mathTanhP3", 0.0206390874, "")
	defF("mathTanhP4", -0.00570498713, "")

	// erf(x) = x*P(u), u = x*x, for |x| < mathErfA (minimax relative error
	// 1.4e-9); above, erf(x) = 1 - erfc(|x|) with the sign of x, where
	// erfc(z) = t*exp(-z*z + Q(t)), t = 2/(2+z), Q of degree 8 fitted on
	// z in [mathErfA, 10.5] (minimax absolute error of Q 1.1e-8, so relative
	// 1.1e-8 in erfc). z*z is carried as an exact hi+lo pair.
	defF("mathErfA", 0.75, "")
	defF("mathErfP0", 1.12837917, "")
	defF("mathErfP1", -0.376126188, "")
	defF("mathErfP2", 0.112833766, "")
	defF("mathErfP3", -0.0268346246, "")
	defF("mathErfP4", 0.00511434563, "")
	defF("mathErfP5", -0.00067495138, "")
	defF("mathErfcQ0", -1.26547832, "")
	defF("mathErfcQ1", 0.999188819, "")
	defF("mathErfcQ2", 0.383004325, "")
	defF("mathErfcQ3", 0.0418906269, "")
	defF("mathErfcQ4", 0.0300174911, "")
	defF("mathErfcQ5", -0.285440699, "")
	defF("mathErfcQ6", -0.166912887, "")
	defF("mathErfcQ7", 0.442024902, "")
	defF("mathErfcQ8", -0.178935507, "")
	defF("mathErfClamp", 10.5, "|x| is clamped here for erfc (erfc(10.5) underflows)")

	// GELU.
	defF("mathGeluClamp", 15, "GELU clamps x to [-15, 15] for its erfc part and its backward's x*phi(x) term")
	defF("mathSiluClamp", 110, "SiLU's backward clamps x to [-110, 110] in its x*s*(1-s) term")
	defF("mathInvSqrt2", 0.7071067811865476, "")
	defF("mathInvSqrt2Pi", 0.3989422804014327, "")
	defF("mathGeluK1", 1.5957691216057308, "2*sqrt(2/pi)")
	defF("mathGeluK2", 0.07135481627260025, "2*sqrt(2/pi)*0.044715")
	defF("mathGeluK3", 0.21406444881780076, "3*2*sqrt(2/pi)*0.044715")
}

// ---------------------------------------------------------------------------
// Operands and the code generator.

// opnd is a vector register ("Z3", "Y3"), a mask ("K1" or a Y register
// holding a vector mask) or a named constant.
type opnd struct {
	r string
	c string
}

func (o opnd) isC() bool { return o.c != "" }

func C(name string) opnd {
	if _, ok := consts[name]; !ok {
		log.Fatalf("unknown constant %s", name)
	}
	return opnd{c: name}
}

type gen struct {
	avx512 bool
	w      int
	buf    bytes.Buffer
	free   []string
	kfree  []string
	creg   map[string]string // constant -> register (AVX-512)
	used   map[string]bool   // constants referenced (file level)
	count  map[string]int    // constant usage in this function
	fn     string
}

func (g *gen) emit(format string, args ...any) {
	fmt.Fprintf(&g.buf, "\t"+format+"\n", args...)
}

func (g *gen) label(l string) { fmt.Fprintf(&g.buf, "%s:\n", l) }

func (g *gen) vr(i int) string {
	if g.avx512 {
		return "Z" + strconv.Itoa(i)
	}
	return "Y" + strconv.Itoa(i)
}

func xreg(r string) string { return "X" + r[1:] }
func yreg(r string) string { return "Y" + r[1:] }

func (g *gen) tmp() opnd {
	if len(g.free) == 0 {
		log.Fatalf("%s: out of vector registers", g.fn)
	}
	r := g.free[len(g.free)-1]
	g.free = g.free[:len(g.free)-1]
	return opnd{r: r}
}

func (g *gen) release(os ...opnd) {
	for _, o := range os {
		if o.isC() || o.r == "" {
			continue
		}
		if o.r[0] == 'K' {
			g.kfree = append(g.kfree, o.r)
			continue
		}
		for _, f := range g.free {
			if f == o.r {
				log.Fatalf("%s: register %s released twice", g.fn, o.r)
			}
		}
		g.free = append(g.free, o.r)
	}
}

func (g *gen) useC(name string) {
	g.used[name] = true
	g.count[name]++
}

// rm renders o for the r/m (first Go) operand of an instruction.
func (g *gen) rm(o opnd) (string, bool) {
	if !o.isC() {
		return o.r, false
	}
	g.useC(o.c)
	if g.avx512 {
		if r, ok := g.creg[o.c]; ok {
			return r, false
		}
		return o.c + "<>(SB)", true
	}
	return o.c + "<>(SB)", false
}

// reg renders o as a register, loading a constant into a temporary when
// needed; the returned func releases that temporary.
func (g *gen) reg(o opnd) (string, func()) {
	if !o.isC() {
		return o.r, func() {}
	}
	if g.avx512 {
		if r, ok := g.creg[o.c]; ok {
			g.useC(o.c)
			return r, func() {}
		}
	}
	t := g.tmp()
	g.mov(t, o)
	return t.r, func() { g.release(t) }
}

func (g *gen) mov(dst, src opnd) {
	if !src.isC() {
		if src.r != dst.r {
			g.emit("VMOVAPS %s, %s", src.r, dst.r)
		}
		return
	}
	g.useC(src.c)
	if g.avx512 {
		if r, ok := g.creg[src.c]; ok {
			g.emit("VMOVAPS %s, %s", r, dst.r)
			return
		}
		g.emit("VBROADCASTSS %s<>(SB), %s", src.c, dst.r)
		return
	}
	g.emit("VMOVUPS %s<>(SB), %s", src.c, dst.r)
}

// bin emits dst = a OP b (Intel operand order: OP dst, a, b).
func (g *gen) bin(mn string, dst, a, b opnd) {
	if a.isC() && !(g.avx512 && g.creg[a.c] != "") && dst.r != b.r {
		g.mov(dst, a)
		a = dst
	}
	ra, done := g.reg(a)
	rb, bc := g.rm(b)
	if bc {
		mn += ".BCST"
	}
	g.emit("%s %s, %s, %s", mn, rb, ra, dst.r)
	done()
}

func (g *gen) add(d, a, b opnd) { g.bin("VADDPS", d, a, b) }
func (g *gen) sub(d, a, b opnd) { g.bin("VSUBPS", d, a, b) }
func (g *gen) mul(d, a, b opnd) { g.bin("VMULPS", d, a, b) }
func (g *gen) div(d, a, b opnd) { g.bin("VDIVPS", d, a, b) }

// min and max follow the instructions: min(a, b) = a < b ? a : b, so b is
// returned when either is NaN.
func (g *gen) min(d, a, b opnd) { g.bin("VMINPS", d, a, b) }
func (g *gen) max(d, a, b opnd) { g.bin("VMAXPS", d, a, b) }
func (g *gen) and(d, a, b opnd) { g.bin("VANDPS", d, a, b) }
func (g *gen) or(d, a, b opnd)  { g.bin("VORPS", d, a, b) }
func (g *gen) xor(d, a, b opnd) { g.bin("VXORPS", d, a, b) }

// fmaOp emits dst = ±(a*b) ± c for mn in VFMADD (a*b+c), VFNMADD (-(a*b)+c),
// VFMSUB (a*b-c).
func (g *gen) fmaOp(mn string, dst, a, b, c opnd) {
	isReg := func(o opnd) bool { return !o.isC() || (g.avx512 && g.creg[o.c] != "") }
	switch {
	case !c.isC() && dst.r == c.r:
		// dst = a*b + dst: 231 form, b in r/m.
		if !isReg(a) && isReg(b) {
			a, b = b, a
		}
		ra, done := g.reg(a)
		rb, bc := g.rm(b)
		if bc {
			mn += "231PS.BCST"
		} else {
			mn += "231PS"
		}
		g.emit("%s %s, %s, %s", mn, rb, ra, dst.r)
		done()
		return
	case !b.isC() && dst.r == b.r:
		a, b = b, a
	}
	if a.isC() || dst.r != a.r {
		if !a.isC() && !b.isC() && dst.r == b.r {
			a, b = b, a
		} else {
			g.mov(dst, a)
		}
	}
	// dst == a now.
	if isReg(b) {
		// 213: dst = b*dst + c, c in r/m.
		rb, done := g.reg(b)
		rc, bc := g.rm(c)
		s := "213PS"
		if bc {
			s += ".BCST"
		}
		g.emit("%s%s %s, %s, %s", mn, s, rc, rb, dst.r)
		done()
		return
	}
	// 132: dst = dst*b + c, b in r/m, c a register.
	rc, done := g.reg(c)
	rb, bc := g.rm(b)
	s := "132PS"
	if bc {
		s += ".BCST"
	}
	g.emit("%s%s %s, %s, %s", mn, s, rb, rc, dst.r)
	done()
}

func (g *gen) fma(d, a, b, c opnd)  { g.fmaOp("VFMADD", d, a, b, c) }
func (g *gen) fnma(d, a, b, c opnd) { g.fmaOp("VFNMADD", d, a, b, c) }
func (g *gen) fms(d, a, b, c opnd)  { g.fmaOp("VFMSUB", d, a, b, c) }

// Comparison predicates (ordered or unordered, quiet).
const (
	cmpLT    = 0x11 // LT_OQ
	cmpGT    = 0x1e // GT_OQ
	cmpGE    = 0x1d // GE_OQ
	cmpUNORD = 0x03 // UNORD_Q
)

// cmp returns a mask of lanes where a PRED b.
func (g *gen) cmp(pred int, a, b opnd) opnd {
	var m opnd
	if g.avx512 {
		if len(g.kfree) == 0 {
			log.Fatalf("%s: out of mask registers", g.fn)
		}
		m = opnd{r: g.kfree[len(g.kfree)-1]}
		g.kfree = g.kfree[:len(g.kfree)-1]
	} else {
		m = g.tmp()
	}
	ra, done := g.reg(a)
	rb, bc := g.rm(b)
	mn := "VCMPPS"
	if bc {
		mn += ".BCST"
	}
	g.emit("%s $%#x, %s, %s, %s", mn, pred, rb, ra, m.r)
	done()
	return m
}

// sel sets dst = m ? t : f.
func (g *gen) sel(dst, m, t, f opnd) {
	if g.avx512 {
		rf, done := g.reg(f)
		rt, bc := g.rm(t)
		mn := "VBLENDMPS"
		if bc {
			mn += ".BCST"
		}
		g.emit("%s %s, %s, %s, %s", mn, rt, rf, m.r, dst.r)
		done()
		return
	}
	rf, done := g.reg(f)
	rt, _ := g.rm(t)
	g.emit("VBLENDVPS %s, %s, %s, %s", m.r, rt, rf, dst.r)
	done()
}

// round rounds to the nearest integer, ties to even.
func (g *gen) round(dst, a opnd) {
	r, _ := g.rm(a)
	if g.avx512 {
		g.emit("VRNDSCALEPS $8, %s, %s", r, dst.r)
	} else {
		g.emit("VROUNDPS $8, %s, %s", r, dst.r)
	}
}

// accum folds v into acc with op (VADDPS or VMAXPS); in the tail only the
// active lanes (mask m) count. v may be clobbered.
func (g *gen) accum(op string, acc, v, m opnd) {
	if m.r == "" {
		g.bin(op, acc, acc, v)
		return
	}
	if g.avx512 {
		g.emit("%s %s, %s, %s, %s", op, v.r, acc.r, m.r, acc.r)
		return
	}
	if op == "VADDPS" {
		g.and(v, v, m)
	} else {
		g.sel(v, m, v, acc)
	}
	g.bin(op, acc, acc, v)
}

// ---------------------------------------------------------------------------
// Math bodies (mirrored by the plain-Go twins in math.go and act.go).

// expPolyScale sets dst = 2^n * (1 + r*(1 + r*q(r))). It clobbers r and n.
func (g *gen) expPolyScale(dst, r, n opnd) {
	p := dst
	if dst.r == r.r || dst.r == n.r {
		p = g.tmp()
		defer g.release(p)
	}
	g.fma(p, C("mathExpQ4"), r, C("mathExpQ3"))
	g.fma(p, p, r, C("mathExpQ2"))
	g.fma(p, p, r, C("mathExpQ1"))
	g.fma(p, p, r, C("mathExpQ0"))
	g.fma(p, p, r, C("mathOne"))
	g.fma(p, p, r, C("mathOne"))
	if g.avx512 {
		g.emit("VSCALEFPS %s, %s, %s", n.r, p.r, dst.r)
		return
	}
	// 2^n = 2^n1 * 2^n2 with n1 = n>>1, n2 = n-n1, both normal for
	// n in [-160, 130], so p*2^n1 is exact and the second product rounds
	// once, as VSCALEFPS does.
	t := g.tmp()
	g.emit("VCVTPS2DQ %s, %s", n.r, n.r)
	g.emit("VPSRAD $1, %s, %s", n.r, t.r)
	g.emit("VPSUBD %s, %s, %s", t.r, n.r, n.r)
	r127, _ := g.rm(C("mathInt127"))
	g.emit("VPADDD %s, %s, %s", r127, t.r, t.r)
	g.emit("VPADDD %s, %s, %s", r127, n.r, n.r)
	g.emit("VPSLLD $23, %s, %s", t.r, t.r)
	g.emit("VPSLLD $23, %s, %s", n.r, n.r)
	g.mul(p, p, t)
	g.mul(dst, p, n)
	g.release(t)
}

// exp sets dst = exp(x), clamping x to [mathExpLo, mathExpHi]; dst may be x.
func (g *gen) exp(dst, x opnd) {
	t := g.tmp()
	g.min(t, C("mathExpHi"), x) // NaN stays NaN
	g.max(t, C("mathExpLo"), t)
	n := g.tmp()
	g.mul(n, t, C("mathLog2E"))
	g.round(n, n)
	g.fnma(t, n, C("mathLn2Hi"), t)
	g.fnma(t, n, C("mathLn2Lo"), t)
	g.expPolyScale(dst, t, n)
	g.release(t, n)
}

// exp2 sets dst = exp(hi + lo) for hi+lo in [-115, 0], keeping the bits of
// lo that a float32 sum would lose. It clobbers lo.
func (g *gen) exp2(dst, hi, lo opnd) {
	n := g.tmp()
	g.add(n, hi, lo)
	g.mul(n, n, C("mathLog2E"))
	g.round(n, n)
	r := g.tmp()
	g.fnma(r, n, C("mathLn2Hi"), hi)
	g.add(r, r, lo)
	g.fnma(r, n, C("mathLn2Lo"), r)
	g.expPolyScale(dst, r, n)
	g.release(n, r)
}

// tanh sets dst = tanh(x); dst may be x.
func (g *gen) tanh(dst, x opnd) {
	u := g.tmp()
	g.mul(u, x, x)
	p := g.tmp()
	g.fma(p, C("mathTanhP4"), u, C("mathTanhP3"))
	g.fma(p, p, u, C("mathTanhP2"))
	g.fma(p, p, u, C("mathTanhP1"))
	g.fma(p, p, u, C("mathTanhP0"))
	g.mul(u, u, x)
	g.fma(p, u, p, x) // small-|x| result
	a := u
	g.and(a, x, C("mathAbsMask"))
	m := g.cmp(cmpLT, a, C("mathTanhT"))
	e := g.tmp()
	g.add(e, a, a)
	g.exp(e, e)
	g.add(e, e, C("mathOne"))
	g.div(e, C("mathTwo"), e)
	g.sub(e, C("mathOne"), e)
	g.sel(e, m, p, e)
	// tanh has the sign of x: or-ing it in also turns tanh(-0) into -0.
	g.and(a, x, C("mathSignMask"))
	g.or(dst, e, a)
	g.release(u, p, e, m)
}

// erfcCore sets dst = erfc(z) = t*exp(-(hi+lo) + Q(t)), t = 2/(2+z), for
// z >= 0 clamped, hi+lo = z*z exactly. It clobbers lo.
func (g *gen) erfcCore(dst, z, hi, lo opnd) {
	t := g.tmp()
	g.add(t, z, C("mathTwo"))
	g.div(t, C("mathTwo"), t)
	q := g.tmp()
	g.fma(q, C("mathErfcQ8"), t, C("mathErfcQ7"))
	for i := 6; i >= 0; i-- {
		g.fma(q, q, t, C(fmt.Sprintf("mathErfcQ%d", i)))
	}
	g.sub(q, q, lo)
	g.xor(lo, hi, C("mathSignMask")) // -hi
	g.exp2(dst, lo, q)
	g.mul(dst, dst, t)
	g.release(t, q)
}

// erf sets dst = erf(x); dst may be x.
func (g *gen) erf(dst, x opnd) {
	u := g.tmp()
	g.mul(u, x, x)
	p := g.tmp()
	g.fma(p, C("mathErfP5"), u, C("mathErfP4"))
	for i := 3; i >= 0; i-- {
		g.fma(p, p, u, C(fmt.Sprintf("mathErfP%d", i)))
	}
	g.mul(p, p, x) // small-|x| result
	a := u
	g.and(a, x, C("mathAbsMask"))
	m := g.cmp(cmpLT, a, C("mathErfA"))
	g.min(a, C("mathErfClamp"), a)
	hi := g.tmp()
	lo := g.tmp()
	g.mul(hi, a, a)
	g.fms(lo, a, a, hi)
	e := g.tmp()
	g.erfcCore(e, a, hi, lo)
	g.sub(e, C("mathOne"), e)
	g.and(a, x, C("mathSignMask"))
	g.or(e, e, a)
	g.sel(dst, m, p, e)
	g.release(u, p, hi, lo, e, m)
}

// geluW sets w = 1 + erf(x/sqrt2) (computed as 2 - erfc or erfc for large
// |x|), and hi+lo = xc*xc/2 exactly for xc = x clamped to ±mathGeluClamp.
func (g *gen) geluW(w, hi, lo, x opnd) {
	z := g.tmp()
	g.mul(z, x, C("mathInvSqrt2"))
	u := g.tmp()
	g.mul(u, x, x)
	g.mul(u, u, C("mathHalf"))
	p := g.tmp()
	g.fma(p, C("mathErfP5"), u, C("mathErfP4"))
	for i := 3; i >= 0; i-- {
		g.fma(p, p, u, C(fmt.Sprintf("mathErfP%d", i)))
	}
	g.fma(p, z, p, C("mathOne")) // small-|z| w
	g.and(z, z, C("mathAbsMask"))
	msmall := g.cmp(cmpLT, z, C("mathErfA"))
	xc := u
	g.min(xc, C("mathGeluClamp"), x)
	g.xor(z, C("mathGeluClamp"), C("mathSignMask"))
	g.max(xc, z, xc)
	g.mul(hi, xc, xc)
	g.fms(lo, xc, xc, hi)
	g.mul(hi, hi, C("mathHalf"))
	g.mul(lo, lo, C("mathHalf"))
	g.and(xc, xc, C("mathAbsMask"))
	g.mul(xc, xc, C("mathInvSqrt2"))
	lo2 := g.tmp()
	g.mov(lo2, lo)
	e := z
	g.erfcCore(e, xc, hi, lo2)
	g.release(lo2)
	mpos := g.cmp(cmpGT, x, C("mathZeroF"))
	g.sub(xc, C("mathTwo"), e)
	g.sel(e, mpos, xc, e)
	g.sel(w, msmall, p, e)
	g.release(z, u, p, msmall, mpos)
}

// recip sets dst = 1/d without a division: a reciprocal estimate refined
// by Newton-Raphson. AVX-512's VRCP14PS (relative error < 2^-14) takes one
// second-order step (error ~2^-28); AVX2's VRCPPS (< 1.5*2^-12) takes one
// third-order step, r*(1 + e + e*e) with e = 1 - d*r (error ~2^-33). Either
// is within an ulp of the correctly rounded quotient. dst may not be d.
func (g *gen) recip(dst, d opnd) {
	if g.avx512 {
		g.emit("VRCP14PS %s, %s", d.r, dst.r)
	} else {
		g.emit("VRCPPS %s, %s", d.r, dst.r)
	}
	e := g.tmp()
	g.fnma(e, d, dst, C("mathOne"))
	if !g.avx512 {
		g.fma(e, e, e, e)
	}
	g.fma(dst, dst, e, dst)
	g.release(e)
}

// geluErf sets dst = x/2 * w, w = 1 + erf(x/sqrt2): the odd polynomial
// z*P(z*z)+1 for |z| < mathErfA, else erfc(|zc|) (x < 0) or 2 - erfc(|zc|)
// (x > 0) with zc the clamped z. Same formulas as geluW (and the plain-Go
// actGeluErf1), arranged for throughput: |x| is clamped once and its exact
// half-square hi+lo serves both the polynomial (hi equals (x*x)/2 wherever
// the polynomial is selected) and exp(-z*z), and erfc's t = 2/(2+zc) =
// 1/(1+zc/2) comes from recip instead of VDIVPS. dst may be x.
func (g *gen) geluErf(dst, x opnd) {
	a := g.tmp()
	g.and(a, x, C("mathAbsMask"))
	g.min(a, C("mathGeluClamp"), a) // NaN stays NaN
	// hi+lo = a*a/2 = (a/2)*a exactly (halving is exact).
	hi, lo := g.tmp(), g.tmp()
	g.mul(lo, a, C("mathHalf"))
	g.mul(hi, lo, a)
	g.fms(lo, lo, a, hi)
	// Small-|z| w.
	z := g.tmp()
	g.mul(z, x, C("mathInvSqrt2"))
	p := g.tmp()
	g.fma(p, C("mathErfP5"), hi, C("mathErfP4"))
	for i := 3; i >= 0; i-- {
		g.fma(p, p, hi, C(fmt.Sprintf("mathErfP%d", i)))
	}
	g.fma(p, z, p, C("mathOne"))
	g.and(z, z, C("mathAbsMask"))
	msmall := g.cmp(cmpLT, z, C("mathErfA"))
	// erfc(zc) = t*exp(-(hi+lo) + Q(t)).
	g.mul(a, a, C("mathInvSqrt2"))
	g.fma(a, a, C("mathHalf"), C("mathOne"))
	t := g.tmp()
	g.recip(t, a)
	q := a
	g.fma(q, C("mathErfcQ8"), t, C("mathErfcQ7"))
	for i := 6; i >= 0; i-- {
		g.fma(q, q, t, C(fmt.Sprintf("mathErfcQ%d", i)))
	}
	g.sub(q, q, lo)
	g.xor(lo, hi, C("mathSignMask")) // -hi
	e := hi
	g.exp2(e, lo, q)
	g.mul(e, e, t)
	mpos := g.cmp(cmpGT, x, C("mathZeroF"))
	g.sub(t, C("mathTwo"), e)
	g.sel(e, mpos, t, e)
	g.sel(e, msmall, p, e)
	g.mul(z, x, C("mathHalf"))
	g.mul(dst, z, e)
	g.release(a, hi, lo, z, p, t, msmall, mpos)
}

func (g *gen) geluErfBwd(dst, dy, x opnd) {
	w, hi, lo := g.tmp(), g.tmp(), g.tmp()
	g.geluW(w, hi, lo, x)
	g.xor(hi, hi, C("mathSignMask"))
	g.xor(lo, lo, C("mathSignMask"))
	phi := g.tmp()
	g.exp2(phi, hi, lo)
	g.mul(phi, phi, C("mathInvSqrt2Pi"))
	xc := hi
	g.clamp(xc, x, "mathGeluClamp")
	g.mul(w, w, C("mathHalf"))
	g.fma(w, xc, phi, w) // phi(15) underflows: clamping only stops Inf*0
	g.mul(dst, dy, w)
	g.release(w, hi, lo, phi)
}

// sigmoidParts sets e = exp(-|v|), inv = 1/(1+e) and s = sigmoid(v).
func (g *gen) sigmoidParts(e, inv, s, v opnd) {
	g.and(e, v, C("mathAbsMask"))
	g.xor(e, e, C("mathSignMask"))
	g.exp(e, e)
	g.add(inv, e, C("mathOne"))
	g.div(inv, C("mathOne"), inv)
	g.mul(s, e, inv)
	m := g.cmp(cmpGE, v, C("mathZeroF"))
	g.sel(s, m, inv, s)
	g.release(m)
}

func (g *gen) geluTanh(dst, x opnd) {
	v := g.tmp()
	g.mul(v, x, x)
	g.fma(v, v, C("mathGeluK2"), C("mathGeluK1"))
	g.mul(v, v, x)
	g.sigmoidNum(dst, x, v)
	g.release(v)
}

// sigmoidNum sets dst = a*sigmoid(v) as (v >= 0 ? a : a*e)/(1+e) with
// e = exp(-|v|), which neither overflows nor cancels; dst may be a or v.
func (g *gen) sigmoidNum(dst, a, v opnd) {
	e, num := g.tmp(), g.tmp()
	g.and(e, v, C("mathAbsMask"))
	g.xor(e, e, C("mathSignMask"))
	g.exp(e, e)
	m := g.cmp(cmpGE, v, C("mathZeroF"))
	if a.isC() {
		g.sel(num, m, a, e)
	} else {
		g.mul(num, a, e)
		g.sel(num, m, a, num)
	}
	g.add(e, e, C("mathOne"))
	g.div(dst, num, e)
	g.release(e, num, m)
}

func (g *gen) geluTanhBwd(dst, dy, x opnd) {
	x2, v := g.tmp(), g.tmp()
	g.mul(x2, x, x)
	g.fma(v, x2, C("mathGeluK2"), C("mathGeluK1"))
	g.mul(v, v, x)
	e, inv, s := g.tmp(), g.tmp(), g.tmp()
	g.sigmoidParts(e, inv, s, v)
	// x*v'*e/(1+e)^2 with x clamped to ±mathGeluClamp, where e underflows
	// already: the clamp only stops Inf*0 for huge |x|.
	xc := v
	g.clamp(xc, x, "mathGeluClamp")
	g.mul(x2, xc, xc)
	g.fma(x2, x2, C("mathGeluK3"), C("mathGeluK1")) // v'
	g.mul(x2, x2, xc)
	g.mul(x2, x2, e)
	g.mul(x2, x2, inv)
	g.mul(x2, x2, inv)
	g.add(x2, x2, s)
	g.mul(dst, dy, x2)
	g.release(x2, v, e, inv, s)
}

// clamp sets dst = x clamped to [-c, c] (NaN stays NaN); dst may not be x.
func (g *gen) clamp(dst, x opnd, c string) {
	g.min(dst, C(c), x)
	t := g.tmp()
	g.xor(t, C(c), C("mathSignMask"))
	g.max(dst, t, dst)
	g.release(t)
}

func (g *gen) silu(dst, x opnd) { g.sigmoidNum(dst, x, x) }

func (g *gen) siluBwd(dst, dy, x opnd) {
	e, inv, s, xc := g.tmp(), g.tmp(), g.tmp(), g.tmp()
	g.sigmoidParts(e, inv, s, x)
	// x*e/(1+e)^2 with x clamped where e has underflowed (stops Inf*0).
	g.clamp(xc, x, "mathSiluClamp")
	g.mul(e, e, xc)
	g.mul(e, e, inv)
	g.mul(e, e, inv)
	g.add(e, e, s)
	g.mul(dst, dy, e)
	g.release(e, inv, s, xc)
}

func (g *gen) sigmoid(dst, x opnd) { g.sigmoidNum(dst, C("mathOne"), x) }

// binOp emits dst = a op b with NaN-propagating max and min.
func (g *gen) binOp(op string, dst, a, b opnd) {
	switch op {
	case "Add":
		g.add(dst, a, b)
	case "Sub":
		g.sub(dst, a, b)
	case "Mul":
		g.mul(dst, a, b)
	case "Div":
		g.div(dst, a, b)
	case "Max", "Min":
		t := g.tmp()
		if op == "Max" {
			g.max(t, a, b)
		} else {
			g.min(t, a, b)
		}
		m := g.cmp(cmpUNORD, a, b)
		g.add(dst, a, b)
		g.sel(dst, m, dst, t)
		g.release(t, m)
	default:
		log.Fatalf("unknown op %s", op)
	}
}

// ---------------------------------------------------------------------------
// Kernel template.

type kernel struct {
	name    string   // Go name without the tier suffix
	doc     string   // what it computes
	ptrs    []string // pointer arguments, in order
	out     string   // the pointer written element-wise ("" for none)
	ins     []string // pointers read element-wise, passed to body in order
	scalars []string // float32 arguments, broadcast
	ret     string   // reduction op for a float32 result ("VADDPS", "VMAXPS") or ""
	accInit string   // constant for the accumulators' start ("" = zero)
	unroll  int
	body    func(g *gen, in, sc []opnd, acc, mask opnd) opnd
}

var ptrRegs = []string{"DI", "SI", "R8", "R9", "R10"}

type layout struct {
	ptrOff, scOff []int
	nOff, retOff  int
	size          int
}

func (k *kernel) layout() layout {
	var l layout
	off := 0
	for range k.ptrs {
		l.ptrOff = append(l.ptrOff, off)
		off += 8
	}
	for range k.scalars {
		l.scOff = append(l.scOff, off)
		off += 4
	}
	off = (off + 7) &^ 7
	l.nOff = off
	off += 8
	l.size = off
	if k.ret != "" {
		l.retOff = off
		l.size = off + 4
	}
	return l
}

func (k *kernel) goSig(suffix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "func %s%s(%s *float32", k.name, suffix, strings.Join(k.ptrs, ", "))
	if len(k.scalars) > 0 {
		fmt.Fprintf(&b, ", %s float32", strings.Join(k.scalars, ", "))
	}
	b.WriteString(", n int)")
	if k.ret != "" {
		b.WriteString(" float32")
	}
	return b.String()
}

func ptrReg(k *kernel, name string) string {
	for i, p := range k.ptrs {
		if p == name {
			return ptrRegs[i]
		}
	}
	log.Fatalf("%s: no pointer %s", k.name, name)
	return ""
}

// genKernel writes one function for one instruction set into g.buf and
// returns the text (constants used are recorded in g.used).
func genKernel(k *kernel, avx512 bool, used map[string]bool) string {
	suffix := "AVX2"
	if avx512 {
		suffix = "AVX512"
	}
	// Dry run to count constant uses, then the real run with the most used
	// constants held in registers (AVX-512).
	creg := map[string]string{}
	for pass := 0; pass < 2; pass++ {
		g := &gen{avx512: avx512, creg: creg, used: map[string]bool{}, count: map[string]int{}, fn: k.name + suffix}
		if avx512 {
			g.w = 16
			for i := 15; i >= 0; i-- {
				g.free = append(g.free, g.vr(i))
			}
			g.kfree = []string{"K6", "K5", "K4", "K3", "K2", "K1"}
		} else {
			g.w = 8
			for i := 15; i >= 0; i-- {
				g.free = append(g.free, g.vr(i))
			}
		}
		text := g.function(k, suffix)
		if pass == 1 {
			for c := range g.used {
				used[c] = true
			}
			return text
		}
		if avx512 {
			names := make([]string, 0, len(g.count))
			for c := range g.count {
				names = append(names, c)
			}
			sort.Slice(names, func(i, j int) bool {
				if g.count[names[i]] != g.count[names[j]] {
					return g.count[names[i]] > g.count[names[j]]
				}
				return names[i] < names[j]
			})
			nfree := 16 - len(k.scalars)
			for i, c := range names {
				if i >= nfree {
					break
				}
				creg[c] = "Z" + strconv.Itoa(31-i)
			}
		}
	}
	return ""
}

func (g *gen) function(k *kernel, suffix string) string {
	l := k.layout()
	unroll := max(k.unroll, 1)
	fmt.Fprintf(&g.buf, "// %s\n", k.goSig(suffix))
	fmt.Fprintf(&g.buf, "TEXT ·%s%s(SB), NOSPLIT, $0-%d\n", k.name, suffix, l.size)
	for i, p := range k.ptrs {
		g.emit("MOVQ %s+%d(FP), %s", p, l.ptrOff[i], ptrRegs[i])
	}
	g.emit("MOVQ n+%d(FP), CX", l.nOff)
	// Scalars: AVX-512 keeps them in Z16.. (below the constants); AVX2 in
	// temporaries for the whole function.
	var sc []opnd
	for i, s := range k.scalars {
		var r opnd
		if g.avx512 {
			r = opnd{r: "Z" + strconv.Itoa(16+i)}
		} else {
			r = g.tmp()
		}
		g.emit("VBROADCASTSS %s+%d(FP), %s", s, l.scOff[i], r.r)
		sc = append(sc, r)
	}
	// Constants in registers (AVX-512), in a stable order.
	if g.avx512 {
		names := make([]string, 0, len(g.creg))
		for c := range g.creg {
			names = append(names, c)
		}
		sort.Slice(names, func(i, j int) bool { return g.creg[names[i]] > g.creg[names[j]] })
		for _, c := range names {
			g.used[c] = true
			g.emit("VBROADCASTSS %s<>(SB), %s", c, g.creg[c])
		}
	}
	var accs []opnd
	if k.ret != "" {
		for u := 0; u < unroll; u++ {
			a := g.tmp()
			if k.accInit == "" {
				g.emit("VXORPS %s, %s, %s", a.r, a.r, a.r)
			} else {
				g.mov(a, C(k.accInit))
			}
			accs = append(accs, a)
		}
	}
	g.emit("XORQ AX, AX")
	step := g.w * 4
	block := func(u int, acc opnd, mask opnd) {
		var in []opnd
		for _, p := range k.ins {
			r := g.tmp()
			addr := fmt.Sprintf("%d(%s)(AX*4)", u*step, ptrReg(k, p))
			if u == 0 {
				addr = fmt.Sprintf("(%s)(AX*4)", ptrReg(k, p))
			}
			switch {
			case mask.r == "":
				g.emit("VMOVUPS %s, %s", addr, r.r)
			case g.avx512:
				g.emit("VMOVUPS.Z %s, %s, %s", addr, mask.r, r.r)
			default:
				g.emit("VMASKMOVPS %s, %s, %s", addr, mask.r, r.r)
			}
			in = append(in, r)
		}
		v := k.body(g, in, sc, acc, mask)
		if k.out != "" {
			addr := fmt.Sprintf("%d(%s)(AX*4)", u*step, ptrReg(k, k.out))
			if u == 0 {
				addr = fmt.Sprintf("(%s)(AX*4)", ptrReg(k, k.out))
			}
			switch {
			case mask.r == "":
				g.emit("VMOVUPS %s, %s", v.r, addr)
			case g.avx512:
				g.emit("VMOVUPS %s, %s, %s", v.r, mask.r, addr)
			default:
				g.emit("VMASKMOVPS %s, %s, %s", v.r, mask.r, addr)
			}
		}
		seen := map[string]bool{}
		for _, r := range append(in, v) {
			if r.r != "" && !seen[r.r] && !r.isC() && !isScalarOrAcc(r, sc, accs) {
				seen[r.r] = true
				g.release(r)
			}
		}
	}
	accFor := func(u int) opnd {
		if accs == nil {
			return opnd{}
		}
		return accs[u]
	}
	if unroll > 1 {
		g.emit("MOVQ CX, DX")
		g.emit("ANDQ $-%d, DX", g.w*unroll)
		g.label("loopU")
		g.emit("CMPQ AX, DX")
		g.emit("JGE one")
		for u := 0; u < unroll; u++ {
			block(u, accFor(u), opnd{})
		}
		g.emit("ADDQ $%d, AX", g.w*unroll)
		g.emit("JMP loopU")
		g.label("one")
	}
	g.emit("MOVQ CX, DX")
	g.emit("ANDQ $-%d, DX", g.w)
	g.label("loop1")
	g.emit("CMPQ AX, DX")
	g.emit("JGE tail")
	block(0, accFor(0), opnd{})
	g.emit("ADDQ $%d, AX", g.w)
	g.emit("JMP loop1")
	g.label("tail")
	g.emit("SUBQ AX, CX")
	g.emit("JLE done")
	var mask opnd
	if g.avx512 {
		g.emit("MOVL $1, BX")
		g.emit("SHLL CX, BX")
		g.emit("DECL BX")
		g.emit("KMOVW BX, K7")
		mask = opnd{r: "K7"}
	} else {
		g.used["mathTailMask"] = true
		mask = g.tmp()
		g.emit("LEAQ mathTailMask<>(SB), BX")
		g.emit("NEGQ CX")
		g.emit("VMOVUPS 32(BX)(CX*4), %s", mask.r)
	}
	block(0, accFor(0), mask)
	if !g.avx512 {
		g.release(mask)
	}
	g.label("done")
	if k.ret != "" {
		for u := 1; u < unroll; u++ {
			g.bin(k.ret, accs[0], accs[0], accs[u])
		}
		a := accs[0].r
		ss := strings.Replace(k.ret, "PS", "SS", 1)
		t := g.tmp()
		if g.avx512 {
			g.emit("VEXTRACTF64X4 $1, %s, %s", a, yreg(t.r))
			g.emit("%s %s, %s, %s", k.ret, yreg(t.r), yreg(a), yreg(a))
		}
		g.emit("VEXTRACTF128 $1, %s, %s", yreg(a), xreg(t.r))
		g.emit("%s %s, %s, %s", k.ret, xreg(t.r), xreg(a), xreg(a))
		g.emit("VMOVHLPS %s, %s, %s", xreg(a), xreg(a), xreg(t.r))
		g.emit("%s %s, %s, %s", k.ret, xreg(t.r), xreg(a), xreg(a))
		g.emit("VMOVSHDUP %s, %s", xreg(a), xreg(t.r))
		g.emit("%s %s, %s, %s", ss, xreg(t.r), xreg(a), xreg(a))
		g.emit("VMOVSS %s, ret+%d(FP)", xreg(a), l.retOff)
	}
	g.emit("VZEROUPPER")
	g.emit("RET")
	g.buf.WriteString("\n")
	return g.buf.String()
}

func isScalarOrAcc(r opnd, sc, accs []opnd) bool {
	for _, s := range sc {
		if s.r == r.r {
			return true
		}
	}
	for _, a := range accs {
		if a.r == r.r {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// The kernels.

func unary(name, doc string, f func(g *gen, dst, x opnd)) *kernel {
	return &kernel{name: name, doc: doc, ptrs: []string{"dst", "x"}, out: "dst", ins: []string{"x"},
		body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
			f(g, in[0], in[0])
			return in[0]
		}}
}

// unaryU is unary with the vector loop unrolled u times.
func unaryU(name, doc string, u int, f func(g *gen, dst, x opnd)) *kernel {
	k := unary(name, doc, f)
	k.unroll = u
	return k
}

func backward(name, doc string, f func(g *gen, dst, dy, x opnd)) *kernel {
	return &kernel{name: name, doc: doc, ptrs: []string{"dx", "dy", "x"}, out: "dx", ins: []string{"dy", "x"},
		body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
			f(g, in[0], in[0], in[1])
			return in[0]
		}}
}

var ops = []string{"Add", "Sub", "Mul", "Div", "Max", "Min"}

func files() map[string][]*kernel {
	m := map[string][]*kernel{}
	m["math"] = []*kernel{
		unary("mathExp", "dst = exp(x)", (*gen).exp),
		unary("mathTanh", "dst = tanh(x)", (*gen).tanh),
		unary("mathErf", "dst = erf(x)", (*gen).erf),
		unary("mathSigmoid", "dst = 1/(1+exp(-x))", (*gen).sigmoid),
	}
	m["act"] = []*kernel{
		unaryU("actGeluErf", "dst = x/2*(1+erf(x/sqrt2))", 2, (*gen).geluErf),
		unary("actGeluTanh", "dst = x*sigmoid(2*sqrt(2/pi)*(x+0.044715x^3))", (*gen).geluTanh),
		unary("actSilu", "dst = x/(1+exp(-x))", (*gen).silu),
		backward("actGeluErfBwd", "dx = dy*GELU'(x)", (*gen).geluErfBwd),
		backward("actGeluTanhBwd", "dx = dy*GELUtanh'(x)", (*gen).geluTanhBwd),
		backward("actSiluBwd", "dx = dy*SiLU'(x)", (*gen).siluBwd),
		{name: "actTanhBwd", doc: "dx = dy*(1-y*y)", ptrs: []string{"dx", "dy", "y"}, out: "dx", ins: []string{"dy", "y"}, unroll: 2,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.mul(in[1], in[1], in[1])
				g.sub(in[1], C("mathOne"), in[1])
				g.mul(in[0], in[0], in[1])
				return in[0]
			}},
		{name: "actSigmoidBwd", doc: "dx = dy*(1-y)*y", ptrs: []string{"dx", "dy", "y"}, out: "dx", ins: []string{"dy", "y"}, unroll: 2,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				t := g.tmp()
				g.sub(t, C("mathOne"), in[1])
				g.mul(in[0], in[0], t)
				g.mul(in[0], in[0], in[1])
				g.release(t)
				return in[0]
			}},
	}
	var el []*kernel
	for _, op := range ops {
		op := op
		el = append(el, &kernel{name: "elem" + op, doc: "dst = a " + op + " b", ptrs: []string{"dst", "a", "b"}, out: "dst", ins: []string{"a", "b"}, unroll: 4,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.binOp(op, in[0], in[0], in[1])
				return in[0]
			}})
	}
	for _, op := range ops {
		op := op
		el = append(el, &kernel{name: "elem" + op + "Scalar", doc: "dst = a " + op + " s", ptrs: []string{"dst", "a"}, scalars: []string{"s"}, out: "dst", ins: []string{"a"}, unroll: 4,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.binOp(op, in[0], in[0], sc[0])
				return in[0]
			}})
	}
	for _, op := range ops {
		op := op
		el = append(el, &kernel{name: "elemScalar" + op, doc: "dst = s " + op + " b", ptrs: []string{"dst", "b"}, scalars: []string{"s"}, out: "dst", ins: []string{"b"}, unroll: 4,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.binOp(op, in[0], sc[0], in[0])
				return in[0]
			}})
	}
	el = append(el,
		&kernel{name: "elemAxpy", doc: "y = y + alpha*x", ptrs: []string{"y", "x"}, scalars: []string{"alpha"}, out: "y", ins: []string{"y", "x"}, unroll: 4,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.mul(in[1], in[1], sc[0])
				g.add(in[0], in[0], in[1])
				return in[0]
			}},
		&kernel{name: "elemFill", doc: "dst = v", ptrs: []string{"dst"}, scalars: []string{"v"}, out: "dst", unroll: 4,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd { return sc[0] }},
	)
	m["elementwise"] = el
	m["softmax"] = []*kernel{
		{name: "softmaxMax", doc: "max(x) (NaN lanes may be ignored)", ptrs: []string{"x"}, ins: []string{"x"}, ret: "VMAXPS", accInit: "mathNegInf", unroll: 4,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.accum("VMAXPS", acc, in[0], mask)
				return in[0]
			}},
		{name: "softmaxExpShiftSum", doc: "dst = exp(x-shift), returns the sum of dst", ptrs: []string{"dst", "x"}, scalars: []string{"shift"}, out: "dst", ins: []string{"x"}, ret: "VADDPS", unroll: 2,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.sub(in[0], in[0], sc[0])
				g.exp(in[0], in[0])
				t := g.tmp()
				g.mov(t, in[0])
				g.accum("VADDPS", acc, t, mask)
				g.release(t)
				return in[0]
			}},
		{name: "softmaxExpSum", doc: "the sum of exp(x-shift)", ptrs: []string{"x"}, scalars: []string{"shift"}, ins: []string{"x"}, ret: "VADDPS", unroll: 2,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.sub(in[0], in[0], sc[0])
				g.exp(in[0], in[0])
				g.accum("VADDPS", acc, in[0], mask)
				return in[0]
			}},
		{name: "softmaxLogOut", doc: "dst = (x-m) - ls", ptrs: []string{"dst", "x"}, scalars: []string{"m", "ls"}, out: "dst", ins: []string{"x"}, unroll: 4,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.sub(in[0], in[0], sc[0])
				g.sub(in[0], in[0], sc[1])
				return in[0]
			}},
		{name: "softmaxDot", doc: "sum(a*b)", ptrs: []string{"a", "b"}, ins: []string{"a", "b"}, ret: "VADDPS", unroll: 4,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.fma(acc, in[0], in[1], acc)
				return in[0]
			}},
		{name: "softmaxSum", doc: "sum(x)", ptrs: []string{"x"}, ins: []string{"x"}, ret: "VADDPS", unroll: 4,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.add(acc, acc, in[0])
				return in[0]
			}},
		{name: "softmaxBwd", doc: "dx = y*(dy-s)", ptrs: []string{"dx", "dy", "y"}, scalars: []string{"s"}, out: "dx", ins: []string{"dy", "y"}, unroll: 4,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.sub(in[0], in[0], sc[0])
				g.mul(in[0], in[1], in[0])
				return in[0]
			}},
		{name: "softmaxLogBwd", doc: "dx = dy - exp(y)*s", ptrs: []string{"dx", "dy", "y"}, scalars: []string{"s"}, out: "dx", ins: []string{"dy", "y"}, unroll: 2,
			body: func(g *gen, in, sc []opnd, acc, mask opnd) opnd {
				g.exp(in[1], in[1])
				g.mul(in[1], in[1], sc[0])
				g.sub(in[0], in[0], in[1])
				return in[0]
			}},
	}
	return m
}

// ---------------------------------------------------------------------------
// Output.

const header = "// Code generated by math_asmgen.go; DO NOT EDIT.\n\n"

func writeFile(name string, data []byte) {
	if strings.HasSuffix(name, ".go") {
		f, err := format.Source(data)
		if err != nil {
			log.Fatalf("%s: %v\n%s", name, err, data)
		}
		data = f
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		log.Fatal(err)
	}
}

func main() {
	log.SetFlags(0)
	defineConsts()
	defF("mathZeroF", 0, "")
	defBits("mathTailMask", 0) // placeholder name; data written specially

	// Go constants.
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("package cpu\n\n// Constants shared by the plain-Go math kernels and their assembly twins\n// (the assembly copies are written by math_asmgen.go from the same table).\nconst (\n")
	for _, n := range constNames {
		c := consts[n]
		if !c.goF || n == "mathZeroF" {
			continue
		}
		if c.doc != "" {
			fmt.Fprintf(&b, "\t// %s: %s.\n", n, c.doc)
		}
		fmt.Fprintf(&b, "\t%s float32 = %s\n", n, strconv.FormatFloat(float64(math.Float32frombits(c.bits)), 'g', -1, 32))
	}
	b.WriteString(")\n")
	writeFile("math_consts.go", b.Bytes())

	fs := files()
	topics := make([]string, 0, len(fs))
	for t := range fs {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		ks := fs[topic]
		used := map[string]bool{}
		var text strings.Builder
		for _, k := range ks {
			text.WriteString(genKernel(k, true, used))
			text.WriteString(genKernel(k, false, used))
		}
		var s bytes.Buffer
		s.WriteString(header)
		s.WriteString("//go:build amd64 && !purego\n\n#include \"textflag.h\"\n\n")
		names := make([]string, 0, len(used))
		for c := range used {
			names = append(names, c)
		}
		sort.Strings(names)
		for _, c := range names {
			if c == "mathTailMask" {
				// 8 all-ones lanes then 8 zero lanes: loading 32 bytes at
				// offset 32-4*r gives a mask of the first r lanes.
				for i := 0; i < 16; i++ {
					v := uint32(0xffffffff)
					if i >= 8 {
						v = 0
					}
					fmt.Fprintf(&s, "DATA %s<>+%d(SB)/4, $%#08x\n", c, 4*i, v)
				}
				fmt.Fprintf(&s, "GLOBL %s<>(SB), RODATA|NOPTR, $64\n\n", c)
				continue
			}
			bits := consts[c].bits
			for i := 0; i < 8; i++ {
				fmt.Fprintf(&s, "DATA %s<>+%d(SB)/4, $%#08x\n", c, 4*i, bits)
			}
			fmt.Fprintf(&s, "GLOBL %s<>(SB), RODATA|NOPTR, $32\n\n", c)
		}
		s.WriteString(text.String())
		// Local labels must be unique per file: rename them per function.
		out := uniqueLabels(s.String())
		writeFile(topic+"_amd64.s", []byte(out))

		var st, ot bytes.Buffer
		st.WriteString(header)
		st.WriteString("//go:build amd64 && !purego\n\npackage cpu\n\n")
		ot.WriteString(header)
		ot.WriteString("//go:build !amd64 || purego\n\npackage cpu\n\n")
		for _, k := range ks {
			for _, suf := range []string{"AVX512", "AVX2"} {
				fmt.Fprintf(&st, "// %s%s computes %s over n elements (%s).\n//\n//go:noescape\n%s\n\n", k.name, suf, k.doc, suf, k.goSig(suf))
				fmt.Fprintf(&ot, "// %s%s is never called in a build without assembly (the tier is always Generic there).\n%s { panic(\"cpu: %s%s called without assembly\") }\n\n", k.name, suf, k.goSig(suf), k.name, suf)
			}
		}
		writeFile(topic+"_amd64.go", st.Bytes())
		writeFile(topic+"_other.go", ot.Bytes())
	}
}

// uniqueLabels suffixes the labels loopU, one, loop1, tail and done with the
// index of the TEXT block they are in (Go assembler labels are function
// scoped, but distinct names keep the listing readable).
func uniqueLabels(s string) string {
	lines := strings.Split(s, "\n")
	fn := 0
	labels := []string{"loopU", "one", "loop1", "tail", "done"}
	for i, ln := range lines {
		if strings.HasPrefix(ln, "TEXT ") {
			fn++
		}
		for _, l := range labels {
			if ln == l+":" {
				lines[i] = fmt.Sprintf("%s%d:", l, fn)
			}
			for _, j := range []string{"JGE ", "JMP ", "JLE "} {
				if strings.HasSuffix(ln, j+l) {
					lines[i] = strings.TrimSuffix(ln, l) + fmt.Sprintf("%s%d", l, fn)
				}
			}
		}
	}
	return strings.Join(lines, "\n")
}
