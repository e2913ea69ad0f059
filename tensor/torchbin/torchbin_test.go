package torchbin

import (
	"archive/zip"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/tensor"
)

func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// TestLoadFixture loads the hand-built torch.save archive and checks every
// tensor's dtype, shape and values.
func TestLoadFixture(t *testing.T) {
	path := writeFile(t, "pytorch_model.bin", fixtureArchive(t))
	got, err := Load(path)
	require.NoError(t, err)
	require.Len(t, got, len(fixtureTensors()))

	w := got["weight"]
	assert.Equal(t, tensor.Float32, w.DType())
	assert.Equal(t, []int{2, 3}, w.Shape())
	assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, w.Data32())

	// weight_t[i][j] = storage1[1 + i + 3j] = (1 + i + 3j) / 2.
	wt := got["weight_t"]
	assert.Equal(t, []int{3, 4}, wt.Shape())
	assert.True(t, wt.IsContiguous())
	want := make([]float32, 0, 12)
	for i := 0; i < 3; i++ {
		for j := 0; j < 4; j++ {
			want = append(want, float32(1+i+3*j)*0.5)
		}
	}
	assert.Equal(t, want, wt.Data32())

	sh := got["shared"]
	assert.Equal(t, []float32{4, 5, 6}, sh.Data32())
	assert.Equal(t, unsafe.Pointer(&w.Data32()[3]), unsafe.Pointer(&sh.Data32()[0]), "a contiguous view shares its storage")

	h := got["half"]
	assert.Equal(t, tensor.Float16, h.DType())
	assert.Equal(t, []uint16{0x3c00, 0xc000, 0x3555, 0x7c00, 0x0001}, h.DataU16())

	bf := got["bf"]
	assert.Equal(t, tensor.BFloat16, bf.DType())
	assert.Equal(t, []int{2, 2}, bf.Shape())
	assert.Equal(t, []uint16{0x3f80, 0x4040, 0xbf00, 0x0000}, bf.DataU16())

	ids := got["position_ids"]
	assert.Equal(t, tensor.Int32, ids.DType())
	assert.Equal(t, []int{1, 4}, ids.Shape())
	assert.Equal(t, []int32{0, 1, 2, 3}, ids.DataI32())

	sc := got["scale"]
	assert.Equal(t, tensor.Float64, sc.DType())
	assert.Empty(t, sc.Shape())
	assert.Equal(t, []float64{0.125}, sc.Data64())

	assert.Equal(t, []int32{-7, 0, 7}, got["counts"].DataI32())
	assert.Equal(t, []float32{0.25, -0.75}, got["bias"].Data32())
}

