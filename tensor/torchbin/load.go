package torchbin

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unsafe"

	"github.com/ragr-dev/ragr/tensor"
)

// maxDepth bounds the nesting of dicts Load flattens.
const maxDepth = 32

// Load reads the PyTorch checkpoint (torch.save zip format) at path and
// returns its tensors by name. Errors name the file and, where there is one,
// the tensor, global or opcode at fault.
func Load(path string) (map[string]*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("torchbin: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("torchbin: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("torchbin: %s: not a regular file", path)
	}
	return LoadFrom(f, st.Size(), path)
}

// LoadFrom is Load for a checkpoint of size bytes read through r; name is
// the file name used in errors.
func LoadFrom(r io.ReaderAt, size int64, name string) (map[string]*tensor.Tensor, error) {
	l := &loader{r: r, size: size, name: name, storages: map[string]*storage{}}
	out, err := l.load()
	if err != nil {
		return nil, fmt.Errorf("torchbin: %s: %w", name, err)
	}
	return out, nil
}

// loader holds one Load's state.
type loader struct {
	r        io.ReaderAt
	size     int64
	name     string
	prefix   string               // the archive's top directory
	entries  map[string]*zip.File // by name
	swap     bool                 // stored byte order differs from the host's
	storages map[string]*storage  // loaded storages by key
}

// littleEndian reports whether the host is little-endian.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// legacyMagic starts checkpoints written by torch.save with
// _use_new_zipfile_serialization=False (a pickle protocol 2 header).
var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

func (l *loader) load() (map[string]*tensor.Tensor, error) {
	zr, err := zip.NewReader(l.r, l.size)
	if err != nil {
		head := make([]byte, len(legacyMagic))
		n, _ := l.r.ReadAt(head, 0)
		if bytes.Equal(head[:n], legacyMagic) {
			return nil, fmt.Errorf("legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a current PyTorch or convert it to safetensors")
		}
		return nil, fmt.Errorf("not a torch.save zip archive: %w", err)
	}
	l.entries = map[string]*zip.File{}
	var pkls []string
	torchscript := false
	for _, f := range zr.File {
		if _, dup := l.entries[f.Name]; dup {
			return nil, fmt.Errorf("archive has entry %q twice", f.Name)
		}
		l.entries[f.Name] = f
		dir, base, ok := strings.Cut(f.Name, "/")
		if ok && base == "data.pkl" && dir != "" {
			pkls = append(pkls, dir)
		}
		if ok && (base == "constants.pkl" || strings.HasPrefix(base, "code/")) {
			torchscript = true
		}
	}
	switch {
	case len(pkls) == 0 && torchscript:
		return nil, fmt.Errorf("archive is a TorchScript module (torch.jit.save), not a torch.save checkpoint")
	case len(pkls) == 0:
		return nil, fmt.Errorf("archive has no <dir>/data.pkl entry")
	case len(pkls) > 1:
		return nil, fmt.Errorf("archive has %d data.pkl entries (%s/data.pkl, %s/data.pkl, ...)", len(pkls), pkls[0], pkls[1])
	}
	l.prefix = pkls[0]

	fileBig := false
	if f, ok := l.entries[l.prefix+"/byteorder"]; ok {
		b, err := l.read(f, 16)
		if err != nil {
			return nil, err
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			fileBig = true
		default:
			return nil, fmt.Errorf("%s: unknown byte order %q", f.Name, b)
		}
	}
	l.swap = fileBig == littleEndian

	pf := l.entries[l.prefix+"/data.pkl"]
	pkl, err := l.read(pf, -1)
	if err != nil {
		return nil, err
	}
	root, err := unpickle(pkl)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pf.Name, err)
	}
	d, ok := root.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("%s holds a %s, not a dict of tensors", pf.Name, typeName(root))
	}
	var refs []namedRef
	if err := collect(d, "", 0, map[*pyDict]bool{}, &refs); err != nil {
		return nil, fmt.Errorf("%s: %w", pf.Name, err)
	}
	out := make(map[string]*tensor.Tensor, len(refs))
	for _, nr := range refs {
		if _, dup := out[nr.name]; dup {
			return nil, fmt.Errorf("tensor name %q occurs twice after flattening", nr.name)
		}
		t, err := l.tensor(nr.ref)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", nr.name, err)
		}
		out[nr.name] = t
	}
	return out, nil
}

// namedRef is a tensor found in the pickled dict.
type namedRef struct {
	name string
	ref  *tensorRef
}

