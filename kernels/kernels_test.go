package kernels

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestModules checks the embedded PTX against the sources: one module per
// kernels/*.cu, every entry named ragr_<family>_..., no kernel defined twice,
// and every .cu opening with its header comment.
func TestModules(t *testing.T) {
	srcs, err := filepath.Glob("*.cu")
	if err != nil {
		t.Fatal(err)
	}
	mods := Modules()
	byName := map[string]Module{}
	for _, m := range mods {
		byName[m.Name] = m
	}
	for _, s := range srcs {
		name := strings.TrimSuffix(s, ".cu")
		if _, ok := byName[name]; !ok {
			t.Errorf("%s has no embedded PTX (run make kernels)", s)
		}
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "// "+s+" ") && !strings.HasPrefix(string(b), "// "+s+":") {
			t.Errorf("%s does not open with its header comment (// %s: what it computes, ...)", s, s)
		}
	}
	if len(mods) != len(srcs) {
		t.Errorf("%d embedded modules for %d .cu files", len(mods), len(srcs))
	}
	valid := regexp.MustCompile(`^ragr_[a-z0-9]+(_[a-z0-9]+)*$`)
	seen := map[string]string{}
	for _, m := range mods {
		if len(m.Entries) == 0 {
			t.Errorf("module %s defines no kernels", m.Name)
		}
		for _, e := range m.Entries {
			if !valid.MatchString(e) {
				t.Errorf("kernel %s (module %s) is not named ragr_<family>_<op>_<dtype>", e, m.Name)
			}
			if o, dup := seen[e]; dup {
				t.Errorf("kernel %s defined in modules %s and %s", e, o, m.Name)
			}
			seen[e] = m.Name
		}
		if got, ok := Find(m.Entries[0]); !ok || got.Name != m.Name {
			t.Errorf("Find(%s) = %s, %v", m.Entries[0], got.Name, ok)
		}
	}
	if _, ok := Find("ragr_no_such_kernel"); ok {
		t.Error("Find found a kernel that does not exist")
	}
}

// TestParams checks the parameter lists parsed from the PTX on kernels whose
// signatures are known.
func TestParams(t *testing.T) {
	cases := map[string][]Param{
		"ragr_scale_f32":            {{8, 8}, {8, 8}, {4, 4}, {8, 8}},
		"ragr_copy_strided_b32":     {{8, 8}, {8, 8}, {144, 8}},
		"ragr_binary_bcast_add_f32": {{8, 8}, {8, 8}, {8, 8}, {208, 8}},
		"ragr_where_c16_f32":        {{8, 8}, {8, 8}, {4, 4}, {8, 8}, {8, 8}, {272, 8}},
		"ragr_cast_f32_i32":         {{8, 8}, {8, 8}, {8, 8}},
		"ragr_adamw_f32":            {{8, 8}, {8, 8}, {4, 4}, {8, 8}, {8, 8}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}},
	}
	for name, want := range cases {
		m, ok := Find(name)
		if !ok {
			t.Fatalf("%s not found", name)
		}
		got := m.Params[name]
		if len(got) != len(want) {
			t.Fatalf("%s: %d params %v, want %v", name, len(got), got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s param %d = %+v, want %+v", name, i, got[i], want[i])
			}
		}
	}
	for _, m := range Modules() {
		for _, e := range m.Entries {
			if _, ok := m.Params[e]; !ok {
				t.Errorf("%s: no parameter list parsed", e)
			}
		}
	}
}
