package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ragr-dev/ragr/tensor"
)

// IndexName is the file name of a sharded checkpoint's index, as written by
// transformers' save_pretrained.
const IndexName = "model.safetensors.index.json"

// SingleName is the file name of an unsharded checkpoint.
const SingleName = "model.safetensors"

// Sharded is a checkpoint split over several safetensors files and described
// by an index file ({"metadata": {...}, "weight_map": {tensor: shard}}). It
// implements Source; its names are the index's weight_map keys.
type Sharded struct {
	path   string
	shards map[string]*File // by shard file name as written in the index
	owner  map[string]string
	names  []string
	meta   map[string]string
}

var _ Source = (*Sharded)(nil)

// rawIndex is the index file as written.
type rawIndex struct {
	Metadata  map[string]json.RawMessage `json:"metadata"`
	WeightMap map[string]string          `json:"weight_map"`
}

// OpenIndex opens the sharded checkpoint whose index file is at path; shard
// paths in the index are relative to the index's directory. Every shard is
// opened and validated, and every weight_map entry must name a shard that
// exists and holds that tensor; errors name the index, the tensor and the
// shard.
func OpenIndex(path string) (*Sharded, error) {
	js, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var raw rawIndex
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w: index is not valid JSON: %v", path, ErrInvalid, err)
	}
	if raw.WeightMap == nil {
		return nil, fmt.Errorf("safetensors: %s: %w: index has no weight_map", path, ErrInvalid)
	}
	s := &Sharded{path: path, shards: map[string]*File{}, owner: raw.WeightMap, meta: map[string]string{}}
	for k, v := range raw.Metadata {
		var str string
		if json.Unmarshal(v, &str) == nil {
			s.meta[k] = str
		} else {
			s.meta[k] = string(v)
		}
	}
	dir := filepath.Dir(path)
	for name := range raw.WeightMap {
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	for _, name := range s.names {
		shard := raw.WeightMap[name]
		f, ok := s.shards[shard]
		if !ok {
			if !filepath.IsLocal(shard) || strings.ContainsAny(shard, `\`) {
				s.Close()
				return nil, fmt.Errorf("safetensors: %s: %w: tensor %q: shard path %q is not a file inside the checkpoint directory", path, ErrInvalid, name, shard)
			}
			f, err = Open(filepath.Join(dir, shard))
			if err != nil {
				s.Close()
				if errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("safetensors: %s: tensor %q: shard %q is missing: %w", path, name, shard, err)
				}
				return nil, fmt.Errorf("safetensors: %s: tensor %q: shard %q: %w", path, name, shard, err)
			}
			s.shards[shard] = f
		}
		if _, ok := f.h.entries[name]; !ok {
			s.Close()
			return nil, fmt.Errorf("safetensors: %s: tensor %q: %w: shard %q does not hold it", path, name, ErrInvalid, shard)
		}
	}
	return s, nil
}

// OpenDir opens the checkpoint in a model directory: the sharded checkpoint
// of model.safetensors.index.json when there is one, else model.safetensors.
func OpenDir(dir string) (Source, error) {
	idx := filepath.Join(dir, IndexName)
	if _, err := os.Stat(idx); err == nil {
		return OpenIndex(idx)
	}
	single := filepath.Join(dir, SingleName)
	if _, err := os.Stat(single); err == nil {
		return Open(single)
	}
	return nil, fmt.Errorf("safetensors: %s: %w: neither %s nor %s", dir, fs.ErrNotExist, IndexName, SingleName)
}

// Path returns the index file's path.
func (s *Sharded) Path() string { return s.path }

// Shards returns the shard file names the index refers to, sorted.
func (s *Sharded) Shards() []string {
	out := make([]string, 0, len(s.shards))
	for k := range s.shards {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Names returns the tensor names of the weight map, sorted.
func (s *Sharded) Names() []string { return append([]string(nil), s.names...) }

// Metadata returns the index's "metadata" object with values as strings
// (JSON strings unquoted, other values as their JSON text, e.g. total_size).
func (s *Sharded) Metadata() map[string]string {
	m := make(map[string]string, len(s.meta))
	for k, v := range s.meta {
		m[k] = v
	}
	return m
}

func (s *Sharded) file(name string) (*File, error) {
	shard, ok := s.owner[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", s.path, name, ErrNotFound)
	}
	f, ok := s.shards[shard]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: checkpoint is closed", s.path, name)
	}
	return f, nil
}

// Info describes tensor name.
func (s *Sharded) Info(name string) (Info, error) {
	f, err := s.file(name)
	if err != nil {
		return Info{}, err
	}
	return f.Info(name)
}

// Tensor loads tensor name from its shard; see File.Tensor for aliasing.
func (s *Sharded) Tensor(name string) (*tensor.Tensor, error) {
	f, err := s.file(name)
	if err != nil {
		return nil, err
	}
	return f.Tensor(name)
}

// Float32 loads tensor name from its shard as a fresh float32 tensor.
func (s *Sharded) Float32(name string) (*tensor.Tensor, error) {
	f, err := s.file(name)
	if err != nil {
		return nil, err
	}
	return f.Float32(name)
}

// Close closes every shard; the first error is returned.
func (s *Sharded) Close() error {
	var first error
	for k, f := range s.shards {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
		delete(s.shards, k)
	}
	return first
}
