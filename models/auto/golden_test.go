package auto

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

// group is one batch of inputs found in inputs.json, with the prefixes its
// expected tensors may carry (longest first).
type group struct {
	path     string
	prefixes []string
	in       Inputs
}

// layoutNames are padding layouts; expected tensors that do not depend on
// the layout carry no layout prefix.
var layoutNames = map[string]bool{"right": true, "left": true, "left_pos": true}

func int2D(raw json.RawMessage) (*tensor.Tensor, bool) {
	var rows [][]int32
	if err := json.Unmarshal(raw, &rows); err != nil || len(rows) == 0 {
		return nil, false
	}
	flat := []int32{}
	for _, r := range rows {
		if len(r) != len(rows[0]) {
			return nil, false
		}
		flat = append(flat, r...)
	}
	return tensor.FromInt32(flat, len(rows), len(rows[0])), true
}

// findGroups walks inputs.json: an object holding input_ids is a group, and
// keys "<p>_input_ids" make a group named p.
func findGroups(obj map[string]json.RawMessage, path []string, out *[]group) {
	inputs := func(pre string) (Inputs, bool) {
		ids, ok := int2D(obj[pre+"input_ids"])
		if !ok {
			return Inputs{}, false
		}
		in := Inputs{IDs: ids}
		in.Mask, _ = int2D(obj[pre+"attention_mask"])
		in.TypeIDs, _ = int2D(obj[pre+"token_type_ids"])
		in.Positions, _ = int2D(obj[pre+"position_ids"])
		return in, true
	}
	var kept []string
	for _, p := range path {
		if p != "layouts" {
			kept = append(kept, p)
		}
	}
	prefixes := func(extra string) []string {
		full := strings.Join(kept, ".")
		var noLayout []string
		for _, p := range kept {
			if !layoutNames[p] {
				noLayout = append(noLayout, p)
			}
		}
		short := strings.Join(noLayout, ".")
		ps := []string{}
		for _, s := range []string{full, short} {
			if s != "" {
				s += "."
			}
			ps = append(ps, s+extra)
		}
		return ps
	}
	if in, ok := inputs(""); ok {
		*out = append(*out, group{path: strings.Join(path, "."), prefixes: prefixes(""), in: in})
	}
	for k := range obj {
		if p, ok := strings.CutSuffix(k, "_input_ids"); ok {
			if in, ok := inputs(p + "_"); ok {
				*out = append(*out, group{path: p, prefixes: prefixes(p + "_"), in: in})
			}
		}
	}
	for k, v := range obj {
		var sub map[string]json.RawMessage
		if json.Unmarshal(v, &sub) == nil && sub != nil {
			findGroups(sub, append(append([]string{}, path...), k), out)
		}
	}
}

// otherHarness lists the case folders that other packages' golden tests
// run: tokenizer-* and tokenizers/ (models/tokenizer), losses (losses) and
// train-step (models/bert's trainstep test). Every other folder is a model
// case and must be computable here.
var otherHarness = map[string]bool{"tokenizers": true, "losses": true, "train-step": true}

// TestGoldenParity runs every model case of the golden root through Load, as
// a user's model directory, and compares every expected tensor.
func TestGoldenParity(t *testing.T) {
	root := golden.Root()
	entries, err := os.ReadDir(root)
	require.NoError(t, err, "golden root %s", root)
	cases := 0
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || otherHarness[name] || strings.HasPrefix(name, "tokenizer") {
			continue
		}
		cases++
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
				t.Fatalf("golden %s: no model directory (config.json); this harness cannot compute its expected tensors", name)
			}
			c, err := golden.Load(dir)
			require.NoError(t, err)
			m, err := Load(dir)
			require.NoError(t, err)
			var groups []group
			findGroups(c.Inputs, nil, &groups)
			require.NotEmpty(t, groups, "no inputs found in inputs.json")
			outs := make([]map[string]*tensor.Tensor, len(groups))
			for i, g := range groups {
				outs[i], err = m.Forward(g.in)
				require.NoError(t, err, "group %q", g.path)
			}
			// Late-interaction scores pair the query and doc groups.
			var scores map[string]*tensor.Tensor
			if s, ok := m.(Scorer); ok {
				var q, d *group
				for i := range groups {
					switch groups[i].path {
					case "query":
						q = &groups[i]
					case "doc":
						d = &groups[i]
					}
				}
				if q != nil && d != nil {
					scores, err = s.Score(q.in, d.in)
					require.NoError(t, err)
				}
			}
			for _, en := range c.ExpectedNames() {
				want := c.Expected[en].Float32s()
				compared := 0
				check := func(label string, got *tensor.Tensor) {
					require.Equal(t, c.Expected[en].Shape(), got.Shape(), "%s (%s)", en, label)
					rel := testutil.RelL2(got.Float32s(), want)
					t.Logf("golden %s %s relerr=%.2e (%s)", name, en, rel, label)
					if rel >= testutil.Golden.Rel {
						t.Errorf("golden %s %s: relative L2 error %.3g ≥ %g", name, en, rel, testutil.Golden.Rel)
					}
					compared++
				}
				if got, ok := scores[en]; ok {
					check("query×doc", got)
				}
				for i, g := range groups {
					for _, p := range g.prefixes {
						rest, ok := strings.CutPrefix(en, p)
						if got, has := outs[i][rest]; ok && has {
							check(g.path, got)
							break
						}
					}
				}
				if compared == 0 {
					names := []string{}
					for i := range outs {
						for k := range outs[i] {
							names = append(names, groups[i].prefixes[0]+k)
						}
					}
					sort.Strings(names)
					t.Errorf("golden %s: cannot compute expected tensor %q (outputs: %s)", name, en, strings.Join(names, ", "))
				}
			}
		})
	}
	if cases == 0 {
		t.Fatalf("no golden cases under %s", root)
	}
}
