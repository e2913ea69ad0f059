package auto

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/ragr-dev/ragr/tensor"
)

// ReadInputs reads a forward-pass inputs file: a JSON object with
// "input_ids" and optionally "attention_mask", "token_type_ids" and
// "position_ids" (2-D integer arrays [batch][len]), and/or the same keys
// prefixed "query_" and "doc_" (for a late-interaction model's scores).
// Groups are returned by prefix ("", "query", "doc").
func ReadInputs(path string) (map[string]Inputs, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auto: reading inputs: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("auto: %s: malformed JSON: %w", path, err)
	}
	groups := map[string]Inputs{}
	for _, g := range []string{"", "query", "doc"} {
		pre := ""
		if g != "" {
			pre = g + "_"
		}
		if _, ok := obj[pre+"input_ids"]; !ok {
			continue
		}
		var in Inputs
		for _, f := range []struct {
			key string
			dst **tensor.Tensor
		}{{"input_ids", &in.IDs}, {"attention_mask", &in.Mask}, {"token_type_ids", &in.TypeIDs}, {"position_ids", &in.Positions}} {
			raw, ok := obj[pre+f.key]
			if !ok || string(raw) == "null" {
				continue
			}
			t, err := parseInt2D(raw)
			if err != nil {
				return nil, fmt.Errorf("auto: %s: %q: %w", path, pre+f.key, err)
			}
			*f.dst = t
		}
		for name, t := range map[string]*tensor.Tensor{"attention_mask": in.Mask, "token_type_ids": in.TypeIDs, "position_ids": in.Positions} {
			if t != nil && !tensor.SameShape(t, in.IDs) {
				return nil, fmt.Errorf("auto: %s: %q has shape %v but %q has %v", path, pre+name, t.Shape(), pre+"input_ids", in.IDs.Shape())
			}
		}
		groups[g] = in
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("auto: %s: no \"input_ids\" (or \"query_input_ids\"/\"doc_input_ids\") found", path)
	}
	return groups, nil
}

func parseInt2D(raw json.RawMessage) (*tensor.Tensor, error) {
	var rows [][]int64
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, fmt.Errorf("want a 2-D array of integers: %w", err)
	}
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil, fmt.Errorf("empty batch")
	}
	flat := make([]int32, 0, len(rows)*len(rows[0]))
	for i, r := range rows {
		if len(r) != len(rows[0]) {
			return nil, fmt.Errorf("row %d has %d entries, row 0 has %d (pad the batch)", i, len(r), len(rows[0]))
		}
		for j, v := range r {
			if v < -1<<31 || v >= 1<<31 {
				return nil, fmt.Errorf("value %d at [%d][%d] does not fit int32", v, i, j)
			}
			flat = append(flat, int32(v))
		}
	}
	return tensor.FromInt32(flat, len(rows), len(rows[0])), nil
}

// Run runs every input group through m and returns the outputs, those of the
// "query" and "doc" groups prefixed "query_" / "doc_", plus a Scorer's
// query×doc scores when both groups are present.
func Run(m Model, groups map[string]Inputs) (map[string]*tensor.Tensor, error) {
	out := map[string]*tensor.Tensor{}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, g := range keys {
		o, err := m.Forward(groups[g])
		if err != nil {
			if g != "" {
				return nil, fmt.Errorf("%s inputs: %w", g, err)
			}
			return nil, err
		}
		for k, v := range o {
			if g != "" {
				k = g + "_" + k
			}
			out[k] = v.Contiguous()
		}
	}
	q, hasQ := groups["query"]
	d, hasD := groups["doc"]
	if s, ok := m.(Scorer); ok && hasQ && hasD {
		sc, err := s.Score(q, d)
		if err != nil {
			return nil, err
		}
		for k, v := range sc {
			out[k] = v.Contiguous()
		}
	}
	return out, nil
}

// OutputNames lists names sorted, for messages.
func OutputNames(m map[string]*tensor.Tensor) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
