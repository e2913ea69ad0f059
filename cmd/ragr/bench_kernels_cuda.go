//go:build cuda

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ragr-dev/ragr/bench"
	"github.com/ragr-dev/ragr/kernels/cuda"
)

// benchKernels runs `ragr bench kernels`: every CUDA kernel family timed
// with CUDA events beside the same op through PyTorch (in one run), as
// one table.
func benchKernels(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ragr bench kernels", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "small shapes (a smoke run, not a measurement)")
	ordinal := fs.Int("device", 0, "CUDA device ordinal")
	suites := fs.String("suites", "core,gemm,attention", "comma-separated suites to run: core, gemm, attention")
	python := fs.String("python", "python3", "Python with torch for the PyTorch column")
	script := fs.String("torch-script", "bench/pytorch/kernels_bench.py", "the PyTorch side's script")
	noTorch := fs.Bool("no-torch", false, "skip the PyTorch column")
	jsonOut := fs.String("json", "", "also write the rows as JSON to this file")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ragr bench kernels [flags]\n\nExample:\n  ragr bench kernels --suites core --json kernels.json\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*suites, ",") {
		switch s = strings.TrimSpace(s); s {
		case "core", "gemm", "attention":
			want[s] = true
		default:
			return fmt.Errorf("%w: --suites: unknown suite %q (core, gemm, attention)", errUsage, s)
		}
	}
	d, err := cuda.Open(*ordinal)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintln(stdout, "device:", d)
	if err := d.CheckWGMMA(); want["gemm"] && err != nil {
		fmt.Fprintln(stdout, "gemm90 (sm_90a) rows not run:", err)
	}
	if err := d.CheckAttn90(); want["attention"] && err != nil {
		fmt.Fprintln(stdout, "attn90 (sm_90a) forward rows not run:", err)
	}

	cp, err := cuda.BenchCopy(d, *quick)
	if err != nil {
		return err
	}
	rows := []cuda.BenchRow{cp}
	var failed []string
	add := func(name string, rs []cuda.BenchRow, err error) {
		rows = append(rows, rs...)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", name, err))
		}
	}
	if want["core"] {
		rs, err := cuda.BenchCore(d, *quick)
		add("core", rs, err)
	}
	if want["gemm"] {
		rs, err := cuda.BenchGemm(d, *quick)
		add("gemm", rs, err)
	}
	if want["attention"] {
		rs, err := cuda.BenchAttention(d, *quick)
		add("attention", rs, err)
	}

	out := make([]bench.KernelRow, len(rows))
	var specs []string
	for i, r := range rows {
		out[i] = bench.KernelRow{Kernel: r.Kernel, Shape: r.Shape, Sec: r.Time.Median, FLOPs: r.FLOPs, Bytes: r.Bytes, Torch: r.Torch}
		if r.Torch != "" {
			specs = append(specs, r.Torch)
		}
	}
	if !*noTorch && len(specs) > 0 {
		rep, err := bench.RunTorchKernels(context.Background(), *python, *script, specs, 20)
		if err != nil {
			fmt.Fprintln(stderr, "ragr bench kernels: no PyTorch column:", err)
		} else {
			fmt.Fprintf(stdout, "pytorch %s on %s\n", rep.Torch, rep.Device)
			for i := range out {
				if res, ok := rep.Results[out[i].Torch]; ok {
					out[i].TorchSec, out[i].TorchErr = res.MedianSec, res.Error
				}
			}
		}
	}
	if err := bench.WriteKernelTable(stdout, out); err != nil {
		return err
	}
	if !*quick {
		bench.WriteTargets(stdout, bench.Targets(out))
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(out, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bench kernels: %s", strings.Join(failed, "; "))
	}
	return nil
}
