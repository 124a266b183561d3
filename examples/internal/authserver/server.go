package authserver

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// Server accepts connections and runs a protocol handler on each, in its
// own goroutine. It caps the number of connections ([Config.MaxConns]) and
// closes them all on [Server.Close].
type Server struct {
	b      *Backend
	proto  string
	handle func(*Conn)
	busy   string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex // guards the fields below
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
}

// NewServer returns a server for protocol proto ("imap", "smtp"; for logs)
// that authenticates with b and runs handle on each connection. The server
// closes the connection when handle returns. busy is the line sent to a
// client turned away because [Config.MaxConns] connections are open, such
// as "* BYE Too many connections".
func NewServer(b *Backend, proto string, handle func(*Conn), busy string) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		b: b, proto: proto, handle: handle, busy: busy, ctx: ctx, cancel: cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
	}
}

// Backend returns the server's backend.
func (s *Server) Backend() *Backend { return s.b }

// Serve accepts plain connections on ln, which may upgrade with STARTTLS,
// until [Server.Close]. It then returns nil; otherwise it returns the
// listener's error. Serve closes ln.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeTLS accepts implicit-TLS connections on ln, as [Server.Serve] does.
func (s *Server) ServeTLS(ln net.Listener) error { return s.serve(ln, true) }

func (s *Server) serve(ln net.Listener, implicitTLS bool) error {
	if !s.track(ln) {
		ln.Close()
		return nil
	}
	defer s.untrack(ln)
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors, say: wait and try again.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.b.log.Warn("accept failed", "proto", s.proto, "err", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		switch s.admit(nc) {
		case admitted:
			go s.run(nc, implicitTLS)
		case busy:
			go s.refuse(nc)
		default:
			nc.Close()
		}
	}
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, ln)
	ln.Close()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

type admission int

const (
	admitted admission = iota
	busy               // over the connection cap
	closing            // the server is closing
)

// admit registers nc if the server is open and under its connection cap.
// The goroutine that serves or refuses nc is counted in s.wg here, under
// s.mu, so that Close waits for it.
func (s *Server) admit(nc net.Conn) admission {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return closing
	case len(s.conns) >= s.b.cfg.maxConns():
		s.wg.Add(1)
		return busy
	}
	s.conns[nc] = struct{}{}
	s.wg.Add(1)
	return admitted
}

// refuse tells a client over the connection cap so, and closes it.
func (s *Server) refuse(nc net.Conn) {
	defer s.wg.Done()
	defer nc.Close()
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	nc.Write([]byte(s.busy + "\r\n"))
}

func (s *Server) run(nc net.Conn, implicitTLS bool) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
		nc.Close()
	}()
	conn := nc
	if implicitTLS {
		tc := tls.Server(nc, s.b.tls)
		if err := handshake(s.ctx, tc, s.b.cfg.authTimeout()); err != nil {
			s.b.log.Info("TLS handshake failed", "proto", s.proto, "remote", nc.RemoteAddr().String(), "err", err)
			return
		}
		conn = tc
	}
	s.handle(newConn(s, conn))
}

// Close stops the listeners, closes every connection and waits for the
// handlers to return. It returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.cancel()
	for ln := range s.listeners {
		ln.Close()
	}
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
