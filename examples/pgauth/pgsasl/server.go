package pgsasl

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// The SASL mechanisms a PostgreSQL server offers.
const (
	SCRAMSHA256     = "SCRAM-SHA-256"
	SCRAMSHA256Plus = "SCRAM-SHA-256-PLUS"
)

// SQLSTATE codes a Server sends.
const (
	// CodeInvalidPassword is invalid_password, the code of every failed
	// login.
	CodeInvalidPassword = "28P01"
	// CodeInvalidAuthorization is invalid_authorization_specification:
	// a startup message without a user.
	CodeInvalidAuthorization = "28000"
	// CodeProtocolViolation is protocol_violation.
	CodeProtocolViolation = "08P01"
	// CodeFeatureNotSupported is feature_not_supported: any query but
	// "SELECT current_user".
	CodeFeatureNotSupported = "0A000"
)

// DefaultAuthTimeout bounds the startup phase of a connection, from accept
// to ReadyForQuery, when ServerConfig.AuthTimeout is zero; PostgreSQL's
// authentication_timeout defaults to a minute too.
const DefaultAuthTimeout = time.Minute

// ErrAuthFailed means the client did not authenticate. The client was
// sent SQLSTATE 28P01; the error wraps the session's, which says why.
var ErrAuthFailed = errors.New("pgsasl: authentication failed")

// ServerConfig configures a Server. It must not be modified once the Server
// is in use.
type ServerConfig struct {
	// Verifier holds the accounts and checks their keys. It must not be
	// nil.
	Verifier *creds.Verifier
	// TLS, if not nil, is offered in answer to SSLRequest; if nil, the
	// Server answers SSLRequest with 'N' and runs without TLS.
	TLS *tls.Config
	// Leaf is the certificate the server presents, for the
	// tls-server-end-point channel binding of SCRAM-SHA-256-PLUS. If nil,
	// the Leaf of TLS.Certificates[0] is used when TLS holds exactly one
	// certificate; without one, SCRAM-SHA-256-PLUS is not offered.
	Leaf *x509.Certificate
	// ServerVersion is the server_version parameter reported after login.
	// Empty means "15.0".
	ServerVersion string
	// AuthTimeout bounds the startup phase of each connection. Zero means
	// DefaultAuthTimeout.
	AuthTimeout time.Duration
	// Logf, if not nil, is called with a line for each login and each
	// failure, with the reason. It is never given a secret.
	Logf func(format string, args ...any)
}

// Server is a minimal PostgreSQL front end that authenticates with
// SCRAM-SHA-256 and SCRAM-SHA-256-PLUS. It is safe for concurrent use: each
// connection runs in ServeConn.
type Server struct {
	cfg  ServerConfig
	leaf *x509.Certificate
	pids atomic.Uint32 // the next BackendKeyData process ID
}

// Login is what ServeConn reports of a connection whose client logged in.
type Login struct {
	// Principal is the account that authenticated, by its canonical name.
	Principal *creds.Principal
	// Mechanism is the mechanism the client chose.
	Mechanism string
	// TLS is the connection's TLS state, or nil without TLS.
	TLS *tls.ConnectionState
	// CBFlag is the channel-binding flag of the client's GS2 header ('n',
	// 'y' or 'p') and CBName the binding type it named after "p=".
	CBFlag byte
	CBName string
}

// NewServer returns a Server with configuration cfg, which it copies.
func NewServer(cfg *ServerConfig) (*Server, error) {
	if cfg == nil || cfg.Verifier == nil {
		return nil, fmt.Errorf("pgsasl: server needs a Verifier: %w", creds.ErrMisconfigured)
	}
	s := &Server{cfg: *cfg, leaf: cfg.Leaf}
	if s.leaf == nil && cfg.TLS != nil && len(cfg.TLS.Certificates) == 1 {
		s.leaf = cfg.TLS.Certificates[0].Leaf
	}
	if s.cfg.ServerVersion == "" {
		s.cfg.ServerVersion = "15.0"
	}
	if s.cfg.AuthTimeout == 0 {
		s.cfg.AuthTimeout = DefaultAuthTimeout
	}
	s.pids.Store(1000)
	return s, nil
}

