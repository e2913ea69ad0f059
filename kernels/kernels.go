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
}

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
		m := Module{Name: strings.TrimSuffix(e.Name(), ".ptx"), PTX: string(b)}
		for _, sm := range entryRE.FindAllStringSubmatch(m.PTX, -1) {
			m.Entries = append(m.Entries, sm[1])
		}
		if m.Params, err = parseParams(m.PTX); err != nil {
			panic("kernels: embedded " + e.Name() + ": " + err.Error())
		}
		sort.Strings(m.Entries)
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
