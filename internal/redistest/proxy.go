package redistest

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// Proxy forwards loopback TCP connections to a Redis server and reads the
// commands clients send through it, so that a test can break connections
// where a real network breaks them: all at once (Cut), or after Redis has
// run a command and before its reply reaches the client (LoseReplies).
type Proxy struct {
	l  net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex
	target string
	cut    bool
	conns  map[*proxyConn]bool
	lose   int                      // replies still to lose
	match  func(args []string) bool // the commands whose replies are lost
	lost   int                      // replies lost so far
}

// proxyConn is one client's connection and the proxy's to Redis for it.
type proxyConn struct {
	client, server net.Conn
	// loseReply is set once a command whose reply is to be lost went to
	// Redis: the next bytes Redis sends on this connection are not passed on.
	mu        sync.Mutex
	loseReply bool
}

func (c *proxyConn) close() {
	c.client.Close()
	c.server.Close()
}

// StartProxy listens on a free loopback port and forwards every connection
// to target until the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{l: l, target: target, conns: map[*proxyConn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.Cut(true)
		p.wg.Wait()
	})
	return p
}

// Addr is where clients connect: "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// SetTarget sends new connections to target.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

// Cut drops every connection and refuses new ones while cut is true.
func (p *Proxy) Cut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.close()
		}
		clear(p.conns)
	}
}

// LoseReplies makes the proxy lose the replies of the next n commands for
// which match holds (args are the command's name and arguments, as sent):
// each is passed to Redis, which runs it, and its connection is closed as
// soon as Redis answers, before the client reads a byte of the answer. The
// client sees a connection that broke mid-call, as a dying port-forward or a
// read timeout shows it.
func (p *Proxy) LoseReplies(n int, match func(args []string) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lose, p.match = n, match
}

// Lost is how many replies were lost so far.
func (p *Proxy) Lost() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lost
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target, cut := p.target, p.cut
		p.mu.Unlock()
		if cut {
			client.Close()
			continue
		}
		server, err := net.Dial("tcp", target)
		if err != nil {
			client.Close()
			continue
		}
		c := &proxyConn{client: client, server: server}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.close()
			continue
		}
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); p.requests(c) }()
		go func() { defer p.wg.Done(); p.replies(c) }()
	}
}

// requests passes the client's commands to Redis one by one, marking the
// connection when a command's reply is to be lost.
func (p *Proxy) requests(c *proxyConn) {
	defer c.close()
	r := bufio.NewReader(c.client)
	for {
		raw, args, err := readCommand(r)
		if err != nil {
			return
		}
		if p.takeLoss(args) {
			c.mu.Lock()
			c.loseReply = true
			c.mu.Unlock()
		}
		if _, err := c.server.Write(raw); err != nil {
			return
		}
	}
}

func (p *Proxy) takeLoss(args []string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lose <= 0 || p.match == nil || !p.match(args) {
		return false
	}
	p.lose--
	return true
}

// replies passes Redis' replies to the client, unless one is to be lost:
// then the connection ends.
func (p *Proxy) replies(c *proxyConn) {
	defer c.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.server.Read(buf)
		if n > 0 {
			c.mu.Lock()
			lose := c.loseReply
			c.mu.Unlock()
			if lose {
				p.mu.Lock()
				p.lost++
				p.mu.Unlock()
				return
			}
			if _, werr := c.client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// readCommand reads one command as clients send it, an array of bulk
// strings (or an inline command, a line), and returns its bytes and its
// arguments.
func readCommand(r *bufio.Reader) (raw []byte, args []string, err error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, nil, err
	}
	if line[0] != '*' {
		return line, []string{string(bytes.TrimSpace(line))}, nil
	}
	var buf bytes.Buffer
	buf.Write(line)
	n, err := strconv.Atoi(string(bytes.TrimSpace(line[1:])))
	if err != nil {
		return nil, nil, err
	}
	for range n {
		head, err := r.ReadBytes('\n')
		if err != nil {
			return nil, nil, err
		}
		if head[0] != '$' {
			return nil, nil, io.ErrUnexpectedEOF
		}
		size, err := strconv.Atoi(string(bytes.TrimSpace(head[1:])))
		if err != nil || size < 0 {
			return nil, nil, io.ErrUnexpectedEOF
		}
		body := make([]byte, size+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, nil, err
		}
		buf.Write(head)
		buf.Write(body)
		args = append(args, string(body[:size]))
	}
	return buf.Bytes(), args, nil
}
