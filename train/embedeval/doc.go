// Package embedeval evaluates embedding models: retrieval over a corpus
// and Spearman correlation on STS-style sentence pairs, at each
// Matryoshka (MRL) dimension.
//
// The model is reached only through an EncodeFunc (texts in, one vector
// per text out), so the trainer can evaluate the model it holds in memory
// and the CLI a model directory.
//
// # Retrieval (EvaluateRetrieval)
//
// A RetrievalSet holds a corpus, queries and graded relevance judgements
// (qrels). It is read from a corpus JSONL ({"id","text"}, BEIR's "_id" and
// "title" accepted), a queries JSONL ({"id","text"}) and qrels (JSONL
// {"query_id","doc_id","relevance"}, BEIR's TSV "query-id corpus-id
// score" with its header, or TREC's "qid iter docid rel"), or from
// RAG-Retrieval embedding JSONL ({"query","pos","neg"}): there the corpus
// is the union of every record's pos and neg texts (identical texts are
// one document) and a query's relevant documents are its pos texts.
//
// The corpus is encoded once at full width in batches (memory O(corpus ×
// dim)). For each dimension d (the MRL prefix: the first d features,
// renormalised to unit length) every query is scored against every
// document by exact cosine similarity, and the top max(RecallAt) documents
// are kept; ties rank the earlier document first. The ranking metrics are
// train/metrics' (linear-gain nDCG@10 as trec_eval's ndcg_cut, MRR@10,
// Recall@k with k = 1, 5, 10, 100, dropping those above the corpus size),
// computed over the kept documents followed by the relevant documents not
// among them, so the ideal DCG and the recall denominators count every
// judged-relevant document. Queries without a relevant judgement are
// skipped and counted.
//
// # STS (EvaluateSTS)
//
// STS pairs are read from the Chinese STS-B files
// ("sentence1 \t sentence2 \t score") or the English STS benchmark TSV
// (optionally gzipped, header "split genre dataset year sid score
// sentence1 sentence2", one split chosen). The figure is Spearman's rank
// correlation between cosine(emb1, emb2) and the gold score, with tied
// values given their average rank (scipy.stats.spearmanr); Pearson's is
// reported beside it.
package embedeval
