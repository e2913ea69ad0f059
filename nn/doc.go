// Package nn holds ragr's neural-network building blocks on autograd:
// Linear, Embedding, LayerNorm, RMSNorm, Dropout, scaled dot-product
// attention with padding and causal masks, grouped-query heads and rotary
// position embeddings (RoPE).
//
// Parameters are autograd Vars named with Hugging Face state_dict names:
// every module lists its parameters through NamedParams with a name prefix,
// so a model's full list matches the checkpoint's keys one for one.
package nn
