package tokenizer

// golden_test.go: the tokenizer golden harness. It runs every tokenizer
// case under the golden root ($RAGR_GOLDEN, default the repository's
// testdata/golden):
//
//   - tokenizer-*/ folders (inputs.json, expected.json): ids of the slow
//     transformers tokenizers (BertTokenizer, Qwen2Tokenizer);
//   - tokenizers/*.jsonl (with manifest.json): ids, tokens, type ids,
//     masks, sequence ids and offsets of Hugging Face tokenizers 0.23.2,
//     including truncation; where a record also gives the tokenizers <= 0.22
//     result ("classic"), that is checked with FullLengthTruncation.
//
// Tokenizer files are found relative to the data/ folder beside the golden
// root, or relative to the golden root's parent. Every record that differs
// is reported with t.Errorf; each case ends with a summary line
// "golden CASE records=N mismatches=M" (t.Logf, shown with -v).

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

func goldenRoot() string {
	if r := os.Getenv("RAGR_GOLDEN"); r != "" {
		return r
	}
	return filepath.Join("..", "..", "testdata", "golden")
}

// goldenDataPath resolves a tokenizer file path given relative to the data
// folder or to the golden root's parent.
func goldenDataPath(root, rel string) (string, error) {
	for _, p := range []string{filepath.Join(root, "..", "data", rel), filepath.Join(root, "..", rel)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("tokenizer file %q not found under %s/../data or %s/..", rel, root, root)
}

var (
	tokCacheMu sync.Mutex
	tokCache   = map[string]*Tokenizer{}
)

// cachedTokenizer loads a tokenizer once per test binary.
func cachedTokenizer(key string, load func() (*Tokenizer, error)) (*Tokenizer, error) {
	tokCacheMu.Lock()
	defer tokCacheMu.Unlock()
	if t, ok := tokCache[key]; ok {
		return t, nil
	}
	t, err := load()
	if err != nil {
		return nil, err
	}
	tokCache[key] = t
	return t, nil
}

func TestGolden(t *testing.T) {
	root := goldenRoot()
	cases := 0
	dirs, _ := filepath.Glob(filepath.Join(root, "tokenizer-*"))
	sort.Strings(dirs)
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		cases++
		name := filepath.Base(d)
		t.Run(name, func(t *testing.T) { runSlowGolden(t, root, d, name) })
	}
	files, _ := filepath.Glob(filepath.Join(root, "tokenizers", "*.jsonl"))
	sort.Strings(files)
	for _, f := range files {
		cases++
		name := "tokenizers/" + strings.TrimSuffix(filepath.Base(f), ".jsonl")
		t.Run(name, func(t *testing.T) { runFastGolden(t, root, f, name) })
	}
	if cases == 0 {
		t.Fatalf("no tokenizer golden cases under %s", root)
	}
}

// ---- slow-tokenizer cases ----

type slowInputs struct {
	Kind     string          `json:"kind"`
	Sources  []string        `json:"source_files_relative_to_tokenizer_data"`
	Settings json.RawMessage `json:"settings"`
}

type slowExpected struct {
	Cases []struct {
		Text      string   `json:"text"`
		IDs       []int32  `json:"input_ids"`
		Tokens    []string `json:"tokens"`
		NoSpecial []int32  `json:"input_ids_no_special"`
	} `json:"cases"`
	Pair *struct {
		Text    string  `json:"text"`
		Pair    string  `json:"text_pair"`
		IDs     []int32 `json:"input_ids"`
		TypeIDs []int32 `json:"token_type_ids"`
	} `json:"pair_example"`
}

func readJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func loadSlowTokenizer(root string, in *slowInputs) (*Tokenizer, error) {
	if len(in.Sources) == 0 {
		return nil, errors.New("inputs.json names no tokenizer file")
	}
	path, err := goldenDataPath(root, in.Sources[0])
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, "vocab.txt") {
		return cachedTokenizer(path, func() (*Tokenizer, error) { return FromFile(path) })
	}
	var s struct {
		Lower    *bool `json:"do_lower_case"`
		Strip    *bool `json:"strip_accents"`
		Chinese  *bool `json:"tokenize_chinese_chars"`
		MaxChars *int  `json:"max_input_chars_per_word"`
	}
	if err := json.Unmarshal(in.Settings, &s); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	cfg := DefaultBertConfig()
	if s.Lower != nil {
		cfg.Lowercase = *s.Lower
	}
	cfg.StripAccents = s.Strip
	if s.Chinese != nil {
		cfg.ChineseChars = *s.Chinese
	}
	if s.MaxChars != nil {
		cfg.MaxInputCharsPerWord = *s.MaxChars
	}
	key := fmt.Sprintf("%s|%+v|%v", path, cfg, cfg.StripAccents != nil && *cfg.StripAccents)
	return cachedTokenizer(key, func() (*Tokenizer, error) { return FromVocabFile(path, cfg) })
}

