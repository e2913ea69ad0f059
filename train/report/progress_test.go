package report

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got)
}

// run drives a Progress through total steps, one every dt, with loss 1/step,
// lr 1e-4*step and n samples per step, logging a message after step logAt.
func run(p *Progress, clk *fakeClock, from, to int, dt time.Duration, n, logAt int) {
	for s := from; s <= to; s++ {
		clk.Advance(dt)
		p.Update(s, 1/float64(s), 1e-4*float64(s), n)
		if s == logAt {
			p.Log("eval: map 0.5000\n")
		}
	}
}

func TestProgressPlain(t *testing.T) {
	clk := newFakeClock()
	var b bytes.Buffer
	p := New(&b, 10, Options{Mode: ModePlain, Every: 3, Clock: clk.Now, Desc: "train"})
	run(p, clk, 1, 10, time.Second, 32, 5)
	p.Finish()
	p.Finish() // no-op
	p.Update(11, 0, 0, 1)
	got := b.String()
	golden(t, "progress_plain.golden", got)

	// The first step, every third step and the last one, plus the message.
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	require.Len(t, lines, 6)
	for i, prefix := range []string{"train step 1/10 ", "train step 3/10 ", "eval: map", "train step 6/10 ", "train step 9/10 ", "train step 10/10 "} {
		assert.True(t, strings.HasPrefix(lines[i], prefix), "line %d %q, want prefix %q", i, lines[i], prefix)
	}
	assert.NotContains(t, got, "\r")
	// 32 samples per second; 3 s done, 7 left at step 3.
	assert.Contains(t, lines[1], "| lr 3.00e-04 | 32.0 samples/s | elapsed 00:03 | eta 00:07")
	assert.Contains(t, lines[5], "(100%) | loss 0.2629 (last 0.1000)")
}

func TestProgressPlainFinishPrintsLast(t *testing.T) {
	clk := newFakeClock()
	var b bytes.Buffer
	p := New(&b, 100, Options{Mode: ModePlain, Every: 10, Clock: clk.Now})
	run(p, clk, 1, 15, time.Second, 1, -1) // stopped early (e.g. interrupted)
	p.Finish()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, lines, 3)
	assert.True(t, strings.HasPrefix(lines[2], "step 15/100 (15%)"), lines[2])
}

func TestProgressTTY(t *testing.T) {
	clk := newFakeClock()
	var b bytes.Buffer
	p := New(&b, 10, Options{Mode: ModeTTY, Clock: clk.Now, Unit: "tokens"})
	run(p, clk, 1, 10, 40*time.Millisecond, 3000, 5)
	p.Finish()
	got := b.String()
	golden(t, "progress_tty.golden", got)

	assert.True(t, strings.HasSuffix(got, "\n"))
	assert.Contains(t, got, "\reval: map 0.5000\n\r 5/10 [", "the message is printed on a cleared line and the bar redrawn")
	// Redraws of steps 1 (first), 4 (≥100 ms later), 5 (after Log), 8, 10 (last).
	var drawn []string
	for _, seg := range strings.Split(got, "\r") {
		if strings.Contains(seg, "/10 [") {
			drawn = append(drawn, strings.Fields(seg)[0])
		}
	}
	assert.Equal(t, []string{"1/10", "4/10", "5/10", "8/10", "10/10"}, drawn)
	assert.Contains(t, got, "10/10 [==============================] 100% | loss 0.2629 (last 0.1000) | lr 1.00e-03 | 75.0k tokens/s")
}

// TestProgressTTYRate checks the redraw limit over many fast steps: no more
// than one redraw per MinInterval, plus the final one.
func TestProgressTTYRate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dt, min  time.Duration
		steps    int
		maxDraws int
	}{
		{"1ms steps", time.Millisecond, 0, 2000, 2000/100 + 2},
		{"7ms steps, 50ms", 7 * time.Millisecond, 50 * time.Millisecond, 500, 500*7/50 + 2},
		{"slow steps", time.Second, 0, 20, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			var b bytes.Buffer
			p := New(&b, tc.steps, Options{Mode: ModeTTY, Clock: clk.Now, MinInterval: tc.min})
			run(p, clk, 1, tc.steps, tc.dt, 1, -1)
			p.Finish()
			draws := strings.Count(b.String(), "\r")
			assert.LessOrEqual(t, draws, tc.maxDraws)
			assert.GreaterOrEqual(t, draws, tc.maxDraws*8/10)
		})
	}
}

