package imapd

import "strings"

// validTag reports whether tag is an IMAP tag: one or more ASTRING-CHARs
// other than "+" (RFC 3501 section 9).
func validTag(tag string) bool {
	if tag == "" {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\+`, c) >= 0 {
			return false
		}
	}
	return true
}

// parseArgs splits the arguments of LOGIN, LIST and SELECT: atoms and
// quoted strings (with \" and \\ escapes), separated by spaces. Literals
// are not supported. It reports false for a syntax error.
func parseArgs(s string) ([]string, bool) {
	var args []string
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return args, true
		}
		switch s[0] {
		case '{':
			return nil, false // a literal
		case '"':
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				c := s[i]
				if c == '\\' {
					i++
					if i == len(s) || (s[i] != '"' && s[i] != '\\') {
						return nil, false
					}
					c = s[i]
				}
				if c == 0 {
					return nil, false
				}
				b.WriteByte(c)
			}
			if i == len(s) {
				return nil, false // unterminated
			}
			args = append(args, b.String())
			s = s[i+1:]
			if s != "" && s[0] != ' ' {
				return nil, false
			}
		default:
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			atom := s[:end]
			if strings.ContainsAny(atom, "\"(){") {
				return nil, false
			}
			args = append(args, atom)
			s = s[end:]
		}
	}
}

// match reports whether the LIST pattern matches name: "*" and "%" match
// any characters, and letters match without regard to case (INBOX is
// case-insensitive, RFC 3501 section 6.3.8). "%" does not match the
// hierarchy delimiter "/", but the only mailbox, INBOX, has none, so the
// two wildcards are the same here. The match is the linear two-pointer
// algorithm: a pattern of many wildcards costs no more than its length
// times the name's.
func match(pattern, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && (pattern[p] == '*' || pattern[p] == '%'):
			star, mark = p, n
			p++
		case p < len(pattern) && strings.EqualFold(pattern[p:p+1], name[n:n+1]):
			p++
			n++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && (pattern[p] == '*' || pattern[p] == '%') {
		p++
	}
	return p == len(pattern)
}
