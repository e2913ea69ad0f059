package torchbin

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The pickle values the machine builds. Python ints become int64, floats
// float64, str string, bool bool, None nil.
type (
	// pyTuple is an immutable tuple.
	pyTuple []any
	// pyList is a mutable list.
	pyList struct{ items []any }
	// pyDict is a dict or OrderedDict, keeping insertion order.
	pyDict struct {
		keys  []any
		vals  []any
		index map[any]int
	}
	// pyGlobal is a class or function named by GLOBAL / STACK_GLOBAL; only
	// the allowed ones are ever created.
	pyGlobal struct{ module, name string }
	// storageRef is a persistent id: one storage entry of the archive.
	storageRef struct {
		kind  *storageKind
		key   string
		numel int64
	}
	// tensorRef is a tensor rebuilt by _rebuild_tensor_v2: a strided view
	// of a storage.
	tensorRef struct {
		storage *storageRef
		offset  int64
		size    []int64
		stride  []int64
	}
)

func newDict() *pyDict { return &pyDict{index: map[any]int{}} }

// set stores d[k] = v; keys must be hashable scalars.
func (d *pyDict) set(k, v any) error {
	switch k.(type) {
	case string, int64, float64, bool, nil:
	default:
		return fmt.Errorf("dict key of type %s is not supported", typeName(k))
	}
	if i, ok := d.index[k]; ok {
		d.vals[i] = v
		return nil
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

// storageKind is one of the legacy storage classes torch.save names.
type storageKind struct {
	name string
	size int // bytes per element
}

// storageKinds are the storage classes the machine accepts.
var storageKinds = map[string]*storageKind{
	"FloatStorage":    {"FloatStorage", 4},
	"HalfStorage":     {"HalfStorage", 2},
	"BFloat16Storage": {"BFloat16Storage", 2},
	"DoubleStorage":   {"DoubleStorage", 8},
	"LongStorage":     {"LongStorage", 8},
	"IntStorage":      {"IntStorage", 4},
}

// allowedGlobals are the callables the machine accepts besides the storage
// classes.
var allowedGlobals = map[pyGlobal]bool{
	{"collections", "OrderedDict"}:                    true,
	{"torch._utils", "_rebuild_tensor_v2"}:            true,
	{"torch._utils", "_rebuild_parameter"}:            true,
	{"torch._utils", "_rebuild_parameter_with_state"}: true,
}

// Pickle opcodes (names as in CPython's pickletools).
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opNone           = 'N'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'
	opProto          = 0x80
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opShortBinUnicod = 0x8c
	opBinUnicode8    = 0x8d
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
)

// opNames names opcodes for error messages.
var opNames = map[byte]string{
	opMark: "MARK", opStop: "STOP", opPop: "POP", opPopMark: "POP_MARK", opDup: "DUP",
	opBinInt: "BININT", opBinInt1: "BININT1", opBinInt2: "BININT2", opNone: "NONE",
	opBinPersID: "BINPERSID", opReduce: "REDUCE", opBinUnicode: "BINUNICODE",
	opAppend: "APPEND", opBuild: "BUILD", opGlobal: "GLOBAL", opDict: "DICT",
	opEmptyDict: "EMPTY_DICT", opAppends: "APPENDS", opBinGet: "BINGET",
	opLongBinGet: "LONG_BINGET", opList: "LIST", opEmptyList: "EMPTY_LIST",
	opBinPut: "BINPUT", opLongBinPut: "LONG_BINPUT", opSetItem: "SETITEM",
	opTuple: "TUPLE", opEmptyTuple: "EMPTY_TUPLE", opSetItems: "SETITEMS",
	opBinFloat: "BINFLOAT", opProto: "PROTO", opTuple1: "TUPLE1", opTuple2: "TUPLE2",
	opTuple3: "TUPLE3", opNewTrue: "NEWTRUE", opNewFalse: "NEWFALSE", opLong1: "LONG1",
	opShortBinUnicod: "SHORT_BINUNICODE", opBinUnicode8: "BINUNICODE8",
	opStackGlobal: "STACK_GLOBAL", opMemoize: "MEMOIZE", opFrame: "FRAME",
	'I': "INT", 'L': "LONG", 'F': "FLOAT", 'S': "STRING", 'V': "UNICODE",
	'P': "PERSID", 'g': "GET", 'p': "PUT", 'i': "INST", 'o': "OBJ",
	'T': "BINSTRING", 'U': "SHORT_BINSTRING", 'B': "BINBYTES", 'C': "SHORT_BINBYTES",
	0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x8b: "LONG4",
	0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
	0x92: "NEWOBJ_EX", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
}

// machine executes a pickle.
type machine struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint64]any
	// storages deduplicates persistent ids by key.
	storages map[string]*storageRef
}