// TestLoadVariants covers the archive variations torch.save produces: other
// top directory names, no byteorder entry, big-endian data, nested dicts,
// protocol 4 opcodes, higher-rank views and empty tensors.
func TestLoadVariants(t *testing.T) {
	t.Run("dir-name-and-no-byteorder", func(t *testing.T) {
		b := archive{dir: "pytorch_model", pkl: stateDict(fixtureTensors()), storages: fixtureStorages()}.bytes(t)
		got, err := LoadFrom(bytes.NewReader(b), int64(len(b)), "x.bin")
		require.NoError(t, err)
		assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, got["weight"].Data32())
	})
	t.Run("big-endian", func(t *testing.T) {
		st := fixtureStorages()
		size := map[string]int{"0": 4, "1": 4, "2": 2, "3": 2, "4": 8, "5": 8, "6": 4, "7": 4}
		for k, v := range st {
			v = append([]byte(nil), v...)
			swapBytes(v, size[k])
			st[k] = v
		}
		b := archive{dir: "archive", pkl: stateDict(fixtureTensors()), storages: st, order: "big\n"}.bytes(t)
		got, err := LoadFrom(bytes.NewReader(b), int64(len(b)), "be.bin")
		require.NoError(t, err)
		assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, got["weight"].Data32())
		assert.Equal(t, []uint16{0x3f80, 0x4040, 0xbf00, 0x0000}, got["bf"].DataU16())
		assert.Equal(t, []int32{0, 1, 2, 3}, got["position_ids"].DataI32())
		assert.Equal(t, []float64{0.125}, got["scale"].Data64())
	})
	t.Run("nested-and-extra-values", func(t *testing.T) {
		// {'model': OrderedDict(weight=...), 'epoch': 3, 'lr': 0.5,
		//  'tags': ['a'], 'step': None}
		p := newPickler()
		p.op(opEmptyDict)
		p.put()
		p.op(opMark)
		p.str("model")
		p.emptyOrderedDict()
		p.str("weight")
		p.tensor(fixtureTensors()[0])
		p.op(opSetItem)
		p.str("epoch")
		p.int(3)
		p.str("lr")
		p.op(opBinFloat, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0)
		p.str("tags")
		p.op(opEmptyList)
		p.put()
		p.str("a")
		p.op(opAppend)
		p.str("step")
		p.op(opNone)
		p.str("big")
		p.int(1 << 40)
		p.op(opSetItems, opStop)
		b := archive{dir: "archive", pkl: p.b, storages: fixtureStorages()}.bytes(t)
		got, err := LoadFrom(bytes.NewReader(b), int64(len(b)), "nested.bin")
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, got["model.weight"].Data32())
	})
	t.Run("protocol-4", func(t *testing.T) {
		// The same state dict in protocol 4 style: FRAME, SHORT_BINUNICODE,
		// STACK_GLOBAL and MEMOIZE.
		var p bytes.Buffer
		short := func(s string) {
			p.WriteByte(opShortBinUnicod)
			p.WriteByte(byte(len(s)))
			p.WriteString(s)
			p.WriteByte(opMemoize)
		}
		p.Write([]byte{opProto, 4, opFrame, 0, 0, 0, 0, 0, 0, 0, 0})
		short("collections")
		short("OrderedDict")
		p.Write([]byte{opStackGlobal, opMemoize, opEmptyTuple, opReduce, opMemoize})
		short("w")
		short("torch._utils")
		short("_rebuild_tensor_v2")
		p.Write([]byte{opStackGlobal, opMemoize, opMark, opMark})
		short("storage")
		short("torch")
		short("FloatStorage")
		p.Write([]byte{opStackGlobal, opMemoize})
		short("0")
		short("cpu")
		p.Write([]byte{opBinInt1, 6, opTuple, opMemoize, opBinPersID})
		p.Write([]byte{opBinInt1, 0, opBinInt1, 6, opTuple1, opMemoize, opBinInt1, 1, opTuple1, opMemoize, opNewFalse})
		p.Write([]byte{opBinGet, 2, opEmptyTuple, opReduce, opMemoize, opTuple, opMemoize, opReduce, opMemoize, opSetItem, opStop})
		b := archive{dir: "archive", pkl: p.Bytes(), storages: fixtureStorages()}.bytes(t)
		got, err := LoadFrom(bytes.NewReader(b), int64(len(b)), "p4.bin")
		require.NoError(t, err)
		assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, got["w"].Data32())
		assert.Equal(t, []int{6}, got["w"].Shape())
	})
	t.Run("rank-4-permuted-and-empty", func(t *testing.T) {
		// x = arange(2*3*4*5).view(2,3,4,5).permute(0,2,3,1)[..., 1:]:
		// size (2,4,5,2), stride (60,5,1,20), offset 20; plus an empty (0, 3)
		// tensor and a long (>3 dims) tuple written with MARK ... TUPLE.
		vals := make([]float32, 120)
		for i := range vals {
			vals[i] = float32(i)
		}
		ts := []fxTensor{
			{name: "x", class: "FloatStorage", key: "0", numel: 120, offset: 20, size: []int64{2, 4, 5, 2}, stride: []int64{60, 5, 1, 20}},
			{name: "e", class: "FloatStorage", key: "1", numel: 0, size: []int64{0, 3}, stride: []int64{3, 1}},
			{name: "big_offset", class: "FloatStorage", key: "0", numel: 120, offset: 119, size: []int64{1}, stride: []int64{1}},
		}
		b := archive{dir: "archive", pkl: stateDict(ts), storages: map[string][]byte{"0": f32Bytes(vals...), "1": nil}}.bytes(t)
		got, err := LoadFrom(bytes.NewReader(b), int64(len(b)), "r4.bin")
		require.NoError(t, err)
		x := got["x"]
		assert.Equal(t, []int{2, 4, 5, 2}, x.Shape())
		var want []float32
		for a := 0; a < 2; a++ {
			for c := 0; c < 4; c++ {
				for d := 0; d < 5; d++ {
					for bb := 1; bb < 3; bb++ {
						want = append(want, vals[a*60+bb*20+c*5+d])
					}
				}
			}
		}
		assert.Equal(t, want, x.Data32())
		assert.Equal(t, []int{0, 3}, got["e"].Shape())
		assert.Equal(t, []float32{119}, got["big_offset"].Data32())
	})
}

