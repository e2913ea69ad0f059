//go:build linux

package cpu

import (
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// reduceFenced32 returns a copy of vals in memory framed by inaccessible pages:
// with atEnd the slice ends exactly at an inaccessible page, otherwise it
// starts exactly after one. A kernel that reads or writes one element past
// either end faults and crashes the test.
func reduceFenced32(t testing.TB, vals []float32, atEnd bool) []float32 {
	t.Helper()
	page := os.Getpagesize()
	nb := len(vals) * 4
	body := (nb + page - 1) / page * page
	if body == 0 {
		body = page
	}
	size := body + 2*page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[:page], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	if err := syscall.Mprotect(mem[size-page:], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	off := page
	if atEnd {
		off = size - page - nb
	}
	s := unsafe.Slice((*float32)(unsafe.Pointer(&mem[off])), len(vals))
	copy(s, vals)
	return s
}
