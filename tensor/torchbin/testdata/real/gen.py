import json, struct, collections, numpy as np, torch
def read_st(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8+n]); data = b[8+n:]
    out = collections.OrderedDict()
    for k in sorted(h):
        if k == '__metadata__': continue
        v = h[k]; s, e = v['data_offsets']
        assert v['dtype'] == 'F32'
        out[k] = torch.from_numpy(np.frombuffer(data[s:e], dtype=np.float32).reshape(v['shape']).copy())
    return out
sd = read_st('/work/main/testdata/golden/bert-tiny/model.safetensors')
torch.save(sd, 'pytorch_model.bin')
# A small mixed archive: views, offsets, dtypes, as torch.save writes them.
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
mixed = collections.OrderedDict()
mixed['plain'] = base
mixed['transposed'] = base.t()
mixed['narrow'] = base[1:3, 2:5]
mixed['half'] = torch.tensor([1.0, -2.5, 65504.0, 1e-3], dtype=torch.float16)
mixed['bf16'] = torch.tensor([1.0, -2.5, 3.140625, 1e-3], dtype=torch.bfloat16)
mixed['ids'] = torch.arange(6, dtype=torch.int64).reshape(1, 6)
mixed['double'] = torch.tensor([0.1, 0.2], dtype=torch.float64)
mixed['nested'] = {'inner.weight': torch.ones(2, 2)}
torch.save(mixed, 'mixed.pt')
print(torch.__version__)
