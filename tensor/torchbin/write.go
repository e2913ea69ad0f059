package torchbin

// write.go: the torch.save writer. The layout follows what torch.save
// (PyTorch 1.13 and 2.x, default zip serialization) writes for a state dict,
// checked against testdata/real/mixed.pt written by torch 1.13.1:
//
//   - a zip archive (stored, no compression) of <name>/data.pkl,
//     <name>/byteorder ("little", as torch >= 2.1 writes), <name>/data/0 ...
//     <name>/data/<n-1> (one storage per tensor, raw little-endian bytes)
//     and <name>/version ("3\n"), in that order;
//   - every record's data 64-byte aligned by an "FB" extra field in its
//     local header (PyTorchStreamWriter's padding), each entry followed by a
//     data descriptor (flags 0x0808), a central directory without extras
//     (bar zip64 ones), and a zip64 end-of-central-directory record and
//     locator before the classic one, as miniz writes them for torch;
//   - data.pkl is a protocol 2 pickle of an OrderedDict whose values are
//     torch._utils._rebuild_tensor_v2(persistent id ('storage',
//     torch.<T>Storage, key, 'cpu', numel), 0, size, stride, False,
//     OrderedDict()), memoized exactly as CPython's pickler does.

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/ragr-dev/ragr/internal/atomicfile"
	"github.com/ragr-dev/ragr/tensor"
)

// NamedTensor is one entry of the state dict Write saves.
type NamedTensor struct {
	// Name is the state-dict key ("colbert_linear.weight", "bias", ...).
	Name string
	// Tensor is the value; any layout and device (it is copied to a
	// contiguous host tensor first).
	Tensor *tensor.Tensor
}

// WriteOptions tune Write and Save; the zero value writes what torch.save
// writes.
type WriteOptions struct {
	// ArchiveName is the top directory of the archive's entries. Empty
	// means torch.save's choice: "archive" for Write (a file object), the
	// file's base name without its last extension for Save.
	ArchiveName string
	// Int64 stores Int32 tensors as int64 (LongStorage), PyTorch's default
	// integer type (position_ids, input_ids); ragr's reader reads them back
	// as Int32. Without it they are int32 (IntStorage).
	Int64 bool
}