func TestProgressShorterLineIsPadded(t *testing.T) {
	clk := newFakeClock()
	var b bytes.Buffer
	p := New(&b, 0, Options{Mode: ModeTTY, Clock: clk.Now})
	clk.Advance(time.Second)
	p.Update(1, 12345.678, 0.1, 100000) // long: loss 1.235e+04, 100.0k samples/s
	clk.Advance(time.Second)
	p.Update(2, 1, math.NaN(), 0) // shorter: no lr
	p.Finish()
	segs := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\r")
	require.Len(t, segs, 3)
	assert.Equal(t, len(segs[1]), len(segs[2]), "the second line is padded to erase the first")
	assert.Equal(t, "1 | loss 1.235e+04 (last 1.235e+04) | lr 1.00e-01 | 100.0k samples/s | 00:01", segs[1])
	assert.NotContains(t, segs[2], "lr")
	assert.NotContains(t, segs[2], "[", "no bar when total is unknown")
}

func TestProgressFormats(t *testing.T) {
	cases := []struct {
		name string
		mk   func(*bytes.Buffer, *fakeClock) *Progress
		step func(*Progress, *fakeClock)
		want string
	}{
		{
			name: "resumed run counts only new steps",
			mk: func(b *bytes.Buffer, c *fakeClock) *Progress {
				return New(b, 1000, Options{Mode: ModePlain, Start: 900, Clock: c.Now})
			},
			step: func(p *Progress, c *fakeClock) { c.Advance(10 * time.Second); p.Update(910, 0.5, 1e-5, 320) },
			want: "step 910/1000 (91%) | loss 0.5000 (last 0.5000) | lr 1.00e-05 | 32.0 samples/s | elapsed 00:10 | eta 01:30\n",
		},
		{
			name: "unknown total",
			mk: func(b *bytes.Buffer, c *fakeClock) *Progress {
				return New(b, 0, Options{Mode: ModePlain, Clock: c.Now})
			},
			step: func(p *Progress, c *fakeClock) { c.Advance(2 * time.Hour); p.Update(7, math.Inf(1), 0.001, 2e7) },
			want: "step 7 | loss - (last +Inf) | lr 1.00e-03 | 2777.8 samples/s | elapsed 2:00:00\n",
		},
		{
			name: "no time elapsed, NaN loss",
			mk: func(b *bytes.Buffer, c *fakeClock) *Progress {
				return New(b, 3, Options{Mode: ModePlain, Clock: c.Now, Unit: "tokens"})
			},
			step: func(p *Progress, c *fakeClock) { p.Update(1, math.NaN(), math.NaN(), 5) },
			want: "step 1/3 (33%) | loss - (last -) | - tokens/s | elapsed 00:00 | eta --:--\n",
		},
		{
			name: "step past total clamps the bar",
			mk: func(b *bytes.Buffer, c *fakeClock) *Progress {
				return New(b, 4, Options{Mode: ModeTTY, Clock: c.Now, BarWidth: 8})
			},
			step: func(p *Progress, c *fakeClock) { c.Advance(time.Second); p.Update(5, 2, 3e6, 3e6) },
			want: "\r5/4 [========] 100% | loss 2.0000 (last 2.0000) | lr 3.00e+06 | 3.00M samples/s | 00:01<00:00",
		},
		{
			name: "Finish with no update draws an empty bar",
			mk: func(b *bytes.Buffer, c *fakeClock) *Progress {
				return New(b, 12, Options{Mode: ModeTTY, Clock: c.Now, BarWidth: 4, Desc: "epoch 1"})
			},
			step: func(p *Progress, c *fakeClock) {},
			want: "\repoch 1  0/12 [>   ]   0% | loss - (last -) | - samples/s | 00:00<--:--",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			var b bytes.Buffer
			p := tc.mk(&b, clk)
			tc.step(p, clk)
			if p.tty {
				p.Finish()
				assert.Equal(t, tc.want+"\n", b.String())
				return
			}
			assert.Equal(t, tc.want, b.String())
		})
	}
}

