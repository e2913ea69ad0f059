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
)

var actNames = [...]string{"gelu_erf", "gelu_tanh", "silu", "tanh", "sigmoid"}

// String returns the kernel family name ("gelu_erf", ...).
func (a Act) String() string {
	if a < 0 || int(a) >= len(actNames) {
		return fmt.Sprintf("Act(%d)", int(a))
	}
	return actNames[a]
}

// BackwardTakesOutput reports whether the backward pass reads the forward
// output y (tanh, sigmoid) rather than the input x.
func (a Act) BackwardTakesOutput() bool { return a == Tanh || a == Sigmoid }

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

// The binary operations; Max and Min propagate NaN and return b when a == b.
const (
	Add BinOp = iota
	Sub
	Mul
	Div
	Max
	Min
)

var binNames = [...]string{"add", "sub", "mul", "div", "max", "min"}

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
	return d.launch1D(name, n, 1, c, a, b, stridedArgs(shape, aStrides, bStrides))
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
