package distill

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

// The teacher on a device (teacher_device): in fp32 it writes the CPU's
// soft-label file byte for byte; with teacher_precision bf16 its logits
// stay within the bf16 level of the CPU's and differ from them.
func TestScoreFileOnDevice(t *testing.T) {
	tmp := t.TempDir()
	in := writeData(t, tmp, 4)
	dir := teacherDir(t, "qwen2-seqcls", "")
	score := func(device, precision string) (*ScoreResult, []byte, string) {
		out := filepath.Join(t.TempDir(), "s.jsonl")
		var progress strings.Builder
		res, err := ScoreFile(context.Background(), ScoreOptions{Teacher: Teacher{Dir: dir, BatchSize: 5, Device: device, Precision: precision},
			Data: in, Out: out, Progress: &progress})
		require.NoError(t, err)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		return res, b, progress.String()
	}
	want, wantFile, _ := score("", "")
	got, gotFile, log := score("sim", "fp32")
	assert.Contains(t, log, "(qwen2-seqcls on sim:0)")
	assert.Equal(t, want.Logits, got.Logits)
	assert.Equal(t, string(wantFile), string(gotFile))

	bf16 := tensor.Sim(3)
	defer tensor.SetMixedPrecision(bf16, tensor.MixedPrecision(bf16))
	mixed, _, log := score("sim:3", "bf16")
	assert.Contains(t, log, "(qwen2-seqcls on sim:3 in bf16)")
	assert.LessOrEqual(t, testutil.RelL2(mixed.Logits, want.Logits), testutil.BF16Mixed.Rel)
	assert.NotEqual(t, want.Logits, mixed.Logits)
}

// Run gives the teacher the student's device when teacher_device is
// unset, and the teacher's scores are the CPU's.
func TestRunTeacherOnStudentDevice(t *testing.T) {
	tmp := t.TempDir()
	in := writeData(t, tmp, 4)
	teacher := teacherDir(t, "qwen2-seqcls", "")
	cpu, err := ScoreFile(context.Background(), ScoreOptions{Teacher: Teacher{Dir: teacher, BatchSize: 16}, Data: in, Out: filepath.Join(tmp, "cpu.jsonl")})
	require.NoError(t, err)
	cfg, err := LoadConfig(distillYAML(t, teacher, in, filepath.Join(tmp, "run"), "device: sim\nmixed_precision: \"no\"\nmax_steps: 2\n"))
	require.NoError(t, err)
	var log strings.Builder
	res, err := Run(context.Background(), cfg, RunOptions{Out: &log, AgreementQueries: -1})
	require.NoError(t, err, log.String())
	assert.Contains(t, log.String(), "(qwen2-seqcls on sim:0)")
	assert.Contains(t, log.String(), "training on sim:0 in fp32")
	assert.Equal(t, cpu.Logits, res.Scores.Logits)
}

func TestTeacherDeviceErrors(t *testing.T) {
	tmp := t.TempDir()
	in := writeData(t, tmp, 1)
	seqcls := teacherDir(t, "qwen2-seqcls", "")
	cases := []struct {
		name    string
		teacher Teacher
		want    []string
	}{
		{"unknown device", Teacher{Dir: seqcls, Device: "tpu"}, []string{"teacher_device", `"tpu"`}},
		{"unknown precision", Teacher{Dir: seqcls, Device: "sim", Precision: "fp8"}, []string{`teacher_precision "fp8"`, "fp32 or bf16"}},
		{"bf16 on the CPU", Teacher{Dir: seqcls, Precision: "bf16"}, []string{"teacher_precision", "the CPU computes in float32"}},
	}
	if _, err := tensor.BackendFor(tensor.CUDA(0)); err != nil {
		cases = append(cases, struct {
			name    string
			teacher Teacher
			want    []string
		}{"cuda unavailable", Teacher{Dir: seqcls, Device: "cuda"}, []string{"cuda:0", err.Error()}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.jsonl")
			_, err := ScoreFile(context.Background(), ScoreOptions{Teacher: c.teacher, Data: in, Out: out})
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NoFileExists(t, out)
		})
	}
	c, err := ParseConfig([]byte("teacher: x\nteacher_device: sim:2\nteacher_precision: bf16\n"), "d.yaml")
	require.NoError(t, err)
	assert.Equal(t, "sim:2", c.Teacher.Device)
	assert.Equal(t, "bf16", c.Teacher.Precision)
}
