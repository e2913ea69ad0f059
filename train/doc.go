// Package train holds ragr's trainer: RAG-Retrieval JSONL datasets, batching,
// the training modes, checkpoints and evaluation. It is filled by the training
// issues; this file places the package in the layer table.
package train
