package kernels

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// sm90aMarker is the header line of a kernel source that needs sm_90a
// (and nvcc >= 12.3); the Makefile and scripts/gpu-run.sh find the same
// sources with grep -x.
const sm90aMarker = "// Target: sm_90a"

// isSM90aSource reports whether src has the line sm90aMarker.
func isSM90aSource(src string) bool {
	for _, l := range strings.Split(src, "\n") {
		if l == sm90aMarker {
			return true
		}
	}
	return false
}

// TestModules checks the embedded PTX against the sources: one module per
// kernels/*.cu (a source marked sm90aMarker may lack it: the CI's nvcc
// 11.8 cannot build it), targets sm_80 (sm_90a for the marked ones), every
// entry named ragr_<family>_..., no kernel defined twice, and every .cu
// opening with its header comment.
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
	isSrc := map[string]bool{}
	for _, s := range srcs {
		name := strings.TrimSuffix(s, ".cu")
		isSrc[name] = true
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		sm90a := isSM90aSource(string(b))
		want := "sm_80"
		if sm90a {
			want = "sm_90a"
		}
		if m, ok := byName[name]; !ok {
			if !sm90a {
				t.Errorf("%s has no embedded PTX (run make kernels)", s)
			}
		} else if m.Target != want {
			t.Errorf("%s: embedded PTX has .target %s, want %s", s, m.Target, want)
		}
		if !strings.HasPrefix(string(b), "// "+s+" ") && !strings.HasPrefix(string(b), "// "+s+":") {
			t.Errorf("%s does not open with its header comment (// %s: what it computes, ...)", s, s)
		}
	}
	for _, m := range mods {
		if !isSrc[m.Name] {
			t.Errorf("embedded ptx/%s.ptx has no %s.cu", m.Name, m.Name)
		}
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
		"ragr_copy_transpose_b16":   {{8, 8}, {8, 8}, {208, 8}},
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
	// The sm_90a GEMM, when its PTX is embedded: two 128-byte tensor maps
	// (alignment 64), then the kernel ABI of kernels/cuda/gemm90.go.
	checkAttn90Params(t)
	want90 := []Param{{128, 64}, {128, 64}, {8, 8}, {8, 8}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {8, 8}, {4, 4},
		{4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}}
	if _, ok := byNameModule("gemm90"); !ok {
		return
	}
	n := 0
	for _, ty := range []string{"bf16f32", "bf16", "f16f32", "f16"} {
		for _, op := range []string{"nn", "nt", "tn", "tt"} {
			for _, tile := range []string{"m128n256", "m128n128", "m64n128"} {
				name := "ragr_gemm90_" + ty + "_" + op + "_" + tile
				m, ok := Find(name)
				if !ok || m.Name != "gemm90" {
					t.Errorf("%s: not in the embedded gemm90 module", name)
					continue
				}
				n++
				if got := m.Params[name]; !reflect.DeepEqual(got, want90) {
					t.Errorf("%s: params %v, want %v", name, got, want90)
				}
			}
		}
	}
	if m, _ := byNameModule("gemm90"); len(m.Entries) != n {
		t.Errorf("the gemm90 module has %d kernels, the ABI %d", len(m.Entries), n)
	}
}

// checkAttn90Params: when the sm_90a attention's PTX is embedded, its four
// forward kernels take exactly the parameters of the mma.sync forward and
// its two backward kernels those of the mma.sync backward (kernels/cuda
// launches both with one argument list), and the module defines nothing
// but ragr_attn90_* kernels.
func checkAttn90Params(t *testing.T) {
	t.Helper()
	m90, ok := byNameModule("attention90")
	if !ok {
		return
	}
	ref, ok := Find("ragr_attn_fwd_d64_bf16")
	if !ok || ref.Name != "attention" {
		t.Fatal("ragr_attn_fwd_d64_bf16 is not in the embedded attention module")
	}
	want := ref.Params["ragr_attn_fwd_d64_bf16"]
	for _, d := range []string{"d64", "d128"} {
		for _, ty := range []string{"bf16", "bf16f32"} {
			name := "ragr_attn90_fwd_" + d + "_" + ty
			m, ok := Find(name)
			if !ok || m.Name != "attention90" {
				t.Errorf("%s: not in the embedded attention90 module", name)
				continue
			}
			if got := m.Params[name]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: params %v, want those of ragr_attn_fwd_d64_bf16 %v", name, got, want)
			}
		}
	}
	bref, ok := Find("ragr_attn_bwd_d64_bf16")
	if !ok || bref.Name != "attention" {
		t.Fatal("ragr_attn_bwd_d64_bf16 is not in the embedded attention module")
	}
	wantBwd := bref.Params["ragr_attn_bwd_d64_bf16"]
	for _, ty := range []string{"bf16", "bf16f32"} {
		name := "ragr_attn90_bwd_d64_" + ty
		m, ok := Find(name)
		if !ok || m.Name != "attention90" {
			t.Errorf("%s: not in the embedded attention90 module", name)
			continue
		}
		if got := m.Params[name]; !reflect.DeepEqual(got, wantBwd) {
			t.Errorf("%s: params %v, want those of ragr_attn_bwd_d64_bf16 %v", name, got, wantBwd)
		}
	}
	for _, e := range m90.Entries {
		if !strings.HasPrefix(e, "ragr_attn90_") {
			t.Errorf("the attention90 module defines %s (want only ragr_attn90_* kernels)", e)
		}
	}
}

