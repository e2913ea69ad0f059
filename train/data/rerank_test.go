package data

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exampleDir holds the RAG-Retrieval example data copied into the repo.
const exampleDir = "../../testdata/data/rag-retrieval-example-data"

func parse(t *testing.T, src string, opts Options) *RerankSet {
	t.Helper()
	s, err := ParseReranker(strings.NewReader(src), "in.jsonl", opts)
	require.NoError(t, err)
	return s
}

func TestParseRerankerFormats(t *testing.T) {
	type want struct {
		query  string
		texts  []string
		labels []float32
	}
	cases := []struct {
		name    string
		src     string
		opts    Options
		groups  []want
		formats map[Format]int
	}{
		{
			name: "pointwise lines merge by query in file order",
			src: `{"query": "q1", "content": "a", "label": 1}
{"query": "q2", "content": "b", "label": 0}
{"query": " q1 ", "content": " c ", "label": 0.5}`,
			groups: []want{
				{"q1", []string{"a", "c"}, []float32{1, 0.5}},
				{"q2", []string{"b"}, []float32{0}},
			},
			formats: map[Format]int{FormatPointwise: 3},
		},
		{
			name: "pointwise multi-level labels scaled by min/max label",
			src: `{"query": "q", "content": "a", "label": 0}
{"query": "q", "content": "b", "label": 1}
{"query": "q", "content": "c", "label": 2}`,
			opts:    Options{MinLabel: 0, MaxLabel: 2},
			groups:  []want{{"q", []string{"a", "b", "c"}, []float32{0, 0.5, 1}}},
			formats: map[Format]int{FormatPointwise: 3},
		},
		{
			name:    "clip labels",
			src:     `{"query": "q", "content": "a", "label": 3}` + "\n" + `{"query": "q", "content": "b", "label": -1}`,
			opts:    Options{MaxLabel: 2, ClipLabels: true},
			groups:  []want{{"q", []string{"a", "b"}, []float32{1, 0}}},
			formats: map[Format]int{FormatPointwise: 2},
		},
		{
			name:    "flat distill score",
			src:     `{"query": "q", "content": "a", "score": 0.25}`,
			groups:  []want{{"q", []string{"a"}, []float32{0.25}}},
			formats: map[Format]int{FormatDistill: 1},
		},
		{
			name:    "label key",
			src:     `{"query": "q", "content": "a", "listwise_score": 0.75, "label": 0}`,
			opts:    Options{LabelKey: "listwise_score"},
			groups:  []want{{"q", []string{"a"}, []float32{0.75}}},
			formats: map[Format]int{FormatPointwise: 1},
		},
		{
			name:    "grouped hits keep raw labels",
			src:     `{"query": "q", "hits": [{"content": "a", "label": 2}, {"content": "b", "label": 0}]}`,
			groups:  []want{{"q", []string{"a", "b"}, []float32{2, 0}}},
			formats: map[Format]int{FormatGrouped: 1},
		},
		{
			name:    "grouped hits scaled on request",
			src:     `{"query": "q", "hits": [{"content": "a", "label": 2}, {"content": "b", "label": 1}]}`,
			opts:    Options{MaxLabel: 2, ScaleHits: true},
			groups:  []want{{"q", []string{"a", "b"}, []float32{1, 0.5}}},
			formats: map[Format]int{FormatGrouped: 1},
		},
		{
			name:    "pos/neg binary",
			src:     `{"query": "q", "pos": ["a", "b"], "neg": ["c"]}`,
			groups:  []want{{"q", []string{"a", "b", "c"}, []float32{1, 1, 0}}},
			formats: map[Format]int{FormatPosNeg: 1},
		},
		{
			name:    "pos/neg with scores",
			src:     `{"query": "q", "pos": ["a"], "neg": ["c", "d"], "pos_scores": [0.9], "neg_scores": [0.1, 0]}`,
			groups:  []want{{"q", []string{"a", "c", "d"}, []float32{0.9, 0.1, 0}}},
			formats: map[Format]int{FormatPosNeg: 1},
		},
		{
			name:    "pos_scores multi-level",
			src:     `{"query": "q", "pos": ["a", "b", "c"], "pos_scores": [3, 1, 0]}`,
			opts:    Options{MaxLabel: 3},
			groups:  []want{{"q", []string{"a", "b", "c"}, []float32{1, 1.0 / 3, 0}}},
			formats: map[Format]int{FormatPosNeg: 1},
		},
		{
			name:    "ignore scores",
			src:     `{"query": "q", "pos": ["a"], "neg": ["c"], "pos_scores": [99.5], "neg_scores": [90]}`,
			opts:    Options{IgnoreScores: true},
			groups:  []want{{"q", []string{"a", "c"}, []float32{1, 0}}},
			formats: map[Format]int{FormatPosNeg: 1},
		},
		{
			name:    "empty neg list allowed",
			src:     `{"query": "q", "pos": ["a"], "neg": []}`,
			groups:  []want{{"q", []string{"a"}, []float32{1}}},
			formats: map[Format]int{FormatPosNeg: 1},
		},
		{
			name: "mixed formats merge, BOM, CRLF, blank lines, escapes, extra keys",
			src: "\xef\xbb\xbf" + `{"query": "q", "pos": ["a\"\u00e9\ud83d\ude00"], "prompt": "x", "type": 1}` + "\r\n\r\n   \n" +
				`{"query": "q", "hits": [{"content": "b", "label": 0}]}` + "\r\n" +
				`{"query": "q", "content": "c\n", "label": 0}`,
			groups:  []want{{"q", []string{"a\"é😀", "b", "c"}, []float32{1, 0, 0}}},
			formats: map[Format]int{FormatPosNeg: 1, FormatGrouped: 1, FormatPointwise: 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := parse(t, c.src, c.opts)
			require.Len(t, s.Groups, len(c.groups))
			for i, w := range c.groups {
				g := s.Groups[i]
				assert.Equal(t, w.query, g.Query)
				var texts []string
				var labels []float32
				for _, it := range g.Items {
					texts = append(texts, it.Text)
					labels = append(labels, it.Label)
				}
				assert.Equal(t, w.texts, texts)
				assert.InDeltaSlice(t, w.labels, labels, 1e-7)
			}
			assert.Equal(t, c.formats, s.Report.Formats)
			assert.Zero(t, s.Report.BadLines)
		})
	}
}

