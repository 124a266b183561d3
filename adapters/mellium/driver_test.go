package mellium_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"github.com/saslkit/saslkit/adapters/mellium"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// How the fake server below departs from RFC 6120.
type behaviour int

const (
	// honest: challenges, then <success/> with the additional data.
	honest behaviour = iota
	// badSignature: SCRAM's "v=" with one bit of the signature flipped.
	badSignature
	// noData: <success/> without SCRAM's "v=".
	noData
	// earlySuccess: <success/> with no data in place of every challenge,
	// from the first on.
	earlySuccess
	// extraData: <success/> with data the mechanism has none of.
	extraData
	// finalAsChallenge: the additional data as a last <challenge/>, as
	// IMAP has to, then <success/> once answered.
	finalAsChallenge
	// finalAsChallengeBad: the same with a wrong signature.
	finalAsChallengeBad
)

const (
	streamHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
		`xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='localhost' version='1.0'>`
	nsSASL = "urn:ietf:params:xml:ns:xmpp-sasl"
)

// fakeServer is the receiving side of an XMPP client stream (RFC 6120),
// written by hand so that it can misbehave: stream header, SASL with a
// saslkit server session, and after success the restarted stream with no
// features. The stream is taken as already secure.
type fakeServer struct {
	mech     mech.Server
	cfg      *session.Config
	behave   behaviour
	sent     []string // the elements written, for failure messages
	received []string // the SASL elements read
}

func (f *fakeServer) write(w io.Writer, s string) error {
	f.sent = append(f.sent, s)
	_, err := io.WriteString(w, s)
	return err
}

// readHeader reads tokens up to the client's stream header.
func readHeader(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "stream" {
				return fmt.Errorf("got <%s>, want a stream header", se.Name.Local)
			}
			return nil
		}
	}
}

// saslElement is <auth/> or <response/>.
type saslElement struct {
	XMLName   xml.Name
	Mechanism string `xml:"mechanism,attr"`
	Data      string `xml:",chardata"`
}

// readSASL reads the next SASL element and decodes its payload.
func (f *fakeServer) readSASL(d *xml.Decoder, want string) ([]byte, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		var el saslElement
		if err := d.DecodeElement(&el, &se); err != nil {
			return nil, err
		}
		f.received = append(f.received, el.XMLName.Local+":"+el.Data)
		if el.XMLName.Space != nsSASL || el.XMLName.Local != want {
			return nil, fmt.Errorf("got <%s xmlns=%q>, want <%s>", el.XMLName.Local, el.XMLName.Space, want)
		}
		if el.Data == "=" {
			return []byte{}, nil
		}
		return base64.StdEncoding.DecodeString(el.Data)
	}
}

func element(name string, data []byte) string {
	return fmt.Sprintf("<%s xmlns='%s'>%s</%[1]s>", name, nsSASL, base64.StdEncoding.EncodeToString(data))
}

// flipSignature flips one bit of the signature in a SCRAM "v=" message.
func flipSignature(final []byte) []byte {
	v, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(string(final), "v="))
	if err != nil || len(v) == 0 {
		return final
	}
	v[0] ^= 1
	return []byte("v=" + base64.StdEncoding.EncodeToString(v))
}

// serve runs one client connection.
func (f *fakeServer) serve(ctx context.Context, conn net.Conn) error {
	br := bufio.NewReader(conn)
	d := xml.NewDecoder(br)
	if err := readHeader(d); err != nil {
		return err
	}
	if err := f.write(conn, streamHeader+"<stream:features><mechanisms xmlns='"+nsSASL+"'><mechanism>"+
		f.mech.Name()+"</mechanism></mechanisms></stream:features>"); err != nil {
		return err
	}
	ir, err := f.readSASL(d, "auth")
	if err != nil {
		return err
	}
	if f.behave == earlySuccess {
		for range 3 {
			if err := f.write(conn, "<success xmlns='"+nsSASL+"'/>"); err != nil {
				return err
			}
			if _, err := f.readSASL(d, "response"); err != nil {
				return err
			}
		}
		return nil
	}
	sess, err := session.NewServer(f.mech, mech.Channel{Secure: true}, f.cfg)
	if err != nil {
		return err
	}
	step, err := sess.StartInitial(ctx, ir)
	for err == nil && !step.Done {
		if err := f.write(conn, element("challenge", step.Challenge)); err != nil {
			return err
		}
		var resp []byte
		if resp, err = f.readSASL(d, "response"); err != nil {
			return err
		}
		step, err = sess.Next(ctx, resp)
	}
	if err != nil {
		return f.write(conn, "<failure xmlns='"+nsSASL+"'><not-authorized/></failure>")
	}
	final := step.Final
	switch f.behave {
	case badSignature, finalAsChallengeBad:
		final = flipSignature(final)
	case noData:
		final = nil
	case extraData:
		final = []byte("v=c2VydmVyIHNpZ25hdHVyZQ==")
	}
	switch f.behave {
	case finalAsChallenge, finalAsChallengeBad:
		if err := f.write(conn, element("challenge", final)); err != nil {
			return err
		}
		if _, err := f.readSASL(d, "response"); err != nil {
			return err
		}
		err = f.write(conn, "<success xmlns='"+nsSASL+"'/>")
	case noData:
		err = f.write(conn, "<success xmlns='"+nsSASL+"'/>")
	default:
		err = f.write(conn, element("success", final))
	}
	if err != nil {
		return err
	}
	// The client restarts the stream; offer nothing more.
	d = xml.NewDecoder(br)
	if err := readHeader(d); err != nil {
		return err
	}
	return f.write(conn, streamHeader+"<stream:features/>")
}

