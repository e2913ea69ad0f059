// Package safetensors reads and writes the safetensors weight format used by
// Hugging Face checkpoints (https://github.com/huggingface/safetensors).
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON mapping each tensor name to {"dtype", "shape", "data_offsets":[begin,
// end]} (plus an optional "__metadata__" object of string to string), then
// the byte buffer the offsets index, row-major and little-endian.
//
// Reading: Open memory-maps a file (on Unix; elsewhere it reads the file) and
// validates the whole header before returning: header length against the file
// size, JSON syntax and duplicate keys, every dtype, shapes, offsets inside the
// buffer, no overlaps or gaps (the tensors must tile the buffer exactly, as
// the reference implementation requires) and shape × dtype size == byte
// length. Every error names the file, the tensor when there is one, and what
// was wrong. OpenIndex opens a sharded checkpoint through its
// model.safetensors.index.json and OpenDir picks whichever layout a model
// directory holds; both single files and sharded views implement Source.
//
// Source.Tensor returns a tensor of the file's own dtype (F32 → Float32,
// BF16/F16 → the 16-bit storage types, F64 → Float64, I32 → Int32, I64 →
// Int32 with a range check). On little-endian hosts, when the data is aligned,
// Float32/BFloat16/Float16/Float64/Int32 tensors alias the mapping without a
// copy: they stay valid until Close, after which touching them faults. The
// mapping is private and copy-on-write, so writing to such a tensor never
// changes the file (it costs the pages written). Clone a tensor to keep it past
// Close. Source.Float32 converts any float dtype to a fresh float32 tensor in
// one pass straight from the mapping, so loading a checkpoint as float32 holds
// no copy of the weights besides the float32 result.
//
// Writing: Write stores a map of tensors atomically (a temporary file in the
// same directory, renamed into place), Encode streams the same bytes to any
// io.Writer, and WriteSharded splits a state dict into model-0000k-of-0000n
// shards plus the index file, as transformers' save_pretrained does.
//
// Loading a BF16 checkpoint as float32 is measured by
//
//	go test -run '^$' -bench LoadBF16AsFloat32 ./tensor/safetensors/
//
// which reports MB/s of file read and the heap allocated per load relative to
// the float32 output.
package safetensors
