// Command ragr is the one CLI of ragr: it parses flags, calls a library
// package and prints. Run `ragr help` for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ragr-dev/ragr/bench"
	"github.com/ragr-dev/ragr/kernels/cpu"
)

// errUsage marks bad command-line input (exit code 2).
var errUsage = errors.New("usage")

const usage = `ragr — Go-native training and serving of retrieval models

Usage:
  ragr <command> [flags]

Commands:
  bench cpu   measure the CPU kernels: SGEMM (GFLOP/s, % of the measured FMA
              peak, × gonum) and softmax / layernorm / GELU (GB/s, % of the
              measured memory bandwidth), for every SIMD tier and thread count
  bench kernels
              measure the CUDA kernels beside PyTorch (needs a GPU and a
              -tags cuda build): time, TFLOP/s or GB/s, % of the measured
              copy bandwidth / best GEMM, PyTorch's time, ratio
  bench train BERT cross-encoder fine-tuning (BERT-base, 32 × 256 tokens,
              bf16 mixed precision on cuda): losses, step time, peak device
              memory, and the files bench/pytorch/train_gpu_parity.py
              compares PyTorch against
  train       train a model: ragr train reranker|embedding|colbert --config FILE.yaml
              (embedding with train_type: distill distills teacher vectors)
  distill     distill an LLM reranker into a BERT cross-encoder:
              ragr distill reranker --config FILE.yaml (or --teacher DIR
              --data FILE.jsonl --out SCORES.jsonl for the teacher's scores)
  rerank      rank documents for a query: ragr rerank --model DIR --query Q --docs FILE|-
  embed       embed texts: ragr embed --model DIR --texts FILE|-
  serve       HTTP service (/rerank, /embed, /v1/embeddings, /health, /metrics):
              ragr serve --model DIR --addr HOST:PORT
  eval        evaluate a model: ragr eval reranker --model DIR --data FILE.jsonl
              ragr eval embedding --model DIR (--data F | --corpus C --queries Q --qrels R | --sts F)
  forward     run a model directory on explicit token ids and write its named
              outputs to a safetensors file (for parity checks against
              transformers on your own checkpoint)
  info        print the CPU, the SIMD tier in use, the thread count and
              the CUDA devices (in a -tags cuda build)
  help        print this help

Run 'ragr <command> -h' for a command's flags. Exit status: 0 success,
1 failure, 2 bad input.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ragr: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "ragr: %v\n", err)
		return 1
	}
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "info":
		fmt.Fprintln(stdout, cpu.TierInfo())
		return printCUDADevices(stdout)
	case "train":
		return trainCmd(args[1:], stdout, stderr)
	case "distill":
		return distillCmd(args[1:], stdout, stderr)
	case "eval":
		return evalCmd(args[1:], stdout, stderr)
	case "rerank":
		return rerankCmd(args[1:], stdout, stderr)
	case "embed":
		return embedCmd(args[1:], stdout, stderr)
	case "serve":
		return serveCmd(args[1:], stdout, stderr)
	case "forward":
		return forward(args[1:], stdout, stderr)
	case "bench":
		if len(args) >= 2 && args[1] == "kernels" {
			return benchKernels(args[2:], stdout, stderr)
		}
		if len(args) >= 2 && args[1] == "train" {
			return benchTrain(args[2:], stdout, stderr)
		}
		if len(args) < 2 || args[1] != "cpu" {
			return fmt.Errorf("%w: ragr bench needs a suite: cpu, kernels or train", errUsage)
		}
		return benchCPU(args[2:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown command %q (see 'ragr help')", errUsage, args[0])
}

// cudaDevices lists the CUDA devices; set by cuda.go in builds with the
// cuda tag (nil otherwise).
var cudaDevices func() ([]string, error)

// printCUDADevices prints one line per CUDA device (ragr info).
func printCUDADevices(stdout io.Writer) error {
	if cudaDevices == nil {
		fmt.Fprintln(stdout, "cuda: not in this build (rebuild with -tags cuda for the GPU backend)")
		return nil
	}
	devs, err := cudaDevices()
	if err != nil {
		return err
	}
	if len(devs) == 0 {
		fmt.Fprintln(stdout, "cuda: no devices")
	}
	for _, d := range devs {
		fmt.Fprintln(stdout, d)
	}
	return nil
}

func benchCPU(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ragr bench cpu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	minTime := fs.Duration("time", 0, "minimum measuring time per case (default 300ms)")
	quick := fs.Bool("quick", false, "skip n=2048 and the generic tier's largest GEMMs")
	gonum := fs.Bool("gonum", true, "measure gonum's blas32 Sgemm as the baseline")
	tiers := fs.String("tiers", "", "comma-separated tiers to measure (generic,avx2,avx512; default: all this CPU has)")
	threads := fs.String("threads", "", "comma-separated thread counts (default: 1 and GOMAXPROCS)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ragr bench cpu [flags]\n\nExample:\n  ragr bench cpu --quick --tiers avx512 --threads 1,2\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	o := bench.CPUOptions{MinTime: *minTime, Quick: *quick, Gonum: *gonum}
	if *tiers != "" {
		for _, s := range strings.Split(*tiers, ",") {
			t, err := cpu.ParseTier(s)
			if err != nil {
				return fmt.Errorf("%w: --tiers: %v", errUsage, err)
			}
			if t > cpu.Best() {
				return fmt.Errorf("%w: --tiers: %s is not supported by this CPU (best: %s)", errUsage, t, cpu.Best())
			}
			o.Tiers = append(o.Tiers, t)
		}
	}
	if *threads != "" {
		for _, s := range strings.Split(*threads, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 1 {
				return fmt.Errorf("%w: --threads: %q is not a positive integer", errUsage, s)
			}
			o.Threads = append(o.Threads, n)
		}
	}
	return bench.RunCPU(stdout, o)
}
