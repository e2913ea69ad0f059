package tokenizer

// postprocess.go: post-processors (tokenizers/src/processors):
// TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel and
// Sequence. They receive the content encodings of one text (or two for a
// pair; type ids 0 and 1, sequence ids 0 and 1) and insert special tokens.

import (
	"unicode"
)

type postProcessor interface {
	// added is the number of special tokens added to a single text or pair.
	added(pair bool) int
	processEncodings(encs []Encoding, addSpecial bool) []Encoding
}

func mergeEncodings(encs []Encoding) Encoding {
	if len(encs) == 1 {
		return encs[0]
	}
	n := 0
	for k := range encs {
		n += encs[k].Len()
	}
	out := Encoding{
		IDs: make([]int32, 0, n), TypeIDs: make([]int32, 0, n), Tokens: make([]string, 0, n),
		Offsets: make([][2]int, 0, n), SpecialTokensMask: make([]int32, 0, n),
		AttentionMask: make([]int32, 0, n), SequenceIDs: make([]int32, 0, n),
	}
	for k := range encs {
		out.appendAll(&encs[k])
	}
	return out
}

func setTypeIDs(e *Encoding, t int32) {
	ids := make([]int32, e.Len())
	for i := range ids {
		ids[i] = t
	}
	e.TypeIDs = ids
}

func specialEncoding(ids []int32, toks []string, typeID int32) Encoding {
	var e Encoding
	for i, id := range ids {
		tok := ""
		if i < len(toks) {
			tok = toks[i]
		}
		e.appendToken(id, typeID, tok, [2]int{0, 0}, 1, 1, -1)
	}
	return e
}

// templatePiece is $A/$B or a special token of a template.
type templatePiece struct {
	isSeq   bool
	seqB    bool   // for sequences: $B
	special string // for special tokens: key into specials
	typeID  int32
}

type templateSpecial struct {
	ids    []int32
	tokens []string
}

type templateProcessor struct {
	single, pair []templatePiece
	specials     map[string]templateSpecial
}

func (t *templateProcessor) added(pair bool) int {
	tpl := t.single
	if pair {
		tpl = t.pair
	}
	n := 0
	for _, p := range tpl {
		if !p.isSeq {
			n += len(t.specials[p.special].ids)
		}
	}
	return n
}

func (t *templateProcessor) processEncodings(encs []Encoding, addSpecial bool) []Encoding {
	tpl := t.single
	if len(encs) > 1 {
		tpl = t.pair
	}
	var parts []Encoding
	for _, p := range tpl {
		if p.isSeq {
			i := 0
			if p.seqB {
				i = 1
			}
			if i >= len(encs) {
				continue
			}
			e := encs[i]
			setTypeIDs(&e, p.typeID)
			parts = append(parts, e)
			continue
		}
		if addSpecial {
			sp := t.specials[p.special]
			parts = append(parts, specialEncoding(sp.ids, sp.tokens, p.typeID))
		}
	}
	return []Encoding{mergeEncodings(parts)}
}

// bertProcessor is BertProcessing: [CLS] A [SEP] (B [SEP]).
type bertProcessor struct {
	cls, sep     string
	clsID, sepID int32
}

func (b *bertProcessor) added(pair bool) int {
	if pair {
		return 3
	}
	return 2
}

func (b *bertProcessor) processEncodings(encs []Encoding, addSpecial bool) []Encoding {
	if !addSpecial {
		return encs
	}
	var out Encoding
	cls := specialEncoding([]int32{b.clsID}, []string{b.cls}, 0)
	out.appendAll(&cls)
	out.appendAll(&encs[0])
	sep := specialEncoding([]int32{b.sepID}, []string{b.sep}, 0)
	out.appendAll(&sep)
	if len(encs) > 1 {
		out.appendAll(&encs[1])
		sep1 := specialEncoding([]int32{b.sepID}, []string{b.sep}, 1)
		out.appendAll(&sep1)
	}
	return []Encoding{out}
}

// robertaProcessor is RobertaProcessing: <s> A </s> (</s> B </s>), all
// type ids 0.
type robertaProcessor struct {
	cls, sep       string
	clsID, sepID   int32
	trimOffsets    bool
	addPrefixSpace bool
}

func (r *robertaProcessor) added(pair bool) int {
	if pair {
		return 4
	}
	return 2
}

func (r *robertaProcessor) processEncodings(encs []Encoding, addSpecial bool) []Encoding {
	for k := range encs {
		if r.trimOffsets {
			trimOffsets(&encs[k], r.addPrefixSpace)
		}
		setTypeIDs(&encs[k], 0)
	}
	if !addSpecial {
		return encs
	}
	var out Encoding
	cls := specialEncoding([]int32{r.clsID}, []string{r.cls}, 0)
	sep := specialEncoding([]int32{r.sepID}, []string{r.sep}, 0)
	out.appendAll(&cls)
	out.appendAll(&encs[0])
	out.appendAll(&sep)
	if len(encs) > 1 {
		out.appendAll(&sep)
		out.appendAll(&encs[1])
		out.appendAll(&sep)
	}
	return []Encoding{out}
}

// byteLevelProcessor is the ByteLevel post-processor: optional offset
// trimming, no special tokens.
type byteLevelProcessor struct {
	trimOffsets    bool
	addPrefixSpace bool
}

func (byteLevelProcessor) added(bool) int { return 0 }

func (b byteLevelProcessor) processEncodings(encs []Encoding, _ bool) []Encoding {
	if b.trimOffsets {
		for k := range encs {
			trimOffsets(&encs[k], b.addPrefixSpace)
		}
	}
	return encs
}

// trimOffsets is byte_level.rs process_offsets: offsets exclude the leading
// and trailing spaces ('Ġ' or whitespace) of each token.
func trimOffsets(e *Encoding, addPrefixSpace bool) {
	sp := bytesChar[' ']
	isSp := func(r rune) bool { return r == sp || unicode.IsSpace(r) }
	for i, tok := range e.Tokens {
		if e.SequenceIDs[i] < 0 {
			continue
		}
		rs := []rune(tok)
		lead := 0
		for lead < len(rs) && isSp(rs[lead]) {
			lead++
		}
		trail := 0
		for trail < len(rs) && isSp(rs[len(rs)-1-trail]) {
			trail++
		}
		o := e.Offsets[i]
		if lead > 0 {
			isFirst := i == 0 || o[0] == 0
			if isFirst && addPrefixSpace && lead == 1 {
				lead = 0
			}
			o[0] = min(o[0]+lead, o[1])
		}
		if trail > 0 && o[1] >= trail {
			o[1] = max(o[1]-trail, o[0])
		}
		e.Offsets[i] = o
	}
}

// sequenceProcessor applies processors in order.
type sequenceProcessor []postProcessor

func (s sequenceProcessor) added(pair bool) int {
	n := 0
	for _, p := range s {
		n += p.added(pair)
	}
	return n
}

func (s sequenceProcessor) processEncodings(encs []Encoding, addSpecial bool) []Encoding {
	for _, p := range s {
		encs = p.processEncodings(encs, addSpecial)
	}
	return encs
}
