package distill

// teacher.go: stage 1, scoring a reranker data file with the teacher into
// a soft-label JSONL.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ragr-dev/ragr/internal/atomicfile"
	"github.com/ragr-dev/ragr/rerank"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/train/data"
)

// Teacher describes the teacher reranker. The YAML keys are those of a
// distillation config (beside the reranker trainer's keys).
type Teacher struct {
	// Dir is the teacher's model directory (config.json, weights,
	// tokenizer).
	Dir string `yaml:"teacher"`
	// Family forces a rerank family (cross-encoder, qwen2-seqcls,
	// causal-lm-yes); "" picks it from the directory.
	Family string `yaml:"teacher_family"`
	// QueryFormat, DocumentFormat, Sep, SpecialToken and YesToken are the
	// decoder prompt (rerank.PromptConfig); when any is set they override
	// the directory's rerank.json field by field. A causal LM needs a yes
	// token (here or in rerank.json).
	QueryFormat    string  `yaml:"teacher_query_format"`
	DocumentFormat string  `yaml:"teacher_document_format"`
	Sep            *string `yaml:"teacher_sep"`
	SpecialToken   *string `yaml:"teacher_special_token"`
	YesToken       string  `yaml:"teacher_yes_token"`
	// MaxLen is the teacher's window in tokens (0: the model's default,
	// 512 capped by its positions).
	MaxLen int `yaml:"teacher_max_len"`
	// BatchSize is the number of rows per teacher forward pass (0: 32).
	BatchSize int `yaml:"teacher_batch_size"`
	// Strategy is the long-document strategy, max_score_slice (default)
	// or max_length_truncation.
	Strategy string `yaml:"teacher_strategy"`
	// Device is where the teacher runs: cpu, cuda, cuda:N, sim or sim:N
	// (tensor.ParseDevice). Empty is the CPU for ScoreFile; Run gives it
	// the student's device key.
	Device string `yaml:"teacher_device"`
	// Precision is the teacher's arithmetic on a device: fp32 (default)
	// or bf16 (rerank.SetPrecision; not on the CPU).
	Precision string `yaml:"teacher_precision"`
}

// teacherFamilies are the rerank families that can teach: one logit per
// pair.
var teacherFamilies = []string{"cross-encoder", "qwen2-seqcls", "causal-lm-yes"}

