package safetensors

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

const fixture = "testdata/bert-tiny.safetensors"

// TestReferenceFile reads a file written by the Python reference
// implementation (Hugging Face save_pretrained; see testdata/README.md).
func TestReferenceFile(t *testing.T) {
	f, err := Open(fixture)
	require.NoError(t, err)
	defer f.Close()

	names := f.Names()
	assert.Len(t, names, 39)
	assert.True(t, sortedStrings(names))
	assert.Equal(t, map[string]string{"format": "pt"}, f.Metadata())

	cases := []struct {
		name  string
		shape []int
		first []float32 // leading values, read with Python's struct module
	}{
		{"embeddings.word_embeddings.weight", []int{512, 32}, nil},
		{"embeddings.position_embeddings.weight", []int{64, 32}, nil},
		{"embeddings.LayerNorm.weight", []int{32}, []float32{1.1001330614089966, 1.0971628427505493, 1.1122039556503296, 0.8309034705162048}},
		{"encoder.layer.0.attention.self.query.weight", []int{32, 32}, nil},
		{"encoder.layer.1.intermediate.dense.weight", []int{64, 32}, nil},
		{"encoder.layer.1.output.dense.weight", []int{32, 64}, nil},
		{"pooler.dense.bias", []int{32}, []float32{-0.026871928945183754, 0.10447627305984497, -0.026771727949380875, -0.08992663025856018}},
	}
	for _, c := range cases {
		info, err := f.Info(c.name)
		require.NoError(t, err, c.name)
		assert.Equal(t, "F32", info.DType, c.name)
		assert.Equal(t, c.shape, info.Shape, c.name)
		assert.Equal(t, int64(4*numelOf(c.shape)), info.Size, c.name)

		tt, err := f.Tensor(c.name)
		require.NoError(t, err, c.name)
		assert.Equal(t, tensor.Float32, tt.DType())
		assert.Equal(t, c.shape, tt.Shape())
		f32, err := f.Float32(c.name)
		require.NoError(t, err, c.name)
		testutil.AssertClose(t, c.name, f32.Data32(), tt.Data32(), testutil.Exact)
		if c.first != nil {
			testutil.AssertClose(t, c.name, tt.Data32()[:len(c.first)], c.first, testutil.Exact)
		}
	}
}

// TestReferenceReencode checks that Encode reproduces the reference writer's
// bytes exactly: same header text, padding and layout.
func TestReferenceReencode(t *testing.T) {
	for _, path := range []string{fixture, "/work/shared/golden/bert-tiny/expected.safetensors"} {
		want, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			t.Logf("%s not present; skipped", path)
			continue
		}
		require.NoError(t, err)
		f, err := Open(path)
		require.NoError(t, err)
		ts := map[string]*tensor.Tensor{}
		for _, n := range f.Names() {
			ts[n], err = f.Tensor(n)
			require.NoError(t, err)
		}
		var buf bytes.Buffer
		n, err := Encode(&buf, ts, f.Metadata())
		require.NoError(t, err)
		assert.Equal(t, int64(len(want)), n)
		assert.True(t, bytes.Equal(want, buf.Bytes()), "%s: re-encoded bytes differ", path)
		require.NoError(t, f.Close())
	}
}

