//go:build cuda

package cuda

/*
#include <cuda.h>
#include <string.h>

// ragr_memcpy2d queues a pitched device-to-device copy. (gorgonia.org/cu's
// Memcpy2dParam dereferences its array fields even for device-memory
// copies, so a zero-valued one panics: the struct is filled here.)
static CUresult ragr_memcpy2d(CUdeviceptr dst, size_t dpitch, CUdeviceptr src, size_t spitch, size_t w, size_t h, CUstream s) {
	CUDA_MEMCPY2D p;
	memset(&p, 0, sizeof p);
	p.srcMemoryType = CU_MEMORYTYPE_DEVICE;
	p.srcDevice = src;
	p.srcPitch = spitch;
	p.dstMemoryType = CU_MEMORYTYPE_DEVICE;
	p.dstDevice = dst;
	p.dstPitch = dpitch;
	p.WidthInBytes = w;
	p.Height = h;
	return cuMemcpy2DAsync(&p, s);
}

static const char* ragr_copy_error_name(CUresult r) {
	const char* s = NULL;
	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || s == NULL) return "unknown CUDA error";
	return s;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// Elem is a host element type that can be copied to and from the device:
// float32/float64, uint16 (bf16 or fp16 bits), the integer types.
type Elem interface {
	~float32 | ~float64 | ~uint16 | ~int16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~uint8 | ~int8
}

func elemSize[T Elem]() int64 {
	var z T
	return int64(unsafe.Sizeof(z))
}

// CopyHtoD copies src to device address dst (len(src) elements). It
// returns when the copy is done; it is ordered after the work already
// queued on the device's stream.
func CopyHtoD[T Elem](d *Device, dst DevicePtr, src []T) error {
	if len(src) == 0 {
		return nil
	}
	n := int64(len(src)) * elemSize[T]()
	return d.do(func() error {
		return d.profileLaunch("memcpy HtoD", func() error {
			if err := cu.MemcpyHtoDAsync(dst, unsafe.Pointer(&src[0]), n, d.stream); err != nil {
				return fmt.Errorf("cuda.CopyHtoD: %d bytes to %v: %w", n, dst, err)
			}
			if err := d.stream.Synchronize(); err != nil {
				return fmt.Errorf("cuda.CopyHtoD: %d bytes to %v: %w", n, dst, err)
			}
			return nil
		})
	})
}

// CopyDtoH copies len(dst) elements from device address src into dst,
// after the work already queued on the device's stream has finished.
func CopyDtoH[T Elem](d *Device, dst []T, src DevicePtr) error {
	if len(dst) == 0 {
		return nil
	}
	n := int64(len(dst)) * elemSize[T]()
	return d.do(func() error {
		return d.profileLaunch("memcpy DtoH", func() error {
			if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&dst[0]), src, n, d.stream); err != nil {
				return fmt.Errorf("cuda.CopyDtoH: %d bytes from %v: %w", n, src, err)
			}
			if err := d.stream.Synchronize(); err != nil {
				return fmt.Errorf("cuda.CopyDtoH: %d bytes from %v: %w", n, src, err)
			}
			return nil
		})
	})
}

// CopyDtoD queues a copy of bytes bytes from src to dst on the device's
// stream (asynchronous).
func (d *Device) CopyDtoD(dst, src DevicePtr, bytes int64) error {
	if bytes == 0 {
		return nil
	}
	return d.do(func() error {
		return d.profileLaunch("memcpy DtoD", func() error {
			if err := cu.MemcpyDtoDAsync(dst, src, bytes, d.stream); err != nil {
				return fmt.Errorf("cuda.CopyDtoD: %d bytes %v -> %v: %w", bytes, src, dst, err)
			}
			return nil
		})
	})
}

// Memset32 queues setting n 32-bit words at dst to v (asynchronous); a
// float32 fill is Memset32(dst, math.Float32bits(x), n).
func (d *Device) Memset32(dst DevicePtr, v uint32, n int64) error {
	if n == 0 {
		return nil
	}
	return d.do(func() error {
		return d.profileLaunch("memset", func() error {
			if err := cu.MemsetD32Async(dst, uint(v), n, d.stream); err != nil {
				return fmt.Errorf("cuda.Memset32: %d words at %v: %w", n, dst, err)
			}
			return nil
		})
	})
}

// Upload allocates a buffer for src and copies src into it.
func Upload[T Elem](d *Device, src []T) (*Buffer, error) {
	b, err := d.Alloc(int64(len(src)) * elemSize[T]())
	if err != nil {
		return nil, err
	}
	if err := CopyHtoD(d, b.ptr, src); err != nil {
		b.Free()
		return nil, err
	}
	return b, nil
}

// Download copies the first n elements of b into a new slice; it panics
// when b holds fewer than n elements.
func Download[T Elem](b *Buffer, n int) ([]T, error) {
	if int64(n)*elemSize[T]() > b.size {
		panic(fmt.Sprintf("cuda.Download: %d elements of %d bytes from a buffer of %d bytes", n, elemSize[T](), b.size))
	}
	out := make([]T, n)
	if err := CopyDtoH(b.d, out, b.ptr); err != nil {
		return nil, err
	}
	return out, nil
}

// Device returns the device that owns the buffer.
func (b *Buffer) Device() *Device { return b.d }

// CopyDtoD2D queues a pitched device-to-device copy (cuMemcpy2DAsync,
// asynchronous): height rows of widthBytes bytes from src, rows srcPitch
// bytes apart, to dst, rows dstPitch bytes apart. It writes a strided
// destination (a slice of a larger tensor) that no kernel writes. Pitches
// must be at least widthBytes and below 2^31 (the driver's limit).
func (d *Device) CopyDtoD2D(dst DevicePtr, dstPitch int64, src DevicePtr, srcPitch int64, widthBytes, height int64) error {
	if widthBytes == 0 || height == 0 {
		return nil
	}
	if widthBytes < 0 || height < 0 || dstPitch < widthBytes || srcPitch < widthBytes || dstPitch >= 1<<31 || srcPitch >= 1<<31 {
		return fmt.Errorf("cuda.CopyDtoD2D: invalid geometry: %d rows of %d bytes, pitches %d (dst) and %d (src)", height, widthBytes, dstPitch, srcPitch)
	}
	return d.do(func() error {
		return d.profileLaunch("memcpy DtoD 2D", func() error {
			cs := *(*C.CUstream)(unsafe.Pointer(&d.stream))
			if r := C.ragr_memcpy2d(C.CUdeviceptr(dst), C.size_t(dstPitch), C.CUdeviceptr(src), C.size_t(srcPitch),
				C.size_t(widthBytes), C.size_t(height), cs); r != C.CUDA_SUCCESS {
				return fmt.Errorf("cuda.CopyDtoD2D: %d rows of %d bytes %v -> %v (pitches %d, %d): %s", height, widthBytes, src, dst, srcPitch, dstPitch, C.GoString(C.ragr_copy_error_name(r)))
			}
			return nil
		})
	})
}
