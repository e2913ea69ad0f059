// Package torchbin reads PyTorch checkpoints saved by torch.save with the
// zip serialization (the default since PyTorch 1.6), such as Hugging Face's
// pytorch_model.bin, without running any Python and without trusting the
// file.
//
// Such a file is a zip archive holding <dir>/data.pkl (a pickle of the state
// dict), one <dir>/data/<key> entry per storage (raw little-endian bytes),
// <dir>/version and, in newer files, <dir>/byteorder. The pickle is executed
// by a small stack machine that knows only the opcodes torch.save emits
// (protocol 2, plus the protocol 4 framing and memo opcodes) and only these
// globals: collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter (and _rebuild_parameter_with_state), and
// the legacy storage classes torch.FloatStorage, HalfStorage,
// BFloat16Storage, DoubleStorage, LongStorage and IntStorage inside
// persistent ids ('storage', class, key, location, numel). Any other global
// (os.system, builtins.eval, ...) or opcode is rejected with an error naming
// it and the file; nothing is ever called or imported. No input makes Load
// panic.
//
// Load returns the tensors of the top-level dict by name (nested dicts of
// string keys are flattened with "." joins; other values such as ints and
// strings are skipped). Storage offsets and strides are honoured: a tensor
// that is a contiguous run of its storage shares that storage's memory (so
// tensors that share storage in the file share memory, as in PyTorch), other
// views are copied contiguous. float32, float16, bfloat16, float64 and int32
// storages keep their dtype; int64 becomes Int32 with a range check.
// Broadcast views with more elements than their storage are rejected.
//
// Save and Write go the other way: they write a state dict (an ordered list
// of NamedTensor) as torch.save(OrderedDict, f) does, for Python code that
// expects a .pt / .bin file (e.g. colbert_linear.pt). The pickle is byte
// for byte what torch.save writes for the same dict (protocol 2,
// _rebuild_tensor_v2 over one storage per tensor, CPython's memoization),
// the zip layout is PyTorchStreamWriter's (stored records, data 64-byte
// aligned, data descriptors, zip64 end records; zip64 fields past 4 GiB),
// with byteorder "little" and version "3". Tensors are written contiguous
// (views are copied); float32, float64, float16, bfloat16 and int32 keep
// their dtype, int32 optionally stored as int64. Save is atomic (a
// temporary file renamed over the target). Tensors that share storage are
// written as separate storages.
package torchbin