// unpickle runs the pickle in data and returns the object STOP leaves.
// Errors say what was wrong and at which byte offset; the caller adds the
// file name.
func unpickle(data []byte) (any, error) {
	m := &machine{data: data, memo: map[uint64]any{}, storages: map[string]*storageRef{}}
	for {
		if m.pos >= len(m.data) {
			return nil, fmt.Errorf("pickle ends at byte %d without STOP", m.pos)
		}
		at := m.pos
		op := m.data[m.pos]
		m.pos++
		done, err := m.step(op)
		if err != nil {
			return nil, fmt.Errorf("pickle opcode %s at byte %d: %w", opString(op), at, err)
		}
		if done {
			if len(m.stack) != 1 || len(m.marks) != 0 {
				return nil, fmt.Errorf("pickle STOP at byte %d leaves %d values and %d marks, want 1 value", at, len(m.stack), len(m.marks))
			}
			return m.stack[0], nil
		}
	}
}

// opString names an opcode for messages.
func opString(op byte) string {
	if n, ok := opNames[op]; ok {
		return fmt.Sprintf("0x%02x (%s)", op, n)
	}
	if op >= 0x20 && op < 0x7f {
		return fmt.Sprintf("0x%02x (%q)", op, rune(op))
	}
	return fmt.Sprintf("0x%02x", op)
}

func (m *machine) read(n int) ([]byte, error) {
	if n < 0 || n > len(m.data)-m.pos {
		return nil, fmt.Errorf("needs %d bytes, %d left", n, len(m.data)-m.pos)
	}
	b := m.data[m.pos : m.pos+n]
	m.pos += n
	return b, nil
}

// readLine reads up to and excluding a newline (GLOBAL's arguments).
func (m *machine) readLine() (string, error) {
	for i := m.pos; i < len(m.data); i++ {
		if m.data[i] == '\n' {
			s := string(m.data[m.pos:i])
			m.pos = i + 1
			return s, nil
		}
	}
	return "", fmt.Errorf("unterminated line")
}

func (m *machine) push(v any) { m.stack = append(m.stack, v) }

