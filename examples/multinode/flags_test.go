package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestFlags runs the program in-process on flags that must stop it before
// it serves: no database is needed.
func TestFlags(t *testing.T) {
	const secret = "hunter2-not-shown"
	tests := []struct {
		name string
		args []string
		code int
		want string // in the output
	}{
		{"no -pg", nil, 2, "-pg is required"},
		{"no -pg with -migrate", []string{"-migrate"}, 2, "-pg is required"},
		{"unknown flag", []string{"-pg", "x", "-bogus"}, 2, "flag provided but not defined: -bogus"},
		{"arguments", []string{"-pg", "x", "extra"}, 2, "unexpected arguments"},
		{"bad -redis-on-error", []string{"-pg", "x", "-redis-on-error", "maybe"}, 1, `-redis-on-error "maybe": want closed or fallback`},
		{"-users", []string{"-pg", "x", "-users", "users.txt"}, 1, "-users: the accounts are in the database"},
		{"-redis and -limit memory", []string{"-pg", "x", "-redis", "redis://127.0.0.1:1", "-limit", "memory"}, 1, "choose one limiter"},
		{"malformed DSN", []string{"-pg", "postgres://u:" + secret + "@[::1"}, 1, "malformed connection string"},
		{"database down", []string{"-pg", "postgres://u:" + secret + "@127.0.0.1:1/db?connect_timeout=2"}, 1, "saslkit/store/postgres"},
		{"database down, -migrate", []string{"-migrate", "-pg", "postgres://u:" + secret + "@127.0.0.1:1/db?connect_timeout=2"}, 1, "-migrate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tt.code {
				t.Errorf("exit status %d; want %d\n%s", code, tt.code, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output %q; want %q in it", out, tt.want)
			}
			if strings.Contains(out, secret) {
				t.Errorf("the output shows the password: %q", out)
			}
		})
	}
}
