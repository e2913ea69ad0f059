package distill

// run.go: the two-stage command (teacher scores, then the student trains
// on them) and the student–teacher agreement it reports.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/train"
	"github.com/ragr-dev/ragr/train/data"
	"github.com/ragr-dev/ragr/train/embedeval"
)

// DefaultLoss is the student's loss when the config names none: MSE
// between the student's raw scores and the teacher's logits.
const DefaultLoss = "distill_mse"

// DefaultScoresFile is the soft-label file's name under output_dir when
// teacher_scores is not given.
const DefaultScoresFile = "teacher_scores.jsonl"

// DefaultAgreementQueries bounds the training queries on which the
// student's agreement with the teacher is measured.
const DefaultAgreementQueries = 64

// Config is a distillation run: the reranker trainer's config (its YAML
// keys) plus the teacher keys of Teacher and the two below.
type Config struct {
	// Teacher is the teacher; with Teacher.Dir empty the teacher stage is
	// skipped and Train.TrainDataset must hold soft labels already.
	Teacher Teacher `yaml:",inline"`
	// Scores is the soft-label file the teacher writes and the student
	// trains on (teacher_scores; default output_dir/teacher_scores.jsonl).
	Scores string `yaml:"teacher_scores"`
	// ScoresFormat is FormatFlat (default) or FormatGrouped
	// (teacher_scores_format).
	ScoresFormat string `yaml:"teacher_scores_format"`
	// Train is the student's reranker training config; its train_dataset
	// is the file the teacher scores (its labels are not used).
	Train train.Config `yaml:"-"`
}

// LoadConfig reads a distillation YAML config: keys starting with
// "teacher" are the teacher's (an unknown one is an error), every other key
// is the reranker trainer's. loss_type defaults to DefaultLoss.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("distill: reading config: %w", err)
	}
	return ParseConfig(b, path)
}

// ParseConfig is LoadConfig on the bytes of a config; path names it and
// anchors relative paths.
func ParseConfig(b []byte, path string) (Config, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return Config{}, fmt.Errorf("distill: %s: malformed YAML: %w", path, err)
	}
	tk := map[string]any{}
	for k, v := range raw {
		if strings.HasPrefix(k, "teacher") {
			tk[k] = v
			delete(raw, k)
		}
	}
	if _, ok := raw["loss_type"]; !ok {
		raw["loss_type"] = DefaultLoss
	}
	if _, ok := raw["model_type"]; !ok {
		raw["model_type"] = "cross_encoder"
	}
	var c Config
	if err := decodeStrict(tk, &c); err != nil {
		return c, fmt.Errorf("distill: %s: %w", path, err)
	}
	rest, err := yaml.Marshal(raw)
	if err != nil {
		return c, fmt.Errorf("distill: %s: %w", path, err)
	}
	if c.Train, err = train.ParseConfig(rest, path); err != nil {
		return c, err
	}
	base := filepath.Dir(path)
	for _, p := range []*string{&c.Teacher.Dir, &c.Scores} {
		if *p != "" && !filepath.IsAbs(*p) && base != "" {
			if _, err := os.Stat(*p); err != nil {
				*p = filepath.Join(base, *p)
			}
		}
	}
	return c, nil
}

func decodeStrict(m map[string]any, v any) error {
	b, err := yaml.Marshal(m)
	if err != nil {
		return err
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Set applies one key=value override: a teacher key or any trainer key.
func (c *Config) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("distill: override %q is not key=value", kv)
	}
	if !strings.HasPrefix(k, "teacher") {
		return c.Train.Set(kv)
	}
	var val any
	if err := yaml.Unmarshal([]byte(v), &val); err != nil {
		return fmt.Errorf("distill: override %s: %w", k, err)
	}
	if err := decodeStrict(map[string]any{k: val}, c); err != nil {
		return fmt.Errorf("distill: override %s: %w", k, err)
	}
	return nil
}

