// Command stepthrough runs one SASL (RFC 4422) exchange in-process, a client
// session against a server session, and prints every message: the
// direction (C: client to server, S: server to client), the raw bytes,
// quoted, and their base64 as IMAP or SMTP would carry them. It ends with the
// outcome and the account the server verified.
//
//	go run ./examples/stepthrough -mech PLAIN
//	go run ./examples/stepthrough -mech cram-md5 -server-password wrong
//	go run ./examples/stepthrough -mech XOAUTH2 -server-token other
//	go run ./examples/stepthrough -mech scram-sha-256-plus
//
// Any mechanism the library has built in can be named with -mech, in any
// case. The server holds one account, named -user, with -server-password
// (for password mechanisms and SCRAM), and accepts -server-token (for
// bearer tokens); the connection is a simulated TLS connection whose client
// certificate names -external-id (for EXTERNAL). User names are compared
// after SASLprep, and the outcome names the account as the server holds
// it: with -user Ⅸ, the SCRAM client sends "IX" and logs in to Ⅸ.
//
// The exit status is 0 when the exchange succeeds and the credentials
// verify, 1 when authentication fails, and 2 on a usage error such as an
// unknown mechanism.
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK      = 0
	exitAuth    = 1 // authentication failed
	exitUsage   = 2 // bad flags, unknown mechanism, unusable client credentials
	programName = "stepthrough"
)

// options are the command-line flags.
type options struct {
	mech           string
	user           string
	password       string
	authzid        string
	serverPassword string
	token          string
	serverToken    string
	externalID     string
	cb             string
}

// parse reads the flags in args. Flags left unset that default to another
// flag's value take it here.
func parse(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet(programName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.mech, "mech", "PLAIN", "mechanism `name`, any case")
	fs.StringVar(&o.user, "user", "user", "authentication identity the client sends")
	fs.StringVar(&o.password, "password", "pencil", "password the client sends")
	fs.StringVar(&o.authzid, "authzid", "", "authorization identity the client asks for (default none)")
	fs.StringVar(&o.serverPassword, "server-password", "", "password the server's account holds (default -password)")
	fs.StringVar(&o.token, "token", "tok123", "bearer token the client sends")
	fs.StringVar(&o.serverToken, "server-token", "", "bearer token the server accepts (default -token)")
	fs.StringVar(&o.externalID, "external-id", "", "identity the transport vouches for, for EXTERNAL (default -user)")
	fs.StringVar(&o.cb, "cb", mech.TLSExporter, "channel-binding `type` for -PLUS mechanisms: tls-exporter (TLS 1.3), tls-unique (TLS 1.2) or tls-server-end-point")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", programName, fs.Arg(0))
		fs.Usage()
		return nil, errors.New("unexpected argument")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["server-password"] {
		o.serverPassword = o.password
	}
	if !set["server-token"] {
		o.serverToken = o.token
	}
	if !set["external-id"] {
		o.externalID = o.user
	}
	return &o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}

	// The client registry holds every built-in mechanism, in the
	// library's preference order; -mech picks one of them.
	all, err := registry.Named(nil, registry.BuiltinNames()...)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return exitUsage
	}
	m, ok := all.Lookup(o.mech)
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown mechanism %q; known: %s\n",
			programName, o.mech, strings.Join(all.Names(), ", "))
		return exitUsage
	}

	// What the server knows about its one user: one account record, with
	// the password in the clear for PLAIN, LOGIN and CRAM-MD5, and SCRAM
	// keys derived from the same password.
	pw, err := prep.Stored(o.serverPassword)
	if err != nil {
		fmt.Fprintf(stderr, "%s: -server-password: %v\n", programName, err)
		return exitUsage
	}
	// The clear password is stored prepared, as creds.HashPassword
	// prepares a password before it hashes it.
	acct := creds.Account{Name: o.user, Password: "{PLAIN}" + pw}
	if h, _, ok := scram.HashByName(m.Name()); ok {
		// Derive the keys only for the hash in use: PBKDF2 is slow on
		// purpose.
		k, err := creds.DeriveSCRAMKeys(h.Name(), o.serverPassword, nil, creds.MinSCRAMIterations, false)
		if err != nil {
			// The server password fails SASLprep: a bad flag.
			fmt.Fprintf(stderr, "%s: -server-password: %v\n", programName, err)
			return exitUsage
		}
		acct.SCRAM = []creds.SCRAMKeys{k}
	}
	var store creds.MemoryStore
	if err := store.Add(acct); err != nil {
		// An empty -user, or a name or password that fails SASLprep.
		fmt.Fprintf(stderr, "%s: -user or -server-password: %v\n", programName, err)
		return exitUsage
	}
	srvReg, err := newServerRegistry(o, &store, m.Name())
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return exitUsage
	}

	// The connection both sides share: TLS, so that PLAIN and LOGIN are
	// offered, and the identity a client certificate would vouch for. The
	// channel binding is offered only to the mechanisms that use it (the
	// SCRAM -PLUS variants): a SCRAM server with bindings refuses a client
	// that could have used them and did not.
	ch := mech.Channel{Secure: true, External: o.externalID}
	cch := ch
	if m.Properties().ChannelBinding {
		// -PLUS: a real TLS connection in memory, so that both sides take
		// the binding from their own end of it.
		var desc string
		ch, cch, desc, err = tlsChannels(o.cb)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", programName, err)
			return exitUsage
		}
		ch.External, cch.External = o.externalID, o.externalID
		fmt.Fprintf(stdout, "channel binding: %s\n", desc)
	}

	ctx := context.Background()
	srv, err := srvReg.NewServer(o.mech, ch)
	if err != nil {
		fmt.Fprintf(stdout, "S: mechanism refused: %v\n", err)
		return exitAuth
	}
	cli, err := all.NewClient(o.mech, creds.Client{
		Authcid:  o.user,
		Password: o.password,
		Token:    o.token,
		Authzid:  o.authzid,
	}, cch)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "mechanism: %s\n", srv.Mechanism())
	return exchange(ctx, stdout, cli, srv, m.Properties())
}

