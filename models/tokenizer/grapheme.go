package tokenizer

// grapheme.go: extended grapheme cluster boundaries (Unicode UAX #29,
// rules GB3-GB13), needed only by the Precompiled normalizer, which Hugging
// Face applies per cluster (Rust unicode-segmentation, graphemes(true)).
// The Grapheme_Cluster_Break property is derived from the standard
// library's Unicode tables (Mn, Me, Mc, Other_Grapheme_Extend, Cc, Cf...)
// plus the short explicit lists below (Prepend, SpacingMark exceptions,
// Extended_Pictographic). The Indic conjunct rule GB9c is not implemented:
// it only joins clusters of 3-byte characters, which the Precompiled
// normalizer then looks up character by character anyway (clusters of 6
// bytes or more), so it cannot change the result there.

import (
	"unicode"
	"unicode/utf8"
)

type gcbClass uint8

const (
	gcbOther gcbClass = iota
	gcbCR
	gcbLF
	gcbControl
	gcbExtend
	gcbZWJ
	gcbRI
	gcbPrepend
	gcbSpacingMark
	gcbL
	gcbV
	gcbT
	gcbLV
	gcbLVT
)

// prependRanges is Grapheme_Cluster_Break=Prepend (Unicode 15).
var prependRanges = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x0600, 0x0605, 1}, {0x06DD, 0x06DD, 1}, {0x070F, 0x070F, 1}, {0x0890, 0x0891, 1},
		{0x08E2, 0x08E2, 1}, {0x0D4E, 0x0D4E, 1},
	},
	R32: []unicode.Range32{
		{0x110BD, 0x110BD, 1}, {0x110CD, 0x110CD, 1}, {0x111C2, 0x111C3, 1}, {0x1193F, 0x1193F, 1},
		{0x11941, 0x11941, 1}, {0x11A3A, 0x11A3A, 1}, {0x11A84, 0x11A89, 1}, {0x11D46, 0x11D46, 1},
		{0x11F02, 0x11F02, 1},
	},
}

// notSpacingMark lists Mc characters whose Grapheme_Cluster_Break is not
// SpacingMark.
var notSpacingMark = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x102B, 0x102C, 1}, {0x1038, 0x1038, 1}, {0x1062, 0x1064, 1}, {0x1067, 0x106D, 1},
		{0x1083, 0x1083, 1}, {0x1087, 0x108C, 1}, {0x108F, 0x108F, 1}, {0x109A, 0x109C, 1},
		{0x1A61, 0x1A61, 1}, {0x1A63, 0x1A64, 1}, {0xAA7B, 0xAA7B, 1}, {0xAA7D, 0xAA7D, 1},
	},
	R32: []unicode.Range32{{0x11720, 0x11721, 1}},
}

// extPict is Extended_Pictographic (emoji-data.txt, Unicode 15).
var extPict = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x00A9, 0x00A9, 1}, {0x00AE, 0x00AE, 1}, {0x203C, 0x203C, 1}, {0x2049, 0x2049, 1},
		{0x2122, 0x2122, 1}, {0x2139, 0x2139, 1}, {0x2194, 0x2199, 1}, {0x21A9, 0x21AA, 1},
		{0x231A, 0x231B, 1}, {0x2328, 0x2328, 1}, {0x2388, 0x2388, 1}, {0x23CF, 0x23CF, 1},
		{0x23E9, 0x23F3, 1}, {0x23F8, 0x23FA, 1}, {0x24C2, 0x24C2, 1}, {0x25AA, 0x25AB, 1},
		{0x25B6, 0x25B6, 1}, {0x25C0, 0x25C0, 1}, {0x25FB, 0x25FE, 1}, {0x2600, 0x2605, 1},
		{0x2607, 0x2612, 1}, {0x2614, 0x2685, 1}, {0x2690, 0x2705, 1}, {0x2708, 0x2712, 1},
		{0x2714, 0x2714, 1}, {0x2716, 0x2716, 1}, {0x271D, 0x271D, 1}, {0x2721, 0x2721, 1},
		{0x2728, 0x2728, 1}, {0x2733, 0x2734, 1}, {0x2744, 0x2744, 1}, {0x2747, 0x2747, 1},
		{0x274C, 0x274C, 1}, {0x274E, 0x274E, 1}, {0x2753, 0x2755, 1}, {0x2757, 0x2757, 1},
		{0x2763, 0x2767, 1}, {0x2795, 0x2797, 1}, {0x27A1, 0x27A1, 1}, {0x27B0, 0x27B0, 1},
		{0x27BF, 0x27BF, 1}, {0x2934, 0x2935, 1}, {0x2B05, 0x2B07, 1}, {0x2B1B, 0x2B1C, 1},
		{0x2B50, 0x2B50, 1}, {0x2B55, 0x2B55, 1}, {0x3030, 0x3030, 1}, {0x303D, 0x303D, 1},
		{0x3297, 0x3297, 1}, {0x3299, 0x3299, 1},
	},
	R32: []unicode.Range32{
		{0x1F000, 0x1F0FF, 1}, {0x1F10D, 0x1F10F, 1}, {0x1F12F, 0x1F12F, 1}, {0x1F16C, 0x1F171, 1},
		{0x1F17E, 0x1F17F, 1}, {0x1F18E, 0x1F18E, 1}, {0x1F191, 0x1F19A, 1}, {0x1F1AD, 0x1F1E5, 1},
		{0x1F201, 0x1F20F, 1}, {0x1F21A, 0x1F21A, 1}, {0x1F22F, 0x1F22F, 1}, {0x1F232, 0x1F23A, 1},
		{0x1F23C, 0x1F23F, 1}, {0x1F249, 0x1F3FA, 1}, {0x1F400, 0x1F53D, 1}, {0x1F546, 0x1F64F, 1},
		{0x1F680, 0x1F6FF, 1}, {0x1F774, 0x1F77F, 1}, {0x1F7D5, 0x1F7FF, 1}, {0x1F80C, 0x1F80F, 1},
		{0x1F848, 0x1F84F, 1}, {0x1F85A, 0x1F85F, 1}, {0x1F888, 0x1F88F, 1}, {0x1F8AE, 0x1F8FF, 1},
		{0x1F90C, 0x1F93A, 1}, {0x1F93C, 0x1F945, 1}, {0x1F947, 0x1FAFF, 1}, {0x1FC00, 0x1FFFD, 1},
	},
}

