package cpu

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

var embedTestDims = []int{1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 768, 1000}

func TestEmbeddingGather(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(21)
		for _, dim := range embedTestDims {
			const rows = 11
			table := testutil.Normal32(r, rows*dim, 1)
			ids := []int32{3, 0, 10, 3, 7, 7, 1}
			for _, nids := range []int{0, 1, len(ids)} {
				name := fmt.Sprintf("dim=%d nids=%d", dim, nids)
				g := testutil.NewGuarded32(nids * dim)
				if err := EmbeddingGather(g.Data, table, ids[:nids], dim); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				g.Check(t)
				want := make([]float32, 0, nids*dim)
				for _, id := range ids[:nids] {
					want = append(want, table[int(id)*dim:(int(id)+1)*dim]...)
				}
				testutil.AssertClose(t, name, g.Data, want, testutil.Exact)

				g64 := testutil.NewGuarded64(nids * dim)
				if err := EmbeddingGather64(g64.Data, testutil.To64(table), ids[:nids], dim); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				g64.Check(t)
				testutil.AssertClose(t, name+" 64", g64.Data, want, testutil.Exact)
			}
		}
	})
}

func TestEmbeddingScatterAdd(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(22)
		for _, dim := range embedTestDims {
			const rows = 9
			for _, nids := range []int{0, 1, 5, 300} {
				name := fmt.Sprintf("dim=%d nids=%d", dim, nids)
				ids := make([]int32, nids)
				for i := range ids {
					ids[i] = int32(r.IntN(rows))
				}
				if nids > 2 {
					ids[1] = ids[0] // a repeated id for sure
				}
				dy := testutil.Normal32(r, nids*dim, 1)
				init := testutil.Normal32(r, rows*dim, 1)

				// Reference: the float64 sum of each row's contributions.
				want := testutil.To64(init)
				for i, id := range ids {
					for k := 0; k < dim; k++ {
						want[int(id)*dim+k] += float64(dy[i*dim+k])
					}
				}
				// Plain-Go twin in float32, same order (ids increasing).
				twin := append([]float32(nil), init...)
				for i, id := range ids {
					reduceAddGeneric(twin[int(id)*dim:(int(id)+1)*dim], dy[i*dim:(i+1)*dim])
				}

				g := testutil.NewGuarded32(rows * dim)
				copy(g.Data, init)
				if err := EmbeddingScatterAdd(g.Data, dy, ids, dim); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				g.Check(t)
				testutil.AssertClose(t, name, g.Data, twin, testutil.Exact)
				testutil.AssertClose(t, name+" vs float64", g.Data, want, testutil.F32)

				g64 := testutil.NewGuarded64(rows * dim)
				copy(g64.Data, testutil.To64(init))
				if err := EmbeddingScatterAdd64(g64.Data, testutil.To64(dy), ids, dim); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				g64.Check(t)
				testutil.AssertClose(t, name+" 64", g64.Data, want, testutil.F64)
			}
		}
	})
}

func TestEmbeddingThreads(t *testing.T) {
	r := testutil.NewRand(23)
	const rows, dim, nids = 50, 768, 4000
	ids := make([]int32, nids)
	for i := range ids {
		ids[i] = int32(r.IntN(rows))
	}
	dy := testutil.Normal32(r, nids*dim, 1)
	table := testutil.Normal32(r, rows*dim, 1)
	forEachTier(t, func(t *testing.T) {
		prev := SetThreads(1)
		defer SetThreads(prev)
		want := make([]float32, rows*dim)
		if err := EmbeddingScatterAdd(want, dy, ids, dim); err != nil {
			t.Fatal(err)
		}
		wantG := make([]float32, nids*dim)
		if err := EmbeddingGather(wantG, table, ids, dim); err != nil {
			t.Fatal(err)
		}
		for _, th := range []int{2, 3} {
			SetThreads(th)
			got := make([]float32, rows*dim)
			if err := EmbeddingScatterAdd(got, dy, ids, dim); err != nil {
				t.Fatal(err)
			}
			testutil.AssertClose(t, fmt.Sprintf("threads=%d ScatterAdd", th), got, want, testutil.Exact)
			gotG := make([]float32, nids*dim)
			if err := EmbeddingGather(gotG, table, ids, dim); err != nil {
				t.Fatal(err)
			}
			testutil.AssertClose(t, fmt.Sprintf("threads=%d Gather", th), gotG, wantG, testutil.Exact)
		}
	})
}

func TestEmbeddingBadIDs(t *testing.T) {
	const rows, dim = 4, 3
	table := make([]float32, rows*dim)
	for _, tc := range []struct {
		ids  []int32
		want string
	}{
		{[]int32{0, 4}, "ids[1]=4 out of range [0, 4)"},
		{[]int32{-1}, "ids[0]=-1 out of range [0, 4)"},
		{[]int32{1, 2, 3, 2147483647}, "ids[3]=2147483647"},
	} {
		dst := make([]float32, len(tc.ids)*dim)
		err := EmbeddingGather(dst, table, tc.ids, dim)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "EmbeddingGather") {
			t.Errorf("Gather(%v): err = %v, want one mentioning %q", tc.ids, err, tc.want)
		}
		dtable := make([]float32, rows*dim)
		dy := make([]float32, len(tc.ids)*dim)
		for i := range dy {
			dy[i] = 1
		}
		err = EmbeddingScatterAdd(dtable, dy, tc.ids, dim)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ScatterAdd(%v): err = %v, want one mentioning %q", tc.ids, err, tc.want)
		}
		for i, v := range dtable {
			if v != 0 {
				t.Errorf("ScatterAdd(%v) with a bad id changed dtable[%d] to %g", tc.ids, i, v)
				break
			}
		}
		if err := EmbeddingGather64(make([]float64, len(tc.ids)*dim), make([]float64, rows*dim), tc.ids, dim); err == nil {
			t.Errorf("Gather64(%v): no error", tc.ids)
		}
		if err := EmbeddingScatterAdd64(make([]float64, rows*dim), make([]float64, len(tc.ids)*dim), tc.ids, dim); err == nil {
			t.Errorf("ScatterAdd64(%v): no error", tc.ids)
		}
	}
}

func TestEmbeddingPanics(t *testing.T) {
	reduceExpectPanic(t, "cpu.EmbeddingGather: dim=0 < 1", func() { _ = EmbeddingGather(nil, nil, nil, 0) })
	reduceExpectPanic(t, "cpu.EmbeddingGather: len(table)=7 is not a multiple of dim=3", func() {
		_ = EmbeddingGather(make([]float32, 3), make([]float32, 7), []int32{0}, 3)
	})
	reduceExpectPanic(t, "cpu.EmbeddingGather: len(dst)=5 < len(ids)*dim=2*3", func() {
		_ = EmbeddingGather(make([]float32, 5), make([]float32, 6), []int32{0, 1}, 3)
	})
	reduceExpectPanic(t, "cpu.EmbeddingScatterAdd: len(dy)=2 < len(ids)*dim=1*3", func() {
		_ = EmbeddingScatterAdd(make([]float32, 6), make([]float32, 2), []int32{0}, 3)
	})
	reduceExpectPanic(t, "cpu.EmbeddingScatterAdd64: dim=-2", func() { _ = EmbeddingScatterAdd64(nil, nil, nil, -2) })
}
