package cuda

// This file has no build tag: the plain-Go Philox twin and its
// known-answer test run in the default build (no GPU needed); the cuda
// tests compare the device generator with philox4x32_10 below.

import (
	"math/bits"
	"testing"
)

// philox4x32_10 is the plain-Go twin of common.cuh's philox4x32_10: 10
// rounds of Philox 4x32 with the key bumped by the Weyl constants after
// each round (Salmon et al., SC'11).
func philox4x32_10(c [4]uint32, k0, k1 uint32) [4]uint32 {
	const m0, m1 = 0xD2511F53, 0xCD9E8D57
	const w0, w1 = 0x9E3779B9, 0xBB67AE85
	for r := 0; r < 10; r++ {
		hi0, lo0 := bits.Mul32(m0, c[0])
		hi1, lo1 := bits.Mul32(m1, c[2])
		c = [4]uint32{hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0}
		k0 += w0
		k1 += w1
	}
	return c
}

// dropoutWords is the generator as dropout.cu draws it for group g.
func dropoutWords(g, seed, offset uint64) [4]uint32 {
	return philox4x32_10([4]uint32{uint32(g), uint32(g >> 32), uint32(offset), uint32(offset >> 32)}, uint32(seed), uint32(seed>>32))
}

// TestPhiloxKnownAnswers checks the twin against the known-answer vectors
// of the Random123 distribution (kat_vectors, philox4x32 with 10 rounds).
func TestPhiloxKnownAnswers(t *testing.T) {
	cases := []struct {
		ctr    [4]uint32
		k0, k1 uint32
		want   [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, 0, 0, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, 0xffffffff, 0xffffffff, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, 0xa4093822, 0x299f31d0, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, c := range cases {
		if got := philox4x32_10(c.ctr, c.k0, c.k1); got != c.want {
			t.Errorf("philox4x32_10(%#x, %#x, %#x) = %#x, want %#x", c.ctr, c.k0, c.k1, got, c.want)
		}
	}
}
