package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/internal/testpki"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// The SASL framing of TestChannelBindingMITM, one line each way: the
// client sends "AUTH <ir>" and then "<response>"; the server answers
// "+ <challenge>", "OK <final data>" or "NO <failure data>". Every payload
// is base64 (session.Encode).

// saslServe runs the server side of one exchange of m over conn, on the
// channel ch, and returns its outcome.
func saslServe(ctx context.Context, conn net.Conn, m mech.Server, ch mech.Channel, cfg *session.Config) (session.Step, error) {
	r := bufio.NewReader(conn)
	srv, err := session.NewServer(m, ch, cfg)
	if err != nil {
		return session.Step{}, err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return session.Step{}, err
	}
	ir, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "AUTH ")
	if !ok {
		return session.Step{}, fmt.Errorf("want AUTH, got %q", line)
	}
	msg, err := session.Decode([]byte(ir), 0)
	if err != nil {
		return session.Step{}, err
	}
	step, err := srv.StartInitial(ctx, msg)
	for err == nil && !step.Done {
		if _, err = io.WriteString(conn, "+ "+session.Encode(step.Challenge)+"\n"); err != nil {
			return step, err
		}
		if line, err = r.ReadString('\n'); err != nil {
			return step, err
		}
		if msg, err = session.Decode([]byte(strings.TrimRight(line, "\r\n")), 0); err != nil {
			return step, err
		}
		step, err = srv.Next(ctx, msg)
	}
	if err != nil {
		var fe *mech.FailureError
		data := []byte{}
		if errors.As(err, &fe) {
			data = fe.Data
		}
		io.WriteString(conn, "NO "+session.Encode(data)+"\n")
		return step, err
	}
	_, werr := io.WriteString(conn, "OK "+session.Encode(step.Final)+"\n")
	return step, werr
}

// saslClient runs the client side of one exchange of m over conn, on the
// channel ch. It returns nil only if the server reported success and the
// client accepted it (SCRAM: the server's v= verified).
func saslClient(ctx context.Context, conn net.Conn, m mech.Client, c creds.Client, ch mech.Channel) error {
	r := bufio.NewReader(conn)
	cli := session.NewClient(m, c, ch, nil)
	ir, _, err := cli.Start(ctx)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(conn, "AUTH "+session.Encode(ir)+"\n"); err != nil {
		return err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		verb, arg, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		data, err := session.Decode([]byte(arg), 0)
		if err != nil {
			return err
		}
		switch verb {
		case "+":
			resp, err := cli.Next(ctx, data)
			if err != nil {
				return err
			}
			if _, err := io.WriteString(conn, session.Encode(resp)+"\n"); err != nil {
				return err
			}
		case "OK":
			return cli.SuccessData(ctx, data)
		case "NO":
			return cli.FailureData(ctx, data)
		default:
			return fmt.Errorf("unexpected line %q", line)
		}
	}
}

// listen returns a loopback listener closed when the test ends.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// mitm accepts one connection on ln, terminates its TLS with cert, opens
// TLS to upstream presenting the same cert as its client certificate, and
// relays the bytes both ways until one side closes.
func mitm(t *testing.T, ln net.Listener, upstream string, cert tls.Certificate, roots *x509.CertPool, version uint16) {
	t.Helper()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		down := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version})
		if err := down.Handshake(); err != nil {
			t.Logf("mitm: handshake with the client: %v", err)
			return
		}
		u, err := net.Dial("tcp", upstream)
		if err != nil {
			t.Logf("mitm: %v", err)
			return
		}
		defer u.Close()
		up := tls.Client(u, &tls.Config{
			Certificates: []tls.Certificate{cert},
			RootCAs:      roots, ServerName: "localhost",
			MinVersion: version, MaxVersion: version,
		})
		if err := up.Handshake(); err != nil {
			t.Logf("mitm: handshake with the server: %v", err)
			return
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); io.Copy(up, down); up.CloseWrite() }()
		go func() { defer wg.Done(); io.Copy(down, up); down.CloseWrite() }()
		wg.Wait()
	}()
}

// serverResult is what the real server saw of one exchange.
type serverResult struct {
	cs   tls.ConnectionState
	step session.Step
	err  error
}