// TestRejected checks that malicious and malformed checkpoints are rejected
// with an error naming the file and what was wrong.
func TestRejected(t *testing.T) {
	good := fixtureStorages()
	withPkl := func(pkl []byte) []byte {
		return archive{dir: "archive", pkl: pkl, storages: good, order: "little"}.bytes(t)
	}
	// evil builds GLOBAL mod.name, a string argument, TUPLE1, REDUCE, STOP:
	// the classic pickle code-execution payload.
	evil := func(mod, name string) []byte {
		p := newPickler()
		p.op(opGlobal)
		p.raw([]byte(mod + "\n" + name + "\n"))
		p.str("touch /tmp/pwned")
		p.op(opTuple1, opReduce, opStop)
		return p.b
	}
	stackGlobal := func(mod, name string) []byte {
		p := newPickler()
		p.str(mod)
		p.str(name)
		p.op(opStackGlobal)
		p.str("print(1)")
		p.op(opTuple1, opReduce, opStop)
		return p.b
	}
	badView := func(f func(*fxTensor)) []byte {
		ts := fixtureTensors()
		f(&ts[0])
		return withPkl(stateDict(ts))
	}
	full := fixtureArchive(t)
	deflated := func() []byte {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		f, _ := w.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Deflate})
		f.Write(stateDict(fixtureTensors()))
		w.Close()
		return buf.Bytes()
	}()
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"os.system", withPkl(evil("os", "system")), []string{"global os.system is not allowed", "data.pkl"}},
		{"posix.system", withPkl(evil("posix", "system")), []string{"posix.system"}},
		{"builtins.eval", withPkl(evil("builtins", "eval")), []string{"builtins.eval"}},
		{"builtins.exec-stack-global", withPkl(stackGlobal("builtins", "exec")), []string{"builtins.exec"}},
		{"subprocess", withPkl(evil("subprocess", "Popen")), []string{"subprocess.Popen"}},
		{"torch-other", withPkl(evil("torch", "load")), []string{"torch.load"}},
		{"bool-storage", withPkl(evil("torch", "BoolStorage")), []string{"torch.BoolStorage"}},
		{"rebuild-v1", withPkl(evil("torch._utils", "_rebuild_tensor")), []string{"torch._utils._rebuild_tensor is not allowed"}},
		{"call-storage-class", withPkl(evil("torch", "FloatStorage")), []string{"calling a torch.FloatStorage"}},
		{"opcode-INST", withPkl([]byte{opProto, 2, 'i', 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm', '\n', opStop}), []string{"0x69 (INST)"}},
		{"opcode-NEWOBJ", withPkl([]byte{opProto, 2, opEmptyTuple, opEmptyTuple, 0x81, opStop}), []string{"NEWOBJ"}},
		{"opcode-unknown", withPkl([]byte{opProto, 2, 0xff}), []string{"0xff", "at byte 2"}},
		{"no-stop", withPkl([]byte{opProto, 2, opEmptyDict}), []string{"without STOP"}},
		{"stack-underflow", withPkl([]byte{opProto, 2, opSetItem, opStop}), []string{"stack underflow"}},
		{"memo-missing", withPkl([]byte{opProto, 2, opBinGet, 9, opStop}), []string{"memo index 9"}},
		{"not-a-dict", withPkl([]byte{opProto, 2, opEmptyList, opStop}), []string{"holds a list"}},
		{"string-too-long", withPkl([]byte{opProto, 2, opBinUnicode, 0xff, 0xff, 0xff, 0x7f, 'a', opStop}), []string{"string of"}},
		{"persid-not-storage", withPkl([]byte{opProto, 2, opNone, opBinPersID, opStop}), []string{"persistent id"}},
		{"unhashable-key", withPkl([]byte{opProto, 2, opEmptyDict, opEmptyList, opNone, opSetItem, opStop}), []string{"dict key of type list"}},
		{"self-containing-dict", withPkl([]byte{opProto, 2, opEmptyDict, opBinPut, 0, opBinUnicode, 1, 0, 0, 0, 'a', opBinGet, 0, opSetItem, opStop}), []string{"contains itself"}},
		{"missing-storage", archive{dir: "archive", pkl: stateDict(fixtureTensors()), storages: map[string][]byte{"0": good["0"]}}.bytes(t), []string{`storage "1"`, "no entry archive/data/1", `tensor "weight_t"`}},
		{"short-storage", archive{dir: "archive", pkl: stateDict(fixtureTensors()[:1]), storages: map[string][]byte{"0": good["0"][:20]}}.bytes(t), []string{`storage "0"`, "need 24 bytes"}},
		{"view-out-of-range", badView(func(x *fxTensor) { x.size = []int64{3, 3} }), []string{`tensor "weight"`, "reaches past its storage"}},
		{"offset-out-of-range", badView(func(x *fxTensor) { x.offset = 6; x.size = []int64{1}; x.stride = []int64{1} }), []string{"storage offset 6 out of range"}},
		{"broadcast-view", badView(func(x *fxTensor) { x.size = []int64{4, 3}; x.stride = []int64{0, 1} }), []string{"broadcast views are not supported"}},
		{"huge-size", badView(func(x *fxTensor) { x.size = []int64{1 << 40, 1 << 40}; x.stride = []int64{0, 0} }), []string{"overflows"}},
		{"huge-size-after-zero", badView(func(x *fxTensor) { x.size = []int64{0, 1 << 40, 1 << 40}; x.stride = []int64{1, 1, 1} }), []string{"overflows"}},
		{"size-stride-mismatch", badView(func(x *fxTensor) { x.stride = []int64{1} }), []string{"differ in length"}},
		{"storage-class-mismatch", badView(func(x *fxTensor) { x.key = "1" }), []string{`storage "1" is referenced as`}},
		{"int64-out-of-range", archive{dir: "archive", pkl: stateDict(fixtureTensors()[5:6]), storages: map[string][]byte{"4": i64Bytes(0, 1, 1<<31, 3)}}.bytes(t), []string{`tensor "position_ids"`, "2147483648 at element 2"}},
		{"bad-byteorder", archive{dir: "archive", pkl: stateDict(fixtureTensors()), storages: good, order: "middle"}.bytes(t), []string{"unknown byte order"}},
		{"truncated-zip", full[:len(full)-30], []string{"not a torch.save zip archive"}},
		{"truncated-zip-half", full[:len(full)/2], []string{"not a torch.save zip archive"}},
		{"not-zip", []byte("hello world"), []string{"not a torch.save zip archive"}},
		{"empty", nil, []string{"not a torch.save zip archive"}},
		{"legacy", append(append([]byte(nil), legacyMagic...), 0x2e), []string{"legacy"}},
		{"no-data-pkl", archive{dir: "archive", pkl: nil, storages: nil, extra: map[string][]byte{}}.renamePkl(t, "archive/other.pkl"), []string{"no <dir>/data.pkl"}},
		{"torchscript", archive{dir: "archive", pkl: nil}.renamePkl(t, "archive/constants.pkl"), []string{"TorchScript"}},
		{"two-data-pkl", archive{dir: "a", pkl: stateDict(nil), extra: map[string][]byte{"b/data.pkl": stateDict(nil)}}.bytes(t), []string{"2 data.pkl entries"}},
		{"compressed", deflated, []string{"compressed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.name+".bin", c.data)
			got, err := Load(path)
			require.Error(t, err, "loaded %d tensors", len(got))
			t.Log(err)
			assert.Contains(t, err.Error(), path)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	t.Run("missing-file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.bin")
		_, err := Load(path)
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), path)
	})
}

