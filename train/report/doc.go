// Package report holds the trainer's reporting pieces: a progress bar for
// the terminal, a JSONL metrics log, and PNG plots of the logged curves.
//
// It sits just below package train (layer 58 in internal/layers.Table) and
// imports no other ragr package, so the trainer, the CLI and tests can all
// use it.
//
// # Progress
//
// New(w, total, opts) returns a *Progress. Call Update once per optimizer
// step with the step just completed, its loss, the learning rate and the
// number of samples (or tokens, see Options.Unit) in the step. The line shows
// step/total, a bar, the loss (smoothed EMA and last value), the learning
// rate, the throughput, the elapsed time and the ETA:
//
//	train  120/1000 [==>                           ]  12% | loss 0.4123 (last 0.3981) | lr 2.00e-05 | 512.3 samples/s | 00:12<01:28
//
// When w is a terminal (an *os.File that is a character device and TERM is
// not "dumb") the line is redrawn in place with '\r', at most once per
// Options.MinInterval (100 ms by default, so never more than ~10 redraws per
// second); the final step always draws. Otherwise (a file, a pipe, CI logs)
// a plain line is printed on the first update, every Options.Every steps
// and on the last step. Log prints a message line without breaking the bar;
// Finish ends the bar. Options.Clock injects the clock, which makes the
// output deterministic in tests. A Progress is safe for concurrent use.
//
// # Metrics log
//
// A metrics log is a JSONL file, one object per line:
//
//	{"step":120,"epoch":0.12,"loss":0.4123,"lr":0.00002,"grad_norm":1.3,"samples_per_s":512.3,"time":"2026-01-02T15:04:05.123Z"}
//	{"step":200,"eval/map":0.412,"eval/ndcg@10":0.5,"time":"2026-01-02T15:05:00Z"}
//
// A Record holds the step, the wall-clock time and a map of named values:
// the standard keys (KeyEpoch, KeyLoss, KeyLR, KeyGradNorm, KeySamplesPerS)
// come first in that order, then any other key (evaluation metrics such as
// "eval/map") sorted by name. A key that a record does not have is absent
// from its line. Non-finite values are written as the JSON strings "NaN",
// "Infinity" and "-Infinity" (strict JSON has no such numbers) and read back
// as the floats.
//
// OpenMetrics opens a log for appending, so a resumed run continues the
// file; each record goes to the file in one write (no user-space
// buffering). TruncateMetrics drops the records after a step, for a run
// resumed from an earlier checkpoint. ReadMetrics reads a log back; errors
// name the file and line.
//
// # Plots
//
// Plot(metricsPath, outPNG) draws the loss (raw values as a light line and
// their bias-corrected EMA as a solid one) against the step in a top panel,
// the learning rate against the step in a panel below it, and, when the log
// has evaluation metrics (any key other than the standard ones), a third
// panel with one line per metric. WritePlot does the same from records to
// any io.Writer with options.
package report
