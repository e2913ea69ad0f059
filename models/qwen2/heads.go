package qwen2

import (
	"fmt"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// CausalLM is Qwen2ForCausalLM: the decoder under "model." and lm_head
// [vocab, hidden] without bias. With Config.TieEmbeddings the head's weight
// is the embedding's Var itself (one parameter, listed once, as
// embed_tokens).
type CausalLM struct {
	// Base is the decoder, "model." in checkpoints.
	Base *Model
	// Head is lm_head; Head.Weight == Base.Embed.Weight when tied.
	Head *nn.Linear
}

// NewCausalLM returns a causal LM with fresh weights.
func NewCausalLM(cfg Config, rng *tensor.RNG) *CausalLM {
	c := &CausalLM{Base: New(cfg, rng)}
	if cfg.TieEmbeddings {
		c.Head = &nn.Linear{Weight: c.Base.Embed.Weight}
	} else {
		c.Head = nn.NewLinear(cfg.Hidden, cfg.VocabSize, false, cfg.InitStd, rng)
	}
	return c
}

// Tied reports whether lm_head shares embed_tokens' weight.
func (c *CausalLM) Tied() bool { return c.Head.Weight == c.Base.Embed.Weight }

// NamedParams lists the decoder (under prefix+"model.") and lm_head (absent
// when tied: the shared weight is listed once, as save_pretrained writes it).
func (c *CausalLM) NamedParams(prefix string) []nn.NamedParam {
	ps := c.Base.NamedParams(prefix + "model.")
	if c.Tied() {
		return ps
	}
	return append(ps, c.Head.NamedParams(prefix+"lm_head.")...)
}

// CausalLMOutput is the decoder's Output with the logits.
type CausalLMOutput struct {
	*Output
	// Logits are the logits at every position [B, L, V] (nil from
	// ForwardLast).
	Logits *autograd.Var
	// LastIndex is each row's last real token (LastTokenIndex).
	LastIndex []int
	// LastLogits are the logits at LastIndex [B, V].
	LastLogits *autograd.Var
}

// LastTokenIndex returns, per row, the position of the last token with
// attention mask 1 (right or left padding), or L-1 in every row when mask is
// nil. A row without any token is an error.
func LastTokenIndex(mask *tensor.Tensor, b, l int) ([]int, error) {
	if mask == nil {
		idx := make([]int, b)
		for i := range idx {
			idx[i] = l - 1
		}
		return idx, nil
	}
	idx := nn.LastTokenIndex(mask)
	for r, i := range idx {
		if i < 0 {
			return nil, fmt.Errorf("qwen2: row %d of the attention mask has no token", r)
		}
	}
	return idx, nil
}

// Forward returns the logits at every position and at each row's last real
// token.
func (c *CausalLM) Forward(in Inputs, o RunOptions) (*CausalLMOutput, error) {
	return c.forward(in, o, true)
}

// ForwardLast is Forward without the all-position logits (Logits is nil):
// the head runs only on the last real token of each row.
func (c *CausalLM) ForwardLast(in Inputs, o RunOptions) (*CausalLMOutput, error) {
	return c.forward(in, o, false)
}

func (c *CausalLM) forward(in Inputs, o RunOptions, all bool) (*CausalLMOutput, error) {
	out, err := c.Base.Forward(in, o)
	if err != nil {
		return nil, err
	}
	b, l := in.IDs.Dim(0), in.IDs.Dim(1)
	idx, err := LastTokenIndex(in.Mask, b, l)
	if err != nil {
		return nil, err
	}
	res := &CausalLMOutput{Output: out, LastIndex: idx}
	res.LastLogits = c.Head.Forward(nn.PoolAt(out.Last, idx))
	if all {
		res.Logits = c.Head.Forward(out.Last)
	}
	return res, nil
}

// PoolRule chooses the position whose hidden state the sequence
// classification head scores.
type PoolRule int

const (
	// PoolFirstPad is transformers 4.40.2's rule, the default:
	// idx = (argmax_t(input_ids == pad_token_id) − 1) mod L, the token before
	// the first pad id, L−1 when the row has no pad id. It picks the last real
	// token for right padding and, through the mod, for left padding; when
	// a real eos equals the pad id it picks the token before that eos.
	// Without a pad_token_id only a batch of one row is accepted (index L−1),
	// as in transformers.
	PoolFirstPad PoolRule = iota
	// PoolLastNonPad is the rule of later transformers releases: the last
	// position whose id is not pad_token_id (0 for a row of pads only). It
	// agrees with PoolFirstPad unless a row holds the pad id inside its
	// content, or ends with it (eos == pad) under left padding, where it
	// takes the token before that eos. Without a pad_token_id only a batch of
	// one row is accepted (index L−1).
	PoolLastNonPad
	// PoolLastMask reads the last position with attention mask 1 (L−1 when
	// there is no mask): it scores a trailing eos even when eos equals the
	// pad id, and needs no pad_token_id.
	PoolLastMask
)

// String names the rule.
func (r PoolRule) String() string {
	switch r {
	case PoolFirstPad:
		return "first-pad"
	case PoolLastNonPad:
		return "last-non-pad"
	case PoolLastMask:
		return "last-mask"
	}
	return fmt.Sprintf("PoolRule(%d)", int(r))
}

// Classifier is Qwen2ForSequenceClassification: the decoder under "model."
// and score [num_labels, hidden] without bias, applied to the final-norm
// hidden state at the position Pool picks. With one label it is an LLM
// reranker's relevance logit.
type Classifier struct {
	// Base is the decoder, "model." in checkpoints.
	Base *Model
	// Score is score [num_labels, hidden], no bias.
	Score *nn.Linear
	// Pool picks the scored position (PoolFirstPad by default).
	Pool PoolRule
}

// NewClassifier returns a classifier with fresh weights for numLabels.
func NewClassifier(cfg Config, numLabels int, rng *tensor.RNG) *Classifier {
	if numLabels <= 0 {
		panic(fmt.Sprintf("qwen2.NewClassifier: %d labels", numLabels))
	}
	c := &Classifier{Base: New(cfg, rng)}
	c.Score = nn.NewLinear(cfg.Hidden, numLabels, false, cfg.InitStd, rng)
	return c
}

// NamedParams lists the decoder (under prefix+"model.") and score.
func (c *Classifier) NamedParams(prefix string) []nn.NamedParam {
	return append(c.Base.NamedParams(prefix+"model."), c.Score.NamedParams(prefix+"score.")...)
}

// PoolIndex returns the position Pool picks in each row of in.
func (c *Classifier) PoolIndex(in Inputs) ([]int, error) {
	b, l, err := check(in)
	if err != nil {
		return nil, err
	}
	pad := c.Base.Cfg.PadID
	switch c.Pool {
	case PoolLastMask:
		return LastTokenIndex(in.Mask, b, l)
	case PoolFirstPad, PoolLastNonPad:
	default:
		return nil, fmt.Errorf("qwen2: unknown pooling rule %v", c.Pool)
	}
	idx := make([]int, b)
	if pad < 0 {
		if b != 1 {
			return nil, fmt.Errorf("qwen2: cannot pick the scored token of a batch of %d rows without a pad_token_id (use PoolLastMask)", b)
		}
		idx[0] = l - 1
		return idx, nil
	}
	ids := in.IDs.Int32s()
	for r := range idx {
		row := ids[r*l : (r+1)*l]
		if c.Pool == PoolFirstPad {
			first := 0 // argmax of an all-false row is 0
			for t, id := range row {
				if int(id) == pad {
					first = t
					break
				}
			}
			idx[r] = ((first-1)%l + l) % l
			continue
		}
		last := 0
		for t, id := range row {
			if int(id) != pad {
				last = t
			}
		}
		idx[r] = last
	}
	return idx, nil
}

// Forward returns the logits [B, num_labels] at the positions Pool picks.
func (c *Classifier) Forward(in Inputs, o RunOptions) (*autograd.Var, error) {
	idx, err := c.PoolIndex(in)
	if err != nil {
		return nil, err
	}
	out, err := c.Base.Forward(in, o)
	if err != nil {
		return nil, err
	}
	// score is linear, so scoring the picked rows equals transformers'
	// score-every-position-then-pick.
	return c.Score.Forward(nn.PoolAt(out.Last, idx)), nil
}
