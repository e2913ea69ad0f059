package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Defaults used for the zero values of PlotOptions.
const (
	// DefaultPlotWidth is the PNG's width in pixels.
	DefaultPlotWidth = 1000
	// DefaultPanelHeight is the height of one panel in pixels.
	DefaultPanelHeight = 320
)

// plotDPI is the resolution the PNG is rendered at.
const plotDPI = 100

// fewPoints is the largest series drawn with a marker on each point.
const fewPoints = 50

// PlotOptions configures WritePlot. The zero value is ready to use.
type PlotOptions struct {
	// Title heads the top panel ("<Title>: loss"); empty gives "loss".
	Title string
	// Width is the PNG's width in pixels; 0 means DefaultPlotWidth.
	Width int
	// PanelHeight is each panel's height in pixels; 0 means
	// DefaultPanelHeight. The PNG is Width × (panels × PanelHeight).
	PanelHeight int
	// Smoothing is the EMA factor in [0, 1) of the smoothed loss; 0 picks
	// one from the number of points, averaging over about n/30 points
	// (between 1 and 100): AutoSmoothing.
	Smoothing float64
}

// AutoSmoothing is the EMA factor Plot uses for n loss values: 1 - 1/w with
// w = n/30 clamped to [1, 100], so a curve of any length shows about the
// same amount of detail (0, no smoothing, below 60 points).
func AutoSmoothing(n int) float64 {
	w := min(max(float64(n)/30, 1), 100)
	return 1 - 1/w
}

