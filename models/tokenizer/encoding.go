package tokenizer

// encoding.go: the Encoding result, encoding options, truncation
// (tokenizers/src/utils/truncation.rs) and padding
// (tokenizers/src/utils/padding.rs).

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Encoding is the tokenization of one text or one pair of texts. All slices
// have the same length.
type Encoding struct {
	// IDs are the token ids.
	IDs []int32
	// TypeIDs are the segment (token type) ids.
	TypeIDs []int32
	// Tokens are the token strings: vocabulary entries ("##ing", "Ġthe",
	// "▁the"), added tokens as matched in the text, and for SentencePiece
	// Unigram unknowns the unknown source text itself.
	Tokens []string
	// Offsets are [start, end) BYTE offsets of each token in the text it
	// came from (the first or the second text of a pair, see SequenceIDs),
	// so text[start:end] is the token's source. Tokens added by the
	// post-processor or by padding have [0, 0]. Hugging Face reports
	// character (code point) offsets: see RuneOffsets.
	Offsets [][2]int
	// SpecialTokensMask is 1 for tokens added by the post-processor
	// ([CLS], [SEP], </s>) and for padding, 0 otherwise (an added token
	// written in the text counts as content).
	SpecialTokensMask []int32
	// AttentionMask is 1 for real tokens and 0 for padding.
	AttentionMask []int32
	// SequenceIDs is 0 for tokens of the first text, 1 for the second,
	// -1 for post-processor tokens and padding.
	SequenceIDs []int32
}

// Len returns the number of tokens.
func (e Encoding) Len() int { return len(e.IDs) }

func (e *Encoding) appendToken(id, typeID int32, tok string, off [2]int, special, attn, seq int32) {
	e.IDs = append(e.IDs, id)
	e.TypeIDs = append(e.TypeIDs, typeID)
	e.Tokens = append(e.Tokens, tok)
	e.Offsets = append(e.Offsets, off)
	e.SpecialTokensMask = append(e.SpecialTokensMask, special)
	e.AttentionMask = append(e.AttentionMask, attn)
	e.SequenceIDs = append(e.SequenceIDs, seq)
}

func (e *Encoding) appendAll(o *Encoding) {
	e.IDs = append(e.IDs, o.IDs...)
	e.TypeIDs = append(e.TypeIDs, o.TypeIDs...)
	e.Tokens = append(e.Tokens, o.Tokens...)
	e.Offsets = append(e.Offsets, o.Offsets...)
	e.SpecialTokensMask = append(e.SpecialTokensMask, o.SpecialTokensMask...)
	e.AttentionMask = append(e.AttentionMask, o.AttentionMask...)
	e.SequenceIDs = append(e.SequenceIDs, o.SequenceIDs...)
}

// keep truncates e to n tokens, from the end or from the start.
func (e *Encoding) keep(n int, left bool) {
	if n >= len(e.IDs) {
		return
	}
	if n < 0 {
		n = 0
	}
	a, b := 0, n
	if left {
		a, b = len(e.IDs)-n, len(e.IDs)
	}
	e.IDs = e.IDs[a:b]
	e.TypeIDs = e.TypeIDs[a:b]
	e.Tokens = e.Tokens[a:b]
	e.Offsets = e.Offsets[a:b]
	e.SpecialTokensMask = e.SpecialTokensMask[a:b]
	e.AttentionMask = e.AttentionMask[a:b]
	e.SequenceIDs = e.SequenceIDs[a:b]
}

// pad pads e to n tokens.
func (e *Encoding) pad(n int, id, typeID int32, tok string, left bool) {
	k := n - len(e.IDs)
	if k <= 0 {
		return
	}
	var p Encoding
	for i := 0; i < k; i++ {
		p.appendToken(id, typeID, tok, [2]int{0, 0}, 1, 0, -1)
	}
	if left {
		p.appendAll(e)
		*e = p
		return
	}
	e.appendAll(&p)
}

// RuneOffsets converts Offsets to character (Unicode code point) offsets,
// as Hugging Face reports them. text and pair are the strings given to
// Encode/EncodePair (pair is ignored for single texts).
func (e Encoding) RuneOffsets(text, pair string) [][2]int {
	out := make([][2]int, len(e.Offsets))
	conv := func(s string, b int) int {
		if b <= 0 {
			return 0
		}
		if b > len(s) {
			b = len(s)
		}
		return utf8.RuneCountInString(s[:b])
	}
	for i, o := range e.Offsets {
		s := text
		if i < len(e.SequenceIDs) && e.SequenceIDs[i] == 1 {
			s = pair
		}
		out[i] = [2]int{conv(s, o[0]), conv(s, o[1])}
	}
	return out
}

