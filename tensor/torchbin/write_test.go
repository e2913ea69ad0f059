package torchbin

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

var update = flag.Bool("update", false, "rewrite testdata/written/ from the writer")

// sample returns a tensor of dtype and shape with distinct values (every
// float16/bfloat16 bit pattern class: normals, negatives, zero, a
// subnormal and, with special, Inf and NaN).
func sample(dtype tensor.DType, seed uint64, special bool, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	r := testutil.NewRand(seed)
	switch dtype {
	case tensor.Float32:
		v := testutil.Normal32(r, n, 1)
		if special && n >= 3 {
			v[0], v[1], v[2] = float32(math.Inf(-1)), float32(math.NaN()), math.SmallestNonzeroFloat32
		}
		return tensor.FromFloat32(v, shape...)
	case tensor.Float64:
		return tensor.FromFloat64(testutil.Uniform64(r, n, -1e300, 1e300), shape...)
	case tensor.Float16, tensor.BFloat16:
		v := make([]uint16, n)
		for i := range v {
			v[i] = uint16(r.Uint32())
		}
		if special && n >= 3 {
			v[0], v[1], v[2] = 0x7c00, 0x0001, 0x8000
		}
		return tensor.FromUint16(dtype, v, shape...)
	case tensor.Int32:
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(r.Uint32())
		}
		if n >= 2 {
			v[0], v[1] = math.MinInt32, math.MaxInt32
		}
		return tensor.FromInt32(v, shape...)
	}
	panic("sample: dtype")
}

// rawBits returns t's elements as bytes in row-major order (bit-exact,
// NaN payloads included).
func rawBits(t *tensor.Tensor) []byte {
	c := t.Contiguous()
	var b []byte
	switch c.DType() {
	case tensor.Float32:
		b = leBytes(c.Data32())
	case tensor.Float64:
		b = leBytes(c.Data64())
	case tensor.Float16, tensor.BFloat16:
		b = leBytes(c.DataU16())
	case tensor.Int32:
		b = leBytes(c.DataI32())
	}
	return append([]byte{}, b...)
}

// writeBytes is Write into a buffer.
func writeBytes(t testing.TB, ts []NamedTensor, o *WriteOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, ts, o))
	return buf.Bytes()
}

// assertSameTensors checks that got holds exactly want's tensors, bit for
// bit, with their dtypes and shapes.
func assertSameTensors(t *testing.T, want []NamedTensor, got map[string]*tensor.Tensor) {
	t.Helper()
	require.Len(t, got, len(want))
	for _, w := range want {
		g, ok := got[w.Name]
		if !assert.True(t, ok, "tensor %q missing", w.Name) {
			continue
		}
		assert.Equal(t, w.Tensor.DType(), g.DType(), w.Name)
		assert.Equal(t, w.Tensor.Shape(), g.Shape(), w.Name)
		assert.Equal(t, rawBits(w.Tensor), rawBits(g), w.Name)
	}
}

// checkLayout checks the archive's zip layout against torch.save's: entry
// order, 64-byte aligned data, stored entries, version and byteorder.
func checkLayout(t *testing.T, b []byte, dir string, n int) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	want := []string{dir + "/data.pkl", dir + "/byteorder"}
	for i := 0; i < n; i++ {
		want = append(want, dir+"/data/"+strconv.Itoa(i))
	}
	want = append(want, dir+"/version")
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		assert.Equal(t, zip.Store, f.Method, f.Name)
		off, err := f.DataOffset()
		require.NoError(t, err)
		assert.Zero(t, off%64, "%s data at offset %d", f.Name, off)
		rc, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc) // checks the CRC
		require.NoError(t, err, f.Name)
		rc.Close()
		switch f.Name {
		case dir + "/version":
			assert.Equal(t, "3\n", string(data))
		case dir + "/byteorder":
			assert.Equal(t, "little", string(data))
		}
	}
	assert.Equal(t, want, names)
}

// TestWriteRoundTrip writes every dtype in every kind of shape and reads it
// back with Load: bit-exact values, dtypes and shapes, and torch.save's
// layout.
func TestWriteRoundTrip(t *testing.T) {
	shapes := [][]int{{}, {0}, {0, 3}, {3, 0}, {1}, {5}, {2, 3}, {1, 7}, {2, 3, 4}, {2, 1, 3, 2}, {33, 17}}
	dtypes := []tensor.DType{tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16, tensor.Int32}
	for _, dt := range dtypes {
		t.Run(dt.String(), func(t *testing.T) {
			var ts []NamedTensor
			for i, sh := range shapes {
				ts = append(ts, NamedTensor{fmt.Sprintf("layer.%d.%v", i, sh), sample(dt, uint64(i), true, sh...)})
			}
			// Non-contiguous inputs are written contiguous.
			base := sample(dt, 99, false, 4, 6)
			ts = append(ts,
				NamedTensor{"transposed", base.T()},
				NamedTensor{"narrowed", base.Narrow(1, 2, 3)},
				NamedTensor{"permuted", sample(dt, 7, false, 2, 3, 4).Permute(2, 0, 1)},
			)
			b := writeBytes(t, ts, nil)
			checkLayout(t, b, "archive", len(ts))
			got, err := LoadFrom(bytes.NewReader(b), int64(len(b)), "rt.pt")
			require.NoError(t, err)
			assertSameTensors(t, ts, got)
		})
	}
}

