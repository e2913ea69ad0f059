package torchbin

import (
	"bytes"
	"strings"
	"testing"
)

// checkLoaded verifies the invariants of a successful load: every tensor's
// storage holds exactly its elements.
func checkLoaded(t *testing.T, data []byte, name string) {
	got, err := LoadFrom(bytes.NewReader(data), int64(len(data)), name)
	if err != nil {
		if !strings.Contains(err.Error(), name) {
			t.Fatalf("error does not name the file: %v", err)
		}
		return
	}
	for k, x := range got {
		if x.Storage().N < x.Numel() && x.Numel() > 0 {
			t.Fatalf("tensor %q: %d elements over a storage of %d", k, x.Numel(), x.Storage().N)
		}
		_ = x.Float64s()
	}
}

// FuzzLoad loads arbitrary bytes as a checkpoint archive: never a panic.
// The seeds (the fixture and the rejected archives' building blocks) run as
// a normal test.
func FuzzLoad(f *testing.F) {
	f.Add(fixtureArchive(f))
	f.Add(archive{dir: "x", pkl: stateDict(fixtureTensors()[:2]), storages: fixtureStorages()}.bytes(f))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Add(append([]byte(nil), legacyMagic...))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLoaded(t, data, "fuzz.bin")
	})
}

// FuzzUnpickle runs arbitrary bytes as data.pkl of an archive holding the
// fixture's storages, which exercises the pickle machine and the tensor
// views far more directly than FuzzLoad: never a panic.
func FuzzUnpickle(f *testing.F) {
	f.Add(stateDict(fixtureTensors()))
	f.Add(stateDict(fixtureTensors()[1:2]))
	f.Add(stateDict(nil))
	f.Add([]byte{opProto, 2, opEmptyDict, opBinPut, 0, opBinUnicode, 1, 0, 0, 0, 'a', opBinGet, 0, opSetItem, opStop})
	f.Add([]byte{opProto, 2, opGlobal, 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm', '\n', opNone, opTuple1, opReduce, opStop})
	f.Add([]byte{opProto, 4, opFrame, 0, 0, 0, 0, 0, 0, 0, 0, opEmptyDict, opMemoize, opMark, opPopMark, opEmptyList, opMark, opNewTrue, opAppends, opPop, opDup, opPop, opStop})
	storages := fixtureStorages()
	f.Fuzz(func(t *testing.T, pkl []byte) {
		data := archive{dir: "archive", pkl: pkl, storages: storages, order: "little"}.bytes(t)
		checkLoaded(t, data, "fuzz.bin")
	})
}
