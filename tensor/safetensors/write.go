package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"unsafe"

	"github.com/ragr-dev/ragr/internal/atomicfile"
	"github.com/ragr-dev/ragr/tensor"
)

// planned is one tensor ready to be written.
type planned struct {
	name  string
	code  string
	t     *tensor.Tensor // contiguous, on the CPU
	begin int64
	end   int64
}

// plan validates tensors, brings them to contiguous host tensors and lays
// them out as the reference implementation does: by descending dtype
// alignment, then by name, so every tensor is aligned for its dtype.
func plan(tensors map[string]*tensor.Tensor) ([]planned, error) {
	ps := make([]planned, 0, len(tensors))
	for name, t := range tensors {
		if t == nil {
			return nil, fmt.Errorf("tensor %q is nil", name)
		}
		if name == metadataKey {
			return nil, fmt.Errorf("tensor name %q is reserved", name)
		}
		code, ok := codeOf(t.DType())
		if !ok {
			return nil, fmt.Errorf("tensor %q: dtype %s has no safetensors code", name, t.DType())
		}
		if t.Device() != tensor.CPU {
			h, err := t.To(tensor.CPU)
			if err != nil {
				return nil, fmt.Errorf("tensor %q: %w", name, err)
			}
			t = h
		}
		ps = append(ps, planned{name: name, code: code, t: t.Contiguous()})
	}
	sort.Slice(ps, func(i, j int) bool {
		a, b := dtypes[ps[i].code], dtypes[ps[j].code]
		if a.size != b.size {
			return a.size > b.size
		}
		if a.rank != b.rank {
			return a.rank > b.rank
		}
		return ps[i].name < ps[j].name
	})
	var pos int64
	for i := range ps {
		ps[i].begin = pos
		pos += int64(ps[i].t.Numel()) * int64(ps[i].t.DType().Size())
		ps[i].end = pos
	}
	return ps, nil
}

// headerBytes returns the 8-byte length and the JSON header padded with
// spaces so that the data buffer starts at a multiple of 8 bytes.
func headerBytes(ps []planned, metadata map[string]string) []byte {
	js := []byte{'{'}
	first := true
	sep := func() {
		if !first {
			js = append(js, ',')
		}
		first = false
	}
	if len(metadata) > 0 {
		sep()
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		js = strconv.AppendQuote(js, metadataKey)
		js = append(js, ":{"...)
		for i, k := range keys {
			if i > 0 {
				js = append(js, ',')
			}
			js = appendJSONString(js, k)
			js = append(js, ':')
			js = appendJSONString(js, metadata[k])
		}
		js = append(js, '}')
	}
	for _, p := range ps {
		sep()
		js = appendJSONString(js, p.name)
		js = append(js, `:{"dtype":"`...)
		js = append(js, p.code...)
		js = append(js, `","shape":[`...)
		for i, d := range p.t.Shape() {
			if i > 0 {
				js = append(js, ',')
			}
			js = strconv.AppendInt(js, int64(d), 10)
		}
		js = append(js, `],"data_offsets":[`...)
		js = strconv.AppendInt(js, p.begin, 10)
		js = append(js, ',')
		js = strconv.AppendInt(js, p.end, 10)
		js = append(js, "]}"...)
	}
	js = append(js, '}')
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	out := make([]byte, 8, 8+len(js))
	binary.LittleEndian.PutUint64(out, uint64(len(js)))
	return append(out, js...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	b, err := json.Marshal(s)
	if err != nil { // a string always marshals
		panic(err)
	}
	return append(dst, b...)
}

// Encode writes tensors and metadata in the safetensors format to w and
// returns the number of bytes written. Tensor data is laid out as the
// reference implementation does (descending dtype alignment, then name);
// non-contiguous tensors are written contiguous and device tensors are copied
// to the host first. A nil or empty metadata map writes no "__metadata__".
func Encode(w io.Writer, tensors map[string]*tensor.Tensor, metadata map[string]string) (int64, error) {
	ps, err := plan(tensors)
	if err != nil {
		return 0, fmt.Errorf("safetensors: %w", err)
	}
	return encode(w, ps, metadata)
}

func encode(w io.Writer, ps []planned, metadata map[string]string) (int64, error) {
	hdr := headerBytes(ps, metadata)
	n, err := w.Write(hdr)
	total := int64(n)
	if err != nil {
		return total, fmt.Errorf("safetensors: %w", err)
	}
	var scratch []byte
	for _, p := range ps {
		var b []byte
		b, scratch = rawBytes(p.t, scratch)
		n, err := w.Write(b)
		total += int64(n)
		if err != nil {
			return total, fmt.Errorf("safetensors: writing tensor %q: %w", p.name, err)
		}
	}
	return total, nil
}

// rawBytes returns the little-endian bytes of contiguous host tensor t: its
// memory itself on little-endian hosts, else an encoding into scratch.
func rawBytes(t *tensor.Tensor, scratch []byte) ([]byte, []byte) {
	if t.Numel() == 0 {
		return nil, scratch
	}
	nb := t.Numel() * t.DType().Size()
	var p unsafe.Pointer
	switch t.DType() {
	case tensor.Float32:
		p = unsafe.Pointer(&t.Data32()[0])
	case tensor.Float64:
		p = unsafe.Pointer(&t.Data64()[0])
	case tensor.BFloat16, tensor.Float16:
		p = unsafe.Pointer(&t.DataU16()[0])
	case tensor.Int32:
		p = unsafe.Pointer(&t.DataI32()[0])
	}
	if littleEndian {
		return unsafe.Slice((*byte)(p), nb), scratch
	}
	if cap(scratch) < nb {
		scratch = make([]byte, nb)
	}
	b := scratch[:nb]
	switch t.DType() {
	case tensor.Float32:
		for i, v := range t.Data32() {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
	case tensor.Float64:
		for i, v := range t.Data64() {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
		}
	case tensor.BFloat16, tensor.Float16:
		for i, v := range t.DataU16() {
			binary.LittleEndian.PutUint16(b[2*i:], v)
		}
	case tensor.Int32:
		for i, v := range t.DataI32() {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		}
	}
	return b, scratch
}

// Write stores tensors and metadata as a safetensors file at path (see
// Encode for the layout). It writes a temporary file in the same directory
// and renames it over path, so a failed write never leaves a truncated file.
func Write(path string, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	ps, err := plan(tensors)
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := encode(w, ps, metadata)
		return err
	})
}