// Serve accepts connections on ln and serves each in its own goroutine
// until ln fails (is closed) or ctx is done, and returns that error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		go func() {
			if _, err := s.ServeConn(ctx, c); err != nil {
				s.logf("pgsasl: %s: %v", c.RemoteAddr(), err)
			}
		}()
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// ServeConn serves one connection and closes it: it negotiates TLS,
// authenticates the client, and answers its queries until it sends
// Terminate or hangs up. It returns the Login once the client has logged
// in, with a nil error when the client ended the connection normally; an
// error wrapping ErrAuthFailed means the login failed (the client was told
// 28P01), ErrProtocol a client that broke the protocol. A CancelRequest is
// answered by closing the connection, with a nil Login and error.
func (s *Server) ServeConn(ctx context.Context, c net.Conn) (*Login, error) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := c.SetDeadline(time.Now().Add(s.cfg.AuthTimeout)); err != nil {
		return nil, err
	}
	conn, params, cs, err := s.startup(ctx, c)
	if err != nil || conn == nil {
		return nil, err
	}
	be := pgproto3.NewBackend(conn, conn)
	be.SetMaxBodyLen(maxMessage)
	user := params["user"]
	if user == "" {
		fatal(be, CodeInvalidAuthorization, "no PostgreSQL user name specified in startup packet")
		return nil, fmt.Errorf("%w: no user in startup message", ErrProtocol)
	}
	login, err := s.authenticate(ctx, be, user, cs)
	if err != nil {
		return nil, err
	}
	s.logf("pgsasl: %s: %s logged in with %s", c.RemoteAddr(), login.Principal.Account(), login.Mechanism)
	if err := s.welcome(be, login, params); err != nil {
		return login, err
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return login, err
	}
	return login, s.queries(be, login)
}

// startup runs the startup phase up to the startup message: SSLRequest
// and GSSENCRequest, at most one of each, as PostgreSQL allows. It returns
// the connection to go on with (TLS or not) and the startup parameters,
// or a nil connection for a CancelRequest.
func (s *Server) startup(ctx context.Context, c net.Conn) (net.Conn, map[string]string, *tls.ConnectionState, error) {
	conn := c
	var cs *tls.ConnectionState
	sslDone, gssDone := false, false
	for {
		code, body, err := readStartupPacket(conn)
		if err != nil {
			return nil, nil, nil, err
		}
		switch {
		case code == sslRequestCode && !sslDone && len(body) == 0:
			sslDone = true
			if s.cfg.TLS == nil {
				if _, err := conn.Write([]byte{'N'}); err != nil {
					return nil, nil, nil, err
				}
				continue
			}
			if _, err := conn.Write([]byte{'S'}); err != nil {
				return nil, nil, nil, err
			}
			tc := tls.Server(c, s.cfg.TLS)
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, nil, nil, fmt.Errorf("pgsasl: TLS handshake: %w", err)
			}
			st := tc.ConnectionState()
			conn, cs, gssDone = tc, &st, true
		case code == gssEncRequestCode && !gssDone && len(body) == 0:
			gssDone = true
			if _, err := conn.Write([]byte{'N'}); err != nil {
				return nil, nil, nil, err
			}
		case code == cancelRequestCode && cs == nil && len(body) == 8:
			return nil, nil, nil, nil
		case code>>16 == protocolMajor3:
			params, err := parseStartupParams(body)
			if err != nil {
				return nil, nil, nil, err
			}
			if err := negotiate(conn, code, params); err != nil {
				return nil, nil, nil, err
			}
			return conn, params, cs, nil
		default:
			be := pgproto3.NewBackend(conn, conn)
			fatal(be, CodeProtocolViolation, "unsupported frontend protocol")
			return nil, nil, nil, fmt.Errorf("%w: startup code %d", ErrProtocol, code)
		}
	}
}

