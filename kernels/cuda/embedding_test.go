//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/kernels/cpu"
)

func TestEmbedding(t *testing.T) {
	r := newRand(50)
	for _, c := range []struct{ vocab, dim, nids int }{{1, 1, 1}, {17, 3, 5}, {1000, 768, 33}, {30522, 17, 4097}, {5, 64, 1000}} {
		table := testutil.Normal32(r, c.vocab*c.dim, 1)
		ids := make([]int32, c.nids)
		for i := range ids {
			ids[i] = int32(r.IntN(c.vocab)) // small vocabularies repeat ids: scatter-add collisions
		}
		want := make([]float32, c.nids*c.dim)
		must(t, cpu.EmbeddingGather(want, table, ids, c.dim))
		y := out(t, c.nids*c.dim, 4)
		idp := up(t, ids)
		must(t, dev.EmbeddingGather(y.ptr(), up(t, table), idp, int64(c.nids), c.dim, int64(c.vocab)))
		name := fmt.Sprintf("%+v", c)
		testutil.AssertClose(t, name+" gather", y.f32(t), want, testutil.Exact)

		dy := testutil.Normal32(r, c.nids*c.dim, 1)
		dt0 := testutil.Normal32(r, c.vocab*c.dim, 1)
		wantDt := testutil.To64(dt0)
		must(t, cpu.EmbeddingScatterAdd64(wantDt, testutil.To64(dy), ids, c.dim))
		scale := make([]float64, len(dt0)) // |dtable| + the sum of |dy| added to each element
		for i, v := range dt0 {
			scale[i] = math.Abs(float64(v))
		}
		for i, id := range ids {
			for j := 0; j < c.dim; j++ {
				scale[int(id)*c.dim+j] += math.Abs(float64(dy[i*c.dim+j]))
			}
		}
		dtp := up(t, dt0)
		must(t, dev.EmbeddingScatterAdd(dtp, up(t, dy), idp, int64(c.nids), c.dim, int64(c.vocab)))
		got := make([]float32, c.vocab*c.dim)
		must(t, CopyDtoH(dev, got, dtp))
		assertCloseScaled(t, name+" scatter-add", got, wantDt, scale, tolF32Accum)
	}
}

func TestEmbeddingBadIDs(t *testing.T) {
	table := up(t, make([]float32, 10*4))
	for _, bad := range []int32{-1, 10, 1 << 30} {
		ids := []int32{0, 3, 9, bad, 2, bad}
		y := out(t, len(ids)*4, 4)
		err := dev.EmbeddingGather(y.ptr(), table, up(t, ids), int64(len(ids)), 4, 10)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("id %d at position 3", bad)) {
			t.Errorf("gather with id %d: error %v, want one naming id %d at position 3", bad, err, bad)
		}
		err = dev.EmbeddingScatterAdd(table, y.ptr(), up(t, ids), int64(len(ids)), 4, 10)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("id %d at position 3", bad)) {
			t.Errorf("scatter-add with id %d: error %v", bad, err)
		}
	}
}
