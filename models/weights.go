package models

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
	"github.com/ragr-dev/ragr/tensor/torchbin"
)

// Weights is a checkpoint's named tensors.
type Weights interface {
	// Path names the file (or index) the weights come from.
	Path() string
	// Names lists the tensor names, sorted.
	Names() []string
	// Shape returns a tensor's shape without loading it.
	Shape(name string) ([]int, error)
	// Float32 loads a tensor as a fresh float32 tensor.
	Float32(name string) (*tensor.Tensor, error)
	// Close releases the files.
	Close() error
}

// stWeights adapts a safetensors source.
type stWeights struct {
	src  safetensors.Source
	path string
}

func (w stWeights) Path() string                             { return w.path }
func (w stWeights) Names() []string                          { return w.src.Names() }
func (w stWeights) Float32(n string) (*tensor.Tensor, error) { return w.src.Float32(n) }
func (w stWeights) Close() error                             { return w.src.Close() }
func (w stWeights) Shape(n string) ([]int, error) {
	info, err := w.src.Info(n)
	if err != nil {
		return nil, err
	}
	return info.Shape, nil
}

// mapWeights holds tensors already in memory (a pytorch_model.bin).
type mapWeights struct {
	m    map[string]*tensor.Tensor
	path string
}

func (w mapWeights) Path() string { return w.path }
func (w mapWeights) Names() []string {
	names := make([]string, 0, len(w.m))
	for n := range w.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
func (w mapWeights) Shape(n string) ([]int, error) {
	t, ok := w.m[n]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", w.path, n)
	}
	return t.Shape(), nil
}
func (w mapWeights) Float32(n string) (*tensor.Tensor, error) {
	t, ok := w.m[n]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", w.path, n)
	}
	if !t.DType().IsFloat() {
		return nil, fmt.Errorf("%s: tensor %q is %s, not a float tensor", w.path, n, t.DType())
	}
	return t.Cast(tensor.Float32).Contiguous(), nil
}
func (w mapWeights) Close() error { return nil }

// NewMapWeights wraps in-memory tensors as Weights (path names them in
// errors).
func NewMapWeights(m map[string]*tensor.Tensor, path string) Weights { return mapWeights{m, path} }

// OpenWeightsFile opens one weights file: a .safetensors file, a sharded
// index (model.safetensors.index.json) or a pytorch_model.bin.
func OpenWeightsFile(path string) (Weights, error) {
	switch {
	case strings.HasSuffix(path, ".index.json"):
		s, err := safetensors.OpenIndex(path)
		if err != nil {
			return nil, err
		}
		return stWeights{s, path}, nil
	case strings.HasSuffix(path, ".safetensors"):
		f, err := safetensors.Open(path)
		if err != nil {
			return nil, err
		}
		return stWeights{f, path}, nil
	case strings.HasSuffix(path, ".bin") || strings.HasSuffix(path, ".pt") || strings.HasSuffix(path, ".pth"):
		m, err := torchbin.Load(path)
		if err != nil {
			return nil, err
		}
		return mapWeights{m, path}, nil
	}
	return nil, fmt.Errorf("models: %s: unknown weights format (want .safetensors, .safetensors.index.json or a PyTorch .bin)", path)
}

// ErrNoWeights is returned when a model directory holds no weights file.
var ErrNoWeights = errors.New("no weights file (model.safetensors, model.safetensors.index.json or pytorch_model.bin)")

// OpenWeights opens the weights of a model directory, preferring the
// sharded safetensors index, then model.safetensors, then pytorch_model.bin.
func OpenWeights(dir string) (Weights, error) {
	for _, name := range []string{safetensors.IndexName, safetensors.SingleName, "pytorch_model.bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return OpenWeightsFile(p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("models: %s: %w", p, err)
		}
	}
	return nil, fmt.Errorf("models: %s: %w", dir, ErrNoWeights)
}

// LoadOptions tune LoadParams.
type LoadOptions struct {
	// Prefixes are tried in turn when a parameter's own name is missing:
	// "bert." finds "embeddings.…" stored as "bert.embeddings.…" and the
	// reverse (a checkpoint saved from a task model loaded into a base one).
	Prefixes []string
	// Optional names parameters that keep their fresh values when missing.
	Optional func(name string) bool
}

// LoadParams fills every parameter from w, checking shapes. It returns an
// error naming the file and the tensor for a missing tensor, a shape
// mismatch or a load failure.
func LoadParams(params []nn.NamedParam, w Weights, o LoadOptions) error {
	have := map[string]bool{}
	for _, n := range w.Names() {
		have[n] = true
	}
	var missing []string
	for _, p := range params {
		name, ok := resolve(p.Name, have, o.Prefixes)
		if !ok {
			if o.Optional != nil && o.Optional(p.Name) {
				continue
			}
			missing = append(missing, p.Name)
			continue
		}
		shape, err := w.Shape(name)
		if err != nil {
			return fmt.Errorf("models: %s: %w", w.Path(), err)
		}
		want := p.Var.Value.Shape()
		if !equalShape(shape, want) {
			return fmt.Errorf("models: %s: tensor %q has shape %v, want %v", w.Path(), name, shape, want)
		}
		t, err := w.Float32(name)
		if err != nil {
			return fmt.Errorf("models: %s: tensor %q: %w", w.Path(), name, err)
		}
		if p.Var.Value.DType() != tensor.Float32 {
			t = t.Cast(p.Var.Value.DType())
		}
		p.Var.Value = t
	}
	if len(missing) > 0 {
		more := ""
		if len(missing) > 5 {
			more = fmt.Sprintf(" and %d more", len(missing)-5)
			missing = missing[:5]
		}
		return fmt.Errorf("models: %s: missing tensors %s%s", w.Path(), strings.Join(missing, ", "), more)
	}
	return nil
}

func resolve(name string, have map[string]bool, prefixes []string) (string, bool) {
	if have[name] {
		return name, true
	}
	for _, p := range prefixes {
		if have[p+name] {
			return p + name, true
		}
		if s, ok := strings.CutPrefix(name, p); ok && have[s] {
			return s, true
		}
	}
	return "", false
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// StateDict returns the parameters' current values by name (for export).
func StateDict(params []nn.NamedParam) map[string]*tensor.Tensor {
	m := make(map[string]*tensor.Tensor, len(params))
	for _, p := range params {
		m[p.Name] = p.Var.Value
	}
	return m
}