// Truncation selects how a text or pair longer than Options.MaxLength is
// shortened.
type Truncation int

const (
	// TruncateNone disables truncation.
	TruncateNone Truncation = iota
	// LongestFirst removes tokens from the longer sequence first.
	LongestFirst
	// OnlyFirst removes tokens from the first sequence only.
	OnlyFirst
	// OnlySecond removes tokens from the second sequence only.
	OnlySecond
)

// String returns the Hugging Face name of the strategy.
func (t Truncation) String() string {
	switch t {
	case TruncateNone:
		return "none"
	case LongestFirst:
		return "longest_first"
	case OnlyFirst:
		return "only_first"
	case OnlySecond:
		return "only_second"
	}
	return fmt.Sprintf("Truncation(%d)", int(t))
}

// Padding selects how encodings of a batch are padded.
type Padding int

const (
	// PadNone disables padding.
	PadNone Padding = iota
	// PadLongest pads to the longest encoding of the batch.
	PadLongest
	// PadMaxLength pads to Options.MaxLength.
	PadMaxLength
)

// Side is the side truncation removes tokens from, or padding adds them to.
type Side int

const (
	// Right is the end of the sequence (the default).
	Right Side = iota
	// Left is the start of the sequence.
	Left
)

// Options control special tokens, truncation and padding of EncodeBatch,
// EncodePairBatch and EncodeWith. The zero value adds special tokens and
// neither truncates nor pads. The truncation and padding stored in a
// tokenizer.json are not applied unless asked for (see FileOptions).
type Options struct {
	// NoSpecialTokens disables the post-processor's special tokens.
	NoSpecialTokens bool
	// MaxLength is the maximum length in tokens (special tokens included)
	// for truncation and the target length of PadMaxLength.
	MaxLength int
	// Truncation is the truncation strategy (needs MaxLength > 0).
	Truncation Truncation
	// TruncationSide is the side tokens are removed from.
	TruncationSide Side
	// Padding is the padding strategy.
	Padding Padding
	// PadSide is the side padding is added to.
	PadSide Side
	// PadToMultipleOf rounds the padded length up to a multiple (0: off).
	PadToMultipleOf int
	// PadToken overrides the tokenizer's padding token ("" keeps it).
	PadToken string
	// PadTypeID is the type id of padding tokens.
	PadTypeID int32
	// FullLengthTruncation makes truncation see the full length of every
	// sequence, as tokenizers <= 0.22 did. By default it follows
	// tokenizers 0.23, which stops tokenizing a sequence once MaxLength
	// tokens exist (see the package documentation); the two differ only
	// for longest_first on pairs whose sequences both exceed MaxLength.
	FullLengthTruncation bool
}

// ErrSequenceTooShort is returned when only_first/only_second truncation
// cannot reach MaxLength by shortening the chosen sequence alone.
var ErrSequenceTooShort = errors.New("tokenizer: truncation error: sequence to truncate too short to respect the provided max_length")

// ErrSecondSequenceMissing is returned for OnlySecond truncation of a
// single text.
var ErrSecondSequenceMissing = errors.New("tokenizer: truncation error: second sequence not provided")

// truncatePair is truncate_encodings on content-only encodings with the
// budget maxLen (MaxLength minus the special tokens).
func truncatePair(a, b *Encoding, maxLen int, strategy Truncation, left bool) error {
	if maxLen <= 0 {
		a.keep(0, left)
		if b != nil {
			b.keep(0, left)
		}
		return nil
	}
	total := a.Len()
	if b != nil {
		total += b.Len()
	}
	if total <= maxLen {
		return nil
	}
	toRemove := total - maxLen
	switch strategy {
	case LongestFirst:
		if b == nil {
			a.keep(total-toRemove, left)
			return nil
		}
		n1, n2 := a.Len(), b.Len()
		swap := false
		if n1 > n2 {
			swap = true
			n1, n2 = n2, n1
		}
		if n1 > maxLen {
			n2 = n1
		} else {
			n2 = max(n1, maxLen-n1)
		}
		if n1+n2 > maxLen {
			n1 = maxLen / 2
			n2 = n1 + maxLen%2
		}
		if swap {
			n1, n2 = n2, n1
		}
		a.keep(n1, left)
		b.keep(n2, left)
	case OnlyFirst, OnlySecond:
		target := a
		if strategy == OnlySecond {
			if b == nil {
				return ErrSecondSequenceMissing
			}
			target = b
		}
		if target.Len() > toRemove {
			target.keep(target.Len()-toRemove, left)
		} else {
			return ErrSequenceTooShort
		}
	}
	return nil
}