func numelOf(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// TestRoundTrip writes tensors of every dtype (scalars, empty and odd shapes,
// and non-contiguous views) and reads them back.
func TestRoundTrip(t *testing.T) {
	r := testutil.NewRand(1)
	f32 := testutil.Normal32(r, 3*17, 1)
	f64 := testutil.Uniform64(r, 5*7, -3, 3)
	bf := make([]uint16, 33)
	hf := make([]uint16, 15)
	for i := range bf {
		bf[i] = uint16(r.Uint32())
	}
	for i := range hf {
		hf[i] = uint16(r.Uint32())
	}
	i32 := []int32{math.MinInt32, -1, 0, 1, math.MaxInt32, 7, 9}
	src := map[string]*tensor.Tensor{
		"f32":              tensor.FromFloat32(f32, 3, 17),
		"f32.t":            tensor.FromFloat32(f32, 3, 17).T(), // non-contiguous
		"f32.scalar":       tensor.FromFloat32([]float32{2.5}),
		"f32.empty":        tensor.FromFloat32(nil, 0, 3),
		"f64":              tensor.FromFloat64(f64, 5, 7),
		"f64.t":            tensor.FromFloat64(f64, 5, 7).T(),
		"bf16":             tensor.FromUint16(tensor.BFloat16, bf, 3, 11),
		"bf16.t":           tensor.FromUint16(tensor.BFloat16, bf, 3, 11).T(),
		"f16":              tensor.FromUint16(tensor.Float16, hf, 15),
		"f16.narrow":       tensor.FromUint16(tensor.Float16, hf, 3, 5).Narrow(1, 1, 3),
		"i32":              tensor.FromInt32(i32, 7),
		"i32.1x7":          tensor.FromInt32(i32, 1, 7),
		"weird \"name\" ü": tensor.FromFloat32([]float32{1, 2, 3}, 3),
	}
	meta := map[string]string{"format": "pt", "note": "π \"quoted\""}
	path := filepath.Join(t.TempDir(), "rt.safetensors")
	require.NoError(t, Write(path, src, meta))

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	hlen := int(raw[0]) | int(raw[1])<<8 | int(raw[2])<<16
	assert.Zero(t, (8+hlen)%8, "data buffer must start 8-byte aligned")
	assert.Equal(t, byte(' '), raw[8+hlen-1], "header padded with spaces")

	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, meta, f.Metadata())
	assert.Len(t, f.Names(), len(src))
	codes := map[tensor.DType]string{tensor.Float32: "F32", tensor.Float64: "F64", tensor.BFloat16: "BF16", tensor.Float16: "F16", tensor.Int32: "I32"}
	for name, want := range src {
		got, err := f.Tensor(name)
		require.NoError(t, err, name)
		assert.Equal(t, want.DType(), got.DType(), name)
		assert.Equal(t, want.Shape(), got.Shape(), name)
		info, err := f.Info(name)
		require.NoError(t, err)
		assert.Equal(t, codes[want.DType()], info.DType, name)
		wc := want.Contiguous()
		switch want.DType() {
		case tensor.Float32:
			testutil.AssertClose(t, name, got.Data32(), wc.Data32(), testutil.Exact)
		case tensor.Float64:
			testutil.AssertClose(t, name, got.Data64(), wc.Data64(), testutil.Exact)
		case tensor.BFloat16, tensor.Float16:
			assert.Equal(t, wc.DataU16(), got.DataU16(), name)
		case tensor.Int32:
			assert.Equal(t, wc.DataI32(), got.DataI32(), name)
		}
		if want.DType() != tensor.Int32 {
			conv, err := f.Float32(name)
			require.NoError(t, err, name)
			assert.Equal(t, want.Shape(), conv.Shape(), name)
			testutil.AssertClose(t, name+" as float32", conv.Data32(), refFloat32s(wc), testutil.Exact)
		} else {
			_, err := f.Float32(name)
			assert.ErrorIs(t, err, ErrUnsupportedDType)
		}
	}
}

// refFloat32s decodes a contiguous tensor to float64 by each dtype's
// definition (not through the kernels), rounded once to float32.
func refFloat32s(t *tensor.Tensor) []float64 {
	var out []float64
	switch t.DType() {
	case tensor.Float32:
		out = testutil.To64(t.Data32())
	case tensor.Float64:
		for _, v := range t.Data64() {
			out = append(out, float64(float32(v)))
		}
	case tensor.BFloat16:
		for _, h := range t.DataU16() {
			out = append(out, refBF16(h))
		}
	case tensor.Float16:
		for _, h := range t.DataU16() {
			out = append(out, refF16(h))
		}
	}
	if out == nil {
		out = []float64{}
	}
	return out
}

