package data

// eval.go: evaluation sets: a held-out split by query and the Cranfield
// collection as reranking candidates.

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// SplitByQuery splits groups into a training part and a held-out part of
// round(frac·len(groups)) queries (at least 1 and at most len-1 when there
// are two or more), chosen by a generator keyed by seed. Both parts keep
// the groups' order. frac must be in (0, 1).
func SplitByQuery(groups []Group, frac float64, seed uint64) (train, heldOut []Group, err error) {
	if !(frac > 0 && frac < 1) {
		return nil, nil, fmt.Errorf("data: held-out fraction %g: want a value in (0, 1)", frac)
	}
	n := len(groups)
	if n < 2 {
		return nil, nil, fmt.Errorf("data: cannot hold out queries from %d", n)
	}
	k := int(math.Round(frac * float64(n)))
	k = min(max(k, 1), n-1)
	held := make([]bool, n)
	for _, i := range newRNG(seed, keySplit).perm(n)[:k] {
		held[i] = true
	}
	for i := range groups {
		if held[i] {
			heldOut = append(heldOut, groups[i])
		} else {
			train = append(train, groups[i])
		}
	}
	return train, heldOut, nil
}

// CranQuery is a Cranfield query.
type CranQuery struct {
	// ID is the query's number in the qrels: its 1-based position in
	// cran.qry (the file's own .I numbers run 001..365 with gaps).
	ID int
	// Number is the .I number written in cran.qry.
	Number int
	// Text is the query (.W), lines joined by spaces.
	Text string
	// Line is the line of its .I in cran.qry.
	Line int
}

// CranDoc is a Cranfield document.
type CranDoc struct {
	// ID is the .I number.
	ID int
	// Title, Author, Biblio and Text are the .T, .A, .B and .W fields,
	// lines joined by spaces.
	Title, Author, Biblio, Text string
}

// Cranfield is the Cranfield 1400 collection.
type Cranfield struct {
	// Queries in file order.
	Queries []CranQuery
	// Docs in file order.
	Docs []CranDoc
	// Qrels maps a query ID to its judged documents' relevance codes
	// (1 complete answer … 4 minimum interest); rows with code -1 or
	// other codes outside 1..4 are dropped.
	Qrels map[int]map[int]int
	// Dir is the directory read.
	Dir string

	docIndex map[int]int
}

// CranfieldLabel maps a Cranfield relevance code to a graded label:
// 1→4, 2→3, 3→2, 4→1 (higher is more relevant), anything else → 0.
func CranfieldLabel(code int) float32 {
	if code >= 1 && code <= 4 {
		return float32(5 - code)
	}
	return 0
}

// LoadCranfield reads cran.all.1400, cran.qry and cranqrel from dir.
func LoadCranfield(dir string) (*Cranfield, error) {
	c := &Cranfield{Dir: dir, Qrels: map[int]map[int]int{}, docIndex: map[int]int{}}
	docs, err := readSMART(filepath.Join(dir, "cran.all.1400"))
	if err != nil {
		return nil, err
	}
	for _, r := range docs {
		c.docIndex[r.id] = len(c.Docs)
		c.Docs = append(c.Docs, CranDoc{ID: r.id, Title: r.f['T'], Author: r.f['A'], Biblio: r.f['B'], Text: r.f['W']})
	}
	qs, err := readSMART(filepath.Join(dir, "cran.qry"))
	if err != nil {
		return nil, err
	}
	for i, r := range qs {
		c.Queries = append(c.Queries, CranQuery{ID: i + 1, Number: r.id, Text: r.f['W'], Line: r.line})
	}
	path := filepath.Join(dir, "cranqrel")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: cranfield: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if len(fs) != 3 {
			return nil, &LineError{File: path, Line: line, Problem: fmt.Sprintf("want 3 columns (query doc code), got %d", len(fs))}
		}
		var v [3]int
		for k, s := range fs {
			if v[k], err = strconv.Atoi(s); err != nil {
				return nil, &LineError{File: path, Line: line, Problem: fmt.Sprintf("column %d: %q is not an integer", k+1, s)}
			}
		}
		if v[2] < 1 || v[2] > 4 {
			continue
		}
		if v[0] < 1 || v[0] > len(c.Queries) {
			return nil, &LineError{File: path, Line: line, Problem: fmt.Sprintf("query %d: cran.qry has %d queries", v[0], len(c.Queries))}
		}
		if _, ok := c.docIndex[v[1]]; !ok {
			return nil, &LineError{File: path, Line: line, Problem: fmt.Sprintf("document %d is not in cran.all.1400", v[1])}
		}
		m := c.Qrels[v[0]]
		if m == nil {
			m = map[int]int{}
			c.Qrels[v[0]] = m
		}
		m[v[1]] = v[2]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("data: cranfield: %s: %w", path, err)
	}
	return c, nil
}

