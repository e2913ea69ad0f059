package optim

// Learning-rate schedules: the multiplier applied to each group's base
// learning rate, as a function of the number of optimizer steps already
// taken. The formulas are those of transformers' optimization.py
// (get_constant_schedule, get_constant_schedule_with_warmup,
// get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup,
// get_wsd_schedule), evaluated in float64 as Python evaluates them; an
// optimizer driven by them matches a torch LambdaLR that is stepped once
// after every optimizer.step().

import (
	"fmt"
	"math"
	"strings"
)

// Schedule returns the learning-rate multiplier for the optimizer step that
// follows step completed steps (0 for the first step), like the lr_lambda of
// a torch.optim.lr_scheduler.LambdaLR: the step's learning rate is the
// group's base learning rate times Schedule(step).
type Schedule func(step int) float64

// warmupFactor is transformers' linear warmup, step/max(1, warmup).
func warmupFactor(step, warmup int) float64 {
	return float64(step) / float64(max(1, warmup))
}

// Constant returns the multiplier 1 at every step
// (transformers.get_constant_schedule).
func Constant() Schedule { return func(int) float64 { return 1 } }

// ConstantWithWarmup rises linearly from 0 to 1 over warmup steps, then
// stays at 1 (transformers.get_constant_schedule_with_warmup).
func ConstantWithWarmup(warmup int) Schedule {
	checkSteps("ConstantWithWarmup", warmup, 0)
	return func(step int) float64 {
		if step < warmup {
			return warmupFactor(step, warmup)
		}
		return 1
	}
}

// LinearWithWarmup rises linearly from 0 to 1 over warmup steps, then falls
// linearly to 0 at total steps and stays there
// (transformers.get_linear_schedule_with_warmup).
func LinearWithWarmup(warmup, total int) Schedule {
	checkSteps("LinearWithWarmup", warmup, total)
	return func(step int) float64 {
		if step < warmup {
			return warmupFactor(step, warmup)
		}
		return math.Max(0, float64(total-step)/float64(max(1, total-warmup)))
	}
}

// CosineWithWarmup rises linearly from 0 to 1 over warmup steps, then
// follows numCycles periods of a cosine down (0.5: a half cosine from 1 to 0
// at total steps; transformers' default), clamped at 0
// (transformers.get_cosine_schedule_with_warmup).
func CosineWithWarmup(warmup, total int, numCycles float64) Schedule {
	checkSteps("CosineWithWarmup", warmup, total)
	return func(step int) float64 {
		if step < warmup {
			return warmupFactor(step, warmup)
		}
		progress := float64(step-warmup) / float64(max(1, total-warmup))
		return math.Max(0, 0.5*(1+math.Cos(math.Pi*numCycles*2*progress)))
	}
}

// Shape is the curve of a warmup-stable-decay schedule's warmup or decay
// phase.
type Shape string

// The shapes of transformers.get_wsd_schedule's warmup_type / decay_type.
const (
	// ShapeLinear: warmup p, decay 1-p (p the phase's progress in [0, 1)).
	ShapeLinear Shape = "linear"
	// ShapeCosine: warmup (1-cos πp)/2, decay (1+cos 2π·NumCycles·p)/2.
	ShapeCosine Shape = "cosine"
	// Shape1Sqrt: warmup 1-√(1-p), decay 1-√p (Hägele et al. 2024).
	Shape1Sqrt Shape = "1-sqrt"
)

func (s Shape) valid() bool { return s == ShapeLinear || s == ShapeCosine || s == Shape1Sqrt }

// WSD configures a warmup-stable-decay schedule
// (transformers.get_wsd_schedule): Warmup steps rising from MinLRRatio to 1,
// Stable steps at 1, Decay steps falling from 1 to MinLRRatio, then
// MinLRRatio for every later step.
type WSD struct {
	Warmup, Stable, Decay int
	// WarmupType and DecayType pick the curves; empty means transformers'
	// defaults, ShapeLinear warmup and ShapeCosine decay.
	WarmupType, DecayType Shape
	// MinLRRatio is the multiplier at both ends (0 in transformers).
	MinLRRatio float64
	// NumCycles is the number of cosine periods over the decay phase for
	// ShapeCosine; 0 means transformers' default 0.5 (a half cosine).
	NumCycles float64
}

