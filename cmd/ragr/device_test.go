package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/tensor"
)

// ragr rerank and ragr embed on the simulated accelerator print what they
// print on the CPU (fp32: the same numbers bit for bit); with --precision
// bf16 the numbers change.
func TestInferenceCommandsOnDevice(t *testing.T) {
	bf16 := tensor.Sim(4)
	defer tensor.SetMixedPrecision(bf16, tensor.MixedPrecision(bf16))
	docs := filepath.Join(t.TempDir(), "docs.jsonl")
	require.NoError(t, os.WriteFile(docs, []byte(`{"id": "a", "text": "w300 w301 w302"}
"w400 w401"
{"id": 7, "text": "w210 w211 w212 w213 w214 w215 w216 w217 w218 w219 w220 w221 w222 w223 w224 w225 w226"}
`), 0o644))
	for _, c := range []struct {
		name string
		args []string
	}{
		{"rerank", []string{"rerank", "--model", goldenTextDir(t, "bert-cross-encoder"), "--query", "w250 w251", "--docs", docs, "--max-length", "16", "--batch", "2"}},
		{"rerank table", []string{"rerank", "--model", goldenTextDir(t, "bert-cross-encoder"), "--query", "w250", "--docs", docs, "--format", "table", "--normalize"}},
		{"embed", []string{"embed", "--model", goldenTextDir(t, "bert-tiny"), "--texts", docs, "--pooling", "mean", "--dim", "8"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, want, errs := runCLI(c.args...)
			require.Equal(t, 0, code, errs)
			code, got, errs := runCLI(append(c.args, "--device", "sim")...)
			require.Equal(t, 0, code, errs)
			assert.Equal(t, want, got)
			code, mixed, errs := runCLI(append(c.args, "--device", bf16.String(), "--precision", "bf16")...)
			require.Equal(t, 0, code, errs)
			assert.NotEqual(t, want, mixed)
		})
	}
}

// Bad --device / --precision values are usage errors and an unavailable
// device an error, all before the model (here a missing directory) or
// any input is read.
func TestDeviceFlagErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	cmds := map[string][]string{
		"rerank":          {"rerank", "--model", missing, "--query", "q", "--docs", missing},
		"embed":           {"embed", "--model", missing, "--texts", missing},
		"serve":           {"serve", "--model", missing, "--addr", "127.0.0.1:0"},
		"eval reranker":   {"eval", "reranker", "--model", missing, "--data", missing},
		"eval embedding":  {"eval", "embedding", "--model", missing, "--sts", missing},
		"distill teacher": {"distill", "reranker", "--teacher", missing, "--data", missing, "--out", filepath.Join(t.TempDir(), "o.jsonl")},
	}
	type bad struct {
		flags []string
		code  int
		want  []string
	}
	cases := []bad{
		{[]string{"--device", "tpu"}, 2, []string{`unknown device "tpu"`}},
		{[]string{"--precision", "bf16"}, 2, []string{"the CPU computes in float32"}},
		{[]string{"--device", "sim", "--precision", "fp8"}, 2, []string{`"fp8"`, "fp32 or bf16"}},
	}
	if _, err := tensor.BackendFor(tensor.CUDA(0)); err != nil {
		cases = append(cases, bad{[]string{"--device", "cuda"}, 1, []string{"cuda:0", err.Error()}})
	}
	for name, args := range cmds {
		for _, c := range cases {
			flags := c.flags
			code := c.code
			if name == "distill teacher" { // the teacher's keys, checked by distill
				flags = []string{"--teacher-" + strings.TrimPrefix(c.flags[0], "--"), c.flags[1]}
				if len(c.flags) > 2 {
					flags = append(flags, "--teacher-"+strings.TrimPrefix(c.flags[2], "--"), c.flags[3])
				}
				code = 1
			}
			t.Run(name+" "+strings.Join(flags, " "), func(t *testing.T) {
				got, _, errs := runCLI(append(append([]string(nil), args...), flags...)...)
				assert.Equal(t, code, got, errs)
				for _, w := range c.want {
					assert.Contains(t, errs, w)
				}
				assert.NotContains(t, errs, "missing", "the device is checked before anything is read")
			})
		}
	}
}

// ragr serve --device sim serves from the device.
func TestServeCommandOnDevice(t *testing.T) {
	model := goldenTextDir(t, "bert-cross-encoder")
	ready := make(chan string, 1)
	var stop func()
	serveReady = func(addr string, s func()) { stop = s; ready <- addr }
	defer func() { serveReady = nil }()
	type result struct {
		code int
		errs string
	}
	done := make(chan result, 1)
	go func() {
		c, _, errs := runCLI("serve", "--model", model, "--addr", "127.0.0.1:0", "--device", "sim")
		done <- result{c, errs}
	}()
	addr := <-ready
	resp, err := http.Post("http://"+addr+"/rerank", "application/json", strings.NewReader(`{"query":"w5","texts":["w6","w7 w8"]}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, string(body))
	stop()
	r := <-done
	assert.Equal(t, 0, r.code, r.errs)
	assert.Contains(t, r.errs, "reranker (cross-encoder) on sim:0 (fp32)")
}