// negotiate sends NegotiateProtocolVersion when the client asked for a
// minor version above 3.0 or for protocol options ("_pq_."), which this
// server has none of, as PostgreSQL does.
func negotiate(conn net.Conn, version uint32, params map[string]string) error {
	var unknown []string
	for name := range params {
		if strings.HasPrefix(name, "_pq_.") {
			unknown = append(unknown, name)
			delete(params, name)
		}
	}
	if version&0xffff == 0 && len(unknown) == 0 {
		return nil
	}
	b, err := (&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unknown}).Encode(nil)
	if err != nil {
		return err
	}
	_, err = conn.Write(b)
	return err
}

// authenticate runs the SASL exchange for user. On failure it has sent the
// client its ErrorResponse.
func (s *Server) authenticate(ctx context.Context, be *pgproto3.Backend, user string, cs *tls.ConnectionState) (*Login, error) {
	ch := mech.Channel{User: user}
	if cs != nil {
		// PostgreSQL defines one channel-binding type, tls-server-end-point:
		// offer -PLUS only with it, and only it.
		full := mech.ServerTLSChannel(cs, s.leaf)
		ch.Secure = true
		if d, ok := full.Binding(mech.TLSServerEndPoint); ok {
			ch.Bindings = []mech.Binding{{Type: mech.TLSServerEndPoint, Data: d}}
		}
	}
	mechs := []string{SCRAMSHA256}
	if len(ch.Bindings) > 0 {
		mechs = []string{SCRAMSHA256Plus, SCRAMSHA256}
	}
	be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: mechs})
	if err := be.Flush(); err != nil {
		return nil, err
	}
	if err := be.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
		return nil, err
	}
	msg, err := receiveAuth(be)
	if err != nil {
		return nil, err
	}
	ir, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		fatal(be, CodeProtocolViolation, fmt.Sprintf("expected SASL response, got message type %d", msgType(msg)))
		return nil, fmt.Errorf("%w: %T instead of SASLInitialResponse", ErrProtocol, msg)
	}
	if ir.AuthMechanism != SCRAMSHA256 && (ir.AuthMechanism != SCRAMSHA256Plus || len(ch.Bindings) == 0) {
		fatal(be, CodeProtocolViolation, "client selected an invalid SASL authentication mechanism")
		return nil, fmt.Errorf("%w: mechanism not offered", ErrProtocol)
	}
	login := &Login{Mechanism: ir.AuthMechanism, TLS: cs}
	login.CBFlag, login.CBName = gs2Flag(ir.Data)
	m := scram.Mechanism{PostgreSQL: true, Plus: ir.AuthMechanism == SCRAMSHA256Plus}
	sess, err := session.NewServer(m, ch, &session.Config{Verifier: s.cfg.Verifier})
	if err != nil {
		fatal(be, CodeInvalidPassword, failedFor(user))
		return nil, err
	}
	step, err := sess.StartInitial(ctx, ir.Data)
	for err == nil && !step.Done {
		be.Send(&pgproto3.AuthenticationSASLContinue{Data: step.Challenge})
		if err := be.Flush(); err != nil {
			return nil, err
		}
		if err := be.SetAuthType(pgproto3.AuthTypeSASLContinue); err != nil {
			return nil, err
		}
		msg, rerr := receiveAuth(be)
		if rerr != nil {
			return nil, rerr
		}
		resp, ok := msg.(*pgproto3.SASLResponse)
		if !ok {
			fatal(be, CodeProtocolViolation, fmt.Sprintf("expected SASL response, got message type %d", msgType(msg)))
			return nil, fmt.Errorf("%w: %T instead of SASLResponse", ErrProtocol, msg)
		}
		step, err = sess.Next(ctx, resp.Data)
	}
	if err != nil {
		// Like PostgreSQL: one answer, whatever went wrong (a wrong
		// password, an unknown user, bindings that differ). No "e=".
		fatal(be, CodeInvalidPassword, failedFor(user))
		return nil, fmt.Errorf("%w for user %q: %w", ErrAuthFailed, user, err)
	}
	login.Principal = step.Principal
	if step.HasFinal {
		be.Send(&pgproto3.AuthenticationSASLFinal{Data: step.Final})
	}
	be.Send(&pgproto3.AuthenticationOk{})
	return login, nil
}

