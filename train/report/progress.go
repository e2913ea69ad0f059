package report

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"
)

// Mode selects how a Progress writes.
type Mode int

const (
	// ModeAuto redraws in place when the writer is a terminal and prints
	// plain lines otherwise.
	ModeAuto Mode = iota
	// ModeTTY always redraws one line in place with '\r'.
	ModeTTY
	// ModePlain always prints one plain line per report.
	ModePlain
)

// Defaults used for the zero values of Options.
const (
	// DefaultMinInterval is the shortest time between two redraws of the bar
	// on a terminal: at most 10 redraws per second.
	DefaultMinInterval = 100 * time.Millisecond
	// DefaultBarWidth is the bar's width in characters, brackets excluded.
	DefaultBarWidth = 30
	// DefaultLossSmoothing is the EMA factor of the smoothed loss: each new
	// loss gets weight 1-0.95, an average over about 20 steps.
	DefaultLossSmoothing = 0.95
	// DefaultUnit names what throughput counts.
	DefaultUnit = "samples"
)

// Options configures a Progress. The zero value is ready to use.
type Options struct {
	// Desc is printed at the start of every line ("train", "epoch 2"); empty
	// prints nothing.
	Desc string
	// Unit names what Update's samples count, shown as "<Unit>/s":
	// "samples" (the default) or "tokens".
	Unit string
	// Mode picks terminal redraws or plain lines; ModeAuto (the default)
	// detects a terminal.
	Mode Mode
	// Every is the interval, in steps, between plain lines (plain mode
	// only); 0 means max(1, ceil(total/100)), or 100 when total is unknown.
	Every int
	// MinInterval is the shortest time between two terminal redraws; 0 means
	// DefaultMinInterval.
	MinInterval time.Duration
	// BarWidth is the bar's width in characters; 0 means DefaultBarWidth.
	BarWidth int
	// Smoothing is the EMA factor in [0, 1) of the smoothed loss; 0 means
	// DefaultLossSmoothing.
	Smoothing float64
	// Start is the number of steps already done when the bar starts (a
	// resumed run): throughput and ETA count only the steps after it.
	Start int
	// Clock returns the current time; nil means time.Now. Tests inject a
	// fake clock for deterministic output.
	Clock func() time.Time
}

// Progress is a training progress bar. Create it with New just before the
// training loop (elapsed time counts from New). Its methods are safe for
// concurrent use; errors writing to the underlying writer are ignored.
type Progress struct {
	mu sync.Mutex

	w     io.Writer
	total int
	tty   bool
	opts  Options
	every int
	clock func() time.Time
	t0    time.Time

	// state of the run
	started  bool
	step     int
	samples  int64
	lossLast float64
	lossEMA  ema
	lr       float64
	now      time.Time

	// output bookkeeping
	lastDraw    time.Time
	drawn       bool // tty: a bar line is on screen
	lastLen     int  // tty: runes on the bar line
	printedStep int  // plain: step of the last printed line
	pending     bool // an update not yet shown
	finished    bool
}

// New returns a progress bar writing to w for a run of total steps (total <=
// 0: unknown, no bar and no ETA). It panics when w is nil or an option is
// out of range.
func New(w io.Writer, total int, opts Options) *Progress {
	if w == nil {
		panic("report.New: nil writer")
	}
	if opts.Every < 0 || opts.MinInterval < 0 || opts.BarWidth < 0 || opts.Start < 0 {
		panic(fmt.Sprintf("report.New: negative option (Every %d, MinInterval %v, BarWidth %d, Start %d)",
			opts.Every, opts.MinInterval, opts.BarWidth, opts.Start))
	}
	if !(opts.Smoothing >= 0 && opts.Smoothing < 1) {
		panic(fmt.Sprintf("report.New: Smoothing %g outside [0, 1)", opts.Smoothing))
	}
	if opts.Unit == "" {
		opts.Unit = DefaultUnit
	}
	if opts.MinInterval == 0 {
		opts.MinInterval = DefaultMinInterval
	}
	if opts.BarWidth == 0 {
		opts.BarWidth = DefaultBarWidth
	}
	if opts.Smoothing == 0 {
		opts.Smoothing = DefaultLossSmoothing
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	every := opts.Every
	if every == 0 {
		every = 100
		if total > 0 {
			every = max(1, (total+99)/100)
		}
	}
	var tty bool
	switch opts.Mode {
	case ModeTTY:
		tty = true
	case ModePlain:
		tty = false
	case ModeAuto:
		tty = IsTerminal(w)
	default:
		panic(fmt.Sprintf("report.New: unknown Mode %d", opts.Mode))
	}
	t0 := clock()
	return &Progress{
		w: w, total: total, tty: tty, opts: opts, every: every, clock: clock, t0: t0,
		step: opts.Start, lossLast: math.NaN(), lr: math.NaN(), now: t0,
		lossEMA: ema{beta: opts.Smoothing}, printedStep: -1,
	}
}

// IsTerminal reports whether w is a terminal: an *os.File whose mode is a
// character device, with TERM not "dumb".
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	return os.Getenv("TERM") != "dumb"
}

