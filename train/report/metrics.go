package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ragr-dev/ragr/internal/atomicfile"
)

// The keys of a metrics record. KeyStep and KeyTime are Record's own fields;
// the others are the standard entries of Record.Values, written in this
// order before any other key.
const (
	KeyStep        = "step"          // optimizer steps done (an integer)
	KeyTime        = "time"          // wall clock, RFC 3339 in UTC with milliseconds
	KeyEpoch       = "epoch"         // fractional epoch
	KeyLoss        = "loss"          // training loss
	KeyLR          = "lr"            // learning rate
	KeyGradNorm    = "grad_norm"     // gradient norm before clipping
	KeySamplesPerS = "samples_per_s" // throughput
)

// standardKeys are the standard value keys in the order they are written.
var standardKeys = []string{KeyEpoch, KeyLoss, KeyLR, KeyGradNorm, KeySamplesPerS}

// IsStandardKey reports whether key is one of KeyEpoch, KeyLoss, KeyLR,
// KeyGradNorm and KeySamplesPerS; any other value key (such as "eval/map")
// is an evaluation metric for Plot.
func IsStandardKey(key string) bool { return slices.Contains(standardKeys, key) }

// timeLayout is RFC 3339 in UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Record is one line of a metrics log.
type Record struct {
	// Step is the number of optimizer steps done.
	Step int
	// Time is when the record was made; a zero Time is stamped with the
	// current time by MetricsWriter.Write and left out by MarshalJSON.
	Time time.Time
	// Values maps the other keys (KeyLoss, "eval/map", …) to their values;
	// a key that is absent was not measured. Values may be NaN or ±Inf.
	// Keys must not be empty, KeyStep or KeyTime.
	Values map[string]float64
}

// Set sets Values[key] to v, making the map when it is nil.
func (r *Record) Set(key string, v float64) {
	if r.Values == nil {
		r.Values = make(map[string]float64)
	}
	r.Values[key] = v
}

// Get returns Values[key] and whether it is present.
func (r Record) Get(key string) (float64, bool) {
	v, ok := r.Values[key]
	return v, ok
}

// MarshalJSON encodes r as one JSON object: "step", the standard keys
// present, the other keys sorted, then "time" when it is not zero.
// Non-finite values become the strings "NaN", "Infinity" and "-Infinity".
// It panics when a key is empty, KeyStep or KeyTime.
func (r Record) MarshalJSON() ([]byte, error) {
	return r.appendJSON(nil), nil
}

// appendJSON appends r's JSON object (no newline) to b.
func (r Record) appendJSON(b []byte) []byte {
	b = append(b, `{"step":`...)
	b = strconv.AppendInt(b, int64(r.Step), 10)
	for _, k := range standardKeys {
		if v, ok := r.Values[k]; ok {
			b = appendKV(b, k, v)
		}
	}
	var extra []string
	for k := range r.Values {
		if k == "" || k == KeyStep || k == KeyTime {
			panic(fmt.Sprintf("report.Record.MarshalJSON: invalid value key %q at step %d", k, r.Step))
		}
		if !IsStandardKey(k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		b = appendKV(b, k, r.Values[k])
	}
	if !r.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = r.Time.UTC().AppendFormat(b, timeLayout)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendKV appends ,"k":v to b.
func appendKV(b []byte, k string, v float64) []byte {
	b = append(b, ',')
	kq, _ := json.Marshal(k) // a string always marshals
	b = append(b, kq...)
	b = append(b, ':')
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	vb, _ := json.Marshal(v) // finite floats always marshal
	return append(b, vb...)
}

// UnmarshalJSON decodes one JSON object as written by MarshalJSON. "step"
// must be a non-negative integer; "time", when present, an RFC 3339 string;
// every other key a number, null (treated as absent) or one of the strings
// "NaN", "Infinity", "-Infinity".
func (r *Record) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		return errors.New("not a JSON object")
	}
	rec := Record{}
	s, ok := raw[KeyStep]
	if !ok {
		return errors.New(`no "step"`)
	}
	step, err := strconv.Atoi(string(bytes.TrimSpace(s)))
	if err != nil || step < 0 {
		return fmt.Errorf(`"step" is %s, want a non-negative integer`, s)
	}
	rec.Step = step
	for k, v := range raw {
		switch k {
		case KeyStep:
			continue
		case KeyTime:
			var ts string
			if err := json.Unmarshal(v, &ts); err != nil {
				return fmt.Errorf(`"time" is %s, want an RFC 3339 string`, v)
			}
			t, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				return fmt.Errorf(`"time": %v`, err)
			}
			rec.Time = t
			continue
		}
		if k == "" {
			return errors.New("empty key")
		}
		x, present, err := parseValue(v)
		if err != nil {
			return fmt.Errorf("key %q: %v", k, err)
		}
		if present {
			rec.Set(k, x)
		}
	}
	*r = rec
	return nil
}

