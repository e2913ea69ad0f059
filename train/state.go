package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// State is what a checkpoint records besides the model and the optimizer:
// enough to continue the run exactly where it stopped.
type State struct {
	// Step is the number of optimizer steps taken.
	Step int `json:"step"`
	// Epoch and Batch are the position of the next batch to train on.
	Epoch int `json:"epoch"`
	Batch int `json:"batch"`
	// RNG is the dropout generator's state.
	RNG []byte `json:"rng"`
	// Seed, LossType and BatchSize guard against resuming with a config
	// that would not reproduce the run.
	Seed      int64  `json:"seed"`
	LossType  string `json:"loss_type"`
	BatchSize int    `json:"batch_size"`
	GroupSize int    `json:"train_group_size"`
	// TotalSteps is the schedule's length.
	TotalSteps int `json:"total_steps"`
}

const (
	stateFile     = "trainer_state.json"
	optimizerFile = "optimizer.safetensors"
	modelDir      = "model"
	checkpointDir = "checkpoints"
)

// checkpointName names the checkpoint of a step.
func checkpointName(step int) string { return fmt.Sprintf("step-%07d", step) }

// Checkpoints lists the checkpoint directories under outputDir, oldest
// first.
func Checkpoints(outputDir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(outputDir, checkpointDir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "step-") {
			if _, err := os.Stat(filepath.Join(outputDir, checkpointDir, e.Name(), stateFile)); err == nil {
				out = append(out, filepath.Join(outputDir, checkpointDir, e.Name()))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ResolveResume turns "latest" into the newest checkpoint of outputDir.
func ResolveResume(resume, outputDir string) (string, error) {
	if resume != "latest" {
		return resume, nil
	}
	cps, err := Checkpoints(outputDir)
	if err != nil {
		return "", err
	}
	if len(cps) == 0 {
		return "", fmt.Errorf("train: --resume latest: no checkpoint under %s", filepath.Join(outputDir, checkpointDir))
	}
	return cps[len(cps)-1], nil
}

// pruneCheckpoints keeps the newest keep checkpoints (keep <= 0 keeps all).
func pruneCheckpoints(outputDir string, keep int) error {
	if keep <= 0 {
		return nil
	}
	cps, err := Checkpoints(outputDir)
	if err != nil {
		return err
	}
	for len(cps) > keep {
		if err := os.RemoveAll(cps[0]); err != nil {
			return err
		}
		cps = cps[1:]
	}
	return nil
}

func writeState(dir string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

func readState(dir string) (State, error) {
	var s State
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return s, fmt.Errorf("train: resume: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("train: resume: %s: %w", filepath.Join(dir, stateFile), err)
	}
	return s, nil
}