func (t Teacher) prompt() (*rerank.PromptConfig, error) {
	if t.QueryFormat == "" && t.DocumentFormat == "" && t.Sep == nil && t.SpecialToken == nil && t.YesToken == "" {
		return nil, nil // rerank.Load reads rerank.json
	}
	pc := rerank.PromptConfig{Sep: " ", SpecialToken: "</s>"}
	p := filepath.Join(t.Dir, "rerank.json")
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		pc = rerank.PromptConfig{}
		if err := json.Unmarshal(b, &pc); err != nil {
			return nil, fmt.Errorf("distill: teacher %s: %w", p, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("distill: teacher: %w", err)
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{{&pc.QueryFormat, t.QueryFormat}, {&pc.DocumentFormat, t.DocumentFormat}, {&pc.YesToken, t.YesToken}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if t.YesToken != "" {
		pc.YesID = nil
	}
	if t.Sep != nil {
		pc.Sep = *t.Sep
	}
	if t.SpecialToken != nil {
		pc.SpecialToken = *t.SpecialToken
	}
	return &pc, nil
}

// device parses the teacher's device and checks its precision: an
// unknown value, bf16 on the CPU and an unavailable device are errors.
func (t Teacher) device() (tensor.Device, error) {
	d, err := tensor.ParseDevice(t.Device)
	if err != nil {
		return d, fmt.Errorf("distill: teacher_device: %w", err)
	}
	switch {
	case t.Precision != "" && t.Precision != rerank.FP32 && t.Precision != rerank.BF16:
		return d, fmt.Errorf("distill: teacher_precision %q: want fp32 or bf16", t.Precision)
	case t.Precision == rerank.BF16 && d.Kind == tensor.KindCPU:
		return d, errors.New("distill: teacher_precision bf16 needs a teacher_device (cuda or sim): the CPU computes in float32")
	}
	if d.Kind != tensor.KindCPU {
		if _, err := tensor.BackendFor(d); err != nil {
			return d, fmt.Errorf("distill: teacher_device %s: %w", d, err)
		}
	}
	return d, nil
}

// LoadTeacher loads the teacher reranker on its device: a missing directory, a model that
// is not a cross-encoder or LLM reranker (a ColBERT or bare encoder), and a
// causal LM without a yes token are errors.
func LoadTeacher(t Teacher) (rerank.Reranker, error) {
	if t.Dir == "" {
		return nil, errors.New("distill: no teacher model directory given (teacher / --teacher)")
	}
	st, err := os.Stat(t.Dir)
	if err != nil {
		return nil, fmt.Errorf("distill: teacher directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("distill: teacher %s is not a directory", t.Dir)
	}
	dev, err := t.device()
	if err != nil {
		return nil, err
	}
	pc, err := t.prompt()
	if err != nil {
		return nil, err
	}
	if err := rerank.SetPrecision(dev, t.Precision); err != nil {
		return nil, fmt.Errorf("distill: teacher_precision: %w", err)
	}
	r, err := rerank.Load(t.Dir, rerank.LoadOptions{Family: t.Family, Prompt: pc, MaxLength: t.MaxLen, Device: dev})
	if err != nil {
		return nil, fmt.Errorf("distill: teacher %s is not a reranker ragr can distill from: %w", t.Dir, err)
	}
	for _, f := range teacherFamilies {
		if r.Family() == f {
			return r, nil
		}
	}
	return nil, fmt.Errorf("distill: teacher %s is a %s model; a teacher must be a cross-encoder or LLM reranker (%s)", t.Dir, r.Family(), strings.Join(teacherFamilies, ", "))
}

// Output formats of the soft-label file.
const (
	// FormatFlat writes one {"query","content","score"} line per pair in
	// the input's order (RAG-Retrieval's t2rank_100.distill.jsonl).
	FormatFlat = "flat"
	// FormatGrouped writes one {"query","pos":[…],"pos_scores":[…]} line
	// per query, queries in order of first appearance and documents in
	// file order (t2rank_100.distill.standard.jsonl).
	FormatGrouped = "grouped"
)

// ScoreOptions configure ScoreFile.
type ScoreOptions struct {
	// Teacher is the teacher reranker.
	Teacher Teacher
	// Data is a reranker JSONL file in any format train/data reads
	// (pairs, hits, pos/neg); its labels are not read.
	Data string
	// Out is the soft-label JSONL to write (atomically).
	Out string
	// Format is FormatFlat ("" too) or FormatGrouped.
	Format string
	// Force overwrites an existing Out.
	Force bool
	// SkipBadLines skips malformed input lines (counted) instead of
	// stopping at the first.
	SkipBadLines bool
	// Progress receives progress lines (nil: none).
	Progress io.Writer
}

// ScoreResult describes a written soft-label file.
type ScoreResult struct {
	// Out is the file written.
	Out string
	// Family is the teacher's rerank family.
	Family string
	// Format is the output format.
	Format string
	// Lines, Pairs and Queries count the input lines read, the pairs
	// scored and the distinct queries.
	Lines, Pairs, Queries int
	// BadLines counts the input lines skipped (SkipBadLines).
	BadLines int
	// Logits are the teacher's raw scores in the input's order of pairs;
	// the file holds sigmoid(logit).
	Logits []float32
}

// ScoreFile is stage 1 of distillation: it scores every (query, document)
// pair of o.Data with the teacher and writes the soft labels
// sigmoid(teacher logit) to o.Out, in the input's order.
func ScoreFile(ctx context.Context, o ScoreOptions) (*ScoreResult, error) {
	if err := checkScoreOptions(&o); err != nil {
		return nil, err
	}
	teacher, err := LoadTeacher(o.Teacher)
	if err != nil {
		return nil, err
	}
	return scoreWith(ctx, teacher, o)
}

func checkScoreOptions(o *ScoreOptions) error {
	if _, err := o.Teacher.device(); err != nil {
		return err
	}
	switch o.Format {
	case "":
		o.Format = FormatFlat
	case FormatFlat, FormatGrouped:
	default:
		return fmt.Errorf("distill: output format %q is not %s or %s", o.Format, FormatFlat, FormatGrouped)
	}
	if o.Data == "" || o.Out == "" {
		return errors.New("distill: the data file to score and the output file are both required")
	}
	if o.Teacher.BatchSize < 0 || o.Teacher.MaxLen < 0 {
		return fmt.Errorf("distill: teacher batch size %d and max length %d must not be negative", o.Teacher.BatchSize, o.Teacher.MaxLen)
	}
	if _, err := rerank.ParseStrategy(o.Teacher.Strategy); err != nil {
		return fmt.Errorf("distill: teacher_strategy: %w", err)
	}
	return checkOut(o.Out, o.Force)
}

// checkOut refuses an existing output (unless force) and a missing
// directory, before any work is done.
func checkOut(out string, force bool) error {
	if st, err := os.Stat(out); err == nil {
		if st.IsDir() {
			return fmt.Errorf("distill: output %s is a directory", out)
		}
		if !force {
			return fmt.Errorf("distill: output %s exists (use --force to overwrite it)", out)
		}
	}
	dir := filepath.Dir(out)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("distill: the directory of output %s does not exist", out)
	}
	return nil
}

func scoreWith(ctx context.Context, teacher rerank.Reranker, o ScoreOptions) (*ScoreResult, error) {
	set, err := data.ReadReranker(o.Data, data.Options{PerLine: true, NoLabels: true, SkipBadLines: o.SkipBadLines})
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	strategy, _ := rerank.ParseStrategy(o.Teacher.Strategy)
	ropts := rerank.Options{MaxLength: o.Teacher.MaxLen, BatchSize: o.Teacher.BatchSize, Strategy: strategy}
	var pairs []rerank.Pair
	queries := map[string]bool{}
	for _, g := range set.Groups {
		queries[g.Query] = true
		for _, it := range g.Items {
			pairs = append(pairs, rerank.Pair{Query: g.Query, Doc: it.Text})
		}
	}
	res := &ScoreResult{Out: o.Out, Family: teacher.Family(), Format: o.Format, Lines: set.Report.Lines,
		Pairs: len(pairs), Queries: len(queries), BadLines: set.Report.BadLines}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	if res.BadLines > 0 {
		fmt.Fprintf(progress, "warning: %s: skipped %d malformed lines (first: %v)\n", o.Data, res.BadLines, set.Report.Errors[0])
	}
	where := res.Family
	if d, err := o.Teacher.device(); err == nil && d.Kind != tensor.KindCPU {
		where += " on " + d.String()
		if o.Teacher.Precision == rerank.BF16 {
			where += " in bf16"
		}
	}
	fmt.Fprintf(progress, "teacher %s (%s): scoring %d pairs of %d queries from %s\n", o.Teacher.Dir, where, len(pairs), len(queries), o.Data)
	bs := o.Teacher.BatchSize
	if bs == 0 {
		bs = rerank.DefaultBatchSize
	}
	chunk := 8 * bs
	start, last := time.Now(), time.Now()
	res.Logits = make([]float32, 0, len(pairs))
	for lo := 0; lo < len(pairs); lo += chunk {
		hi := min(lo+chunk, len(pairs))
		s, err := teacher.ComputeScore(ctx, pairs[lo:hi], ropts)
		if err != nil {
			return nil, fmt.Errorf("distill: teacher scoring pairs %d-%d of %s: %w", lo+1, hi, o.Data, err)
		}
		res.Logits = append(res.Logits, s...)
		if time.Since(last) >= 2*time.Second || hi == len(pairs) {
			last = time.Now()
			el := time.Since(start).Seconds()
			fmt.Fprintf(progress, "teacher: %d/%d pairs (%.0f%%, %.1f pairs/s)\n", hi, len(pairs), 100*float64(hi)/float64(len(pairs)), float64(hi)/max(el, 1e-9))
		}
	}
	if err := writeAtomic(o.Out, func(w io.Writer) error { return writeScores(w, set.Groups, res.Logits, o.Format) }); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "wrote %s (%s, %d pairs)\n", o.Out, o.Format, len(pairs))
	return res, nil
}

// Sigmoid is the soft label of a teacher logit, computed in float64.
func Sigmoid(z float32) float64 { return 1 / (1 + math.Exp(-float64(z))) }

type flatLine struct {
	Query   string  `json:"query"`
	Content string  `json:"content"`
	Score   float64 `json:"score"`
}

type groupedLine struct {
	Query     string    `json:"query"`
	Pos       []string  `json:"pos"`
	PosScores []float64 `json:"pos_scores"`
}

// writeScores writes the soft labels of groups (one per line of the input)
// with logits in the same order.
func writeScores(w io.Writer, groups []data.Group, logits []float32, format string) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	k := 0
	if format == FormatFlat {
		for _, g := range groups {
			for _, it := range g.Items {
				if err := enc.Encode(flatLine{g.Query, it.Text, Sigmoid(logits[k])}); err != nil {
					return err
				}
				k++
			}
		}
		return nil
	}
	var out []groupedLine
	byQuery := map[string]int{}
	for _, g := range groups {
		gi, ok := byQuery[g.Query]
		if !ok {
			gi = len(out)
			byQuery[g.Query] = gi
			out = append(out, groupedLine{Query: g.Query})
		}
		for _, it := range g.Items {
			out[gi].Pos = append(out[gi].Pos, it.Text)
			out[gi].PosScores = append(out[gi].PosScores, Sigmoid(logits[k]))
			k++
		}
	}
	for _, l := range out {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic writes path through a temporary file in its directory that is
// renamed over path when fill succeeds (and removed when it fails).
func writeAtomic(path string, fill func(io.Writer) error) error {
	if err := atomicfile.Write(path, 0o644, fill); err != nil {
		return fmt.Errorf("distill: writing %s: %w", path, err)
	}
	return nil
}