// Named returns the tensors of m as NamedTensors sorted by name.
func Named(m map[string]*tensor.Tensor) []NamedTensor {
	out := make([]NamedTensor, 0, len(m))
	for k, v := range m {
		out = append(out, NamedTensor{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Save writes tensors (in the given order) to path as torch.save(state_dict,
// path) would, atomically: a temporary file in the same directory is
// renamed over path once complete. Errors name the file and, where there is
// one, the tensor at fault.
func Save(path string, tensors []NamedTensor, opts *WriteOptions) (err error) {
	o := WriteOptions{}
	if opts != nil {
		o = *opts
	}
	dir, base := filepath.Split(path)
	if o.ArchiveName == "" {
		o.ArchiveName = base
		if i := strings.LastIndexByte(base, '.'); i >= 0 {
			o.ArchiveName = base[:i]
		}
		if o.ArchiveName == "" {
			o.ArchiveName = "archive"
		}
	}
	if dir == "" {
		dir = "."
	}
	plan, err := prepare(tensors, &o)
	if err != nil {
		return fmt.Errorf("torchbin: %s: %w", path, err)
	}
	if err := atomicfile.Write(path, 0o644, plan.write); err != nil {
		return fmt.Errorf("torchbin: %s: %w", path, err)
	}
	return nil
}

// Write writes tensors (in the given order) to w as torch.save(state_dict,
// file_object) would. Nothing is written when the tensors are invalid
// (empty, duplicate or non-UTF-8 names, nil tensors).
func Write(w io.Writer, tensors []NamedTensor, opts *WriteOptions) error {
	o := WriteOptions{}
	if opts != nil {
		o = *opts
	}
	if o.ArchiveName == "" {
		o.ArchiveName = "archive"
	}
	plan, err := prepare(tensors, &o)
	if err != nil {
		return fmt.Errorf("torchbin: %w", err)
	}
	if err := plan.write(w); err != nil {
		return fmt.Errorf("torchbin: %w", err)
	}
	return nil
}

// planned is one tensor ready to be written.
type planned struct {
	name  string
	class string // storage class
	shape []int
	data  []byte // little-endian storage bytes
}

// writePlan is a validated archive.
type writePlan struct {
	dir     string
	tensors []planned
}

// prepare validates the tensors and brings each to its storage bytes.
func prepare(tensors []NamedTensor, o *WriteOptions) (*writePlan, error) {
	if o.ArchiveName == "" || strings.ContainsAny(o.ArchiveName, "/\\") || !utf8.ValidString(o.ArchiveName) {
		return nil, fmt.Errorf("archive name %q must be a non-empty UTF-8 name without slashes", o.ArchiveName)
	}
	p := &writePlan{dir: o.ArchiveName, tensors: make([]planned, 0, len(tensors))}
	seen := make(map[string]bool, len(tensors))
	for i, nt := range tensors {
		switch {
		case nt.Name == "":
			return nil, fmt.Errorf("tensor %d has an empty name", i)
		case !utf8.ValidString(nt.Name):
			return nil, fmt.Errorf("tensor %d: name %q is not valid UTF-8", i, nt.Name)
		case seen[nt.Name]:
			return nil, fmt.Errorf("tensor name %q occurs twice", nt.Name)
		case nt.Tensor == nil:
			return nil, fmt.Errorf("tensor %q is nil", nt.Name)
		}
		seen[nt.Name] = true
		t := nt.Tensor
		if t.Device() != tensor.CPU {
			h, err := t.To(tensor.CPU)
			if err != nil {
				return nil, fmt.Errorf("tensor %q: %w", nt.Name, err)
			}
			t = h
		}
		t = t.Contiguous()
		pl := planned{name: nt.Name, shape: t.Shape()}
		switch t.DType() {
		case tensor.Float32:
			pl.class, pl.data = "FloatStorage", leBytes(t.Data32())
		case tensor.Float64:
			pl.class, pl.data = "DoubleStorage", leBytes(t.Data64())
		case tensor.Float16:
			pl.class, pl.data = "HalfStorage", leBytes(t.DataU16())
		case tensor.BFloat16:
			pl.class, pl.data = "BFloat16Storage", leBytes(t.DataU16())
		case tensor.Int32:
			if o.Int64 {
				v := t.DataI32()
				b := make([]byte, 8*len(v))
				for j, x := range v {
					binary.LittleEndian.PutUint64(b[8*j:], uint64(int64(x)))
				}
				pl.class, pl.data = "LongStorage", b
			} else {
				pl.class, pl.data = "IntStorage", leBytes(t.DataI32())
			}
		default:
			return nil, fmt.Errorf("tensor %q: dtype %s has no torch storage class", nt.Name, t.DType())
		}
		p.tensors = append(p.tensors, pl)
	}
	return p, nil
}

// leBytes returns the little-endian bytes of s: its own memory on a
// little-endian host, a swapped copy otherwise.
func leBytes[T float32 | float64 | uint16 | int32](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var z T
	size := int(unsafe.Sizeof(z))
	b := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*size)
	if !littleEndian {
		b = append([]byte(nil), b...)
		swapBytes(b, size)
	}
	return b
}

// contiguousStrides returns PyTorch's strides of a contiguous tensor of
// shape (empty dimensions count as 1, as in torch's contiguous strides).
func contiguousStrides(shape []int) []int64 {
	st := make([]int64, len(shape))
	s := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= int64(max(shape[i], 1))
	}
	return st
}

// write emits the archive.
func (p *writePlan) write(w io.Writer) error {
	z := &zipWriter{w: w}
	z.add(p.dir+"/data.pkl", p.pickle())
	z.add(p.dir+"/byteorder", []byte("little"))
	for i, t := range p.tensors {
		z.add(p.dir+"/data/"+strconv.Itoa(i), t.data)
	}
	z.add(p.dir+"/version", []byte("3\n"))
	return z.close()
}

// pickle returns data.pkl: the OrderedDict of the tensors.
func (p *writePlan) pickle() []byte {
	pk := &pickleWriter{memo: map[string]int{}}
	pk.op(opProto, 2)
	pk.emptyOrderedDict()
	// CPython's batch_setitems: MARK ... SETITEMS per 1000 items, a single
	// trailing item as SETITEM.
	const batch = 1000
	for lo := 0; lo < len(p.tensors); lo += batch {
		hi := min(lo+batch, len(p.tensors))
		if hi-lo > 1 {
			pk.op(opMark)
		}
		for i := lo; i < hi; i++ {
			pk.str(p.tensors[i].name)
			pk.tensor(&p.tensors[i], strconv.Itoa(i))
		}
		if hi-lo > 1 {
			pk.op(opSetItems)
		} else {
			pk.op(opSetItem)
		}
	}
	pk.op(opStop)
	return pk.b
}

// pickleWriter emits protocol 2 pickle opcodes as CPython's C pickler does:
// every str, non-empty tuple, global and reduced object is memoized with
// BINPUT (LONG_BINPUT from 256) right after it is built; an object written
// before (the interned 'storage' and 'cpu', globals) is fetched with BINGET.
type pickleWriter struct {
	b    []byte
	next int
	memo map[string]int // memo slots of shared objects
}

func (p *pickleWriter) op(b ...byte) { p.b = append(p.b, b...) }

func (p *pickleWriter) le32(v uint32) { p.b = binary.LittleEndian.AppendUint32(p.b, v) }

// put memoizes the top of the stack and returns its slot.
func (p *pickleWriter) put() int {
	i := p.next
	p.next++
	if i < 256 {
		p.op(opBinPut, byte(i))
	} else {
		p.op(opLongBinPut)
		p.le32(uint32(i))
	}
	return i
}

// get pushes memo slot i.
func (p *pickleWriter) get(i int) {
	if i < 256 {
		p.op(opBinGet, byte(i))
	} else {
		p.op(opLongBinGet)
		p.le32(uint32(i))
	}
}

// str writes a new str object: BINUNICODE + BINPUT.
func (p *pickleWriter) str(s string) {
	p.op(opBinUnicode)
	p.le32(uint32(len(s)))
	p.b = append(p.b, s...)
	p.put()
}

// shared writes an object Python shares between uses: written and memoized
// the first time, BINGET afterwards.
func (p *pickleWriter) shared(key string, write func()) {
	if i, ok := p.memo[key]; ok {
		p.get(i)
		return
	}
	write()
	p.memo[key] = p.next - 1
}

// global writes GLOBAL "module\nname\n" (memoized).
func (p *pickleWriter) global(mod, name string) {
	p.shared("g:"+mod+"."+name, func() {
		p.op(opGlobal)
		p.b = append(p.b, mod+"\n"+name+"\n"...)
		p.put()
	})
}

// int writes an int as save_long does for protocol 2.
func (p *pickleWriter) int(v int64) {
	switch {
	case v >= 0 && v < 1<<8:
		p.op(opBinInt1, byte(v))
	case v >= 0 && v < 1<<16:
		p.op(opBinInt2, byte(v), byte(v>>8))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		p.op(opBinInt)
		p.le32(uint32(int32(v)))
	default:
		b := binary.LittleEndian.AppendUint64(nil, uint64(v))
		n := 8
		for n > 1 && ((b[n-1] == 0 && b[n-2]&0x80 == 0) || (b[n-1] == 0xff && b[n-2]&0x80 != 0)) {
			n--
		}
		p.op(opLong1, byte(n))
		p.b = append(p.b, b[:n]...)
	}
}

// tuple writes a tuple of ints as save_tuple does: EMPTY_TUPLE (not
// memoized) for (), TUPLE1/2/3 up to three items, MARK ... TUPLE beyond.
func (p *pickleWriter) tuple(v []int64) {
	if len(v) == 0 {
		p.op(opEmptyTuple)
		return
	}
	if len(v) > 3 {
		p.op(opMark)
	}
	for _, x := range v {
		p.int(x)
	}
	if len(v) > 3 {
		p.op(opTuple)
	} else {
		p.op(opTuple1 + byte(len(v)-1))
	}
	p.put()
}

// emptyOrderedDict writes OrderedDict() (its __reduce__: the class and ()).
func (p *pickleWriter) emptyOrderedDict() {
	p.global("collections", "OrderedDict")
	p.op(opEmptyTuple, opReduce)
	p.put()
}

// tensor writes _rebuild_tensor_v2(storage, 0, size, stride, False,
// OrderedDict()) with the storage as the persistent id ('storage',
// torch.<class>, key, 'cpu', numel).
func (p *pickleWriter) tensor(t *planned, key string) {
	numel := int64(1)
	size := make([]int64, len(t.shape))
	for i, d := range t.shape {
		size[i] = int64(d)
		numel *= int64(d)
	}
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.op(opMark)
	p.op(opMark)
	p.shared("s:storage", func() { p.str("storage") })
	p.global("torch", t.class)
	p.str(key)
	p.shared("s:cpu", func() { p.str("cpu") })
	p.int(numel)
	p.op(opTuple)
	p.put()
	p.op(opBinPersID)
	p.int(0) // storage offset
	p.tuple(size)
	p.tuple(contiguousStrides(t.shape))
	p.op(opNewFalse) // requires_grad
	p.emptyOrderedDict()
	p.op(opTuple)
	p.put()
	p.op(opReduce)
	p.put()
}