// receiveAuth receives a message during authentication. A client that
// hangs up gives its error; a message that does not decode is answered with
// a protocol violation.
func receiveAuth(be *pgproto3.Backend) (pgproto3.FrontendMessage, error) {
	msg, err := be.Receive()
	if err == nil || isEOF(err) || errors.Is(err, net.ErrClosed) {
		return msg, err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, err
	}
	fatal(be, CodeProtocolViolation, "invalid message during authentication")
	return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
}

// failedFor is PostgreSQL's message for a failed SCRAM login.
func failedFor(user string) string {
	return `password authentication failed for user "` + user + `"`
}

// welcome sends what PostgreSQL sends after AuthenticationOk: the
// parameters a client reads, BackendKeyData and ReadyForQuery.
func (s *Server) welcome(be *pgproto3.Backend, login *Login, params map[string]string) error {
	for _, p := range [][2]string{
		{"application_name", params["application_name"]},
		{"client_encoding", "UTF8"},
		{"DateStyle", "ISO, MDY"},
		{"default_transaction_read_only", "off"},
		{"in_hot_standby", "off"},
		{"integer_datetimes", "on"},
		{"IntervalStyle", "postgres"},
		{"is_superuser", "off"},
		{"server_encoding", "UTF8"},
		{"server_version", s.cfg.ServerVersion},
		{"session_authorization", login.Principal.Account()},
		{"standard_conforming_strings", "on"},
		{"TimeZone", "UTC"},
	} {
		be.Send(&pgproto3.ParameterStatus{Name: p[0], Value: p[1]})
	}
	key := make([]byte, 4)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	be.Send(&pgproto3.BackendKeyData{ProcessID: s.pids.Add(1), SecretKey: key})
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	return be.Flush()
}

// queries answers simple queries until the client sends Terminate or
// hangs up: "SELECT current_user" (or session_user) returns the
// authenticated account, an empty query EmptyQueryResponse, anything else
// an error.
func (s *Server) queries(be *pgproto3.Backend, login *Login) error {
	for {
		msg, err := be.Receive()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || isEOF(err) {
				return nil
			}
			return err
		}
		switch msg := msg.(type) {
		case *pgproto3.Terminate:
			return nil
		case *pgproto3.Query:
			answer(be, msg.String, login.Principal.Account())
		default:
			fatal(be, CodeProtocolViolation, "only the simple query protocol is supported")
			return fmt.Errorf("%w: message type %d after login", ErrProtocol, msgType(msg))
		}
		if err := be.Flush(); err != nil {
			return err
		}
	}
}

// answer queues the reply to one simple query.
func answer(be *pgproto3.Backend, sql, user string) {
	q := strings.ToLower(strings.Join(strings.Fields(strings.TrimRight(strings.TrimSpace(sql), "; \t\r\n")), " "))
	switch q {
	case "":
		be.Send(&pgproto3.EmptyQueryResponse{})
	case "select current_user", "select session_user", "select user":
		name := strings.TrimPrefix(q, "select ")
		if name == "user" {
			name = "current_user"
		}
		be.Send(&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{
			Name:         []byte(name),
			DataTypeOID:  19, // name
			DataTypeSize: 64,
			TypeModifier: -1,
		}}})
		be.Send(&pgproto3.DataRow{Values: [][]byte{[]byte(user)}})
		be.Send(&pgproto3.CommandComplete{CommandTag: []byte("SELECT 1")})
	default:
		be.Send(&pgproto3.ErrorResponse{
			Severity: "ERROR", SeverityUnlocalized: "ERROR",
			Code:    CodeFeatureNotSupported,
			Message: "this server answers only SELECT current_user",
		})
	}
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
}

// fatal sends a FATAL ErrorResponse; the connection is closed after it.
func fatal(be *pgproto3.Backend, code, msg string) {
	be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg})
	be.Flush()
}

// msgType returns a frontend message's type byte, for errors.
func msgType(msg pgproto3.FrontendMessage) byte {
	b, err := msg.Encode(nil)
	if err != nil || len(b) == 0 {
		return 0
	}
	return b[0]
}

// isEOF reports a client that hung up.
func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