// renamePkl builds the archive with its pickle stored under another name.
func (a archive) renamePkl(t testing.TB, name string) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	require.NoError(t, err)
	f.Write(a.pkl)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// TestCorruptStorage flips a byte of a stored storage: the zip CRC check
// catches it.
func TestCorruptStorage(t *testing.T) {
	b := fixtureArchive(t)
	i := bytes.Index(b, f32Bytes(0.25, -0.75))
	require.Positive(t, i)
	b[i] ^= 1
	_, err := LoadFrom(bytes.NewReader(b), int64(len(b)), "crc.bin")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "crc.bin")
	assert.Contains(t, err.Error(), "checksum")
}

// TestLong1 checks LONG1 decoding (sign extension and widths).
func TestLong1(t *testing.T) {
	for _, v := range []int64{0, 255, 256, 65535, 65536, -1, -129, math.MinInt32 - 1, math.MaxInt32 + 1, 1 << 40, -(1 << 40), math.MaxInt64, math.MinInt64} {
		p := bare()
		p.op(opLong1)
		var raw [8]byte
		for i := range raw {
			raw[i] = byte(uint64(v) >> (8 * i))
		}
		p.op(8)
		p.raw(raw[:])
		p.op(opStop)
		got, err := unpickle(p.b)
		require.NoError(t, err)
		assert.Equal(t, v, got)

		q := bare()
		q.int(v)
		q.op(opStop)
		got, err = unpickle(q.b)
		require.NoError(t, err)
		assert.Equal(t, v, got, "minimal encoding of %d", v)
	}
	_, err := unpickle([]byte{opLong1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, opStop})
	assert.ErrorContains(t, err, "does not fit in int64")
}
