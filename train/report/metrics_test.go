package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 2, 15, 4, 5, 123e6, time.UTC)

// trainRec is a training record at step s with values that depend on s.
func trainRec(s int) Record {
	r := Record{Step: s, Time: t0.Add(time.Duration(s) * time.Second)}
	r.Set(KeyEpoch, float64(s)/4)
	r.Set(KeyLoss, 2/float64(s))
	r.Set(KeyLR, 1e-5*float64(s))
	r.Set(KeyGradNorm, 1.5)
	r.Set(KeySamplesPerS, 512.25)
	return r
}

// evalRec is an evaluation-only record at step s.
func evalRec(s int) Record {
	return Record{Step: s, Time: t0.Add(time.Duration(s)*time.Second + time.Millisecond), Values: map[string]float64{
		"eval/map": 0.1 * float64(s), "eval/ndcg@10": 0.5,
	}}
}

// assertRecords compares records: steps, times (as instants) and values
// (NaN equals NaN).
func assertRecords(t *testing.T, want, got []Record) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].Step, got[i].Step, "record %d step", i)
		assert.True(t, want[i].Time.Equal(got[i].Time), "record %d time %v, want %v", i, got[i].Time, want[i].Time)
		require.Len(t, got[i].Values, len(want[i].Values), "record %d values %v", i, got[i].Values)
		for k, w := range want[i].Values {
			g, ok := got[i].Get(k)
			require.True(t, ok, "record %d lacks %q", i, k)
			if math.IsNaN(w) {
				assert.True(t, math.IsNaN(g), "record %d %q = %v, want NaN", i, k, g)
			} else {
				assert.Equal(t, w, g, "record %d %q", i, k)
			}
		}
	}
}