// scoresPath is the soft-label file of the run.
func (c Config) scoresPath() string {
	if c.Scores != "" {
		return c.Scores
	}
	return filepath.Join(c.Train.OutputDir, DefaultScoresFile)
}

// RunOptions control Run.
type RunOptions struct {
	// Out receives progress and messages (nil: discard).
	Out io.Writer
	// Force lets the teacher overwrite an existing soft-label file.
	Force bool
	// Resume continues the student's training from a checkpoint directory
	// or "latest"; an existing soft-label file is then reused.
	Resume string
	// AgreementQueries bounds the training queries of the agreement
	// measure (0: DefaultAgreementQueries; negative: none).
	AgreementQueries int
}

// Result describes a finished distillation.
type Result struct {
	// Scores is the teacher stage's result (nil when it was skipped).
	Scores *ScoreResult
	// Train is the student's training result.
	Train *train.RerankResult
	// Before and After are the student's agreement with the teacher on
	// training queries at initialization and after training.
	Before, After Agreement
}

// Run distills: the teacher scores cfg.Train.TrainDataset into the
// soft-label file (unless cfg.Teacher.Dir is empty), then the student
// trains on that file with train.TrainReranker, and its agreement with
// the teacher's soft labels before and after training is measured.
func Run(ctx context.Context, cfg Config, o RunOptions) (*Result, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	tc := cfg.Train
	if err := tc.Validate(); err != nil {
		return nil, err
	}
	res := &Result{}
	scores := cfg.scoresPath()
	runTeacher := cfg.Teacher.Dir != ""
	if runTeacher && o.Resume != "" {
		if _, err := os.Stat(scores); err == nil {
			runTeacher = false
			fmt.Fprintf(out, "resume: reusing the teacher's scores %s\n", scores)
		}
	}
	if runTeacher {
		if cfg.Teacher.Device == "" {
			cfg.Teacher.Device = tc.Device
		}
		if err := os.MkdirAll(tc.OutputDir, 0o755); err != nil {
			return nil, fmt.Errorf("distill: output_dir: %w", err)
		}
		so := ScoreOptions{Teacher: cfg.Teacher, Data: tc.TrainDataset, Out: scores, Format: cfg.ScoresFormat,
			Force: o.Force, SkipBadLines: tc.SkipBadLines, Progress: out}
		if err := checkScoreOptions(&so); err != nil {
			return nil, err
		}
		teacher, err := LoadTeacher(cfg.Teacher)
		if err != nil {
			return nil, err
		}
		if res.Scores, err = scoreWith(ctx, teacher, so); err != nil {
			return nil, err
		}
		tc.TrainDataset = scores
	}
	nq := o.AgreementQueries
	if nq == 0 {
		nq = DefaultAgreementQueries
	}
	var groups []data.Group
	if nq > 0 {
		set, err := data.ReadReranker(tc.TrainDataset, data.Options{SkipBadLines: tc.SkipBadLines})
		if err != nil {
			return nil, fmt.Errorf("distill: %w", err)
		}
		groups = set.Groups[:min(nq, len(set.Groups))]
		if res.Before, err = initialAgreement(tc, groups); err != nil {
			return nil, err
		}
	}
	tr, err := train.TrainReranker(ctx, tc, train.RunOptions{Out: out, Resume: o.Resume})
	res.Train = tr
	if err != nil {
		return res, err
	}
	if nq > 0 {
		m, enc, err := train.LoadReranker(tr.ModelDir, tc.MaxLen)
		if err != nil {
			return res, err
		}
		if res.After, err = agreement(m, enc, groups); err != nil {
			return res, err
		}
		fmt.Fprintf(out, "student vs teacher on %d training queries: Spearman %.4f -> %.4f, pairwise agreement %.4f -> %.4f\n",
			res.After.Queries, res.Before.Spearman, res.After.Spearman, res.Before.Pairwise, res.After.Pairwise)
	}
	return res, nil
}

