// Package colbert is ColBERT late interaction on a BERT / XLM-R encoder: an
// encoder, a projection colbert_linear (hidden → dim, with bias, as bge-m3
// and RAG-Retrieval use), L2-normalised token vectors, and MaxSim scores.
//
// Two score conventions are provided, both differentiable:
//   - MaxSim: Σ over real query tokens of max over real doc tokens of q·d,
//     optionally without [CLS] and optionally divided by the number of query
//     tokens (bge-m3's colbert_score and RAG-Retrieval's ColBERT.score);
//   - ScoreRR: RAG-Retrieval's training formula, where padded and [CLS] doc
//     vectors are zero vectors that take part in the max with value 0.
package colbert
