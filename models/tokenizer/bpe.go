package tokenizer

// bpe.go: the BPE model (tokenizers/src/models/bpe): a word starts as one
// symbol per character (unknown characters become byte-fallback tokens or
// the unknown token, fused if fuse_unk), then the pair with the lowest
// merge rank is merged repeatedly (leftmost first among equal ranks),
// exactly as Word::merge_all with its priority queue.

import (
	"fmt"
	"sync"
	"unicode/utf8"
)

type mergeInfo struct{ rank, newID int32 }

type bpe struct {
	vocabulary
	merges       map[uint64]mergeInfo
	unkToken     string
	unkID        int32
	hasUnk       bool
	prefix       string // continuing_subword_prefix
	suffix       string // end_of_word_suffix
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	byteIDs      [256]int32
	byteOK       [256]bool
	cache        wordCache
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func newBPE(vocab map[string]int32) (*bpe, error) {
	m := &bpe{vocabulary: newVocabulary(vocab)}
	m.merges = make(map[uint64]mergeInfo)
	for b := 0; b < 256; b++ {
		m.byteIDs[b], m.byteOK[b] = vocab[fmt.Sprintf("<0x%02X>", b)]
	}
	return m, nil
}

// setMerges builds the merge table; it needs prefix set first.
func (m *bpe) setMerges(merges [][2]string) error {
	for rank, mg := range merges {
		a, okA := m.ids[mg[0]]
		if !okA {
			return fmt.Errorf("merge %d: token %q not in vocabulary", rank, mg[0])
		}
		b, okB := m.ids[mg[1]]
		if !okB {
			return fmt.Errorf("merge %d: token %q not in vocabulary", rank, mg[1])
		}
		right := mg[1]
		if len(m.prefix) > 0 {
			if len(right) < len(m.prefix) {
				return fmt.Errorf("merge %d: token %q shorter than the continuing-subword prefix", rank, right)
			}
			right = right[len(m.prefix):]
		}
		n, okN := m.ids[mg[0]+right]
		if !okN {
			return fmt.Errorf("merge %d: merged token %q not in vocabulary", rank, mg[0]+right)
		}
		m.merges[pairKey(a, b)] = mergeInfo{int32(rank), n}
	}
	return nil
}

// symbol is one part of a word being merged.
type symbol struct {
	id         int32
	prev, next int32
	length     int32 // bytes of the original word covered
}

// mergeCand is a queued merge (min-heap on rank, then position).
type mergeCand struct {
	pos   int32
	rank  int32
	newID int32
}

type mergeHeap []mergeCand

func (h mergeHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}

func (h *mergeHeap) push(c mergeCand) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() mergeCand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if r < len(s) && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

func (m *bpe) tokenize(s string, dst []token) []token {
	if s == "" {
		return dst
	}
	if m.ignoreMerges {
		if id, ok := m.ids[s]; ok {
			return append(dst, token{id: id, value: m.token(id), start: 0, end: len(s)})
		}
	}
	if ts, ok := m.cache.get(s); ok {
		return append(dst, ts...)
	}
	mark := len(dst)
	dst = m.mergeWord(s, dst)
	if len(s) < 256 {
		m.cache.put(s, dst[mark:])
	}
	return dst
}

func (m *bpe) mergeWord(w string, dst []token) []token {
	var stack [48]symbol
	syms := stack[:0]
	if len(w) > len(stack) {
		syms = make([]symbol, 0, len(w))
	}
	add := func(id int32, n int) {
		k := int32(len(syms))
		syms = append(syms, symbol{id: id, prev: k - 1, next: k + 1, length: int32(n)})
	}
	unkOpen := false
	var unkID int32
	unkLen := 0
	var buf []byte
	for i := 0; i < len(w); {
		_, n := utf8.DecodeRuneInString(w[i:])
		isFirst, isLast := i == 0, i+n == len(w)
		var id int32
		var ok bool
		if (isFirst || m.prefix == "") && (!isLast || m.suffix == "") {
			id, ok = m.ids[w[i:i+n]]
		} else {
			buf = buf[:0]
			if !isFirst {
				buf = append(buf, m.prefix...)
			}
			buf = append(buf, w[i:i+n]...)
			if isLast {
				buf = append(buf, m.suffix...)
			}
			id, ok = m.ids[string(buf)]
		}
		if ok {
			if unkOpen {
				add(unkID, unkLen)
				unkOpen = false
			}
			add(id, n)
			i += n
			continue
		}
		if m.byteFallback {
			all := true
			for k := i; k < i+n; k++ {
				if !m.byteOK[w[k]] {
					all = false
					break
				}
			}
			if all {
				// As the reference, the fallback bytes do not flush a pending
				// unknown token.
				for k := i; k < i+n; k++ {
					add(m.byteIDs[w[k]], 1)
				}
				i += n
				continue
			}
		}
		if m.hasUnk {
			switch {
			case unkOpen && m.fuseUnk:
				unkLen += n
			case unkOpen:
				add(unkID, unkLen)
				unkID, unkLen = m.unkID, n
			default:
				unkOpen, unkID, unkLen = true, m.unkID, n
			}
		}
		i += n
	}
	if unkOpen {
		add(unkID, unkLen)
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	m.mergeAll(syms)
	off := 0
	for k := range syms {
		if syms[k].length == 0 {
			continue
		}
		e := off + int(syms[k].length)
		dst = append(dst, token{id: syms[k].id, value: m.token(syms[k].id), start: off, end: e})
		off = e
	}
	return dst
}

func (m *bpe) mergeAll(syms []symbol) {
	if len(syms) < 2 || len(m.merges) == 0 {
		return
	}
	var stack [48]mergeCand
	h := mergeHeap(stack[:0])
	for i := 0; i+1 < len(syms); i++ {
		if mi, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h.push(mergeCand{int32(i), mi.rank, mi.newID})
		}
	}
	for len(h) > 0 {
		top := h.pop()
		cur := &syms[top.pos]
		if cur.length == 0 || cur.next == -1 {
			continue
		}
		nextPos := cur.next
		right := syms[nextPos]
		mi, ok := m.merges[pairKey(cur.id, right.id)]
		if !ok || mi.newID != top.newID {
			continue // expired entry
		}
		cur.id = top.newID
		cur.length += right.length
		cur.next = right.next
		syms[nextPos].length = 0
		if right.next > -1 && int(right.next) < len(syms) {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if mi, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				h.push(mergeCand{cur.prev, mi.rank, mi.newID})
			}
		}
		if cur.next >= 0 && int(cur.next) < len(syms) {
			if mi, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				h.push(mergeCand{top.pos, mi.rank, mi.newID})
			}
		}
	}
}

// wordCache is a bounded, concurrency-safe cache of tokenized words (as
// the reference's BPE cache: it stops growing when full).
type wordCache struct {
	shards [16]struct {
		sync.RWMutex
		m map[string][]token
	}
}

const wordCacheShardCap = 1024

func cacheShard(s string) int {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return int(h & 15)
}

func (c *wordCache) get(s string) ([]token, bool) {
	sh := &c.shards[cacheShard(s)]
	sh.RLock()
	ts, ok := sh.m[s]
	sh.RUnlock()
	return ts, ok
}

func (c *wordCache) put(s string, ts []token) {
	sh := &c.shards[cacheShard(s)]
	sh.Lock()
	if sh.m == nil {
		sh.m = make(map[string][]token)
	}
	if len(sh.m) < wordCacheShardCap {
		sh.m[string([]byte(s))] = append([]token(nil), ts...)
	}
	sh.Unlock()
}
