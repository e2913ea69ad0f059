package bert

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// Config is what the encoder needs from config.json.
type Config struct {
	VocabSize, Hidden, Layers, Heads, Intermediate, MaxPositions, TypeVocab int
	Act                                                                     string
	Eps                                                                     float64
	HiddenDropout, AttnDropout                                              float64
	// PadID is the padding token id (0 for BERT, 1 for XLM-R).
	PadID int
	// XLMR selects RoBERTa-style padding-aware positions.
	XLMR bool
	// InitStd is the standard deviation of fresh weights.
	InitStd float64
}

// ConfigFrom converts a Hugging Face config (model_type bert, roberta,
// xlm-roberta) and validates it.
func ConfigFrom(c *models.Config) (Config, error) {
	cfg := Config{
		VocabSize: c.VocabSize, Hidden: c.HiddenSize, Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads,
		Intermediate: c.IntermediateSize, MaxPositions: c.MaxPositionEmbeddings, TypeVocab: c.TypeVocabSize,
		Act: c.HiddenAct, Eps: c.LayerNormEps, HiddenDropout: c.HiddenDropoutProb, AttnDropout: c.AttentionDropoutProb,
		InitStd: c.InitializerRange,
	}
	switch c.ModelType {
	case "bert", "":
	case "roberta", "xlm-roberta", "camembert":
		cfg.XLMR = true
		cfg.PadID = 1
	default:
		return cfg, fmt.Errorf("bert: %s: model_type %q is not a BERT or XLM-RoBERTa model", c.Path, c.ModelType)
	}
	if c.PadTokenID != nil {
		cfg.PadID = *c.PadTokenID
	}
	if cfg.Act == "" {
		cfg.Act = "gelu"
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-12
	}
	if cfg.TypeVocab == 0 {
		cfg.TypeVocab = 2
	}
	if cfg.InitStd == 0 {
		cfg.InitStd = 0.02
	}
	if pe := c.PositionEmbeddingType; pe != "" && pe != "absolute" {
		return cfg, fmt.Errorf("bert: %s: position_embedding_type %q is not supported (only absolute)", c.Path, pe)
	}
	if err := c.Require(map[string]int{"vocab_size": cfg.VocabSize, "hidden_size": cfg.Hidden, "num_hidden_layers": cfg.Layers,
		"num_attention_heads": cfg.Heads, "intermediate_size": cfg.Intermediate, "max_position_embeddings": cfg.MaxPositions}); err != nil {
		return cfg, err
	}
	if cfg.Hidden%cfg.Heads != 0 {
		return cfg, fmt.Errorf("bert: %s: hidden_size %d is not divisible by num_attention_heads %d", c.Path, cfg.Hidden, cfg.Heads)
	}
	if _, err := activation(cfg.Act); err != nil {
		return cfg, fmt.Errorf("bert: %s: %w", c.Path, err)
	}
	return cfg, nil
}

func activation(name string) (func(*autograd.Var) *autograd.Var, error) {
	switch name {
	case "gelu":
		return autograd.Gelu, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return autograd.GeluTanh, nil
	case "relu":
		return autograd.Relu, nil
	case "silu", "swish":
		return autograd.Silu, nil
	case "tanh":
		return autograd.Tanh, nil
	}
	return nil, fmt.Errorf("hidden_act %q is not supported", name)
}

// Layer is one encoder block (BertLayer).
type Layer struct {
	Query, Key, Value, AttnOut *nn.Linear
	AttnNorm                   *nn.LayerNorm
	Inter, Out                 *nn.Linear
	OutNorm                    *nn.LayerNorm
}

// Model is BertModel / XLMRobertaModel.
type Model struct {
	Cfg                      Config
	Word, Position, TokenTyp *nn.Embedding
	EmbNorm                  *nn.LayerNorm
	Layers                   []*Layer
	// Pooler is the dense layer of BertPooler (nil when the checkpoint has
	// none, as XLM-R rerankers).
	Pooler *nn.Linear
	act    func(*autograd.Var) *autograd.Var
}

