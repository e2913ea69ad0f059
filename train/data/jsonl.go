package data

// jsonl.go: the line reader and a small JSON parser that keeps enough
// structure to name the field at fault. It accepts strict JSON (RFC 8259)
// plus Python's NaN, Infinity and -Infinity literals (json.dumps writes
// them), so that a NaN label is reported as such rather than as a syntax
// error.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum
	jStr
	jArr
	jObj
)

// String names the kind as in error messages.
func (k jkind) String() string {
	switch k {
	case jNull:
		return "null"
	case jBool:
		return "boolean"
	case jNum:
		return "number"
	case jStr:
		return "string"
	case jArr:
		return "array"
	}
	return "object"
}

// jvalue is a parsed JSON value.
type jvalue struct {
	kind jkind
	b    bool
	num  float64
	str  string
	arr  []jvalue
	obj  []jfield
}

type jfield struct {
	key string
	val jvalue
}

// get returns the value of key (the last one if repeated, as Python's json
// does).
func (v *jvalue) get(key string) (*jvalue, bool) {
	for i := len(v.obj) - 1; i >= 0; i-- {
		if v.obj[i].key == key {
			return &v.obj[i].val, true
		}
	}
	return nil, false
}

type jparser struct {
	s   []byte
	pos int
}

type jsyntaxError struct {
	col int
	msg string
}

// Error implements error.
func (e *jsyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at column %d: %s", e.col, e.msg)
}

func (p *jparser) fail(msg string) error { return &jsyntaxError{col: p.pos + 1, msg: msg} }

func (p *jparser) ws() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// parseLine parses one JSON document filling the whole line.
func parseLine(s []byte) (jvalue, error) {
	p := jparser{s: s}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return jvalue{}, err
	}
	p.ws()
	if p.pos != len(p.s) {
		return jvalue{}, p.fail(fmt.Sprintf("unexpected %q after the value", p.s[p.pos]))
	}
	return v, nil
}

const maxDepth = 256

func (p *jparser) value(depth int) (jvalue, error) {
	if depth > maxDepth {
		return jvalue{}, p.fail("nested too deeply")
	}
	if p.pos >= len(p.s) {
		return jvalue{}, p.fail("unexpected end of line")
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.string()
		return jvalue{kind: jStr, str: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true", jvalue{kind: jBool, b: true})
	case c == 'f':
		return p.literal("false", jvalue{kind: jBool})
	case c == 'n':
		return p.literal("null", jvalue{kind: jNull})
	case c == 'N':
		return p.literal("NaN", jvalue{kind: jNum, num: math.NaN()})
	case c == 'I':
		return p.literal("Infinity", jvalue{kind: jNum, num: math.Inf(1)})
	default:
		return jvalue{}, p.fail(fmt.Sprintf("unexpected %q", c))
	}
}

func (p *jparser) literal(word string, v jvalue) (jvalue, error) {
	if !bytes.HasPrefix(p.s[p.pos:], []byte(word)) {
		return jvalue{}, p.fail("invalid literal")
	}
	p.pos += len(word)
	return v, nil
}

func (p *jparser) object(depth int) (jvalue, error) {
	p.pos++ // {
	v := jvalue{kind: jObj, obj: make([]jfield, 0, 4)}
	p.ws()
	if p.pos < len(p.s) && p.s[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.ws()
		if p.pos >= len(p.s) || p.s[p.pos] != '"' {
			return jvalue{}, p.fail("expected a string key")
		}
		k, err := p.string()
		if err != nil {
			return jvalue{}, err
		}
		p.ws()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return jvalue{}, p.fail("expected ':' after a key")
		}
		p.pos++
		p.ws()
		e, err := p.value(depth + 1)
		if err != nil {
			return jvalue{}, err
		}
		v.obj = append(v.obj, jfield{k, e})
		p.ws()
		if p.pos >= len(p.s) {
			return jvalue{}, p.fail("unterminated object")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return v, nil
		default:
			return jvalue{}, p.fail("expected ',' or '}' in an object")
		}
	}
}

