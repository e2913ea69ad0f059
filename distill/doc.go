// Package distill distills an LLM reranker into a BERT cross-encoder, the
// two stages of RAG-Retrieval's reranker distillation in one place:
//
//  1. ScoreFile: a teacher reranker loaded with rerank.Load — a Qwen2
//     sequence classifier (qwen2-seqcls), a causal LM scored by the logit of
//     its "yes" token after a prompt template (causal-lm-yes), or a
//     cross-encoder — scores every (query, document) pair of a reranker
//     JSONL file in any format train/data reads (pairs, hits, pos/neg; its
//     labels are not read) and writes the soft labels sigmoid(logit) to a
//     JSONL: flat {"query","content","score"} lines in the input's order
//     (RAG-Retrieval's create_distill_data output, t2rank_100.distill.jsonl)
//     or grouped {"query","pos","pos_scores"} lines
//     (t2rank_100.distill.standard.jsonl). The file is written through a
//     temporary file and a rename, and an existing one is kept unless
//     forced. The teacher runs on teacher_device (the student's device key
//     in Run, else the CPU) in fp32, or bf16 with teacher_precision.
//  2. Run trains the student with train.TrainReranker on that file:
//     distill_mse (default: raw student scores against the teacher's
//     logits), distill_kl / distill_soft_ce (each group's softmax with
//     distill_temperature), or RAG-Retrieval's own recipe, pointwise_bce /
//     pointwise_mse on the soft labels. The trainer reads the soft labels
//     back into teacher logits (train.TeacherLogits) for the distill_*
//     losses.
//
// Run also measures the student's agreement with the teacher on training
// queries (Compare: mean per-query Spearman and pairwise order agreement)
// at initialization and after training.
//
// This package sits above both train and rerank (layer 65), which may not
// import each other.
package distill
