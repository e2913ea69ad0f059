package layers

import (
	"strconv"
	"strings"
)

// Module is the module path every ragr import starts with.
const Module = "github.com/ragr-dev/ragr"

// Table maps each package (path relative to the module root) to its layer,
// in tens: DESIGN.md's L0…L7 are 0…70.
var Table = map[string]int{
	"internal/testutil":   0,
	"internal/atomicfile": 0,
	"internal/layers":     0,
	"internal/golden":     25,
	// devtest: device test helpers over nn/optim (for _test.go files).
	"internal/devtest":   45,
	"kernels":            0,
	"kernels/cpu":        0,
	"models/tokenizer":   0,
	"kernels/cuda":       10,
	"tensor":             20,
	"tensor/safetensors": 20,
	"tensor/torchbin":    20,
	// The tensor package's CUDA backend: tensor.Backend on kernels/cuda.
	"tensor/gpu":   22,
	"autograd":     30,
	"nn":           40,
	"nn/optim":     40,
	"losses":       40,
	"models":       50,
	"models/bert":  50,
	"models/qwen2": 50,
	// ColBERT is an encoder from models/bert plus a projection, and
	// models/auto picks an architecture from config.json; they sit above the
	// architectures they use (DESIGN.md's table has both at L5; layers are in
	// tens so these fit between).
	"models/colbert": 52,
	"models/auto":    55,
	"train/report":   58,
	"train/data":     58,
	"train/metrics":  58,
	// embedeval evaluates embeddings with train/metrics and train/data.
	"train/embedeval": 59,
	"train":           60,
	"rerank":          60,
	"rerank/server":   62,
	"bench":           60,
	// distill runs a rerank teacher and a train student: above both.
	"distill":          65,
	"cmd/ragr":         70,
	"scripts/loadtest": 70,
}

// Allowed reports whether package from may import package to (both relative
// to the module root), and why not when it may not.
func Allowed(from, to string) (bool, string) {
	lf, ok := Table[from]
	if !ok {
		return false, "package " + from + " is not in the layer table (internal/layers.Table)"
	}
	lt, ok := Table[to]
	if !ok {
		return false, "package " + to + " is not in the layer table (internal/layers.Table)"
	}
	if from == to {
		return true, "" // an external test package (package x_test)
	}
	if (to == "internal/testutil" || to == "internal/devtest") && from != to {
		return false, to + " is for _test.go files only"
	}
	if lt < lf {
		return true, ""
	}
	if lt == lf && strings.HasPrefix(from, to+"/") {
		return true, ""
	}
	return false, from + " (layer " + itoa(lf) + ") may not import " + to + " (layer " + itoa(lt) + ")"
}

func itoa(i int) string { return strconv.Itoa(i) }