// byNameModule returns the embedded module called name.
func byNameModule(name string) (Module, bool) {
	for _, m := range Modules() {
		if m.Name == name {
			return m, true
		}
	}
	return Module{}, false
}

// TestParsePTX reads a hand-written sm_90a module (a by-value tensor map
// parameter) and rejects texts that are not usable modules.
func TestParsePTX(t *testing.T) {
	const ptx = `//
// Generated by NVIDIA NVVM Compiler
.version 8.3
.target sm_90a
.address_size 64

.visible .entry ragr_test_b(
	.param .align 64 .b8 ragr_test_b_param_0[128],
	.param .u64 ragr_test_b_param_1,
	.param .f32 ragr_test_b_param_2
)
.maxntid 384, 1, 1
{
	ret;
}
.visible .entry ragr_test_a(
	.param .u32 ragr_test_a_param_0
)
{
	ret;
}
`
	m, err := ParsePTX("test", ptx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "test" || m.Target != "sm_90a" || !reflect.DeepEqual(m.Entries, []string{"ragr_test_a", "ragr_test_b"}) {
		t.Fatalf("module %s target %s entries %v", m.Name, m.Target, m.Entries)
	}
	if want := []Param{{128, 64}, {8, 8}, {4, 4}}; !reflect.DeepEqual(m.Params["ragr_test_b"], want) {
		t.Errorf("ragr_test_b params %v, want %v", m.Params["ragr_test_b"], want)
	}
	if !m.RunsOn(9, 0) || m.RunsOn(8, 0) || m.RunsOn(10, 0) {
		t.Errorf("sm_90a module: RunsOn(9.0, 8.0, 10.0) = %v %v %v, want true false false", m.RunsOn(9, 0), m.RunsOn(8, 0), m.RunsOn(10, 0))
	}
	bad := map[string]string{
		"no target":     strings.Replace(ptx, ".target sm_90a", "", 1),
		"odd target":    strings.Replace(ptx, ".target sm_90a", ".target compute_xx", 1),
		"no entries":    ".version 8.3\n.target sm_90a\n.address_size 64\n",
		"not ptx":       "hello",
		"twice defined": ptx + ptx[strings.Index(ptx, ".visible .entry ragr_test_a"):],
	}
	for what, text := range bad {
		if _, err := ParsePTX("bad", text); err == nil || !strings.Contains(err.Error(), "module bad") {
			t.Errorf("%s: error %v, want one naming the module", what, err)
		}
	}
	for _, m := range Modules() {
		if m.Target != "sm_80" && m.Target != "sm_90a" {
			t.Errorf("embedded module %s has target %q", m.Name, m.Target)
		}
	}
}

// TestTargetRunsOn: architecture-specific targets run on exactly their
// capability, the others on it and everything newer.
func TestTargetRunsOn(t *testing.T) {
	cases := []struct {
		target       string
		major, minor int
		want         bool
	}{
		{"sm_80", 8, 0, true}, {"sm_80", 8, 6, true}, {"sm_80", 9, 0, true}, {"sm_80", 7, 5, false},
		{"sm_90a", 9, 0, true}, {"sm_90a", 8, 9, false}, {"sm_90a", 10, 0, false}, {"sm_90", 10, 0, true},
		{"sm_100a", 10, 0, true}, {"compute_80", 8, 0, false}, {"", 9, 0, false},
	}
	for _, c := range cases {
		if got := TargetRunsOn(c.target, c.major, c.minor); got != c.want {
			t.Errorf("TargetRunsOn(%q, %d.%d) = %v, want %v", c.target, c.major, c.minor, got, c.want)
		}
	}
	if !isSM90aSource("// gemm90.cu: x\n// Target: sm_90a\n") || isSM90aSource("// Target: sm_90a, maybe\n") {
		t.Error("isSM90aSource does not match the exact marker line")
	}
}
