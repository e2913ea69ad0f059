// Package train is ragr's trainer: the loop every training mode shares
// (epochs and steps, gradient accumulation, clipping, AdamW with
// RAG-Retrieval's parameter groups and a learning-rate schedule, evaluation
// every N steps, checkpoints every N steps and at epoch end keeping the
// newest K, exact resume, export in the Hugging Face layout, a progress
// bar, metrics as JSONL and a PNG of the curves) and the training modes on
// RAG-Retrieval's JSONL formats and YAML configs: rerankers (BERT / XLM-R
// cross-encoders and Qwen2 sequence-classification rerankers), embedding
// models (TrainEmbedding), Jasper/Stella embedding distillation from a
// teacher's stored vectors (TrainDistillEmbedding) and ColBERT
// (TrainColBERT).
//
// Data parallelism is designed in: a run has a rank and a world size, the
// data order is sharded by rank, and gradients pass through one reduction
// point (Reducer) before the optimizer step; the single-process reducer is
// the identity.
package train