// parseValue decodes a value: a number, null (absent) or a non-finite
// string.
func parseValue(v json.RawMessage) (x float64, present bool, err error) {
	v = bytes.TrimSpace(v)
	switch {
	case string(v) == "null":
		return 0, false, nil
	case len(v) > 0 && v[0] == '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, false, err
		}
		switch s {
		case "NaN":
			return math.NaN(), true, nil
		case "Infinity", "+Infinity", "Inf", "+Inf":
			return math.Inf(1), true, nil
		case "-Infinity", "-Inf":
			return math.Inf(-1), true, nil
		}
		return 0, false, fmt.Errorf("string %s, want a number", v)
	}
	if err := json.Unmarshal(v, &x); err != nil {
		return 0, false, fmt.Errorf("%s, want a number", v)
	}
	return x, true, nil
}

// MetricsWriter appends records to a metrics log, one JSON object per line,
// each in a single Write call to the underlying writer (no buffering, so a
// record is in the file as soon as Write returns). It is safe for
// concurrent use.
type MetricsWriter struct {
	mu    sync.Mutex
	w     io.Writer
	f     *os.File // owned file, closed by Close; nil for NewMetricsWriter
	buf   []byte
	clock func() time.Time
}

// NewMetricsWriter returns a MetricsWriter over w; Close does not close w.
func NewMetricsWriter(w io.Writer) *MetricsWriter {
	if w == nil {
		panic("report.NewMetricsWriter: nil writer")
	}
	return &MetricsWriter{w: w, clock: time.Now}
}

// OpenMetrics opens the metrics log at path for appending, creating it and
// its directory when missing, so a resumed run continues the file (call
// TruncateMetrics first when resuming from an earlier checkpoint). A last
// line cut short by a crash (no final newline) is removed first so that the
// next record starts on a line of its own.
func OpenMetrics(path string) (*MetricsWriter, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("report: metrics log: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("report: metrics log: %w", err)
	}
	if err := dropTornLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("report: metrics log %s: %w", path, err)
	}
	return &MetricsWriter{w: f, f: f, clock: time.Now}, nil
}

// dropTornLine truncates f after its last newline when its last byte is not
// a newline.
func dropTornLine(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size == 0 {
		return nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	// Search backwards for the previous newline.
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	end := size
	for end > 0 {
		start := max(0, end-chunk)
		n := int(end - start)
		if _, err := f.ReadAt(buf[:n], start); err != nil && err != io.EOF {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return f.Truncate(start + int64(i) + 1)
		}
		end = start
	}
	return f.Truncate(0)
}

// Write appends r as one line, stamping a zero r.Time with the current
// time. It panics when a value key is empty, KeyStep or KeyTime, or the
// writer is closed.
func (w *MetricsWriter) Write(r Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.w == nil {
		panic(fmt.Sprintf("report.MetricsWriter.Write: closed writer (step %d)", r.Step))
	}
	if r.Time.IsZero() {
		r.Time = w.clock()
	}
	w.buf = append(r.appendJSON(w.buf[:0]), '\n')
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("report: writing metrics record at step %d: %w", r.Step, err)
	}
	return nil
}

