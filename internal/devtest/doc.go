// Package devtest holds the helpers the model tests share to run the same
// check on a device and on the CPU: the simulated accelerator (tensor.Sim,
// every build) or the GPU (CUDA, cuda build tag) with bf16 mixed precision
// set for the test and restored after, parameters moved to a device, and a
// few AdamW training steps whose losses the tests compare across devices.
// For _test.go files only (internal/layers enforces it).
package devtest
