// Package golden reads the reference fixtures under testdata/golden (or the
// folder RAGR_GOLDEN names): case folders with inputs.json,
// expected.safetensors and a model directory. It is used by tests only.
package golden
