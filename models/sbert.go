package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ragr-dev/ragr/tensor"
)

// Pooling names a sentence-embedding pooling mode.
type Pooling string

// The pooling modes sentence-transformers' Pooling module offers that ragr
// computes.
const (
	PoolCLS       Pooling = "cls"
	PoolMean      Pooling = "mean"
	PoolLastToken Pooling = "lasttoken"
	PoolMax       Pooling = "max"
)

// DenseLayer is a sentence-transformers Dense module: y = act(x·Wᵀ + b).
type DenseLayer struct {
	Path       string
	In, Out    int
	Activation string // torch class name, e.g. torch.nn.modules.linear.Identity
	Weight     *tensor.Tensor
	Bias       *tensor.Tensor // nil without bias
}

// SentenceTransformer describes the modules.json pipeline of a
// sentence-transformers directory.
type SentenceTransformer struct {
	Pooling   Pooling
	Dim       int // word_embedding_dimension
	Dense     []DenseLayer
	Normalize bool
	// IncludePrompt is the Pooling module's include_prompt.
	IncludePrompt bool
}

type stModule struct {
	Idx  int    `json:"idx"`
	Name string `json:"name"`
	Path string `json:"path"`
	Type string `json:"type"`
}

type stPooling struct {
	WordEmbeddingDimension int   `json:"word_embedding_dimension"`
	CLS                    bool  `json:"pooling_mode_cls_token"`
	Mean                   bool  `json:"pooling_mode_mean_tokens"`
	Max                    bool  `json:"pooling_mode_max_tokens"`
	MeanSqrt               bool  `json:"pooling_mode_mean_sqrt_len_tokens"`
	WeightedMean           bool  `json:"pooling_mode_weightedmean_tokens"`
	LastToken              bool  `json:"pooling_mode_lasttoken"`
	IncludePrompt          *bool `json:"include_prompt,omitempty"`
}

type stDense struct {
	In         int    `json:"in_features"`
	Out        int    `json:"out_features"`
	Bias       bool   `json:"bias"`
	Activation string `json:"activation_function"`
}

// ReadSentenceTransformer reads modules.json and its Pooling / Dense /
// Normalize modules. It returns (nil, nil) when dir has no modules.json.
func ReadSentenceTransformer(dir string) (*SentenceTransformer, error) {
	mpath := filepath.Join(dir, "modules.json")
	b, err := os.ReadFile(mpath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	var mods []stModule
	if err := json.Unmarshal(b, &mods); err != nil {
		return nil, fmt.Errorf("models: %s: malformed modules.json: %w", mpath, err)
	}
	st := &SentenceTransformer{IncludePrompt: true}
	for _, m := range mods {
		typ := m.Type[strings.LastIndex(m.Type, ".")+1:]
		mdir := filepath.Join(dir, m.Path)
		switch typ {
		case "Transformer":
		case "Pooling":
			var p stPooling
			path := filepath.Join(mdir, "config.json")
			if err := readJSON(path, &p); err != nil {
				return nil, err
			}
			st.Dim = p.WordEmbeddingDimension
			if p.IncludePrompt != nil {
				st.IncludePrompt = *p.IncludePrompt
			}
			modes := 0
			for _, c := range []struct {
				on   bool
				mode Pooling
			}{{p.CLS, PoolCLS}, {p.Mean, PoolMean}, {p.LastToken, PoolLastToken}, {p.Max, PoolMax}} {
				if c.on {
					st.Pooling = c.mode
					modes++
				}
			}
			if p.MeanSqrt || p.WeightedMean {
				return nil, fmt.Errorf("models: %s: pooling modes mean_sqrt_len and weightedmean are not supported", path)
			}
			if modes != 1 {
				return nil, fmt.Errorf("models: %s: want exactly one pooling mode, found %d", path, modes)
			}
		case "Dense":
			var d stDense
			path := filepath.Join(mdir, "config.json")
			if err := readJSON(path, &d); err != nil {
				return nil, err
			}
			w, err := OpenWeights(mdir)
			if err != nil {
				return nil, err
			}
			layer := DenseLayer{Path: m.Path, In: d.In, Out: d.Out, Activation: d.Activation}
			layer.Weight, err = w.Float32("linear.weight")
			if err == nil && d.Bias {
				layer.Bias, err = w.Float32("linear.bias")
			}
			w.Close()
			if err != nil {
				return nil, fmt.Errorf("models: %s: %w", mdir, err)
			}
			if s := layer.Weight.Shape(); len(s) != 2 || s[0] != d.Out || s[1] != d.In {
				return nil, fmt.Errorf("models: %s: linear.weight has shape %v, want [%d %d]", mdir, s, d.Out, d.In)
			}
			st.Dense = append(st.Dense, layer)
		case "Normalize":
			st.Normalize = true
		default:
			return nil, fmt.Errorf("models: %s: module type %q is not supported", mpath, m.Type)
		}
	}
	if st.Pooling == "" {
		return nil, fmt.Errorf("models: %s: no Pooling module", mpath)
	}
	return st, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("models: %s: malformed JSON: %w", path, err)
	}
	return nil
}

// WriteSentenceTransformer writes modules.json, 1_Pooling/config.json and
// the Dense and Normalize modules into dir (the Transformer module is the
// directory itself, written by Export).
func WriteSentenceTransformer(dir string, st *SentenceTransformer) error {
	mods := []stModule{{0, "0", "", "sentence_transformers.models.Transformer"}}
	p := stPooling{WordEmbeddingDimension: st.Dim, CLS: st.Pooling == PoolCLS, Mean: st.Pooling == PoolMean,
		LastToken: st.Pooling == PoolLastToken, Max: st.Pooling == PoolMax}
	ip := st.IncludePrompt
	p.IncludePrompt = &ip
	if err := os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if err := WriteJSON(filepath.Join(dir, "1_Pooling", "config.json"), p); err != nil {
		return err
	}
	mods = append(mods, stModule{1, "1", "1_Pooling", "sentence_transformers.models.Pooling"})
	for i, d := range st.Dense {
		idx := len(mods)
		path := fmt.Sprintf("%d_Dense", idx)
		if err := os.MkdirAll(filepath.Join(dir, path), 0o755); err != nil {
			return fmt.Errorf("models: %w", err)
		}
		act := d.Activation
		if act == "" {
			act = "torch.nn.modules.linear.Identity"
		}
		if err := WriteJSON(filepath.Join(dir, path, "config.json"), stDense{In: d.In, Out: d.Out, Bias: d.Bias != nil, Activation: act}); err != nil {
			return err
		}
		ts := map[string]*tensor.Tensor{"linear.weight": d.Weight}
		if d.Bias != nil {
			ts["linear.bias"] = d.Bias
		}
		if err := writeSafetensors(filepath.Join(dir, path, "model.safetensors"), ts); err != nil {
			return fmt.Errorf("models: dense module %d: %w", i, err)
		}
		mods = append(mods, stModule{idx, fmt.Sprint(idx), path, "sentence_transformers.models.Dense"})
	}
	if st.Normalize {
		idx := len(mods)
		path := fmt.Sprintf("%d_Normalize", idx)
		if err := os.MkdirAll(filepath.Join(dir, path), 0o755); err != nil {
			return fmt.Errorf("models: %w", err)
		}
		mods = append(mods, stModule{idx, fmt.Sprint(idx), path, "sentence_transformers.models.Normalize"})
	}
	return WriteJSON(filepath.Join(dir, "modules.json"), mods)
}
