package optim

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
)

// StateFormat is the "format" metadata value of an AdamW state file.
const StateFormat = "ragr.optim.adamw/v1"

// A state file is a safetensors file holding, for every parameter that has
// optimizer state, "<name>.exp_avg" and "<name>.exp_avg_sq" in the
// parameter's dtype and shape, with metadata "format" (StateFormat) and
// "state" (stateMeta as JSON).
type stateMeta struct {
	Config Config `json:"config"`
	// Steps is the optimizer's step count (the schedule position).
	Steps  int         `json:"steps"`
	Groups []groupMeta `json:"groups"`
	// ParamSteps holds each parameter's own step count (torch's
	// state[p]["step"]) for parameters that have state.
	ParamSteps map[string]int `json:"param_steps"`
}

type groupMeta struct {
	Name        string   `json:"name"`
	LR          float64  `json:"lr"`
	WeightDecay float64  `json:"weight_decay"`
	Params      []string `json:"params"`
}

const (
	suffixExpAvg   = ".exp_avg"
	suffixExpAvgSq = ".exp_avg_sq"
)

// Save writes the optimizer's state to path (a safetensors file, written
// atomically): the moments and step count of every parameter that has
// state, the hyper-parameters, each group's base learning rate, weight decay
// and parameter names, and the step count (the schedule position). The
// parameters' values are not included: save them with the model.
func (o *AdamW) Save(path string) error {
	meta := stateMeta{Config: o.cfg, Steps: o.steps, ParamSteps: map[string]int{}}
	tensors := map[string]*tensor.Tensor{}
	for _, g := range o.groups {
		gm := groupMeta{Name: g.name, LR: g.lr, WeightDecay: g.wd, Params: []string{}}
		for _, p := range g.params {
			gm.Params = append(gm.Params, p.name)
			if p.expAvg == nil {
				continue
			}
			meta.ParamSteps[p.name] = p.step
			tensors[p.name+suffixExpAvg] = p.expAvg
			tensors[p.name+suffixExpAvgSq] = p.expAvgSq
		}
		meta.Groups = append(meta.Groups, gm)
	}
	js, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("optim: saving %s: %w", path, err)
	}
	return safetensors.Write(path, tensors, map[string]string{"format": StateFormat, "state": string(js)})
}

