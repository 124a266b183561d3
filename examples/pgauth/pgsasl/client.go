package pgsasl

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// ChannelBinding is a client's channel-binding policy, as libpq's
// channel_binding parameter.
type ChannelBinding int

// The channel-binding policies.
const (
	// BindingPrefer runs SCRAM-SHA-256-PLUS over TLS when the server
	// offers it, and SCRAM-SHA-256 otherwise. The zero value.
	BindingPrefer ChannelBinding = iota
	// BindingRequire runs only SCRAM-SHA-256-PLUS: it needs TLS and a
	// server that offers it.
	BindingRequire
	// BindingDisable never binds, and says so ("n,,").
	BindingDisable
)

// Client errors. Match them with errors.Is.
var (
	// ErrNoTLS means the client asked for TLS and the server refused it.
	ErrNoTLS = errors.New("pgsasl: server does not support TLS")
	// ErrNoBinding means BindingRequire could not be met: no TLS, no
	// tls-server-end-point binding, or a server that does not offer
	// SCRAM-SHA-256-PLUS.
	ErrNoBinding = errors.New("pgsasl: channel binding required but not available")
	// ErrNoSCRAM means the server did not ask for SCRAM-SHA-256: another
	// method, or none (it let the client in without a password, which
	// this client refuses, since the server would not have proved itself).
	ErrNoSCRAM = errors.New("pgsasl: server did not authenticate with SCRAM-SHA-256")
)

// ServerError is an ErrorResponse the server sent.
type ServerError struct {
	// Severity is the unlocalized severity: ERROR, FATAL or PANIC.
	Severity string
	// Code is the SQLSTATE, such as "28P01".
	Code string
	// Message is the primary message.
	Message string
}

// Error returns the severity, the message and the SQLSTATE.
func (e *ServerError) Error() string {
	return fmt.Sprintf("pgsasl: server: %s: %s (SQLSTATE %s)", e.Severity, e.Message, e.Code)
}

func serverError(m *pgproto3.ErrorResponse) *ServerError {
	sev := m.SeverityUnlocalized
	if sev == "" {
		sev = m.Severity
	}
	return &ServerError{Severity: sev, Code: m.Code, Message: m.Message}
}

// ClientConfig configures Connect.
type ClientConfig struct {
	// User and Database go in the startup message; an empty Database
	// means User's. The user is not repeated in SCRAM (PostgreSQL's
	// variant sends "n=").
	User, Database string
	// Password is the user's password, prepared with SASLprep as
	// PostgreSQL prepared it.
	Password string
	// TLS, if not nil, makes the client send SSLRequest and require TLS
	// with this configuration; if nil, the connection stays in the clear.
	TLS *tls.Config
	// ChannelBinding is the channel-binding policy.
	ChannelBinding ChannelBinding
}

// Conn is a connection on which the client has logged in. It is not safe
// for concurrent use.
type Conn struct {
	conn net.Conn
	fe   *pgproto3.Frontend
	// Mechanism is the mechanism that ran, and CBName the channel-binding
	// type it bound to ("tls-server-end-point"), or empty.
	Mechanism, CBName string
	// Offered is the mechanism list of the server's AuthenticationSASL.
	Offered []string
	// Params are the ParameterStatus values the server sent.
	Params map[string]string
	// TLS is the connection's TLS state, or nil.
	TLS *tls.ConnectionState
}

// Connect logs in to the PostgreSQL server at the other end of c with
// SCRAM-SHA-256 or SCRAM-SHA-256-PLUS and waits for ReadyForQuery. It
// returns only once the server has proved that it knows the user's keys
// (SCRAM's "v="), and, with -PLUS, that it holds the TLS channel. On
// failure c is closed; a login the server refused is a *ServerError (SQLSTATE
// 28P01 for a wrong password); a server that did not prove itself an error
// wrapping mech.ErrAuthFailed. ctx bounds the login.
func Connect(ctx context.Context, c net.Conn, cfg *ClientConfig) (*Conn, error) {
	cn, err := connect(ctx, c, cfg)
	if err != nil {
		c.Close()
		return nil, err
	}
	return cn, nil
}

func connect(ctx context.Context, c net.Conn, cfg *ClientConfig) (*Conn, error) {
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		if err := c.SetDeadline(d); err != nil {
			return nil, err
		}
	}
	cn := &Conn{conn: c, Params: map[string]string{}}
	if cfg.TLS != nil {
		if _, err := c.Write(requestPacket(sslRequestCode)); err != nil {
			return nil, err
		}
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil {
			return nil, err
		}
		switch b[0] {
		case 'S':
		case 'N':
			return nil, ErrNoTLS
		default:
			return nil, fmt.Errorf("%w: answer %q to SSLRequest", ErrProtocol, b[0])
		}
		tc := tls.Client(c, cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("pgsasl: TLS handshake: %w", err)
		}
		st := tc.ConnectionState()
		cn.conn, cn.TLS = tc, &st
	}
	cn.fe = pgproto3.NewFrontend(cn.conn, cn.conn)
	params := map[string]string{"user": cfg.User, "database": cfg.Database}
	if cfg.Database == "" {
		params["database"] = cfg.User
	}
	cn.fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: params})
	if err := cn.fe.Flush(); err != nil {
		return nil, err
	}
	if err := cn.login(ctx, cfg); err != nil {
		return nil, err
	}
	if err := cn.ready(); err != nil {
		return nil, err
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return cn, nil
}