// Schedule returns the WSD schedule, or an error for negative step counts
// or an unknown shape.
func (w WSD) Schedule() (Schedule, error) {
	if w.Warmup < 0 || w.Stable < 0 || w.Decay < 0 {
		return nil, fmt.Errorf("optim: WSD schedule with negative steps: warmup %d, stable %d, decay %d", w.Warmup, w.Stable, w.Decay)
	}
	if w.WarmupType == "" {
		w.WarmupType = ShapeLinear
	}
	if w.DecayType == "" {
		w.DecayType = ShapeCosine
	}
	if w.NumCycles == 0 {
		w.NumCycles = 0.5
	}
	if !w.WarmupType.valid() {
		return nil, fmt.Errorf("optim: unknown WSD warmup type %q (want linear, cosine or 1-sqrt)", w.WarmupType)
	}
	if !w.DecayType.valid() {
		return nil, fmt.Errorf("optim: unknown WSD decay type %q (want linear, cosine or 1-sqrt)", w.DecayType)
	}
	minR := w.MinLRRatio
	return func(step int) float64 {
		if step < w.Warmup {
			p := float64(step) / float64(max(1, w.Warmup))
			var f float64
			switch w.WarmupType {
			case ShapeLinear:
				f = p
			case ShapeCosine:
				f = 0.5 * (1 - math.Cos(math.Pi*p))
			case Shape1Sqrt:
				f = 1 - math.Sqrt(1-p)
			}
			return math.Max(0, f*(1-minR)+minR)
		}
		if step < w.Warmup+w.Stable {
			return 1
		}
		if step < w.Warmup+w.Stable+w.Decay {
			p := float64(step-w.Warmup-w.Stable) / float64(max(1, w.Decay))
			var f float64
			switch w.DecayType {
			case ShapeLinear:
				f = 1 - p
			case ShapeCosine:
				f = 0.5 * (1 + math.Cos(math.Pi*w.NumCycles*2*p))
			case Shape1Sqrt:
				f = 1 - math.Sqrt(p)
			}
			return math.Max(0, f*(1-minR)+minR)
		}
		return minR
	}, nil
}

func checkSteps(fn string, warmup, total int) {
	if warmup < 0 || total < 0 {
		panic(fmt.Sprintf("optim.%s: negative steps: warmup %d, total %d", fn, warmup, total))
	}
}

// ScheduleConfig selects and sizes a schedule from a training configuration,
// as RAG-Retrieval's trainers do: the warmup is
// int(WarmupProportion × TotalSteps) optimizer steps (Python's int(),
// truncating), unless WarmupSteps is set.
type ScheduleConfig struct {
	// Name is one of "constant", "constant_with_warmup", "linear",
	// "cosine", "wsd" (alias "warmup_stable_decay"); transformers'
	// SchedulerType spellings. Empty means "cosine", RAG-Retrieval's only
	// schedule.
	Name string `json:"lr_scheduler_type"`
	// TotalSteps is the number of optimizer steps of the whole run (after
	// gradient accumulation).
	TotalSteps int `json:"total_steps"`
	// WarmupProportion is the warmup as a fraction of TotalSteps, in [0, 1).
	WarmupProportion float64 `json:"warmup_proportion"`
	// WarmupSteps, when positive, is the warmup and WarmupProportion is
	// ignored.
	WarmupSteps int `json:"warmup_steps"`
	// StableProportion (wsd only) is the stable phase as a fraction of
	// TotalSteps: int(StableProportion × TotalSteps) steps. The decay phase
	// takes the remaining TotalSteps - warmup - stable steps.
	StableProportion float64 `json:"stable_proportion"`
	// NumCycles is the number of cosine periods (cosine, and wsd with a
	// cosine decay); 0 means 0.5.
	NumCycles float64 `json:"num_cycles"`
	// WarmupType and DecayType (wsd only) pick the curves; empty means
	// linear warmup and cosine decay (transformers' defaults).
	WarmupType Shape `json:"warmup_type"`
	DecayType  Shape `json:"decay_type"`
	// MinLRRatio (wsd only) is the multiplier at the start of warmup and the
	// end of decay.
	MinLRRatio float64 `json:"min_lr_ratio"`
}