// Doc returns the document with an ID.
func (c *Cranfield) Doc(id int) (*CranDoc, bool) {
	i, ok := c.docIndex[id]
	if !ok {
		return nil, false
	}
	return &c.Docs[i], true
}

// Label returns the graded label (CranfieldLabel) of a document for a
// query; unjudged documents get 0.
func (c *Cranfield) Label(query, doc int) float32 {
	return CranfieldLabel(c.Qrels[query][doc])
}

// Group returns a query's candidates docIDs (for example a BM25 top-k) as
// a Group labeled from the qrels, in the given order. The document text is
// the .W field (the title when .W is empty). It panics on an unknown query
// or document.
func (c *Cranfield) Group(query int, docIDs []int) Group {
	if query < 1 || query > len(c.Queries) {
		panic(fmt.Sprintf("data: Cranfield.Group: query %d of %d", query, len(c.Queries)))
	}
	q := &c.Queries[query-1]
	g := Group{Query: q.Text, File: filepath.Join(c.Dir, "cran.qry"), Line: q.Line, Items: make([]Item, len(docIDs))}
	for k, id := range docIDs {
		d, ok := c.Doc(id)
		if !ok {
			panic(fmt.Sprintf("data: Cranfield.Group: unknown document %d", id))
		}
		t := d.Text
		if t == "" {
			t = d.Title
		}
		g.Items[k] = Item{Text: t, Label: c.Label(query, id)}
	}
	return g
}

// Groups returns, for every query with at least one judged document, a
// candidate group of its judged documents plus `negatives` unjudged
// documents drawn at random, in a shuffled order (so that ties in a
// scorer's output are not resolved in favour of the relevant documents),
// all drawn from a generator keyed by seed and the query.
func (c *Cranfield) Groups(negatives int, seed uint64) []Group {
	var out []Group
	for qi := 1; qi <= len(c.Queries); qi++ {
		judged := c.Qrels[qi]
		if len(judged) == 0 {
			continue
		}
		ids := make([]int, 0, len(judged)+negatives)
		for id := range judged {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		var pool []int
		for _, d := range c.Docs {
			if _, ok := judged[d.ID]; !ok {
				pool = append(pool, d.ID)
			}
		}
		r := newRNG(seed, keyCranfield, uint64(qi))
		ids = append(ids, r.sample(pool, min(negatives, len(pool)))...)
		r.shuffleInts(ids)
		out = append(out, c.Group(qi, ids))
	}
	return out
}

type smartRec struct {
	id   int
	line int
	f    map[byte]string
}

// readSMART reads a SMART-format file (.I id, then .X field markers).
func readSMART(path string) ([]smartRec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: cranfield: %w", err)
	}
	defer f.Close()
	var out []smartRec
	var field byte
	var parts map[byte][]string
	flush := func() {
		if len(out) == 0 {
			return
		}
		r := &out[len(out)-1]
		for k, v := range parts {
			r.f[k] = strings.Join(v, " ")
		}
	}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), " \t\r")
		if strings.HasPrefix(s, ".I") {
			flush()
			id, err := strconv.Atoi(strings.TrimSpace(s[2:]))
			if err != nil {
				return nil, &LineError{File: path, Line: line, Problem: fmt.Sprintf("bad .I line %q", s)}
			}
			out = append(out, smartRec{id: id, line: line, f: map[byte]string{}})
			parts = map[byte][]string{}
			field = 0
			continue
		}
		if len(s) == 2 && s[0] == '.' && strings.IndexByte("TABW", s[1]) >= 0 {
			field = s[1]
			continue
		}
		if len(out) == 0 || field == 0 {
			if strings.TrimSpace(s) == "" {
				continue
			}
			return nil, &LineError{File: path, Line: line, Problem: "text outside a .T/.A/.B/.W field"}
		}
		if t := strings.TrimSpace(s); t != "" {
			parts[field] = append(parts[field], t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("data: cranfield: %s: %w", path, err)
	}
	flush()
	if len(out) == 0 {
		return nil, fmt.Errorf("data: cranfield: %s: no records", path)
	}
	return out, nil
}
