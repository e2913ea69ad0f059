package nn

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// NamedParam is one parameter with its state_dict name.
type NamedParam struct {
	Name string
	Var  *autograd.Var
}

// Module is anything with parameters.
type Module interface {
	// NamedParams lists the parameters, each name prefixed by prefix (a
	// dotted path such as "encoder.layer.0.").
	NamedParams(prefix string) []NamedParam
}

// Linear is y = x·Wᵀ + b (torch.nn.Linear): Weight [out, in], Bias [out] or
// nil.
type Linear struct {
	Weight, Bias *autograd.Var
}

// NewLinear returns a Linear with weights drawn from N(0, std²) and a zero
// bias (Hugging Face's BERT/Qwen2 initialisation) when bias is set.
func NewLinear(in, out int, bias bool, std float64, rng *tensor.RNG) *Linear {
	l := &Linear{Weight: autograd.Param(rng.Normal(0, std, out, in), "weight")}
	if bias {
		l.Bias = autograd.Param(tensor.Zeros(out), "bias")
	}
	return l
}

// Forward applies the layer to x [..., in].
func (l *Linear) Forward(x *autograd.Var) *autograd.Var { return autograd.Linear(x, l.Weight, l.Bias) }

// NamedParams lists weight and bias.
func (l *Linear) NamedParams(prefix string) []NamedParam {
	ps := []NamedParam{{prefix + "weight", l.Weight}}
	if l.Bias != nil {
		ps = append(ps, NamedParam{prefix + "bias", l.Bias})
	}
	return ps
}

// Embedding is a lookup table [vocab, dim] (torch.nn.Embedding). Rows of
// PaddingIdx (when >= 0) receive no gradient.
type Embedding struct {
	Weight     *autograd.Var
	PaddingIdx int
}

// NewEmbedding returns an Embedding drawn from N(0, std²) (the padding row
// zeroed, as torch does).
func NewEmbedding(vocab, dim int, paddingIdx int, std float64, rng *tensor.RNG) *Embedding {
	w := rng.Normal(0, std, vocab, dim)
	if paddingIdx >= 0 && paddingIdx < vocab {
		for i := 0; i < dim; i++ {
			w.Set(0, paddingIdx, i)
		}
	}
	return &Embedding{Weight: autograd.Param(w, "weight"), PaddingIdx: paddingIdx}
}

// Forward looks up Int32 ids of any shape; an id outside the vocabulary
// returns an error.
func (e *Embedding) Forward(ids *tensor.Tensor) (*autograd.Var, error) {
	return autograd.EmbeddingPad(e.Weight, ids, e.PaddingIdx)
}

// NamedParams lists the weight.
func (e *Embedding) NamedParams(prefix string) []NamedParam {
	return []NamedParam{{prefix + "weight", e.Weight}}
}

// LayerNorm normalises the last axis (torch.nn.LayerNorm with affine
// parameters).
type LayerNorm struct {
	Weight, Bias *autograd.Var
	Eps          float64
}

// NewLayerNorm returns a LayerNorm with weight 1 and bias 0.
func NewLayerNorm(dim int, eps float64) *LayerNorm {
	return &LayerNorm{Weight: autograd.Param(tensor.Ones(dim), "weight"), Bias: autograd.Param(tensor.Zeros(dim), "bias"), Eps: eps}
}

// Forward normalises x.
func (l *LayerNorm) Forward(x *autograd.Var) *autograd.Var {
	return autograd.LayerNorm(x, l.Weight, l.Bias, l.Eps)
}

// NamedParams lists weight and bias.
func (l *LayerNorm) NamedParams(prefix string) []NamedParam {
	return []NamedParam{{prefix + "weight", l.Weight}, {prefix + "bias", l.Bias}}
}

// RMSNorm normalises the last axis by its root mean square (Qwen2RMSNorm).
type RMSNorm struct {
	Weight *autograd.Var
	Eps    float64
}

// NewRMSNorm returns an RMSNorm with weight 1.
func NewRMSNorm(dim int, eps float64) *RMSNorm {
	return &RMSNorm{Weight: autograd.Param(tensor.Ones(dim), "weight"), Eps: eps}
}

// Forward normalises x.
func (r *RMSNorm) Forward(x *autograd.Var) *autograd.Var { return autograd.RMSNorm(x, r.Weight, r.Eps) }

// NamedParams lists the weight.
func (r *RMSNorm) NamedParams(prefix string) []NamedParam {
	return []NamedParam{{prefix + "weight", r.Weight}}
}

// Dropout zeroes elements with probability P while training.
type Dropout struct {
	P float64
}

// Forward applies dropout with masks from rng when training.
func (d Dropout) Forward(x *autograd.Var, rng *tensor.RNG, training bool) *autograd.Var {
	if !training || d.P == 0 || rng == nil {
		return x
	}
	return autograd.Dropout(x, d.P, rng, true)
}

// Collect concatenates the parameter lists of several modules, each under
// its own prefix.
func Collect(parts ...[]NamedParam) []NamedParam {
	var out []NamedParam
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// MoveParams moves every parameter's value to device d (the Vars keep
// their identity, so a tied weight stays tied); an error names the
// parameter that could not move (a device out of memory).
func MoveParams(ps []NamedParam, d tensor.Device) error {
	for _, p := range ps {
		v, err := p.Var.Value.To(d)
		if err != nil {
			return fmt.Errorf("nn: moving parameter %s to %s: %w", p.Name, d, err)
		}
		p.Var.Value = v
	}
	return nil
}

// MaskMin is the additive value of a masked attention score, the most
// negative float32 (Hugging Face's finfo(float32).min).
var MaskMin = -math.MaxFloat32
