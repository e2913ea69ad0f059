package torchbin

import (
	"archive/zip"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/tensor"
)

// torchLoadPy loads each checkpoint named on the command line with
// torch.load (weights_only=False, and True where this torch has it) and
// prints, per file and mode, every tensor's dtype, shape and raw row-major
// bytes, plus the data.pkl torch.save writes when it saves the loaded dict
// again (which must equal ours byte for byte).
const torchLoadPy = `
import sys, io, json, inspect, zipfile, torch
modes = [False] + ([True] if 'weights_only' in inspect.signature(torch.load).parameters else [])
out = {}
for path in sys.argv[1:]:
    res = {'modes': {}}
    for w in modes:
        sd = torch.load(path, weights_only=w) if len(modes) > 1 else torch.load(path)
        d = {}
        for k, v in sd.items():
            f = v.reshape(-1).contiguous()
            if f.dtype in (torch.float16, torch.bfloat16):
                f = f.view(torch.int16)
            d[k] = [str(v.dtype), list(v.shape), f.numpy().tobytes().hex()]
        res['modes'][str(w)] = d
        res['type'] = type(sd).__name__
    b = io.BytesIO(); torch.save(sd, b); b.seek(0)
    res['pkl'] = zipfile.ZipFile(b).read('archive/data.pkl').hex()
    out[path] = res
print(json.dumps(out))
`

// torchResult is torchLoadPy's report on one file.
type torchResult struct {
	Modes map[string]map[string][3]json.RawMessage `json:"modes"`
	Type  string                                   `json:"type"`
	Pkl   string                                   `json:"pkl"`
}

// torchPython returns a python3 that imports torch; the test is skipped
// only when there is none (Debian's python3-torch provides one).
func torchPython(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("no python3: the torch.load check needs python3 with torch (Debian python3-torch)")
		}
	}
	if out, err := exec.Command(py, "-c", "import torch").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import torch (%v: %s): the torch.load check needs python3-torch", py, err, bytes.TrimSpace(out))
	}
	return py
}

// TorchLoad runs torchLoadPy on paths.
func torchLoad(t *testing.T, py string, paths ...string) map[string]torchResult {
	t.Helper()
	cmd := exec.Command(py, append([]string{"-c", torchLoadPy}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "torch.load failed:\n%s", stderr.String())
	res := map[string]torchResult{}
	require.NoError(t, json.Unmarshal(out, &res), "python output: %s", out)
	return res
}

// torchDType is the torch dtype name a tensor is stored as.
func torchDType(d tensor.DType, int64s bool) string {
	if d == tensor.Int32 && int64s {
		return "torch.int64"
	}
	return "torch." + d.String()
}

// expectTorch checks torch's view of a file against the tensors written.
func expectTorch(t *testing.T, r torchResult, ts []NamedTensor, int64s bool, pkl []byte) {
	t.Helper()
	assert.Equal(t, "OrderedDict", r.Type)
	require.NotEmpty(t, r.Modes)
	for mode, got := range r.Modes {
		require.Len(t, got, len(ts), "weights_only=%s", mode)
		for _, w := range ts {
			g, ok := got[w.Name]
			if !assert.True(t, ok, "weights_only=%s: tensor %q missing", mode, w.Name) {
				continue
			}
			var dt, hx string
			var shape []int
			require.NoError(t, json.Unmarshal(g[0], &dt))
			require.NoError(t, json.Unmarshal(g[1], &shape))
			require.NoError(t, json.Unmarshal(g[2], &hx))
			name := fmt.Sprintf("weights_only=%s %s", mode, w.Name)
			assert.Equal(t, torchDType(w.Tensor.DType(), int64s), dt, name)
			assert.Equal(t, fmt.Sprint(w.Tensor.Shape()), fmt.Sprint(shape), name)
			want := rawBits(w.Tensor)
			if w.Tensor.DType() == tensor.Int32 && int64s {
				want = nil
				for _, x := range w.Tensor.Contiguous().DataI32() {
					v := uint64(int64(x))
					for i := 0; i < 8; i++ {
						want = append(want, byte(v>>(8*i)))
					}
				}
			}
			assert.Equal(t, hex.EncodeToString(want), hx, name)
		}
	}
	if pkl != nil {
		assert.Equal(t, hex.EncodeToString(pkl), r.Pkl, "data.pkl differs from what torch.save writes for the same dict")
	}
}

// dataPkl returns the data.pkl entry of an archive.
func dataPkl(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	rc, err := zr.File[0].Open()
	require.NoError(t, err)
	defer rc.Close()
	p, err := io.ReadAll(rc)
	require.NoError(t, err)
	return p
}

// TestTorchLoadsWritten has PyTorch load what the writer wrote (every
// dtype and shape, int64, zip64 fields, 300 tensors, the committed fixture)
// and compares dtypes, shapes and bits, and data.pkl with torch.save's own.
func TestTorchLoadsWritten(t *testing.T) {
	py := torchPython(t)
	dir := t.TempDir()
	type file struct {
		path   string
		ts     []NamedTensor
		int64s bool
		pkl    []byte
	}
	var files []file
	add := func(name string, ts []NamedTensor, o *WriteOptions) {
		p := filepath.Join(dir, name)
		require.NoError(t, Save(p, ts, o))
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		files = append(files, file{p, ts, o != nil && o.Int64, dataPkl(t, b)})
	}

	var all []NamedTensor
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16, tensor.Int32} {
		for i, sh := range [][]int{{}, {0}, {3, 0}, {1, 7}, {17}, {2, 3, 4, 5}} {
			all = append(all, NamedTensor{fmt.Sprintf("%s.%d", dt, i), sample(dt, uint64(i), true, sh...)})
		}
		all = append(all, NamedTensor{dt.String() + ".t", sample(dt, 9, false, 3, 5).T()})
	}
	add("all.pt", all, nil)
	add("int64.pt", []NamedTensor{{"position_ids", sample(tensor.Int32, 4, false, 1, 6)}}, &WriteOptions{Int64: true})
	many := make([]NamedTensor, 300)
	for i := range many {
		many[i] = NamedTensor{fmt.Sprintf("encoder.layer.%d.weight", i), sample(tensor.Float32, uint64(i), false, 2)}
	}
	add("many.bin", many, nil)
	func() {
		old := zip64Limit
		zip64Limit = 0
		defer func() { zip64Limit = old }()
		add("zip64.pt", all[:8], nil)
	}()
	fixture := filepath.Join("testdata", "written", "colbert_linear.pt")
	files = append(files, file{fixture, writtenFixture(), true, nil})

	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	res := torchLoad(t, py, paths...)
	for _, f := range files {
		t.Run(filepath.Base(f.path), func(t *testing.T) {
			r, ok := res[f.path]
			require.True(t, ok)
			expectTorch(t, r, f.ts, f.int64s, f.pkl)
		})
	}
}