// Close syncs and closes the file opened by OpenMetrics; for a writer from
// NewMetricsWriter it only stops further writes. Calling it again does
// nothing.
func (w *MetricsWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.w == nil {
		return nil
	}
	w.w = nil
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	serr := f.Sync()
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: closing metrics log: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("report: syncing metrics log: %w", serr)
	}
	return nil
}

// ReadMetrics reads the metrics log at path. Blank lines are skipped, and so
// is a last line without a final newline that does not parse (a write cut
// short by a crash); any other malformed line is an error naming the file
// and line. An empty file gives no records and no error.
func ReadMetrics(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	return ReadMetricsFrom(f, path)
}

// ReadMetricsFrom reads a metrics log from r like ReadMetrics; name is used
// in error messages.
func ReadMetricsFrom(r io.Reader, name string) ([]Record, error) {
	var recs []Record
	err := scanLines(r, name, func(lineNo int, line []byte, complete bool) error {
		var rec Record
		if err := rec.UnmarshalJSON(line); err != nil {
			if !complete {
				return nil // torn last line
			}
			return fmt.Errorf("%s:%d: %v", name, lineNo, err)
		}
		recs = append(recs, rec)
		return nil
	})
	return recs, err
}

// scanLines calls fn for every non-blank line of r (without its newline),
// numbered from 1; complete is false for a last line with no final newline.
func scanLines(r io.Reader, name string, fn func(lineNo int, line []byte, complete bool) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("report: reading %s: %w", name, err)
		}
		complete := err == nil
		body := bytes.TrimSpace(line)
		if len(body) > 0 {
			if ferr := fn(lineNo, body, complete); ferr != nil {
				return ferr
			}
		}
		if !complete {
			return nil
		}
	}
}

// TruncateMetrics removes from the metrics log at path every record whose
// step is greater than step, for a run resumed from the checkpoint taken at
// that step; the kept lines are left as they were (less surrounding blanks
// and blank lines), and a torn last line is dropped. The file is replaced atomically (written beside it, then
// renamed). A missing file is not an error. A malformed line is an error
// naming the file and line, and leaves the file as it was. Call it before
// OpenMetrics.
func TruncateMetrics(path string, step int) error {
	if step < 0 {
		panic(fmt.Sprintf("report.TruncateMetrics: negative step %d (%s)", step, path))
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	var kept bytes.Buffer
	dropped := false
	err = scanLines(f, path, func(lineNo int, line []byte, complete bool) error {
		var rec Record
		if err := rec.UnmarshalJSON(line); err != nil {
			if !complete {
				dropped = true
				return nil
			}
			return fmt.Errorf("%s:%d: %v", path, lineNo, err)
		}
		if rec.Step > step {
			dropped = true
			return nil
		}
		kept.Write(line)
		kept.WriteByte('\n')
		return nil
	})
	f.Close()
	if err != nil {
		return err
	}
	if !dropped && int64(kept.Len()) == st.Size() {
		return nil // nothing to remove
	}
	return replaceFile(path, kept.Bytes(), st.Mode().Perm())
}

// replaceFile atomically replaces path with data.
func replaceFile(path string, data []byte, perm os.FileMode) error {
	if err := atomicfile.WriteBytes(path, perm, data); err != nil {
		return fmt.Errorf("report: rewriting %s: %w", path, err)
	}
	return nil
}

// errNoRecords is returned (wrapped) by Plot for a log without records.
var errNoRecords = errors.New("no records")

// keysOf returns the value keys present in recs: the standard ones in
// their order, then the others sorted.
func keysOf(recs []Record) (std, other []string) {
	seen := map[string]bool{}
	for _, r := range recs {
		for k := range r.Values {
			seen[k] = true
		}
	}
	for _, k := range standardKeys {
		if seen[k] {
			std = append(std, k)
		}
	}
	for k := range seen {
		if !IsStandardKey(k) {
			other = append(other, k)
		}
	}
	slices.Sort(other)
	return std, other
}
