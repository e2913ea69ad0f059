package rerank

// encoder.go: sentence embeddings (bi-encoder side of RAG-Retrieval:
// bge / gte-style BERT and XLM-R encoders, Qwen2 last-token encoders).

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/auto"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/qwen2"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

// EncoderOptions configure LoadEncoder.
type EncoderOptions struct {
	// MaxLength is the default EncodeOptions.MaxLength (0: 512, capped by
	// the position table).
	MaxLength int
	// Pooling overrides the pooling ("cls", "mean", "lasttoken"); "" takes
	// the sentence-transformers config (1_Pooling), else CLS for encoders
	// and the last token for decoders.
	Pooling models.Pooling
	// Template gives the special tokens when the directory has no
	// tokenizer (only EncodeTokens works then).
	Template *Template
	// Device runs the model on a device (tensor.CUDA(i), tensor.Sim(i));
	// the zero value is the CPU. Its precision is the device's
	// (SetPrecision: float32 unless bf16 was asked for).
	Device tensor.Device
}

// EncodeOptions control one Encode call.
type EncodeOptions struct {
	// MaxLength in tokens, special tokens included (0: the default).
	MaxLength int
	// BatchSize per forward pass (0: 32).
	BatchSize int
	// Normalize L2-normalizes the (truncated) embeddings.
	Normalize bool
	// Dim keeps the first Dim features (Matryoshka / MRL; 0: all).
	Dim int
	// Prompt is prefixed to every text (a query instruction such as
	// "Represent this sentence for searching relevant passages: ";
	// concatenated without a separator, as RAG-Retrieval does).
	Prompt string
}

// Encoder computes sentence embeddings. It is safe for concurrent use.
type Encoder struct {
	tok     *tokenizer.Tokenizer
	tmpl    *Template
	bert    *bert.Model
	qwen    *qwen2.Model
	st      *models.SentenceTransformer
	pooling models.Pooling
	maxLen  int
	posMax  int
	vocab   int
	dim     int
}

// LoadEncoder loads an embedding model directory (BertModel,
// XLMRobertaModel, RobertaModel, Qwen2Model; a sentence-transformers
// layout is read for pooling, Dense layers and normalization), its
// parameters on o.Device (an unavailable device is an error before any
// weights are read).
func LoadEncoder(dir string, o EncoderOptions) (*Encoder, error) {
	if err := checkDevice(o.Device); err != nil {
		return nil, err
	}
	cfg, err := models.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("rerank: %s: %w", dir, err)
	}
	st, err := models.ReadSentenceTransformer(dir)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	w, err := models.OpenWeights(dir)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	defer w.Close()
	e := &Encoder{st: st, maxLen: 512}
	if o.MaxLength > 0 {
		e.maxLen = o.MaxLength
	}
	arch := cfg.Architecture()
	switch {
	case cfg.ModelType == "qwen2" || strings.HasPrefix(arch, "Qwen2"):
		if e.qwen, err = qwen2.LoadModel(cfg, w); err != nil {
			return nil, fmt.Errorf("rerank: %s: %w", dir, err)
		}
		e.pooling, e.vocab, e.dim = models.PoolLastToken, e.qwen.Cfg.VocabSize, e.qwen.Cfg.Hidden
	case cfg.ModelType == "bert" || cfg.ModelType == "xlm-roberta" || cfg.ModelType == "roberta":
		if e.bert, err = bert.LoadModel(cfg, w); err != nil {
			return nil, fmt.Errorf("rerank: %s: %w", dir, err)
		}
		e.pooling, e.vocab, e.dim, e.posMax = models.PoolCLS, e.bert.Cfg.VocabSize, e.bert.Cfg.Hidden, bertPosMax(e.bert.Cfg)
	default:
		return nil, fmt.Errorf("rerank: %s: model_type %q is not an embedding model ragr knows (bert, xlm-roberta, roberta, qwen2)", dir, cfg.ModelType)
	}
	if st != nil {
		e.pooling = st.Pooling
		if n := len(st.Dense); n > 0 {
			e.dim = st.Dense[n-1].Out
		}
	}
	if o.Pooling != "" {
		e.pooling = o.Pooling
	}
	switch e.pooling {
	case models.PoolCLS, models.PoolMean, models.PoolLastToken:
	default:
		return nil, fmt.Errorf("rerank: %s: pooling %q is not supported (cls, mean, lasttoken)", dir, e.pooling)
	}
	if e.tok, err = loadTokenizer(dir); err != nil {
		return nil, err
	}
	switch {
	case o.Template != nil:
		e.tmpl = o.Template
	case e.tok == nil:
		return nil, fmt.Errorf("rerank: %s has no tokenizer and no EncoderOptions.Template was given", dir)
	default:
		if e.tmpl, err = TextTemplate(e.tok); err != nil {
			return nil, fmt.Errorf("rerank: %s: %w", dir, err)
		}
	}
	if err := e.toDevice(o.Device); err != nil {
		return nil, err
	}
	return e, nil
}