func gcbOf(r rune) gcbClass {
	switch {
	case r == '\r':
		return gcbCR
	case r == '\n':
		return gcbLF
	case r < 0x20 || r == 0x7f:
		return gcbControl
	case r < 0x80:
		return gcbOther
	case r == 0x200D:
		return gcbZWJ
	case r == 0x200C:
		return gcbExtend
	case r >= 0x1F1E6 && r <= 0x1F1FF:
		return gcbRI
	case r >= 0x1F3FB && r <= 0x1F3FF: // emoji modifiers
		return gcbExtend
	case r >= 0xE0020 && r <= 0xE007F: // tags
		return gcbExtend
	case r >= 0x1100 && r <= 0x115F, r >= 0xA960 && r <= 0xA97C:
		return gcbL
	case r >= 0x1160 && r <= 0x11A7, r >= 0xD7B0 && r <= 0xD7C6:
		return gcbV
	case r >= 0x11A8 && r <= 0x11FF, r >= 0xD7CB && r <= 0xD7FB:
		return gcbT
	case r >= 0xAC00 && r <= 0xD7A3:
		if (r-0xAC00)%28 == 0 {
			return gcbLV
		}
		return gcbLVT
	case r == 0x0E33 || r == 0x0EB3:
		return gcbSpacingMark
	}
	if unicode.Is(prependRanges, r) {
		return gcbPrepend
	}
	if unicode.In(r, unicode.Mn, unicode.Me, unicode.Other_Grapheme_Extend) {
		return gcbExtend
	}
	if unicode.Is(unicode.Mc, r) {
		if unicode.Is(notSpacingMark, r) {
			return gcbOther
		}
		return gcbSpacingMark
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
		return gcbControl
	}
	return gcbOther
}

// graphemeLen returns the byte length of the extended grapheme cluster at
// the start of s (0 only when s is empty).
func graphemeLen(s string) int {
	if s == "" {
		return 0
	}
	r, n := utf8.DecodeRuneInString(s)
	prev := gcbOf(r)
	pictSeq := unicode.Is(extPict, r) // in "ExtPict Extend*" (for GB11)
	zwjPict := false                  // prev is a ZWJ that follows "ExtPict Extend*"
	riCount := 0
	if prev == gcbRI {
		riCount = 1
	}
	i := n
	for i < len(s) {
		r, sz := utf8.DecodeRuneInString(s[i:])
		cur := gcbOf(r)
		join := false
		switch {
		case prev == gcbCR && cur == gcbLF: // GB3
			join = true
		case prev == gcbControl || prev == gcbCR || prev == gcbLF: // GB4
			join = false
		case cur == gcbControl || cur == gcbCR || cur == gcbLF: // GB5
			join = false
		case prev == gcbL && (cur == gcbL || cur == gcbV || cur == gcbLV || cur == gcbLVT): // GB6
			join = true
		case (prev == gcbLV || prev == gcbV) && (cur == gcbV || cur == gcbT): // GB7
			join = true
		case (prev == gcbLVT || prev == gcbT) && cur == gcbT: // GB8
			join = true
		case cur == gcbExtend || cur == gcbZWJ: // GB9
			join = true
		case cur == gcbSpacingMark: // GB9a
			join = true
		case prev == gcbPrepend: // GB9b
			join = true
		case prev == gcbZWJ && zwjPict && unicode.Is(extPict, r): // GB11
			join = true
		case prev == gcbRI && cur == gcbRI && riCount%2 == 1: // GB12/13
			join = true
		}
		if !join {
			break
		}
		// Track the state GB11 and GB12/13 need.
		zwjPict = cur == gcbZWJ && pictSeq
		pictSeq = unicode.Is(extPict, r) || (cur == gcbExtend && pictSeq)
		if cur == gcbRI {
			riCount++
		} else {
			riCount = 0
		}
		prev = cur
		i += sz
	}
	return i
}
