package cpu

// Benchmarks for embed.go: a BERT-base-sized table (30522×768) gathered and
// scattered for 8×128 token ids. Run:
//
//	go test -run XXX -bench Embedding ./kernels/cpu/
//
// GB/s counts the rows moved: gather reads and writes 1024 rows; scatter-add
// reads dy and reads+writes the table rows.

import (
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

func BenchmarkEmbedding(b *testing.B) {
	const vocab, dim, nids = 30522, 768, 8 * 128
	r := testutil.NewRand(7)
	table := testutil.Normal32(r, vocab*dim, 0.02)
	ids := make([]int32, nids)
	for i := range ids {
		ids[i] = int32(r.IntN(vocab))
	}
	out := make([]float32, nids*dim)
	b.Run("Gather", func(b *testing.B) {
		reduceBenchTiers(b, 8*nids*dim, func() {
			if err := EmbeddingGather(out, table, ids, dim); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("ScatterAdd", func(b *testing.B) {
		reduceBenchTiers(b, 12*nids*dim, func() {
			if err := EmbeddingScatterAdd(table, out, ids, dim); err != nil {
				b.Fatal(err)
			}
		})
	})
}
