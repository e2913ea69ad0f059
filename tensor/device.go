package tensor

import (
	"fmt"
	"sync"
)

// DeviceKind is the kind of memory a tensor lives in.
type DeviceKind uint8

const (
	// KindCPU is host memory.
	KindCPU DeviceKind = iota
	// KindCUDA is NVIDIA GPU memory.
	KindCUDA
)

// Device names where a tensor's storage lives.
type Device struct {
	Kind  DeviceKind
	Index int
}

// CPU is the host device.
var CPU = Device{Kind: KindCPU}

// CUDA returns the i-th CUDA device.
func CUDA(i int) Device { return Device{Kind: KindCUDA, Index: i} }

// String returns "cpu" or "cuda:N".
func (d Device) String() string {
	switch d.Kind {
	case KindCPU:
		return "cpu"
	case KindCUDA:
		return fmt.Sprintf("cuda:%d", d.Index)
	}
	return fmt.Sprintf("device(%d:%d)", d.Kind, d.Index)
}

// ParseDevice parses "cpu", "cuda" or "cuda:N".
func ParseDevice(s string) (Device, error) {
	switch s {
	case "cpu", "":
		return CPU, nil
	case "cuda", "gpu":
		return CUDA(0), nil
	}
	var i int
	if n, err := fmt.Sscanf(s, "cuda:%d", &i); n == 1 && err == nil && i >= 0 {
		return CUDA(i), nil
	}
	return CPU, fmt.Errorf("tensor: unknown device %q (want cpu, cuda or cuda:N)", s)
}

var backends struct {
	sync.RWMutex
	byKind map[DeviceKind]func(Device) (Backend, error)
}

// RegisterBackend makes devices of kind available through open, which
// returns the backend of one device (or an error when the device is absent).
// The CUDA backend calls it from its package init in builds with the cuda tag.
func RegisterBackend(kind DeviceKind, open func(Device) (Backend, error)) {
	backends.Lock()
	defer backends.Unlock()
	if backends.byKind == nil {
		backends.byKind = map[DeviceKind]func(Device) (Backend, error){}
	}
	backends.byKind[kind] = open
}

// BackendFor returns the backend of device d, or an error when this build or
// machine has none.
func BackendFor(d Device) (Backend, error) {
	if d.Kind == KindCPU {
		return cpuBackendInstance, nil
	}
	backends.RLock()
	open := backends.byKind[d.Kind]
	backends.RUnlock()
	if open == nil {
		if d.Kind == KindCUDA {
			return nil, fmt.Errorf("tensor: device %s unavailable: this ragr binary was built without CUDA support (rebuild with -tags cuda on a machine with the CUDA driver)", d)
		}
		return nil, fmt.Errorf("tensor: device %s unavailable: no backend registered", d)
	}
	return open(d)
}