// Update records that step (1-based, the optimizer steps done so far) has
// completed with the given loss, learning rate and number of samples (or
// tokens) processed in it, and redraws or prints when due. A NaN lr shows
// as unknown; a NaN or infinite loss shows as the last loss but does not
// enter the EMA. Updates after Finish are ignored.
func (p *Progress) Update(step int, loss, lr float64, samples int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	now := p.clock()
	first := !p.started
	p.started = true
	p.step = step
	p.samples += int64(samples)
	p.lossLast = loss
	p.lossEMA.add(loss)
	p.lr = lr
	p.now = now
	p.pending = true
	final := p.total > 0 && step >= p.total
	if p.tty {
		if first || final || now.Sub(p.lastDraw) >= p.opts.MinInterval {
			p.drawBar()
		}
		return
	}
	if first || final || step%p.every == 0 {
		p.printLine()
	}
}

// Log prints msg on a line of its own without breaking the bar: on a
// terminal the bar is cleared, the message printed, and the bar drawn again
// below it. A trailing newline in msg is dropped.
func (p *Progress) Log(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg = strings.TrimSuffix(msg, "\n")
	if p.tty && p.drawn && !p.finished {
		p.clearBar()
		io.WriteString(p.w, msg+"\n")
		p.drawBar()
		return
	}
	io.WriteString(p.w, msg+"\n")
}

// Finish shows the last update if it was not shown yet and ends the bar's
// line. Calling it again does nothing.
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	if p.tty {
		if p.pending || !p.drawn {
			p.now = p.clock()
			p.drawBar()
		}
		io.WriteString(p.w, "\n")
	} else if p.started && p.printedStep != p.step {
		p.now = p.clock()
		p.printLine()
	}
	p.finished = true
}

// drawBar redraws the terminal line with the current state.
func (p *Progress) drawBar() {
	line := p.format(true)
	n := runeLen(line)
	pad := ""
	if n < p.lastLen {
		pad = strings.Repeat(" ", p.lastLen-n)
	}
	io.WriteString(p.w, "\r"+line+pad)
	p.lastLen = n
	p.drawn = true
	p.pending = false
	p.lastDraw = p.now
}

// clearBar blanks the terminal line and returns the cursor to its start.
func (p *Progress) clearBar() {
	io.WriteString(p.w, "\r"+strings.Repeat(" ", p.lastLen)+"\r")
	p.lastLen = 0
}

// printLine prints one plain line with the current state.
func (p *Progress) printLine() {
	io.WriteString(p.w, p.format(false)+"\n")
	p.printedStep = p.step
	p.pending = false
}

