package rerank

// template.go: building model rows from content token ids (the special
// tokens of the model's pair template around query and document ids), the
// long-document windows, and length-sorted batching.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/tensor"
)

// Template is the token layout of one model row:
//
//	Pre + query + Mid + doc + Post
//
// with type ids (when TypeIDs) PreTypes, QueryType, MidTypes, DocType,
// PostTypes. For BERT it is [CLS] q [SEP] d [SEP] with types 0…0 1…1; for
// XLM-R <s> q </s></s> d </s>; for decoder rerankers the formatted query,
// ids(sep), the formatted document and ids(special_token). Single-text
// templates (ColBERT, embeddings) have no Mid and no document.
type Template struct {
	Pre, Mid, Post                []int32
	PreTypes, MidTypes, PostTypes []int32
	QueryType, DocType            int32
	TypeIDs                       bool
	PadID                         int32
}

// Fixed is the number of template tokens in a row.
func (t *Template) Fixed() int { return len(t.Pre) + len(t.Mid) + len(t.Post) }

// BERTTemplate is [CLS] q [SEP] d [SEP] with type ids 0/1.
func BERTTemplate(cls, sep, pad int32) *Template {
	return &Template{Pre: []int32{cls}, Mid: []int32{sep}, Post: []int32{sep},
		PreTypes: []int32{0}, MidTypes: []int32{0}, PostTypes: []int32{1}, QueryType: 0, DocType: 1, TypeIDs: true, PadID: pad}
}

// RoBERTaTemplate is <s> q </s></s> d </s> without type ids (zeros).
func RoBERTaTemplate(bos, eos, pad int32) *Template {
	return &Template{Pre: []int32{bos}, Mid: []int32{eos, eos}, Post: []int32{eos}, PadID: pad}
}

// SingleTemplate is pre + text + post (ColBERT and embedding rows).
func SingleTemplate(pre, post []int32, pad int32) *Template {
	return &Template{Pre: pre, Post: post, PadID: pad}
}

// PairTemplate derives the pair template from a tokenizer's post-processor
// (it encodes the pair "a", "b" and reads which tokens it added where).
func PairTemplate(tok *tokenizer.Tokenizer) (*Template, error) {
	e := tok.EncodePair("a", "b", true)
	return templateFrom(tok, e, true)
}

// TextTemplate derives the single-text template of a tokenizer.
func TextTemplate(tok *tokenizer.Tokenizer) (*Template, error) {
	e := tok.Encode("a", true)
	return templateFrom(tok, e, false)
}

func templateFrom(tok *tokenizer.Tokenizer, e tokenizer.Encoding, pair bool) (*Template, error) {
	pad, ok := tok.PadID()
	if !ok {
		if id, ok2 := tok.TokenToID(tok.Special().EOS); ok2 && tok.Special().EOS != "" {
			pad = id
		} else {
			return nil, fmt.Errorf("rerank: the tokenizer has no padding token")
		}
	}
	t := &Template{PadID: pad}
	stage := 0 // 0 pre, 1 in query, 2 mid, 3 in doc, 4 post
	for i, id := range e.IDs {
		ty := int32(0)
		if i < len(e.TypeIDs) {
			ty = e.TypeIDs[i]
			if ty != 0 {
				t.TypeIDs = true
			}
		}
		switch s := e.SequenceIDs[i]; {
		case s == 0:
			t.QueryType = ty
			stage = 1
		case s == 1:
			t.DocType = ty
			stage = 3
		default:
			switch stage {
			case 0:
				t.Pre, t.PreTypes = append(t.Pre, id), append(t.PreTypes, ty)
			case 1, 2:
				if pair {
					t.Mid, t.MidTypes = append(t.Mid, id), append(t.MidTypes, ty)
					stage = 2
				} else {
					t.Post, t.PostTypes = append(t.Post, id), append(t.PostTypes, ty)
				}
			default:
				t.Post, t.PostTypes = append(t.Post, id), append(t.PostTypes, ty)
			}
		}
	}
	if !t.TypeIDs {
		t.PreTypes, t.MidTypes, t.PostTypes = nil, nil, nil
	}
	return t, nil
}

// row assembles one row.
func (t *Template) row(q, d []int32) (ids, types []int32) {
	n := t.Fixed() + len(q) + len(d)
	ids = make([]int32, 0, n)
	ids = append(append(append(append(append(ids, t.Pre...), q...), t.Mid...), d...), t.Post...)
	if !t.TypeIDs {
		return ids, nil
	}
	types = make([]int32, 0, n)
	types = append(types, t.PreTypes...)
	for range q {
		types = append(types, t.QueryType)
	}
	types = append(types, t.MidTypes...)
	for range d {
		types = append(types, t.DocType)
	}
	types = append(types, t.PostTypes...)
	return ids, types
}

