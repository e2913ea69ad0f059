package qwen2

import (
	"fmt"
	"math"
	"strings"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// Config is what the decoder needs from config.json.
type Config struct {
	// VocabSize, Hidden, Layers, Heads, KVHeads and Intermediate are
	// vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
	// num_key_value_heads and intermediate_size.
	VocabSize, Hidden, Layers, Heads, KVHeads, Intermediate int
	// MaxPositions is max_position_embeddings (informational: rotary
	// embeddings have no table, so longer sequences still run, as in
	// transformers).
	MaxPositions int
	// Act is hidden_act (silu for every released Qwen2).
	Act string
	// Eps is rms_norm_eps.
	Eps float64
	// RopeTheta is the rotary base.
	RopeTheta float64
	// AttnDropout is attention_dropout (applied to attention weights while
	// training).
	AttnDropout float64
	// PadID is pad_token_id, or -1 when the config has none.
	PadID int
	// TieEmbeddings shares lm_head's weight with embed_tokens.
	TieEmbeddings bool
	// InitStd is the standard deviation of fresh weights.
	InitStd float64
}

// HeadDim is the width of one attention head (hidden / heads).
func (c Config) HeadDim() int { return c.Hidden / c.Heads }

// ConfigFrom converts a Hugging Face config (model_type qwen2) and validates
// it; errors name the config file.
func ConfigFrom(c *models.Config) (Config, error) {
	cfg := Config{
		VocabSize: c.VocabSize, Hidden: c.HiddenSize, Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads,
		KVHeads: c.NumKeyValueHeads, Intermediate: c.IntermediateSize, MaxPositions: c.MaxPositionEmbeddings,
		Act: c.HiddenAct, Eps: c.RMSNormEps, RopeTheta: c.RopeTheta, AttnDropout: c.AttentionDropout,
		PadID: -1, TieEmbeddings: c.TieWordEmbeddings, InitStd: c.InitializerRange,
	}
	switch {
	case c.ModelType == "qwen2":
	case c.ModelType == "" && strings.HasPrefix(c.Architecture(), "Qwen2"):
	default:
		return cfg, fmt.Errorf("qwen2: %s: model_type %q (architectures %v) is not a Qwen2 model", c.Path, c.ModelType, c.Architectures)
	}
	if c.PadTokenID != nil {
		cfg.PadID = *c.PadTokenID
	}
	// Qwen2Config's defaults.
	if cfg.KVHeads == 0 {
		cfg.KVHeads = cfg.Heads
	}
	if cfg.Act == "" {
		cfg.Act = "silu"
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-6
	}
	if cfg.RopeTheta == 0 {
		cfg.RopeTheta = 10000
	}
	if cfg.InitStd == 0 {
		cfg.InitStd = 0.02
	}
	if err := c.Require(map[string]int{"vocab_size": cfg.VocabSize, "hidden_size": cfg.Hidden, "num_hidden_layers": cfg.Layers,
		"num_attention_heads": cfg.Heads, "num_key_value_heads": cfg.KVHeads, "intermediate_size": cfg.Intermediate}); err != nil {
		return cfg, err
	}
	if cfg.Hidden%cfg.Heads != 0 {
		return cfg, fmt.Errorf("qwen2: %s: hidden_size %d is not divisible by num_attention_heads %d", c.Path, cfg.Hidden, cfg.Heads)
	}
	if cfg.Heads%cfg.KVHeads != 0 {
		return cfg, fmt.Errorf("qwen2: %s: num_attention_heads %d is not divisible by num_key_value_heads %d", c.Path, cfg.Heads, cfg.KVHeads)
	}
	if cfg.HeadDim()%2 != 0 {
		return cfg, fmt.Errorf("qwen2: %s: head dimension %d (hidden_size/num_attention_heads) must be even for rotary embeddings", c.Path, cfg.HeadDim())
	}
	if cfg.Eps < 0 || cfg.RopeTheta < 0 || cfg.AttnDropout < 0 || cfg.AttnDropout >= 1 {
		return cfg, fmt.Errorf("qwen2: %s: rms_norm_eps %g, rope_theta %g, attention_dropout %g out of range", c.Path, cfg.Eps, cfg.RopeTheta, cfg.AttnDropout)
	}
	if cfg.PadID >= cfg.VocabSize {
		return cfg, fmt.Errorf("qwen2: %s: pad_token_id %d outside the vocabulary of %d", c.Path, cfg.PadID, cfg.VocabSize)
	}
	if rs, ok := c.Raw["rope_scaling"]; ok && rs != nil {
		return cfg, fmt.Errorf("qwen2: %s: rope_scaling %v is not supported", c.Path, rs)
	}
	if sw, ok := c.Raw["use_sliding_window"].(bool); ok && sw {
		return cfg, fmt.Errorf("qwen2: %s: use_sliding_window=true is not supported", c.Path)
	}
	if _, err := activation(cfg.Act); err != nil {
		return cfg, fmt.Errorf("qwen2: %s: %w", c.Path, err)
	}
	return cfg, nil
}

func activation(name string) (func(*autograd.Var) *autograd.Var, error) {
	switch name {
	case "silu", "swish":
		return autograd.Silu, nil
	case "gelu":
		return autograd.Gelu, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return autograd.GeluTanh, nil
	case "relu":
		return autograd.Relu, nil
	case "tanh":
		return autograd.Tanh, nil
	}
	return nil, fmt.Errorf("hidden_act %q is not supported", name)
}

// Layer is one decoder block (Qwen2DecoderLayer).
type Layer struct {
	// InputNorm is input_layernorm, before attention.
	InputNorm *nn.RMSNorm
	// Q, K, V (with bias) and O (without) are self_attn.{q,k,v,o}_proj.
	Q, K, V, O *nn.Linear
	// PostNorm is post_attention_layernorm, before the MLP.
	PostNorm *nn.RMSNorm
	// Gate, Up and Down are mlp.{gate,up,down}_proj (no bias).
	Gate, Up, Down *nn.Linear
}

// Model is Qwen2Model: token embeddings, decoder layers and the final norm.
type Model struct {
	// Cfg is the configuration the model was built from.
	Cfg Config
	// Embed is embed_tokens (padding_idx = pad_token_id).
	Embed *nn.Embedding
	// Layers are the decoder blocks, layers.N.
	Layers []*Layer
	// Norm is the final RMSNorm, norm.
	Norm *nn.RMSNorm
	act  func(*autograd.Var) *autograd.Var
}

// New returns a model with fresh weights drawn from rng (N(0, InitStd²),
// zero biases, the pad_token_id embedding row zeroed, RMSNorms at 1), as
// Qwen2PreTrainedModel._init_weights.
func New(cfg Config, rng *tensor.RNG) *Model {
	act, err := activation(cfg.Act)
	if err != nil {
		panic("qwen2.New: " + err.Error())
	}
	if cfg.Heads <= 0 || cfg.KVHeads <= 0 || cfg.Hidden%cfg.Heads != 0 || cfg.Heads%cfg.KVHeads != 0 || (cfg.Hidden/cfg.Heads)%2 != 0 {
		panic(fmt.Sprintf("qwen2.New: hidden %d, heads %d, kv heads %d: want hidden divisible by heads, heads by kv heads, an even head dim",
			cfg.Hidden, cfg.Heads, cfg.KVHeads))
	}
	std := cfg.InitStd
	hd := cfg.HeadDim()
	m := &Model{Cfg: cfg, act: act,
		Embed: nn.NewEmbedding(cfg.VocabSize, cfg.Hidden, cfg.PadID, std, rng),
		Norm:  nn.NewRMSNorm(cfg.Hidden, cfg.Eps),
	}
	for i := 0; i < cfg.Layers; i++ {
		m.Layers = append(m.Layers, &Layer{
			InputNorm: nn.NewRMSNorm(cfg.Hidden, cfg.Eps),
			Q:         nn.NewLinear(cfg.Hidden, cfg.Heads*hd, true, std, rng),
			K:         nn.NewLinear(cfg.Hidden, cfg.KVHeads*hd, true, std, rng),
			V:         nn.NewLinear(cfg.Hidden, cfg.KVHeads*hd, true, std, rng),
			O:         nn.NewLinear(cfg.Heads*hd, cfg.Hidden, false, std, rng),
			PostNorm:  nn.NewRMSNorm(cfg.Hidden, cfg.Eps),
			Gate:      nn.NewLinear(cfg.Hidden, cfg.Intermediate, false, std, rng),
			Up:        nn.NewLinear(cfg.Hidden, cfg.Intermediate, false, std, rng),
			Down:      nn.NewLinear(cfg.Intermediate, cfg.Hidden, false, std, rng),
		})
	}
	return m
}

// NamedParams lists every parameter with its checkpoint name under prefix
// ("" for Qwen2Model files, "model." inside the task models).
func (m *Model) NamedParams(prefix string) []nn.NamedParam {
	ps := m.Embed.NamedParams(prefix + "embed_tokens.")
	for i, l := range m.Layers {
		p := fmt.Sprintf("%slayers.%d.", prefix, i)
		ps = append(ps, nn.Collect(
			l.InputNorm.NamedParams(p+"input_layernorm."),
			l.Q.NamedParams(p+"self_attn.q_proj."),
			l.K.NamedParams(p+"self_attn.k_proj."),
			l.V.NamedParams(p+"self_attn.v_proj."),
			l.O.NamedParams(p+"self_attn.o_proj."),
			l.PostNorm.NamedParams(p+"post_attention_layernorm."),
			l.Gate.NamedParams(p+"mlp.gate_proj."),
			l.Up.NamedParams(p+"mlp.up_proj."),
			l.Down.NamedParams(p+"mlp.down_proj."),
		)...)
	}
	return append(ps, m.Norm.NamedParams(prefix+"norm.")...)
}

// Inputs is one padded batch [B, L]. IDs must be Int32. Mask is the
// attention mask (1 for tokens, 0 for padding; any dtype), nil for none.
// Positions are Int32 position ids, nil for 0..L-1 in every row (what a
// plain transformers forward uses, pads included).
type Inputs struct {
	IDs, Mask, Positions *tensor.Tensor
}

// RunOptions control a forward pass.
type RunOptions struct {
	// Training enables attention dropout with masks from RNG.
	Training bool
	RNG      *tensor.RNG
	// Hidden keeps hidden_states (see Output.Hidden).
	Hidden bool
	// Checkpoint recomputes each decoder layer in the backward pass instead
	// of keeping its activations (gradient checkpointing; only while
	// Training).
	Checkpoint bool
}

// Output holds a forward pass's results.
type Output struct {
	// Last is last_hidden_state [B, L, H], after the final norm.
	Last *autograd.Var
	// Hidden are hidden_states as transformers returns them (only with
	// RunOptions.Hidden): the embedding output, the output of layers
	// 0..N-2, then Last (the final layer's output after the norm).
	Hidden []*autograd.Var
}

// GeneratePositions returns the position ids transformers' generate passes
// for an attention mask [B, L]: cumsum(mask)−1 along each row, with 1 at
// masked positions (Int32 [B, L]). For left padding these start every
// sequence's real tokens at 0.
func GeneratePositions(mask *tensor.Tensor) *tensor.Tensor {
	if mask.NDim() != 2 {
		panic(fmt.Sprintf("qwen2.GeneratePositions: mask shape %v, want [batch, len]", mask.Shape()))
	}
	b, l := mask.Dim(0), mask.Dim(1)
	m := mask.Float64s()
	pos := make([]int32, b*l)
	for r := 0; r < b; r++ {
		c := int32(0)
		for t := 0; t < l; t++ {
			if m[r*l+t] != 0 {
				pos[r*l+t] = c
				c++
			} else {
				pos[r*l+t] = 1
			}
		}
	}
	return tensor.FromInt32(pos, b, l)
}

// check validates the inputs and returns the batch size and length.
func check(in Inputs) (b, l int, err error) {
	if in.IDs == nil || in.IDs.NDim() != 2 || in.IDs.DType() != tensor.Int32 {
		desc := "nil"
		if in.IDs != nil {
			desc = fmt.Sprintf("%s %v", in.IDs.DType(), in.IDs.Shape())
		}
		return 0, 0, fmt.Errorf("qwen2: input ids are %s, want int32 [batch, len]", desc)
	}
	b, l = in.IDs.Dim(0), in.IDs.Dim(1)
	if b == 0 || l == 0 {
		return 0, 0, fmt.Errorf("qwen2: empty batch: input ids shape [%d %d]", b, l)
	}
	for _, x := range []struct {
		name string
		t    *tensor.Tensor
	}{{"attention_mask", in.Mask}, {"position_ids", in.Positions}} {
		if x.t != nil && (x.t.NDim() != 2 || x.t.Dim(0) != b || x.t.Dim(1) != l) {
			return 0, 0, fmt.Errorf("qwen2: %s shape %v does not match input_ids [%d %d]", x.name, x.t.Shape(), b, l)
		}
	}
	if in.Positions != nil && in.Positions.DType() != tensor.Int32 {
		return 0, 0, fmt.Errorf("qwen2: position_ids are %s, want int32", in.Positions.DType())
	}
	return b, l, nil
}

// positionRows returns the position ids as rows (0..L-1 when pos is nil).
func positionRows(pos *tensor.Tensor, b, l int) [][]int {
	rows := make([][]int, b)
	var pv []int32
	if pos != nil {
		pv = pos.Int32s()
	}
	for r := range rows {
		rows[r] = make([]int, l)
		for t := range rows[r] {
			if pv != nil {
				rows[r][t] = int(pv[r*l+t])
			} else {
				rows[r][t] = t
			}
		}
	}
	return rows
}

// Forward runs the decoder. User-data errors (ids outside the vocabulary,
// shapes that do not match, non-int32 ids or positions) are returned as
// errors.
func (m *Model) Forward(in Inputs, o RunOptions) (*Output, error) {
	b, l, err := check(in)
	if err != nil {
		return nil, err
	}
	// The inputs follow the weights' device (host ids for a model on a
	// GPU); masks and rotary tables are made on the host and copied once
	// per forward pass.
	dev := m.Embed.Weight.Value.Device()
	ids, err := in.IDs.To(dev)
	if err != nil {
		return nil, fmt.Errorf("qwen2: input ids to %s: %w", dev, err)
	}
	h, err := m.Embed.Forward(ids)
	if err != nil {
		return nil, fmt.Errorf("qwen2: input_ids (vocab_size %d): %w", m.Cfg.VocabSize, err)
	}
	dt := h.Value.DType()
	mask, err := nn.NewDecoderMask(in.Mask, b, l, dt, dev)
	if err != nil {
		return nil, fmt.Errorf("qwen2: %w", err)
	}
	cos, sin := nn.RoPE{Dim: m.Cfg.HeadDim(), Theta: m.Cfg.RopeTheta}.Tables(positionRows(in.Positions, b, l), dt)
	if cos, err = cos.To(dev); err == nil {
		sin, err = sin.To(dev)
	}
	if err != nil {
		return nil, fmt.Errorf("qwen2: rotary tables to %s: %w", dev, err)
	}
	out := &Output{}
	if o.Hidden {
		out.Hidden = append(out.Hidden, h)
	}
	for i, layer := range m.Layers {
		if o.Checkpoint && o.Training {
			layer := layer
			h = autograd.Checkpoint(func(v []*autograd.Var) []*autograd.Var {
				return []*autograd.Var{m.layer(layer, v[0], mask, cos, sin, o)}
			}, []*autograd.Var{h}, rngs(o.RNG)...)[0]
		} else {
			h = m.layer(layer, h, mask, cos, sin, o)
		}
		if o.Hidden && i < len(m.Layers)-1 {
			out.Hidden = append(out.Hidden, h)
		}
	}
	out.Last = m.Norm.Forward(h)
	if o.Hidden {
		out.Hidden = append(out.Hidden, out.Last)
	}
	return out, nil
}

func rngs(r *tensor.RNG) []*tensor.RNG {
	if r == nil {
		return nil
	}
	return []*tensor.RNG{r}
}

// layer runs one pre-norm decoder block on x [B, L, H].
func (m *Model) layer(l *Layer, x *autograd.Var, mask *nn.DecoderMask, cos, sin *tensor.Tensor, o RunOptions) *autograd.Var {
	c := m.Cfg
	h := l.InputNorm.Forward(x)
	q := nn.ApplyRoPE(nn.SplitHeads(l.Q.Forward(h), c.Heads), cos, sin)
	k := nn.ApplyRoPE(nn.SplitHeads(l.K.Forward(h), c.KVHeads), cos, sin)
	v := nn.SplitHeads(l.V.Forward(h), c.KVHeads)
	a := nn.CausalAttention(q, k, v, mask, 1/math.Sqrt(float64(c.HeadDim())), c.AttnDropout, o.RNG, o.Training)
	x = autograd.Add(x, l.O.Forward(nn.MergeHeads(a)))
	h = l.PostNorm.Forward(x)
	f := l.Down.Forward(autograd.Mul(m.act(l.Gate.Forward(h)), l.Up.Forward(h)))
	return autograd.Add(x, f)
}