// Plot reads the metrics log at metricsPath and writes a PNG of its curves
// to outPNG (see WritePlot), titled with the log's file name. An empty log
// (no records) or one with nothing to plot is an error naming the file; a
// malformed line is an error naming the file and line. outPNG is written
// only when the plot succeeds.
func Plot(metricsPath, outPNG string) error {
	recs, err := ReadMetrics(metricsPath)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("report: plotting %s: %w", metricsPath, errNoRecords)
	}
	var buf bytes.Buffer
	if err := writePlot(&buf, recs, PlotOptions{Title: filepath.Base(metricsPath)}); err != nil {
		return fmt.Errorf("report: plotting %s: %w", metricsPath, err)
	}
	if err := os.WriteFile(outPNG, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// WritePlot draws recs as a PNG to w, in panels stacked vertically that
// share the step axis:
//   - loss against step: the raw values as a light line and their
//     bias-corrected EMA (Smooth) as a solid one;
//   - learning rate against step;
//   - when present, every evaluation metric (a key that is not standard, see
//     IsStandardKey) against step, one line with points each.
//
// A panel without values is left out. Records are ordered by step (stable
// for equal steps); NaN and infinite values are not drawn and their count
// is given in the panel's title. It is an error when there is nothing to
// plot.
func WritePlot(w io.Writer, recs []Record, opts PlotOptions) error {
	if err := writePlot(w, recs, opts); err != nil {
		return fmt.Errorf("report: plot: %w", err)
	}
	return nil
}

// writePlot is WritePlot with errors that do not name the package.
func writePlot(w io.Writer, recs []Record, opts PlotOptions) error {
	if opts.Width < 0 || opts.PanelHeight < 0 {
		panic(fmt.Sprintf("report.WritePlot: negative size %d×%d", opts.Width, opts.PanelHeight))
	}
	if !(opts.Smoothing >= 0 && opts.Smoothing < 1) {
		panic(fmt.Sprintf("report.WritePlot: Smoothing %g outside [0, 1)", opts.Smoothing))
	}
	if opts.Width == 0 {
		opts.Width = DefaultPlotWidth
	}
	if opts.PanelHeight == 0 {
		opts.PanelHeight = DefaultPanelHeight
	}
	if len(recs) == 0 {
		return errNoRecords
	}
	recs = slices.Clone(recs)
	slices.SortStableFunc(recs, func(a, b Record) int { return a.Step - b.Step })

	var panels []*plot.Plot
	xmin, xmax := math.Inf(1), math.Inf(-1)
	span := func(xys plotter.XYs) {
		for _, p := range xys {
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
		}
	}

	// Loss panel.
	if loss, bad := series(recs, KeyLoss); len(loss) > 0 || bad > 0 {
		p := newPanel(panelTitle(titled(opts.Title, "loss"), bad), "loss")
		if len(loss) > 0 {
			beta := opts.Smoothing
			if beta == 0 {
				beta = AutoSmoothing(len(loss))
			}
			ys := make([]float64, len(loss))
			for i, q := range loss {
				ys[i] = q.Y
			}
			sm := Smooth(ys, beta)
			smooth := make(plotter.XYs, len(loss))
			for i := range loss {
				smooth[i] = plotter.XY{X: loss[i].X, Y: sm[i]}
			}
			// Drawn thinned to the plot's width (a line over more points than
			// pixels only costs time); the smoothing uses every point.
			span(loss)
			smooth, loss = decimate(smooth, opts.Width), decimate(loss, opts.Width)
			blue := color.RGBA{R: 31, G: 119, B: 180, A: 255}
			if beta == 0 {
				// Too few points to smooth: the values as one solid line.
				l := mustLine(loss, blue, 1.5)
				p.Add(l)
				p.Legend.Add("loss (not smoothed)", l)
			} else {
				raw := mustLine(loss, color.NRGBA{R: 31, G: 119, B: 180, A: 80}, 1)
				sl := mustLine(smooth, blue, 2)
				p.Add(raw, sl)
				p.Legend.Add("raw", raw)
				p.Legend.Add(fmt.Sprintf("smoothed (EMA %.3g)", beta), sl)
			}
			if len(loss) <= fewPoints {
				p.Add(mustScatter(loss, blue))
			}
		}
		p.Legend.Top = true
		panels = append(panels, p)
	}

	// Learning-rate panel.
	if lr, bad := series(recs, KeyLR); len(lr) > 0 || bad > 0 {
		p := newPanel(panelTitle("learning rate", bad), "lr")
		if len(lr) > 0 {
			c := color.RGBA{R: 255, G: 127, B: 14, A: 255}
			span(lr)
			lr = decimate(lr, opts.Width)
			p.Add(mustLine(lr, c, 1.5))
			if len(lr) <= fewPoints {
				p.Add(mustScatter(lr, c))
			}
		}
		panels = append(panels, p)
	}

	// Evaluation panel.
	_, evalKeys := keysOf(recs)
	if len(evalKeys) > 0 {
		p := newPanel("", "value")
		total := 0
		for i, k := range evalKeys {
			xys, bad := series(recs, k)
			total += bad
			if len(xys) == 0 {
				continue
			}
			span(xys)
			xys = decimate(xys, opts.Width)
			c := plotutil.Color(i)
			l := mustLine(xys, c, 1.5)
			s := mustScatter(xys, c)
			p.Add(l, s)
			p.Legend.Add(k, l, s)
		}
		p.Title.Text = panelTitle("evaluation", total)
		p.Legend.Top = false
		panels = append(panels, p)
	}

	if len(panels) == 0 || math.IsInf(xmin, 1) {
		return fmt.Errorf("no finite loss, lr or evaluation values in %d records", len(recs))
	}
	for _, p := range panels {
		p.X.Min, p.X.Max = xmin, xmax
	}

	wpx, hpx := opts.Width, opts.PanelHeight*len(panels)
	img := vgimg.NewWith(
		vgimg.UseWH(pixels(wpx), pixels(hpx)),
		vgimg.UseDPI(plotDPI),
	)
	dc := draw.New(img)
	grid := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		grid[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{
		Rows: len(panels), Cols: 1,
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(12),
		PadY: vg.Points(10),
	}
	canvases := plot.Align(grid, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[i][0])
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("writing PNG: %w", err)
	}
	return nil
}

// pixels converts a pixel count at plotDPI to a vg length.
func pixels(n int) vg.Length { return vg.Length(n) * vg.Inch / plotDPI }

// series collects the finite values of key against step, and counts the
// non-finite ones.
func series(recs []Record, key string) (xys plotter.XYs, bad int) {
	for _, r := range recs {
		v, ok := r.Values[key]
		if !ok {
			continue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad++
			continue
		}
		xys = append(xys, plotter.XY{X: float64(r.Step), Y: v})
	}
	return xys, bad
}

// newPanel returns a plot with a grid, axis labels and a title.
func newPanel(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = niceTicks{integer: true}
	p.Y.Tick.Marker = niceTicks{}
	p.Legend.XOffs = -vg.Points(6)
	p.Legend.YOffs = -vg.Points(2)
	p.Add(plotter.NewGrid())
	return p
}

// niceTicks places about six labelled ticks at multiples of 1, 2 or 5 times
// a power of ten, with one unlabelled tick between two labelled ones.
// Integer axes (steps) never get a spacing below 1.
type niceTicks struct{ integer bool }

// Ticks implements plot.Ticker.
func (nt niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return []plot.Tick{{Value: lo, Label: tickLabel(lo, 1, lo, hi)}}
	}
	step := niceStep((hi - lo) / 6)
	if nt.integer && step < 1 {
		step = 1
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/step - 1e-9)
	for i := first; i*step <= hi+step*1e-9; i++ {
		v := i * step
		ticks = append(ticks, plot.Tick{Value: v, Label: tickLabel(v, step, lo, hi)})
		if m := v + step/2; m < hi && (!nt.integer || step >= 2) {
			ticks = append(ticks, plot.Tick{Value: m})
		}
	}
	if m := first*step - step/2; m > lo && (!nt.integer || step >= 2) {
		ticks = append(ticks, plot.Tick{Value: m})
	}
	return ticks
}

