package safetensors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

// shardedState is a small state dict of mixed dtypes.
func shardedState() map[string]*tensor.Tensor {
	r := testutil.NewRand(3)
	bf := make([]uint16, 6)
	for i := range bf {
		bf[i] = uint16(r.Uint32() & 0x7f7f)
	}
	return map[string]*tensor.Tensor{
		"embeddings.weight":     tensor.FromFloat32(testutil.Normal32(r, 40, 1), 10, 4),
		"layer.0.weight":        tensor.FromFloat32(testutil.Normal32(r, 16, 1), 4, 4),
		"layer.0.bias":          tensor.FromFloat32(testutil.Normal32(r, 4, 1), 4),
		"layer.1.weight":        tensor.FromUint16(tensor.BFloat16, bf, 2, 3),
		"position_ids":          tensor.FromInt32([]int32{0, 1, 2, 3}, 1, 4),
		"pooler.dense.weight":   tensor.FromFloat64(testutil.Uniform64(r, 4, -1, 1), 2, 2),
		"pooler.dense.bias.big": tensor.FromFloat32(testutil.Normal32(r, 64, 1), 64),
	}
}

// TestShardedRoundTrip writes a state dict as shards plus an index and reads
// it back through OpenDir and OpenIndex.
func TestShardedRoundTrip(t *testing.T) {
	dir := t.TempDir()
	state := shardedState()
	files, err := WriteSharded(dir, state, map[string]string{"format": "pt"}, 100)
	require.NoError(t, err)
	require.Greater(t, len(files), 2, "expected several shards")
	assert.Equal(t, IndexName, files[len(files)-1])
	assert.Equal(t, "model-00001-of-00004.safetensors", files[0])

	var idx struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	js, err := os.ReadFile(filepath.Join(dir, IndexName))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(js, &idx))
	var total int64
	for _, x := range state {
		total += int64(x.Numel() * x.DType().Size())
	}
	assert.Equal(t, total, idx.Metadata["total_size"])
	assert.Len(t, idx.WeightMap, len(state))
	assert.Equal(t, "model-00004-of-00004.safetensors", idx.WeightMap["position_ids"])

	src, err := OpenDir(dir)
	require.NoError(t, err)
	defer src.Close()
	sh, ok := src.(*Sharded)
	require.True(t, ok, "OpenDir returned %T", src)
	assert.Len(t, sh.Shards(), 4)
	assert.Equal(t, map[string]string{"total_size": "556"}, src.Metadata())
	assert.Equal(t, int64(556), total)
	checkState(t, src, state)

	_, err = src.Tensor("nope")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), IndexName)

	// Everything in one shard: a plain model.safetensors, no index.
	dir1 := t.TempDir()
	files, err = WriteSharded(dir1, state, nil, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, []string{SingleName}, files)
	one, err := OpenDir(dir1)
	require.NoError(t, err)
	defer one.Close()
	_, ok = one.(*File)
	assert.True(t, ok)
	checkState(t, one, state)
}

// checkState compares every tensor of src with state.
func checkState(t *testing.T, src Source, state map[string]*tensor.Tensor) {
	t.Helper()
	assert.Len(t, src.Names(), len(state))
	for name, want := range state {
		got, err := src.Tensor(name)
		require.NoError(t, err, name)
		assert.Equal(t, want.Shape(), got.Shape(), name)
		assert.Equal(t, want.DType(), got.DType(), name)
		info, err := src.Info(name)
		require.NoError(t, err, name)
		assert.Equal(t, want.Shape(), info.Shape, name)
		if want.DType() == tensor.Int32 {
			assert.Equal(t, want.DataI32(), got.DataI32(), name)
			continue
		}
		assert.Equal(t, want.Float64s(), got.Float64s(), name)
		f, err := src.Float32(name)
		require.NoError(t, err, name)
		testutil.AssertClose(t, name, f.Data32(), refFloat32s(want), testutil.Exact)
	}
}

// TestShardedErrors checks index problems: each error names the index file
// and, where there is one, the tensor and the shard.
func TestShardedErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, Write(filepath.Join(dir, "s1.safetensors"), map[string]*tensor.Tensor{"a": tensor.Ones(2)}, nil))
	require.NoError(t, Write(filepath.Join(dir, "bad.safetensors"), nil, nil))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "trunc.safetensors"), []byte{1, 2, 3}, 0o644))
	cases := []struct {
		name, index string
		want        []string
	}{
		{"missing-shard", `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}`, []string{`tensor "b"`, `shard "s2.safetensors" is missing`}},
		{"tensor-not-in-shard", `{"weight_map":{"a":"s1.safetensors","c":"s1.safetensors"}}`, []string{`tensor "c"`, `shard "s1.safetensors" does not hold it`}},
		{"bad-shard", `{"weight_map":{"a":"trunc.safetensors"}}`, []string{"trunc.safetensors", "shorter than"}},
		{"empty-shard", `{"weight_map":{"a":"bad.safetensors"}}`, []string{`tensor "a"`, "does not hold it"}},
		{"bad-json", `{"weight_map":{"a":`, []string{"not valid JSON"}},
		{"no-weight-map", `{"metadata":{}}`, []string{"no weight_map"}},
		{"escape", `{"weight_map":{"a":"../s1.safetensors"}}`, []string{"not a file inside"}},
		{"absolute", `{"weight_map":{"a":"/etc/passwd"}}`, []string{"not a file inside"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".index.json")
			require.NoError(t, os.WriteFile(path, []byte(c.index), 0o644))
			s, err := OpenIndex(path)
			if !assert.Error(t, err) {
				s.Close()
				return
			}
			assert.Contains(t, err.Error(), path)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	_, err := OpenIndex(filepath.Join(dir, "none.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = OpenDir(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir)
}