// pop removes the top value, which must not be a MARK or below the
// innermost MARK.
func (m *machine) pop() (any, error) {
	floor := 0
	if len(m.marks) > 0 {
		floor = m.marks[len(m.marks)-1]
	}
	if len(m.stack) <= floor {
		return nil, fmt.Errorf("stack underflow")
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

// top returns the top value without removing it.
func (m *machine) top() (any, error) {
	floor := 0
	if len(m.marks) > 0 {
		floor = m.marks[len(m.marks)-1]
	}
	if len(m.stack) <= floor {
		return nil, fmt.Errorf("stack underflow")
	}
	return m.stack[len(m.stack)-1], nil
}

// popMark removes and returns the values above the innermost MARK.
func (m *machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, fmt.Errorf("no MARK on the stack")
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := append([]any(nil), m.stack[k:]...)
	m.stack = m.stack[:k]
	return items, nil
}

func (m *machine) memoPut(idx uint64) error {
	v, err := m.top()
	if err != nil {
		return err
	}
	m.memo[idx] = v
	return nil
}

func (m *machine) memoGet(idx uint64) error {
	v, ok := m.memo[idx]
	if !ok {
		return fmt.Errorf("memo index %d not set", idx)
	}
	m.push(v)
	return nil
}

// step executes one opcode; it reports true at STOP.
func (m *machine) step(op byte) (bool, error) {
	switch op {
	case opProto:
		b, err := m.read(1)
		if err != nil {
			return false, err
		}
		if b[0] > 5 {
			return false, fmt.Errorf("protocol %d is not supported", b[0])
		}
	case opFrame:
		if _, err := m.read(8); err != nil {
			return false, err
		}
	case opStop:
		return true, nil
	case opMark:
		m.marks = append(m.marks, len(m.stack))
	case opPop:
		if len(m.marks) > 0 && m.marks[len(m.marks)-1] == len(m.stack) {
			// POP of a MARK pushed last: drop the mark.
			m.marks = m.marks[:len(m.marks)-1]
			return false, nil
		}
		_, err := m.pop()
		return false, err
	case opPopMark:
		_, err := m.popMark()
		return false, err
	case opDup:
		v, err := m.top()
		if err != nil {
			return false, err
		}
		m.push(v)
	case opNone:
		m.push(nil)
	case opNewTrue:
		m.push(true)
	case opNewFalse:
		m.push(false)
	case opBinInt:
		b, err := m.read(4)
		if err != nil {
			return false, err
		}
		m.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case opBinInt1:
		b, err := m.read(1)
		if err != nil {
			return false, err
		}
		m.push(int64(b[0]))
	case opBinInt2:
		b, err := m.read(2)
		if err != nil {
			return false, err
		}
		m.push(int64(binary.LittleEndian.Uint16(b)))
	case opLong1:
		b, err := m.read(1)
		if err != nil {
			return false, err
		}
		n := int(b[0])
		if n > 8 {
			return false, fmt.Errorf("integer of %d bytes does not fit in int64", n)
		}
		b, err = m.read(n)
		if err != nil {
			return false, err
		}
		var v uint64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if n > 0 && n < 8 && b[n-1]&0x80 != 0 { // sign-extend
			v |= ^uint64(0) << (8 * n)
		}
		m.push(int64(v))
	case opBinFloat:
		b, err := m.read(8)
		if err != nil {
			return false, err
		}
		m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opBinUnicode, opShortBinUnicod, opBinUnicode8:
		var n uint64
		switch op {
		case opShortBinUnicod:
			b, err := m.read(1)
			if err != nil {
				return false, err
			}
			n = uint64(b[0])
		case opBinUnicode:
			b, err := m.read(4)
			if err != nil {
				return false, err
			}
			n = uint64(binary.LittleEndian.Uint32(b))
		default:
			b, err := m.read(8)
			if err != nil {
				return false, err
			}
			n = binary.LittleEndian.Uint64(b)
		}
		if n > uint64(len(m.data)-m.pos) {
			return false, fmt.Errorf("string of %d bytes, %d left", n, len(m.data)-m.pos)
		}
		b, _ := m.read(int(n))
		m.push(string(b))
	case opEmptyDict:
		m.push(newDict())
	case opEmptyList:
		m.push(&pyList{})
	case opEmptyTuple:
		m.push(pyTuple{})
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		t := make(pyTuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := m.pop()
			if err != nil {
				return false, err
			}
			t[i] = v
		}
		m.push(t)
	case opTuple:
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		m.push(pyTuple(items))
	case opList:
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		m.push(&pyList{items: items})
	case opDict:
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		d := newDict()
		if err := setItems(d, items); err != nil {
			return false, err
		}
		m.push(d)
	case opBinPut:
		b, err := m.read(1)
		if err != nil {
			return false, err
		}
		return false, m.memoPut(uint64(b[0]))
	case opLongBinPut:
		b, err := m.read(4)
		if err != nil {
			return false, err
		}
		return false, m.memoPut(uint64(binary.LittleEndian.Uint32(b)))
	case opMemoize:
		return false, m.memoPut(uint64(len(m.memo)))
	case opBinGet:
		b, err := m.read(1)
		if err != nil {
			return false, err
		}
		return false, m.memoGet(uint64(b[0]))
	case opLongBinGet:
		b, err := m.read(4)
		if err != nil {
			return false, err
		}
		return false, m.memoGet(uint64(binary.LittleEndian.Uint32(b)))
	case opSetItem:
		v, err := m.pop()
		if err != nil {
			return false, err
		}
		k, err := m.pop()
		if err != nil {
			return false, err
		}
		d, err := m.topDict()
		if err != nil {
			return false, err
		}
		return false, d.set(k, v)
	case opSetItems:
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		d, err := m.topDict()
		if err != nil {
			return false, err
		}
		return false, setItems(d, items)
	case opAppend:
		v, err := m.pop()
		if err != nil {
			return false, err
		}
		l, err := m.topList()
		if err != nil {
			return false, err
		}
		l.items = append(l.items, v)
	case opAppends:
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		l, err := m.topList()
		if err != nil {
			return false, err
		}
		l.items = append(l.items, items...)
	case opGlobal:
		mod, err := m.readLine()
		if err != nil {
			return false, err
		}
		name, err := m.readLine()
		if err != nil {
			return false, err
		}
		g, err := global(mod, name)
		if err != nil {
			return false, err
		}
		m.push(g)
	case opStackGlobal:
		nv, err := m.pop()
		if err != nil {
			return false, err
		}
		mv, err := m.pop()
		if err != nil {
			return false, err
		}
		mod, ok1 := mv.(string)
		name, ok2 := nv.(string)
		if !ok1 || !ok2 {
			return false, fmt.Errorf("STACK_GLOBAL needs two strings, got %s and %s", typeName(mv), typeName(nv))
		}
		g, err := global(mod, name)
		if err != nil {
			return false, err
		}
		m.push(g)
	case opBinPersID:
		pid, err := m.pop()
		if err != nil {
			return false, err
		}
		s, err := m.persistentLoad(pid)
		if err != nil {
			return false, err
		}
		m.push(s)
	case opReduce:
		args, err := m.pop()
		if err != nil {
			return false, err
		}
		fn, err := m.pop()
		if err != nil {
			return false, err
		}
		v, err := reduce(fn, args)
		if err != nil {
			return false, err
		}
		m.push(v)
	case opBuild:
		state, err := m.pop()
		if err != nil {
			return false, err
		}
		obj, err := m.top()
		if err != nil {
			return false, err
		}
		// torch.save's state dicts carry a _metadata attribute, set by
		// BUILD on the OrderedDict; attributes are not needed, so ignored.
		if _, ok := obj.(*pyDict); !ok {
			return false, fmt.Errorf("BUILD on a %s is not supported", typeName(obj))
		}
		_ = state
	default:
		return false, fmt.Errorf("not supported by this restricted unpickler")
	}
	return false, nil
}

func (m *machine) topDict() (*pyDict, error) {
	v, err := m.top()
	if err != nil {
		return nil, err
	}
	d, ok := v.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("setting items on a %s", typeName(v))
	}
	return d, nil
}

func (m *machine) topList() (*pyList, error) {
	v, err := m.top()
	if err != nil {
		return nil, err
	}
	l, ok := v.(*pyList)
	if !ok {
		return nil, fmt.Errorf("appending to a %s", typeName(v))
	}
	return l, nil
}

func setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number of values (%d) for dict items", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// global resolves GLOBAL module.name against the allow-list.
func global(mod, name string) (any, error) {
	if mod == "torch" {
		if k, ok := storageKinds[name]; ok {
			return k, nil
		}
	}
	g := pyGlobal{mod, name}
	if allowedGlobals[g] {
		return &g, nil
	}
	return nil, fmt.Errorf("global %s.%s is not allowed (only OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch storage classes are)", mod, name)
}

// persistentLoad resolves a persistent id ('storage', class, key, location,
// numel) to a storage reference.
func (m *machine) persistentLoad(pid any) (*storageRef, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) != 5 {
		return nil, fmt.Errorf("persistent id %s is not a 5-tuple ('storage', class, key, location, numel)", typeName(pid))
	}
	if s, ok := t[0].(string); !ok || s != "storage" {
		return nil, fmt.Errorf("persistent id of kind %v is not supported", t[0])
	}
	kind, ok := t[1].(*storageKind)
	if !ok {
		return nil, fmt.Errorf("persistent id names %s, not a storage class", typeName(t[1]))
	}
	key, ok1 := t[2].(string)
	_, ok2 := t[3].(string)
	numel, ok3 := t[4].(int64)
	if !ok1 || !ok2 || !ok3 || numel < 0 {
		return nil, fmt.Errorf("persistent id needs a string key, a string location and a non-negative element count")
	}
	if s, ok := m.storages[key]; ok {
		if s.kind != kind || s.numel != numel {
			return nil, fmt.Errorf("storage %q is referenced as %s of %d elements and as %s of %d", key, s.kind.name, s.numel, kind.name, numel)
		}
		return s, nil
	}
	s := &storageRef{kind: kind, key: key, numel: numel}
	m.storages[key] = s
	return s, nil
}