// Load replaces the optimizer's state with the one Save wrote to path: the
// hyper-parameters, each group's base learning rate and weight decay, the
// step count and every parameter's moments and step count (parameters
// without saved state start afresh), as torch's load_state_dict does. The
// schedule itself is not saved: the optimizer keeps its own, at the loaded
// position. The file must describe the same groups holding the same
// parameter names, with moments of the parameters' shapes and dtypes;
// otherwise Load returns an error naming the file and the first offending
// group or parameter, and the optimizer is unchanged.
func (o *AdamW) Load(path string) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("optim: loading state: %w", err)
	}
	defer f.Close()
	md := f.Metadata()
	if md["format"] != StateFormat {
		return fmt.Errorf("optim: %s: not an AdamW state file (format %q, want %q)", path, md["format"], StateFormat)
	}
	var meta stateMeta
	if err := json.Unmarshal([]byte(md["state"]), &meta); err != nil {
		return fmt.Errorf("optim: %s: state metadata: %w", path, err)
	}
	if err := meta.Config.validate(); err != nil {
		return fmt.Errorf("optim: %s: %w", path, err)
	}
	if meta.Steps < 0 {
		return fmt.Errorf("optim: %s: negative step count %d", path, meta.Steps)
	}
	if len(meta.Groups) != len(o.groups) {
		return fmt.Errorf("optim: %s: %d parameter groups, the optimizer has %d", path, len(meta.Groups), len(o.groups))
	}
	for i, gm := range meta.Groups {
		g := o.groups[i]
		for j, p := range g.params {
			if j >= len(gm.Params) || gm.Params[j] != p.name {
				if slices.Contains(gm.Params, p.name) {
					return fmt.Errorf("optim: %s: group %d (%q): parameter %q is at another position", path, i, g.name, p.name)
				}
				return fmt.Errorf("optim: %s: group %d (%q) has no parameter %q", path, i, gm.Name, p.name)
			}
		}
		if len(gm.Params) > len(g.params) {
			return fmt.Errorf("optim: %s: group %d (%q): unknown parameter %q", path, i, gm.Name, gm.Params[len(g.params)])
		}
		c := meta.Config
		c.LR, c.WeightDecay = gm.LR, gm.WeightDecay
		if err := c.validate(); err != nil {
			return fmt.Errorf("optim: %s: group %d (%q): %w", path, i, gm.Name, err)
		}
	}
	// Every tensor must belong to a known parameter with a step count.
	for _, n := range f.Names() {
		name, ok := trimMoment(n)
		if !ok {
			return fmt.Errorf("optim: %s: unexpected tensor %q", path, n)
		}
		if _, known := o.byName[name]; !known {
			return fmt.Errorf("optim: %s: state for unknown parameter %q", path, name)
		}
		if _, ok := meta.ParamSteps[name]; !ok {
			return fmt.Errorf("optim: %s: parameter %q has moments but no step count", path, name)
		}
	}
	type loaded struct {
		m, v *tensor.Tensor
		step int
	}
	states := map[string]loaded{}
	for name, step := range meta.ParamSteps {
		p, ok := o.byName[name]
		if !ok {
			return fmt.Errorf("optim: %s: state for unknown parameter %q", path, name)
		}
		if step < 1 {
			return fmt.Errorf("optim: %s: parameter %q: step count %d < 1", path, name, step)
		}
		m, err := loadMoment(f, path, p, suffixExpAvg)
		if err != nil {
			return err
		}
		v, err := loadMoment(f, path, p, suffixExpAvgSq)
		if err != nil {
			return err
		}
		states[name] = loaded{m, v, step}
	}
	// Commit.
	o.cfg = meta.Config
	o.steps = meta.Steps
	for i, gm := range meta.Groups {
		o.groups[i].lr, o.groups[i].wd = gm.LR, gm.WeightDecay
		for _, p := range o.groups[i].params {
			s, ok := states[p.name]
			if !ok {
				p.expAvg, p.expAvgSq, p.step = nil, nil, 0
				continue
			}
			p.expAvg, p.expAvgSq, p.step = s.m, s.v, s.step
		}
	}
	return nil
}

// trimMoment splits a state tensor name into the parameter name.
func trimMoment(n string) (string, bool) {
	// ".exp_avg_sq" ends with neither ".exp_avg" nor vice versa, so the
	// order of the checks does not matter.
	for _, s := range []string{suffixExpAvgSq, suffixExpAvg} {
		if len(n) > len(s) && n[len(n)-len(s):] == s {
			return n[:len(n)-len(s)], true
		}
	}
	return "", false
}

// loadMoment reads one moment of p into a fresh tensor on p's device.
func loadMoment(f *safetensors.File, path string, p *param, suffix string) (*tensor.Tensor, error) {
	name := p.name + suffix
	val := p.v.Value
	info, err := f.Info(name)
	if err != nil {
		return nil, fmt.Errorf("optim: %s: parameter %q: missing %s: %w", path, p.name, suffix[1:], err)
	}
	if !slices.Equal(info.Shape, val.Shape()) {
		return nil, fmt.Errorf("optim: %s: parameter %q: %s has shape %v, the parameter %v", path, p.name, suffix[1:], info.Shape, val.Shape())
	}
	t, err := f.Tensor(name)
	if err != nil {
		return nil, fmt.Errorf("optim: %s: parameter %q: %w", path, p.name, err)
	}
	if t.DType() != val.DType() {
		return nil, fmt.Errorf("optim: %s: parameter %q: %s is %s, the parameter %s", path, p.name, suffix[1:], t.DType(), val.DType())
	}
	// The file's tensor may alias the mapping, which Close unmaps: copy it.
	if val.Device() == tensor.CPU {
		return t.Clone(), nil
	}
	d, err := t.To(val.Device())
	if err != nil {
		return nil, fmt.Errorf("optim: %s: parameter %q: %w", path, p.name, err)
	}
	return d, nil
}
