package tensor

import (
	"errors"
	"fmt"
)

// DeviceError is a failure of a device backend: a kernel launch or
// execution, a copy, an allocation, or an op the backend does not support.
// Backend methods without an error return panic with a *DeviceError (ops
// have no error return); methods with one return it. Err names the kernel
// (or copy/allocation) and the sizes.
//
// A caller that must survive a device failure (the trainer, to save a
// checkpoint or retry with a smaller batch) recovers it with
// RecoverDeviceError:
//
//	func step() (err error) {
//		defer tensor.RecoverDeviceError(&err)
//		... // tensor ops on a device
//	}
type DeviceError struct {
	// Device is where the op ran.
	Device Device
	// Op is the backend method or tensor op (Matmul, Copy, Alloc, ...).
	Op string
	// Err is the backend's error.
	Err error
}

// Error describes the failure: the device, the op and the backend's error.
func (e *DeviceError) Error() string {
	return fmt.Sprintf("tensor: %s on %s: %v", e.Op, e.Device, e.Err)
}

// Unwrap returns the backend's error.
func (e *DeviceError) Unwrap() error { return e.Err }

// RecoverDeviceError, deferred directly, turns a panic carrying a
// *DeviceError (or an error wrapping one, as an allocation failure inside an
// op is) into *err; any other panic continues.
func RecoverDeviceError(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if e, ok := r.(error); ok {
		var de *DeviceError
		if errors.As(e, &de) {
			*err = e
			return
		}
	}
	panic(r)
}
