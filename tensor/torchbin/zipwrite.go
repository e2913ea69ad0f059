package torchbin

// zipwrite.go: the zip container as PyTorch's PyTorchStreamWriter (miniz)
// writes it: stored entries, zero dates, flags 0x0808 (data descriptor,
// UTF-8 names), each record's data aligned to alignment bytes by an "FB"
// extra field filled with 'Z', a data descriptor after each record, a
// central directory, and always a zip64 end record and locator. Entries or
// offsets past 4 GiB get zip64 extra fields (in the local header as miniz
// writes them, and in the central directory).

import (
	"encoding/binary"
	"hash/crc32"
	"io"
)

// alignment is PyTorchStreamWriter's kFieldAlignment.
const alignment = 64

// zip64Limit is the size or offset from which an entry needs zip64 fields;
// tests lower it to exercise the zip64 path on small archives.
var zip64Limit uint64 = 0xFFFFFFFF

// zipEntry is one written record.
type zipEntry struct {
	name      string
	off, size uint64
	crc       uint32
}

// zipWriter writes the archive; the first error sticks.
type zipWriter struct {
	w       io.Writer
	off     uint64
	entries []zipEntry
	err     error
}

func (z *zipWriter) write(b []byte) {
	if z.err != nil {
		return
	}
	n, err := z.w.Write(b)
	z.off += uint64(n)
	z.err = err
}

// add writes one stored record.
func (z *zipWriter) add(name string, data []byte) {
	e := zipEntry{name: name, off: z.off, size: uint64(len(data)), crc: crc32.ChecksumIEEE(data)}
	bigSize, bigOff := e.size >= zip64Limit, e.off >= zip64Limit
	var extra []byte
	if bigSize || bigOff {
		n := 0
		if bigSize {
			n += 16
		}
		if bigOff {
			n += 8
		}
		extra = le16(extra, 0x0001)
		extra = le16(extra, uint16(n))
		if bigSize {
			extra = le64(extra, e.size)
			extra = le64(extra, e.size)
		}
		if bigOff {
			extra = le64(extra, e.off)
		}
	}
	// "FB" + length + 'Z' padding so the data starts on an alignment
	// boundary (the 4-byte field header always present, as in torch).
	start := e.off + 30 + uint64(len(name)) + uint64(len(extra)) + 4
	pad := (alignment - start%alignment) % alignment
	extra = append(extra, 'F', 'B')
	extra = le16(extra, uint16(pad))
	for i := uint64(0); i < pad; i++ {
		extra = append(extra, 'Z')
	}

	h := make([]byte, 0, 30+len(name)+len(extra))
	h = le32(h, 0x04034b50)
	h = le16(h, 0)      // version needed
	h = le16(h, 0x0808) // data descriptor, UTF-8
	h = le16(h, 0)      // stored
	h = le16(h, 0)      // time
	h = le16(h, 0)      // date
	h = le32(h, 0)      // crc, sizes: in the data descriptor
	h = le32(h, 0)
	h = le32(h, 0)
	h = le16(h, uint16(len(name)))
	h = le16(h, uint16(len(extra)))
	h = append(h, name...)
	h = append(h, extra...)
	z.write(h)
	z.write(data)

	d := le32(make([]byte, 0, 24), 0x08074b50)
	d = le32(d, e.crc)
	if bigSize || bigOff {
		d = le64(d, e.size)
		d = le64(d, e.size)
	} else {
		d = le32(d, uint32(e.size))
		d = le32(d, uint32(e.size))
	}
	z.write(d)
	z.entries = append(z.entries, e)
}

// close writes the central directory and the end records.
func (z *zipWriter) close() error {
	cdOff := z.off
	for _, e := range z.entries {
		bigSize, bigOff := e.size >= zip64Limit, e.off >= zip64Limit
		var extra []byte
		size32, off32 := uint32(e.size), uint32(e.off)
		if bigSize || bigOff {
			n := 0
			if bigSize {
				n += 16
			}
			if bigOff {
				n += 8
			}
			extra = le16(extra, 0x0001)
			extra = le16(extra, uint16(n))
			if bigSize {
				extra = le64(extra, e.size)
				extra = le64(extra, e.size)
				size32 = 0xFFFFFFFF
			}
			if bigOff {
				extra = le64(extra, e.off)
				off32 = 0xFFFFFFFF
			}
		}
		version := uint16(0)
		if extra != nil {
			version = 45 // zip64
		}
		h := make([]byte, 0, 46+len(e.name)+len(extra))
		h = le32(h, 0x02014b50)
		h = le16(h, 0) // version made by
		h = le16(h, version)
		h = le16(h, 0x0808)
		h = le16(h, 0) // stored
		h = le16(h, 0) // time
		h = le16(h, 0) // date
		h = le32(h, e.crc)
		h = le32(h, size32)
		h = le32(h, size32)
		h = le16(h, uint16(len(e.name)))
		h = le16(h, uint16(len(extra)))
		h = le16(h, 0) // comment
		h = le16(h, 0) // disk
		h = le16(h, 0) // internal attributes
		h = le32(h, 0) // external attributes
		h = le32(h, off32)
		h = append(h, e.name...)
		h = append(h, extra...)
		z.write(h)
	}
	cdSize := z.off - cdOff
	n := uint64(len(z.entries))

	eocd64 := z.off
	r := le32(make([]byte, 0, 56+20+22), 0x06064b50)
	r = le64(r, 44) // size of the rest of the record
	r = le16(r, 0x031e)
	r = le16(r, 45)
	r = le32(r, 0) // this disk
	r = le32(r, 0) // central directory's disk
	r = le64(r, n)
	r = le64(r, n)
	r = le64(r, cdSize)
	r = le64(r, cdOff)
	// zip64 end of central directory locator
	r = le32(r, 0x07064b50)
	r = le32(r, 0)
	r = le64(r, eocd64)
	r = le32(r, 1)
	// end of central directory
	r = le32(r, 0x06054b50)
	r = le16(r, 0)
	r = le16(r, 0)
	r = le16(r, uint16(min(n, 0xFFFF)))
	r = le16(r, uint16(min(n, 0xFFFF)))
	r = le32(r, uint32(min(cdSize, 0xFFFFFFFF)))
	r = le32(r, uint32(min(cdOff, 0xFFFFFFFF)))
	r = le16(r, 0) // comment
	z.write(r)
	return z.err
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }
