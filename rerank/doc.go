// Package rerank holds ragr's public inference API (Reranker with Rank and
// ComputeScore, embedding encoders). It is filled by the API issue; this file
// places the package in the layer table.
package rerank