// TestChannelBindingMITM runs SCRAM-SHA-256-PLUS over real crypto/tls
// connections, directly and through a man in the middle who holds a
// certificate for the server's name that the client trusts (mis-issued by
// the same CA). The MITM terminates the client's TLS with that
// certificate and connects onward to the real server presenting the same
// certificate as its client certificate, then relays the SASL exchange
// unchanged.
//
// With tls-server-end-point the client hashes the certificate it was
// shown, the MITM's. The real server hashes its own (mech.ServerTLSChannel
// with its leaf), so c= does not match and the exchange fails with
// e=channel-bindings-dont-match; directly, it succeeds. Before,
// mech.TLSChannel(cs, nil) on a server hashed cs.PeerCertificates[0],
// which on a server is the client's certificate: the MITM's, the very
// certificate the client had hashed, so the MITM got through. The "old
// derivation" case runs the exchange with a server channel built that way,
// to show that the attack is real and that the server's own certificate is
// what stops it; and the test checks that ServerTLSChannel with a nil own
// certificate leaves tls-server-end-point out rather than fall back on the
// client's.
func TestChannelBindingMITM(t *testing.T) {
	pki := testpki.New(t, t.TempDir())
	impostor := pki.Impostor(t, "mitm")
	verifier := newVerifier(t, scram.SHA256)
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, tc := range []struct {
			name      string
			viaMITM   bool
			binding   string
			oldServer bool // the server derives tls-server-end-point from the peer's certificate
			wantOK    bool
		}{
			{"direct/tls-server-end-point", false, mech.TLSServerEndPoint, false, true},
			{"direct/tls-exporter", false, mech.TLSExporter, false, true},
			{"mitm/tls-server-end-point", true, mech.TLSServerEndPoint, false, false},
			{"mitm/tls-exporter", true, mech.TLSExporter, false, false},
			{"mitm/tls-server-end-point/old-derivation", true, mech.TLSServerEndPoint, true, true},
		} {
			name := fmt.Sprintf("TLS1.%d/%s", version-tls.VersionTLS10, tc.name)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
				defer cancel()
				// The real server: its own certificate, and client
				// certificates verified when given (as for EXTERNAL).
				srvLn := listen(t)
				results := make(chan serverResult, 1)
				go func() {
					c, err := srvLn.Accept()
					if err != nil {
						results <- serverResult{err: err}
						return
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(DefaultTimeout))
					tc2 := tls.Server(c, &tls.Config{
						Certificates: []tls.Certificate{pki.Server},
						ClientAuth:   tls.VerifyClientCertIfGiven,
						ClientCAs:    pki.Roots,
						MinVersion:   version, MaxVersion: version,
					})
					if err := tc2.HandshakeContext(ctx); err != nil {
						results <- serverResult{err: err}
						return
					}
					cs := tc2.ConnectionState()
					ch := mech.ServerTLSChannel(&cs, pki.Leaf)
					if tc.oldServer {
						ch = oldServerChannel(t, &cs)
					}
					step, err := saslServe(ctx, tc2, scram.Mechanism{Plus: true}, ch, &session.Config{Verifier: verifier})
					results <- serverResult{cs: cs, step: step, err: err}
				}()
				addr := srvLn.Addr().String()
				if tc.viaMITM {
					mln := listen(t)
					mitm(t, mln, addr, impostor, pki.Roots, version)
					addr = mln.Addr().String()
				}
				// The client trusts the CA, and so the MITM's certificate.
				conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pki.Roots, ServerName: "localhost", MinVersion: version, MaxVersion: version})
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(DefaultTimeout))
				ccs := conn.ConnectionState()
				if got := ccs.PeerCertificates[0]; tc.viaMITM != bytes.Equal(got.Raw, impostor.Leaf.Raw) {
					t.Fatalf("the client was shown %q (serial %v)", got.Subject, got.SerialNumber)
				}
				ch := mech.ClientTLSChannel(&ccs)
				data, ok := ch.Binding(tc.binding)
				if !ok {
					t.Fatalf("the client's channel has no %s: %+v", tc.binding, ch.Bindings)
				}
				ch.Bindings = []mech.Binding{{Type: tc.binding, Data: data}}
				cerr := saslClient(ctx, conn, scram.Mechanism{Plus: true}, creds.Client{Authcid: testUser, Password: testPassword}, ch)
				var res serverResult
				select {
				case res = <-results:
				case <-ctx.Done():
					t.Fatal("no result from the server")
				}

				if tc.viaMITM {
					// The server sees the MITM's certificate as the
					// client's; its own channel must not be built from it.
					if len(res.cs.PeerCertificates) == 0 || !bytes.Equal(res.cs.PeerCertificates[0].Raw, impostor.Leaf.Raw) {
						t.Fatalf("the server saw no client certificate from the MITM")
					}
					own := mech.ServerTLSChannel(&res.cs, nil)
					if _, ok := own.Binding(mech.TLSServerEndPoint); ok {
						t.Errorf("ServerTLSChannel(cs, nil) with a client certificate has tls-server-end-point")
					}
				}
				if tc.wantOK {
					if res.err != nil || cerr != nil || !res.step.Done || res.step.Principal.Account() != testUser {
						t.Fatalf("server %+v, %v; client %v; want a login", res.step, res.err, cerr)
					}
					return
				}
				var fe *mech.FailureError
				if !errors.As(res.err, &fe) || string(fe.Data) != "e=channel-bindings-dont-match" || !errors.Is(res.err, mech.ErrAuthFailed) {
					t.Errorf("server: %v, want e=channel-bindings-dont-match and ErrAuthFailed", res.err)
				}
				if res.step.Done || res.step.Principal != nil {
					t.Errorf("server step %+v after a failure", res.step)
				}
				var se *scram.ServerError
				if !errors.As(cerr, &se) || !errors.Is(cerr, mech.ErrAuthFailed) {
					t.Errorf("client: %v, want a *scram.ServerError", cerr)
				}
			})
		}
	}
}

// oldServerChannel is the channel the server side got from the old
// mech.TLSChannel(cs, nil): the connection's bindings, with
// tls-server-end-point taken from cs.PeerCertificates[0], which on a
// server is the client's certificate.
func oldServerChannel(t *testing.T, cs *tls.ConnectionState) mech.Channel {
	t.Helper()
	ch := mech.ServerTLSChannel(cs, nil)
	d, err := mech.ServerEndPoint(cs.PeerCertificates[0])
	if err != nil {
		t.Fatal(err)
	}
	ch.Bindings = append(ch.Bindings, mech.Binding{Type: mech.TLSServerEndPoint, Data: d})
	return ch
}
