package torchbin

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// This file builds torch.save-style checkpoints by hand, since PyTorch cannot
// run here. The opcode sequences follow what torch.save (PyTorch 1.6 to 2.x,
// pickle protocol 2, CPython's C pickler) writes for a state dict; each
// helper says which part of torch.save / pickle it mirrors. A real file can
// be disassembled with `python -m pickletools archive/data.pkl` to compare.

// pickler is the package's pickleWriter (the opcodes CPython's protocol-2
// pickler writes, memoizing as it does) plus what the hand-made fixtures
// need beyond torchbin.Write: strings shared by identity and arbitrary
// opcode sequences for the rejection cases.
type pickler struct{ *pickleWriter }

// newPickler starts a pickle with PROTO 2 (torch.save's pickle_protocol).
func newPickler() *pickler {
	p := bare()
	p.op(opProto, 2)
	return p
}

// bare is a pickler without the PROTO header.
func bare() *pickler { return &pickler{&pickleWriter{memo: map[string]int{}}} }

// raw appends bytes as they are.
func (p *pickler) raw(b []byte) { p.b = append(p.b, b...) }

// interned writes a string that Python shares between uses ('storage',
// 'cpu', the storage keys that torch.save's id_map hands out again): the
// first use is written and memoized, later ones are BINGETs.
func (p *pickler) interned(s string) { p.shared("s:"+s, func() { p.str(s) }) }

// fxTensor is one state-dict entry: a view of a storage.
type fxTensor struct {
	name   string
	class  string // FloatStorage, HalfStorage, ...
	key    string // storage key ("0", "1", ... as torch.save's id_map)
	numel  int64  // storage elements
	offset int64
	size   []int64
	stride []int64
	param  bool // wrapped in _rebuild_parameter (state_dict(keep_vars=True))
}

// tensor writes what Tensor.__reduce_ex__ returns under torch.save:
// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
// backward_hooks), where storage is replaced by the persistent id
// ('storage', torch.<Class>Storage, key, 'cpu', numel) through BINPERSID.
// The 6-item argument tuple uses MARK ... TUPLE.
func (p *pickler) tensor(t fxTensor) {
	if t.param {
		p.global("torch._utils", "_rebuild_parameter")
	}
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.op(opMark)
	{
		p.op(opMark) // the persistent id, a 5-tuple
		p.interned("storage")
		p.global("torch", t.class)
		p.interned(t.key)
		p.interned("cpu")
		p.int(t.numel)
		p.op(opTuple)
		p.put()
		p.op(opBinPersID)
	}
	p.int(t.offset)
	p.tuple(t.size)
	p.tuple(t.stride)
	p.op(opNewFalse)     // requires_grad
	p.emptyOrderedDict() // backward_hooks
	p.op(opTuple)
	p.put()
	p.op(opReduce)
	p.put()
	if t.param {
		// _rebuild_parameter(data, requires_grad, backward_hooks): a
		// 3-tuple, so TUPLE3.
		p.op(opNewTrue)
		p.emptyOrderedDict()
		p.op(opTuple3)
		p.put()
		p.op(opReduce)
		p.put()
	}
}

// stateDict writes torch.save(model.state_dict()): OrderedDict() reduced,
// its items in one MARK ... SETITEMS batch (SETITEM for a single item), then
// the instance dict {'_metadata': OrderedDict([(”, {'version': 1})])}
// applied with BUILD, and STOP.
func stateDict(ts []fxTensor) []byte {
	p := newPickler()
	p.emptyOrderedDict()
	if len(ts) > 1 {
		p.op(opMark)
	}
	for _, t := range ts {
		p.str(t.name)
		p.tensor(t)
	}
	switch {
	case len(ts) > 1:
		p.op(opSetItems)
	case len(ts) == 1:
		p.op(opSetItem)
	}
	p.op(opEmptyDict)
	p.put()
	p.str("_metadata")
	p.emptyOrderedDict()
	p.str("")
	p.op(opEmptyDict)
	p.put()
	p.str("version")
	p.int(1)
	p.op(opSetItem)
	p.op(opSetItem) // '' -> {'version': 1} into _metadata
	p.op(opSetItem) // '_metadata' -> ... into the state dict
	p.op(opBuild, opStop)
	return p.b
}

