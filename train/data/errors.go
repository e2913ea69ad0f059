package data

// errors.go: reading options, the per-file Report and line-numbered errors.

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultMaxLineBytes is the longest JSONL line read when
// Options.MaxLineBytes is 0.
const DefaultMaxLineBytes = 64 << 20

// DefaultMaxReported is how many line errors a Report keeps when
// Options.MaxReported is 0.
const DefaultMaxReported = 10

// Options control reading of JSONL data. The zero value is RAG-Retrieval's
// defaults (min_label 0, max_label 1, label key "label") and stops at the
// first bad line.
type Options struct {
	// SkipBadLines counts malformed lines in the Report and goes on
	// instead of failing at the first one.
	SkipBadLines bool
	// MinLabel and MaxLabel are RAG-Retrieval's min_label / max_label:
	// labels are mapped to (label-MinLabel)/(MaxLabel-MinLabel). Both zero
	// means 0 and 1. MaxLabel must exceed MinLabel and MinLabel must be
	// >= 0 (RAG-Retrieval asserts the same).
	MinLabel, MaxLabel float64
	// ClipLabels clips labels outside [MinLabel, MaxLabel] to the range
	// instead of reporting the line (RAG-Retrieval raises an error).
	ClipLabels bool
	// ScaleHits also maps the labels of grouped "hits" records
	// (RAG-Retrieval keeps them raw).
	ScaleHits bool
	// IgnoreScores uses 1 for pos and 0 for neg texts even when
	// pos_scores / neg_scores are present (FlagEmbedding's files carry
	// teacher logits there, e.g. 83..103, which are not labels).
	IgnoreScores bool
	// LabelKey is the key of the label in pointwise lines and hits
	// (RAG-Retrieval's train_label_key). "" means "label", and a
	// {"query","content","score"} line is then read as flat distill data.
	LabelKey string
	// PerLine makes every line its own Group, in file order, instead of
	// merging the lines of one query (ParseReranker; a scorer that must
	// write its output in the input's order uses it).
	PerLine bool
	// NoLabels reads the texts only: labels and scores may be missing and
	// are not checked (every Item gets Label 0; pos/neg texts get 1/0).
	// A teacher scoring a file for distillation uses it.
	NoLabels bool
	// MaxLineBytes bounds the length of one line (0: DefaultMaxLineBytes).
	MaxLineBytes int
	// MaxReported bounds the errors kept in Report.Errors
	// (0: DefaultMaxReported).
	MaxReported int
}

func (o Options) labelRange() (lo, hi float64, err error) {
	lo, hi = o.MinLabel, o.MaxLabel
	if lo == 0 && hi == 0 {
		hi = 1
	}
	if !(hi > lo) || lo < 0 {
		return 0, 0, fmt.Errorf("data: invalid label range: min_label %g, max_label %g (want 0 <= min_label < max_label)", lo, hi)
	}
	return lo, hi, nil
}

func (o Options) maxLine() int {
	if o.MaxLineBytes > 0 {
		return o.MaxLineBytes
	}
	return DefaultMaxLineBytes
}

func (o Options) maxReported() int {
	if o.MaxReported > 0 {
		return o.MaxReported
	}
	return DefaultMaxReported
}

// LineError is a problem with one line of a data file. Its message is
// `FILE:LINE: field "F": PROBLEM`, or `FILE:LINE: PROBLEM` when no single
// field is at fault.
type LineError struct {
	// File is the name the data was read under.
	File string
	// Line is the 1-based line number.
	Line int
	// Field is the JSON path of the field at fault ("query", "pos[2]",
	// "hits[0].label"), or "".
	Field string
	// Problem says what is wrong.
	Problem string
}

// Error implements error.
func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Problem)
	}
	return fmt.Sprintf("%s:%d: field %q: %s", e.File, e.Line, e.Field, e.Problem)
}

// Report summarizes the reading of one file.
type Report struct {
	// File is the name the data was read under.
	File string
	// Lines is the number of non-blank lines.
	Lines int
	// Records is the number of lines accepted.
	Records int
	// BadLines is the number of lines rejected (only non-zero with
	// Options.SkipBadLines).
	BadLines int
	// Errors holds the first bad lines' errors (at most
	// Options.MaxReported).
	Errors []*LineError
	// Formats counts the accepted lines of each format.
	Formats map[Format]int
}

// String summarizes the report in one line, plus one line per kept error.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d lines, %d records, %d bad", r.File, r.Lines, r.Records, r.BadLines)
	for f := FormatPointwise; f <= FormatEmbedPairScore; f++ {
		if n := r.Formats[f]; n > 0 {
			fmt.Fprintf(&b, ", %d %s", n, f)
		}
	}
	for _, e := range r.Errors {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	if r.BadLines > len(r.Errors) {
		fmt.Fprintf(&b, "\n  ... and %d more bad lines", r.BadLines-len(r.Errors))
	}
	return b.String()
}

// add records a bad line; it returns the error to stop with when bad lines
// are not skipped.
func (r *Report) bad(e *LineError, opts Options) error {
	if !opts.SkipBadLines {
		return e
	}
	r.BadLines++
	if len(r.Errors) < opts.maxReported() {
		r.Errors = append(r.Errors, e)
	}
	return nil
}

func (r *Report) good(f Format) {
	r.Records++
	if r.Formats == nil {
		r.Formats = map[Format]int{}
	}
	r.Formats[f]++
}

// ErrNoRecords is wrapped by the error returned for a file without any
// usable record.
var ErrNoRecords = errors.New("no usable records")

func (r *Report) empty() error {
	if r.BadLines > 0 && len(r.Errors) > 0 {
		return fmt.Errorf("data: %s: %w (%d lines, %d bad; first: %v)", r.File, ErrNoRecords, r.Lines, r.BadLines, r.Errors[0])
	}
	return fmt.Errorf("data: %s: %w (%d lines)", r.File, ErrNoRecords, r.Lines)
}