// format renders the state: the bar form for a terminal, the plain form
// otherwise.
func (p *Progress) format(bar bool) string {
	var b strings.Builder
	if p.opts.Desc != "" {
		b.WriteString(p.opts.Desc)
		b.WriteString(" ")
	}
	if !bar {
		b.WriteString("step ")
	}
	if p.total > 0 {
		digits := len(fmt.Sprint(p.total))
		frac := min(1, max(0, float64(p.step)/float64(p.total)))
		pct := int(math.Floor(frac * 100))
		if bar {
			fmt.Fprintf(&b, "%*d/%d [%s] %3d%%", digits, p.step, p.total, barString(frac, p.opts.BarWidth), pct)
		} else {
			fmt.Fprintf(&b, "%d/%d (%d%%)", p.step, p.total, pct)
		}
	} else {
		fmt.Fprintf(&b, "%d", p.step)
	}
	b.WriteString(" | loss ")
	b.WriteString(fmtLoss(p.lossEMA.value()))
	b.WriteString(" (last ")
	b.WriteString(fmtLoss(p.lossLast))
	b.WriteString(")")
	if !math.IsNaN(p.lr) {
		fmt.Fprintf(&b, " | lr %.2e", p.lr)
	}
	elapsed := p.now.Sub(p.t0)
	if elapsed > 0 {
		rate := float64(p.samples) / elapsed.Seconds()
		fmt.Fprintf(&b, " | %s %s/s", fmtRate(rate), p.opts.Unit)
	} else {
		fmt.Fprintf(&b, " | - %s/s", p.opts.Unit)
	}
	eta := "--:--"
	if done := p.step - p.opts.Start; p.total > 0 && done > 0 && elapsed > 0 {
		left := max(0, p.total-p.step)
		eta = fmtDuration(time.Duration(float64(elapsed) * float64(left) / float64(done)))
	}
	if bar {
		fmt.Fprintf(&b, " | %s", fmtDuration(elapsed))
		if p.total > 0 {
			fmt.Fprintf(&b, "<%s", eta)
		}
	} else {
		fmt.Fprintf(&b, " | elapsed %s", fmtDuration(elapsed))
		if p.total > 0 {
			fmt.Fprintf(&b, " | eta %s", eta)
		}
	}
	return b.String()
}

// barString draws a bar of width characters filled to frac in [0, 1].
func barString(frac float64, width int) string {
	fill := int(math.Floor(frac * float64(width)))
	if fill >= width {
		return strings.Repeat("=", width)
	}
	if fill == 0 {
		return ">" + strings.Repeat(" ", width-1)
	}
	return strings.Repeat("=", fill) + ">" + strings.Repeat(" ", width-fill-1)
}

// fmtLoss formats a loss with four decimals, or four significant digits
// when it is large; NaN (unknown) prints as "-".
func fmtLoss(x float64) string {
	switch {
	case math.IsNaN(x):
		return "-"
	case math.IsInf(x, 0):
		return fmt.Sprint(x)
	case math.Abs(x) >= 1000:
		return fmt.Sprintf("%.4g", x)
	}
	return fmt.Sprintf("%.4f", x)
}

// fmtRate formats a throughput with one decimal and a k/M suffix.
func fmtRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.1f", r)
}

// fmtDuration formats d as MM:SS, or H:MM:SS from one hour on, rounded down
// to the second.
func fmtDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%02d:%02d", m, sec)
}

func runeLen(s string) int { return len([]rune(s)) }

// ema is a bias-corrected exponential moving average that skips NaN and
// infinite values.
type ema struct {
	beta float64
	acc  float64 // sum of weighted values
	norm float64 // 1 - beta^n
}

func (e *ema) add(x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	e.acc = e.beta*e.acc + (1-e.beta)*x
	e.norm = e.beta*e.norm + (1 - e.beta)
}

// value is the average so far, NaN before the first value.
func (e *ema) value() float64 {
	if e.norm == 0 {
		return math.NaN()
	}
	return e.acc / e.norm
}

// Smooth returns the bias-corrected exponential moving average of xs with
// factor beta in [0, 1): out[i] = acc_i / (1 - beta^n_i), where acc_i =
// beta*acc_{i-1} + (1-beta)*xs[i] over the n_i finite values so far. A NaN
// or infinite value in xs leaves the average unchanged (out[i] is the
// previous average, NaN before the first finite value); beta 0 returns xs
// with such holes filled that way. This is the smoothing Progress and Plot
// use.
func Smooth(xs []float64, beta float64) []float64 {
	if !(beta >= 0 && beta < 1) {
		panic(fmt.Sprintf("report.Smooth: beta %g outside [0, 1) (len %d)", beta, len(xs)))
	}
	out := make([]float64, len(xs))
	e := ema{beta: beta}
	for i, x := range xs {
		e.add(x)
		out[i] = e.value()
	}
	return out
}
