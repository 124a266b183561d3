package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rfcSHA256 is the SHA-256 of rfc3454.txt as published by the RFC Editor
// (138684 bytes, with form feeds between pages).
const rfcSHA256 = "eb722fa698fb7e8823b835d9fd263e4cdb8f1c7b0d234edf7f0e3bd2ccbb2c79"

func readRFC(t *testing.T) []byte {
	t.Helper()
	rfc, err := os.ReadFile("rfc3454.txt")
	if err != nil {
		t.Fatal(err)
	}
	return rfc
}

func TestRFCTextIsPristine(t *testing.T) {
	rfc := readRFC(t)
	sum := sha256.Sum256(rfc)
	if diff := cmp.Diff(rfcSHA256, hex.EncodeToString(sum[:])); diff != "" {
		t.Errorf("rfc3454.txt SHA-256 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(138684, len(rfc)); diff != "" {
		t.Errorf("rfc3454.txt size (-want +got):\n%s", diff)
	}
}

// TestTableCounts checks the number of entry lines parsed from each table
// against counts made independently of this parser (a line regex over the
// RFC text); the A.1, B.1, C and D tables were also checked code point by
// code point against Python's stringprep module when they were generated.
func TestTableCounts(t *testing.T) {
	rfc := string(readRFC(t))
	tests := []struct {
		id   string
		want int
	}{
		{"A.1", 396},
		{"B.1", 27},
		{"B.2", 1371},
		{"B.3", 838},
		{"C.1.1", 1},
		{"C.1.2", 17},
		{"C.2.1", 2},
		{"C.2.2", 16},
		{"C.3", 3},
		{"C.4", 18},
		{"C.5", 1},
		{"C.6", 5},
		{"C.7", 1},
		{"C.8", 15},
		{"C.9", 2},
		{"D.1", 34},
		{"D.2", 360},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			rs, err := parseTable(rfc, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, len(rs)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTableEntries(t *testing.T) {
	rfc := string(readRFC(t))
	tests := []struct {
		id          string
		first, last runeRange
	}{
		{"A.1", runeRange{0x0221, 0x0221}, runeRange{0xE0080, 0xEFFFD}},
		{"B.1", runeRange{0x00AD, 0x00AD}, runeRange{0xFEFF, 0xFEFF}},
		{"C.1.2", runeRange{0x00A0, 0x00A0}, runeRange{0x3000, 0x3000}},
		{"C.2.1", runeRange{0x0000, 0x001F}, runeRange{0x007F, 0x007F}},
		{"C.2.2", runeRange{0x0080, 0x009F}, runeRange{0x1D173, 0x1D17A}},
		{"C.3", runeRange{0xE000, 0xF8FF}, runeRange{0x100000, 0x10FFFD}},
		{"C.9", runeRange{0xE0001, 0xE0001}, runeRange{0xE0020, 0xE007F}},
		{"D.1", runeRange{0x05BE, 0x05BE}, runeRange{0xFE76, 0xFEFC}},
		{"D.2", runeRange{0x0041, 0x005A}, runeRange{0x100000, 0x10FFFD}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			rs, err := parseTable(rfc, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			got := [2]runeRange{rs[0], rs[len(rs)-1]}
			want := [2]runeRange{tt.first, tt.last}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(runeRange{})); diff != "" {
				t.Errorf("first and last entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTableRejectsJunk(t *testing.T) {
	tests := []struct{ name, text string }{
		{"no start", "----- End Table X -----\n"},
		{"no end", "----- Start Table X -----\n   0041\n"},
		{"empty", "----- Start Table X -----\n\n----- End Table X -----\n"},
		{"junk line", "----- Start Table X -----\n   0041\n   hello\n----- End Table X -----\n"},
		{"unsorted", "----- Start Table X -----\n   0042\n   0041\n----- End Table X -----\n"},
		{"reversed range", "----- Start Table X -----\n   0042-0041\n----- End Table X -----\n"},
		{"beyond Unicode", "----- Start Table X -----\n   110000\n----- End Table X -----\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rs, err := parseTable(tt.text, "X"); err == nil {
				t.Errorf("parseTable = %v, nil; want an error", rs)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	got := merge([]runeRange{{10, 20}, {0, 5}, {6, 7}, {15, 30}, {40, 40}})
	want := []runeRange{{0, 7}, {10, 30}, {40, 40}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(runeRange{})); diff != "" {
		t.Errorf("merge (-want +got):\n%s", diff)
	}
}

// TestGeneratedFileIsCurrent checks that "go generate" reproduces
// ../../tables.go byte for byte.
func TestGeneratedFileIsCurrent(t *testing.T) {
	want, err := generate(readRFC(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../tables.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("tables.go is stale; run go generate ./creds/prep\n(-generated +file):\n%s",
			cmp.Diff(string(want), string(got)))
	}
}
