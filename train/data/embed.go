package data

// embed.go: embedding training data (RAG-Retrieval
// rag_retrieval/train/embedding/data.py EmbeddingDataset): pairs, triplets
// and pairs with teacher scores, with prompt_for_query, and the per-epoch
// sampling of neg_nums hard negatives.

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// EmbedRecord is one line of embedding data.
type EmbedRecord struct {
	// Query is the query as written (without the prompt).
	Query string
	// Prompt is the line's prompt_for_query ("" when absent).
	Prompt string
	// Pos are the positive documents.
	Pos []string
	// Neg are the hard negatives (triplets only).
	Neg []string
	// Scores are the teacher scores of Pos (pair-score only), as written.
	Scores []float32
	// File is the file the record was read from.
	File string
	// Line is the record's 1-based line number.
	Line int
}

// PromptedQuery returns the query with its prompt_for_query prefixed.
func (r *EmbedRecord) PromptedQuery() string { return PromptQuery(r.Prompt, r.Query) }

// PromptQuery prefixes a query with a prompt as RAG-Retrieval does
// (prompt_for_query + query, no separator: put any space or newline in the
// prompt itself).
func PromptQuery(prompt, query string) string { return prompt + query }

// PromptQueries applies PromptQuery to every query into a new slice.
func PromptQueries(prompt string, queries []string) []string {
	out := make([]string, len(queries))
	for i, q := range queries {
		out[i] = PromptQuery(prompt, q)
	}
	return out
}

// EmbedSet is an embedding data file.
type EmbedSet struct {
	// Kind is FormatEmbedPair, FormatEmbedTriplet or FormatEmbedPairScore,
	// fixed by the first record.
	Kind Format
	// Records are the lines in file order.
	Records []EmbedRecord
	// Report describes the reading.
	Report Report
}

// ReadEmbedding reads an embedding JSONL file. Unknown keys are ignored
// (FlagEmbedding's files carry pos_scores, neg_scores, prompt and type).
func ReadEmbedding(path string, opts Options) (*EmbedSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: embedding data: %w", err)
	}
	defer f.Close()
	return ParseEmbedding(f, path, opts)
}

// ParseEmbedding reads embedding JSONL from r; name is used in messages.
// Texts keep their spaces (RAG-Retrieval does not strip them here) but a
// text of spaces only is an error. Label options do not apply.
func ParseEmbedding(r io.Reader, name string, opts Options) (*EmbedSet, error) {
	set := &EmbedSet{Report: Report{File: name}}
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
		rc := rec{file: name, line: n, raw: true}
		var msg string
		rc.v, msg = decodeLine(b)
		var le *LineError
		var er EmbedRecord
		var kind Format
		if msg != "" {
			le = rc.err("", "%s", msg)
		} else {
			er, kind, le = parseEmbedLine(&rc)
		}
		if le == nil && set.Kind != FormatUnknown && kind != set.Kind {
			le = rc.err("", "record is a %s but the file's first record (line %d) is a %s", kind, set.Records[0].Line, set.Kind)
		}
		if le != nil {
			if err := set.Report.bad(le, opts); err != nil {
				return nil, err
			}
			continue
		}
		if set.Kind == FormatUnknown {
			set.Kind = kind
		}
		set.Report.good(kind)
		er.File, er.Line = name, n
		set.Records = append(set.Records, er)
	}
	if len(set.Records) == 0 {
		return nil, set.Report.empty()
	}
	return set, nil
}

func parseEmbedLine(r *rec) (EmbedRecord, Format, *LineError) {
	var er EmbedRecord
	var e *LineError
	if er.Query, e = r.text(&r.v, "query", "query"); e != nil {
		return er, 0, e
	}
	if pv, ok := r.v.get("prompt_for_query"); ok && pv.kind != jNull {
		if pv.kind != jStr {
			return er, 0, r.err("prompt_for_query", "want a string, got %s", pv.kind)
		}
		er.Prompt = pv.str
	}
	if er.Pos, e = r.texts("pos", false); e != nil {
		return er, 0, e
	}
	switch {
	case r.has("neg"):
		if er.Neg, e = r.texts("neg", false); e != nil {
			return er, 0, e
		}
		return er, FormatEmbedTriplet, nil
	case r.has("scores"):
		s, e := r.nums("scores", len(er.Pos), "pos")
		if e != nil {
			return er, 0, e
		}
		er.Scores = make([]float32, len(s))
		for i, x := range s {
			er.Scores[i] = float32(x)
		}
		return er, FormatEmbedPairScore, nil
	}
	return er, FormatEmbedPair, nil
}

