package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every bundled example config runs as its comment says: a few steps of
// its mode with the bundled data, ending with an exported model.
func TestExampleConfigsRun(t *testing.T) {
	cases := []struct{ config, mode, want string }{
		{"../../examples/demo/reranker.yaml", "reranker", "model: "},
		{"../../examples/sts/embedding.yaml", "embedding", "after training:  sts_spearman"},
		{"../../examples/colbert/colbert.yaml", "colbert", "model: "},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run([]string{"train", c.mode, "--config", c.config, "--set", "max_steps=2", "--set", "output_dir=" + out,
				"--set", "eval_steps=0", "--set", "save_steps=0"}, &stdout, &stderr)
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Contains(t, stdout.String(), c.want)
			assert.FileExists(t, filepath.Join(out, "model", "config.json"))
			assert.FileExists(t, filepath.Join(out, "metrics.jsonl"))
		})
	}
}
