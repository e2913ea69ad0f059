package tokenizer

// unigram.go: the SentencePiece Unigram model
// (tokenizers/src/models/unigram/model.rs, encode_optimized): Viterbi over
// the pieces found by a byte trie, scores in float64; the lattice is filled
// by increasing start byte and, per start, by increasing piece length, and
// a node is replaced only by a strictly better path (ties keep the path
// found first). A character with no single-character piece gets an unknown
// node scored min_score-10; consecutive unknowns are fused into one token
// whose text is the source text itself. With byte_fallback, an unknown
// token becomes <0xXX> byte tokens when all of them exist.

import (
	"fmt"
	"sort"
	"unicode/utf8"
)

// byteTrie is a read-only trie over byte strings. Nodes with many children
// get a dense 256-entry table; the others keep sorted label lists.
type byteTrie struct {
	// node k's children are labels[first[k]:first[k+1]] (sorted) with
	// child node indices in kids at the same positions.
	first  []int32
	labels []byte
	kids   []int32
	value  []int32 // id stored at the node, -1 if none
	dense  []int32 // per node: offset into table, or -1
	table  []int32 // dense child tables, 256 entries each (-1: none)
}

// denseMin is the number of children from which a node gets a dense table.
const denseMin = 8

func buildTrie(keys []string, ids []int32) *byteTrie {
	type tmpNode struct {
		kids map[byte]int32
		val  int32
	}
	nodes := []tmpNode{{val: -1}}
	for k, key := range keys {
		cur := int32(0)
		for i := 0; i < len(key); i++ {
			c := key[i]
			if nodes[cur].kids == nil {
				nodes[cur].kids = make(map[byte]int32, 2)
			}
			nx, ok := nodes[cur].kids[c]
			if !ok {
				nx = int32(len(nodes))
				nodes = append(nodes, tmpNode{val: -1})
				nodes[cur].kids[c] = nx
			}
			cur = nx
		}
		if nodes[cur].val < 0 { // first key wins
			nodes[cur].val = ids[k]
		}
	}
	t := &byteTrie{first: make([]int32, len(nodes)+1), value: make([]int32, len(nodes)), dense: make([]int32, len(nodes))}
	for k, n := range nodes {
		t.first[k] = int32(len(t.labels))
		t.value[k] = n.val
		t.dense[k] = -1
		ls := make([]int, 0, len(n.kids))
		for c := range n.kids {
			ls = append(ls, int(c))
		}
		sort.Ints(ls)
		for _, c := range ls {
			t.labels = append(t.labels, byte(c))
			t.kids = append(t.kids, n.kids[byte(c)])
		}
		if len(ls) >= denseMin || k == 0 {
			t.dense[k] = int32(len(t.table))
			for c := 0; c < 256; c++ {
				t.table = append(t.table, -1)
			}
			for _, c := range ls {
				t.table[int(t.dense[k])+c] = n.kids[byte(c)]
			}
		}
	}
	t.first[len(nodes)] = int32(len(t.labels))
	return t
}

func (t *byteTrie) child(node int32, c byte) int32 {
	if d := t.dense[node]; d >= 0 {
		return t.table[int(d)+int(c)]
	}
	lo, hi := int(t.first[node]), int(t.first[node+1])
	for k := lo; k < hi; k++ {
		switch l := t.labels[k]; {
		case l == c:
			return t.kids[k]
		case l > c:
			return -1
		}
	}
	return -1
}

// prefixes calls f(length, id) for every key that prefixes s, shortest
// first.
func (t *byteTrie) prefixes(s string, f func(n int, id int32)) {
	cur := int32(0)
	for i := 0; i < len(s); i++ {
		if cur = t.child(cur, s[i]); cur < 0 {
			return
		}
		if v := t.value[cur]; v >= 0 {
			f(i+1, v)
		}
	}
}

type unigram struct {
	vocabulary
	scores       []float64
	trie         *byteTrie
	unkID        int32
	hasUnk       bool
	minScore     float64
	byteFallback bool
	byteIDs      [256]int32
	byteOK       [256]bool
}

