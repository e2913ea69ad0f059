// Package atomicfile writes files so that readers see the old contents or
// the new ones, never a half-written file: the data goes to a temporary
// file beside the target, which is synced and renamed over it.
package atomicfile
