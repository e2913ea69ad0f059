package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ragr-dev/ragr/rerank"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/train"
	"github.com/ragr-dev/ragr/train/data"
)

// multiFlag collects repeated --set key=value flags.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const trainUsage = `Usage: ragr train reranker|embedding|colbert --config FILE.yaml [--set key=value]... [--resume DIR|latest]

Trains a reranker as RAG-Retrieval does, from a YAML config with its keys
(model_name_or_path, model_type cross_encoder|llm_decoder, train_dataset,
val_dataset, loss_type, lr, epoch(s), batch_size, train_group_size, max_len,
warmup_proportion, seed, output_dir, …). A fresh model is built from
model_config (config.json fields) with the tokenizer of tokenizer: DIR.
--set overrides any config key. Ctrl-C writes a resumable checkpoint.
--device cuda (config key device) trains on the GPU, in every mode below,
with bf16 mixed precision (fp32 master weights and AdamW state, bf16
matmuls and fused attention, fp32 norms, softmax and losses; config key
mixed_precision: no trains in fp32 there); it needs a binary built with
-tags cuda. --device sim runs the same device code path on the CPU (a
simulated accelerator: slow, for checking a GPU config without a GPU).

ragr train embedding trains a BERT / XLM-R or (model_type llm_decoder) Qwen2
last-token bi-encoder on {"query","pos"}
(in-batch negatives), {"query","pos","neg"} (neg_nums hard negatives) or
{"query","pos","scores"} (pair KL) data, with pooling cls|mean,
temperature, mrl_dims and prompt_for_query, and exports it in the
sentence-transformers layout. With train_type: distill it distills a
teacher's embeddings (Jasper/Stella): texts {"query": text} one a line,
teacher vectors in train_dataset_vec (a .safetensors 2-D tensor, or the raw
float32 np.memmap of rows × teatch_emebedding_dim), a new Dense layer to the
teacher's dimension, losses weighted by cosine_loss_weight (10),
similarity_loss_weight (200) and triplet_loss_weight (20), over mrl_dims.

