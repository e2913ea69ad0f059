package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ragr-dev/ragr/rerank"
	"github.com/ragr-dev/ragr/train/embedeval"
)

const evalEmbeddingUsage = `Usage: ragr eval embedding --model DIR (--data FILE.jsonl | --corpus C --queries Q --qrels R | --sts FILE [--split S]) [flags]

Evaluates the embedding model in DIR (BERT / XLM-R / Qwen2; a
sentence-transformers layout sets pooling and Dense layers) and prints one
row per dimension (the full width and each --mrl-dims prefix, renormalised):
  retrieval: exact cosine search of every query over the corpus; nDCG@10,
    MRR@10, Recall@1/5/10/100 (k above the corpus size dropped). The data is
    RAG-Retrieval embedding JSONL (--data: the corpus is every pos and neg,
    a query's pos are its relevant documents) or a corpus JSONL
    {"id","text"}, queries JSONL {"id","text"} and qrels (JSONL
    {"query_id","doc_id","relevance"}, or TSV "query-id corpus-id score").
  STS: Spearman (and Pearson) of cosine(emb1, emb2) against the gold score,
    on "s1 \t s2 \t score" lines (Chinese STS-B) or the English STS benchmark
    TSV (.tsv or .tsv.gz, pick --split train|dev|test).
--device cuda embeds on the GPU in fp32; --precision bf16 adds bf16 matmuls
and fused attention.

Examples:
  ragr eval embedding --model out/model --sts testdata/data/sts-benchmark/zh-STS-B.test.data --mrl-dims 32,64
  ragr eval embedding --model out/model --data val.jsonl --query-prompt "为这个句子生成表示以用于检索相关文章："

Flags:
`

// parseDims reads a comma-separated list of positive dimensions.
func parseDims(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: --mrl-dims %q: want positive integers separated by commas", errUsage, s)
		}
		out = append(out, d)
	}
	return out, nil
}

func evalEmbeddingCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ragr eval embedding", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "embedding model directory (required)")
	dataPath := fs.String("data", "", "RAG-Retrieval embedding JSONL {\"query\",\"pos\",\"neg\"}")
	corpus := fs.String("corpus", "", "corpus JSONL {\"id\",\"text\"}")
	queries := fs.String("queries", "", "queries JSONL {\"id\",\"text\"}")
	qrels := fs.String("qrels", "", "qrels: JSONL {\"query_id\",\"doc_id\",\"relevance\"} or TSV")
	sts := fs.String("sts", "", "STS pairs file (zh STS-B .data, or the English STS benchmark .tsv[.gz])")
	split := fs.String("split", "", "split of an STS file with a split column (train, dev, test)")
	dims := fs.String("mrl-dims", "", "comma-separated MRL dimensions to evaluate besides the full width")
	batch := fs.Int("batch", 32, "texts per forward pass")
	maxLen := fs.Int("max-len", 0, "tokens per text (0: 512 or the model's limit)")
	prompt := fs.String("query-prompt", "", "text prefixed to every retrieval query")
	df := addDeviceFlags(fs)
	fs.Usage = func() { fmt.Fprint(stderr, evalEmbeddingUsage); fs.PrintDefaults() }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	beir := *corpus != "" || *queries != "" || *qrels != ""
	modes := 0
	for _, on := range []bool{*dataPath != "", beir, *sts != ""} {
		if on {
			modes++
		}
	}
	switch {
	case *model == "" || modes != 1:
		fs.Usage()
		return fmt.Errorf("%w: --model and exactly one of --data, --corpus/--queries/--qrels or --sts are required", errUsage)
	case beir && (*corpus == "" || *queries == "" || *qrels == ""):
		return fmt.Errorf("%w: --corpus, --queries and --qrels go together", errUsage)
	case *batch < 1 || *maxLen < 0:
		return fmt.Errorf("%w: --batch must be positive and --max-len not negative", errUsage)
	case *split != "" && *sts == "":
		return fmt.Errorf("%w: --split applies to --sts", errUsage)
	}
	ds, err := parseDims(*dims)
	if err != nil {
		return err
	}
	dev, err := df.setup()
	if err != nil {
		return err
	}
	// Read the data before loading the model: bad input fails fast.
	var set *embedeval.RetrievalSet
	var pairs []embedeval.STSPair
	switch {
	case *dataPath != "":
		set, err = embedeval.ReadEmbedData(*dataPath)
	case beir:
		set, err = embedeval.ReadRetrieval(*corpus, *queries, *qrels)
	default:
		pairs, err = embedeval.ReadSTS(*sts, *split)
	}
	if err != nil {
		return err
	}
	e, err := rerank.LoadEncoder(*model, rerank.EncoderOptions{Device: dev})
	if err != nil {
		return err
	}
	enc := func(texts []string) ([][]float32, error) {
		return e.Encode(context.Background(), texts, rerank.EncodeOptions{MaxLength: *maxLen, BatchSize: *batch})
	}
	opts := embedeval.Options{Dims: ds, Batch: *batch, QueryPrompt: *prompt}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if set != nil {
		r, err := embedeval.EvaluateRetrieval(set, enc, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d documents, %d queries (%d with relevant documents)\n", set.Name, r.Docs, r.Queries, r.Dims[0].Queries)
		head := "dim\tnDCG@10\tMRR@10"
		for _, x := range r.Dims[0].Recall {
			head += fmt.Sprintf("\tR@%d", x.K)
		}
		fmt.Fprintln(tw, head+"\t")
		for _, d := range r.Dims {
			row := fmt.Sprintf("%d\t%.4f\t%.4f", d.Dim, d.NDCG, d.MRR)
			for _, x := range d.Recall {
				row += fmt.Sprintf("\t%.4f", x.Value)
			}
			fmt.Fprintln(tw, row+"\t")
		}
		return tw.Flush()
	}
	r, err := embedeval.EvaluateSTS(pairs, enc, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d pairs\n", *sts, r.Pairs)
	fmt.Fprintln(tw, "dim\tSpearman\tPearson\t")
	for _, d := range r.Dims {
		fmt.Fprintf(tw, "%d\t%.4f\t%.4f\t\n", d.Dim, d.Spearman, d.Pearson)
	}
	return tw.Flush()
}
