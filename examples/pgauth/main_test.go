package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/examples/pgauth/pgsasl"
	"github.com/saslkit/saslkit/internal/testpki"
)

// TestRun starts the command with a keys file and a certificate and logs
// in to it with saslkit's client: right and wrong password, with and
// without TLS.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	k, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", []byte("sixteen-octets!!"), 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, []byte("# test\nuser:"+k.RFC5803()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pki := testpki.New(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-keys", keys, "-cert", pki.CertFile, "-key", pki.KeyFile},
			io.Discard, func(a string) { addrc <- a })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	tests := []struct {
		password string
		tls      bool
		wantMech string
	}{
		{"pencil", false, pgsasl.SCRAMSHA256},
		{"wrong", false, ""},
		{"pencil", true, pgsasl.SCRAMSHA256Plus},
		{"wrong", true, ""},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/tls=%v", tc.password, tc.tls), func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			cfg := &pgsasl.ClientConfig{User: "user", Password: tc.password}
			if tc.tls {
				cfg.TLS = &tls.Config{RootCAs: pki.Roots, ServerName: "localhost"}
			}
			conn, err := pgsasl.Connect(ctx, nc, cfg)
			if tc.wantMech == "" {
				var se *pgsasl.ServerError
				if !errors.As(err, &se) || se.Code != pgsasl.CodeInvalidPassword {
					t.Fatalf("Connect: %v, want SQLSTATE 28P01", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if conn.Mechanism != tc.wantMech {
				t.Errorf("mechanism %s, want %s", conn.Mechanism, tc.wantMech)
			}
			rows, err := conn.Query(ctx, "select current_user;")
			if err != nil || len(rows) != 1 || rows[0][0] != "user" {
				t.Errorf("SELECT current_user: %v, %v", rows, err)
			}
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-keys", "k", "-cert", "c"},
		{"-keys", "/nonexistent/keys"},
	} {
		if err := run(context.Background(), args, io.Discard, nil); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
