// memberlist-peer is the hashicorp/memberlist side of `npm run bench -- gossip`: one member with
// DefaultLANConfig (or DefaultLocalConfig) and an encryption key, printing what the benchmark
// measures as JSON lines on stdout, in the same shape as Shoal's gossip node program:
//
//	{"t":<unix ms>,"type":"ready","name":...,"address":...}
//	{"t":<unix ms>,"type":"member","change":"join"|"update"|"dead"|"leave","name":...}
//	{"t":<unix ms>,"type":"stats","bytesSent":N,"packetsSent":N,"members":N}   (every second)
//
// Bytes are counted at the transport (encrypted UDP payloads and TCP stream bytes written), the
// same place Shoal counts them.
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

var stdout sync.Mutex

func emit(fields map[string]interface{}) {
	fields["t"] = time.Now().UnixMilli()
	line, _ := json.Marshal(fields)
	stdout.Lock()
	defer stdout.Unlock()
	os.Stdout.Write(append(line, '\n'))
}

// countingTransport wraps memberlist's NetTransport to count what this member sends.
type countingTransport struct {
	*memberlist.NetTransport
	bytesSent   atomic.Int64
	packetsSent atomic.Int64
	streams     chan net.Conn
}

type countingConn struct {
	net.Conn
	owner *countingTransport
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.owner.bytesSent.Add(int64(n))
	return n, err
}

func (t *countingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	t.bytesSent.Add(int64(len(b)))
	t.packetsSent.Add(1)
	return t.NetTransport.WriteTo(b, addr)
}

func (t *countingTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

func (t *countingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	conn, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return countingConn{conn, t}, nil
}

func (t *countingTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

func (t *countingTransport) StreamCh() <-chan net.Conn {
	return t.streams
}

func (t *countingTransport) forwardStreams() {
	for conn := range t.NetTransport.StreamCh() {
		t.streams <- countingConn{conn, t}
	}
}

type events struct{}

func (events) NotifyJoin(n *memberlist.Node) {
	emit(map[string]interface{}{"type": "member", "change": "join", "name": n.Name})
}

func (events) NotifyLeave(n *memberlist.Node) {
	change := "dead"
	if n.State == memberlist.StateLeft {
		change = "leave"
	}
	emit(map[string]interface{}{"type": "member", "change": change, "name": n.Name})
}

func (events) NotifyUpdate(n *memberlist.Node) {
	emit(map[string]interface{}{"type": "member", "change": "update", "name": n.Name})
}

func main() {
	name := flag.String("name", "", "unique member name")
	bind := flag.String("bind", "127.0.0.1:7946", "UDP and TCP bind address host:port")
	seeds := flag.String("seeds", "", "comma-separated host:port of members to join")
	keyFile := flag.String("key-file", "", "file holding a base64 32-byte key (first line)")
	profile := flag.String("profile", "lan", "lan or local")
	flag.Parse()

	var config *memberlist.Config
	if *profile == "local" {
		config = memberlist.DefaultLocalConfig()
	} else {
		config = memberlist.DefaultLANConfig()
	}
	host, portText, err := net.SplitHostPort(*bind)
	if err != nil {
		log.Fatalf("bad -bind: %v", err)
	}
	var port int
	fmt.Sscanf(portText, "%d", &port)
	config.Name = *name
	config.BindAddr, config.BindPort = host, port
	config.AdvertiseAddr, config.AdvertisePort = host, port
	config.Events = events{}
	config.LogOutput = io.Discard
	if *keyFile != "" {
		text, err := os.ReadFile(*keyFile)
		if err != nil {
			log.Fatalf("reading key: %v", err)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.SplitN(string(text), "\n", 2)[0]))
		if err != nil {
			log.Fatalf("decoding key: %v", err)
		}
		config.SecretKey = key
	}
	netTransport, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{host}, BindPort: port, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		log.Fatalf("binding: %v", err)
	}
	transport := &countingTransport{NetTransport: netTransport, streams: make(chan net.Conn)}
	go transport.forwardStreams()
	config.Transport = transport

	list, err := memberlist.Create(config)
	if err != nil {
		log.Fatalf("creating memberlist: %v", err)
	}
	emit(map[string]interface{}{"type": "ready", "name": *name, "address": *bind})
	if *seeds != "" {
		go func() {
			for attempt := 0; attempt < 10; attempt++ {
				if _, err := list.Join(strings.Split(*seeds, ",")); err == nil {
					return
				}
				time.Sleep(time.Second)
			}
		}()
	}
	go func() {
		for range time.Tick(time.Second) {
			emit(map[string]interface{}{"type": "stats", "bytesSent": transport.bytesSent.Load(), "packetsSent": transport.packetsSent.Load(), "members": list.NumMembers()})
		}
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
	list.Leave(time.Second)
	list.Shutdown()
}