// TestWriteInt64 stores Int32 tensors as LongStorage and reads them back.
func TestWriteInt64(t *testing.T) {
	ts := []NamedTensor{{"position_ids", sample(tensor.Int32, 1, false, 1, 9)}, {"scalar", tensor.FromInt32([]int32{-5})}}
	b := writeBytes(t, ts, &WriteOptions{Int64: true})
	assert.Contains(t, string(b), "torch\nLongStorage\n")
	assert.NotContains(t, string(b), "IntStorage")
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	for _, f := range zr.File {
		if f.Name == "archive/data/0" {
			assert.EqualValues(t, 8*9, f.UncompressedSize64)
		}
	}
	got, err := LoadFrom(bytes.NewReader(b), int64(len(b)), "ids.pt")
	require.NoError(t, err)
	assertSameTensors(t, ts, got)
}

// TestWriteMany covers memo slots past 255 (LONG_BINPUT / LONG_BINGET) and
// more than one SETITEMS batch of 1000, ending in a single SETITEM.
func TestWriteMany(t *testing.T) {
	for _, n := range []int{0, 1, 2, 40, 1001} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			ts := make([]NamedTensor, n)
			for i := range ts {
				ts[i] = NamedTensor{fmt.Sprintf("p%04d", i), tensor.FromFloat32([]float32{float32(i)}, 1)}
			}
			b := writeBytes(t, ts, nil)
			got, err := LoadFrom(bytes.NewReader(b), int64(len(b)), "many.pt")
			require.NoError(t, err)
			assertSameTensors(t, ts, got)
		})
	}
}

// TestWriteZip64 forces zip64 fields on every entry (as a >4 GiB checkpoint
// gets them) and reads the archive back.
func TestWriteZip64(t *testing.T) {
	old := zip64Limit
	zip64Limit = 0
	defer func() { zip64Limit = old }()
	ts := []NamedTensor{{"w", sample(tensor.Float32, 3, false, 5, 7)}, {"e", tensor.New(tensor.Float32, 0)}}
	b := writeBytes(t, ts, nil)
	checkLayout(t, b, "archive", len(ts))
	got, err := LoadFrom(bytes.NewReader(b), int64(len(b)), "z64.pt")
	require.NoError(t, err)
	assertSameTensors(t, ts, got)
}

// TestWriteErrors: invalid state dicts are errors naming the tensor, and
// nothing is written.
func TestWriteErrors(t *testing.T) {
	x := tensor.FromFloat32([]float32{1}, 1)
	cases := []struct {
		name string
		ts   []NamedTensor
		o    *WriteOptions
		want string
	}{
		{"empty-name", []NamedTensor{{"a", x}, {"", x}}, nil, "tensor 1 has an empty name"},
		{"duplicate", []NamedTensor{{"a", x}, {"a", x}}, nil, `tensor name "a" occurs twice`},
		{"nil", []NamedTensor{{"a", nil}}, nil, `tensor "a" is nil`},
		{"bad-utf8", []NamedTensor{{"a\xff", x}}, nil, "not valid UTF-8"},
		{"archive-slash", []NamedTensor{{"a", x}}, &WriteOptions{ArchiveName: "a/b"}, "without slashes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, c.ts, c.o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Zero(t, buf.Len())
		})
	}
}

// TestSave writes through a file: torch's archive name (base name without
// extension), atomic replacement, no temporary left behind, errors that
// name the path and leave an existing file alone.
func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "colbert_linear.pt")
	ts := []NamedTensor{{"weight", sample(tensor.Float32, 1, false, 4, 8)}, {"bias", sample(tensor.Float32, 2, false, 4)}}
	require.NoError(t, Save(path, ts, nil))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	checkLayout(t, b, "colbert_linear", 2)
	got, err := Load(path)
	require.NoError(t, err)
	assertSameTensors(t, ts, got)

	err = Save(path, []NamedTensor{{"weight", nil}}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	b2, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, b, b2, "a failed Save leaves the old file")

	require.NoError(t, Save(path, ts[:1], &WriteOptions{ArchiveName: "archive"}))
	got, err = Load(path)
	require.NoError(t, err)
	assert.Len(t, got, 1)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, 1, "no temporary files left")

	err = Save(filepath.Join(dir, "missing", "x.pt"), ts, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing")
}

// writtenFixture is the state dict of testdata/written/colbert_linear.pt:
// a colbert_linear of every float dtype, an int64 tensor, a 0-d and an
// empty tensor.
func writtenFixture() []NamedTensor {
	w := make([]float32, 12)
	for i := range w {
		w[i] = float32(i)/4 - 1
	}
	return []NamedTensor{
		{"weight", tensor.FromFloat32(w, 3, 4)},
		{"bias", tensor.FromFloat32([]float32{0.5, -0.25, 1e-3}, 3)},
		{"half", tensor.FromUint16(tensor.Float16, []uint16{0x3c00, 0xc000, 0x7c00, 0x0001}, 2, 2)},
		{"bf16", tensor.FromUint16(tensor.BFloat16, []uint16{0x3f80, 0x4040, 0xbf00}, 3)},
		{"double", tensor.FromFloat64([]float64{0.1})},
		{"ids", tensor.FromInt32([]int32{0, 1, 2, -3}, 1, 4)},
		{"empty", tensor.New(tensor.Float32, 0, 4)},
	}
}

// TestWrittenFixture decodes the committed archive the writer made (so the
// format is checked without PyTorch) and checks the writer still produces
// it byte for byte. Regenerate with -update.
func TestWrittenFixture(t *testing.T) {
	path := filepath.Join("testdata", "written", "colbert_linear.pt")
	ts := writtenFixture()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, Save(path, ts, &WriteOptions{Int64: true}))
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	got, err := Load(path)
	require.NoError(t, err)
	assertSameTensors(t, ts, got)
	checkLayout(t, b, "colbert_linear", len(ts))
	assert.Equal(t, b, writeBytes(t, ts, &WriteOptions{Int64: true, ArchiveName: "colbert_linear"}), "writer output changed; rerun with -update if intended")
}
