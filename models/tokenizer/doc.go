// Package tokenizer loads and runs the tokenizers of the retrieval models
// ragr trains and serves, reproducing Hugging Face's `tokenizers` library
// (version 0.23) token for token, offsets included.
//
// A tokenizer is read from a tokenizer.json (optionally gzip-compressed)
// or, for BERT models without one, from vocab.txt plus
// tokenizer_config.json:
//
//	tok, err := tokenizer.Load("path/to/model")   // or FromFile / FromJSON
//	enc := tok.Encode("what is go?", true)       // [CLS] ... [SEP]
//	pair := tok.EncodePair(query, passage, true) // type ids 0 / 1
//	batch, err := tok.EncodePairBatch(queries, passages, tokenizer.Options{
//		MaxLength: 512, Truncation: tokenizer.LongestFirst, Padding: tokenizer.PadLongest,
//	})
//	text := tok.Decode(enc.IDs, true)
//
// Supported components:
//   - models: WordPiece, BPE (byte-level, merges as "a b" strings or
//     [a, b] pairs, byte_fallback, fuse_unk, ignore_merges), Unigram
//     (Viterbi, byte_fallback) and WordLevel;
//   - normalizers: BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase,
//     StripAccents, Strip, Replace, Prepend, Nmt, Precompiled (the
//     SentencePiece charsmap, applied per grapheme cluster as Hugging Face
//     does), ByteLevel, Sequence;
//   - pre-tokenizers: BertPreTokenizer, Whitespace, WhitespaceSplit,
//     Metaspace, ByteLevel, Split, Punctuation, Digits, CharDelimiterSplit,
//     Sequence. The GPT-2, Qwen2 and Llama-3 split patterns use lookahead,
//     which Go's regexp lacks, so they run on hand-written scanners with
//     the same semantics; other patterns are compiled with Go's regexp;
//   - post-processors: TemplateProcessing, BertProcessing,
//     RobertaProcessing, ByteLevel, Sequence;
//   - decoders: WordPiece, ByteLevel, Metaspace, BPEDecoder, ByteFallback,
//     Fuse, Strip, Replace, CTC, Sequence;
//   - added tokens (single_word, lstrip, rstrip, normalized), matched in
//     the raw text before normalization (or in the normalized text for
//     normalized ones), leftmost-longest.
//
// Offsets are byte offsets into the text each token came from
// (Encoding.Offsets); Encoding.RuneOffsets gives the character offsets
// Hugging Face reports.
//
// Truncation follows tokenizers 0.23, including its "early exit": with
// right-side truncation every sequence is tokenized only up to the
// pre-token at which MaxLength tokens exist, and longest_first works on
// those capped lengths. For pairs whose two sequences are both longer than
// MaxLength and an odd budget this can give the other sequence the odd
// token compared with tokenizers <= 0.22; Options.FullLengthTruncation
// selects the older behaviour.
//
// The truncation and padding stored in a tokenizer.json are not applied
// implicitly (FileOptions returns them). Dropout (BPE) is ignored:
// encoding is deterministic.
//
// The golden tests (golden_test.go) compare ids, tokens, type ids, masks
// and offsets with outputs of Hugging Face tokenizers 0.23.2 and of the
// slow transformers tokenizers; the root of the golden files is
// $RAGR_GOLDEN or the repository's testdata/golden. Benchmarks:
//
//	go test ./models/tokenizer -run '^$' -bench Encode
package tokenizer