func (p *jparser) array(depth int) (jvalue, error) {
	p.pos++ // [
	v := jvalue{kind: jArr}
	p.ws()
	if p.pos < len(p.s) && p.s[p.pos] == ']' {
		p.pos++
		v.arr = []jvalue{}
		return v, nil
	}
	for {
		p.ws()
		e, err := p.value(depth + 1)
		if err != nil {
			return jvalue{}, err
		}
		v.arr = append(v.arr, e)
		p.ws()
		if p.pos >= len(p.s) {
			return jvalue{}, p.fail("unterminated array")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return v, nil
		default:
			return jvalue{}, p.fail("expected ',' or ']' in an array")
		}
	}
}

func (p *jparser) number() (jvalue, error) {
	start := p.pos
	if p.s[p.pos] == '-' {
		p.pos++
		if bytes.HasPrefix(p.s[p.pos:], []byte("Infinity")) {
			p.pos += len("Infinity")
			return jvalue{kind: jNum, num: math.Inf(-1)}, nil
		}
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.pos < len(p.s) && p.s[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return jvalue{}, p.fail("invalid number")
	}
	if p.pos < len(p.s) && p.s[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return jvalue{}, p.fail("invalid number")
		}
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'e' || p.s[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.s) && (p.s[p.pos] == '+' || p.s[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return jvalue{}, p.fail("invalid number")
		}
	}
	f, err := strconv.ParseFloat(string(p.s[start:p.pos]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return jvalue{}, p.fail("invalid number")
	}
	// Out of range parses to ±Inf (or 0), as Python's float() does.
	return jvalue{kind: jNum, num: f}, nil
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func (p *jparser) hex4() (rune, bool) {
	if p.pos+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		h := hexVal(p.s[p.pos+i])
		if h < 0 {
			return 0, false
		}
		r = r<<4 | h
	}
	p.pos += 4
	return r, true
}

// string parses a string starting at the opening quote. The line is known
// to be valid UTF-8.
func (p *jparser) string() (string, error) {
	p.pos++ // "
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '"' {
			s := string(p.s[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.fail("control character in a string")
		}
		p.pos++
	}
	buf := make([]byte, 0, p.pos-start+16)
	buf = append(buf, p.s[start:p.pos]...)
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++ // backslash
		if p.pos >= len(p.s) {
			break
		}
		e := p.s[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if p.pos+1 < len(p.s) && p.s[p.pos] == '\\' && p.s[p.pos+1] == 'u' {
					save := p.pos
					p.pos += 2
					if lo, ok := p.hex4(); ok {
						if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
							r2 = d
						} else {
							p.pos = save
						}
					} else {
						p.pos = save
					}
				}
				r = r2
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.fail(fmt.Sprintf("invalid escape \\%c", e))
		}
	}
	return "", p.fail("unterminated string")
}

// lineReader reads non-blank lines with their numbers.
type lineReader struct {
	sc   *bufio.Scanner
	line int
	max  int
}

func newLineReader(r io.Reader, max int) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(64<<10, max)), max)
	return &lineReader{sc: sc, max: max}
}

// next returns the next non-blank line (without its line ending, spaces
// trimmed) and its 1-based number; io.EOF at the end.
func (lr *lineReader) next() ([]byte, int, error) {
	for lr.sc.Scan() {
		lr.line++
		b := lr.sc.Bytes()
		if lr.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		return b, lr.line, nil
	}
	if err := lr.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, lr.line + 1, fmt.Errorf("line longer than %d bytes (Options.MaxLineBytes)", lr.max)
		}
		return nil, lr.line + 1, err
	}
	return nil, lr.line, io.EOF
}

// decodeLine validates UTF-8 and parses an object.
func decodeLine(b []byte) (jvalue, string) {
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return jvalue{}, fmt.Sprintf("invalid UTF-8 at byte %d", i+1)
	}
	v, err := parseLine(b)
	if err != nil {
		return jvalue{}, err.Error()
	}
	if v.kind != jObj {
		return jvalue{}, fmt.Sprintf("want a JSON object, got %s", v.kind)
	}
	return v, ""
}
