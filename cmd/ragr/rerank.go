package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ragr-dev/ragr/rerank"
)

const rerankUsage = `Usage: ragr rerank --model DIR --query Q --docs FILE|- [flags]

Scores every document against the query with the reranker in DIR
(cross-encoder BERT/XLM-R, Qwen2 sequence classification, causal LM with a
rerank.json, ColBERT) and prints them ranked.

Documents (FILE, or - for standard input) are one of:
  a JSON array of strings                ["doc one", "doc two"]
  a JSON array of objects with "text"    [{"id": "a", "text": "doc one"}]
  JSONL: one string or object per line

Output: JSON {"query": Q, "results": [{"index", "id"?, "score", "text"}]}
sorted by score, or an aligned table with --format table.

--device cuda runs the model on the GPU in fp32 (the CPU's scores up to
rounding); --precision bf16 adds bf16 matmuls and fused attention.

Examples:
  ragr rerank --model ./bge-reranker-base --query "what is BM25" --docs docs.json
  cat docs.jsonl | ragr rerank --model ./m --query "q" --docs - --top-k 5 --format table
  ragr rerank --model ./m --query "q" --docs long.json --strategy max_length_truncation --normalize
  ragr rerank --model ./bge-reranker-base --query "q" --docs docs.json --device cuda --precision bf16

Flags:
`

type docIn struct {
	ID   any    `json:"id,omitempty"`
	Text string `json:"text"`
}

// readDocs parses JSON or JSONL documents.
func readDocs(r io.Reader, name string) ([]docIn, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil, fmt.Errorf("%w: %s: no documents", errUsage, name)
	}
	var raws []json.RawMessage
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &raws) == nil {
		return parseDocs(raws, name, func(i int) string { return fmt.Sprintf("element %d", i) })
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var lines []int
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" {
			continue
		}
		raws = append(raws, json.RawMessage(l))
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errUsage, name, err)
	}
	return parseDocs(raws, name, func(i int) string { return fmt.Sprintf("line %d", lines[i]) })
}

func parseDocs(raws []json.RawMessage, name string, where func(int) string) ([]docIn, error) {
	docs := make([]docIn, len(raws))
	for i, raw := range raws {
		var str string
		if err := json.Unmarshal(raw, &str); err == nil {
			docs[i].Text = str
		} else if err := json.Unmarshal(raw, &docs[i]); err != nil {
			return nil, fmt.Errorf("%w: %s: %s: want a string or an object with \"text\" (%v)", errUsage, name, where(i), err)
		}
		if strings.TrimSpace(docs[i].Text) == "" {
			return nil, fmt.Errorf("%w: %s: %s: empty document text", errUsage, name, where(i))
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%w: %s: no documents", errUsage, name)
	}
	return docs, nil
}

func openInput(path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return f, nil
}

// stdinReader lets tests replace standard input.
var stdinReader io.Reader = os.Stdin

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

func rerankCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ragr rerank", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "reranker model directory (required)")
	query := fs.String("query", "", "the query (required)")
	docsPath := fs.String("docs", "", "documents: a JSON or JSONL file, - for stdin (required)")
	format := fs.String("format", "json", "output format: json or table")
	topK := fs.Int("top-k", 0, "print only the k best documents (0: all)")
	maxLen := fs.Int("max-length", 0, "tokens per (query, document) row (0: model default, 512)")
	batch := fs.Int("batch", 32, "rows per forward pass")
	norm := fs.Bool("normalize", false, "apply a sigmoid to the scores")
	strategy := fs.String("strategy", "max_score_slice", "long documents: max_score_slice or max_length_truncation")
	df := addDeviceFlags(fs)
	fs.Usage = func() { fmt.Fprint(stderr, rerankUsage); fs.PrintDefaults() }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || *docsPath == "" || strings.TrimSpace(*query) == "" {
		fs.Usage()
		return fmt.Errorf("%w: --model, --query and --docs are required", errUsage)
	}
	if *format != "json" && *format != "table" {
		return fmt.Errorf("%w: --format %q: want json or table", errUsage, *format)
	}
	st, err := rerank.ParseStrategy(*strategy)
	if err != nil {
		return fmt.Errorf("%w: --strategy: %v", errUsage, err)
	}
	if *maxLen < 0 || *batch < 1 || *topK < 0 {
		return fmt.Errorf("%w: --max-length and --top-k must not be negative, --batch must be positive", errUsage)
	}
	dev, err := df.setup()
	if err != nil {
		return err
	}
	var in io.Reader = stdinReader
	if *docsPath != "-" {
		f, err := openInput(*docsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	docs, err := readDocs(in, *docsPath)
	if err != nil {
		return err
	}
	r, err := rerank.Load(*model, rerank.LoadOptions{Device: dev})
	if err != nil {
		return err
	}
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = d.Text
	}
	res, err := r.Rank(context.Background(), *query, texts, rerank.Options{MaxLength: *maxLen, BatchSize: *batch, Normalize: *norm, Strategy: st})
	if err != nil {
		if rerank.IsInputError(err) {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return err
	}
	top := res.TopK(*topK)
	if *format == "table" {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "rank\tindex\tid\tscore\ttext")
		for i, x := range top {
			id := ""
			if docs[x.Index].ID != nil {
				id = fmt.Sprint(docs[x.Index].ID)
			}
			t := x.Doc
			if len([]rune(t)) > 60 {
				t = string([]rune(t)[:57]) + "..."
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%.6g\t%s\n", i+1, x.Index, id, x.Score, strings.ReplaceAll(t, "\n", " "))
		}
		return tw.Flush()
	}
	type outRes struct {
		Index int     `json:"index"`
		ID    any     `json:"id,omitempty"`
		Score float32 `json:"score"`
		Text  string  `json:"text"`
	}
	out := struct {
		Query   string   `json:"query"`
		Results []outRes `json:"results"`
	}{Query: *query}
	for _, x := range top {
		out.Results = append(out.Results, outRes{x.Index, docs[x.Index].ID, x.Score, x.Doc})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
