// Package data reads the training and evaluation data of ragr's trainer in
// RAG-Retrieval's JSONL formats, samples training groups deterministically
// from a seed, shards them by data-parallel rank, and turns batches into
// padded token tensors.
//
// # Reranker data (ReadReranker, ParseReranker)
//
// Each line is auto-detected (RAG-Retrieval, rag_retrieval/train/reranker):
//
//	{"query": str, "content": str, "label": num}                pointwise
//	{"query": str, "content": str, "score": num}                flat distill (t2rank_100.distill.jsonl)
//	{"query": str, "hits": [{"content": str, "label": num}, …]} grouped
//	{"query": str, "pos": [str], "neg": [str],                  standard (older) format;
//	 "pos_scores": [num], "neg_scores": [num]}                  neg and the scores optional
//
// Lines of the same query (after trimming spaces, as RAG-Retrieval's
// .strip()) are merged into one Group, in file order; groups are in the
// order their query first appears.
//
// Labels follow RAG-Retrieval: in the standard format pos texts get 1 and
// neg texts 0 unless pos_scores / neg_scores are given; pointwise labels,
// flat distill scores and pos_scores / neg_scores are mapped with
// min_label / max_label as (label-min)/(max-min) (utils.py
// map_label_to_continuous, defaults 0 and 1), and a label outside
// [min_label, max_label] is an error there and here (Options.ClipLabels clips
// it into [0,1] instead). Grouped "hits" labels are kept as they are, as
// GroupedRankerDataset does (the pairwise and listwise losses use raw grades);
// Options.ScaleHits maps them too. Where RAG-Retrieval silently uses 0 for a
// missing label (dict.get(label_key, 0)) ragr reports the line instead.
//
// # Embedding data (ReadEmbedding, ParseEmbedding)
//
//	{"query": str, "pos": [str]}                    pair (in-batch negatives)
//	{"query": str, "pos": [str], "neg": [str]}      triplet
//	{"query": str, "pos": [str], "scores": [num]}   pair with teacher scores (pair-KL)
//
// with an optional "prompt_for_query" string that is prefixed to the query
// (PromptQuery; RAG-Retrieval concatenates without a separator). The first
// record fixes the kind of the file; each positive is one training example
// (EmbedSampler).
//
// # Errors
//
// A malformed line is reported as
//
//	FILE:LINE: field "pos[2]": want a string, got number
//
// (a *LineError). By default the first bad line stops reading; with
// Options.SkipBadLines bad lines are counted in the Report (with the first
// few errors) and reading goes on. A file with no usable record is an error,
// and so is a missing file. Lines are read with bufio up to
// Options.MaxLineBytes (64 MiB by default), must be valid UTF-8, and may use
// Python's NaN / Infinity literals only to be rejected with a clear message.
//
// # Sampling (Sampler, Validate, Loader)
//
// A Sampling turns groups into training examples of GroupSize documents:
//
//   - SampleTopPositive (default): per query and epoch, one positive (drawn
//     among the items with the query's highest label) and GroupSize-1
//     negatives drawn without replacement from the other items; with
//     Replacement, a query with too few negatives draws from its negatives
//     repeated ceil((G-1)/n) times, as RAG-Retrieval's embedding dataset and
//     FlagEmbedding's reranker do. EachPositive makes one example per
//     top-label positive instead of one per query.
//   - SampleChunks: RAG-Retrieval's GroupedRankerDataset: the query's hits
//     are shuffled and cut into chunks of GroupSize, the last one filled with
//     distinct hits drawn from the earlier ones; chunks whose labels are all
//     equal are dropped. (RAG-Retrieval does this once when loading; ragr
//     reshuffles every epoch.)
//   - SamplePointwise: every (query, document) item is one example of size 1
//     (RAG-Retrieval's PointwiseRankerDataset).
//
// Validate checks a configuration against the data before training: a
// group size larger than a query can provide without replacement is an error
// naming the queries (unless SkipShort drops them, as RAG-Retrieval does).
//
// Everything random is drawn from a small self-contained generator
// (SplitMix64) keyed by (seed, epoch, group), never from global state, so
// Sampler.Epoch(seed, e) returns the same examples in the same order on
// every machine and every run. Shard(examples, rank, world) gives rank r the
// examples r, r+world, r+2·world, … of the first world·⌊N/world⌋ (every
// rank gets the same count, so collective operations stay in step).
//
// A Loader walks the shard of each epoch in batches. Its Position
// {Epoch, Index} is the epoch and the number of this rank's examples of that
// epoch already handed out; a trainer saves Position() in its checkpoint and,
// on resume, calls Seek(p): the loader recomputes Epoch(seed, p.Epoch),
// takes the same shard and continues at example p.Index, so the resumed run
// sees exactly the batches the uninterrupted run would have seen.
//
// # Batching (PairEncoder, BuildBatch)
//
// A PairEncoder turns (query, document) pairs into padded token id rows:
// CrossEncoder for BERT-style models (tokenizer pair encoding, truncation
// only_second as RAG-Retrieval's CrossEncoder.preprocess or longest_first,
// dynamic padding to the longest row) and DecoderEncoder for decoder
// rerankers (Qwen2: one sequence query_format(query) + seq +
// document_format(document) + special_token, RAG-Retrieval's LLMDecoder
// template, right or left padding, no type ids). BuildBatch flattens a batch
// of examples into B·G pairs and returns int32 tensors [B·G, L] and float32
// labels [B·G].
//
// # Evaluation data
//
// SplitByQuery holds out a seeded fraction of the queries; LoadCranfield
// reads the Cranfield collection (queries, documents, graded qrels) and
// builds candidate groups for reranking evaluation.
package data