func newUnigram(pieces []string, scores []float64, unkID int, hasUnk, byteFallback bool) (*unigram, error) {
	ids := make(map[string]int32, len(pieces))
	tids := make([]int32, len(pieces))
	for i, p := range pieces {
		ids[p] = int32(i) // later duplicates win, as the reference's HashMap
		tids[i] = int32(i)
	}
	u := &unigram{vocabulary: newVocabulary(ids), scores: scores, byteFallback: byteFallback}
	// Keep the id->token table positional even with duplicate pieces.
	u.tokens = append([]string(nil), pieces...)
	u.present = make([]bool, len(pieces))
	for i := range u.present {
		u.present[i] = true
	}
	if hasUnk {
		if unkID < 0 || unkID >= len(pieces) {
			return nil, fmt.Errorf("unk_id %d out of range (vocabulary of %d)", unkID, len(pieces))
		}
		u.unkID, u.hasUnk = int32(unkID), true
	}
	u.minScore = 0
	if len(scores) > 0 {
		u.minScore = scores[0]
	}
	for _, s := range scores {
		if s < u.minScore {
			u.minScore = s
		}
	}
	// The trie returns the id the token->id map holds.
	for i, p := range pieces {
		tids[i] = ids[p]
	}
	u.trie = buildTrie(pieces, tids)
	for b := 0; b < 256; b++ {
		u.byteIDs[b], u.byteOK[b] = ids[fmt.Sprintf("<0x%02X>", b)]
	}
	return u, nil
}

type latticeNode struct {
	score float64
	start int32 // -1: not reached
	id    int32
}

const unigramUnkPenalty = 10.0

func (u *unigram) tokenize(s string, dst []token) []token {
	if s == "" {
		return dst
	}
	var stack [48]latticeNode
	var nodes []latticeNode
	if len(s) < len(stack) {
		nodes = stack[:len(s)+1]
	} else {
		nodes = make([]latticeNode, len(s)+1)
	}
	for i := range nodes {
		nodes[i] = latticeNode{start: -1}
	}
	nodes[0].start = 0
	unkScore := u.minScore - unigramUnkPenalty
	tr := u.trie
	for start := 0; start < len(s); {
		base := nodes[start].score
		mblen := 1
		if s[start] >= utf8.RuneSelf {
			_, mblen = utf8.DecodeRuneInString(s[start:])
		}
		single := false
		cur := int32(0)
		for i := start; i < len(s); i++ {
			if cur = tr.child(cur, s[i]); cur < 0 {
				break
			}
			id := tr.value[cur]
			if id < 0 {
				continue
			}
			n := i + 1 - start
			t := &nodes[start+n]
			cand := u.scores[id] + base
			if t.start < 0 || cand > t.score {
				t.score, t.start, t.id = cand, int32(start), id
			}
			if n == mblen {
				single = true
			}
		}
		if !single {
			t := &nodes[start+mblen]
			cand := unkScore + base
			if t.start < 0 || cand > t.score {
				t.score, t.start, t.id = cand, int32(start), u.unkID
				if !u.hasUnk {
					t.id = -1
				}
			}
		}
		start += mblen
	}
	// Backtrack, fusing consecutive unknown nodes.
	type part struct {
		a, b int
		id   int32 // -1: fused unknowns, looked up by text
	}
	var pstack [32]part
	parts := pstack[:0]
	unkEnd := -1
	for end := len(s); end > 0; {
		nd := nodes[end]
		st := int(nd.start)
		if st < 0 { // unreachable in a consistent lattice
			st = end - 1
		}
		isUnk := nd.id < 0 || (u.hasUnk && nd.id == u.unkID)
		if isUnk {
			if unkEnd < 0 {
				unkEnd = end
			}
		} else {
			if unkEnd >= 0 {
				parts = append(parts, part{end, unkEnd, -1})
				unkEnd = -1
			}
			parts = append(parts, part{st, end, nd.id})
		}
		end = st
	}
	if unkEnd >= 0 {
		parts = append(parts, part{0, unkEnd, -1})
	}
	for k := len(parts) - 1; k >= 0; k-- {
		p := parts[k]
		str := s[p.a:p.b]
		if p.id >= 0 {
			dst = append(dst, token{id: p.id, value: str, start: p.a, end: p.b})
			continue
		}
		if id, ok := u.ids[str]; ok {
			dst = append(dst, token{id: id, value: str, start: p.a, end: p.b})
			continue
		}
		if u.byteFallback {
			all := true
			for i := 0; i < len(str); i++ {
				if !u.byteOK[str[i]] {
					all = false
					break
				}
			}
			if all {
				for i := 0; i < len(str); i++ {
					b := str[i]
					dst = append(dst, token{id: u.byteIDs[b], value: u.tokens[u.byteIDs[b]], start: p.a, end: p.b})
				}
				continue
			}
		}
		if u.hasUnk {
			dst = append(dst, token{id: u.unkID, value: str, start: p.a, end: p.b})
		}
	}
	return dst
}