func TestRecordJSON(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		want string
	}{
		{"train", trainRec(4), `{"step":4,"epoch":1,"loss":0.5,"lr":0.00004,"grad_norm":1.5,"samples_per_s":512.25,"time":"2026-01-02T15:04:09.123Z"}`},
		{"eval sorted after standard keys", Record{Step: 7, Values: map[string]float64{"eval/z": 1, "loss": 2, "eval/a": 1e-9}},
			`{"step":7,"loss":2,"eval/a":1e-9,"eval/z":1}`},
		{"non-finite", Record{Step: 1, Values: map[string]float64{KeyLoss: math.NaN(), KeyGradNorm: math.Inf(1), "x": math.Inf(-1)}},
			`{"step":1,"loss":"NaN","grad_norm":"Infinity","x":"-Infinity"}`},
		{"step only, time in another zone", Record{Step: 0, Time: time.Date(2026, 3, 4, 5, 6, 7, 8e8, time.FixedZone("X", 3600))},
			`{"step":0,"time":"2026-03-04T04:06:07.800Z"}`},
		{"key escaped", Record{Step: 2, Values: map[string]float64{`eval/"q"`: 1}}, `{"step":2,"eval/\"q\"":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.rec)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(b))
			var back Record
			require.NoError(t, json.Unmarshal(b, &back))
			assertRecords(t, []Record{tc.rec}, []Record{back})
		})
	}
	for _, k := range []string{"", KeyStep, KeyTime} {
		assert.Panics(t, func() { _, _ = Record{Values: map[string]float64{k: 1}}.MarshalJSON() }, "key %q", k)
	}
}

func TestMetricsRoundTripAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "metrics.jsonl") // directory made by OpenMetrics
	var want []Record

	w, err := OpenMetrics(path)
	require.NoError(t, err)
	for s := 1; s <= 5; s++ {
		r := trainRec(s)
		if s == 3 {
			r.Set(KeyLoss, math.NaN())
			delete(r.Values, KeyGradNorm)
		}
		require.NoError(t, w.Write(r))
		want = append(want, r)
	}
	want = append(want, evalRec(5))
	require.NoError(t, w.Write(evalRec(5)))
	// Flushed per record: the file holds every record before Close.
	got, err := ReadMetrics(path)
	require.NoError(t, err)
	assertRecords(t, want, got)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close())
	assert.Panics(t, func() { _ = w.Write(trainRec(6)) })

	// A resumed run appends.
	w, err = OpenMetrics(path)
	require.NoError(t, err)
	for s := 6; s <= 8; s++ {
		require.NoError(t, w.Write(trainRec(s)))
		want = append(want, trainRec(s))
	}
	require.NoError(t, w.Close())
	got, err = ReadMetrics(path)
	require.NoError(t, err)
	assertRecords(t, want, got)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, len(want), strings.Count(string(data), "\n"))
}

func TestMetricsWriterStampsTime(t *testing.T) {
	var b bytes.Buffer
	w := NewMetricsWriter(&b)
	w.clock = func() time.Time { return t0 }
	require.NoError(t, w.Write(Record{Step: 3, Values: map[string]float64{KeyLoss: 0.25}}))
	require.NoError(t, w.Close())
	assert.Equal(t, `{"step":3,"loss":0.25,"time":"2026-01-02T15:04:05.123Z"}`+"\n", b.String())

	// Without an injected clock the time is now.
	b.Reset()
	w = NewMetricsWriter(&b)
	before := time.Now().Add(-time.Second)
	require.NoError(t, w.Write(Record{Step: 1}))
	recs, err := ReadMetricsFrom(&b, "buf")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.True(t, recs[0].Time.After(before), "time %v", recs[0].Time)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestMetricsWriteError(t *testing.T) {
	err := NewMetricsWriter(failWriter{}).Write(Record{Step: 9})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "step 9")
	assert.Contains(t, err.Error(), "disk full")
}

func TestTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	good := `{"step":1,"loss":1}` + "\n" + `{"step":2,"loss":0.5}` + "\n"
	require.NoError(t, os.WriteFile(path, []byte(good+`{"step":3,"lo`), 0o644))

	recs, err := ReadMetrics(path)
	require.NoError(t, err, "a torn last line is skipped")
	assert.Len(t, recs, 2)

	w, err := OpenMetrics(path)
	require.NoError(t, err)
	require.NoError(t, w.Write(Record{Step: 3, Time: t0, Values: map[string]float64{KeyLoss: 0.25}}))
	require.NoError(t, w.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, good+`{"step":3,"loss":0.25,"time":"2026-01-02T15:04:05.123Z"}`+"\n", string(data))

	// A file that is one torn line is emptied.
	require.NoError(t, os.WriteFile(path, []byte(`{"step":1`), 0o644))
	w, err = OpenMetrics(path)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Empty(t, data)

	// A complete last line without its newline still reads.
	recs, err = ReadMetricsFrom(strings.NewReader(`{"step":1}`+"\n"+`{"step":2}`), "x")
	require.NoError(t, err)
	assert.Len(t, recs, 2)
}

func TestTornLineLongerThanChunk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	torn := `{"step":2,"eval/` + strings.Repeat("x", 200<<10)
	require.NoError(t, os.WriteFile(path, []byte(`{"step":1}`+"\n"+torn), 0o644))
	w, err := OpenMetrics(path)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, `{"step":1}`+"\n", string(data))
}

func TestTruncateMetrics(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.jsonl")
	w, err := OpenMetrics(path)
	require.NoError(t, err)
	var want []Record
	for s := 1; s <= 10; s++ {
		require.NoError(t, w.Write(trainRec(s)))
		if s <= 6 {
			want = append(want, trainRec(s))
		}
		if s%5 == 0 {
			require.NoError(t, w.Write(evalRec(s)))
			if s <= 6 {
				want = append(want, evalRec(s))
			}
		}
	}
	require.NoError(t, w.Close())
	require.NoError(t, os.Chmod(path, 0o600))
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	require.NoError(t, TruncateMetrics(path, 6))
	got, err := ReadMetrics(path)
	require.NoError(t, err)
	assertRecords(t, want, got)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(before, after), "kept lines are unchanged")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "mode kept")

	// Truncating after a later step changes nothing; a resumed run appends.
	require.NoError(t, TruncateMetrics(path, 100))
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, after, again)
	w, err = OpenMetrics(path)
	require.NoError(t, err)
	require.NoError(t, w.Write(trainRec(7)))
	require.NoError(t, w.Close())
	got, err = ReadMetrics(path)
	require.NoError(t, err)
	assertRecords(t, append(want, trainRec(7)), got)

	// Step 0 keeps nothing but step-0 records.
	require.NoError(t, TruncateMetrics(path, 0))
	got, err = ReadMetrics(path)
	require.NoError(t, err)
	assert.Empty(t, got)

	// No temporary files are left behind.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1)

	// A missing file is fine.
	require.NoError(t, TruncateMetrics(filepath.Join(dir, "none.jsonl"), 3))
	assert.Panics(t, func() { _ = TruncateMetrics(path, -1) })
}

