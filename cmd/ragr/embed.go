package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/rerank"
)

const embedUsage = `Usage: ragr embed --model DIR --texts FILE|- [flags]

Embeds texts with the encoder in DIR (BERT / XLM-R / Qwen2; a
sentence-transformers layout sets pooling, Dense layers and normalization).
Texts are read like ragr rerank's documents (a JSON array of strings or of
objects with "text", or JSONL). Output: JSON {"dim": D, "embeddings":
[{"index", "id"?, "embedding"}]}. --device cuda runs the model on the GPU
in fp32; --precision bf16 adds bf16 matmuls and fused attention.

Examples:
  ragr embed --model ./bge-small-en --texts passages.json
  echo '["what is BM25"]' | ragr embed --model ./bge-small-en --texts - \
      --prompt "Represent this sentence for searching relevant passages: " --dim 256

Flags:
`

func embedCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ragr embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "embedding model directory (required)")
	textsPath := fs.String("texts", "", "texts: a JSON or JSONL file, - for stdin (required)")
	pooling := fs.String("pooling", "", "cls, mean or lasttoken (default: the model's)")
	norm := fs.Bool("normalize", true, "L2-normalize the embeddings")
	dim := fs.Int("dim", 0, "keep the first DIM features (Matryoshka; 0: all)")
	prompt := fs.String("prompt", "", "text prefixed to every input (a query instruction)")
	maxLen := fs.Int("max-length", 0, "tokens per text (0: 512 or the model's limit)")
	batch := fs.Int("batch", 32, "texts per forward pass")
	df := addDeviceFlags(fs)
	fs.Usage = func() { fmt.Fprint(stderr, embedUsage); fs.PrintDefaults() }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || *textsPath == "" {
		fs.Usage()
		return fmt.Errorf("%w: --model and --texts are required", errUsage)
	}
	switch *pooling {
	case "", "cls", "mean", "lasttoken":
	default:
		return fmt.Errorf("%w: --pooling %q: want cls, mean or lasttoken", errUsage, *pooling)
	}
	if *dim < 0 || *maxLen < 0 || *batch < 1 {
		return fmt.Errorf("%w: --dim and --max-length must not be negative, --batch must be positive", errUsage)
	}
	dev, err := df.setup()
	if err != nil {
		return err
	}
	var in io.Reader = stdinReader
	if *textsPath != "-" {
		f, err := openInput(*textsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	docs, err := readDocs(in, *textsPath)
	if err != nil {
		return err
	}
	e, err := rerank.LoadEncoder(*model, rerank.EncoderOptions{Pooling: models.Pooling(*pooling), Device: dev})
	if err != nil {
		return err
	}
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = d.Text
	}
	v, err := e.Encode(context.Background(), texts, rerank.EncodeOptions{MaxLength: *maxLen, BatchSize: *batch, Normalize: *norm, Dim: *dim, Prompt: *prompt})
	if err != nil {
		if rerank.IsInputError(err) {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return err
	}
	type row struct {
		Index     int       `json:"index"`
		ID        any       `json:"id,omitempty"`
		Embedding []float32 `json:"embedding"`
	}
	out := struct {
		Dim        int   `json:"dim"`
		Embeddings []row `json:"embeddings"`
	}{Dim: len(v[0])}
	for i := range v {
		out.Embeddings = append(out.Embeddings, row{i, docs[i].ID, v[i]})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, strings.TrimSpace(string(b)))
	return err
}
