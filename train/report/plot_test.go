package report

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/ragr-dev/ragr/internal/testutil"
)

var plotOut = flag.String("plotout", "", "also write the test plots to this directory, to look at them")

// syntheticRun is a training run of n steps: a noisy decaying loss, a
// linear-warmup cosine learning rate, and evaluation metrics every
// evalEvery steps (none when 0).
func syntheticRun(n, evalEvery int) []Record {
	r := testutil.NewRand(7)
	noise := testutil.Normal32(r, n, 0.15)
	warm := max(1, n/20)
	var recs []Record
	for s := 1; s <= n; s++ {
		lr := 2e-5 * float64(s) / float64(warm)
		if s > warm {
			lr = 1e-5 * (1 + math.Cos(math.Pi*float64(s-warm)/float64(n-warm)))
		}
		loss := 2*math.Exp(-float64(s)/(0.3*float64(n))) + 0.3 + float64(noise[s-1])*(0.3+math.Exp(-float64(s)/float64(n)))
		rec := Record{Step: s, Time: t0}
		rec.Set(KeyLoss, loss)
		rec.Set(KeyLR, lr)
		rec.Set(KeyEpoch, float64(s)/float64(n)*3)
		recs = append(recs, rec)
		if evalEvery > 0 && (s%evalEvery == 0 || s == 1) {
			x := float64(s) / float64(n)
			recs = append(recs, Record{Step: s, Values: map[string]float64{
				"eval/map":     0.2 + 0.3*(1-math.Exp(-4*x)),
				"eval/ndcg@10": 0.3 + 0.35*(1-math.Exp(-3*x)),
			}})
		}
	}
	return recs
}

// writeLog writes recs as a metrics log in dir and returns its path.
func writeLog(t *testing.T, dir, name string, recs []Record) string {
	t.Helper()
	path := filepath.Join(dir, name)
	w, err := OpenMetrics(path)
	require.NoError(t, err)
	for _, r := range recs {
		require.NoError(t, w.Write(r))
	}
	require.NoError(t, w.Close())
	return path
}

// decodePNG decodes the PNG at path, and copies it to -plotout.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if *plotOut != "" {
		require.NoError(t, os.MkdirAll(*plotOut, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(*plotOut, filepath.Base(path)), data, 0o644))
	}
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	return img
}

// inked counts the pixels of img within rows [y0, y1) that are not near white.
func inked(img image.Image, y0, y1 int) int {
	n := 0
	b := img.Bounds()
	for y := y0; y < y1; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xe000 || g < 0xe000 || bl < 0xe000 {
				n++
			}
		}
	}
	return n
}

func TestPlot(t *testing.T) {
	tests := []struct {
		name   string
		recs   []Record
		panels int
	}{
		{"3000 steps with eval", syntheticRun(3000, 500), 3},
		{"200 steps no eval", syntheticRun(200, 0), 2},
		{"one point", syntheticRun(1, 1), 3},
		{"loss only", []Record{{Step: 1, Values: map[string]float64{KeyLoss: 1}}, {Step: 2, Values: map[string]float64{KeyLoss: 0.5}}}, 1},
		{"eval only", []Record{{Step: 100, Values: map[string]float64{"eval/map": 0.5}}}, 1},
		{"non-finite values and unsorted steps", []Record{
			{Step: 3, Values: map[string]float64{KeyLoss: 0.5, KeyLR: 1}},
			{Step: 1, Values: map[string]float64{KeyLoss: math.NaN(), KeyLR: 1}},
			{Step: 2, Values: map[string]float64{KeyLoss: math.Inf(1), KeyLR: 1}},
			{Step: 4, Values: map[string]float64{KeyLoss: 0.4, KeyLR: 1}},
		}, 2},
	}
	dir := t.TempDir()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := writeLog(t, dir, "metrics"+string(rune('a'+i))+".jsonl", tc.recs)
			out := filepath.Join(dir, "plot"+string(rune('a'+i))+".png")
			require.NoError(t, Plot(log, out))
			img := decodePNG(t, out)
			assert.Equal(t, image.Pt(DefaultPlotWidth, tc.panels*DefaultPanelHeight), img.Bounds().Size())
			for p := 0; p < tc.panels; p++ {
				ink := inked(img, p*DefaultPanelHeight, (p+1)*DefaultPanelHeight)
				assert.Greater(t, ink, 5000, "panel %d is drawn", p)
			}
		})
	}
}

func TestWritePlotOptions(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WritePlot(&b, syntheticRun(50, 10), PlotOptions{Title: "run 1", Width: 640, PanelHeight: 200, Smoothing: 0.8}))
	img, err := png.Decode(&b)
	require.NoError(t, err)
	assert.Equal(t, image.Pt(640, 600), img.Bounds().Size())

	assert.Panics(t, func() { _ = WritePlot(&b, nil, PlotOptions{Width: -1}) })
	assert.Panics(t, func() { _ = WritePlot(&b, nil, PlotOptions{Smoothing: 1}) })
}