// TestFloat32Conversion converts every bf16 and f16 bit pattern (and float64
// values) to float32 through the file path, on sizes around the pool's grain,
// into a guarded buffer, against the definitions of the formats.
func TestFloat32Conversion(t *testing.T) {
	all := make([]uint16, 1<<16)
	for i := range all {
		all[i] = uint16(i)
	}
	for _, dt := range []tensor.DType{tensor.BFloat16, tensor.Float16} {
		src := tensor.FromUint16(dt, all, len(all))
		for _, aligned := range []bool{true, false} {
			b := encodeBytes(t, src)
			if !aligned {
				b = misalign(b)
			}
			g := testutil.NewGuarded32(len(all))
			code, _ := codeOf(dt)
			convertToF32(g.Data, b, code)
			g.Check(t)
			testutil.AssertClose(t, code, g.Data, refFloat32s(src), testutil.Exact)
		}
	}
	r := testutil.NewRand(2)
	for _, n := range []int{0, 1, 3, 15, 16, 17, 31, 33, convertGrain - 1, convertGrain + 1, 3*convertGrain + 7} {
		v := testutil.Uniform64(r, n, -1e3, 1e3)
		v64 := tensor.FromFloat64(v, n)
		for _, aligned := range []bool{true, false} {
			b := encodeBytes(t, v64)
			if !aligned {
				b = misalign(b)
			}
			g := testutil.NewGuarded32(n)
			convertToF32(g.Data, b, "F64")
			g.Check(t)
			testutil.AssertClose(t, "F64", g.Data, refFloat32s(v64), testutil.Exact)

			f32 := tensor.FromFloat32(g.Data, n)
			b = encodeBytes(t, f32)
			if !aligned {
				b = misalign(b)
			}
			g2 := testutil.NewGuarded32(n)
			convertToF32(g2.Data, b, "F32")
			g2.Check(t)
			testutil.AssertClose(t, "F32", g2.Data, g.Data, testutil.Exact)
		}
	}
}

// encodeBytes returns t's little-endian bytes.
func encodeBytes(t *testing.T, x *tensor.Tensor) []byte {
	b, _ := rawBytes(x, nil)
	return append([]byte(nil), b...)
}

// misalign returns a copy of b starting at an odd address.
func misalign(b []byte) []byte {
	buf := make([]byte, len(b)+1)
	if uintptr(unsafe.Pointer(&buf[0]))%2 == 1 {
		buf = buf[:len(b)]
	} else {
		buf = buf[1:]
	}
	copy(buf, b)
	return buf
}

// TestAliasing checks that Tensor aliases the mapping without a copy, that
// writes to it stay private, and that use after Close is an error.
func TestAliasing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.safetensors")
	require.NoError(t, Write(path, map[string]*tensor.Tensor{
		"x": tensor.FromFloat32([]float32{1, 2, 3, 4}, 2, 2),
		"h": tensor.FromUint16(tensor.BFloat16, []uint16{0x3f80, 0x4000, 0x4040}, 3),
	}, nil))
	f, err := Open(path)
	require.NoError(t, err)
	x, err := f.Tensor("x")
	require.NoError(t, err)
	h, err := f.Tensor("h")
	require.NoError(t, err)
	if littleEndian {
		lo := uintptr(unsafe.Pointer(&f.data[0]))
		hi := lo + uintptr(len(f.data))
		for _, p := range []uintptr{uintptr(unsafe.Pointer(&x.Data32()[0])), uintptr(unsafe.Pointer(&h.DataU16()[0]))} {
			assert.True(t, p >= lo && p < hi, "tensor does not alias the mapping")
		}
	}
	x.Data32()[0] = 42 // private to this process
	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "second Close is a no-op")
	_, err = f.Tensor("x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	_, err = f.Float32("x")
	require.Error(t, err)

	f, err = Open(path)
	require.NoError(t, err)
	defer f.Close()
	x, err = f.Float32("x")
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2, 3, 4}, x.Data32(), "a write through an aliased tensor reached the file")
}

