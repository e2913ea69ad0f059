package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ragr-dev/ragr/models/auto"
	"github.com/ragr-dev/ragr/tensor/safetensors"
)

const forwardUsage = `Usage: ragr forward --model DIR --inputs FILE.json --out FILE.safetensors

Runs the model directory DIR (config.json + model.safetensors, a sharded
index or pytorch_model.bin; ColBERT with colbert_linear.*) on the token ids in
FILE.json and writes every named output as float32 tensors.

FILE.json holds "input_ids" and optionally "attention_mask",
"token_type_ids", "position_ids" (2-D integer arrays, one row per sequence,
padded to one length). A ColBERT model also takes "query_input_ids" /
"doc_input_ids" (with the same optional keys prefixed) and writes the
query×doc MaxSim score grids.

Outputs by architecture:
  encoders      last_hidden_state, hidden_states.N, pooler_output,
                cls_embedding[_normalized], mean_pooled_embedding/_normalized
  classifiers   logits, scores_sigmoid (one label)
  ColBERT       last_hidden_state, colbert_vecs, scores_maxsim_*, scores_rr
  Qwen2         logits, last_hidden_state, hidden_states.N, last_token_*
                (causal LM); scores (sequence classification)

Example:
  ragr forward --model ./bge-reranker-base --inputs ids.json --out ours.safetensors

Flags:
`

func forward(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ragr forward", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "model directory (required)")
	inputs := fs.String("inputs", "", "inputs JSON file (required)")
	out := fs.String("out", "", "output safetensors file (required)")
	fs.Usage = func() {
		fmt.Fprint(stderr, forwardUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *model == "" || *inputs == "" || *out == "" {
		fs.Usage()
		return fmt.Errorf("%w: forward needs --model, --inputs and --out", errUsage)
	}
	if _, err := os.Stat(*model); err != nil {
		return fmt.Errorf("%w: --model: %v", errUsage, err)
	}
	groups, err := auto.ReadInputs(*inputs)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	m, err := auto.Load(*model)
	if err != nil {
		return err
	}
	res, err := auto.Run(m, groups)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := safetensors.Write(*out, res, map[string]string{"format": "pt", "producer": "ragr forward", "architecture": m.Architecture()}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: wrote %d tensors to %s: %s\n", m.Architecture(), len(res), *out, auto.OutputNames(res))
	return nil
}