// collect gathers the tensors of d (and of nested dicts with string keys,
// named prefix+key) in order.
func collect(d *pyDict, prefix string, depth int, seen map[*pyDict]bool, out *[]namedRef) error {
	if depth > maxDepth {
		return fmt.Errorf("dicts nested deeper than %d", maxDepth)
	}
	if seen[d] {
		return fmt.Errorf("dict %q contains itself", strings.TrimSuffix(prefix, "."))
	}
	seen[d] = true
	defer delete(seen, d)
	for i, k := range d.keys {
		switch v := d.vals[i].(type) {
		case *tensorRef:
			s, ok := k.(string)
			if !ok {
				return fmt.Errorf("tensor under a key of type %s in %q", typeName(k), prefix)
			}
			*out = append(*out, namedRef{prefix + s, v})
		case *pyDict:
			if s, ok := k.(string); ok {
				if err := collect(v, prefix+s+".", depth+1, seen, out); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// read returns the bytes of an uncompressed entry, at most limit bytes when
// limit >= 0.
func (l *loader) read(f *zip.File, limit int64) ([]byte, error) {
	n, err := l.checkEntry(f)
	if err != nil {
		return nil, err
	}
	if limit >= 0 && n > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", f.Name, n, limit)
	}
	b := make([]byte, n)
	if err := l.readFull(f, b, n); err != nil {
		return nil, err
	}
	return b, nil
}

// checkEntry checks that f is stored uncompressed (as torch.save writes
// every entry) and lies inside the file, and returns its size.
func (l *loader) checkEntry(f *zip.File) (int64, error) {
	if f.Method != zip.Store {
		return 0, fmt.Errorf("%s is compressed (method %d); torch.save stores entries uncompressed", f.Name, f.Method)
	}
	if f.CompressedSize64 != f.UncompressedSize64 || f.UncompressedSize64 > math.MaxInt64 {
		return 0, fmt.Errorf("%s: stored entry with compressed size %d != size %d", f.Name, f.CompressedSize64, f.UncompressedSize64)
	}
	off, err := f.DataOffset()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.Name, err)
	}
	n := int64(f.UncompressedSize64)
	if off < 0 || off > l.size || n > l.size-off || n > math.MaxInt {
		return 0, fmt.Errorf("%s: %d bytes at offset %d run past the end of the %d-byte file", f.Name, n, off, l.size)
	}
	return n, nil
}

// readFull reads the first len(dst) bytes of entry f, whose size is n; when
// it reads the whole entry the zip CRC is checked too.
func (l *loader) readFull(f *zip.File, dst []byte, n int64) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, dst); err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	if int64(len(dst)) == n {
		var one [1]byte
		if _, err := rc.Read(one[:]); err != io.EOF {
			if err == nil {
				err = errors.New("entry longer than its size")
			}
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

// storage is one loaded storage; exactly one slice is set.
type storage struct {
	n   int
	f32 []float32
	u16 []uint16
	f64 []float64
	i64 []int64
	i32 []int32
}

// typed allocates n elements of T and returns them with their bytes.
func typed[T any](n int) ([]T, []byte) {
	s := make([]T, n)
	if n == 0 {
		return s, nil
	}
	var z T
	return s, unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n*int(unsafe.Sizeof(z)))
}

// loadStorage reads storage ref from its archive entry, once.
func (l *loader) loadStorage(ref *storageRef) (*storage, error) {
	if s, ok := l.storages[ref.key]; ok {
		return s, nil
	}
	entry := l.prefix + "/data/" + ref.key
	f, ok := l.entries[entry]
	if !ok {
		return nil, fmt.Errorf("storage %q: archive has no entry %s", ref.key, entry)
	}
	size, err := l.checkEntry(f)
	if err != nil {
		return nil, fmt.Errorf("storage %q: %w", ref.key, err)
	}
	es := int64(ref.kind.size)
	if ref.numel > size/es {
		return nil, fmt.Errorf("storage %q: %d %s elements need %d bytes but %s has %d", ref.key, ref.numel, ref.kind.name, ref.numel*es, entry, size)
	}
	n := int(ref.numel)
	s := &storage{n: n}
	var b []byte
	switch ref.kind.name {
	case "FloatStorage":
		s.f32, b = typed[float32](n)
	case "HalfStorage", "BFloat16Storage":
		s.u16, b = typed[uint16](n)
	case "DoubleStorage":
		s.f64, b = typed[float64](n)
	case "LongStorage":
		s.i64, b = typed[int64](n)
	case "IntStorage":
		s.i32, b = typed[int32](n)
	}
	if err := l.readFull(f, b, size); err != nil {
		return nil, fmt.Errorf("storage %q: %w", ref.key, err)
	}
	if l.swap {
		swapBytes(b, ref.kind.size)
	}
	l.storages[ref.key] = s
	return s, nil
}

// swapBytes reverses the bytes of each size-byte element of b.
func swapBytes(b []byte, size int) {
	for i := 0; i+size <= len(b); i += size {
		for j, k := i, i+size-1; j < k; j, k = j+1, k-1 {
			b[j], b[k] = b[k], b[j]
		}
	}
}

// view is a validated strided view of a storage.
type view struct {
	shape, stride []int
	offset, numel int
	contiguous    bool
}

// checkView validates ref against a storage of n elements.
func checkView(ref *tensorRef, n int) (*view, error) {
	v := &view{shape: make([]int, len(ref.size)), stride: make([]int, len(ref.size)), numel: 1}
	numel, nonzero := int64(1), int64(1)
	for i, d := range ref.size {
		if d > math.MaxInt || (d != 0 && nonzero > math.MaxInt/d) {
			return nil, fmt.Errorf("size %v overflows", ref.size)
		}
		if d != 0 {
			nonzero *= d
		}
		numel *= d
		v.shape[i] = int(d)
	}
	v.numel = int(numel)
	if numel == 0 {
		v.contiguous = true
		return v, nil
	}
	if ref.offset >= int64(n) {
		return nil, fmt.Errorf("storage offset %d out of range of its storage of %d elements", ref.offset, n)
	}
	last := ref.offset
	for i, d := range ref.size {
		if d <= 1 {
			continue
		}
		st := ref.stride[i]
		if st > (int64(n)-1-last)/(d-1) {
			return nil, fmt.Errorf("view (offset %d, size %v, stride %v) reaches past its storage of %d elements", ref.offset, ref.size, ref.stride, n)
		}
		last += (d - 1) * st
		v.stride[i] = int(st)
	}
	if numel > int64(n) {
		return nil, fmt.Errorf("view of size %v has %d elements, more than its storage's %d (broadcast views are not supported)", ref.size, numel, n)
	}
	v.offset = int(ref.offset)
	v.contiguous = true
	want := 1
	for i := len(v.shape) - 1; i >= 0; i-- {
		if v.shape[i] != 1 && v.stride[i] != want {
			v.contiguous = false
		}
		want *= v.shape[i]
	}
	return v, nil
}

// gather copies the strided view v of src into a new contiguous slice, or
// returns the run of src it covers when v is contiguous.
func gather[T any](src []T, v *view) []T {
	if v.contiguous {
		if v.numel == 0 {
			return []T{}
		}
		return src[v.offset : v.offset+v.numel : v.offset+v.numel]
	}
	dst := make([]T, v.numel)
	walk(v, func(d, s, n, st int) {
		for i := 0; i < n; i++ {
			dst[d+i] = src[s+i*st]
		}
	})
	return dst
}

// walk calls row(dstIndex, srcIndex, length, srcStride) for each innermost
// row of v in row-major order.
func walk(v *view, row func(d, s, n, st int)) {
	nd := len(v.shape)
	if nd == 0 {
		row(0, v.offset, 1, 1)
		return
	}
	inner, ist := v.shape[nd-1], v.stride[nd-1]
	idx := make([]int, nd-1)
	s := v.offset
	for d := 0; d < v.numel; d += inner {
		row(d, s, inner, ist)
		for k := nd - 2; k >= 0; k-- {
			idx[k]++
			s += v.stride[k]
			if idx[k] < v.shape[k] {
				break
			}
			s -= idx[k] * v.stride[k]
			idx[k] = 0
		}
	}
}

// tensor materializes a tensor reference.
func (l *loader) tensor(ref *tensorRef) (*tensor.Tensor, error) {
	s, err := l.loadStorage(ref.storage)
	if err != nil {
		return nil, err
	}
	v, err := checkView(ref, s.n)
	if err != nil {
		return nil, err
	}
	switch ref.storage.kind.name {
	case "FloatStorage":
		return tensor.FromFloat32(gather(s.f32, v), v.shape...), nil
	case "HalfStorage":
		return tensor.FromUint16(tensor.Float16, gather(s.u16, v), v.shape...), nil
	case "BFloat16Storage":
		return tensor.FromUint16(tensor.BFloat16, gather(s.u16, v), v.shape...), nil
	case "DoubleStorage":
		return tensor.FromFloat64(gather(s.f64, v), v.shape...), nil
	case "IntStorage":
		return tensor.FromInt32(gather(s.i32, v), v.shape...), nil
	case "LongStorage":
		dst := make([]int32, v.numel)
		var bad error
		walk(v, func(d, si, n, st int) {
			for i := 0; i < n && bad == nil; i++ {
				x := s.i64[si+i*st]
				if x < math.MinInt32 || x > math.MaxInt32 {
					bad = fmt.Errorf("int64 value %d at element %d does not fit in int32", x, d+i)
				}
				dst[d+i] = int32(x)
			}
		})
		if bad != nil {
			return nil, bad
		}
		return tensor.FromInt32(dst, v.shape...), nil
	}
	return nil, fmt.Errorf("storage class %s is not supported", ref.storage.kind.name)
}
