package kernels

import (
	"embed"
	"path"
	"regexp"
	"sort"
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