// writeAtomic writes a file through fill into a temporary file beside path,
// then renames it to path.
func writeAtomic(path string, fill func(io.Writer) error) error {
	if err := atomicfile.Write(path, 0o644, fill); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return nil
}

// WriteSharded saves tensors in dir as transformers' save_pretrained does:
// a single model.safetensors when the data fits in maxShardBytes, else
// model-00001-of-0000N.safetensors shards of at most maxShardBytes of tensor
// data each (a larger tensor gets a shard of its own), filled in name order,
// plus model.safetensors.index.json mapping each name to its shard with
// metadata {"total_size": bytes}. Every shard carries metadata. It returns
// the names of the files written.
func WriteSharded(dir string, tensors map[string]*tensor.Tensor, metadata map[string]string, maxShardBytes int64) ([]string, error) {
	if maxShardBytes <= 0 {
		panic(fmt.Sprintf("safetensors.WriteSharded: maxShardBytes %d must be positive", maxShardBytes))
	}
	names := make([]string, 0, len(tensors))
	for name := range tensors {
		names = append(names, name)
	}
	sort.Strings(names)
	var shards []map[string]*tensor.Tensor
	var size, total int64
	for _, name := range names {
		t := tensors[name]
		if t == nil {
			return nil, fmt.Errorf("safetensors: %s: tensor %q is nil", dir, name)
		}
		nb := int64(t.Numel()) * int64(t.DType().Size())
		if len(shards) == 0 || (size+nb > maxShardBytes && size > 0) {
			shards = append(shards, map[string]*tensor.Tensor{})
			size = 0
		}
		shards[len(shards)-1][name] = t
		size += nb
		total += nb
	}
	if len(shards) <= 1 {
		if err := Write(filepath.Join(dir, SingleName), tensors, metadata); err != nil {
			return nil, err
		}
		return []string{SingleName}, nil
	}
	weightMap := map[string]string{}
	var files []string
	for i, sh := range shards {
		file := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		if err := Write(filepath.Join(dir, file), sh, metadata); err != nil {
			return files, err
		}
		files = append(files, file)
		for name := range sh {
			weightMap[name] = file
		}
	}
	idx := map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}
	js, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return files, fmt.Errorf("safetensors: %s: %w", dir, err)
	}
	js = append(js, '\n')
	err = writeAtomic(filepath.Join(dir, IndexName), func(w io.Writer) error {
		_, err := w.Write(js)
		return err
	})
	if err != nil {
		return files, err
	}
	return append(files, IndexName), nil
}
