package tokenizer

// precompiled.go: the Precompiled normalizer of SentencePiece-derived
// tokenizer.json files (T5, XLM-R, mBART...). precompiled_charsmap is
// SentencePiece's normalizer blob: a little-endian uint32 trie size, a
// Darts-clone double-array trie of that many bytes, then a blob of
// NUL-terminated replacement strings; a trie value is an offset into that
// blob. Hugging Face (tokenizers/src/normalizers/precompiled.rs with the
// spm_precompiled crate) applies it per extended grapheme cluster: a
// cluster shorter than 6 bytes is looked up whole and, if the SHORTEST
// key that prefixes it exists, the whole cluster is replaced; otherwise
// every character is looked up on its own. That quirk is reproduced here,
// alignments included.

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// precompiledNormalizer holds the parsed charsmap.
type precompiledNormalizer struct {
	array      []uint32
	normalized string
	// ascii caches the lookup of every single ASCII character.
	ascii [128]struct {
		repl string
		ok   bool
	}
}

func newPrecompiled(b64 string) (*precompiledNormalizer, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("precompiled_charsmap is not base64: %w", err)
	}
	return parsePrecompiled(raw)
}

func parsePrecompiled(raw []byte) (*precompiledNormalizer, error) {
	if len(raw) == 0 { // an empty charsmap normalizes nothing
		return &precompiledNormalizer{}, nil
	}
	if len(raw) < 4 {
		return nil, errors.New("precompiled_charsmap too short")
	}
	size := int(binary.LittleEndian.Uint32(raw))
	rest := raw[4:]
	if size%4 != 0 || size > len(rest) {
		return nil, fmt.Errorf("precompiled_charsmap: bad trie size %d for %d bytes", size, len(rest))
	}
	p := &precompiledNormalizer{array: make([]uint32, size/4)}
	for i := range p.array {
		p.array[i] = binary.LittleEndian.Uint32(rest[4*i:])
	}
	p.normalized = string(rest[size:])
	for c := 0; c < 128; c++ {
		p.ascii[c].repl, p.ascii[c].ok = p.transform(string(rune(c)))
	}
	return p, nil
}

// Darts-clone unit accessors.
func dartsHasLeaf(u uint32) bool { return (u>>8)&1 == 1 }
func dartsValue(u uint32) uint32 { return u & ((1 << 31) - 1) }
func dartsLabel(u uint32) uint32 { return u & ((1 << 31) | 0xFF) }
func dartsOffset(u uint32) uint32 {
	return (u >> 10) << ((u & (1 << 9)) >> 6)
}

// firstPrefix returns the value of the shortest key that is a prefix of key
// (the first result of common_prefix_search). The walk stops at a NUL byte.
func (p *precompiledNormalizer) firstPrefix(key string) (uint32, bool) {
	if len(p.array) == 0 {
		return 0, false
	}
	pos := uint32(0)
	unit := p.array[0]
	pos ^= dartsOffset(unit)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == 0 {
			break
		}
		pos ^= uint32(c)
		if int(pos) >= len(p.array) {
			return 0, false
		}
		unit = p.array[pos]
		if dartsLabel(unit) != uint32(c) {
			return 0, false
		}
		pos ^= dartsOffset(unit)
		if dartsHasLeaf(unit) {
			if int(pos) >= len(p.array) {
				return 0, false
			}
			return dartsValue(p.array[pos]), true
		}
	}
	return 0, false
}

// transform returns the replacement of the shortest charsmap key prefixing
// chunk.
func (p *precompiledNormalizer) transform(chunk string) (string, bool) {
	v, ok := p.firstPrefix(chunk)
	if !ok {
		return "", false
	}
	i := int(v)
	if i > len(p.normalized) {
		return "", false
	}
	j := i
	for j < len(p.normalized) && p.normalized[j] != 0 {
		j++
	}
	return p.normalized[i:j], true
}

// replaceChanges is precompiled.rs replace(): the new characters replace
// the old ones one for one; extra new ones are insertions; when fewer, the
// LAST change pushed so far (which may belong to an earlier character)
// absorbs the difference.
func replaceChanges(items []change, oldCount int, repl string) []change {
	newCount := 0
	for _, r := range repl {
		items = append(items, change{r, 0})
		newCount++
	}
	diff := newCount - oldCount
	switch {
	case diff > 0:
		for k := 0; k < diff; k++ {
			items[len(items)-1-k].c = 1
		}
	case diff < 0:
		if len(items) > 0 {
			items[len(items)-1].c += diff
		}
	}
	return items
}

func (p *precompiledNormalizer) normalize(n normStr) normStr {
	if len(p.array) == 0 || n.s == "" {
		return n
	}
	s := n.s
	// Most text has nothing to normalize: find the first cluster that
	// changes before building the change list.
	first := p.firstChange(s)
	if first < 0 {
		return n
	}
	items := make([]change, 0, len(s))
	for _, r := range s[:first] {
		items = append(items, change{r, 0})
	}
	modified := false
	for i := first; i < len(s); {
		c := s[i]
		// Fast path: an ASCII character followed by ASCII (or the end) is a
		// cluster of its own, except CR LF.
		if c < utf8.RuneSelf && (i+1 == len(s) || (s[i+1] < utf8.RuneSelf && !(c == '\r' && s[i+1] == '\n'))) {
			if a := p.ascii[c]; a.ok {
				modified = true
				items = replaceChanges(items, 1, a.repl)
			} else {
				items = append(items, change{rune(c), 0})
			}
			i++
			continue
		}
		g := graphemeLen(s[i:])
		cluster := s[i : i+g]
		i += g
		if len(cluster) < 6 {
			if repl, ok := p.transform(cluster); ok {
				modified = true
				items = replaceChanges(items, utf8.RuneCountInString(cluster), repl)
				continue
			}
		}
		for k := 0; k < len(cluster); {
			r, sz := utf8.DecodeRuneInString(cluster[k:])
			part := cluster[k : k+sz]
			k += sz
			if repl, ok := p.transform(part); ok {
				modified = true
				items = replaceChanges(items, 1, repl)
			} else {
				items = append(items, change{r, 0})
			}
		}
	}
	if !modified {
		return n
	}
	return applyChanges(n, items, 0)
}

// firstChange returns the byte offset of the first grapheme cluster the
// charsmap changes, or -1.
func (p *precompiledNormalizer) firstChange(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && (i+1 == len(s) || (s[i+1] < utf8.RuneSelf && !(c == '\r' && s[i+1] == '\n'))) {
			if p.ascii[c].ok {
				return i
			}
			i++
			continue
		}
		g := graphemeLen(s[i:])
		cluster := s[i : i+g]
		if len(cluster) < 6 {
			if _, ok := p.transform(cluster); ok {
				return i
			}
		}
		for k := 0; k < len(cluster); {
			_, sz := utf8.DecodeRuneInString(cluster[k:])
			if _, ok := p.transform(cluster[k : k+sz]); ok {
				return i
			}
			k += sz
		}
		i += g
	}
	return -1
}
