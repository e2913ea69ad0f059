package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Errors that callers may test for with errors.Is.
var (
	// ErrInvalid wraps every error about a malformed file or index.
	ErrInvalid = errors.New("invalid safetensors data")
	// ErrUnsupportedDType is returned when a tensor's dtype is valid in the
	// format but cannot be loaded into a tensor (BOOL, U8, I8, ...).
	ErrUnsupportedDType = errors.New("unsupported dtype")
	// ErrNotFound is returned for a tensor name the file does not hold.
	ErrNotFound = errors.New("tensor not found")
)

// maxHeaderSize is the reference implementation's limit on the JSON header.
const maxHeaderSize = 100_000_000

// metadataKey is the reserved header key holding the string metadata.
const metadataKey = "__metadata__"

// entry is one validated tensor of a file's header.
type entry struct {
	name  string
	dtype string
	shape []int
	numel int64
	begin int64 // offsets into the data buffer
	end   int64
}

// header is a validated header.
type header struct {
	entries   map[string]*entry
	names     []string // sorted
	meta      map[string]string
	dataStart int64 // absolute offset of the data buffer in the file
}

// invalid formats a format error wrapping ErrInvalid.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// rawEntry is a header entry as written; pointers detect missing fields.
type rawEntry struct {
	DType   *string  `json:"dtype"`
	Shape   *[]int64 `json:"shape"`
	Offsets *[]int64 `json:"data_offsets"`
}

// parseHeader validates the header at the start of a file of fileSize bytes
// whose first bytes are prefix (prefix holds at least the whole header when
// the header length is valid). Errors do not name the file; callers add it.
func parseHeader(prefix []byte, fileSize int64) (*header, error) {
	if fileSize < 8 || len(prefix) < 8 {
		return nil, invalid("file is %d bytes, shorter than the 8-byte header length", fileSize)
	}
	n := binary.LittleEndian.Uint64(prefix[:8])
	if n > maxHeaderSize {
		return nil, invalid("header length %d exceeds the %d-byte limit", n, maxHeaderSize)
	}
	if int64(n) > fileSize-8 {
		return nil, invalid("header length %d is larger than the %d bytes after it (truncated file?)", n, fileSize-8)
	}
	if int64(len(prefix)) < 8+int64(n) {
		return nil, invalid("header of %d bytes not available (have %d)", n, len(prefix)-8)
	}
	js := prefix[8 : 8+n]
	dataLen := fileSize - 8 - int64(n)

	h := &header{entries: map[string]*entry{}, dataStart: 8 + int64(n)}
	dec := json.NewDecoder(bytes.NewReader(js))
	tok, err := dec.Token()
	if err != nil {
		return nil, invalid("header is not valid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, invalid("header is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid("header is not valid JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, invalid("header is not valid JSON: key %v", tok)
		}
		if seen[key] {
			return nil, invalid("header has key %q twice", key)
		}
		seen[key] = true
		if key == metadataKey {
			var m map[string]string
			if err := dec.Decode(&m); err != nil {
				if isSyntax(err) {
					return nil, invalid("header is not valid JSON: %v", err)
				}
				return nil, invalid("%s must be an object of strings: %v", metadataKey, err)
			}
			h.meta = m
			continue
		}
		var raw rawEntry
		if err := dec.Decode(&raw); err != nil {
			if isSyntax(err) {
				return nil, invalid("header is not valid JSON: tensor %q: %v", key, err)
			}
			return nil, invalid("tensor %q: bad header entry: %v", key, err)
		}
		e, err := checkEntry(key, &raw, dataLen)
		if err != nil {
			return nil, err
		}
		h.entries[key] = e
		h.names = append(h.names, key)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, invalid("header is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("header has trailing data after the JSON object")
	}
	sort.Strings(h.names)
	if err := checkLayout(h, dataLen); err != nil {
		return nil, err
	}
	return h, nil
}

// isSyntax reports whether a JSON decoding error is a syntax error (as
// opposed to a value of the wrong type).
func isSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// checkEntry validates one tensor's fields against a data buffer of dataLen
// bytes.
func checkEntry(name string, raw *rawEntry, dataLen int64) (*entry, error) {
	if raw.DType == nil || raw.Shape == nil || raw.Offsets == nil {
		return nil, invalid("tensor %q: entry needs dtype, shape and data_offsets", name)
	}
	spec, ok := dtypes[*raw.DType]
	if !ok {
		return nil, invalid("tensor %q: unknown dtype %q", name, *raw.DType)
	}
	e := &entry{name: name, dtype: *raw.DType, numel: 1}
	nonzero := int64(1) // product of the non-zero dimensions, which must fit too
	for _, d := range *raw.Shape {
		if d < 0 {
			return nil, invalid("tensor %q: negative dimension in shape %v", name, *raw.Shape)
		}
		if d > math.MaxInt || (d != 0 && nonzero > math.MaxInt/d) {
			return nil, invalid("tensor %q: shape %v overflows", name, *raw.Shape)
		}
		if d != 0 {
			nonzero *= d
		}
		e.numel *= d
		e.shape = append(e.shape, int(d))
	}
	if e.shape == nil {
		e.shape = []int{}
	}
	offs := *raw.Offsets
	if len(offs) != 2 {
		return nil, invalid("tensor %q: data_offsets has %d values, want 2", name, len(offs))
	}
	e.begin, e.end = offs[0], offs[1]
	if e.begin < 0 || e.end < e.begin {
		return nil, invalid("tensor %q: bad data_offsets [%d, %d]", name, e.begin, e.end)
	}
	if e.end > dataLen {
		return nil, invalid("tensor %q: data_offsets [%d, %d] out of bounds of the %d-byte data buffer", name, e.begin, e.end, dataLen)
	}
	if e.numel > math.MaxInt64/int64(spec.size) || e.numel*int64(spec.size) != e.end-e.begin {
		return nil, invalid("tensor %q: shape %v of %s needs %d elements × %d bytes but data_offsets [%d, %d] span %d bytes",
			name, e.shape, e.dtype, e.numel, spec.size, e.begin, e.end, e.end-e.begin)
	}
	if e.end-e.begin > math.MaxInt {
		return nil, invalid("tensor %q: %d bytes do not fit in memory on this platform", name, e.end-e.begin)
	}
	return e, nil
}

// checkLayout requires the tensors to tile the data buffer exactly: sorted by
// offset, each begins where the previous ends, the first at 0 and the last at
// the end of the buffer.
func checkLayout(h *header, dataLen int64) error {
	order := make([]*entry, 0, len(h.entries))
	for _, name := range h.names {
		order = append(order, h.entries[name])
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].begin != order[j].begin {
			return order[i].begin < order[j].begin
		}
		return order[i].end < order[j].end
	})
	var pos int64
	var prev *entry
	for _, e := range order {
		switch {
		case e.begin < pos:
			return invalid("tensor %q: data_offsets [%d, %d] overlap tensor %q ending at %d", e.name, e.begin, e.end, prev.name, pos)
		case e.begin > pos:
			return invalid("tensor %q: data_offsets [%d, %d] leave a gap after byte %d", e.name, e.begin, e.end, pos)
		}
		pos, prev = e.end, e
	}
	if pos != dataLen {
		return invalid("tensors cover %d bytes but the data buffer is %d bytes", pos, dataLen)
	}
	return nil
}
