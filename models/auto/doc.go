// Package auto loads any supported model directory, picking the architecture
// from config.json (like transformers' AutoModel), and runs it on explicit
// token ids, returning named float32 outputs. It is what `ragr forward` and
// the golden-parity harness use, so both exercise the loader a user gets.
//
// Supported: BertModel, XLMRobertaModel (and RoBERTa), their
// SequenceClassification heads, ColBERT (an encoder directory with
// colbert_linear weights), Qwen2Model, Qwen2ForCausalLM and
// Qwen2ForSequenceClassification. Adding a family is one Loader in the
// loaders table.
package auto