func TestTruncateMetricsTornAndMalformed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"step":1}`+"\n"+`{"step":2}`+"\n"+`{"ste`), 0o644))
	require.NoError(t, TruncateMetrics(path, 5))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, `{"step":1}`+"\n"+`{"step":2}`+"\n", string(data), "torn line dropped")

	bad := `{"step":1}` + "\n" + `{"step":2,}` + "\n" + `{"step":3}` + "\n"
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
	err = TruncateMetrics(path, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+":2:")
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, bad, string(data), "file untouched on error")
}

func TestReadMetricsErrors(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"not JSON", `step 1`, "invalid character"},
		{"array", `[1,2]`, "cannot unmarshal array"},
		{"null", `null`, "not a JSON object"},
		{"no step", `{"loss":1}`, `no "step"`},
		{"fractional step", `{"step":1.5}`, `"step" is 1.5`},
		{"negative step", `{"step":-1}`, `"step" is -1`},
		{"string step", `{"step":"1"}`, `"step" is "1"`},
		{"string value", `{"step":1,"loss":"low"}`, `key "loss": string "low", want a number`},
		{"bool value", `{"step":1,"loss":true}`, `key "loss": true, want a number`},
		{"object value", `{"step":1,"eval":{"map":1}}`, `key "eval"`},
		{"bad time", `{"step":1,"time":"yesterday"}`, `"time"`},
		{"numeric time", `{"step":1,"time":5}`, `"time" is 5`},
		{"empty key", `{"step":1,"":2}`, "empty key"},
		{"trailing garbage", `{"step":1} x`, "invalid character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.jsonl")
			require.NoError(t, os.WriteFile(path, []byte(`{"step":1}`+"\n\n"+tc.line+"\n"), 0o644))
			_, err := ReadMetrics(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path+":3: ")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := ReadMetrics(filepath.Join(t.TempDir(), "missing.jsonl"))
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "missing.jsonl")
}

func TestReadMetricsFixture(t *testing.T) {
	// testdata/metrics_sample.jsonl: hand-written, with a blank line, CRLF
	// line ends, a null, non-finite strings and keys in any order.
	recs, err := ReadMetrics(filepath.Join("testdata", "metrics_sample.jsonl"))
	require.NoError(t, err)
	want := []Record{
		{Step: 1, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Values: map[string]float64{KeyEpoch: 0.01, KeyLoss: 2.5, KeyLR: 1e-6}},
		{Step: 2, Values: map[string]float64{KeyLoss: 2.25, KeyLR: 2e-6, KeyGradNorm: math.Inf(1)}},
		{Step: 3, Time: time.Date(2026, 1, 2, 4, 4, 5, 500e6, time.UTC), Values: map[string]float64{KeyLoss: math.NaN()}},
		{Step: 3, Values: map[string]float64{"eval/map": 0.25, "eval/mrr@10": 0.3}},
	}
	assertRecords(t, want, recs)

	empty := filepath.Join(t.TempDir(), "empty.jsonl")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	recs, err = ReadMetrics(empty)
	require.NoError(t, err)
	assert.Empty(t, recs)
}

func TestKeys(t *testing.T) {
	assert.True(t, IsStandardKey(KeyLoss))
	assert.False(t, IsStandardKey("eval/map"))
	assert.False(t, IsStandardKey(KeyStep))
	std, other := keysOf([]Record{trainRec(1), evalRec(2), {Step: 3, Values: map[string]float64{"a": 1}}})
	assert.Equal(t, []string{KeyEpoch, KeyLoss, KeyLR, KeyGradNorm, KeySamplesPerS}, std)
	assert.Equal(t, []string{"a", "eval/map", "eval/ndcg@10"}, other)
}