// ScheduleNames lists the names NewSchedule accepts.
var ScheduleNames = []string{"constant", "constant_with_warmup", "linear", "cosine", "wsd", "warmup_stable_decay"}

// Warmup returns the warmup length c describes: WarmupSteps when positive,
// else int(WarmupProportion × TotalSteps).
func (c ScheduleConfig) Warmup() int {
	if c.WarmupSteps > 0 {
		return c.WarmupSteps
	}
	return int(c.WarmupProportion * float64(c.TotalSteps))
}

// NewSchedule builds the schedule c names. It returns an error for an
// unknown name, negative step counts, proportions outside [0, 1) or phases
// longer than TotalSteps.
func NewSchedule(c ScheduleConfig) (Schedule, error) {
	name := strings.ToLower(strings.TrimSpace(c.Name))
	if name == "" {
		name = "cosine"
	}
	if c.TotalSteps < 0 || c.WarmupSteps < 0 {
		return nil, fmt.Errorf("optim: schedule %q: negative steps (total %d, warmup %d)", name, c.TotalSteps, c.WarmupSteps)
	}
	if !(c.WarmupProportion >= 0 && c.WarmupProportion < 1) {
		return nil, fmt.Errorf("optim: schedule %q: warmup_proportion %v outside [0, 1)", name, c.WarmupProportion)
	}
	if !(c.StableProportion >= 0 && c.StableProportion < 1) {
		return nil, fmt.Errorf("optim: schedule %q: stable_proportion %v outside [0, 1)", name, c.StableProportion)
	}
	warmup := c.Warmup()
	cycles := c.NumCycles
	if cycles == 0 {
		cycles = 0.5
	}
	needTotal := func() error {
		if c.TotalSteps == 0 {
			return fmt.Errorf("optim: schedule %q needs total_steps", name)
		}
		if warmup > c.TotalSteps {
			return fmt.Errorf("optim: schedule %q: warmup %d steps longer than total_steps %d", name, warmup, c.TotalSteps)
		}
		return nil
	}
	switch name {
	case "constant":
		return Constant(), nil
	case "constant_with_warmup":
		return ConstantWithWarmup(warmup), nil
	case "linear":
		if err := needTotal(); err != nil {
			return nil, err
		}
		return LinearWithWarmup(warmup, c.TotalSteps), nil
	case "cosine":
		if err := needTotal(); err != nil {
			return nil, err
		}
		return CosineWithWarmup(warmup, c.TotalSteps, cycles), nil
	case "wsd", "warmup_stable_decay":
		if err := needTotal(); err != nil {
			return nil, err
		}
		stable := int(c.StableProportion * float64(c.TotalSteps))
		decay := c.TotalSteps - warmup - stable
		if decay < 0 {
			return nil, fmt.Errorf("optim: schedule %q: warmup %d + stable %d steps exceed total_steps %d", name, warmup, stable, c.TotalSteps)
		}
		return WSD{Warmup: warmup, Stable: stable, Decay: decay, WarmupType: c.WarmupType, DecayType: c.DecayType,
			MinLRRatio: c.MinLRRatio, NumCycles: cycles}.Schedule()
	}
	return nil, fmt.Errorf("optim: unknown schedule %q (want one of %s)", c.Name, strings.Join(ScheduleNames, ", "))
}