// receive returns the next message, turning an ErrorResponse into a
// *ServerError.
func (cn *Conn) receive() (pgproto3.BackendMessage, error) {
	msg, err := cn.fe.Receive()
	if err != nil {
		return nil, err
	}
	if e, ok := msg.(*pgproto3.ErrorResponse); ok {
		return nil, serverError(e)
	}
	return msg, nil
}

// login runs the SASL exchange, up to and including AuthenticationOk.
func (cn *Conn) login(ctx context.Context, cfg *ClientConfig) error {
	msg, err := cn.receive()
	if err != nil {
		return err
	}
	sasl, ok := msg.(*pgproto3.AuthenticationSASL)
	if !ok {
		return fmt.Errorf("%w: got %T", ErrNoSCRAM, msg)
	}
	cn.Offered = slices.Clone(sasl.AuthMechanisms)
	name, ch, err := choose(cn.Offered, cn.TLS, cfg.ChannelBinding)
	if err != nil {
		return err
	}
	cn.Mechanism = name
	if name == SCRAMSHA256Plus {
		cn.CBName = mech.TLSServerEndPoint
	}
	m := scram.Mechanism{PostgreSQL: true, Plus: name == SCRAMSHA256Plus}
	sess := session.NewClient(m, creds.Client{Password: cfg.Password}, ch, nil)
	ir, _, err := sess.Start(ctx)
	if err != nil {
		return err
	}
	cn.fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: name, Data: ir})
	if err := cn.fe.Flush(); err != nil {
		return err
	}
	for {
		msg, err := cn.receive()
		if err != nil {
			return err
		}
		switch msg := msg.(type) {
		case *pgproto3.AuthenticationSASLContinue:
			resp, err := sess.Next(ctx, msg.Data)
			if err != nil {
				return err
			}
			cn.fe.Send(&pgproto3.SASLResponse{Data: resp})
			if err := cn.fe.Flush(); err != nil {
				return err
			}
		case *pgproto3.AuthenticationSASLFinal:
			if err := sess.SuccessData(ctx, msg.Data); err != nil {
				return err
			}
			msg2, err := cn.receive()
			if err != nil {
				return err
			}
			if _, ok := msg2.(*pgproto3.AuthenticationOk); !ok {
				return fmt.Errorf("%w: %T after AuthenticationSASLFinal", ErrProtocol, msg2)
			}
			return nil
		case *pgproto3.AuthenticationOk:
			// Success before the server proved itself: Success refuses it.
			if err := sess.Success(ctx); err != nil {
				return err
			}
			return nil
		default:
			return fmt.Errorf("%w: %T during SASL", ErrProtocol, msg)
		}
	}
}

// choose picks the mechanism and the channel to run it over. PostgreSQL
// knows one binding type, tls-server-end-point, so the channel holds that
// one only, for -PLUS; without -PLUS over TLS it holds it too, so that the
// client sends "y" (it could bind, the server did not offer to), unless
// binding is disabled ("n").
func choose(offered []string, cs *tls.ConnectionState, policy ChannelBinding) (string, mech.Channel, error) {
	var ch mech.Channel
	if cs != nil {
		full := mech.ClientTLSChannel(cs)
		ch.Secure = true
		if d, ok := full.Binding(mech.TLSServerEndPoint); ok && policy != BindingDisable {
			ch.Bindings = []mech.Binding{{Type: mech.TLSServerEndPoint, Data: d}}
		}
	}
	switch {
	case len(ch.Bindings) > 0 && slices.Contains(offered, SCRAMSHA256Plus):
		return SCRAMSHA256Plus, ch, nil
	case policy == BindingRequire:
		return "", ch, ErrNoBinding
	case slices.Contains(offered, SCRAMSHA256):
		return SCRAMSHA256, ch, nil
	}
	return "", ch, fmt.Errorf("%w: offered %q", ErrNoSCRAM, offered)
}

// ready reads ParameterStatus and BackendKeyData up to ReadyForQuery.
func (cn *Conn) ready() error {
	for {
		msg, err := cn.receive()
		if err != nil {
			return err
		}
		switch msg := msg.(type) {
		case *pgproto3.ParameterStatus:
			cn.Params[msg.Name] = msg.Value
		case *pgproto3.BackendKeyData, *pgproto3.NoticeResponse:
		case *pgproto3.ReadyForQuery:
			return nil
		default:
			return fmt.Errorf("%w: %T before ReadyForQuery", ErrProtocol, msg)
		}
	}
}

// Query runs sql in the simple query protocol and returns the rows of its
// last result, each value as text (NULL as ""). An ErrorResponse is a
// *ServerError.
func (cn *Conn) Query(ctx context.Context, sql string) ([][]string, error) {
	stop := context.AfterFunc(ctx, func() { cn.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	cn.fe.Send(&pgproto3.Query{String: sql})
	if err := cn.fe.Flush(); err != nil {
		return nil, err
	}
	var rows [][]string
	var qerr error
	for {
		msg, err := cn.fe.Receive()
		if err != nil {
			return nil, err
		}
		switch msg := msg.(type) {
		case *pgproto3.RowDescription:
			rows = nil
		case *pgproto3.DataRow:
			row := make([]string, len(msg.Values))
			for i, v := range msg.Values {
				row[i] = string(v)
			}
			rows = append(rows, row)
		case *pgproto3.ErrorResponse:
			qerr = serverError(msg)
		case *pgproto3.ReadyForQuery:
			return rows, qerr
		}
	}
}

// Close sends Terminate and closes the connection.
func (cn *Conn) Close() error {
	cn.fe.Send(&pgproto3.Terminate{})
	ferr := cn.fe.Flush()
	if err := cn.conn.Close(); err != nil {
		return err
	}
	return ferr
}