ragr train colbert trains a BERT / XLM-R encoder plus colbert_linear
(colbert_dim, default 768 or the checkpoint's) on {"query","pos"} or
{"query","pos","neg"} data with the in-batch contrastive loss over every
document of the batch (loss_type colbert_inbatch, or
colbert_inbatch_maskedmax), query_max_len and passage_max_len, and exports
the encoder plus colbert_linear.safetensors and colbert_linear.pt (the
torch.save'd copy Python ColBERT loaders read).

Example:
  ragr train reranker --config examples/demo/reranker.yaml --set lr=1e-4

Flags:
`

func trainCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "reranker" && args[0] != "embedding" && args[0] != "colbert") {
		return fmt.Errorf("%w: ragr train needs a mode: reranker, embedding or colbert", errUsage)
	}
	mode := args[0]
	fs := flag.NewFlagSet("ragr train "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML config (required)")
	resume := fs.String("resume", "", "checkpoint directory, or latest, to continue from")
	skip := fs.Bool("skip-bad-lines", false, "count and report malformed JSONL lines instead of stopping at the first")
	device := fs.String("device", "", "cpu, cuda, cuda:N or sim (config key device; cuda trains in bf16 mixed precision unless mixed_precision: no, needs a -tags cuda build; sim is the device path simulated on the CPU)")
	var sets multiFlag
	fs.Var(&sets, "set", "override a config key: key=value (repeatable)")
	fs.Usage = func() { fmt.Fprint(stderr, trainUsage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *cfgPath == "" {
		fs.Usage()
		return fmt.Errorf("%w: --config is required", errUsage)
	}
	cfg, err := train.LoadConfig(*cfgPath)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, s := range sets {
		if err := cfg.Set(s); err != nil {
			return fmt.Errorf("%w: --set %v", errUsage, err)
		}
	}
	if *skip {
		cfg.SkipBadLines = true
	}
	if *device != "" {
		cfg.Device = *device
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch mode {
	case "embedding":
		if cfg.TrainType == "distill" {
			_, err = train.TrainDistillEmbedding(ctx, cfg, train.RunOptions{Out: stdout, Resume: *resume})
			break
		}
		_, err = train.TrainEmbedding(ctx, cfg, train.RunOptions{Out: stdout, Resume: *resume})
	case "colbert":
		_, err = train.TrainColBERT(ctx, cfg, train.RunOptions{Out: stdout, Resume: *resume})
	default:
		_, err = train.TrainReranker(ctx, cfg, train.RunOptions{Out: stdout, Resume: *resume})
	}
	return err
}

const evalUsage = `Usage: ragr eval reranker --model DIR --data FILE.jsonl [--max-len N] [--batch N] [--device D]

Scores every query's candidates in a RAG-Retrieval reranker file (any of its
formats) with the model in DIR (any reranker ragr rerank loads: a
cross-encoder, a Qwen2 sequence classifier, ColBERT, a causal LM's "yes"
logit) and prints MAP, MRR@10, nDCG@10 and Recall@1/5/10, with BM25 on the
same candidates beside them. --device cuda
scores on the GPU in fp32; --precision bf16 adds bf16 matmuls and fused
attention.

Example:
  ragr eval reranker --model output/demo/model --data testdata/data/rag-retrieval-example-data/t2rank_100.jsonl

Flags:
`

func evalCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "embedding" {
		return evalEmbeddingCmd(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "reranker" {
		return fmt.Errorf("%w: ragr eval needs a mode: reranker or embedding", errUsage)
	}
	fs := flag.NewFlagSet("ragr eval reranker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "model directory (required)")
	dataPath := fs.String("data", "", "reranker JSONL file (required)")
	maxLen := fs.Int("max-len", 512, "maximum tokens per (query, document) pair")
	batch := fs.Int("batch", 32, "pairs scored per batch")
	skip := fs.Bool("skip-bad-lines", false, "count and skip malformed lines instead of stopping")
	df := addDeviceFlags(fs)
	fs.Usage = func() { fmt.Fprint(stderr, evalUsage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *model == "" || *dataPath == "" {
		fs.Usage()
		return fmt.Errorf("%w: --model and --data are required", errUsage)
	}
	if *maxLen < 8 || *batch < 1 {
		return fmt.Errorf("%w: --max-len must be at least 8 and --batch positive", errUsage)
	}
	dev, err := df.setup()
	if err != nil {
		return err
	}
	opts := data.Options{SkipBadLines: *skip}
	r, err := train.EvalReranker(*model, *dataPath, *maxLen, *batch, opts, dev)
	family := ""
	if errors.Is(err, train.ErrNotTrainedReranker) {
		// a family the trainer does not build (ColBERT, a causal LM's yes
		// logit, ...): the rerank package scores it; when it cannot
		// either, both reasons are given
		trainErr := err
		if family, r, err = evalWithRerank(*model, *dataPath, *maxLen, *batch, opts, dev); err != nil && family == "" {
			err = fmt.Errorf("%v; %w", trainErr, err)
		}
	}
	if err != nil {
		return err
	}
	if family != "" {
		fmt.Fprintf(stdout, "%d queries (%s reranker)\nmodel: %s\nBM25:  %s\n", r.Scored, family, r.Model, r.BM25)
		return nil
	}
	fmt.Fprintf(stdout, "%d queries\nmodel: %s\nBM25:  %s\n", r.Scored, r.Model, r.BM25)
	return nil
}

// evalWithRerank evaluates a reranker directory the trainer cannot load
// through the rerank package (every family it detects) on dev, and returns
// the family with the report.
func evalWithRerank(dir, dataPath string, maxLen, batch int, opts data.Options, dev tensor.Device) (family string, rep *train.EvalReport, err error) {
	rr, err := rerank.Load(dir, rerank.LoadOptions{MaxLength: maxLen, Device: dev})
	if err != nil {
		return "", nil, err
	}
	set, err := data.ReadReranker(dataPath, opts)
	if err != nil {
		return "", nil, fmt.Errorf("eval: %w", err)
	}
	scores := make([][]float32, len(set.Groups))
	for i, g := range set.Groups {
		pairs := make([]rerank.Pair, len(g.Items))
		for k, it := range g.Items {
			pairs[k] = rerank.Pair{Query: g.Query, Doc: it.Text}
		}
		if scores[i], err = rr.ComputeScore(context.Background(), pairs, rerank.Options{MaxLength: maxLen, BatchSize: batch}); err != nil {
			return "", nil, fmt.Errorf("eval: query %d (%q): %w", i+1, g.Query, err)
		}
	}
	rep, err = train.EvaluateScored(set.Groups, scores)
	return rr.Family(), rep, err
}
