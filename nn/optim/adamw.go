package optim

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// Config holds AdamW's hyper-parameters (torch.optim.AdamW's arguments).
// Start from DefaultConfig: every field is used as given (a zero Beta2 is a
// valid, if unusual, choice).
type Config struct {
	// LR is the base learning rate of groups that set none.
	LR float64 `json:"lr"`
	// Beta1 and Beta2 are the moment decay rates (betas).
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// Eps is added to the denominator.
	Eps float64 `json:"eps"`
	// WeightDecay is the decoupled weight decay of OneGroup and
	// DecayGroups-style helpers; each Group carries its own.
	WeightDecay float64 `json:"weight_decay"`
}

// DefaultConfig returns torch.optim.AdamW's defaults: lr 1e-3, betas (0.9,
// 0.999), eps 1e-8, weight_decay 1e-2.
func DefaultConfig() Config {
	return Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-2}
}

// validate applies torch.optim.AdamW's argument checks.
func (c Config) validate() error {
	switch {
	case !(c.LR >= 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("optim: invalid learning rate %v", c.LR)
	case !(c.Eps >= 0) || math.IsInf(c.Eps, 0):
		return fmt.Errorf("optim: invalid eps %v", c.Eps)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("optim: invalid beta1 %v (want [0, 1))", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("optim: invalid beta2 %v (want [0, 1))", c.Beta2)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return fmt.Errorf("optim: invalid weight decay %v", c.WeightDecay)
	}
	return nil
}

// OneGroup puts every parameter in one group with weight decay weightDecay
// (torch.optim.AdamW(model.parameters(), weight_decay=...)).
func OneGroup(params []nn.NamedParam, weightDecay float64) []Group {
	return []Group{{Name: "all", Params: params, WeightDecay: weightDecay}}
}

// AdamW is torch.optim.AdamW (amsgrad=False, maximize=False) over named
// parameter groups, with a learning-rate schedule applied to each group's
// base learning rate at every step. It is not safe for concurrent use.
type AdamW struct {
	cfg      Config
	groups   []*group
	byName   map[string]*param
	schedule Schedule
	steps    int
	// gradScale is the clipping coefficient ClipGradNorm left for the next
	// Step to apply (0: none).
	gradScale float64
}

type group struct {
	name   string
	lr, wd float64
	params []*param
}

// param is one parameter and its optimizer state (torch's
// state[p] = {step, exp_avg, exp_avg_sq}).
type param struct {
	name     string
	v        *autograd.Var
	expAvg   *tensor.Tensor // nil until the first step with a gradient
	expAvgSq *tensor.Tensor
	step     int
}

// NewAdamW returns an AdamW over groups with the hyper-parameters cfg and
// the learning-rate schedule sched (nil: Constant). It returns an error for
// invalid hyper-parameters, a parameter without a value, a parameter that is
// not Float32 or Float64, and a parameter (the same Var or the same name)
// listed twice.
func NewAdamW(groups []Group, cfg Config, sched Schedule) (*AdamW, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := &AdamW{cfg: cfg, byName: map[string]*param{}, schedule: sched}
	seen := map[*autograd.Var]string{}
	for gi, g := range groups {
		lr := g.LR
		if lr == 0 {
			lr = cfg.LR
		}
		gc := cfg
		gc.LR, gc.WeightDecay = lr, g.WeightDecay
		if err := gc.validate(); err != nil {
			return nil, fmt.Errorf("optim: group %d (%q): %w", gi, g.Name, err)
		}
		st := &group{name: g.Name, lr: lr, wd: g.WeightDecay}
		for _, np := range g.Params {
			if np.Var == nil || np.Var.Value == nil {
				return nil, fmt.Errorf("optim: group %d (%q): parameter %q has no value", gi, g.Name, np.Name)
			}
			if dt := np.Var.Value.DType(); dt != tensor.Float32 && dt != tensor.Float64 {
				return nil, fmt.Errorf("optim: group %d (%q): parameter %q is %s (want float32 or float64)", gi, g.Name, np.Name, dt)
			}
			if prev, ok := seen[np.Var]; ok {
				return nil, fmt.Errorf("optim: parameter %q (also listed as %q) appears in more than one place", np.Name, prev)
			}
			if _, ok := o.byName[np.Name]; ok {
				return nil, fmt.Errorf("optim: two parameters are named %q", np.Name)
			}
			seen[np.Var] = np.Name
			p := &param{name: np.Name, v: np.Var}
			o.byName[np.Name] = p
			st.params = append(st.params, p)
		}
		o.groups = append(o.groups, st)
	}
	return o, nil
}

// multiplier returns the schedule's factor for the next step.
func (o *AdamW) multiplier() float64 {
	if o.schedule == nil {
		return 1
	}
	return o.schedule(o.steps)
}

// Step applies one AdamW update to every parameter that has a gradient
// (Var.Grad not nil; the others keep their value and state, as in PyTorch),
// with each group's learning rate = its base rate × the schedule at the
// current step count, then advances the step count. Gradients are read, not
// cleared: call ZeroGrad before the next backward pass.
//
// Step panics when a gradient's shape differs from its parameter's.
func (o *AdamW) Step() {
	mult := o.multiplier()
	type key struct {
		step int
		dev  tensor.Device
	}
	type batch struct {
		ps, gs, ms, vs []*tensor.Tensor
		wds            []float64
	}
	for _, g := range o.groups {
		lr := g.lr * mult
		// Parameters of one group with the same step count on one device
		// are updated together (one launch of a multi-tensor kernel where
		// the backend has one; tensor by tensor on the CPU).
		var order []key
		batches := map[key]*batch{}
		for _, p := range g.params {
			grad := p.v.Grad
			if grad == nil {
				continue
			}
			val := p.v.Value
			if !tensor.SameShape(val, grad) {
				panic(fmt.Sprintf("optim.AdamW.Step: gradient of shape %v for parameter %q of shape %v", grad.Shape(), p.name, val.Shape()))
			}
			if !val.IsContiguous() {
				panic(fmt.Sprintf("optim.AdamW.Step: parameter %q (shape %v) is not contiguous", p.name, val.Shape()))
			}
			if p.expAvg == nil {
				p.expAvg = tensor.ZerosAs(val, val.Shape()...)
				p.expAvgSq = tensor.ZerosAs(val, val.Shape()...)
			}
			p.step++
			k := key{p.step, val.Device()}
			b, ok := batches[k]
			if !ok {
				b = &batch{}
				batches[k] = b
				order = append(order, k)
			}
			b.ps, b.gs = append(b.ps, val), append(b.gs, grad.Contiguous())
			b.ms, b.vs, b.wds = append(b.ms, p.expAvg), append(b.vs, p.expAvgSq), append(b.wds, g.wd)
		}
		for _, k := range order {
			b := batches[k]
			tensor.AdamWSteps(b.ps, b.gs, b.ms, b.vs, b.wds, tensor.AdamWParams{
				LR: lr, Beta1: o.cfg.Beta1, Beta2: o.cfg.Beta2, Eps: o.cfg.Eps, Step: k.step, GradScale: o.gradScale,
			})
		}
	}
	o.gradScale = 0
	o.steps++
}

// To moves the optimizer state (the moments) to device d, where the
// parameters now live (after moving a model, or loading a state file
// while the parameters were elsewhere).
func (o *AdamW) To(d tensor.Device) error {
	for _, g := range o.groups {
		for _, p := range g.params {
			if p.expAvg == nil {
				continue
			}
			m, err := p.expAvg.To(d)
			if err != nil {
				return fmt.Errorf("optim: moving the state of %q to %s: %w", p.name, d, err)
			}
			v, err := p.expAvgSq.To(d)
			if err != nil {
				return fmt.Errorf("optim: moving the state of %q to %s: %w", p.name, d, err)
			}
			p.expAvg, p.expAvgSq = m, v
		}
	}
	return nil
}

// ZeroGrad drops the gradient of every parameter (torch's
// zero_grad(set_to_none=True)).
func (o *AdamW) ZeroGrad() {
	o.gradScale = 0
	for _, g := range o.groups {
		for _, p := range g.params {
			p.v.ZeroGrad()
		}
	}
}

// Params lists every parameter, group by group.
func (o *AdamW) Params() []nn.NamedParam {
	var ps []nn.NamedParam
	for _, g := range o.groups {
		for _, p := range g.params {
			ps = append(ps, nn.NamedParam{Name: p.name, Var: p.v})
		}
	}
	return ps
}

// Groups returns the groups as they are now (base learning rates and
// weight decays, which Load may have replaced).
func (o *AdamW) Groups() []Group {
	out := make([]Group, len(o.groups))
	for i, g := range o.groups {
		out[i] = Group{Name: g.name, LR: g.lr, WeightDecay: g.wd}
		for _, p := range g.params {
			out[i].Params = append(out[i].Params, nn.NamedParam{Name: p.name, Var: p.v})
		}
	}
	return out
}

// Config returns the hyper-parameters.
func (o *AdamW) Config() Config { return o.cfg }

// SetSchedule replaces the schedule (nil: Constant); the step count stays.
func (o *AdamW) SetSchedule(s Schedule) { o.schedule = s }

// StepCount returns the number of Step calls so far: the schedule's
// position (a torch LambdaLR's last_epoch).
func (o *AdamW) StepCount() int { return o.steps }

// LR returns group i's learning rate for the next Step.
func (o *AdamW) LR(i int) float64 {
	if i < 0 || i >= len(o.groups) {
		panic(fmt.Sprintf("optim.AdamW.LR: group %d of %d", i, len(o.groups)))
	}
	return o.groups[i].lr * o.multiplier()
}

// LRs returns every group's learning rate for the next Step (torch's
// scheduler.get_last_lr()).
func (o *AdamW) LRs() []float64 {
	out := make([]float64, len(o.groups))
	for i := range o.groups {
		out[i] = o.LR(i)
	}
	return out
}

// ParamStep returns how many updates the parameter called name received
// (torch's state[p]["step"]): 0 for one that never had a gradient, -1 for
// an unknown name.
func (o *AdamW) ParamStep(name string) int {
	p, ok := o.byName[name]
	if !ok {
		return -1
	}
	return p.step
}

// Moments returns the first and second moment estimates (exp_avg,
// exp_avg_sq) of the parameter called name; nil before its first update or
// for an unknown name. They are the optimizer's own tensors, not copies.
func (o *AdamW) Moments(name string) (expAvg, expAvgSq *tensor.Tensor) {
	p, ok := o.byName[name]
	if !ok {
		return nil, nil
	}
	return p.expAvg, p.expAvgSq
}

// GradNorm returns the global L2 norm of the parameters' gradients (see the
// package function GradNorm) as the next Step will apply them: after
// ClipGradNorm, whose scaling Step performs, the norm times the clipping
// coefficient (equal to the clipped gradients' norm up to rounding).
func (o *AdamW) GradNorm() float64 {
	n := GradNorm(o.Params())
	if o.gradScale != 0 {
		n *= math.Abs(o.gradScale)
	}
	return n
}

// ClipGradNorm clips the parameters' gradients to a global L2 norm of
// maxNorm and returns the norm before clipping (see the package function
// ClipGradNorm).
//
// The scaling itself is deferred into the next Step, which multiplies each
// gradient by the coefficient as it reads it (bit-identical to scaling
// first, one pass over the gradients fewer): until then the gradients are
// left as they were. ZeroGrad cancels a pending scale. Use the function
// ClipGradNorm to scale the gradients in place.
func (o *AdamW) ClipGradNorm(maxNorm float64) float64 {
	total, c := clipCoef(o.Params(), maxNorm)
	if c != 1 || math.IsNaN(c) {
		o.gradScale = c
	}
	return total
}
