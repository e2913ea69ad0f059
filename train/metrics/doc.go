// Package metrics computes the evaluation metrics of ragr's trainer and a
// BM25 baseline.
//
// # Ranking metrics (Evaluate)
//
// Each Query holds the candidates of one query: the scores a model gave them
// and their labels. Candidates are ranked by score, descending; ties keep
// the input order (a stable sort), so results are deterministic.
// A candidate is relevant when its label is above Options.PositiveThreshold
// (default 0). Per query:
//
//   - AP, the average precision over the whole candidate list with binary
//     relevance: the mean, over the relevant candidates, of the precision at
//     each one's rank. This is what MTEB / C-MTEB's RerankingEvaluator
//     reports as "map" (it calls sklearn's average_precision_score on the
//     candidates of each query and averages over queries). sklearn treats
//     tied scores as one threshold instead of breaking them by position;
//     Options.SklearnTies reproduces that for AP.
//   - MRR@10: 1/rank of the first relevant candidate within the top 10,
//     else 0 (RerankingEvaluator's mrr_at_k).
//   - nDCG@10 with linear gain: DCG = Σ_{i≤10} gain_i / log2(i+1) with
//     gain = max(label, 0) as in trec_eval / pytrec_eval's ndcg_cut (the
//     default of MTEB's retrieval evaluation), divided by the DCG of the
//     candidates sorted by label. Options.ExpGain uses 2^label - 1 (the
//     exponential gain of Burges et al. 2005). With 0/1 labels both are
//     equal.
//   - Recall@k: relevant candidates in the top k over all relevant
//     candidates, for each k of Options.RecallAt (default 1, 5, 10).
//
// Queries without a relevant candidate are skipped and counted
// (Result.NoPositive); MTEB also skips queries without a non-relevant one,
// which Options.SkipAllPositive reproduces (Result.AllPositive counts them
// either way). Result holds the means and the number of queries.
//
// # BM25
//
// BM25 is Okapi BM25 with k1 = 1.2, b = 0.75 and Lucene's idf
// log(1 + (N - n + 0.5)/(n + 0.5)):
//
//	score(q, d) = Σ_{t ∈ q} idf(t) · tf(t,d)·(k1+1) / (tf(t,d) + k1·(1 - b + b·|d|/avgdl))
//
// summed over the query's tokens (a repeated query token counts each
// time). Analyze is its analyzer: lowercase, split into runs of letters
// and digits (Unicode), and for Han, Hiragana and Katakana characters
// their unigrams and the bigrams of adjacent ones. BM25Scores ranks each
// query's own candidates with statistics over all candidates, the baseline
// printed beside a trained reranker.
package metrics