// New returns a model with fresh weights drawn from rng (N(0, InitStd²),
// LayerNorms at 1 and 0), with a pooler when pooler is set.
func New(cfg Config, pooler bool, rng *tensor.RNG) *Model {
	act, err := activation(cfg.Act)
	if err != nil {
		panic("bert.New: " + err.Error())
	}
	std := cfg.InitStd
	// BertEmbeddings and XLMRobertaEmbeddings both give the word table
	// padding_idx = pad_token_id; XLM-R's position table has it too.
	padIdx := cfg.PadID
	m := &Model{Cfg: cfg, act: act,
		Word:     nn.NewEmbedding(cfg.VocabSize, cfg.Hidden, padIdx, std, rng),
		Position: nn.NewEmbedding(cfg.MaxPositions, cfg.Hidden, -1, std, rng),
		TokenTyp: nn.NewEmbedding(cfg.TypeVocab, cfg.Hidden, -1, std, rng),
		EmbNorm:  nn.NewLayerNorm(cfg.Hidden, cfg.Eps),
	}
	if cfg.XLMR {
		m.Position.PaddingIdx = cfg.PadID
	}
	for i := 0; i < cfg.Layers; i++ {
		m.Layers = append(m.Layers, &Layer{
			Query:    nn.NewLinear(cfg.Hidden, cfg.Hidden, true, std, rng),
			Key:      nn.NewLinear(cfg.Hidden, cfg.Hidden, true, std, rng),
			Value:    nn.NewLinear(cfg.Hidden, cfg.Hidden, true, std, rng),
			AttnOut:  nn.NewLinear(cfg.Hidden, cfg.Hidden, true, std, rng),
			AttnNorm: nn.NewLayerNorm(cfg.Hidden, cfg.Eps),
			Inter:    nn.NewLinear(cfg.Hidden, cfg.Intermediate, true, std, rng),
			Out:      nn.NewLinear(cfg.Intermediate, cfg.Hidden, true, std, rng),
			OutNorm:  nn.NewLayerNorm(cfg.Hidden, cfg.Eps),
		})
	}
	if pooler {
		m.Pooler = nn.NewLinear(cfg.Hidden, cfg.Hidden, true, std, rng)
	}
	return m
}

// NamedParams lists every parameter with its checkpoint name under prefix
// ("" for BertModel files, "bert." or "roberta." inside task models).
func (m *Model) NamedParams(prefix string) []nn.NamedParam {
	ps := nn.Collect(
		m.Word.NamedParams(prefix+"embeddings.word_embeddings."),
		m.Position.NamedParams(prefix+"embeddings.position_embeddings."),
		m.TokenTyp.NamedParams(prefix+"embeddings.token_type_embeddings."),
		m.EmbNorm.NamedParams(prefix+"embeddings.LayerNorm."),
	)
	for i, l := range m.Layers {
		p := fmt.Sprintf("%sencoder.layer.%d.", prefix, i)
		ps = append(ps, nn.Collect(
			l.Query.NamedParams(p+"attention.self.query."),
			l.Key.NamedParams(p+"attention.self.key."),
			l.Value.NamedParams(p+"attention.self.value."),
			l.AttnOut.NamedParams(p+"attention.output.dense."),
			l.AttnNorm.NamedParams(p+"attention.output.LayerNorm."),
			l.Inter.NamedParams(p+"intermediate.dense."),
			l.Out.NamedParams(p+"output.dense."),
			l.OutNorm.NamedParams(p+"output.LayerNorm."),
		)...)
	}
	if m.Pooler != nil {
		ps = append(ps, m.Pooler.NamedParams(prefix+"pooler.dense.")...)
	}
	return ps
}

// Inputs is one padded batch: Int32 tensors [B, L]. TypeIDs may be nil
// (zeros); Positions may be nil (derived as transformers does).
type Inputs struct {
	IDs, TypeIDs, Mask, Positions *tensor.Tensor
}

// RunOptions control a forward pass.
type RunOptions struct {
	// Training enables dropout with masks from RNG.
	Training bool
	RNG      *tensor.RNG
	// Hidden keeps every layer's output (hidden_states in transformers).
	Hidden bool
	// Checkpoint recomputes each layer in the backward pass instead of
	// keeping its activations (gradient checkpointing).
	Checkpoint bool
}

// Output holds a forward pass's results.
type Output struct {
	// Last is last_hidden_state [B, L, H].
	Last *autograd.Var
	// Hidden are hidden_states: the embedding output then each layer's
	// output (only with RunOptions.Hidden).
	Hidden []*autograd.Var
	// Pooled is pooler_output [B, H] (nil without a pooler).
	Pooled *autograd.Var
}

// Positions returns the position ids transformers uses: 0..L-1 for BERT;
// cumsum(ids≠pad)·(ids≠pad)+pad for XLM-R.
func (m *Model) Positions(ids *tensor.Tensor) *tensor.Tensor {
	b, l := ids.Dim(0), ids.Dim(1)
	iv := ids.Int32s()
	pos := make([]int32, b*l)
	for r := 0; r < b; r++ {
		c := int32(0)
		for t := 0; t < l; t++ {
			if !m.Cfg.XLMR {
				pos[r*l+t] = int32(t)
				continue
			}
			if iv[r*l+t] != int32(m.Cfg.PadID) {
				c++
				pos[r*l+t] = c + int32(m.Cfg.PadID)
			} else {
				pos[r*l+t] = int32(m.Cfg.PadID)
			}
		}
	}
	return tensor.FromInt32(pos, b, l)
}

