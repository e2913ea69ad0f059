package data

// fields.go: typed access to the fields of a parsed line, each failure a
// LineError naming the field.

import (
	"fmt"
	"math"
	"strings"
)

// Format is the detected format of a line (or the kind of an embedding
// file).
type Format int

const (
	// FormatUnknown is no format.
	FormatUnknown Format = iota
	// FormatPointwise is {"query","content","label"}.
	FormatPointwise
	// FormatDistill is {"query","content","score"} (one teacher score per
	// line, t2rank_100.distill.jsonl).
	FormatDistill
	// FormatGrouped is {"query","hits":[{"content","label"}]}.
	FormatGrouped
	// FormatPosNeg is {"query","pos","neg","pos_scores","neg_scores"}.
	FormatPosNeg
	// FormatEmbedPair is the embedding pair {"query","pos"}.
	FormatEmbedPair
	// FormatEmbedTriplet is the embedding triplet {"query","pos","neg"}.
	FormatEmbedTriplet
	// FormatEmbedPairScore is the embedding pair with teacher scores
	// {"query","pos","scores"}.
	FormatEmbedPairScore
)

// String returns a short name of the format.
func (f Format) String() string {
	switch f {
	case FormatPointwise:
		return "pointwise"
	case FormatDistill:
		return "distill"
	case FormatGrouped:
		return "grouped"
	case FormatPosNeg:
		return "pos/neg"
	case FormatEmbedPair:
		return "pair"
	case FormatEmbedTriplet:
		return "triplet"
	case FormatEmbedPairScore:
		return "pair-score"
	}
	return "unknown"
}

// rec wraps a parsed line for field access.
type rec struct {
	v    jvalue
	file string
	line int
	// raw keeps leading and trailing spaces of texts (embedding data:
	// RAG-Retrieval's embedding dataset does not strip).
	raw bool
}

func (r *rec) err(field, format string, args ...any) *LineError {
	return &LineError{File: r.file, Line: r.line, Field: field, Problem: fmt.Sprintf(format, args...)}
}

func (r *rec) has(key string) bool {
	_, ok := r.v.get(key)
	return ok
}

// text returns a required non-empty string field, spaces trimmed.
func (r *rec) text(obj *jvalue, key, path string) (string, *LineError) {
	v, ok := obj.get(key)
	if !ok {
		return "", r.err(path, "missing")
	}
	return r.textValue(v, path)
}

func (r *rec) textValue(v *jvalue, path string) (string, *LineError) {
	if v.kind != jStr {
		return "", r.err(path, "want a string, got %s", v.kind)
	}
	s := strings.TrimSpace(v.str)
	if s == "" {
		return "", r.err(path, "empty text")
	}
	if r.raw {
		return v.str, nil
	}
	return s, nil
}

// texts returns a required list of non-empty strings, itself non-empty
// unless allowEmpty.
func (r *rec) texts(key string, allowEmpty bool) ([]string, *LineError) {
	v, ok := r.v.get(key)
	if !ok {
		return nil, r.err(key, "missing")
	}
	if v.kind != jArr {
		return nil, r.err(key, "want a list of strings, got %s", v.kind)
	}
	if len(v.arr) == 0 && !allowEmpty {
		return nil, r.err(key, "empty list")
	}
	out := make([]string, len(v.arr))
	for i := range v.arr {
		s, e := r.textValue(&v.arr[i], fmt.Sprintf("%s[%d]", key, i))
		if e != nil {
			return nil, e
		}
		out[i] = s
	}
	return out, nil
}

func (r *rec) numValue(v *jvalue, path string) (float64, *LineError) {
	if v.kind != jNum {
		return 0, r.err(path, "want a number, got %s", v.kind)
	}
	if math.IsNaN(v.num) {
		return 0, r.err(path, "NaN is not a valid label")
	}
	if math.IsInf(v.num, 0) {
		return 0, r.err(path, "infinite value is not a valid label")
	}
	return v.num, nil
}

// nums returns a list of n finite numbers (n < 0: any length, non-empty).
func (r *rec) nums(key string, n int, of string) ([]float64, *LineError) {
	v, ok := r.v.get(key)
	if !ok {
		return nil, r.err(key, "missing")
	}
	if v.kind != jArr {
		return nil, r.err(key, "want a list of numbers, got %s", v.kind)
	}
	if n >= 0 && len(v.arr) != n {
		return nil, r.err(key, "%d values for %d %q texts", len(v.arr), n, of)
	}
	out := make([]float64, len(v.arr))
	for i := range v.arr {
		f, e := r.numValue(&v.arr[i], fmt.Sprintf("%s[%d]", key, i))
		if e != nil {
			return nil, e
		}
		out[i] = f
	}
	return out, nil
}

// scaler maps labels with min_label / max_label.
type scaler struct {
	lo, hi float64
	clip   bool
}

func (s scaler) scale(r *rec, x float64, path string) (float32, *LineError) {
	if x < s.lo || x > s.hi {
		if !s.clip {
			return 0, r.err(path, "label %g is outside [min_label %g, max_label %g]", x, s.lo, s.hi)
		}
		x = math.Min(math.Max(x, s.lo), s.hi)
	}
	return float32((x - s.lo) / (s.hi - s.lo)), nil
}