// EmbedExample is one embedding training example: a record's query, one
// of its positives and, for triplets, the sampled negatives.
type EmbedExample struct {
	// Record indexes EmbedSet.Records.
	Record int
	// Pos indexes the record's Pos (and Scores).
	Pos int
	// Negs index the record's Neg (nil for pairs).
	Negs []int
}

// EmbedSampler draws embedding examples per epoch: each positive of each
// record is one example (as RAG-Retrieval), and a triplet example gets
// NegNums negatives drawn without replacement from its record's list.
type EmbedSampler struct {
	set         *EmbedSet
	negNums     int
	replacement bool
	n           int
}

// NewEmbedSampler checks negNums (RAG-Retrieval's neg_nums) against the
// data: for triplets it must be >= 1, and a record with fewer negatives is
// an error naming its file and line unless replacement is set, in which
// case it draws from its negatives repeated ceil(negNums/len) times
// (RAG-Retrieval's behaviour). negNums is ignored for pairs.
func NewEmbedSampler(set *EmbedSet, negNums int, replacement bool) (*EmbedSampler, error) {
	s := &EmbedSampler{set: set, negNums: negNums, replacement: replacement}
	if set.Kind == FormatEmbedTriplet {
		if negNums < 1 {
			return nil, fmt.Errorf("data: neg_nums %d: triplet data needs at least 1 negative per example", negNums)
		}
		if count, where := s.Short(); count > 0 && !replacement {
			return nil, fmt.Errorf("data: neg_nums %d is more than the negatives of %d of %d records (%s); lower neg_nums or allow repeated negatives",
				negNums, count, len(set.Records), where)
		}
	}
	for i := range set.Records {
		s.n += len(set.Records[i].Pos)
	}
	return s, nil
}

// Short counts the triplet records with fewer negatives than neg_nums (whose
// negatives repeat when replacement is allowed) and names up to five as
// FILE:LINE has N.
func (s *EmbedSampler) Short() (count int, where string) {
	if s.set.Kind != FormatEmbedTriplet {
		return 0, ""
	}
	var short []string
	for i := range s.set.Records {
		r := &s.set.Records[i]
		if len(r.Neg) < s.negNums {
			count++
			if len(short) < 5 {
				short = append(short, fmt.Sprintf("%s:%d has %d", r.File, r.Line, len(r.Neg)))
			}
		}
	}
	return count, strings.Join(short, ", ")
}

// Len returns the number of examples per epoch (before sharding).
func (s *EmbedSampler) Len() int { return s.n }

// Epoch returns the examples of an epoch in their shuffled order,
// determined by seed and epoch alone.
func (s *EmbedSampler) Epoch(seed uint64, epoch int) []EmbedExample {
	out := make([]EmbedExample, 0, s.n)
	for ri := range s.set.Records {
		r := &s.set.Records[ri]
		var g *rng
		var pool []int
		if s.set.Kind == FormatEmbedTriplet {
			g = newRNG(seed, keyEmbed, keyGroup, uint64(epoch), uint64(ri))
			pool = repeatPool(len(r.Neg), s.negNums)
		}
		for pi := range r.Pos {
			ex := EmbedExample{Record: ri, Pos: pi}
			if g != nil {
				ex.Negs = g.sample(pool, s.negNums)
			}
			out = append(out, ex)
		}
	}
	newRNG(seed, keyEmbed, keyOrder, uint64(epoch)).shuffleEx(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// repeatPool returns [0,n) repeated ceil(k/n) times when n < k (the pool
// RAG-Retrieval samples from: neg * ceil(neg_nums/len(neg))), else [0,n).
func repeatPool(n, k int) []int {
	reps := 1
	if n < k {
		reps = (k + n - 1) / n
	}
	p := make([]int, 0, n*reps)
	for r := 0; r < reps; r++ {
		for i := 0; i < n; i++ {
			p = append(p, i)
		}
	}
	return p
}

// shuffleEx is Fisher-Yates through a swap function.
func (r *rng) shuffleEx(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.intn(i+1))
	}
}
