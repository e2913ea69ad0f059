package bert

import (
	"fmt"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// Classifier is BertForSequenceClassification (pooler → dropout →
// classifier) or XLMRobertaForSequenceClassification (dropout → dense → tanh
// → dropout → out_proj on the <s> hidden state). With one label it is a
// cross-encoder reranker: the logit is the relevance score.
type Classifier struct {
	Base *Model
	// Prefix is the encoder's name prefix in the checkpoint ("bert." or
	// "roberta.").
	Prefix string
	// RoBERTa selects the XLM-R head (Dense and OutProj) over the BERT one
	// (Out on the pooler output).
	RoBERTa bool
	Dense   *nn.Linear // XLM-R head only
	Out     *nn.Linear // classifier (BERT) or out_proj (XLM-R)
	Dropout float64
}

// NewClassifier returns a classifier with fresh weights for numLabels.
func NewClassifier(cfg Config, numLabels int, rng *tensor.RNG) *Classifier {
	c := &Classifier{Dropout: cfg.HiddenDropout}
	if cfg.XLMR {
		c.RoBERTa, c.Prefix = true, "roberta."
		c.Base = New(cfg, false, rng)
		c.Dense = nn.NewLinear(cfg.Hidden, cfg.Hidden, true, cfg.InitStd, rng)
	} else {
		c.Prefix = "bert."
		c.Base = New(cfg, true, rng)
	}
	c.Out = nn.NewLinear(cfg.Hidden, numLabels, true, cfg.InitStd, rng)
	return c
}

// NamedParams lists the encoder (under Prefix) and the head.
func (c *Classifier) NamedParams(prefix string) []nn.NamedParam {
	ps := c.Base.NamedParams(prefix + c.Prefix)
	if c.RoBERTa {
		ps = append(ps, c.Dense.NamedParams(prefix+"classifier.dense.")...)
		return append(ps, c.Out.NamedParams(prefix+"classifier.out_proj.")...)
	}
	return append(ps, c.Out.NamedParams(prefix+"classifier.")...)
}

// Forward returns the logits [B, num_labels].
func (c *Classifier) Forward(in Inputs, o RunOptions) (*autograd.Var, error) {
	out, err := c.Base.Forward(in, o)
	if err != nil {
		return nil, err
	}
	drop := nn.Dropout{P: c.Dropout}
	if c.RoBERTa {
		x := drop.Forward(nn.PoolCLS(out.Last), o.RNG, o.Training)
		x = autograd.Tanh(c.Dense.Forward(x))
		x = drop.Forward(x, o.RNG, o.Training)
		return c.Out.Forward(x), nil
	}
	if out.Pooled == nil {
		return nil, fmt.Errorf("bert: classifier needs a pooler")
	}
	return c.Out.Forward(drop.Forward(out.Pooled, o.RNG, o.Training)), nil
}

// LoadClassifier builds a sequence classifier from cfg and fills it from w.
func LoadClassifier(cfg *models.Config, w models.Weights) (*Classifier, error) {
	bc, err := ConfigFrom(cfg)
	if err != nil {
		return nil, err
	}
	c := NewClassifier(bc, cfg.NumLabels, tensor.NewRNG(0))
	if cfg.ClassifierDropout != nil {
		c.Dropout = *cfg.ClassifierDropout
	}
	if err := models.LoadParams(c.NamedParams(""), w, models.LoadOptions{}); err != nil {
		return nil, err
	}
	return c, nil
}
