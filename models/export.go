package models

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ragr-dev/ragr/internal/atomicfile"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
)

// TokenizerFiles are the files a Hugging Face tokenizer may consist of; Export
// copies those present.
var TokenizerFiles = []string{
	"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
	"vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "spiece.model", "tokenizer.model",
}

// ExportOptions describe an export.
type ExportOptions struct {
	// Config is written as config.json: Raw when set (with the fields in
	// Updates applied), else the typed fields.
	Config *Config
	// Updates are keys to set in config.json (architectures, num_labels…).
	Updates map[string]any
	// TokenizerDir, when set, is where tokenizer files are copied from.
	TokenizerDir string
}

// Export writes a model directory in the Hugging Face layout that
// transformers' from_pretrained loads: config.json, model.safetensors (with
// the "format": "pt" metadata transformers requires) and the tokenizer
// files. Every file is written to a temporary name and renamed.
func Export(dir string, params []nn.NamedParam, o ExportOptions) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("models: export: %w", err)
	}
	cfg := map[string]any{}
	if o.Config != nil {
		if o.Config.Raw != nil {
			for k, v := range o.Config.Raw {
				cfg[k] = v
			}
		} else {
			b, err := json.Marshal(o.Config)
			if err != nil {
				return fmt.Errorf("models: export config: %w", err)
			}
			if err := json.Unmarshal(b, &cfg); err != nil {
				return fmt.Errorf("models: export config: %w", err)
			}
		}
	}
	for k, v := range o.Updates {
		cfg[k] = v
	}
	if _, ok := cfg["torch_dtype"]; !ok {
		cfg["torch_dtype"] = "float32"
	}
	if err := WriteJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range params {
		if seen[p.Name] {
			return fmt.Errorf("models: export: parameter %q listed twice", p.Name)
		}
		seen[p.Name] = true
	}
	if err := safetensors.Write(filepath.Join(dir, safetensors.SingleName), StateDict(params), map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("models: export: %w", err)
	}
	if o.TokenizerDir != "" {
		if err := CopyTokenizer(o.TokenizerDir, dir); err != nil {
			return err
		}
	}
	return nil
}

// CopyTokenizer copies the tokenizer files present in src to dst.
func CopyTokenizer(src, dst string) error {
	if filepath.Clean(src) == filepath.Clean(dst) {
		return nil
	}
	for _, name := range TokenizerFiles {
		from := filepath.Join(src, name)
		if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
			// A gzipped tokenizer.json is written out plain, as
			// transformers reads it.
			if _, gzErr := os.Stat(from + ".gz"); gzErr == nil {
				if err := gunzipFile(from+".gz", filepath.Join(dst, name)); err != nil {
					return fmt.Errorf("models: copying tokenizer file: %w", err)
				}
			}
			continue
		}
		if err := copyFile(from, filepath.Join(dst, name)); err != nil {
			return fmt.Errorf("models: copying tokenizer file: %w", err)
		}
	}
	return nil
}

func gunzipFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	defer zr.Close()
	return writeAtomic(to, zr)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeAtomic(to, in)
}

// writeAtomic copies r into path through a temporary file and a rename.
func writeAtomic(to string, in io.Reader) error {
	return atomicfile.Write(to, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// WriteJSON writes v as indented JSON to path through a temporary file.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("models: encoding %s: %w", path, err)
	}
	if err := atomicfile.WriteBytes(path, 0o644, append(b, '\n')); err != nil {
		return fmt.Errorf("models: writing %s: %w", path, err)
	}
	return nil
}

func writeSafetensors(path string, ts map[string]*tensor.Tensor) error {
	return safetensors.Write(path, ts, map[string]string{"format": "pt"})
}

// NamedParamLister is anything that lists its parameters by checkpoint name
// (every model type implements it).
type NamedParamLister interface {
	NamedParams(prefix string) []nn.NamedParam
}
