package creds

import (
	"strings"
	"testing"
)

// TestEqualPadded: the padded comparison matches exactly the stored
// password, whatever the lengths, and agrees with the hashed one.
func TestEqualPadded(t *testing.T) {
	long := strings.Repeat("p", padLen)
	for _, stored := range []string{"", "a", "pencil", "pencil\x00", long} {
		var pad [padLen]byte
		copy(pad[:], stored)
		for _, offered := range []string{"", "a", "pencil", "pencil\x00", "penci", "pencil!", "Pencil", long, long[:padLen-1], long + "p", strings.Repeat("x", 4*padLen)} {
			got := equalPadded(&pad, len(stored), offered) == nil
			want := stored != "" && offered == stored
			if got != want || got != (equalHashed(stored, offered) == nil) {
				t.Errorf("stored %d octets, offered %d: match %v, want %v", len(stored), len(offered), got, want)
			}
		}
	}
}

func BenchmarkEqualPadded(b *testing.B) {
	var pad [padLen]byte
	copy(pad[:], "tanstaaftanstaaf")
	for b.Loop() {
		_ = equalPadded(&pad, 16, "tanstaaftanstaaf")
	}
}

func BenchmarkEqualSum(b *testing.B) {
	for b.Loop() {
		_ = equalHashed("tanstaaftanstaaf", "tanstaaftanstaaf")
	}
}
