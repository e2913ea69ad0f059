package kernels

import (
	"embed"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed ptx/*.ptx
var ptxFS embed.FS

// Module is one compiled kernel family: the PTX of kernels/<Name>.cu.
type Module struct {
	// Name is the source file's base name without .cu (e.g. "elementwise").
	Name string
	// PTX is the module's PTX text, as nvcc wrote it.
	PTX string
	// Entries lists the kernel (entry) names the module defines, sorted.
	Entries []string
	// Params holds each entry's parameter list, as the PTX declares it.
	Params map[string][]Param
	// Target is the PTX's .target architecture ("sm_80" for the
	// compute_80 modules, "sm_90a" for the Hopper-only ones).
	Target string
}

// RunsOn reports whether the module's PTX can be loaded on a device of
// compute capability major.minor: an architecture-specific target
// (sm_90a) only on exactly that capability (9.0), any other sm_XY on XY
// and newer.
func (m Module) RunsOn(major, minor int) bool {
	return TargetRunsOn(m.Target, major, minor)
}

// TargetRunsOn is Module.RunsOn for a target string ("sm_80", "sm_90a");
// an unparseable target runs nowhere.
func TargetRunsOn(target string, major, minor int) bool {
	cc, specific, ok := parseTarget(target)
	if !ok {
		return false
	}
	dev := 10*major + minor
	if specific {
		return dev == cc
	}
	return dev >= cc
}

// parseTarget splits "sm_90a" into 90 and true (architecture-specific).
func parseTarget(t string) (cc int, specific bool, ok bool) {
	m := targetNameRE.FindStringSubmatch(t)
	if m == nil {
		return 0, false, false
	}
	cc, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, false, false
	}
	return cc, m[2] == "a", true
}

var (
	targetNameRE = regexp.MustCompile(`^sm_([0-9]{2,3})(a?)$`)
	targetLineRE = regexp.MustCompile(`(?m)^[ \t]*\.target[ \t]+([A-Za-z0-9_]+)`)
)

// Param is one kernel parameter's size and alignment in bytes (a pointer or
// long long is 8/8, an int or float 4/4, a by-value struct its size and
// its alignment).
type Param struct {
	Size, Align int
}

var paramRE = regexp.MustCompile(`\.param\s+(?:\.align\s+(\d+)\s+)?\.[usbf](\d+)\s+[A-Za-z_][A-Za-z0-9_]*(?:\[(\d+)\])?`)

// parseParams reads the parameter list of every entry of a PTX module.
func parseParams(ptx string) (map[string][]Param, error) {
	out := map[string][]Param{}
	for _, loc := range entryRE.FindAllStringSubmatchIndex(ptx, -1) {
		name := ptx[loc[2]:loc[3]]
		end := strings.IndexByte(ptx[loc[1]:], ')')
		if end < 0 {
			return nil, fmt.Errorf("entry %s: unterminated parameter list", name)
		}
		ps := []Param{}
		for _, m := range paramRE.FindAllStringSubmatch(ptx[loc[1]:loc[1]+end], -1) {
			bits, _ := strconv.Atoi(m[2])
			p := Param{Size: bits / 8, Align: bits / 8}
			if m[1] != "" {
				p.Align, _ = strconv.Atoi(m[1])
			}
			if m[3] != "" {
				n, _ := strconv.Atoi(m[3])
				p.Size *= n
			}
			ps = append(ps, p)
		}
		out[name] = ps
	}
	return out, nil
}

var entryRE = regexp.MustCompile(`(?m)^\.visible \.entry ([A-Za-z_][A-Za-z0-9_]*)\(`)

var (
	modsOnce sync.Once
	mods     []Module
)

// Modules returns every embedded PTX module, sorted by name. The result is
// a fresh slice on each call (the modules are parsed once); the PTX strings
// and entry lists are shared and must not be modified.
func Modules() []Module {
	modsOnce.Do(func() { mods = parseModules() })
	return append([]Module(nil), mods...)
}

// ParsePTX parses one module's PTX text (as nvcc writes it) into a Module
// named name: its .target, its entries (sorted) and their parameter lists.
// It is how the embedded modules are read, and how kernels/cuda reads the
// extra PTX files of RAGR_EXTRA_PTX. A text without a .target line of the
// form sm_XY[a], or without any .visible .entry, is an error.
func ParsePTX(name, ptx string) (Module, error) {
	m := Module{Name: name, PTX: ptx}
	tl := targetLineRE.FindStringSubmatch(ptx)
	if tl == nil {
		return Module{}, fmt.Errorf("module %s: no .target line (not PTX?)", name)
	}
	if _, _, ok := parseTarget(tl[1]); !ok {
		return Module{}, fmt.Errorf("module %s: unsupported .target %q (want sm_XY or sm_XYa)", name, tl[1])
	}
	m.Target = tl[1]
	for _, sm := range entryRE.FindAllStringSubmatch(ptx, -1) {
		m.Entries = append(m.Entries, sm[1])
	}
	if len(m.Entries) == 0 {
		return Module{}, fmt.Errorf("module %s (target %s): no .visible .entry (no kernels)", name, m.Target)
	}
	sort.Strings(m.Entries)
	for i := 1; i < len(m.Entries); i++ {
		if m.Entries[i] == m.Entries[i-1] {
			return Module{}, fmt.Errorf("module %s: kernel %s defined twice", name, m.Entries[i])
		}
	}
	var err error
	if m.Params, err = parseParams(ptx); err != nil {
		return Module{}, fmt.Errorf("module %s: %w", name, err)
	}
	return m, nil
}

func parseModules() []Module {
	ents, err := ptxFS.ReadDir("ptx")
	if err != nil {
		panic("kernels: embedded ptx directory unreadable: " + err.Error())
	}
	var mods []Module
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".ptx") {
			continue
		}
		b, err := ptxFS.ReadFile(path.Join("ptx", e.Name()))
		if err != nil {
			panic("kernels: embedded " + e.Name() + " unreadable: " + err.Error())
		}
		m, err := ParsePTX(strings.TrimSuffix(e.Name(), ".ptx"), string(b))
		if err != nil {
			panic("kernels: embedded " + e.Name() + ": " + err.Error())
		}
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Name < mods[j].Name })
	return mods
}

// Find returns the module that defines the kernel named entry.
func Find(entry string) (Module, bool) {
	modsOnce.Do(func() { mods = parseModules() })
	for _, m := range mods {
		i := sort.SearchStrings(m.Entries, entry)
		if i < len(m.Entries) && m.Entries[i] == entry {
			return m, true
		}
	}
	return Module{}, false
}
