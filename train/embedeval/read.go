package embedeval

// read.go: reading retrieval sets (corpus / queries / qrels, or
// RAG-Retrieval embedding JSONL) and STS pair files.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ragr-dev/ragr/train/data"
)

// RetrievalSet is a corpus, queries and their relevance judgements.
type RetrievalSet struct {
	// Name describes where the set was read from (for reports).
	Name string
	// DocIDs and Docs are the corpus, in file order.
	DocIDs, Docs []string
	// QueryIDs and Queries are the queries, in file order.
	QueryIDs, Queries []string
	// Qrels[i] maps document indices to the relevance of query i
	// (entries with relevance <= 0 are kept and count as non-relevant).
	Qrels []map[int]float64
}

// maxLine bounds one line of an input file.
const maxLine = 64 << 20

// openText opens path, transparently gunzipping a .gz file.
func openText(path string) (io.Reader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("embedeval: %w", err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, f.Close, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("embedeval: %s: %w", path, err)
	}
	return z, func() error { z.Close(); return f.Close() }, nil
}

// eachLine calls fn with every non-blank line (1-based numbers).
func eachLine(path string, fn func(line int, b []byte) error) error {
	r, closeFn, err := openText(path)
	if err != nil {
		return err
	}
	defer closeFn()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLine)
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimRight(sc.Bytes(), "\r")
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if err := fn(n, b); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("embedeval: %s: line %d: %w", path, n+1, err)
	}
	return nil
}

// lineErr formats an error at a line.
func lineErr(path string, line int, format string, args ...any) error {
	return fmt.Errorf("embedeval: %s:%d: %s", path, line, fmt.Sprintf(format, args...))
}

// jsonObject decodes one JSONL line into an object.
func jsonObject(path string, line int, b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		if err == nil {
			err = errors.New("not an object")
		}
		return nil, lineErr(path, line, "not a JSON object: %v", err)
	}
	return m, nil
}

// idField reads a string or integer ID under the first key present.
func idField(path string, line int, m map[string]any, keys ...string) (string, error) {
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		switch x := v.(type) {
		case string:
			if x == "" {
				return "", lineErr(path, line, "field %q is empty", k)
			}
			return x, nil
		case json.Number:
			return x.String(), nil
		default:
			return "", lineErr(path, line, "field %q: want a string or number, got %T", k, v)
		}
	}
	return "", lineErr(path, line, "missing field %q", keys[0])
}

// textField reads a string field; optional fields may be absent or null.
func textField(path string, line int, m map[string]any, key string, optional bool) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		if optional {
			return "", nil
		}
		return "", lineErr(path, line, "missing field %q", key)
	}
	s, ok := v.(string)
	if !ok {
		return "", lineErr(path, line, "field %q: want a string, got %T", key, v)
	}
	return s, nil
}

// readIDText reads a {"id","text"} JSONL file ("_id" and a "title"
// prepended with a space accepted, as BEIR writes them). Documents may be
// empty (Cranfield and BEIR corpora have a few); queries may not.
func readIDText(path, what string) (ids, texts []string, index map[string]int, err error) {
	index = map[string]int{}
	err = eachLine(path, func(line int, b []byte) error {
		m, err := jsonObject(path, line, b)
		if err != nil {
			return err
		}
		id, err := idField(path, line, m, "id", "_id")
		if err != nil {
			return err
		}
		text, err := textField(path, line, m, "text", false)
		if err != nil {
			return err
		}
		title, err := textField(path, line, m, "title", true)
		if err != nil {
			return err
		}
		if title != "" {
			text = strings.TrimSpace(title + " " + text)
		}
		if strings.TrimSpace(text) == "" && what == "query" {
			return lineErr(path, line, "%s %q has an empty text", what, id)
		}
		if prev, dup := index[id]; dup {
			return lineErr(path, line, "%s id %q repeats (first at record %d)", what, id, prev+1)
		}
		index[id] = len(ids)
		ids, texts = append(ids, id), append(texts, text)
		return nil
	})
	if err == nil && len(ids) == 0 {
		err = fmt.Errorf("embedeval: %s: no %s records", path, what)
	}
	return ids, texts, index, err
}

