package auto

import (
	"fmt"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/qwen2"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

func qwenInputs(in Inputs) qwen2.Inputs {
	return qwen2.Inputs{IDs: in.IDs, Mask: in.Mask, Positions: in.Positions}
}

// zeroPads zeroes the positions of x [B, L, ...] whose mask is 0: a
// decoder's outputs there are meaningless (pads attend nothing real).
func zeroPads(x *tensor.Tensor, mask *tensor.Tensor) *tensor.Tensor {
	if mask == nil {
		return x
	}
	shape := append([]int{mask.Dim(0), mask.Dim(1)}, make([]int, x.NDim()-2)...)
	for i := 2; i < x.NDim(); i++ {
		shape[i] = 1
	}
	pad := tensor.Binary(tensor.OpEqual, mask.Cast(x.DType()), tensor.ZerosAs(x)).Reshape(shape...)
	return tensor.MaskedFill(x, pad, 0)
}

// decoderOutputs names a Qwen2 backbone's outputs.
func decoderOutputs(o *qwen2.Output, in Inputs, idx []int) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{
		"last_hidden_state":       zeroPads(o.Last.Value, in.Mask),
		"last_token_hidden_state": nn.PoolAt(o.Last, idx).Value,
	}
	for i, h := range o.Hidden {
		out[fmt.Sprintf("hidden_states.%d", i)] = zeroPads(h.Value, in.Mask)
	}
	return out
}

type qwenModel struct {
	m  *qwen2.Model
	st *models.SentenceTransformer // nil without modules.json
}

func loadQwen2Model(dir string, cfg *models.Config, w models.Weights) (Model, error) {
	m, err := qwen2.LoadModel(cfg, w)
	if err != nil {
		return nil, err
	}
	st, err := readPipeline(dir, m.Cfg.Hidden)
	if err != nil {
		return nil, err
	}
	return qwenModel{m, st}, nil
}

func (q qwenModel) Architecture() string { return "Qwen2Model" }

func (q qwenModel) Forward(in Inputs) (out map[string]*tensor.Tensor, err error) {
	autograd.NoGrad(func() {
		var o *qwen2.Output
		if o, err = q.m.Forward(qwenInputs(in), qwen2.RunOptions{Hidden: true}); err != nil {
			return
		}
		var idx []int
		if idx, err = qwen2.LastTokenIndex(defaultMask(in), in.IDs.Dim(0), in.IDs.Dim(1)); err != nil {
			return
		}
		out = decoderOutputs(o, in, idx)
		if q.st != nil {
			var se *autograd.Var
			if se, err = SentenceEmbedding(q.st, o.Last, defaultMask(in)); err != nil {
				return
			}
			out["sentence_embedding"] = se.Value
		}
	})
	return out, err
}

type qwenCausal struct{ m *qwen2.CausalLM }

func loadQwen2CausalLM(dir string, cfg *models.Config, w models.Weights) (Model, error) {
	m, err := qwen2.LoadCausalLM(cfg, w)
	if err != nil {
		return nil, err
	}
	return qwenCausal{m}, nil
}

func (q qwenCausal) Architecture() string { return "Qwen2ForCausalLM" }

func (q qwenCausal) Forward(in Inputs) (out map[string]*tensor.Tensor, err error) {
	autograd.NoGrad(func() {
		var o *qwen2.CausalLMOutput
		if o, err = q.m.Forward(qwenInputs(in), qwen2.RunOptions{Hidden: true}); err != nil {
			return
		}
		out = decoderOutputs(o.Output, in, o.LastIndex)
		out["logits"] = zeroPads(o.Logits.Value, in.Mask)
		out["last_token_logits"] = o.LastLogits.Value
	})
	return out, err
}

type qwenClassifier struct{ m *qwen2.Classifier }

func loadQwen2Classifier(dir string, cfg *models.Config, w models.Weights) (Model, error) {
	m, err := qwen2.LoadClassifier(cfg, w)
	if err != nil {
		return nil, err
	}
	return qwenClassifier{m}, nil
}

func (q qwenClassifier) Architecture() string { return "Qwen2ForSequenceClassification" }

func (q qwenClassifier) Forward(in Inputs) (out map[string]*tensor.Tensor, err error) {
	autograd.NoGrad(func() {
		var s *autograd.Var
		if s, err = q.m.Forward(qwenInputs(in), qwen2.RunOptions{}); err != nil {
			return
		}
		out = map[string]*tensor.Tensor{"scores": s.Value}
	})
	return out, err
}