// initialAgreement measures the student as TrainReranker initializes it
// (the same seed gives the same weights): it is built, exported to a
// temporary directory and loaded back as a scorer.
func initialAgreement(tc train.Config, groups []data.Group) (Agreement, error) {
	tokDir := tc.Tokenizer
	if tokDir == "" {
		tokDir = tc.ModelNameOrPath
	}
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		return Agreement{}, fmt.Errorf("distill: student tokenizer: %w", err)
	}
	m, _, err := train.BuildReranker(tc, tok.VocabSize())
	if err != nil {
		return Agreement{}, err
	}
	if err := os.MkdirAll(tc.OutputDir, 0o755); err != nil {
		return Agreement{}, fmt.Errorf("distill: output_dir: %w", err)
	}
	dir, err := os.MkdirTemp(tc.OutputDir, ".student-init-")
	if err != nil {
		return Agreement{}, fmt.Errorf("distill: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := m.Export(dir); err != nil {
		return Agreement{}, fmt.Errorf("distill: %w", err)
	}
	if err := models.CopyTokenizer(tokDir, dir); err != nil {
		return Agreement{}, err
	}
	sm, enc, err := train.LoadReranker(dir, tc.MaxLen)
	if err != nil {
		return Agreement{}, err
	}
	return agreement(sm, enc, groups)
}

// Agreement compares a student's scores with the teacher's soft labels,
// query by query.
type Agreement struct {
	// Queries is the number of queries with at least two documents whose
	// teacher scores differ (the ones measured).
	Queries int
	// Spearman is the mean over those queries of Spearman's rank
	// correlation between student scores and teacher labels (average ranks
	// for ties; a query whose student scores are all equal counts 0).
	Spearman float64
	// Pairwise is the share of document pairs with different teacher
	// labels that the student orders the same way (a student tie counts
	// one half), over all measured pairs.
	Pairwise float64
	// Pairs is the number of pairs behind Pairwise.
	Pairs int
}

func agreement(m train.Reranker, enc data.PairEncoder, groups []data.Group) (Agreement, error) {
	scores, err := train.ScoreGroups(m, enc, groups, 64)
	if err != nil {
		return Agreement{}, err
	}
	teacher := make([][]float64, len(groups))
	student := make([][]float64, len(groups))
	for i, g := range groups {
		for k, it := range g.Items {
			teacher[i] = append(teacher[i], float64(it.Label))
			student[i] = append(student[i], float64(scores[i][k]))
		}
	}
	return Compare(student, teacher), nil
}

// Compare computes the Agreement of student scores with teacher scores,
// given per query (same shapes).
func Compare(student, teacher [][]float64) Agreement {
	if len(student) != len(teacher) {
		panic(fmt.Sprintf("distill.Compare: %d student and %d teacher queries", len(student), len(teacher)))
	}
	var a Agreement
	var rhoSum, agree float64
	for q := range teacher {
		s, t := student[q], teacher[q]
		if len(s) != len(t) {
			panic(fmt.Sprintf("distill.Compare: query %d: %d student and %d teacher scores", q, len(s), len(t)))
		}
		n := 0
		for i := range t {
			for j := i + 1; j < len(t); j++ {
				if t[i] == t[j] {
					continue
				}
				n++
				switch d := (s[i] - s[j]) * (t[i] - t[j]); {
				case d > 0:
					agree++
				case d == 0:
					agree += 0.5
				}
			}
		}
		if n == 0 {
			continue
		}
		a.Queries++
		a.Pairs += n
		// a student whose scores are all equal has no rank correlation: 0
		if rho := embedeval.Spearman(s, t); !math.IsNaN(rho) {
			rhoSum += rho
		}
	}
	if a.Queries > 0 {
		a.Spearman = rhoSum / float64(a.Queries)
		a.Pairwise = agree / float64(a.Pairs)
	}
	return a
}