// reduce applies an allowed callable to its argument tuple.
func reduce(fn, args any) (any, error) {
	g, ok := fn.(*pyGlobal)
	if !ok {
		return nil, fmt.Errorf("calling a %s is not supported", typeName(fn))
	}
	a, ok := args.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%s.%s called with %s arguments, not a tuple", g.module, g.name, typeName(args))
	}
	switch g.name {
	case "OrderedDict":
		d := newDict()
		if len(a) == 0 {
			return d, nil
		}
		if len(a) == 1 {
			if l, ok := a[0].(*pyList); ok {
				for _, it := range l.items {
					kv, ok := it.(pyTuple)
					if !ok || len(kv) != 2 {
						return nil, fmt.Errorf("OrderedDict item is a %s, not a pair", typeName(it))
					}
					if err := d.set(kv[0], kv[1]); err != nil {
						return nil, err
					}
				}
				return d, nil
			}
		}
		return nil, fmt.Errorf("OrderedDict called with %d unsupported arguments", len(a))
	case "_rebuild_tensor_v2":
		// (storage, storage_offset, size, stride, requires_grad,
		// backward_hooks[, metadata])
		if len(a) != 6 && len(a) != 7 {
			return nil, fmt.Errorf("_rebuild_tensor_v2 called with %d arguments, want 6 or 7", len(a))
		}
		s, ok := a[0].(*storageRef)
		if !ok {
			return nil, fmt.Errorf("_rebuild_tensor_v2: storage is a %s", typeName(a[0]))
		}
		off, ok := a[1].(int64)
		if !ok || off < 0 {
			return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset %v is not a non-negative int", a[1])
		}
		size, err := ints(a[2])
		if err != nil {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size: %w", err)
		}
		stride, err := ints(a[3])
		if err != nil {
			return nil, fmt.Errorf("_rebuild_tensor_v2: stride: %w", err)
		}
		if len(size) != len(stride) {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size %v and stride %v differ in length", size, stride)
		}
		return &tensorRef{storage: s, offset: off, size: size, stride: stride}, nil
	case "_rebuild_parameter", "_rebuild_parameter_with_state":
		// (data, requires_grad, backward_hooks[, state])
		if len(a) < 3 || len(a) > 4 || (g.name == "_rebuild_parameter") != (len(a) == 3) {
			return nil, fmt.Errorf("%s called with %d arguments", g.name, len(a))
		}
		t, ok := a[0].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("%s: data is a %s, not a tensor", g.name, typeName(a[0]))
		}
		return t, nil
	}
	return nil, fmt.Errorf("calling %s.%s is not supported", g.module, g.name)
}

// ints converts a tuple of Python ints.
func ints(v any) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%s is not a tuple", typeName(v))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("element %d (%v) is not a non-negative int", i, x)
		}
		out[i] = n
	}
	return out, nil
}

// typeName names a pickle value's type for messages.
func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case *pyGlobal:
		return x.module + "." + x.name
	case *storageKind:
		return "torch." + x.name
	case *storageRef:
		return "storage"
	case *tensorRef:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}