// Windows returns the [start, end) spans of a document of n tokens cut
// into windows of w tokens with the given overlap, RAG-Retrieval's
// max_score_slice rule (rag_retrieval's reranker preprocessing, from
// BCEmbedding's reranker_tokenize_preproc): overlap is capped at ⌊2w/7⌋;
// a window starts at 0, the next one starts overlap tokens before the end
// of the previous one, and the last one ends at n. A document that fits is
// one window [0, n).
func Windows(n, w, overlap int) [][2]int {
	if w <= 0 {
		panic(fmt.Sprintf("rerank.Windows: window %d for %d tokens", w, n))
	}
	if n <= w {
		return [][2]int{{0, n}}
	}
	overlap = min(max(overlap, 0), w*2/7)
	var out [][2]int
	for start := 0; start < n; {
		end := start + w
		out = append(out, [2]int{start, min(end, n)})
		if end >= n {
			break
		}
		start = end - overlap
	}
	return out
}

// longestFirst cuts q and d to a budget of b tokens in total, removing one
// token at a time from the longer (tokenizers' longest_first).
func longestFirst(q, d []int32, b int) ([]int32, []int32) {
	b = max(b, 0)
	for len(q)+len(d) > b {
		if len(q) > len(d) {
			q = q[:len(q)-1]
		} else {
			d = d[:len(d)-1]
		}
	}
	return q, d
}

// spans returns the rows of one pair under a strategy: Truncate keeps the
// first window (only_second truncation, falling back to longest_first when
// the query leaves no room); MaxScoreSlice makes every window. A query
// longer than half the budget is cut to half under MaxScoreSlice, so every
// window holds at least half the budget.
func (t *Template) pairRows(q, d []int32, maxLen int, s Strategy, overlap int) (rows [][]int32, types [][]int32) {
	budget := maxLen - t.Fixed()
	if s == Truncate || len(d) <= budget-len(q) {
		if len(q)+len(d) > budget {
			if budget-len(q) >= 1 || len(d) == 0 {
				d = d[:max(budget-len(q), 0)]
				if len(q) > budget {
					q = q[:budget]
				}
			} else {
				q, d = longestFirst(q, d, budget)
			}
		}
		r, ty := t.row(q, d)
		return [][]int32{r}, [][]int32{ty}
	}
	if len(q) > budget/2 {
		q = q[:budget/2]
	}
	w := budget - len(q)
	for _, sp := range Windows(len(d), w, overlap) {
		r, ty := t.row(q, d[sp[0]:sp[1]])
		rows, types = append(rows, r), append(types, ty)
	}
	return rows, types
}

// batch is one padded batch of rows.
type batch struct {
	ids, types, mask *tensor.Tensor
	rows             []int // indices of the rows in the caller's list
}

// scoreRowsSorted scores rows in length-sorted batches of bs (the scores
// come back in the order of rows). fn scores one padded batch. A device
// failure inside fn (a *tensor.DeviceError panic: out of memory, a failed
// kernel) is returned as the error.
func scoreRowsSorted(ctx context.Context, rows, types [][]int32, pad int32, bs int, fn func(b batch) ([]float32, error)) (scores []float32, err error) {
	defer tensor.RecoverDeviceError(&err)
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(rows[order[a]]) < len(rows[order[b]]) })
	out := make([]float32, len(rows))
	for lo := 0; lo < len(order); lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := order[lo:min(lo+bs, len(order))]
		b := padBatch(rows, types, idx, pad)
		s, err := fn(b)
		if err != nil {
			return nil, err
		}
		for k, r := range idx {
			out[r] = s[k]
		}
	}
	return out, nil
}

func padBatch(rows, types [][]int32, idx []int, pad int32) batch {
	L := 0
	for _, r := range idx {
		L = max(L, len(rows[r]))
	}
	n := len(idx)
	ids := make([]int32, n*L)
	mask := make([]int32, n*L)
	var ty []int32
	if types != nil && types[idx[0]] != nil {
		ty = make([]int32, n*L)
	}
	for k, r := range idx {
		row := ids[k*L : (k+1)*L]
		for j := range row {
			row[j] = pad
		}
		copy(row, rows[r])
		for j := range rows[r] {
			mask[k*L+j] = 1
		}
		if ty != nil {
			copy(ty[k*L:], types[r])
		}
	}
	b := batch{ids: tensor.FromInt32(ids, n, L), mask: tensor.FromInt32(mask, n, L), rows: idx}
	if ty != nil {
		b.types = tensor.FromInt32(ty, n, L)
	}
	return b
}

func applyFormat(format, text string) string {
	if format == "" {
		return text
	}
	return strings.Replace(format, "{}", text, 1)
}

func jsonStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}
