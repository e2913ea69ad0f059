// Package losses holds ragr's training losses: dense-embedding contrastive
// losses (with the Matryoshka/MRL wrapper), the ColBERT in-batch contrastive
// loss, reranker losses (pointwise, pairwise, listwise) and distillation
// losses (score MSE/KL/soft CE and Jasper/Stella embedding distillation).
// They reproduce RAG-Retrieval (NovaSearch-Team/RAG-Retrieval, commit
// 950da576: rag_retrieval/train/embedding/model.py,
// rag_retrieval/train/reranker/ranking_loss.py,
// rag_retrieval/train/colbert/model.py, and model_distill.py for
// Jasper/Stella); losses it lacks follow the usual definitions, each cited in
// its doc comment together with its formula.
//
// Every loss takes *autograd.Var model outputs (float32 or float64, any
// device) and constant *tensor.Tensor labels / teacher values and returns a
// scalar *autograd.Var; gradients flow through autograd. Embeddings are
// normalized inside the losses: normalize(x) = x / max(‖x‖₂, 1e-12).
// Problems a user's data can cause — query/positive count mismatch,
// negatives not a multiple of the queries, labels of the wrong length, an
// empty batch, a group without pairs or positives — are returned as errors,
// never panics.
//
// # Registry
//
// A trainer selects a loss by its config name with Lookup, which returns a
// Spec (kind, the Inputs fields it reads, its hyper-parameters and their
// defaults) whose Compute evaluates it on an Inputs batch:
//
//	spec, err := losses.Lookup(cfg.LossType) // e.g. "listwise_ce"
//	p := spec.Defaults
//	p.Temperature = cfg.Temperature          // when the config sets it
//	loss, err := spec.Compute(losses.Inputs{Logits: scores, Labels: labels, GroupSize: g}, &p)
//
// Names (aliases in parentheses):
//
//	embedding  pair_inbatch_softmax (pair_inbatch_softmax_loss, infonce_pair)
//	           triplet_inbatch_softmax (triplet_inbatch_softmax_loss, infonce_triplet)
//	           mnrl (infonce_mnrl, multiple_negatives_ranking)
//	           pair_kl (pair_kl_loss)
//	           — Params.MRLDims turns on MRL for each of them (RAG-Retrieval use_mrl)
//	colbert    colbert_inbatch, colbert_inbatch_maskedmax
//	reranker   pointwise_bce (point_ce), pointwise_mse (point_mse),
//	           pairwise_ranknet, listwise_ce
//	distill    distill_mse, distill_kl, distill_soft_ce,
//	           jasper_cosine, jasper_similarity,
//	           jasper_relative_ranking (jasper_triplet), jasper_distill (stella_distill)
//
// A new loss is one file (the function and its Spec) plus one line in the
// registry table of registry.go.
//
// # Accuracy
//
// The golden test recomputes every tensor of testdata/golden/losses (float64
// PyTorch after RAG-Retrieval) in float32: losses and gradients agree to a
// relative L2 error of at most 1.1e-6 on every CPU tier (the README allows
// 1e-4 for losses, 1e-3 for gradients). Each loss also has a float64
// finite-difference gradient check; the Jasper/Stella losses, which have no
// fixture, are checked by finite differences and (relative ranking) against
// a line-by-line autograd transcription of RAG-Retrieval's code.
package losses
