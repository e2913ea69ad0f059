//go:build cuda

package cuda

import "fmt"

// Act is an element-wise activation with a backward pass (elementwise.cu).
type Act int

// The activations.
const (
	GeluErf  Act = iota // x/2 (1 + erf(x/sqrt2)), BERT's exact GELU
	GeluTanh            // the tanh approximation of GELU
	Silu                // x*sigmoid(x)
	Tanh                // tanh(x); its backward takes the output y
	Sigmoid             // sigmoid(x); its backward takes the output y
	Exp                 // expf(x); its backward takes the output y
	Log                 // logf(x)
	Sqrt                // sqrtf(x); its backward takes the output y
	Rsqrt               // rsqrtf(x); its backward takes the output y
	Erf                 // erff(x)
	Abs                 // |x|; backward dy*sign(x), 0 at 0
	Relu                // max(x, 0), NaN stays NaN; backward x > 0 ? dy : 0
)

var actNames = [...]string{"gelu_erf", "gelu_tanh", "silu", "tanh", "sigmoid", "exp", "log", "sqrt", "rsqrt", "erf", "abs", "relu"}

// String returns the kernel family name ("gelu_erf", ...).
func (a Act) String() string {
	if a < 0 || int(a) >= len(actNames) {
		return fmt.Sprintf("Act(%d)", int(a))
	}
	return actNames[a]
}

// BackwardTakesOutput reports whether the backward pass reads the forward
// output y (tanh, sigmoid, exp, sqrt, rsqrt) rather than the input x.
func (a Act) BackwardTakesOutput() bool {
	switch a {
	case Tanh, Sigmoid, Exp, Sqrt, Rsqrt:
		return true
	}
	return false
}

func vecWidth(dt DType) int { return 16 / dt.Size() }

func checkActDType(name string, dt DType) error {
	if dt != F32 && dt != BF16 {
		return fmt.Errorf("kernel %s: dtype %v not supported (f32, bf16)", name, dt)
	}
	return nil
}

// ActForward sets y = act(x) over n contiguous elements of type dt (f32 or
// bf16). y may alias x.
func (d *Device) ActForward(act Act, dt DType, y, x DevicePtr, n int64) error {
	name := kname(act.String(), "fwd", dt.String())
	if act < 0 || int(act) >= len(actNames) {
		return fmt.Errorf("cuda.ActForward: unknown activation %v", act)
	}
	if err := checkActDType(name, dt); err != nil {
		return err
	}
	if err := checkSizes(name, n); err != nil || n == 0 {
		return err
	}
	return d.launch1D(name, n, vecWidth(dt), y, x, n)
}

// ActBackward sets dx = dy * act'(.) over n elements, where xy is the
// forward input x, or the forward output y when act.BackwardTakesOutput().
func (d *Device) ActBackward(act Act, dt DType, dx, dy, xy DevicePtr, n int64) error {
	name := kname(act.String(), "bwd", dt.String())
	if act < 0 || int(act) >= len(actNames) {
		return fmt.Errorf("cuda.ActBackward: unknown activation %v", act)
	}
	if err := checkActDType(name, dt); err != nil {
		return err
	}
	if err := checkSizes(name, n); err != nil || n == 0 {
		return err
	}
	return d.launch1D(name, n, vecWidth(dt), dx, dy, xy, n)
}

// BinOp is a binary arithmetic operation (elementwise.cu).
type BinOp int

// The binary operations; Max and Min propagate NaN and return b when a ==
// b; Pow is powf; Greater, Less and Equal give 1 or 0 (0 when either is NaN).
const (
	Add BinOp = iota
	Sub
	Mul
	Div
	Max
	Min
	Pow
	Greater
	Less
	Equal
)

var binNames = [...]string{"add", "sub", "mul", "div", "max", "min", "pow", "greater", "less", "equal"}

// String returns the operation's kernel name part ("add", ...).
func (op BinOp) String() string {
	if op < 0 || int(op) >= len(binNames) {
		return fmt.Sprintf("BinOp(%d)", int(op))
	}
	return binNames[op]
}

// Binary sets c = a op b over n contiguous elements of type dt (f32 or bf16).
func (d *Device) Binary(op BinOp, dt DType, c, a, b DevicePtr, n int64) error {
	name := kname("binary", op.String(), dt.String())
	if op < 0 || int(op) >= len(binNames) {
		return fmt.Errorf("cuda.Binary: unknown operation %v", op)
	}
	if err := checkActDType(name, dt); err != nil {
		return err
	}
	if err := checkSizes(name, n); err != nil || n == 0 {
		return err
	}
	return d.launch1D(name, n, vecWidth(dt), c, a, b, n)
}

