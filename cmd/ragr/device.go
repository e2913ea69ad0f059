package main

import (
	"flag"
	"fmt"

	"github.com/ragr-dev/ragr/rerank"
	"github.com/ragr-dev/ragr/tensor"
)

// deviceFlags are the inference commands' --device and --precision.
type deviceFlags struct {
	device, precision *string
}

// addDeviceFlags defines --device and --precision on fs.
func addDeviceFlags(fs *flag.FlagSet) deviceFlags {
	return deviceFlags{
		device:    fs.String("device", "cpu", "where the model runs: cpu, cuda, cuda:N (a -tags cuda build), sim or sim:N (the device path simulated on the CPU)"),
		precision: fs.String("precision", "fp32", "on a device: fp32, or bf16 (bf16 matmuls and fused attention, fp32 accumulation; not on the CPU)"),
	}
}

// setup parses the flags, checks that the device is available and sets
// its precision for the process, before any model is read: a bad value is
// a usage error, an unavailable device an error.
func (f deviceFlags) setup() (tensor.Device, error) {
	d, err := tensor.ParseDevice(*f.device)
	if err != nil {
		return d, fmt.Errorf("%w: --device: %v", errUsage, err)
	}
	switch {
	case *f.precision != rerank.FP32 && *f.precision != rerank.BF16:
		return d, fmt.Errorf("%w: --precision %q: want fp32 or bf16", errUsage, *f.precision)
	case *f.precision == rerank.BF16 && d.Kind == tensor.KindCPU:
		return d, fmt.Errorf("%w: --precision bf16 needs a device (--device cuda or sim): the CPU computes in float32", errUsage)
	}
	if err := rerank.SetPrecision(d, *f.precision); err != nil {
		return d, err
	}
	return d, nil
}
