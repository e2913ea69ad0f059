package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ragr-dev/ragr/distill"
)

const distillUsage = `Usage:
  ragr distill reranker --teacher DIR --data FILE.jsonl --out SCORES.jsonl [flags]
  ragr distill reranker --config FILE.yaml [--set key=value]... [flags]

Distills an LLM reranker into a BERT cross-encoder.

With --teacher/--data/--out (stage 1 only), the teacher — a Qwen2 sequence
classifier, a causal LM scored by its yes token's logit (--yes-token or
rerank.json), or a cross-encoder — scores every (query, document) pair of a
RAG-Retrieval reranker file (pairs, hits or pos/neg; labels ignored) and
writes soft labels sigmoid(logit): flat {"query","content","score"} lines in
the input's order, or --format grouped {"query","pos","pos_scores"} lines.

With --config, both stages run: the config holds the reranker trainer's keys
(train_dataset is the file the teacher scores; loss_type defaults to
distill_mse, also distill_kl / distill_soft_ce with distill_temperature,
pointwise_bce, pointwise_mse) plus teacher, teacher_family,
teacher_query_format, teacher_document_format, teacher_sep,
teacher_special_token, teacher_yes_token, teacher_max_len,
teacher_batch_size, teacher_strategy, teacher_scores (default
output_dir/teacher_scores.jsonl), teacher_scores_format, teacher_device
(default: the student's device key) and teacher_precision (fp32, or bf16 on
a device). The teacher flags below override those keys. Without a teacher
key the student trains on train_dataset as soft labels.

An existing soft-label file is refused unless --force. --teacher-device cuda
scores with the teacher on the GPU (fp32; --teacher-precision bf16 for bf16
matmuls and fused attention).

Examples:
  ragr distill reranker --teacher ./qwen2-reranker --data t2rank_100.jsonl --out t2rank_100.distill.jsonl
  ragr distill reranker --config distill.yaml --set loss_type=distill_kl

Flags:
`

func distillCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "reranker" {
		return fmt.Errorf("%w: ragr distill needs a mode: reranker", errUsage)
	}
	fs := flag.NewFlagSet("ragr distill reranker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML config: run both stages (teacher scores, then the student trains)")
	teacher := fs.String("teacher", "", "teacher model directory")
	dataPath := fs.String("data", "", "reranker JSONL file to score")
	out := fs.String("out", "", "soft-label JSONL to write")
	format := fs.String("format", "", "output format: flat (default) or grouped")
	force := fs.Bool("force", false, "overwrite an existing soft-label file")
	family := fs.String("family", "", "force the teacher's family: qwen2-seqcls, causal-lm-yes or cross-encoder")
	qf := fs.String("query-format", "", `teacher prompt: query format with "{}"`)
	df := fs.String("document-format", "", `teacher prompt: document format with "{}"`)
	sep := fs.String("sep", "", "teacher prompt: text between query and document")
	special := fs.String("special-token", "", "teacher prompt: text closing the sequence")
	yes := fs.String("yes-token", "", "causal-LM teacher: the token whose logit is the score")
	maxLen := fs.Int("max-len", 0, "teacher window in tokens (0: the model's default)")
	batch := fs.Int("batch-size", 0, "teacher rows per forward pass (0: 32)")
	strategy := fs.String("strategy", "", "teacher long-document strategy: max_score_slice or max_length_truncation")
	tdev := fs.String("teacher-device", "", "where the teacher runs: cpu, cuda, cuda:N or sim (default: the config's device key, else cpu)")
	tprec := fs.String("teacher-precision", "", "teacher on a device: fp32 (default) or bf16")
	resume := fs.String("resume", "", "with --config: student checkpoint directory, or latest, to continue from")
	skip := fs.Bool("skip-bad-lines", false, "count and skip malformed JSONL lines instead of stopping")
	var sets multiFlag
	fs.Var(&sets, "set", "with --config: override a config key, key=value (repeatable)")
	fs.Usage = func() { fmt.Fprint(stderr, distillUsage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	// The teacher flags as config keys (flags override the config).
	keys := []struct {
		flag, key, val string
	}{
		{"teacher", "teacher", *teacher}, {"family", "teacher_family", *family}, {"query-format", "teacher_query_format", *qf},
		{"document-format", "teacher_document_format", *df}, {"sep", "teacher_sep", *sep}, {"special-token", "teacher_special_token", *special},
		{"yes-token", "teacher_yes_token", *yes}, {"strategy", "teacher_strategy", *strategy}, {"out", "teacher_scores", *out},
		{"format", "teacher_scores_format", *format}, {"data", "train_dataset", *dataPath},
		{"teacher-device", "teacher_device", *tdev}, {"teacher-precision", "teacher_precision", *tprec},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *cfgPath == "" {
		if *teacher == "" || *dataPath == "" || *out == "" {
			fs.Usage()
			return fmt.Errorf("%w: give --teacher, --data and --out (stage 1), or --config (both stages)", errUsage)
		}
		if len(sets) > 0 || *resume != "" {
			return fmt.Errorf("%w: --set and --resume need --config", errUsage)
		}
		var cfg distill.Config
		for _, k := range keys {
			if given[k.flag] && k.key != "train_dataset" {
				if err := cfg.Set(k.key + "=" + quote(k.val)); err != nil {
					return fmt.Errorf("%w: --%s: %v", errUsage, k.flag, err)
				}
			}
		}
		cfg.Teacher.MaxLen, cfg.Teacher.BatchSize = *maxLen, *batch
		res, err := distill.ScoreFile(ctx, distill.ScoreOptions{Teacher: cfg.Teacher, Data: *dataPath, Out: cfg.Scores,
			Format: cfg.ScoresFormat, Force: *force, SkipBadLines: *skip, Progress: stdout})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d pairs of %d queries scored by the %s teacher\n", res.Pairs, res.Queries, res.Family)
		return nil
	}
	cfg, err := distill.LoadConfig(*cfgPath)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, s := range sets {
		if err := cfg.Set(s); err != nil {
			return fmt.Errorf("%w: --set %v", errUsage, err)
		}
	}
	for _, k := range keys {
		if given[k.flag] {
			if err := cfg.Set(k.key + "=" + quote(k.val)); err != nil {
				return fmt.Errorf("%w: --%s: %v", errUsage, k.flag, err)
			}
		}
	}
	if given["max-len"] {
		cfg.Teacher.MaxLen = *maxLen
	}
	if given["batch-size"] {
		cfg.Teacher.BatchSize = *batch
	}
	if *skip {
		cfg.Train.SkipBadLines = true
	}
	if err := cfg.Train.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	_, err = distill.Run(ctx, cfg, distill.RunOptions{Out: stdout, Force: *force, Resume: *resume})
	return err
}

// quote makes a flag's text a YAML string value.
func quote(s string) string { return fmt.Sprintf("%q", s) }