// toDevice moves the model's parameters and the sentence-transformers
// Dense layers to d.
func (e *Encoder) toDevice(d tensor.Device) error {
	if err := toDevice(e, d); err != nil || e.st == nil {
		return err
	}
	for i := range e.st.Dense {
		l := &e.st.Dense[i]
		for _, w := range []**tensor.Tensor{&l.Weight, &l.Bias} {
			if *w == nil {
				continue
			}
			v, err := (*w).To(d)
			if err != nil {
				return fmt.Errorf("rerank: moving Dense layer %s to %s: %w", l.Path, d, err)
			}
			*w = v
		}
	}
	return nil
}

// Dim is the embedding width before MRL truncation.
func (e *Encoder) Dim() int { return e.dim }

// Pooling is the pooling in use.
func (e *Encoder) Pooling() models.Pooling { return e.pooling }

// NormalizeDefault reports whether the model's sentence-transformers
// pipeline ends with a Normalize module.
func (e *Encoder) NormalizeDefault() bool { return e.st != nil && e.st.Normalize }

// Tokenizer returns the tokenizer (nil when the directory has none).
func (e *Encoder) Tokenizer() *tokenizer.Tokenizer { return e.tok }

// Encode embeds texts, one vector per text in order.
func (e *Encoder) Encode(ctx context.Context, texts []string, o EncodeOptions) ([][]float32, error) {
	if e.tok == nil {
		return nil, fmt.Errorf("rerank: the model directory has no tokenizer: only token ids can be encoded")
	}
	ids := make([][]int32, len(texts))
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, inputErr("text %d is empty", i)
		}
		ids[i] = e.tok.Encode(o.Prompt+t, false).IDs
	}
	return e.EncodeTokens(ctx, ids, o)
}

// EncodeTokens embeds texts given as content token ids (no special
// tokens; Prompt is ignored).
func (e *Encoder) EncodeTokens(ctx context.Context, texts [][]int32, o EncodeOptions) ([][]float32, error) {
	ro, err := resolveOptions(Options{MaxLength: o.MaxLength, BatchSize: o.BatchSize}, e.maxLen, e.posMax, e.tmpl.Fixed())
	if err != nil {
		return nil, err
	}
	if o.Dim < 0 || o.Dim > e.dim {
		return nil, inputErr("dimension %d outside [1, %d]", o.Dim, e.dim)
	}
	budget := ro.MaxLength - e.tmpl.Fixed()
	rows := make([][]int32, len(texts))
	for i, t := range texts {
		for _, id := range t {
			if id < 0 || int(id) >= e.vocab {
				return nil, inputErr("text %d: token id %d outside the vocabulary [0, %d)", i, id, e.vocab)
			}
		}
		if len(t) > budget {
			t = t[:budget]
		}
		rows[i], _ = e.tmpl.row(t, nil)
	}
	out := make([][]float32, len(texts))
	_, err = scoreRowsSorted(ctx, rows, nil, e.tmpl.PadID, ro.BatchSize, func(b batch) ([]float32, error) {
		v, err := e.embedBatch(b, o)
		if err != nil {
			return nil, err
		}
		w := v.Dim(1)
		flat := v.Contiguous().Float32s()
		for k, r := range b.rows {
			out[r] = append([]float32(nil), flat[k*w:(k+1)*w]...)
		}
		return make([]float32, len(b.rows)), nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (e *Encoder) embedBatch(b batch, o EncodeOptions) (res *tensor.Tensor, err error) {
	autograd.NoGrad(func() {
		var h *autograd.Var
		if e.bert != nil {
			var out *bert.Output
			if out, err = e.bert.Forward(bert.Inputs{IDs: b.ids, Mask: b.mask}, bert.RunOptions{}); err != nil {
				return
			}
			h = out.Last
		} else {
			var out *qwen2.Output
			if out, err = e.qwen.Forward(qwen2.Inputs{IDs: b.ids, Mask: b.mask}, qwen2.RunOptions{}); err != nil {
				return
			}
			h = out.Last
		}
		st := models.SentenceTransformer{Pooling: e.pooling}
		if e.st != nil {
			st.Dense = e.st.Dense
		}
		var v *autograd.Var
		if v, err = auto.SentenceEmbedding(&st, h, b.mask); err != nil {
			return
		}
		if o.Dim > 0 {
			v = nn.Truncate(v, o.Dim)
		}
		if o.Normalize {
			v = nn.L2Normalize(v, 1e-12)
		}
		res = v.Value
	})
	return res, err
}
