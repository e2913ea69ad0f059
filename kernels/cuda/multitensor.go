//go:build cuda

package cuda

import (
	"encoding/binary"
	"fmt"
	"math"
)

// chunkElems is RAGR_CHUNK of multitensor.cuh: one block per chunk.
const chunkElems = 16384

// chunkTable returns chunk_start [len(ns)+1] for tensors of ns elements.
func chunkTable(name string, ns []int64) ([]int32, error) {
	cs := make([]int32, len(ns)+1)
	var total int64
	for i, n := range ns {
		if n < 0 {
			return nil, fmt.Errorf("kernel %s: tensor %d has negative size %d", name, i, n)
		}
		cs[i] = int32(total)
		total += (n + chunkElems - 1) / chunkElems
		if total > math.MaxInt32 {
			return nil, fmt.Errorf("kernel %s: more than %d chunks of %d elements", name, math.MaxInt32, chunkElems)
		}
	}
	cs[len(ns)] = int32(total)
	return cs, nil
}

// putU64 appends v to b, little-endian.
func putU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }
