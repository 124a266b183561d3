package mailclient

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"

	"github.com/saslkit/saslkit/session"
)

// smtpClient speaks the SMTP (RFC 5321) commands the client needs: EHLO,
// STARTTLS (RFC 3207), AUTH (RFC 4954) and QUIT.
type smtpClient struct {
	w *wire
}

// maxReplyLines bounds the lines of one multi-line reply.
const maxReplyLines = 100

// readReply reads one reply, possibly of several lines, and returns its
// code and the text of each line.
func (c *smtpClient) readReply() (code int, lines []string, err error) {
	for {
		line, err := c.w.readLine()
		if err != nil {
			return 0, nil, err
		}
		if len(line) < 3 {
			return 0, nil, fmt.Errorf("malformed reply: %q", line)
		}
		n, err := strconv.Atoi(line[:3])
		if err != nil || n < 200 || n > 599 || code != 0 && n != code {
			return 0, nil, fmt.Errorf("malformed reply: %q", line)
		}
		code = n
		more := len(line) > 3 && line[3] == '-'
		if len(line) > 3 && line[3] != '-' && line[3] != ' ' {
			return 0, nil, fmt.Errorf("malformed reply: %q", line)
		}
		if len(line) > 4 {
			lines = append(lines, line[4:])
		} else {
			lines = append(lines, "")
		}
		if !more {
			return code, lines, nil
		}
		if len(lines) >= maxReplyLines {
			return 0, nil, fmt.Errorf("reply of more than %d lines", maxReplyLines)
		}
	}
}

// command sends cmd and checks that the reply has code want.
func (c *smtpClient) command(cmd string, want int) ([]string, error) {
	if err := c.w.writeLine(cmd); err != nil {
		return nil, err
	}
	code, lines, err := c.readReply()
	if err != nil {
		return nil, err
	}
	if code != want {
		return nil, fmt.Errorf("%s: %d %s", strings.Fields(cmd)[0], code, strings.Join(lines, " "))
	}
	return lines, nil
}

func (c *smtpClient) hello() (*capabilities, error) {
	code, lines, err := c.readReply()
	if err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if code != 220 {
		return nil, fmt.Errorf("greeting: %d %s", code, strings.Join(lines, " "))
	}
	return c.capabilities()
}

func (c *smtpClient) capabilities() (*capabilities, error) {
	lines, err := c.command("EHLO localhost", 250)
	if err != nil {
		return nil, err
	}
	// SMTP AUTH always allows an initial response.
	caps := &capabilities{saslIR: true}
	for _, l := range lines[1:] {
		words := strings.Fields(l)
		if len(words) == 0 {
			continue
		}
		switch kw := strings.ToUpper(words[0]); {
		case kw == "STARTTLS":
			caps.starttls = true
		case kw == "AUTH":
			caps.mechs = append(caps.mechs, words[1:]...)
		case strings.HasPrefix(kw, "AUTH="):
			// The pre-standard spelling some servers still add.
			for _, m := range append([]string{words[0][len("AUTH="):]}, words[1:]...) {
				if !caps.offers(m) {
					caps.mechs = append(caps.mechs, m)
				}
			}
		}
	}
	return caps, nil
}

func (c *smtpClient) startTLS(cfg *tls.Config) error {
	if _, err := c.command("STARTTLS", 220); err != nil {
		return err
	}
	return c.w.handshake(cfg)
}

func (c *smtpClient) begin(mech string, ir []byte) error {
	cmd := "AUTH " + mech
	if ir == nil {
		return c.w.writeLine(cmd)
	}
	return c.w.writeMessage(cmd+" ", encodeIR(ir), ir)
}

func (c *smtpClient) reply() (reply, error) {
	code, lines, err := c.readReply()
	if err != nil {
		return reply{}, err
	}
	text := fmt.Sprintf("%d %s", code, strings.Join(lines, " "))
	switch {
	case code == 334:
		return reply{kind: replyChallenge, challenge: strings.TrimSpace(lines[0])}, nil
	case code == 235:
		return reply{kind: replySuccess, text: text}, nil
	}
	return reply{kind: replyFailure, text: text}, nil
}

func (c *smtpClient) respond(resp []byte) error {
	return c.w.writeMessage("", encodeResponse(resp), resp)
}

func (c *smtpClient) cancel() (reply, error) {
	if err := c.w.writeLine("*"); err != nil {
		return reply{}, err
	}
	return c.reply()
}

func (c *smtpClient) quit() {
	c.command("QUIT", 221)
}

// encodeResponse returns a response to a challenge as IMAP and SMTP send
// it: base64, and an empty line when it is empty.
func encodeResponse(resp []byte) string { return session.Encode(resp) }
