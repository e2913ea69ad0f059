// Package rerank is ragr's public inference API: rerankers (Reranker, with
// Rank and ComputeScore) and embedding encoders (Encoder), the Go
// counterpart of RAG-Retrieval's rag_retrieval reranker API.
//
// # Rerankers
//
// Load(dir, LoadOptions) picks the family from the model directory
// (families are registered in families.go with one Register line each):
//
//   - "cross-encoder": BertForSequenceClassification /
//     XLMRobertaForSequenceClassification with one label (bge-reranker,
//     RAG-Retrieval's CrossEncoder); score = logit.
//   - "qwen2-seqcls": Qwen2ForSequenceClassification (RAG-Retrieval's
//     LLMDecoder): query_format(q) + sep + document_format(d) +
//     special_token, score = the head at the last real token.
//   - "causal-lm-yes": Qwen2ForCausalLM with a rerank.json naming
//     yes_token: the same prompt layout, score = logit of the yes token at
//     the last position.
//   - "colbert": a BERT encoder with colbert_linear.*: late interaction,
//     bge-m3's colbert_score (MaxSim over tokens after [CLS], averaged over
//     the query's tokens).
//
// Rows are built from content token ids with the model's Template (derived
// from the tokenizer's post-processor: [CLS] q [SEP] d [SEP] for BERT,
// <s> q </s></s> d </s> for XLM-R). TokenScorer.ScoreTokens scores token
// ids directly (fixtures, pre-tokenized input). Rows are sorted by length
// and cut into batches of Options.BatchSize, so a batch wastes little
// padding; scores come back in the caller's order.
//
// # Long documents
//
// With Truncate the document is cut to what the window leaves (truncation
// only_second, longest_first when the query alone fills the budget). With
// MaxScoreSlice (the default, as in RAG-Retrieval's rerank) a document
// longer than the window w = max_length − len(query) − special tokens is
// cut into windows of w tokens: the first starts at 0, each next one
// starts overlap tokens before the previous one ends, overlap =
// min(Options.Overlap (80), ⌊2w/7⌋), and the last one ends at the
// document's end (see Windows); the document's score is the max over its
// windows. This is the rule of RAG-Retrieval's reranker preprocessing
// (taken from BCEmbedding's reranker_tokenize_preproc), with one
// difference: RAG-Retrieval appends the window and one [SEP] to the
// query's own encoding, which for XLM-R gives <s> q </s> d </s>; ragr uses
// the model's pair template (<s> q </s></s> d </s>) so windows look like
// the pairs the model was trained on. A query longer than half the budget
// is cut to half under MaxScoreSlice (RAG-Retrieval asserts instead).
//
// Normalize applies a sigmoid to cross-encoder and decoder scores.
// Empty (all-space) queries and documents are input errors (IsInputError);
// RAG-Retrieval silently drops empty documents.
//
// # Embeddings
//
// LoadEncoder(dir, EncoderOptions) loads a BERT / XLM-R or Qwen2 encoder;
// Encode(ctx, texts, EncodeOptions) pools (the sentence-transformers
// config of the directory, or CLS / mean / last-token by option), applies
// the Dense layers, normalizes, truncates to an MRL dimension and prefixes
// a query prompt.
//
// # Devices
//
// LoadOptions.Device and EncoderOptions.Device (tensor.CUDA(i), or the
// simulated accelerator tensor.Sim(i); the zero value is the CPU) run the
// model on a device: it loads on the host, every parameter moves to the
// device (an unavailable device is an error before any weights are read),
// the models move each batch's inputs there, and scores and embeddings
// come back to the host. The device computes in fp32 (the CPU's numbers,
// on the sim bit for bit) unless SetPrecision(d, BF16) turned on its bf16
// mixed precision (bf16 matmul operands, fp32 accumulation, fused
// attention) for the process. A device failure while scoring (out of
// memory) is returned as an error. Calls are safe for concurrent use on a
// device as on the CPU (the sim backend's state is atomic or locked; the
// CUDA backend queues every op on one stream, its caches locked).
package rerank
