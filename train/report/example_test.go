package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// A training loop's progress, printed as plain lines (as in CI logs). The
// clock is faked so that the output is fixed: one step per second.
func ExampleProgress() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := New(os.Stdout, 6, Options{
		Desc:  "train",
		Mode:  ModePlain,
		Every: 2,
		Clock: func() time.Time { return now },
	})
	for step := 1; step <= 6; step++ {
		now = now.Add(time.Second)
		p.Update(step, 1/float64(step), 2e-5, 16)
		if step == 4 {
			p.Log("eval at step 4: map 0.3100")
		}
	}
	p.Finish()
	// Output:
	// train step 1/6 (16%) | loss 1.0000 (last 1.0000) | lr 2.00e-05 | 16.0 samples/s | elapsed 00:01 | eta 00:05
	// train step 2/6 (33%) | loss 0.7436 (last 0.5000) | lr 2.00e-05 | 16.0 samples/s | elapsed 00:02 | eta 00:04
	// train step 4/6 (66%) | loss 0.5055 (last 0.2500) | lr 2.00e-05 | 16.0 samples/s | elapsed 00:04 | eta 00:02
	// eval at step 4: map 0.3100
	// train step 6/6 (100%) | loss 0.3868 (last 0.1667) | lr 2.00e-05 | 16.0 samples/s | elapsed 00:06 | eta 00:00
}

// A metrics log: training records every step, an evaluation record, a
// resume from the checkpoint at step 2, and a plot.
func ExampleMetricsWriter() {
	dir, _ := os.MkdirTemp("", "report")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "metrics.jsonl")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	w, err := OpenMetrics(path)
	if err != nil {
		panic(err)
	}
	for step := 1; step <= 3; step++ {
		r := Record{Step: step, Time: t0.Add(time.Duration(step) * time.Second)}
		r.Set(KeyLoss, 1/float64(step))
		r.Set(KeyLR, 1e-5)
		w.Write(r)
	}
	w.Write(Record{Step: 3, Time: t0, Values: map[string]float64{"eval/map": 0.31, "eval/ndcg@10": math.NaN()}})
	w.Close()

	// The run is resumed from the checkpoint taken at step 2.
	if err := TruncateMetrics(path, 2); err != nil {
		panic(err)
	}
	recs, _ := ReadMetrics(path)
	for _, r := range recs {
		loss, _ := r.Get(KeyLoss)
		fmt.Println(r.Step, loss)
	}
	data, _ := os.ReadFile(path)
	fmt.Print(string(data))
	fmt.Println(Plot(path, filepath.Join(dir, "metrics.png")))
	// Output:
	// 1 1
	// 2 0.5
	// {"step":1,"loss":1,"lr":0.00001,"time":"2026-01-01T00:00:01.000Z"}
	// {"step":2,"loss":0.5,"lr":0.00001,"time":"2026-01-01T00:00:02.000Z"}
	// <nil>
}
