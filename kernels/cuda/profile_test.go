//go:build cuda

package cuda

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The kernel profile counts and times each launch between StartProfile
// and StopProfile, and nothing outside it.
func TestProfile(t *testing.T) {
	const n = 1 << 12
	x, err := dev.Alloc(4 * n)
	require.NoError(t, err)
	defer x.Free()
	require.NoError(t, dev.Memset32(x.Ptr(), 0, n))
	require.NoError(t, dev.Scale(x.Ptr(), x.Ptr(), 2, n)) // before: not counted
	require.NoError(t, dev.StartProfile())
	require.Error(t, dev.StartProfile(), "profiling already")
	for i := 0; i < 3; i++ {
		require.NoError(t, dev.Scale(x.Ptr(), x.Ptr(), 0.5, n))
	}
	ks, err := dev.StopProfile()
	require.NoError(t, err)
	require.Len(t, ks, 1, "%v", ks)
	require.True(t, strings.Contains(ks[0].Name, "scale"), ks[0].Name)
	require.Equal(t, 3, ks[0].Count)
	require.Greater(t, ks[0].Seconds, 0.0)
	require.Less(t, ks[0].Seconds, 1.0)
	_, err = dev.StopProfile()
	require.Error(t, err, "not profiling")
	require.NoError(t, dev.Scale(x.Ptr(), x.Ptr(), 2, n)) // after: launches still work
}
