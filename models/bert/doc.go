// Package bert is ragr's BERT and XLM-RoBERTa encoder (BertModel,
// XLMRobertaModel) with the heads retrieval uses: the pooler, CLS and mean
// pooling, and the sequence-classification heads of cross-encoder rerankers
// (BertForSequenceClassification: pooler → classifier;
// XLMRobertaForSequenceClassification: dense → tanh → out_proj on <s>).
//
// It follows transformers 4.40.2's models/bert/modeling_bert.py and
// models/xlm_roberta/modeling_xlm_roberta.py: parameter names equal the
// checkpoints' names, post-LayerNorm blocks, the exact erf GELU, absolute
// positions 0..L-1 for BERT and padding-aware positions
// cumsum(ids≠pad)·(ids≠pad)+pad for XLM-R, and an additive finfo.min mask on
// padded keys (padded query rows are computed, as in transformers).
package bert
