package optim

import (
	"math"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// spec describes a test parameter.
type spec struct {
	name  string
	shape []int
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// makeParams returns parameters with N(0, 1) values drawn from seed.
func makeParams(seed uint64, specs []spec) []nn.NamedParam {
	r := testutil.NewRand(seed)
	ps := make([]nn.NamedParam, len(specs))
	for i, s := range specs {
		ps[i] = nn.NamedParam{Name: s.name, Var: autograd.Param(tensor.FromFloat32(testutil.Normal32(r, numel(s.shape), 1), s.shape...), s.name)}
	}
	return ps
}

// cloneParams returns parameters with copies of ps' values and no gradients.
func cloneParams(ps []nn.NamedParam) []nn.NamedParam {
	out := make([]nn.NamedParam, len(ps))
	for i, p := range ps {
		out[i] = nn.NamedParam{Name: p.Name, Var: autograd.Param(p.Var.Value.Clone(), p.Name)}
	}
	return out
}

// gradFor returns a deterministic N(0, 0.25) gradient for parameter i at
// step (1-based).
func gradFor(i, step int, shape []int) *tensor.Tensor {
	r := testutil.NewRand(uint64(1000*step + i))
	return tensor.FromFloat32(testutil.Normal32(r, numel(shape), 0.5), shape...)
}

// adamRef is PyTorch's AdamW update of one parameter in float64.
type adamRef struct {
	p, m, v []float64
	step    int
}

func newAdamRef(p []float32) *adamRef {
	return &adamRef{p: testutil.To64(p), m: make([]float64, len(p)), v: make([]float64, len(p))}
}

func (a *adamRef) update(g []float32, lr, b1, b2, eps, wd float64) {
	a.update64(testutil.To64(g), lr, b1, b2, eps, wd)
}

func (a *adamRef) update64(g []float64, lr, b1, b2, eps, wd float64) {
	a.step++
	bc1 := 1 - math.Pow(b1, float64(a.step))
	bc2 := 1 - math.Pow(b2, float64(a.step))
	for i := range a.p {
		gi := g[i]
		a.p[i] *= 1 - lr*wd
		a.m[i] = b1*a.m[i] + (1-b1)*gi
		a.v[i] = b2*a.v[i] + (1-b2)*gi*gi
		a.p[i] -= lr / bc1 * a.m[i] / (math.Sqrt(a.v[i])/math.Sqrt(bc2) + eps)
	}
}