func runSlowGolden(t *testing.T, root, dir, name string) {
	var in slowInputs
	var exp slowExpected
	if err := readJSONFile(filepath.Join(dir, "inputs.json"), &in); err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	if err := readJSONFile(filepath.Join(dir, "expected.json"), &exp); err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	tok, err := loadSlowTokenizer(root, &in)
	if err != nil {
		t.Fatalf("golden %s: cannot load tokenizer: %v", name, err)
	}
	records, mismatches := 0, 0
	for i, c := range exp.Cases {
		records++
		var diffs []string
		e := tok.Encode(c.Text, true)
		diffs = diffField(diffs, "input_ids", e.IDs, c.IDs)
		diffs = diffField(diffs, "tokens", e.Tokens, c.Tokens)
		diffs = diffField(diffs, "input_ids_no_special", tok.Encode(c.Text, false).IDs, c.NoSpecial)
		if len(diffs) > 0 {
			mismatches++
			t.Errorf("golden %s case %d text=%q: %s", name, i, c.Text, strings.Join(diffs, "; "))
		}
	}
	if p := exp.Pair; p != nil {
		records++
		e := tok.EncodePair(p.Text, p.Pair, true)
		var diffs []string
		diffs = diffField(diffs, "input_ids", e.IDs, p.IDs)
		diffs = diffField(diffs, "token_type_ids", e.TypeIDs, p.TypeIDs)
		if len(diffs) > 0 {
			mismatches++
			t.Errorf("golden %s pair_example text=%q pair=%q: %s", name, p.Text, p.Pair, strings.Join(diffs, "; "))
		}
	}
	t.Logf("golden %s records=%d mismatches=%d", name, records, mismatches)
}

// diffField appends "name: got X want Y" when got != want (nil and empty
// slices are equal).
func diffField[T any](diffs []string, name string, got, want []T) []string {
	if len(got) == 0 && len(want) == 0 {
		return diffs
	}
	if !reflect.DeepEqual(got, want) {
		diffs = append(diffs, fmt.Sprintf("%s: got %v want %v", name, fmtSlice(got), fmtSlice(want)))
	}
	return diffs
}

func fmtSlice[T any](s []T) string {
	if ss, ok := any(s).([]string); ok {
		return fmt.Sprintf("%q", ss)
	}
	return fmt.Sprint(s)
}

// ---- tokenizers 0.23.2 cases ----

type fastManifest struct {
	Files map[string]struct {
		TokenizerJSON string `json:"tokenizer_json"`
		Patch         string `json:"patch"`
	} `json:"files"`
}

type fastRecord struct {
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Text        string     `json:"text"`
	TextPair    string     `json:"text_pair"`
	IDs         []int32    `json:"ids"`
	Tokens      []string   `json:"tokens"`
	TypeIDs     []int32    `json:"type_ids"`
	Special     []int32    `json:"special_tokens_mask"`
	Attention   []int32    `json:"attention_mask"`
	SequenceIDs []*int32   `json:"sequence_ids"`
	Offsets     [][2]int   `json:"offsets"`
	ByteOffsets [][2]int   `json:"byte_offsets"`
	Error       string     `json:"error"`
	Truncation  *truncSpec `json:"truncation"`
	Classic     *struct {
		IDs     []int32  `json:"ids"`
		Tokens  []string `json:"tokens"`
		TypeIDs []int32  `json:"type_ids"`
	} `json:"classic"`
}

type truncSpec struct {
	MaxLength int    `json:"max_length"`
	Strategy  string `json:"strategy"`
	Direction string `json:"direction"`
	Stride    int    `json:"stride"`
}

func (s *truncSpec) options() (Options, error) {
	o := Options{MaxLength: s.MaxLength}
	switch s.Strategy {
	case "longest_first":
		o.Truncation = LongestFirst
	case "only_first":
		o.Truncation = OnlyFirst
	case "only_second":
		o.Truncation = OnlySecond
	default:
		return o, fmt.Errorf("unknown truncation strategy %q", s.Strategy)
	}
	switch s.Direction {
	case "right", "":
	case "left":
		o.TruncationSide = Left
	default:
		return o, fmt.Errorf("unknown truncation direction %q", s.Direction)
	}
	if s.Stride != 0 {
		return o, fmt.Errorf("stride %d not supported", s.Stride)
	}
	return o, nil
}

// loadPatchedJSON loads a tokenizer.json applying a manifest patch.
func loadPatchedJSON(path, patch string) (*Tokenizer, error) {
	if patch == "" {
		return FromFile(path)
	}
	if !strings.HasPrefix(patch, "normalizer.lowercase set to true") {
		return nil, fmt.Errorf("unknown manifest patch %q", patch)
	}
	data, err := readMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	n, ok := m["normalizer"].(map[string]any)
	if !ok {
		return nil, errors.New("patch: no normalizer object")
	}
	n["lowercase"] = true
	data, err = json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return FromJSON(data)
}