// archive is a torch.save zip: <dir>/data.pkl, <dir>/byteorder,
// <dir>/data/<key>, <dir>/version, all stored uncompressed (torch's
// PyTorchStreamWriter also pads entries to 64 bytes with an extra field,
// which readers ignore).
type archive struct {
	dir      string
	pkl      []byte
	storages map[string][]byte
	extra    map[string][]byte // other entries, by full name
	order    string            // byteorder content; "" to omit the entry
}

func (a archive) bytes(t testing.TB) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add(a.dir+"/data.pkl", a.pkl)
	if a.order != "" {
		add(a.dir+"/byteorder", []byte(a.order))
	}
	for k, v := range a.storages {
		add(a.dir+"/data/"+k, v)
	}
	add(a.dir+"/version", []byte("3\n"))
	for k, v := range a.extra {
		add(k, v)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Little-endian encoders for storage bytes.

func f32Bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func u16Bytes(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func f64Bytes(v ...float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

func i64Bytes(v ...int64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

func i32Bytes(v ...int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

// fixtureTensors is the state dict of the main fixture:
//   - "weight": a contiguous 2×3 float32 tensor, storage "0";
//   - "weight_t": a transposed view with a storage offset, as torch.save
//     writes w[1:].view(4, 3).t() — size (3, 4), stride (1, 3), offset 1
//     into the 13-element float32 storage "1";
//   - "shared": weight.view(-1)[3:] — a contiguous run of storage "0"
//     (offset 3), so it shares memory with "weight";
//   - "half": float16 (HalfStorage "2"); "bf": bfloat16 2×2 (BFloat16Storage
//     "3");
//   - "position_ids": int64 torch.arange(4).expand((1, -1)) as BERT
//     registers it: size (1, 4), stride (0, 1), LongStorage "4";
//   - "scale": a float64 0-d tensor (DoubleStorage "5", size (), stride ());
//   - "counts": int32 (IntStorage "6");
//   - "bias": a Parameter (state_dict(keep_vars=True)) over storage "7".
func fixtureTensors() []fxTensor {
	return []fxTensor{
		{name: "weight", class: "FloatStorage", key: "0", numel: 6, size: []int64{2, 3}, stride: []int64{3, 1}},
		{name: "weight_t", class: "FloatStorage", key: "1", numel: 13, offset: 1, size: []int64{3, 4}, stride: []int64{1, 3}},
		{name: "shared", class: "FloatStorage", key: "0", numel: 6, offset: 3, size: []int64{3}, stride: []int64{1}},
		{name: "half", class: "HalfStorage", key: "2", numel: 5, size: []int64{5}, stride: []int64{1}},
		{name: "bf", class: "BFloat16Storage", key: "3", numel: 4, size: []int64{2, 2}, stride: []int64{2, 1}},
		{name: "position_ids", class: "LongStorage", key: "4", numel: 4, size: []int64{1, 4}, stride: []int64{0, 1}},
		{name: "scale", class: "DoubleStorage", key: "5", numel: 1, size: []int64{}, stride: []int64{}},
		{name: "counts", class: "IntStorage", key: "6", numel: 3, size: []int64{3}, stride: []int64{1}},
		{name: "bias", class: "FloatStorage", key: "7", numel: 2, size: []int64{2}, stride: []int64{1}, param: true},
	}
}

// fixtureStorages are the storages of fixtureTensors.
func fixtureStorages() map[string][]byte {
	s1 := make([]float32, 13)
	for i := range s1 {
		s1[i] = float32(i) * 0.5
	}
	return map[string][]byte{
		"0": f32Bytes(1, 2, 3, 4, 5, 6),
		"1": f32Bytes(s1...),
		"2": u16Bytes(0x3c00, 0xc000, 0x3555, 0x7c00, 0x0001), // 1, -2, ~1/3, +Inf, smallest subnormal
		"3": u16Bytes(0x3f80, 0x4040, 0xbf00, 0x0000),         // 1, 3, -0.5, 0
		"4": i64Bytes(0, 1, 2, 3),
		"5": f64Bytes(0.125),
		"6": i32Bytes(-7, 0, 7),
		"7": f32Bytes(0.25, -0.75),
	}
}

func fixtureArchive(t testing.TB) []byte {
	return archive{dir: "archive", pkl: stateDict(fixtureTensors()), storages: fixtureStorages(), order: "little"}.bytes(t)
}