// TestInt64AndUnsupported covers I64 (converted to Int32 with a range check),
// dtypes that are valid but not loadable, unaligned data and missing names.
func TestInt64AndUnsupported(t *testing.T) {
	// Header of odd length: the data starts unaligned, so loads copy.
	hdr := `{"ids":{"dtype":"I64","shape":[3],"data_offsets":[0,24]},"big":{"dtype":"I64","shape":[1],"data_offsets":[24,32]},` +
		`"w":{"dtype":"F32","shape":[2],"data_offsets":[32,40]},"m":{"dtype":"BOOL","shape":[2],"data_offsets":[40,42]},` +
		`"u":{"dtype":"U8","shape":[1],"data_offsets":[42,43]}}`
	if (8+len(hdr))%4 == 0 {
		hdr += " "
	}
	data := append(le64i(-5, 0, math.MaxInt32), le64i(math.MaxInt32+1)...)
	data = append(data, le32(1.5, -2)...)
	data = append(data, 1, 0, 7)
	path := writeTemp(t, "ints.safetensors", rawFile(hdr, data))
	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()

	ids, err := f.Tensor("ids")
	require.NoError(t, err)
	assert.Equal(t, tensor.Int32, ids.DType())
	assert.Equal(t, []int32{-5, 0, math.MaxInt32}, ids.DataI32())

	_, err = f.Tensor("big")
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), `"big"`)
	assert.Contains(t, err.Error(), "2147483648")

	w, err := f.Tensor("w")
	require.NoError(t, err)
	assert.Equal(t, []float32{1.5, -2}, w.Data32())
	w2, err := f.Float32("w")
	require.NoError(t, err)
	assert.Equal(t, []float32{1.5, -2}, w2.Data32())

	for _, name := range []string{"m", "u"} {
		_, err = f.Tensor(name)
		assert.ErrorIs(t, err, ErrUnsupportedDType)
		assert.Contains(t, err.Error(), path)
		_, err = f.Float32(name)
		assert.ErrorIs(t, err, ErrUnsupportedDType)
	}
	_, err = f.Float32("ids")
	assert.ErrorIs(t, err, ErrUnsupportedDType)

	_, err = f.Tensor("nope")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), path)
	_, err = f.Info("nope")
	assert.ErrorIs(t, err, ErrNotFound)
	info, err := f.Info("m")
	require.NoError(t, err)
	assert.Equal(t, Info{DType: "BOOL", Shape: []int{2}, Size: 2}, info)
}

// TestWriteErrors checks Write's refusals and that a failed write leaves
// neither a partial file nor a temporary file behind.
func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	require.NoError(t, Write(path, map[string]*tensor.Tensor{"a": tensor.Ones(2)}, nil))
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	err = Write(path, map[string]*tensor.Tensor{"a": tensor.Ones(3), "b": nil}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	err = Write(path, map[string]*tensor.Tensor{metadataKey: tensor.Ones(3)}, nil)
	require.Error(t, err)

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after, "failed write changed the existing file")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "temporary file left behind")

	err = Write(filepath.Join(dir, "missing-dir", "x.safetensors"), map[string]*tensor.Tensor{"a": tensor.Ones(2)}, nil)
	require.Error(t, err)

	// An empty file is valid: a padded "{}" header and no data.
	empty := filepath.Join(dir, "empty.safetensors")
	require.NoError(t, Write(empty, nil, nil))
	f, err := Open(empty)
	require.NoError(t, err)
	assert.Empty(t, f.Names())
	assert.Empty(t, f.Metadata())
	require.NoError(t, f.Close())
}

// TestPortablePath runs the round trip and the conversions with the
// big-endian code path forced (byte-by-byte decoding and encoding, no
// aliasing), which big-endian hosts take.
func TestPortablePath(t *testing.T) {
	if !littleEndian {
		t.Skip("already big-endian")
	}
	littleEndian = false
	defer func() { littleEndian = true }()
	t.Run("RoundTrip", TestRoundTrip)
	t.Run("Float32Conversion", TestFloat32Conversion)
	t.Run("Int64AndUnsupported", TestInt64AndUnsupported)
	t.Run("Sharded", TestShardedRoundTrip)
	t.Run("Reencode", TestReferenceReencode)
}
