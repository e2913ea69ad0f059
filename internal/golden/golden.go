package golden

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
)

// Root returns the golden fixture root: $RAGR_GOLDEN, or the repository's
// testdata/golden.
func Root() string {
	if r := os.Getenv("RAGR_GOLDEN"); r != "" {
		return r
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "golden")
}

// Case is one fixture folder.
type Case struct {
	Name, Dir string
	// Inputs is inputs.json decoded.
	Inputs map[string]json.RawMessage
	// Expected holds expected.safetensors' tensors as float32.
	Expected map[string]*tensor.Tensor
}

// Load reads the case folder dir.
func Load(dir string) (*Case, error) {
	c := &Case{Name: filepath.Base(dir), Dir: dir, Expected: map[string]*tensor.Tensor{}}
	b, err := os.ReadFile(filepath.Join(dir, "inputs.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &c.Inputs); err != nil {
		return nil, fmt.Errorf("%s/inputs.json: %w", dir, err)
	}
	f, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	for _, n := range f.Names() {
		t, err := f.Float32(n)
		if err != nil {
			return nil, err
		}
		c.Expected[n] = t
	}
	return c, nil
}

// Ints decodes inputs.json's key as a 2-D int array into an Int32 tensor.
func (c *Case) Ints(key string) (*tensor.Tensor, error) {
	raw, ok := c.Inputs[key]
	if !ok {
		return nil, fmt.Errorf("%s: inputs.json has no %q", c.Name, key)
	}
	var rows [][]int32
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, fmt.Errorf("%s: inputs.json %q: %w", c.Name, key, err)
	}
	if len(rows) == 0 {
		return tensor.New(tensor.Int32, 0, 0), nil
	}
	flat := make([]int32, 0, len(rows)*len(rows[0]))
	for _, r := range rows {
		if len(r) != len(rows[0]) {
			return nil, fmt.Errorf("%s: inputs.json %q is ragged", c.Name, key)
		}
		flat = append(flat, r...)
	}
	return tensor.FromInt32(flat, len(rows), len(rows[0])), nil
}

// Decode decodes inputs.json's key into v.
func (c *Case) Decode(key string, v any) error {
	raw, ok := c.Inputs[key]
	if !ok {
		return fmt.Errorf("%s: inputs.json has no %q", c.Name, key)
	}
	return json.Unmarshal(raw, v)
}

// ExpectedNames lists the expected tensors, sorted.
func (c *Case) ExpectedNames() []string {
	names := make([]string, 0, len(c.Expected))
	for n := range c.Expected {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TextModelDir copies the golden model case name (config.json and
// model.safetensors) into a fresh directory under dir and adds a 512-token
// WordPiece vocab.txt — "[PAD]" 0, "[UNK]" 100, "[CLS]" 101, "[SEP]" 102,
// "[MASK]" 103 and "wN" for every other id N — so tests can feed text to the
// tiny golden BERT models (vocabulary 512). It returns the new directory.
func TextModelDir(dir, name string) (string, error) {
	src := filepath.Join(Root(), name)
	dst := filepath.Join(dir, name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			return "", err
		}
	}
	if err := WriteWordVocab(dst); err != nil {
		return "", err
	}
	return dst, nil
}

// WriteWordVocab writes TextModelDir's 512-token vocab.txt into dir.
func WriteWordVocab(dir string) error {
	special := map[int]string{0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]"}
	var b []byte
	for i := 0; i < 512; i++ {
		if s, ok := special[i]; ok {
			b = append(b, s...)
		} else {
			b = fmt.Appendf(b, "w%d", i)
		}
		b = append(b, '\n')
	}
	return os.WriteFile(filepath.Join(dir, "vocab.txt"), b, 0o644)
}
