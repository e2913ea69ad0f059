package safetensors

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/tensor"
)

// validFile returns a small valid file (two tensors and metadata).
func validFile(t testing.TB) []byte {
	var buf bytes.Buffer
	_, err := Encode(&buf, map[string]*tensor.Tensor{
		"a": tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3),
		"b": tensor.FromUint16(tensor.BFloat16, []uint16{1, 2, 3}, 3),
	}, map[string]string{"format": "pt"})
	require.NoError(t, err)
	return buf.Bytes()
}

// lengthPrefix returns the 8-byte little-endian header length n.
func lengthPrefix(n uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, n)
	return b
}

// malformedCases are files Open must reject, with a phrase the error must
// contain besides the file name.
func malformedCases(t testing.TB) []struct {
	name string
	data []byte
	want string
} {
	valid := validFile(t)
	d8 := make([]byte, 8)
	return []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than the 8-byte header length"},
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte header length"},
		{"truncated", valid[:len(valid)-5], "out of bounds"},
		{"truncated-end", append(valid[:len(valid)-2:len(valid)-2], 0), "out of bounds"},
		{"extended", append(valid[:len(valid):len(valid)], 0), "data buffer is"},
		{"truncated-header", valid[:20], "larger than the"},
		{"header-longer-than-file", append(lengthPrefix(1000), `{}`...), "larger than the"},
		{"header-huge", append(lengthPrefix(1<<62), `{}`...), "exceeds"},
		{"header-empty", lengthPrefix(0), "not valid JSON"},
		{"bad-json", rawFile(`{"a":{"dtype":"F32",`, nil), "not valid JSON"},
		{"not-object", rawFile(`[1,2]`, nil), "not a JSON object"},
		{"trailing-garbage", rawFile(`{} x`, nil), "trailing data"},
		{"two-objects", rawFile(`{}{}`, nil), "trailing data"},
		{"duplicate-key", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, d8[:4]), "twice"},
		{"unknown-dtype", rawFile(`{"a":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}`, d8[:4]), `unknown dtype "F17"`},
		{"missing-field", rawFile(`{"a":{"dtype":"F32","shape":[1]}}`, d8[:4]), "needs dtype, shape and data_offsets"},
		{"entry-not-object", rawFile(`{"a":3}`, nil), "bad header entry"},
		{"shape-not-ints", rawFile(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, d8[:4]), "bad header entry"},
		{"negative-dim", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, d8[:4]), "negative dimension"},
		{"shape-overflow", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}`, d8[:4]), "overflows"},
		{"shape-overflow-after-zero", rawFile(`{"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}`, nil), "overflows"},
		{"offsets-three", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, d8[:4]), "data_offsets has 3 values"},
		{"offsets-reversed", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, d8[:4]), "bad data_offsets"},
		{"offsets-negative", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, d8[:4]), "bad data_offsets"},
		{"out-of-bounds", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, d8[:4]), "out of bounds"},
		{"out-of-bounds-huge", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775800,9223372036854775804]}}`, d8[:4]), "out of bounds"},
		{"size-mismatch", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, d8), "span 8 bytes"},
		{"size-mismatch-dtype", rawFile(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}`, d8), "span 8 bytes"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "overlap"},
		{"overlap-same", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, d8), "overlap"},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "gap"},
		{"trailing-bytes", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, d8), "data buffer is 8 bytes"},
		{"metadata-not-strings", rawFile(`{"__metadata__":{"n":1}}`, nil), "__metadata__"},
		{"metadata-not-object", rawFile(`{"__metadata__":"x"}`, nil), "__metadata__"},
	}
}

// TestMalformed checks that every malformed file is rejected with an error
// naming the file, never a panic.
func TestMalformed(t *testing.T) {
	for _, c := range malformedCases(t) {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, c.name+".safetensors", c.data)
			f, err := Open(path)
			if !assert.Error(t, err) {
				f.Close()
				return
			}
			assert.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	t.Run("tensor-named", func(t *testing.T) {
		path := writeTemp(t, "x.safetensors", rawFile(`{"the.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)))
		_, err := Open(path)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `tensor "the.weight"`)
	})
	t.Run("missing-file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.safetensors")
		_, err := Open(path)
		require.Error(t, err)
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), path)
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Open(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), dir)
	})
}

// FuzzOpen opens arbitrary bytes as a safetensors file and loads every
// tensor it accepts: never a panic, and errors always name the file. The
// seed corpus (valid files and every malformed case) runs as a normal test.
func FuzzOpen(f *testing.F) {
	f.Add(validFile(f))
	raw, err := os.ReadFile(fixture)
	if err == nil {
		f.Add(raw)
	}
	f.Add(rawFile(`{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"x":{"dtype":"F64","shape":[],"data_offsets":[8,16]}}`, make([]byte, 16)))
	f.Add(rawFile(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"BF16","shape":[0],"data_offsets":[2,2]},"c":{"dtype":"I32","shape":[1],"data_offsets":[2,6]}}`, make([]byte, 6)))
	for _, c := range malformedCases(f) {
		f.Add(c.data)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Open(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		defer file.Close()
		for _, name := range file.Names() {
			info, err := file.Info(name)
			if err != nil {
				t.Fatal(err)
			}
			x, err := file.Tensor(name)
			if err == nil && !equalInts(x.Shape(), info.Shape) {
				t.Fatalf("tensor %q: shape %v, info %v", name, x.Shape(), info.Shape)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			y, err := file.Float32(name)
			if err == nil && y.Numel() != x.Numel() {
				t.Fatalf("tensor %q: Float32 has %d elements, Tensor %d", name, y.Numel(), x.Numel())
			}
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