// BinaryBroadcast sets the contiguous f32 output c of shape shape to a op b,
// reading a and b through element strides (0 on broadcast dimensions; any
// strides, so views need no copy). Rank at most MaxDims.
func (d *Device) BinaryBroadcast(op BinOp, c DevicePtr, shape []int64, a DevicePtr, aStrides []int64, b DevicePtr, bStrides []int64) error {
	name := kname("binary_bcast", op.String(), "f32")
	if op < 0 || int(op) >= len(binNames) {
		return fmt.Errorf("cuda.BinaryBroadcast: unknown operation %v", op)
	}
	n, err := checkStrided(name, shape, aStrides, bStrides)
	if err != nil || n == 0 {
		return err
	}
	shape, st := mergeDims(shape, aStrides, bStrides)
	per := 1
	if shape[len(shape)-1]%4 == 0 && c%16 == 0 {
		per = 4 // the kernel's 4-wide path (elementwise.cu, bcast)
	}
	return d.launch1D(name, n, per, c, a, b, stridedArgs(shape, st[0], st[1]))
}

// mergeDims returns an equivalent shape and strides for a contiguous output
// read through strides (n > 0): dimensions of size 1 dropped, and each
// dimension merged into the one outside it where every operand steps
// through both as through one (stride[outer] == stride[inner]*shape[inner]),
// so [B, S, H] + [H] becomes [B*S, H]: fewer index divisions per element,
// and the kernel sees the true innermost run. At least one dimension.
func mergeDims(shape []int64, strides ...[]int64) ([]int64, [][]int64) {
	sh := make([]int64, 0, len(shape))
	st := make([][]int64, len(strides))
	for d, n := range shape {
		if n == 1 {
			continue
		}
		if k := len(sh) - 1; k >= 0 {
			merge := true
			for o, s := range strides {
				if st[o][k] != s[d]*n {
					merge = false
					break
				}
			}
			if merge {
				sh[k] *= n
				for o, s := range strides {
					st[o][k] = s[d]
				}
				continue
			}
		}
		sh = append(sh, n)
		for o, s := range strides {
			st[o] = append(st[o], s[d])
		}
	}
	if len(sh) == 0 {
		sh = append(sh, 1)
		for o := range strides {
			st[o] = append(st[o], 0)
		}
	}
	return sh, st
}

// Scale sets y = alpha*x over n f32 elements (y may alias x).
func (d *Device) Scale(y, x DevicePtr, alpha float32, n int64) error {
	if err := checkSizes("ragr_scale_f32", n); err != nil || n == 0 {
		return err
	}
	return d.launch1D("ragr_scale_f32", n, 4, y, x, alpha, n)
}

// Axpy adds alpha*x to y over n f32 elements.
func (d *Device) Axpy(y DevicePtr, alpha float32, x DevicePtr, n int64) error {
	if err := checkSizes("ragr_axpy_f32", n); err != nil || n == 0 {
		return err
	}
	return d.launch1D("ragr_axpy_f32", n, 1, y, alpha, x, n)
}

// Where sets the contiguous f32 output c of shape shape to a where cond is
// nonzero and to b elsewhere, reading cond, a and b through element strides
// (0 on broadcast dimensions). condType is cond's dtype: F32, BF16 or F16
// (nonzero by value: -0 is zero, NaN is nonzero) or I32. Rank at most
// MaxDims.
func (d *Device) Where(c DevicePtr, shape []int64, cond DevicePtr, condType DType, condStrides []int64, a DevicePtr, aStrides []int64, b DevicePtr, bStrides []int64) error {
	var name string
	var mask uint32
	switch condType {
	case F32:
		name, mask = "ragr_where_c32_f32", 0x7fffffff
	case I32:
		name, mask = "ragr_where_c32_f32", 0xffffffff
	case BF16, F16:
		name, mask = "ragr_where_c16_f32", 0x7fff
	default:
		return fmt.Errorf("kernel ragr_where: condition dtype %v not supported (f32, bf16, f16, i32)", condType)
	}
	n, err := checkStrided(name, shape, condStrides, aStrides, bStrides)
	if err != nil || n == 0 {
		return err
	}
	return d.launch1D(name, n, 1, c, cond, mask, a, b, stridedArgs(shape, condStrides, aStrides, bStrides))
}