// dialFake runs f on a loopback listener and negotiates a client stream
// against it with mellium, as alice@localhost with password and mechs.
func dialFake(t *testing.T, f *fakeServer, password string, mechs ...sasl.Mechanism) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// No t.Fatal: TestShared calls this from other goroutines.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Error(err)
		return err
	}
	defer l.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server sent %q, received %q", f.sent, f.received)
		}
	})
	served := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		dl, _ := ctx.Deadline()
		c.SetDeadline(dl)
		served <- f.serve(ctx, c)
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Error(err)
		return err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	origin := jid.MustParse("alice@localhost")
	s, err := xmpp.NewSession(ctx, origin.Domain(), origin, conn, xmpp.Secure,
		xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Features: []xmpp.StreamFeature{xmpp.SASL("", password, mechs...)}}
		}))
	if err == nil {
		if s.State()&xmpp.Authn == 0 {
			t.Errorf("session state %v has no Authn", s.State())
		}
		s.Close()
	}
	conn.Close()
	if serr := <-served; serr != nil && err == nil {
		t.Logf("fake server: %v", serr)
	}
	return err
}

// TestDriver runs the adapter inside mellium's own client negotiation
// against a server that can lie, to show that nothing but a proven server
// ends in success.
func TestDriver(t *testing.T) {
	const password = "pencil"
	keys, err := creds.DeriveSCRAMKeys("SHA-256", password, []byte("0123456789abcdef"), 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "alice", SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatal(err)
	}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}}
	sha256 := scram.Mechanism{Hash: scram.SHA256}
	tests := []struct {
		name     string
		mech     mech.Client
		server   mech.Server
		behave   behaviour
		password string
		// want is nil for success, or an error the login must wrap; ok
		// checks any other error.
		want error
		ok   func(error) bool
	}{
		{name: "SCRAM/honest", mech: sha256, server: sha256, behave: honest, password: password},
		{name: "SCRAM/wrong-password", mech: sha256, server: sha256, password: "pen", ok: isFailure},
		{name: "SCRAM/bad-signature", mech: sha256, server: sha256, behave: badSignature, password: password, want: mech.ErrAuthFailed},
		{name: "SCRAM/no-data", mech: sha256, server: sha256, behave: noData, password: password, want: mech.ErrAuthFailed},
		{name: "SCRAM/early-success", mech: sha256, server: sha256, behave: earlySuccess, password: password, want: mech.ErrInvalidChallenge},
		{name: "SCRAM/final-as-challenge-bad", mech: sha256, server: sha256, behave: finalAsChallengeBad, password: password, want: mech.ErrAuthFailed},
		// Verified, but mellium sends "=" and reports success without
		// reading <success/>; the stream restart then fails on it.
		{name: "SCRAM/final-as-challenge", mech: sha256, server: sha256, behave: finalAsChallenge, password: password, ok: isNotAuthFailed},
		{name: "PLAIN/honest", mech: mech.Plain{}, server: mech.Plain{}, behave: honest, password: password},
		{name: "PLAIN/wrong-password", mech: mech.Plain{}, server: mech.Plain{}, password: "pen", ok: isFailure},
		{name: "PLAIN/extra-data", mech: mech.Plain{}, server: mech.Plain{}, behave: extraData, password: password, want: mech.ErrInvalidChallenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServer{mech: tt.server, cfg: cfg, behave: tt.behave}
			err := dialFake(t, f, tt.password, mellium.Mechanism(tt.mech, nil))
			switch {
			case tt.ok != nil:
				if !tt.ok(err) {
					t.Fatalf("login: %v: not the error wanted", err)
				}
			case tt.want == nil:
				if err != nil {
					t.Fatalf("login: %v", err)
				}
			case !errors.Is(err, tt.want):
				t.Fatalf("login: %v, want an error wrapping %v", err, tt.want)
			}
		})
	}
}

// isFailure reports that err is the server's <failure/>.
func isFailure(err error) bool {
	return strings.Contains(saslFailure(err), "<not-authorized")
}

// isNotAuthFailed reports an error that is not the client refusing the
// server's proof.
func isNotAuthFailed(err error) bool {
	return err != nil && !errors.Is(err, mech.ErrAuthFailed)
}
