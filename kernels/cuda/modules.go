package cuda

// Which PTX modules a Device loads (no cgo, no build tag; tested in the
// default build by modules_test.go): the embedded ones whose target the
// device can run, plus the files named in RAGR_EXTRA_PTX.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ragr-dev/ragr/kernels"
)

// ExtraPTXEnv names the environment variable with extra PTX files (comma-
// separated paths) that Open loads beside the embedded modules: the sm_90a
// kernels compiled on the GPU machine (scripts/gpu-run.sh, make kernels90)
// before their PTX is committed.
const ExtraPTXEnv = "RAGR_EXTRA_PTX"

// Gemm90Env names the environment variable that, set to 0, turns the sm_90a
// GEMM off even where its kernels are loaded: GemmAuto then runs the mma.sync
// kernels and CheckWGMMA says why (scripts/gpu-run.sh sets it when TestGemm90
// failed, so the later stages do not run on a kernel that gave wrong
// results).
const Gemm90Env = "RAGR_GEMM90"

// Attn90Env names the environment variable that, set to 0, turns the sm_90a
// attention kernels (kernels/attention90.cu) off even where they are
// loaded: AttnAuto then runs the mma.sync forward and CheckAttn90 says why
// (scripts/gpu-run.sh sets it when TestAttention90 failed, skipped or hung).
const Attn90Env = "RAGR_ATTN90"

// loadModule is one module to load: its parsed PTX and where it came from.
type loadModule struct {
	kernels.Module
	source string // "embedded" or the extra file's path
}

// readExtraPTX reads and parses the comma-separated PTX paths of list
// (empty entries are ignored); each module is named after its file (base
// name without the extension). Errors name the variable and the file.
func readExtraPTX(list string, read func(string) ([]byte, error)) ([]loadModule, error) {
	var out []loadModule
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		b, err := read(p)
		if err != nil {
			return nil, fmt.Errorf("%s: reading %s: %w", ExtraPTXEnv, p, err)
		}
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		m, err := kernels.ParsePTX(name, string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", ExtraPTXEnv, p, err)
		}
		out = append(out, loadModule{Module: m, source: p})
	}
	return out, nil
}

// readExtraPTXEnv is readExtraPTX of the environment variable.
func readExtraPTXEnv() ([]loadModule, error) {
	return readExtraPTX(os.Getenv(ExtraPTXEnv), os.ReadFile)
}

// planModules returns the modules a device of compute capability
// major.minor loads: every embedded module except those built for another
// architecture's specific target (sm_90a on anything but 9.0: returned in
// skipped, name -> target), then every extra module, which must run on the
// device. A module name or a kernel defined twice is an error naming both
// sources.
func planModules(embedded []kernels.Module, extra []loadModule, major, minor int) (load []loadModule, skipped map[string]string, err error) {
	skipped = map[string]string{}
	for _, m := range embedded {
		if strings.HasSuffix(m.Target, "a") && !m.RunsOn(major, minor) {
			skipped[m.Name] = m.Target
			continue
		}
		load = append(load, loadModule{Module: m, source: "embedded"})
	}
	for _, m := range extra {
		if !m.RunsOn(major, minor) {
			return nil, nil, fmt.Errorf("%s: %s: module %s is built for %s, which this sm_%d%d device cannot run",
				ExtraPTXEnv, m.source, m.Name, m.Target, major, minor)
		}
		load = append(load, m)
	}
	byName := map[string]string{}
	byEntry := map[string]loadModule{}
	for _, m := range load {
		if src, dup := byName[m.Name]; dup {
			return nil, nil, fmt.Errorf("%s: module %s loaded twice (%s and %s)", ExtraPTXEnv, m.Name, src, m.source)
		}
		byName[m.Name] = m.source
		for _, e := range m.Entries {
			if o, dup := byEntry[e]; dup {
				return nil, nil, fmt.Errorf("%s: kernel %s defined twice: module %s (%s) and module %s (%s)",
					ExtraPTXEnv, e, o.Name, o.source, m.Name, m.source)
			}
			byEntry[e] = m
		}
	}
	return load, skipped, nil
}

// gemm90Kernels lists every kernel of the sm_90a GEMM ABI, sorted.
func gemm90Kernels() []string {
	var ks []string
	for _, in := range []DType{BF16, F16} {
		for _, out := range []DType{F32, in} {
			for _, op := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, t := range gemm90Tiles {
					ks = append(ks, gemm90Kernel(in, out, op[0], op[1], t))
				}
			}
		}
	}
	sort.Strings(ks)
	return ks
}

// gemm90Missing returns why the sm_90a GEMM cannot run on a device of
// capability major.minor with the kernels for which has is true ("" when
// it can: capability 9.0 and all 48 kernels loaded).
func gemm90Missing(major, minor int, has func(string) bool) string {
	return sm90aMissing("GEMM", "gemm90", gemm90Kernels(), major, minor, has)
}

// attn90Missing returns why the sm_90a attention kernels cannot run on a
// device of capability major.minor with the kernels for which has is true
// ("" when it can: capability 9.0 and all 4 kernels loaded).
func attn90Missing(major, minor int, has func(string) bool) string {
	return sm90aMissing("attention", "attention90", attn90Kernels(), major, minor, has)
}

// attn90Unavailable returns why the sm_90a attention kernels cannot run on
// a device of capability major.minor with the kernels for which has is true
// when RAGR_ATTN90 has the value env: nil when it can (capability 9.0, all
// 4 kernels loaded, env not "0").
func attn90Unavailable(major, minor int, has func(string) bool, env string) error {
	if why := attn90Missing(major, minor, has); why != "" {
		return errors.New(why)
	}
	if env == "0" {
		return fmt.Errorf("the sm_90a attention kernels are turned off (%s=0 in the environment)", Attn90Env)
	}
	return nil
}

// sm90aMissing returns why the kernels ks of the sm_90a module (kernels/
// module.cu; what names it in messages) cannot run on a device of
// capability major.minor with the kernels for which has is true: "" when
// the capability is 9.0 and every kernel is loaded.
func sm90aMissing(what, module string, ks []string, major, minor int, has func(string) bool) string {
	if major != 9 || minor != 0 {
		return fmt.Sprintf("the sm_90a %s kernels need compute capability 9.0 (this device is sm_%d%d)", what, major, minor)
	}
	var missing []string
	for _, k := range ks {
		if !has(k) {
			missing = append(missing, k)
		}
	}
	switch {
	case len(missing) == len(ks):
		return fmt.Sprintf("the sm_90a %s kernels are not loaded (no embedded kernels/ptx/%s.ptx: compile kernels/%s.cu with `make kernels90 OUT=dir` (nvcc >= 12.3) and set %s=dir/%s.ptx)",
			what, module, module, ExtraPTXEnv, module)
	case len(missing) > 0:
		return fmt.Sprintf("the loaded sm_90a %s module lacks %d of its %d kernels (%s, ...)", what, len(missing), len(ks), missing[0])
	}
	return ""
}