func TestParseRerankerErrors(t *testing.T) {
	cases := []struct {
		name string
		line string
		opts Options
		want string
	}{
		{"syntax", `{"query": "q", "content": "a" "label": 1}`, Options{}, `in.jsonl:2: invalid JSON at column 31: expected ',' or '}' in an object`},
		{"not an object", `["q"]`, Options{}, `in.jsonl:2: want a JSON object, got array`},
		{"trailing garbage", `{"query": "q", "content": "a", "label": 1} x`, Options{}, `in.jsonl:2: invalid JSON at column 44: unexpected 'x' after the value`},
		{"invalid utf-8", "{\"query\": \"q\xff\", \"content\": \"a\", \"label\": 1}", Options{}, `in.jsonl:2: invalid UTF-8 at byte 13`},
		{"missing query", `{"content": "a", "label": 1}`, Options{}, `in.jsonl:2: field "query": missing`},
		{"query wrong type", `{"query": 7, "content": "a", "label": 1}`, Options{}, `in.jsonl:2: field "query": want a string, got number`},
		{"empty query", `{"query": "  ", "content": "a", "label": 1}`, Options{}, `in.jsonl:2: field "query": empty text`},
		{"unknown format", `{"query": "q", "text": "a"}`, Options{}, `in.jsonl:2: unknown record format: want "content", "hits" or "pos" beside "query"`},
		{"missing label", `{"query": "q", "content": "a"}`, Options{}, `in.jsonl:2: field "label": missing`},
		{"missing label key", `{"query": "q", "content": "a", "score": 1}`, Options{LabelKey: "listwise_score"}, `in.jsonl:2: field "listwise_score": missing`},
		{"label not a number", `{"query": "q", "content": "a", "label": "1"}`, Options{}, `in.jsonl:2: field "label": want a number, got string`},
		{"label null", `{"query": "q", "content": "a", "label": null}`, Options{}, `in.jsonl:2: field "label": want a number, got null`},
		{"label NaN", `{"query": "q", "content": "a", "label": NaN}`, Options{}, `in.jsonl:2: field "label": NaN is not a valid label`},
		{"label Infinity", `{"query": "q", "content": "a", "label": -Infinity}`, Options{}, `in.jsonl:2: field "label": infinite value is not a valid label`},
		{"label out of range", `{"query": "q", "content": "a", "label": 2}`, Options{}, `in.jsonl:2: field "label": label 2 is outside [min_label 0, max_label 1]`},
		{"content wrong type", `{"query": "q", "content": ["a"], "label": 1}`, Options{}, `in.jsonl:2: field "content": want a string, got array`},
		{"empty content", `{"query": "q", "content": "", "label": 1}`, Options{}, `in.jsonl:2: field "content": empty text`},
		{"hits not a list", `{"query": "q", "hits": {}}`, Options{}, `in.jsonl:2: field "hits": want a list of objects, got object`},
		{"hits empty", `{"query": "q", "hits": []}`, Options{}, `in.jsonl:2: field "hits": empty list`},
		{"hit not an object", `{"query": "q", "hits": [{"content": "a", "label": 1}, "b"]}`, Options{}, `in.jsonl:2: field "hits[1]": want an object, got string`},
		{"hit missing content", `{"query": "q", "hits": [{"label": 1}]}`, Options{}, `in.jsonl:2: field "hits[0].content": missing`},
		{"hit missing label", `{"query": "q", "hits": [{"content": "a"}]}`, Options{}, `in.jsonl:2: field "hits[0].label": missing`},
		{"hit label NaN", `{"query": "q", "hits": [{"content": "a", "label": NaN}]}`, Options{}, `in.jsonl:2: field "hits[0].label": NaN is not a valid label`},
		{"pos empty", `{"query": "q", "pos": [], "neg": ["b"]}`, Options{}, `in.jsonl:2: field "pos": empty list`},
		{"pos not a list", `{"query": "q", "pos": "a"}`, Options{}, `in.jsonl:2: field "pos": want a list of strings, got string`},
		{"pos item wrong type", `{"query": "q", "pos": ["a", 3]}`, Options{}, `in.jsonl:2: field "pos[1]": want a string, got number`},
		{"neg item empty", `{"query": "q", "pos": ["a"], "neg": ["b", " "]}`, Options{}, `in.jsonl:2: field "neg[1]": empty text`},
		{"pos_scores length", `{"query": "q", "pos": ["a", "b"], "pos_scores": [1]}`, Options{}, `in.jsonl:2: field "pos_scores": 1 values for 2 "pos" texts`},
		{"neg_scores without neg", `{"query": "q", "pos": ["a"], "neg_scores": [0]}`, Options{}, `in.jsonl:2: field "neg_scores": given without "neg"`},
		{"neg_scores item", `{"query": "q", "pos": ["a"], "neg": ["b"], "neg_scores": [true]}`, Options{}, `in.jsonl:2: field "neg_scores[0]": want a number, got boolean`},
		{"pos_scores out of range", `{"query": "q", "pos": ["a"], "pos_scores": [1.5]}`, Options{}, `in.jsonl:2: field "pos_scores[0]": label 1.5 is outside [min_label 0, max_label 1]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := `{"query": "ok", "content": "fine", "label": 1, "listwise_score": 1}` + "\n" + c.line + "\n"
			_, err := ParseReranker(strings.NewReader(src), "in.jsonl", c.opts)
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
			var le *LineError
			require.True(t, errors.As(err, &le))
			assert.Equal(t, 2, le.Line)

			// The same line is counted, not fatal, with SkipBadLines.
			o := c.opts
			o.SkipBadLines = true
			s, err := ParseReranker(strings.NewReader(src), "in.jsonl", o)
			require.NoError(t, err)
			assert.Equal(t, 2, s.Report.Lines)
			assert.Equal(t, 1, s.Report.Records)
			assert.Equal(t, 1, s.Report.BadLines)
			require.Len(t, s.Report.Errors, 1)
			assert.Equal(t, c.want, s.Report.Errors[0].Error())
		})
	}
}

func TestSkipBadLinesReport(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 30; i++ {
		if i%3 == 0 {
			b.WriteString(`{"query": "q", "content": "c", "label": 1}` + "\n")
		} else {
			b.WriteString(`{"query": "q"}` + "\n")
		}
	}
	s, err := ParseReranker(strings.NewReader(b.String()), "f", Options{SkipBadLines: true, MaxReported: 3})
	require.NoError(t, err)
	assert.Equal(t, 30, s.Report.Lines)
	assert.Equal(t, 10, s.Report.Records)
	assert.Equal(t, 20, s.Report.BadLines)
	require.Len(t, s.Report.Errors, 3)
	assert.Equal(t, `f:2: unknown record format: want "content", "hits" or "pos" beside "query"`, s.Report.Errors[0].Error())
	assert.Equal(t, 3, s.Report.Errors[1].Line)
	assert.Equal(t, 5, s.Report.Errors[2].Line)
	assert.Contains(t, s.Report.String(), "f: 30 lines, 10 records, 20 bad, 10 pointwise")
	assert.Contains(t, s.Report.String(), "... and 17 more bad lines")
	require.Len(t, s.Groups, 1)
	assert.Len(t, s.Groups[0].Items, 10)
}

func TestRerankerNoRecordsAndMissingFile(t *testing.T) {
	_, err := ParseReranker(strings.NewReader("\n  \n"), "empty.jsonl", Options{})
	require.ErrorIs(t, err, ErrNoRecords)
	assert.Equal(t, "data: empty.jsonl: no usable records (0 lines)", err.Error())

	_, err = ParseReranker(strings.NewReader(`{"query": 1}`+"\n"+`{}`), "bad.jsonl", Options{SkipBadLines: true})
	require.ErrorIs(t, err, ErrNoRecords)
	assert.Equal(t, `data: bad.jsonl: no usable records (2 lines, 2 bad; first: bad.jsonl:1: field "query": want a string, got number)`, err.Error())

	missing := filepath.Join(t.TempDir(), "nope.jsonl")
	_, err = ReadReranker(missing, Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), missing)
	_, err = ReadEmbedding(missing, Options{})
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), missing)
}

func TestInvalidLabelRange(t *testing.T) {
	for _, o := range []Options{{MinLabel: 2, MaxLabel: 1}, {MinLabel: -1, MaxLabel: 1}, {MinLabel: 1, MaxLabel: 1}} {
		_, err := ParseReranker(strings.NewReader(`{"query": "q", "content": "a", "label": 1}`), "f", o)
		assert.ErrorContains(t, err, "invalid label range")
	}
}

func TestLineTooLong(t *testing.T) {
	src := `{"query": "q", "content": "a", "label": 1}` + "\n" + `{"query": "q", "content": "` + strings.Repeat("x", 200) + `", "label": 1}` + "\n"
	_, err := ParseReranker(strings.NewReader(src), "f", Options{MaxLineBytes: 100})
	require.Error(t, err)
	assert.Equal(t, "f:2: line longer than 100 bytes (Options.MaxLineBytes)", err.Error())
}

// TestJSONParserMatchesEncodingJSON checks the line parser against
// encoding/json on random valid documents.
func TestJSONParserMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var gen func(d int) any
	strs := []string{"", "a", "中文", "é\"\\/\b\f\n\r\t", "\u2028x", "😀", "\x01"}
	gen = func(d int) any {
		k := r.IntN(7)
		if d > 3 {
			k = r.IntN(4)
		}
		switch k {
		case 0:
			return nil
		case 1:
			return r.IntN(2) == 0
		case 2:
			return (r.Float64() - 0.5) * float64(r.IntN(1e6))
		case 3:
			return strs[r.IntN(len(strs))] + strs[r.IntN(len(strs))]
		case 4:
			n := r.IntN(4)
			a := make([]any, n)
			for i := range a {
				a[i] = gen(d + 1)
			}
			return a
		default:
			m := map[string]any{}
			for i := r.IntN(4); i > 0; i-- {
				m[strs[r.IntN(len(strs))]+"k"] = gen(d + 1)
			}
			return m
		}
	}
	var toAny func(v jvalue) any
	toAny = func(v jvalue) any {
		switch v.kind {
		case jNull:
			return nil
		case jBool:
			return v.b
		case jNum:
			return v.num
		case jStr:
			return v.str
		case jArr:
			a := make([]any, len(v.arr))
			for i := range v.arr {
				a[i] = toAny(v.arr[i])
			}
			return a
		}
		m := map[string]any{}
		for _, f := range v.obj {
			m[f.key] = toAny(f.val)
		}
		return m
	}
	for i := 0; i < 2000; i++ {
		doc := map[string]any{"x": gen(0)}
		b, err := json.Marshal(doc)
		require.NoError(t, err)
		v, err := parseLine(b)
		require.NoError(t, err, string(b))
		var want any
		require.NoError(t, json.Unmarshal(b, &want))
		if !reflect.DeepEqual(want, toAny(v)) {
			t.Fatalf("%s: got %#v want %#v", b, toAny(v), want)
		}
	}
	// Escaped surrogate pairs and lone surrogates, as encoding/json.
	for _, s := range []string{`"\ud83d\ude00"`, `"\ud83d"`, `"\ude00x"`, `"\ud83d\u0041"`, `"\u00e9\u4e2d"`} {
		var want string
		require.NoError(t, json.Unmarshal([]byte(s), &want))
		v, err := parseLine([]byte(s))
		require.NoError(t, err)
		assert.Equal(t, want, v.str, s)
	}
	for _, bad := range []string{`{"a":}`, `[1,]`, `01`, `1.`, `-`, `"abc`, `{"a" 1}`, `tru`, `"\x"`, "\"a\tb\"", `{1: 2}`} {
		_, err := parseLine([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func TestExampleFiles(t *testing.T) {
	cases := []struct {
		file          string
		groups, items int
		formats       map[Format]int
	}{
		// SOURCE.txt: 100 lines of {"query","pos","neg"}; every query has 15
		// negatives and 1 to 10 positives (505 in all).
		{"t2rank_100.jsonl", 100, 2005, map[Format]int{FormatPosNeg: 100}},
		{"t2rank_100.small.jsonl", 11, 11*15 + 61, map[Format]int{FormatPosNeg: 11}},
		{"t2rank_100.distill.standard.jsonl", 100, 2005, map[Format]int{FormatPosNeg: 100}},
		{"t2rank_100.distill.jsonl", 100, 2005, map[Format]int{FormatDistill: 2005}},
	}
	sets := map[string]*RerankSet{}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			s, err := ReadReranker(filepath.Join(exampleDir, c.file), Options{})
			require.NoError(t, err)
			sets[c.file] = s
			assert.Len(t, s.Groups, c.groups)
			assert.Equal(t, c.items, s.Items())
			assert.Equal(t, c.formats, s.Report.Formats)
			assert.Equal(t, s.Report.Lines, s.Report.Records)
		})
	}
	t2 := sets["t2rank_100.jsonl"]
	require.NotNil(t, t2)
	pos := 0
	for _, g := range t2.Groups {
		neg := 0
		for _, it := range g.Items {
			switch it.Label {
			case 1:
				pos++
			case 0:
				neg++
			default:
				t.Fatalf("label %v", it.Label)
			}
		}
		assert.Equal(t, 15, neg, g.Source())
	}
	assert.Equal(t, 505, pos)
	// The flat distill file is the standard distill file one pair per line.
	a, b := sets["t2rank_100.distill.jsonl"], sets["t2rank_100.distill.standard.jsonl"]
	require.NotNil(t, a)
	require.NotNil(t, b)
	assert.Equal(t, a.Groups[0].Query, b.Groups[0].Query)
	for i := range a.Groups {
		ga, gb := a.Groups[i], b.Groups[i]
		require.Equal(t, len(ga.Items), len(gb.Items))
		for k := range ga.Items {
			assert.Equal(t, ga.Items[k].Text, gb.Items[k].Text)
			assert.Equal(t, ga.Items[k].Label, gb.Items[k].Label)
		}
	}
	// Distill scores are continuous in [0, 1].
	for _, g := range b.Groups {
		for _, it := range g.Items {
			assert.True(t, it.Label >= 0 && it.Label <= 1)
		}
	}
}

func TestFlagEmbeddingRerankerFiles(t *testing.T) {
	dir := "../../testdata/data/flagembedding-examples"
	f := filepath.Join(dir, "reranker_normal_examples.jsonl")
	// Teacher scores (83..101) are not labels in [0, 1].
	_, err := ReadReranker(f, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `reranker_normal_examples.jsonl:1: field "pos_scores[0]": label`)
	s, err := ReadReranker(f, Options{IgnoreScores: true})
	require.NoError(t, err)
	assert.Len(t, s.Groups, 10)
	assert.Equal(t, 260, s.Items())
	s, err = ReadReranker(f, Options{MinLabel: 80, MaxLabel: 110})
	require.NoError(t, err)
	assert.Equal(t, 260, s.Items())
}

// PerLine keeps every line a group of its own, in file order; NoLabels
// reads texts without labels (what a distillation teacher scores).
func TestParseRerankerPerLineNoLabels(t *testing.T) {
	src := `{"query": "q1", "content": "a"}
{"query": "q2", "hits": [{"content": "b"}, {"content": "c", "label": 2}]}
{"query": "q1", "pos": ["d"], "neg": ["e"], "neg_scores": [7]}
{"query": "q1", "content": "f", "score": 0.5}`
	s := parse(t, src, Options{PerLine: true, NoLabels: true})
	require.Len(t, s.Groups, 4)
	var got [][]string
	for _, g := range s.Groups {
		var texts []string
		for _, it := range g.Items {
			texts = append(texts, it.Text)
		}
		got = append(got, append([]string{g.Query}, texts...))
	}
	assert.Equal(t, [][]string{{"q1", "a"}, {"q2", "b", "c"}, {"q1", "d", "e"}, {"q1", "f"}}, got)
	assert.Equal(t, []int{1, 2, 3, 4}, []int{s.Groups[0].Line, s.Groups[1].Line, s.Groups[2].Line, s.Groups[3].Line})
	assert.Equal(t, float32(0), s.Groups[1].Items[1].Label, "labels are not read")

	// Without PerLine the same lines merge by query; without NoLabels the
	// label-less first line is an error naming the line.
	assert.Len(t, parse(t, src, Options{NoLabels: true}).Groups, 2)
	_, err := ParseReranker(strings.NewReader(src), "in.jsonl", Options{PerLine: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in.jsonl:1")
	// NoLabels still reports malformed texts.
	_, err = ParseReranker(strings.NewReader(`{"query": "q", "content": 3}`), "in.jsonl", Options{NoLabels: true})
	assert.ErrorContains(t, err, "in.jsonl:1")
}