// Forward runs the encoder. User data errors (ids outside the vocabulary,
// sequences longer than max_position_embeddings, inconsistent shapes) are
// returned as errors.
func (m *Model) Forward(in Inputs, o RunOptions) (*Output, error) {
	if in.IDs == nil || in.IDs.NDim() != 2 || in.IDs.DType() != tensor.Int32 {
		return nil, fmt.Errorf("bert: input ids must be int32 [batch, len]")
	}
	b, l := in.IDs.Dim(0), in.IDs.Dim(1)
	for name, t := range map[string]*tensor.Tensor{"token_type_ids": in.TypeIDs, "attention_mask": in.Mask, "position_ids": in.Positions} {
		if t != nil && (t.NDim() != 2 || t.Dim(0) != b || t.Dim(1) != l) {
			return nil, fmt.Errorf("bert: %s shape %v does not match input_ids [%d %d]", name, t.Shape(), b, l)
		}
	}
	pos := in.Positions
	if pos == nil {
		pos = m.Positions(in.IDs)
	}
	types := in.TypeIDs
	if types == nil {
		types = tensor.New(tensor.Int32, b, l)
	}
	// The inputs follow the weights' device (host ids for a model on a GPU).
	dev := m.Word.Weight.Value.Device()
	ids := in.IDs
	var err error
	for _, t := range []**tensor.Tensor{&ids, &pos, &types} {
		if *t, err = (*t).To(dev); err != nil {
			return nil, fmt.Errorf("bert: inputs to %s: %w", dev, err)
		}
	}
	we, err := m.Word.Forward(ids)
	if err != nil {
		return nil, fmt.Errorf("bert: input_ids: %w", err)
	}
	pe, err := m.Position.Forward(pos)
	if err != nil {
		return nil, fmt.Errorf("bert: position ids (sequence of %d tokens, max_position_embeddings %d): %w", l, m.Cfg.MaxPositions, err)
	}
	te, err := m.TokenTyp.Forward(types)
	if err != nil {
		return nil, fmt.Errorf("bert: token_type_ids: %w", err)
	}
	h := m.EmbNorm.Forward(autograd.Add(autograd.Add(we, te), pe))
	h = nn.Dropout{P: m.Cfg.HiddenDropout}.Forward(h, o.RNG, o.Training)
	out := &Output{}
	if o.Hidden {
		out.Hidden = append(out.Hidden, h)
	}
	var mask *tensor.Tensor
	if in.Mask != nil {
		if mask, err = nn.PaddingMask(in.Mask, h.Value.DType()).To(dev); err != nil {
			return nil, fmt.Errorf("bert: attention mask to %s: %w", dev, err)
		}
	}
	for _, layer := range m.Layers {
		if o.Checkpoint && o.Training {
			layer := layer
			h = autograd.Checkpoint(func(v []*autograd.Var) []*autograd.Var {
				return []*autograd.Var{m.layer(layer, v[0], mask, o)}
			}, []*autograd.Var{h}, rngs(o.RNG)...)[0]
		} else {
			h = m.layer(layer, h, mask, o)
		}
		if o.Hidden {
			out.Hidden = append(out.Hidden, h)
		}
	}
	out.Last = h
	if m.Pooler != nil {
		out.Pooled = autograd.Tanh(m.Pooler.Forward(autograd.Select(h, 1, 0)))
	}
	return out, nil
}

func rngs(r *tensor.RNG) []*tensor.RNG {
	if r == nil {
		return nil
	}
	return []*tensor.RNG{r}
}

// layer runs one post-LN block.
func (m *Model) layer(l *Layer, x *autograd.Var, mask *tensor.Tensor, o RunOptions) *autograd.Var {
	heads := m.Cfg.Heads
	q := nn.SplitHeads(l.Query.Forward(x), heads)
	k := nn.SplitHeads(l.Key.Forward(x), heads)
	v := nn.SplitHeads(l.Value.Forward(x), heads)
	a := nn.Attention(q, k, v, mask, 1/math.Sqrt(float64(m.Cfg.Hidden/heads)), m.Cfg.AttnDropout, o.RNG, o.Training)
	a = l.AttnOut.Forward(nn.MergeHeads(a))
	a = nn.Dropout{P: m.Cfg.HiddenDropout}.Forward(a, o.RNG, o.Training)
	x = l.AttnNorm.Forward(autograd.Add(a, x))
	f := l.Out.Forward(m.act(l.Inter.Forward(x)))
	f = nn.Dropout{P: m.Cfg.HiddenDropout}.Forward(f, o.RNG, o.Training)
	return l.OutNorm.Forward(autograd.Add(f, x))
}