// ReadRetrieval reads a corpus JSONL, a queries JSONL and qrels (see the
// package documentation). Qrels naming a query or document not in the
// files are errors naming the qrels line.
func ReadRetrieval(corpusPath, queriesPath, qrelsPath string) (*RetrievalSet, error) {
	s := &RetrievalSet{Name: corpusPath}
	var docIdx, qIdx map[string]int
	var err error
	if s.DocIDs, s.Docs, docIdx, err = readIDText(corpusPath, "document"); err != nil {
		return nil, err
	}
	if s.QueryIDs, s.Queries, qIdx, err = readIDText(queriesPath, "query"); err != nil {
		return nil, err
	}
	s.Qrels = make([]map[int]float64, len(s.Queries))
	rows := 0
	add := func(line int, qid, did string, rel float64) error {
		qi, ok := qIdx[qid]
		if !ok {
			return lineErr(qrelsPath, line, "query_id %q is not in %s", qid, queriesPath)
		}
		di, ok := docIdx[did]
		if !ok {
			return lineErr(qrelsPath, line, "doc_id %q is not in %s", did, corpusPath)
		}
		if badNumber(rel) {
			return lineErr(qrelsPath, line, "relevance %v is not a finite number", rel)
		}
		if s.Qrels[qi] == nil {
			s.Qrels[qi] = map[int]float64{}
		}
		s.Qrels[qi][di] = rel
		rows++
		return nil
	}
	err = eachLine(qrelsPath, func(line int, b []byte) error {
		if t := bytes.TrimSpace(b); t[0] == '{' {
			m, err := jsonObject(qrelsPath, line, b)
			if err != nil {
				return err
			}
			qid, err := idField(qrelsPath, line, m, "query_id", "query-id", "qid")
			if err != nil {
				return err
			}
			did, err := idField(qrelsPath, line, m, "doc_id", "corpus-id", "docid")
			if err != nil {
				return err
			}
			rel := 1.0
			for _, k := range []string{"relevance", "score", "label"} {
				if v, ok := m[k]; ok {
					n, isNum := v.(json.Number)
					if !isNum {
						return lineErr(qrelsPath, line, "field %q: want a number, got %T", k, v)
					}
					if rel, err = n.Float64(); err != nil {
						return lineErr(qrelsPath, line, "field %q: %v", k, err)
					}
					break
				}
			}
			return add(line, qid, did, rel)
		}
		var f []string
		if bytes.IndexByte(b, '\t') >= 0 {
			f = strings.Split(string(b), "\t")
			for i := range f {
				f[i] = strings.TrimSpace(f[i])
			}
		} else {
			f = strings.Fields(string(b))
		}
		var qid, did, rs string
		switch len(f) {
		case 3: // BEIR: query-id corpus-id score
			qid, did, rs = f[0], f[1], f[2]
		case 4: // TREC: qid iter docid rel
			qid, did, rs = f[0], f[2], f[3]
		default:
			return lineErr(qrelsPath, line, "want 3 columns (query-id, corpus-id, score) or 4 (TREC qid iter docid rel), got %d", len(f))
		}
		rel, err := strconv.ParseFloat(rs, 64)
		if err != nil {
			if rows == 0 && line == 1 {
				return nil // a header
			}
			return lineErr(qrelsPath, line, "relevance %q is not a number", rs)
		}
		return add(line, qid, did, rel)
	})
	if err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, fmt.Errorf("embedeval: %s: no qrels rows", qrelsPath)
	}
	return s, nil
}