func runFastGolden(t *testing.T, root, file, name string) {
	var man fastManifest
	if err := readJSONFile(filepath.Join(filepath.Dir(file), "manifest.json"), &man); err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	entry, ok := man.Files[filepath.Base(file)]
	if !ok {
		t.Fatalf("golden %s: not listed in manifest.json", name)
	}
	path, err := goldenDataPath(root, strings.TrimPrefix(entry.TokenizerJSON, "data/"))
	if err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	key := path
	if entry.Patch != "" {
		key += "|" + entry.Patch
	}
	tok, err := cachedTokenizer(key, func() (*Tokenizer, error) { return loadPatchedJSON(path, entry.Patch) })
	if err != nil {
		t.Fatalf("golden %s: cannot load tokenizer: %v", name, err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	records, mismatches := 0, 0
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r fastRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("golden %s line %d: %v", name, line, err)
		}
		records++
		diffs, err := checkFastRecord(tok, &r)
		if err != nil {
			t.Fatalf("golden %s line %d (%s): cannot run: %v", name, line, r.Name, err)
		}
		if len(diffs) > 0 {
			mismatches++
			t.Errorf("golden %s line %d %s/%s text=%q pair=%q: %s", name, line, r.Kind, r.Name, r.Text, r.TextPair, strings.Join(diffs, "; "))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	t.Logf("golden %s records=%d mismatches=%d", name, records, mismatches)
}

func checkFastRecord(tok *Tokenizer, r *fastRecord) ([]string, error) {
	var e Encoding
	pair := false
	var encErr error
	switch r.Kind {
	case "single":
		e = tok.Encode(r.Text, true)
	case "pair":
		pair = true
		e = tok.EncodePair(r.Text, r.TextPair, true)
	case "single_truncated", "pair_truncated":
		if r.Truncation == nil {
			return nil, errors.New("truncated record without truncation")
		}
		o, err := r.Truncation.options()
		if err != nil {
			return nil, err
		}
		if r.Kind == "pair_truncated" {
			pair = true
			e, encErr = tok.EncodePairWith(r.Text, r.TextPair, o)
		} else {
			e, encErr = tok.EncodeWith(r.Text, o)
		}
	default:
		return nil, fmt.Errorf("unknown record kind %q", r.Kind)
	}
	var diffs []string
	if r.Error != "" {
		if encErr == nil {
			return []string{fmt.Sprintf("error: got none want %q", r.Error)}, nil
		}
		if !errors.Is(encErr, ErrSequenceTooShort) || !strings.Contains(r.Error, "too short") {
			return []string{fmt.Sprintf("error: got %q want %q", encErr, r.Error)}, nil
		}
		return nil, nil
	}
	if encErr != nil {
		return []string{fmt.Sprintf("error: got %q want none", encErr)}, nil
	}
	diffs = diffField(diffs, "ids", e.IDs, r.IDs)
	diffs = diffField(diffs, "tokens", e.Tokens, r.Tokens)
	diffs = diffField(diffs, "type_ids", e.TypeIDs, r.TypeIDs)
	diffs = diffField(diffs, "special_tokens_mask", e.SpecialTokensMask, r.Special)
	if r.Attention != nil {
		diffs = diffField(diffs, "attention_mask", e.AttentionMask, r.Attention)
	}
	if r.SequenceIDs != nil {
		want := make([]int32, len(r.SequenceIDs))
		for i, s := range r.SequenceIDs {
			want[i] = -1
			if s != nil {
				want[i] = *s
			}
		}
		diffs = diffField(diffs, "sequence_ids", e.SequenceIDs, want)
	}
	second := ""
	if pair {
		second = r.TextPair
	}
	diffs = diffField(diffs, "offsets", e.RuneOffsets(r.Text, second), r.Offsets)
	diffs = diffField(diffs, "byte_offsets", e.Offsets, r.ByteOffsets)
	if r.Classic != nil && r.Truncation != nil {
		// tokenizers <= 0.22 (truncation on full lengths).
		o, _ := r.Truncation.options()
		o.FullLengthTruncation = true
		c, err := tok.EncodePairWith(r.Text, r.TextPair, o)
		if err != nil {
			return append(diffs, fmt.Sprintf("classic: error %v", err)), nil
		}
		diffs = diffField(diffs, "classic ids", c.IDs, r.Classic.IDs)
		diffs = diffField(diffs, "classic tokens", c.Tokens, r.Classic.Tokens)
		diffs = diffField(diffs, "classic type_ids", c.TypeIDs, r.Classic.TypeIDs)
	}
	return diffs, nil
}