func TestProgressConcurrent(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, 200, Options{Mode: ModeTTY})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for s := 1; s <= 200; s++ {
			p.Update(s, 1, 1, 1)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			p.Log("msg")
		}
	}()
	wg.Wait()
	p.Finish()
	assert.Equal(t, 20, strings.Count(b.String(), "msg\n"))
	assert.Contains(t, b.String(), "200/200 [")
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, IsTerminal(f), "regular file")
	assert.False(t, IsTerminal(&bytes.Buffer{}), "buffer")
	assert.False(t, IsTerminal((*os.File)(nil)), "nil file")

	dev, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no %s: %v", os.DevNull, err)
	}
	defer dev.Close()
	if st, err := dev.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Skipf("%s is not a character device here", os.DevNull)
	}
	t.Setenv("TERM", "xterm-256color")
	assert.True(t, IsTerminal(dev), "character device")
	t.Setenv("TERM", "dumb")
	assert.False(t, IsTerminal(dev), "TERM=dumb")

	// ModeAuto on a regular file prints plain lines.
	p := New(f, 2, Options{})
	assert.False(t, p.tty)
}

func TestNewPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"nil writer":     func() { New(nil, 1, Options{}) },
		"negative Every": func() { New(&bytes.Buffer{}, 1, Options{Every: -1}) },
		"smoothing 1":    func() { New(&bytes.Buffer{}, 1, Options{Smoothing: 1}) },
		"smoothing NaN":  func() { New(&bytes.Buffer{}, 1, Options{Smoothing: math.NaN()}) },
		"bad mode":       func() { New(&bytes.Buffer{}, 1, Options{Mode: 7}) },
		"Smooth beta":    func() { Smooth([]float64{1}, -0.1) },
	} {
		assert.Panics(t, fn, name)
	}
	assert.PanicsWithValue(t, "report.New: Smoothing 1 outside [0, 1)", func() { New(&bytes.Buffer{}, 1, Options{Smoothing: 1}) })
}

func TestSmooth(t *testing.T) {
	nan := math.NaN()
	// Hand-worked with beta 0.5: 1; (0.25+1)/0.75; NaN keeps it; (0.625+2)/0.875.
	testutil.AssertClose(t, "hand-worked", Smooth([]float64{1, 2, nan, 4}, 0.5), []float64{1, 5.0 / 3, 5.0 / 3, 3}, testutil.F64)
	testutil.AssertClose(t, "leading NaN, Inf skipped", Smooth([]float64{nan, 2, math.Inf(1), 2}, 0.9), []float64{nan, 2, 2, 2}, testutil.F64)
	testutil.AssertClose(t, "beta 0", Smooth([]float64{3, 1, 2}, 0), []float64{3, 1, 2}, testutil.F64)
	assert.Empty(t, Smooth(nil, 0.5))

	// Against the closed form sum_j beta^(n-j) (1-beta) x_j / (1 - beta^n).
	r := testutil.NewRand(1)
	xs := testutil.Uniform64(r, 500, -3, 5)
	const beta = 0.97
	want := make([]float64, len(xs))
	for i := range xs {
		var s float64
		for j := 0; j <= i; j++ {
			s += math.Pow(beta, float64(i-j)) * (1 - beta) * xs[j]
		}
		want[i] = s / (1 - math.Pow(beta, float64(i+1)))
	}
	testutil.AssertClose(t, "closed form", Smooth(xs, beta), want, testutil.F64)
}
