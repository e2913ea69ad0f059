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
	case KindSim:
		return fmt.Sprintf("sim:%d", d.Index)
	}
	return fmt.Sprintf("device(%d:%d)", d.Kind, d.Index)
}

// ParseDevice parses "cpu", "cuda", "cuda:N", "sim" or "sim:N" (the
// simulated accelerator, Sim).
func ParseDevice(s string) (Device, error) {
	switch s {
	case "cpu", "":
		return CPU, nil
	case "cuda", "gpu":
		return CUDA(0), nil
	case "sim":
		return Sim(0), nil
	}
	var i int
	var rest string
	if n, _ := fmt.Sscanf(s, "cuda:%d%s", &i, &rest); n == 1 && i >= 0 && s == fmt.Sprintf("cuda:%d", i) {
		return CUDA(i), nil
	}
	if n, _ := fmt.Sscanf(s, "sim:%d%s", &i, &rest); n == 1 && i >= 0 && s == fmt.Sprintf("sim:%d", i) {
		return Sim(i), nil
	}
	return CPU, fmt.Errorf("tensor: unknown device %q (want cpu, cuda, cuda:N, sim or sim:N)", s)
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
	switch d.Kind {
	case KindCPU:
		return cpuBackendInstance, nil
	case KindSim:
		return simBackendFor(d), nil
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
