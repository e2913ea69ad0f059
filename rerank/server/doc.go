// Package server is ragr's HTTP JSON service over a rerank.Reranker and/or
// a rerank.Encoder, with the request and response schemas of Hugging
// Face's text-embeddings-inference (TEI) and OpenAI's embeddings API.
//
// Routes:
//
//	POST /rerank          {"query": str, "texts": [str], "raw_scores": bool,
//	                       "return_text": bool, "truncate": bool}
//	                      → [{"index": int, "score": float, "text"?: str}]
//	                        sorted by decreasing score; without raw_scores the
//	                        scores are sigmoid-normalized (as TEI)
//	POST /embed           {"inputs": str | [str], "normalize": bool (true),
//	                       "truncate": bool, "dimensions": int}
//	                      → [[float]]
//	POST /v1/embeddings   {"input": str | [str], "model": str, "dimensions": int}
//	                      → {"object": "list", "data": [{"object": "embedding",
//	                        "index": int, "embedding": [float]}], "model": str,
//	                        "usage": {"prompt_tokens": int, "total_tokens": int}}
//	GET  /health          → {"status": "ok"}
//	GET  /metrics         Prometheus text format
//
// Errors are JSON {"error": message, "error_type": kind} (TEI's shape):
//
//	400 malformed JSON or a wrong field type          (error_type "validation")
//	401 missing or wrong bearer token                 ("unauthorized")
//	404/405 unknown route or method
//	413 body larger than Config.MaxBodyBytes          ("payload_too_large")
//	422 empty query/text, more than Config.MaxDocs texts, a text longer than
//	    Config.MaxTokens tokens without "truncate": true, a bad option
//	    — the message names the limit                 ("validation")
//	429 queue full (Config.QueueSize)                 ("overloaded")
//	503 shutting down, or the model kind not loaded   ("unavailable")
//	504 the request timed out (Config.Timeout)        ("timeout")
//	500 a model failure                               ("backend")
//
// Requests are micro-batched across clients: one batcher goroutine takes
// queued requests until it has Config.MaxBatch pairs/texts or
// Config.MaxWait has passed since the first, runs compatible requests as one
// library call (the library sorts rows by length), and hands each request
// its slice of the results. Shutdown (through http.Server.Shutdown, then
// Server.Close) finishes every accepted request.
package server
