// Package qwen2 is ragr's Qwen2 decoder (Qwen2Model) with the two heads
// retrieval uses: the language-model head (Qwen2ForCausalLM, for
// LLM-based embedders and generative rerankers) and the one-logit score head
// of LLM rerankers (Qwen2ForSequenceClassification, RAG-Retrieval's
// LLMDecoder).
//
// It follows transformers 4.40.2's models/qwen2/modeling_qwen2.py:
//
//   - parameter names equal the checkpoints' names: embed_tokens,
//     layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj,
//     post_attention_layernorm, mlp.{gate,up,down}_proj}, norm; nested under
//     "model." in the task models, beside lm_head or score. A bare
//     Qwen2Model file loads into a task model and the reverse (LoadOptions
//     prefixes);
//   - pre-RMSNorm blocks: x += o_proj(attn(input_layernorm(x)));
//     x += down(act(gate(h))·up(h)) with h = post_attention_layernorm(x);
//     a final RMSNorm;
//   - q/k/v projections with bias, o_proj and the MLP without; grouped-query
//     attention (repeat_kv: query head h reads KV head h / (heads/kv_heads));
//   - rotary position embeddings in the rotate_half convention, inverse
//     frequencies and angles in float32 as Hugging Face (nn.RoPE);
//   - an additive causal + key-padding mask of finfo(float32).min; pad query
//     rows are computed, and their outputs are meaningless, as in
//     transformers;
//   - position ids 0..L-1 including pads unless the caller passes explicit
//     ones (GeneratePositions gives those transformers' generate passes for
//     left padding);
//   - hidden_states as transformers returns them: the embedding output, the
//     output of every decoder layer but the last, and the last layer's output
//     after the final norm (equal to last_hidden_state);
//   - the sequence-classification score read where transformers 4.40.2 reads
//     it: (argmax_t(input_ids == pad_token_id) − 1) mod L, i.e. the token
//     before the first pad id (PoolFirstPad; see PoolRule for the later
//     transformers rule and the attention-mask rule);
//   - the embedding's padding_idx is pad_token_id (that row receives no
//     gradient from the lookup), as Qwen2Model builds it.
//
// Not implemented: KV caching and generation, rope_scaling (rejected by
// ConfigFrom) and sliding-window attention (use_sliding_window=true is
// rejected). transformers 4.40.2 also hands config.sliding_window to its
// eager/SDPA mask builder when use_sliding_window is false; that only changes
// sequences longer than sliding_window (32768 or more in released Qwen2
// checkpoints), where this package keeps full causal attention.
package qwen2
