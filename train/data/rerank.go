package data

// rerank.go: reading reranker training / evaluation data (the formats of
// RAG-Retrieval's rag_retrieval/train/reranker/data.py), merged into one
// Group per query.

import (
	"fmt"
	"io"
	"os"
)

// Item is one candidate document of a query with its label.
type Item struct {
	// Text is the document (spaces trimmed).
	Text string
	// Label is the (scaled) relevance label.
	Label float32
}

// Group is a query with its candidate documents in file order.
type Group struct {
	// Query is the query text (spaces trimmed).
	Query string
	// Items are the candidates.
	Items []Item
	// File is the file of the query's first line.
	File string
	// Line is the 1-based number of the query's first line.
	Line int
}

// Source returns "FILE:LINE" of the group's first line.
func (g *Group) Source() string { return fmt.Sprintf("%s:%d", g.File, g.Line) }

// RerankSet is a reranker data file read into groups.
type RerankSet struct {
	// Groups are the queries in order of first appearance.
	Groups []Group
	// Report describes the reading.
	Report Report
}

// Items returns the total number of (query, document) items.
func (s *RerankSet) Items() int {
	n := 0
	for i := range s.Groups {
		n += len(s.Groups[i].Items)
	}
	return n
}

// ReadReranker reads a reranker JSONL file (formats in the package
// documentation). A missing file, an invalid option, a malformed line
// (unless Options.SkipBadLines) and a file without a usable record are
// errors.
func ReadReranker(path string, opts Options) (*RerankSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: reranker data: %w", err)
	}
	defer f.Close()
	return ParseReranker(f, path, opts)
}

// ParseReranker reads reranker JSONL from r; name is used in messages.
func ParseReranker(r io.Reader, name string, opts Options) (*RerankSet, error) {
	lo, hi, err := opts.labelRange()
	if err != nil {
		return nil, err
	}
	sc := scaler{lo: lo, hi: hi, clip: opts.ClipLabels}
	set := &RerankSet{Report: Report{File: name}}
	byQuery := map[string]int{}
	lr := newLineReader(r, opts.maxLine())
	for {
		b, n, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &LineError{File: name, Line: n, Problem: err.Error()}
		}
		set.Report.Lines++
		rc := rec{file: name, line: n}
		var msg string
		rc.v, msg = decodeLine(b)
		var items []Item
		var query string
		var format Format
		var le *LineError
		if msg != "" {
			le = rc.err("", "%s", msg)
		} else {
			query, items, format, le = parseRerankLine(&rc, sc, opts)
		}
		if le != nil {
			if err := set.Report.bad(le, opts); err != nil {
				return nil, err
			}
			continue
		}
		set.Report.good(format)
		gi, ok := byQuery[query]
		if !ok || opts.PerLine {
			gi = len(set.Groups)
			byQuery[query] = gi
			set.Groups = append(set.Groups, Group{Query: query, File: name, Line: n})
		}
		set.Groups[gi].Items = append(set.Groups[gi].Items, items...)
	}
	if len(set.Groups) == 0 {
		return nil, set.Report.empty()
	}
	return set, nil
}

func parseRerankLine(r *rec, sc scaler, opts Options) (string, []Item, Format, *LineError) {
	query, e := r.text(&r.v, "query", "query")
	if e != nil {
		return "", nil, 0, e
	}
	labelKey := opts.LabelKey
	if labelKey == "" {
		labelKey = "label"
	}
	switch {
	case r.has("hits"):
		items, e := parseHits(r, labelKey, sc, opts.ScaleHits, opts.NoLabels)
		return query, items, FormatGrouped, e
	case r.has("content"):
		text, e := r.text(&r.v, "content", "content")
		if e != nil {
			return "", nil, 0, e
		}
		key, format := labelKey, FormatPointwise
		if _, ok := r.v.get(labelKey); !ok && opts.LabelKey == "" && r.has("score") {
			key, format = "score", FormatDistill
		}
		if opts.NoLabels {
			return query, []Item{{Text: text}}, format, nil
		}
		lv, ok := r.v.get(key)
		if !ok {
			return "", nil, 0, r.err(key, "missing")
		}
		x, e := r.numValue(lv, key)
		if e != nil {
			return "", nil, 0, e
		}
		l, e := sc.scale(r, x, key)
		if e != nil {
			return "", nil, 0, e
		}
		return query, []Item{{Text: text, Label: l}}, format, nil
	case r.has("pos"):
		items, e := parsePosNeg(r, sc, opts.IgnoreScores || opts.NoLabels)
		return query, items, FormatPosNeg, e
	}
	return "", nil, 0, r.err("", `unknown record format: want "content", "hits" or "pos" beside "query"`)
}

func parseHits(r *rec, labelKey string, sc scaler, scale, noLabels bool) ([]Item, *LineError) {
	v, _ := r.v.get("hits")
	if v.kind != jArr {
		return nil, r.err("hits", "want a list of objects, got %s", v.kind)
	}
	if len(v.arr) == 0 {
		return nil, r.err("hits", "empty list")
	}
	items := make([]Item, len(v.arr))
	for i := range v.arr {
		h := &v.arr[i]
		path := fmt.Sprintf("hits[%d]", i)
		if h.kind != jObj {
			return nil, r.err(path, "want an object, got %s", h.kind)
		}
		text, e := r.text(h, "content", path+".content")
		if e != nil {
			return nil, e
		}
		if noLabels {
			items[i] = Item{Text: text}
			continue
		}
		lp := path + "." + labelKey
		lv, ok := h.get(labelKey)
		if !ok {
			return nil, r.err(lp, "missing")
		}
		x, e := r.numValue(lv, lp)
		if e != nil {
			return nil, e
		}
		l := float32(x)
		if scale {
			if l, e = sc.scale(r, x, lp); e != nil {
				return nil, e
			}
		}
		items[i] = Item{Text: text, Label: l}
	}
	return items, nil
}

func parsePosNeg(r *rec, sc scaler, ignoreScores bool) ([]Item, *LineError) {
	pos, e := r.texts("pos", false)
	if e != nil {
		return nil, e
	}
	var neg []string
	if r.has("neg") {
		if neg, e = r.texts("neg", true); e != nil {
			return nil, e
		}
	}
	items := make([]Item, 0, len(pos)+len(neg))
	for _, t := range pos {
		items = append(items, Item{Text: t, Label: 1})
	}
	for _, t := range neg {
		items = append(items, Item{Text: t, Label: 0})
	}
	if ignoreScores {
		return items, nil
	}
	if r.has("pos_scores") {
		s, e := r.nums("pos_scores", len(pos), "pos")
		if e != nil {
			return nil, e
		}
		for i, x := range s {
			if items[i].Label, e = sc.scale(r, x, fmt.Sprintf("pos_scores[%d]", i)); e != nil {
				return nil, e
			}
		}
	}
	if r.has("neg_scores") {
		if !r.has("neg") {
			return nil, r.err("neg_scores", `given without "neg"`)
		}
		s, e := r.nums("neg_scores", len(neg), "neg")
		if e != nil {
			return nil, e
		}
		for i, x := range s {
			if items[len(pos)+i].Label, e = sc.scale(r, x, fmt.Sprintf("neg_scores[%d]", i)); e != nil {
				return nil, e
			}
		}
	}
	return items, nil
}