func TestAutoSmoothing(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want float64
	}{{0, 0}, {1, 0}, {30, 0}, {60, 0.5}, {300, 0.9}, {3000, 0.99}, {1e6, 0.99}} {
		assert.InDelta(t, tc.want, AutoSmoothing(tc.n), 1e-12, "n=%d", tc.n)
	}
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.png")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	tests := []struct {
		name, path, want string
	}{
		{"empty file", write("empty.jsonl", ""), "empty.jsonl: no records"},
		{"blank lines only", write("blank.jsonl", "\n \n"), "blank.jsonl: no records"},
		{"malformed line", write("bad.jsonl", `{"step":1,"loss":1}`+"\n"+`{"step":2,"loss":oops}`+"\n"), "bad.jsonl:2: "},
		{"missing step", write("nostep.jsonl", `{"loss":1}`+"\n"), `nostep.jsonl:1: no "step"`},
		{"nothing to plot", write("epoch.jsonl", `{"step":1,"epoch":0.5,"grad_norm":2}`+"\n"), "no finite loss, lr or evaluation values in 1 records"},
		{"only non-finite", write("nan.jsonl", `{"step":1,"loss":"NaN"}`+"\n"), "no finite loss"},
		{"missing file", filepath.Join(dir, "none.jsonl"), "none.jsonl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Plot(tc.path, out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), filepath.Base(tc.path), "the error names the file")
			_, serr := os.Stat(out)
			assert.ErrorIs(t, serr, os.ErrNotExist, "no PNG written")
		})
	}

	good := writeLog(t, dir, "good.jsonl", syntheticRun(3, 0))
	err := Plot(good, filepath.Join(dir, "no", "such", "dir", "out.png"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "out.png")

	err = WritePlot(&bytes.Buffer{}, nil, PlotOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no records")
}

func TestDecimate(t *testing.T) {
	r := testutil.NewRand(3)
	ys := testutil.Uniform64(r, 10007, -1, 1)
	ys[4321] = 9  // a spike survives
	ys[8000] = -7 // and a dip
	xys := make(plotter.XYs, len(ys))
	for i, y := range ys {
		xys[i] = plotter.XY{X: float64(i), Y: y}
	}
	const buckets = 100
	d := decimate(xys, buckets)
	require.LessOrEqual(t, len(d), 2*buckets)
	require.GreaterOrEqual(t, len(d), buckets)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, p := range d {
		if i > 0 {
			assert.Less(t, d[i-1].X, p.X, "order kept")
		}
		assert.Equal(t, ys[int(p.X)], p.Y, "points are original points")
		lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
	}
	assert.Equal(t, -7.0, lo)
	assert.Equal(t, 9.0, hi)

	// Short series are left alone.
	assert.Len(t, decimate(xys[:200], buckets), 200)
	assert.Len(t, decimate(xys[:3], 1), 2)
}

func TestNiceTicks(t *testing.T) {
	labels := func(ts []plot.Tick) []string {
		var out []string
		for _, tk := range ts {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	tests := []struct {
		name    string
		integer bool
		lo, hi  float64
		want    []string
	}{
		{"steps", true, 1, 3000, []string{"500", "1000", "1500", "2000", "2500", "3000"}},
		{"few steps", true, 1, 4, []string{"1", "2", "3", "4"}},
		{"one step", true, 0, 2, []string{"0", "1", "2"}},
		{"loss", false, 0.1, 2.7, []string{"0.5", "1.0", "1.5", "2.0", "2.5"}},
		{"lr", false, 0, 2e-5, []string{"0", "5.0e-06", "1.0e-05", "1.5e-05", "2.0e-05"}},
		{"negative", false, -1.3, 1.3, []string{"-1.0", "-0.5", "0", "0.5", "1.0"}},
		{"large", false, 0, 3e7, []string{"0", "5.0e+06", "1.0e+07", "1.5e+07", "2.0e+07", "2.5e+07", "3.0e+07"}},
		{"metric", false, 0.194, 0.636, []string{"0.2", "0.3", "0.4", "0.5", "0.6"}},
		{"empty range", false, 1, 1, []string{"1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := niceTicks{integer: tc.integer}.Ticks(tc.lo, tc.hi)
			assert.Equal(t, tc.want, labels(ts))
			for _, tk := range ts {
				if tc.hi > tc.lo {
					assert.True(t, tk.Value >= tc.lo-1e-12 && tk.Value <= tc.hi+1e-12, "tick %v outside [%v, %v]", tk.Value, tc.lo, tc.hi)
				}
			}
		})
	}
}
