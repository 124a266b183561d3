package session_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/session"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		max     int
		want    []byte
		wantErr error
	}{
		{name: "empty line", line: "", want: []byte{}},
		{name: "one byte", line: "YQ==", want: []byte("a")},
		{name: "two bytes", line: "YWI=", want: []byte("ab")},
		{name: "three bytes", line: "YWJj", want: []byte("abc")},
		{name: "RFC 4616 example", line: "AHRpbQB0YW5zdGFhZnRhbnN0YWFm", want: []byte("\x00tim\x00tanstaaftanstaaf")},
		{name: "binary", line: "/+8A", want: []byte{0xff, 0xef, 0x00}},
		{name: "missing padding", line: "YQ", wantErr: session.ErrBase64},
		{name: "half padding", line: "YQ=", wantErr: session.ErrBase64},
		{name: "non-canonical padding bits", line: "YR==", wantErr: session.ErrBase64},
		{name: "non-canonical two bytes", line: "YWJ=", wantErr: session.ErrBase64},
		{name: "URL alphabet", line: "_-8A", wantErr: session.ErrBase64},
		{name: "invalid character", line: "YW!j", wantErr: session.ErrBase64},
		{name: "embedded newline", line: "YW\nJj", wantErr: session.ErrBase64},
		{name: "trailing CRLF", line: "YWJj\r\n", wantErr: session.ErrBase64},
		{name: "space", line: "YW Jj", wantErr: session.ErrBase64},
		{name: "IMAP empty marker", line: "=", wantErr: session.ErrBase64},
		{name: "IMAP cancel", line: "*", wantErr: session.ErrBase64},
		{name: "data after padding", line: "YQ==YQ==", wantErr: session.ErrBase64},
		{name: "at max", line: "YWJj", max: 3, want: []byte("abc")},
		{name: "at max with padding", line: "YWI=", max: 2, want: []byte("ab")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := session.Decode([]byte(tc.line), tc.max)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || got != nil {
					t.Fatalf("Decode = %q, %v; want %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || got == nil {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeLimit(t *testing.T) {
	tests := []struct {
		name  string
		max   int
		limit int
	}{
		{"default", 0, session.DefaultMaxMessage},
		{"negative", -1, session.DefaultMaxMessage},
		{"three", 3, 3},
		{"four", 4, 4},
		{"hundred", 100, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := bytes.Repeat([]byte("x"), tc.limit)
			got, err := session.Decode([]byte(session.Encode(at)), tc.max)
			if err != nil || !bytes.Equal(got, at) {
				t.Fatalf("at the limit: %d bytes, %v", len(got), err)
			}
			over := session.Encode(bytes.Repeat([]byte("x"), tc.limit+1))
			_, err = session.Decode([]byte(over), tc.max)
			// Refused for length alone: the line is also a valid encoding,
			// so the limit is checked before any decoding.
			wantLimit(t, "one past the limit", err, session.ErrTooLarge, tc.limit)
			if errors.Is(err, session.ErrBase64) {
				t.Error("oversize line reported as invalid base64")
			}
		})
	}
	// An oversize line of garbage is refused for its size, not its content:
	// it is never decoded.
	_, err := session.Decode([]byte(strings.Repeat("!", 100)), 10)
	wantLimit(t, "oversize garbage", err, session.ErrTooLarge, 10)
}

func TestEncode(t *testing.T) {
	tests := []struct {
		msg  []byte
		want string
	}{
		{nil, ""},
		{[]byte{}, ""},
		{[]byte("a"), "YQ=="},
		{[]byte("\x00tim\x00tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"},
		{[]byte{0xff, 0xef, 0x00}, "/+8A"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			got := session.Encode(tc.msg)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Encode (-want +got):\n%s", diff)
			}
			back, err := session.Decode([]byte(got), 0)
			if err != nil || !bytes.Equal(back, tc.msg) {
				t.Errorf("round trip: %q, %v", back, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "YQ==", "YWI=", "YWJj", "YR==", "YQ", "*", "=", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"} {
		f.Add([]byte(s), 0)
		f.Add([]byte(s), 2)
	}
	f.Fuzz(func(t *testing.T, line []byte, max int) {
		if max > 1<<20 {
			max = 1 << 20
		}
		msg, err := session.Decode(line, max)
		if err != nil {
			if msg != nil {
				t.Fatalf("error %v with a message", err)
			}
			return
		}
		limit := max
		if limit <= 0 {
			limit = session.DefaultMaxMessage
		}
		if len(msg) > limit {
			t.Fatalf("decoded %d bytes, limit %d", len(msg), limit)
		}
		// Strict decoding: the encoding is canonical.
		if got := session.Encode(msg); got != string(line) {
			t.Fatalf("Encode(Decode(%q)) = %q", line, got)
		}
	})
}
