package pgsasl

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/saslkit/saslkit/creds"
)

func TestReadKeys(t *testing.T) {
	const keys = "SCRAM-SHA-256$4096:c2FsdC1vZi1hbGljZQ==$9Ahs1Wuk5s1ZEIfxmKAuvkbsQxtKX4D2ZIgHxx9Lk2Y=:Ic5R6ThZH0bWy1YJAuC5Qr2dh/BZRpwZQZ8lG1zzM1A="
	tests := []struct {
		name    string
		in      string
		want    int // accounts
		wantErr error
	}{
		{"one", "alice:" + keys + "\n", 1, nil},
		{"comments and blanks", "# roles\n\nalice:" + keys + "\r\n\n", 1, nil},
		{"colon in name", "a:b:" + keys + "\nalice:" + keys, 2, nil},
		{"no name", ":" + keys, 0, ErrKeysFile},
		{"no keys", "alice\n", 0, ErrKeysFile},
		{"md5", "alice:md5abcdef\n", 0, ErrKeysFile},
		{"bad base64", "alice:SCRAM-SHA-256$4096:!!$a:b\n", 0, creds.ErrBadSCRAMKeys},
		{"duplicate", "alice:" + keys + "\nalice:" + keys + "\n", 0, ErrKeysFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, err := ReadKeys(strings.NewReader(tc.in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "4096") {
					t.Errorf("error %q quotes the keys", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if store.Len() != tc.want {
				t.Errorf("got %d accounts, want %d", store.Len(), tc.want)
			}
		})
	}
}

func TestGS2Flag(t *testing.T) {
	tests := []struct {
		in     string
		flag   byte
		cbName string
	}{
		{"n,,n=,r=abc", 'n', ""},
		{"y,,n=,r=abc", 'y', ""},
		{"p=tls-server-end-point,,n=,r=abc", 'p', "tls-server-end-point"},
		{"", 0, ""},
		{"x,,", 0, ""},
	}
	for _, tc := range tests {
		flag, name := gs2Flag([]byte(tc.in))
		if d := cmp.Diff([]any{tc.flag, tc.cbName}, []any{flag, name}); d != "" {
			t.Errorf("gs2Flag(%q) (-want +got):\n%s", tc.in, d)
		}
	}
}

// TestServerProtocol checks the front end's answers to clients that do not
// follow the protocol, with raw pgproto3 messages.
func TestServerProtocol(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		// send, if not nil, is the client's answer to AuthenticationSASL.
		send     pgproto3.FrontendMessage
		wantCode string
		wantErr  error
	}{
		{"no user", map[string]string{"database": "x"}, nil, CodeInvalidAuthorization, ErrProtocol},
		{"mechanism not offered", map[string]string{"user": "alice"},
			&pgproto3.SASLInitialResponse{AuthMechanism: SCRAMSHA256Plus, Data: []byte("p=tls-server-end-point,,n=,r=abc")},
			CodeProtocolViolation, ErrProtocol},
		{"password instead of SASL", map[string]string{"user": "alice"},
			&pgproto3.PasswordMessage{Password: "secret"}, CodeProtocolViolation, ErrProtocol},
		{"malformed client-first", map[string]string{"user": "alice"},
			&pgproto3.SASLInitialResponse{AuthMechanism: SCRAMSHA256, Data: []byte("garbage")},
			CodeInvalidPassword, ErrAuthFailed},
		{"other user in n=", map[string]string{"user": "alice"},
			&pgproto3.SASLInitialResponse{AuthMechanism: SCRAMSHA256, Data: []byte("n,,n=carol,r=abc")},
			CodeInvalidPassword, ErrAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, err := ReadKeys(strings.NewReader(derivedKeys(t)))
			if err != nil {
				t.Fatal(err)
			}
			srv, err := NewServer(&ServerConfig{Verifier: &creds.Verifier{Store: store}})
			if err != nil {
				t.Fatal(err)
			}
			cc, sc := net.Pipe()
			defer cc.Close()
			done := make(chan error, 1)
			go func() { _, err := srv.ServeConn(context.Background(), sc); done <- err }()
			fe := pgproto3.NewFrontend(cc, cc)
			fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: tc.params})
			if err := fe.Flush(); err != nil {
				t.Fatal(err)
			}
			msg, err := fe.Receive()
			if err != nil {
				t.Fatal(err)
			}
			if tc.send != nil {
				if d := cmp.Diff(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{SCRAMSHA256}}, msg); d != "" {
					t.Fatalf("first message (-want +got):\n%s", d)
				}
				fe.Send(tc.send)
				if err := fe.Flush(); err != nil {
					t.Fatal(err)
				}
				if msg, err = fe.Receive(); err != nil {
					t.Fatal(err)
				}
			}
			e, ok := msg.(*pgproto3.ErrorResponse)
			if !ok {
				t.Fatalf("got %T, want an ErrorResponse", msg)
			}
			if d := cmp.Diff([]string{"FATAL", tc.wantCode}, []string{e.Severity, e.Code}); d != "" {
				t.Errorf("ErrorResponse (-want +got):\n%s", d)
			}
			if err := <-done; !errors.Is(err, tc.wantErr) {
				t.Errorf("ServeConn: got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// FuzzStartupPacket feeds the startup-phase reader and the parameter
// parser hostile bytes: they must return a packet and parameters that
// re-encode to what was read, or an error wrapping ErrProtocol (or the
// reader's io error), never panic or read past the packet.
func FuzzStartupPacket(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x08\x04\xd2\x16\x2f"))                      // SSLRequest
	f.Add([]byte("\x00\x00\x00\x17\x00\x03\x00\x00user\x00alice\x00\x00")) // startup
	f.Add([]byte("\x00\x00\x00\x10\x00\x03\x00\x00user\x00al"))            // unterminated
	f.Add([]byte("\xff\xff\xff\xff"))                                      // huge
	f.Fuzz(func(t *testing.T, in []byte) {
		r := strings.NewReader(string(in))
		code, body, err := readStartupPacket(r)
		if err != nil {
			return
		}
		if got := len(in) - r.Len(); got != 8+len(body) {
			t.Fatalf("read %d octets for a packet of %d", got, 8+len(body))
		}
		_ = code
		params, err := parseStartupParams(body)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		n := 1
		for k, v := range params {
			if k == "" || strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
				t.Fatalf("parameter %q=%q", k, v)
			}
			n += len(k) + len(v) + 2
		}
		if n > len(body) {
			t.Fatalf("parameters of %d octets from a body of %d", n, len(body))
		}
	})
}
