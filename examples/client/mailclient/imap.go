package mailclient

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// imapClient speaks the IMAP (RFC 9051, RFC 3501) commands the client
// needs: CAPABILITY, STARTTLS, AUTHENTICATE (with SASL-IR, RFC 4959) and
// LOGOUT.
type imapClient struct {
	w    *wire
	tags int
	tag  string // the tag of the command in progress
}

// send sends a command with a new tag.
func (c *imapClient) send(cmd string) error {
	c.newTag()
	return c.w.writeLine(c.tag + " " + cmd)
}

func (c *imapClient) newTag() {
	c.tags++
	c.tag = fmt.Sprintf("a%d", c.tags)
}

// status splits a tagged or untagged status line "OK text" into its status
// and text.
func status(rest string) (st, text string) {
	st, text, _ = strings.Cut(rest, " ")
	return strings.ToUpper(st), text
}

// complete reads the reply to the command in progress, passing each
// untagged line to untagged, and returns the tagged status and text.
func (c *imapClient) complete(untagged func(string)) (st, text string, err error) {
	for {
		line, err := c.w.readLine()
		if err != nil {
			return "", "", err
		}
		if rest, ok := strings.CutPrefix(line, "* "); ok {
			if untagged != nil {
				untagged(rest)
			}
			continue
		}
		if rest, ok := strings.CutPrefix(line, c.tag+" "); ok {
			st, text := status(rest)
			return st, text, nil
		}
		return "", "", fmt.Errorf("unexpected line from server: %q", line)
	}
}

func (c *imapClient) hello() (*capabilities, error) {
	line, err := c.w.readLine()
	if err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	rest, ok := strings.CutPrefix(line, "* ")
	if st, _ := status(rest); !ok || st != "OK" {
		return nil, fmt.Errorf("greeting: %q", line)
	}
	return c.capabilities()
}

func (c *imapClient) capabilities() (*capabilities, error) {
	if err := c.send("CAPABILITY"); err != nil {
		return nil, err
	}
	caps := &capabilities{}
	st, text, err := c.complete(func(line string) {
		words := strings.Fields(line)
		if len(words) == 0 || !strings.EqualFold(words[0], "CAPABILITY") {
			return
		}
		for _, w := range words[1:] {
			u := strings.ToUpper(w)
			switch {
			case strings.HasPrefix(u, "AUTH="):
				caps.mechs = append(caps.mechs, w[len("AUTH="):])
			case u == "SASL-IR":
				caps.saslIR = true
			case u == "STARTTLS":
				caps.starttls = true
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if st != "OK" {
		return nil, fmt.Errorf("CAPABILITY: %s %s", st, text)
	}
	return caps, nil
}

func (c *imapClient) startTLS(cfg *tls.Config) error {
	if err := c.send("STARTTLS"); err != nil {
		return err
	}
	st, text, err := c.complete(nil)
	if err != nil {
		return err
	}
	if st != "OK" {
		return fmt.Errorf("%s %s", st, text)
	}
	return c.w.handshake(cfg)
}

func (c *imapClient) begin(mech string, ir []byte) error {
	cmd := "AUTHENTICATE " + mech
	if ir == nil {
		return c.send(cmd)
	}
	c.newTag()
	return c.w.writeMessage(c.tag+" "+cmd+" ", encodeIR(ir), ir)
}

func (c *imapClient) reply() (reply, error) {
	for {
		line, err := c.w.readLine()
		if err != nil {
			return reply{}, err
		}
		switch {
		case line == "+" || strings.HasPrefix(line, "+ "):
			// "+" alone is not strictly valid, but means an empty
			// challenge to the servers that send it.
			return reply{kind: replyChallenge, challenge: strings.TrimPrefix(strings.TrimPrefix(line, "+"), " ")}, nil
		case strings.HasPrefix(line, "* "):
			continue // an untagged response, such as CAPABILITY
		case strings.HasPrefix(line, c.tag+" "):
			st, _ := status(strings.TrimPrefix(line, c.tag+" "))
			if st == "OK" {
				return reply{kind: replySuccess, text: line}, nil
			}
			return reply{kind: replyFailure, text: line}, nil
		}
		return reply{}, fmt.Errorf("unexpected line from server: %q", line)
	}
}

func (c *imapClient) respond(resp []byte) error {
	// An empty response is an empty line: "=" is only for an initial
	// response, and strict servers refuse it here.
	return c.w.writeMessage("", encodeResponse(resp), resp)
}

func (c *imapClient) cancel() (reply, error) {
	if err := c.w.writeLine("*"); err != nil {
		return reply{}, err
	}
	for {
		r, err := c.reply()
		if err != nil || r.kind != replyChallenge {
			return r, err
		}
		// A server that has not seen the "*" yet: keep cancelling.
		if err := c.w.writeLine("*"); err != nil {
			return reply{}, err
		}
	}
}

func (c *imapClient) quit() {
	if c.send("LOGOUT") == nil {
		c.complete(nil)
	}
}