// niceStep rounds x > 0 up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	switch f := x / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	}
	return 10 * p
}

// tickLabel formats a tick value v on an axis [lo, hi] with ticks step
// apart: fixed notation with just enough decimals for step, or scientific
// notation for very small or very large values.
func tickLabel(v, step, lo, hi float64) string {
	if math.Abs(v) < step*1e-6 {
		return "0"
	}
	big := math.Max(math.Abs(lo), math.Abs(hi))
	digits := int(math.Floor(math.Log10(big))) - int(math.Floor(math.Log10(step)))
	if big < 1e-3 || big >= 1e6 {
		return strconv.FormatFloat(v, 'e', max(0, digits), 64)
	}
	return strconv.FormatFloat(v, 'f', max(0, -int(math.Floor(math.Log10(step)+1e-9))), 64)
}

// titled prefixes name with title when there is one.
func titled(title, name string) string {
	if title == "" {
		return name
	}
	return title + ": " + name
}

// panelTitle adds the count of values not drawn to a panel's title.
func panelTitle(title string, bad int) string {
	if bad == 0 {
		return title
	}
	s := "s"
	if bad == 1 {
		s = ""
	}
	return strings.TrimSpace(fmt.Sprintf("%s (%d non-finite value%s not shown)", title, bad, s))
}

// decimate thins a series sorted by x to at most 2*buckets points for
// drawing: the points are split into buckets of consecutive points and each
// bucket keeps its lowest and highest point, in their order, so the drawn
// envelope (spikes included) looks the same at the plot's resolution.
// Series of at most 2*buckets points are returned as they are.
func decimate(xys plotter.XYs, buckets int) plotter.XYs {
	n := len(xys)
	if buckets < 1 || n <= 2*buckets {
		return xys
	}
	out := make(plotter.XYs, 0, 2*buckets)
	for b := range buckets {
		lo, hi := b*n/buckets, (b+1)*n/buckets
		imin, imax := lo, lo
		for i := lo + 1; i < hi; i++ {
			if xys[i].Y < xys[imin].Y {
				imin = i
			}
			if xys[i].Y > xys[imax].Y {
				imax = i
			}
		}
		first, second := min(imin, imax), max(imin, imax)
		out = append(out, xys[first])
		if second != first {
			out = append(out, xys[second])
		}
	}
	return out
}

// mustLine is a line over finite points in color c, width in points.
func mustLine(xys plotter.XYs, c color.Color, width float64) *plotter.Line {
	l, err := plotter.NewLine(xys)
	if err != nil {
		panic("report: " + err.Error()) // series drops non-finite points
	}
	l.Color = c
	l.Width = vg.Points(width)
	return l
}

// mustScatter is a scatter of small filled circles over finite points.
func mustScatter(xys plotter.XYs, c color.Color) *plotter.Scatter {
	s, err := plotter.NewScatter(xys)
	if err != nil {
		panic("report: " + err.Error()) // series drops non-finite points
	}
	s.GlyphStyle.Color = c
	s.GlyphStyle.Shape = draw.CircleGlyph{}
	s.GlyphStyle.Radius = vg.Points(2.5)
	return s
}
