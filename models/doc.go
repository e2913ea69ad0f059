// Package models holds what every ragr architecture shares: Hugging Face
// config parsing and model-directory loading. Architectures live in
// sub-packages (models/bert, models/qwen2, models/colbert) and tokenizers in
// models/tokenizer.
package models
