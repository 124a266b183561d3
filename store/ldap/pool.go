package ldapstore

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"

	"github.com/go-ldap/ldap/v3"
)

// pool holds up to size connections to the directory, each used by one
// operation at a time. Connections that failed are closed and replaced
// by fresh ones on demand, so that the store recovers by itself once the
// directory is back.
type pool struct {
	cfg  *Config
	tls  *tls.Config // nil for ldap:// without StartTLS
	bind bool        // bind as the service account on each new connection

	slots chan struct{}   // one per connection in use or being dialled
	idle  chan *ldap.Conn // connections not in use

	mu     sync.Mutex // guards closed
	closed bool
}

func newPool(cfg *Config, tc *tls.Config, bind bool) *pool {
	return &pool{
		cfg:   cfg,
		tls:   tc,
		bind:  bind,
		slots: make(chan struct{}, cfg.PoolSize),
		idle:  make(chan *ldap.Conn, cfg.PoolSize),
	}
}

// errClosed is the error of an operation on a closed store.
var errClosed = errors.New("saslkit/ldapstore: store closed")

// do runs op on a connection, within ctx: when ctx ends the connection is
// closed under op, which then fails. A network failure on a connection
// that had served before (the directory restarted since) is retried once
// on a fresh one.
func (p *pool) do(ctx context.Context, op string, fn func(*ldap.Conn) error) error {
	for attempt := 0; ; attempt++ {
		c, reused, err := p.get(ctx)
		if err != nil {
			return opError(op, ctx, err)
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		err = fn(c)
		aborted := !stop()
		healthy := !aborted && !c.IsClosing() && (err == nil || isResult(err))
		p.put(c, healthy)
		switch {
		case err == nil && !aborted:
			return nil
		case aborted:
			return opError(op, ctx, context.Cause(ctx))
		case reused && attempt == 0 && !healthy && ctx.Err() == nil:
			continue
		}
		return opError(op, ctx, err)
	}
}

// isResult reports whether err is the directory's answer (an LDAP result
// code), after which the connection is still good, rather than a failure
// of the connection.
func isResult(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode != 0 && le.ResultCode < ldap.ErrorNetwork
}

// get returns a connection: an idle one if there is one, else a new one.
func (p *pool) get(ctx context.Context) (c *ldap.Conn, reused bool, err error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, context.Cause(ctx)
	}
	if p.isClosed() {
		<-p.slots
		return nil, false, errClosed
	}
	for c := p.takeIdle(); c != nil; c = p.takeIdle() {
		if !c.IsClosing() {
			return c, true, nil
		}
		c.Close()
	}
	c, err = p.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, false, err
	}
	return c, false, nil
}

// takeIdle returns an idle connection, or nil if there is none.
func (p *pool) takeIdle() *ldap.Conn {
	select {
	case c := <-p.idle:
		return c
	default:
		return nil
	}
}

// put returns c to the pool, or closes it if it is not healthy.
func (p *pool) put(c *ldap.Conn, healthy bool) {
	if healthy && !p.isClosed() {
		select {
		case p.idle <- c:
			<-p.slots
			return
		default:
		}
	}
	c.Close()
	<-p.slots
}

func (p *pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// close closes the idle connections; connections in use are closed when
// their operation ends.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for c := p.takeIdle(); c != nil; c = p.takeIdle() {
		c.Close()
	}
}

// dial connects, starts TLS if configured, and binds as the service
// account if p is the search pool, all within ctx and the timeout.
func (p *pool) dial(ctx context.Context) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: p.cfg.Timeout}
	var nc net.Conn
	var err error
	if p.cfg.ldaps {
		td := &tls.Dialer{NetDialer: d, Config: p.tls}
		nc, err = td.DialContext(ctx, "tcp", p.cfg.addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", p.cfg.addr)
	}
	if err != nil {
		return nil, err
	}
	c := ldap.NewConn(nc, p.cfg.ldaps)
	c.Start()
	c.SetTimeout(p.cfg.Timeout)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	if p.cfg.StartTLS {
		err = c.StartTLS(p.tls)
	}
	if err == nil && p.bind && p.cfg.BindDN != "" {
		err = c.Bind(p.cfg.BindDN, p.cfg.BindPassword)
		if err != nil {
			err = &serviceBindError{err}
		}
	}
	if !stop() {
		c.Close()
		return nil, context.Cause(ctx)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// serviceBindError is a failed bind as the service account.
type serviceBindError struct{ err error }

func (e *serviceBindError) Error() string { return "bind as the service account: " + e.err.Error() }
func (e *serviceBindError) Unwrap() error { return e.err }