// badNumber reports NaN or ±Inf.
func badNumber(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

// FromEmbedSet builds a retrieval set from RAG-Retrieval embedding data:
// each record is a query (with its prompt_for_query), the corpus is the
// union of every pos and neg text (identical texts are one document, in
// order of first appearance) and a query's relevant documents are its pos
// texts, with relevance 1.
func FromEmbedSet(set *data.EmbedSet) *RetrievalSet {
	s := &RetrievalSet{Name: set.Report.File}
	idx := map[string]int{}
	doc := func(t string) int {
		if i, ok := idx[t]; ok {
			return i
		}
		idx[t] = len(s.Docs)
		s.Docs = append(s.Docs, t)
		s.DocIDs = append(s.DocIDs, strconv.Itoa(len(s.Docs)-1))
		return len(s.Docs) - 1
	}
	for _, r := range set.Records {
		q := map[int]float64{}
		for _, p := range r.Pos {
			q[doc(p)] = 1
		}
		for _, n := range r.Neg {
			doc(n)
		}
		s.Queries = append(s.Queries, r.PromptedQuery())
		s.QueryIDs = append(s.QueryIDs, fmt.Sprintf("%s:%d", r.File, r.Line))
		s.Qrels = append(s.Qrels, q)
	}
	return s
}

// ReadEmbedData reads a RAG-Retrieval embedding JSONL file as a retrieval
// set (FromEmbedSet).
func ReadEmbedData(path string) (*RetrievalSet, error) {
	set, err := data.ReadEmbedding(path, data.Options{})
	if err != nil {
		return nil, fmt.Errorf("embedeval: %w", err)
	}
	return FromEmbedSet(set), nil
}

// STSPair is one sentence pair with its gold similarity.
type STSPair struct {
	// S1 and S2 are the sentences.
	S1, S2 string
	// Score is the gold similarity (0..5 in STS-B).
	Score float64
}

// ReadSTS reads STS pairs: lines "sentence1 \t sentence2 \t score" (the
// Chinese STS-B files), or the English STS benchmark TSV (optionally
// gzipped; header "split genre dataset year sid score sentence1
// sentence2"), keeping the rows of split. split must be empty for a file
// without a split column and name one of its splits otherwise.
func ReadSTS(path, split string) ([]STSPair, error) {
	var pairs []STSPair
	header := false
	splits := map[string]int{}
	err := eachLine(path, func(line int, b []byte) error {
		f := strings.Split(string(b), "\t")
		if line == 1 && len(f) >= 8 && f[0] == "split" && f[5] == "score" {
			header = true
			return nil
		}
		var p STSPair
		var sc string
		switch {
		case header:
			if len(f) < 8 {
				return lineErr(path, line, "want 8 tab-separated columns (split genre dataset year sid score sentence1 sentence2), got %d", len(f))
			}
			splits[f[0]]++
			if f[0] != split {
				return nil
			}
			sc, p.S1, p.S2 = f[5], f[6], f[7]
		default:
			if len(f) != 3 {
				return lineErr(path, line, "want 3 tab-separated columns (sentence1, sentence2, score), got %d", len(f))
			}
			p.S1, p.S2, sc = f[0], f[1], f[2]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(sc), 64)
		if err != nil || badNumber(v) {
			return lineErr(path, line, "score %q is not a number", sc)
		}
		p.Score = v
		if strings.TrimSpace(p.S1) == "" || strings.TrimSpace(p.S2) == "" {
			return lineErr(path, line, "empty sentence")
		}
		pairs = append(pairs, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if header {
		names := make([]string, 0, len(splits))
		for k := range splits {
			names = append(names, k)
		}
		slices.Sort(names)
		if split == "" {
			return nil, fmt.Errorf("embedeval: %s has splits %v: choose one", path, names)
		}
		if splits[split] == 0 {
			return nil, fmt.Errorf("embedeval: %s: no rows of split %q (splits: %v)", path, split, names)
		}
	} else if split != "" {
		return nil, fmt.Errorf("embedeval: %s has no split column; split %q does not apply", path, split)
	}
	if len(pairs) < 2 {
		return nil, fmt.Errorf("embedeval: %s: %d pairs; a correlation needs at least 2", path, len(pairs))
	}
	return pairs, nil
}