// newServerRegistry returns the server's registry, of the one mechanism
// named name, configured as the exchange needs: its sessions check
// passwords and SCRAM keys through one Verifier over store, and XOAUTH2
// and OAUTHBEARER accept -server-token for -user. Building it checks that
// the store can serve the mechanism.
func newServerRegistry(o *options, store creds.Store, name string) (*registry.Registry, error) {
	cfg := &registry.Config{Session: session.Config{
		Verifier: &creds.Verifier{Store: store},
		Tokens: mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
			if sameName(r.User, o.user) && subtle.ConstantTimeCompare([]byte(r.Token), []byte(o.serverToken)) == 1 {
				// The token was issued to -user: the account that
				// logs in.
				r.Subject = o.user
				return nil
			}
			// Each mechanism sends its own default JSON error.
			return fmt.Errorf("token refused: %w", mech.ErrAuthFailed)
		}),
	}}
	return registry.Named(cfg, name)
}

// sameName reports whether a and b name the same user: they are the same
// string after SASLprep.
func sameName(a, b string) bool {
	pa, err1 := prep.Query(a)
	pb, err2 := prep.Query(b)
	return err1 == nil && err2 == nil && pa == pb
}

// exchange runs the client against the server, printing each message, and
// reports the outcome. The server session checks the credentials: a wrong
// password is an error from srv.Next, like any other failure, and a done
// step always names a verified, authorized account.
func exchange(ctx context.Context, w io.Writer, cli *session.Client, srv *session.Server, props mech.Properties) int {
	p, err := session.Run(ctx, cli, srv, func(m session.Message) {
		switch {
		case m.Kind == session.Success && m.HasData:
			// The server reports success with additional data (SCRAM's
			// "v="), and the client checks it.
			fmt.Fprintf(w, "S: success with %s\n", quote(m.Data))
		case m.Kind == session.Success:
			fmt.Fprintln(w, "S: success")
		case m.Kind == session.Failure && m.HasData:
			// The failure carries data for the client (SCRAM's "e=").
			fmt.Fprintf(w, "S: failure with %s\n", quote(m.Data))
		case m.Kind == session.Failure:
		case m.FromServer():
			printMsg(w, "S", m.Data)
		default:
			// The initial response goes with the authentication command.
			printMsg(w, "C", m.Data)
		}
	})
	var re *session.RunError
	switch {
	case errors.As(err, &re) && re.Client && errors.Is(err, mech.ErrInvalidCredentials):
		fmt.Fprintf(w, "C: cannot send these credentials: %v\n", re.Err)
		return exitUsage
	case errors.As(err, &re) && re.Client && errors.Is(err, mech.ErrAuthFailed):
		// The server did not prove itself (SCRAM's "v=").
		fmt.Fprintf(w, "outcome: client rejected the server: %v\n", re.Err)
		return exitAuth
	case errors.As(err, &re) && re.Client:
		// The client ends the exchange as a client would, by cancelling.
		fmt.Fprintf(w, "C: cancel: %v\n", re.Err)
		return exitAuth
	case err != nil:
		fmt.Fprintf(w, "S: failure: %v\n", errors.Unwrap(err))
		if f := cli.Failure(); f != nil {
			fmt.Fprintf(w, "client saw: %v\n", f)
		}
		fmt.Fprintln(w, "outcome: authentication failed")
		return exitAuth
	}
	if props.Mutual {
		fmt.Fprintln(w, "mutual authentication: the client verified the server's signature")
	}

	switch {
	case p.Anonymous():
		// ANONYMOUS names nobody; the server decides what a guest may do.
		fmt.Fprintln(w, "outcome: success, anonymous")
		fmt.Fprintf(w, "trace: %q\n", p.Trace())
		return exitOK
	case props.External:
		fmt.Fprintln(w, "outcome: success, vouched for by the transport")
	case props.Uses == mech.UsesToken:
		fmt.Fprintln(w, "outcome: success, verified by the token validator")
	default:
		fmt.Fprintln(w, "outcome: success, verified against the account store")
	}
	// The account by its name in the store, whatever the client's
	// spelling of it.
	fmt.Fprintf(w, "account: %q\n", p.Account())
	if p.Authzid() != "" {
		fmt.Fprintf(w, "authzid: %q\n", p.Authzid())
	} else {
		// None asked for, or the account itself.
		fmt.Fprintln(w, "authzid: none")
	}
	return exitOK
}

// printMsg prints one message: direction, raw bytes quoted, base64.
func printMsg(w io.Writer, dir string, msg []byte) {
	fmt.Fprintf(w, "%s: %s\n", dir, quote(msg))
}

// quote returns msg quoted and in base64, or marked empty.
func quote(msg []byte) string {
	if len(msg) == 0 {
		return `"" (empty)`
	}
	return strconv.Quote(string(msg)) + " " + session.Encode(msg)
}
