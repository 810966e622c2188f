// Command quicgo-peer is the quic-go 0.29 test peer used by the quicreuse
// interop tests. It builds in GOPATH mode against the Debian package
// golang-github-lucas-clemente-quic-go-dev (see ../../../build-go-peer.sh).
//
// Modes:
//
//	quicgo-peer server -addr 127.0.0.1:0 [-alpn echo/1 -alpn h3 ...] [-cert PEM -key PEM] [-count N]
//	                   [-retry] [-big-cert N] [-keyupdate N] [-chacha20] [-reset-key HEX]
//	quicgo-peer client -addr HOST:PORT [-alpn echo/1] [-message hello | -bytes N] [-insecure] [-ca PEM]
//	                   [-sni localhost] [-timeout 10s] [-conns 1] [-streams 1] [-local 127.0.0.1:0]
//	                   [-parallel N] [-report] [-keyupdate N] [-chacha20]
//	quicgo-peer both   -listen 127.0.0.1:0 -dial HOST:PORT [-alpn ...] [-insecure] [-ca PEM] [-sni localhost]
//	                   [-cert PEM -key PEM] [-timeout 10s]
//
// Output protocol (stdout, one line per event, written unbuffered so a test
// harness can read it while the process runs):
//
//	listening <ip>:<port>                                     server, both: once the socket is bound
//	accepted remote=<ip:port> alpn=<proto>                    server, both: per accepted connection
//	closed remote=<ip:port> alpn=<proto> streams=<n> bytes=<n> reason=<err>
//	                                                          server, both: per accepted connection, once it is gone
//	connected local=<ip:port> remote=<ip:port> alpn=<proto> peer_cn=<cn> peer_sha256=<hex>
//	                                                          client: per dialed connection
//	OK <total bytes echoed>                                   client: every stream was echoed byte-exact
//	failed conn=<n> <error>                                   client with -report: one connection failed; a failed
//	                                                          handshake says (initials_sent=<n> packets_received=<n>
//	                                                          packets_dropped=<n>)
//	RESULT conns=<n> succeeded=<n> bytes=<n>                  client with -report: last line (also on timeout)
//	STATS retries_sent=<n> retries_received=<n> keyupdates_local=<n> keyupdates_remote=<n>
//	                                                          client: before OK/RESULT; server: after each closed
//	dialed OK local=<ip:port>                                 both: the dial from the shared socket worked
//	ERROR [transport_error_code=0x..|application_error_code=0x..|stream_error_code=0x..] <message>
//	                                                          any mode: fatal error, printed once
//
// The client dials all -conns connections from the one -local socket (quic-go
// tells them apart by connection ID), so they share one local port. With
// -bytes N, stream s of connection c sends N bytes from math/rand seeded with
// c*streams+s, so every stream of a run carries different data.
//
// Options for the interop matrix (tests/interop/matrix_test.cpp), named after the
// QUIC interop runner's test cases:
//
//	-retry       server: every client must do a Retry round trip (RequireAddressValidation)
//	-keyupdate N initiate a key update every N packets (quic-go's internal
//	             handshake.KeyUpdateInterval, as its own interop client does; default 100000)
//	-chacha20    offer/accept TLS_CHACHA20_POLY1305_SHA256 only
//	-big-cert N  server: N extra DNS names in the self-signed certificate (amplificationlimit)
//	-report      client: count failed connections instead of exiting on the first failure
//	-parallel N  client: at most N connections at once (default: all)
//	-reset-key HEX server: stateless reset key (quic-go's Config.StatelessResetKey);
//	             a server restarted with the same key resets its old clients'
//	             connections. Default: none, so quic-go sends no stateless resets
//
// connected/accepted lines also carry cipher=<TLS cipher suite name>.
//
// Exit codes: 0 success (and on SIGTERM/SIGINT), 1 runtime failure, 2 usage error.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "unsafe" // go:linkname for the key update interval

	quic "github.com/lucas-clemente/quic-go"
	"github.com/lucas-clemente/quic-go/logging"
)

// keyUpdateInterval is quic-go's handshake.KeyUpdateInterval (an internal
// package, so it is reached by linkname): packets per key phase. quic-go's
// own interop client sets it to 100 for the keyupdate test case.
//
//go:linkname keyUpdateInterval github.com/lucas-clemente/quic-go/internal/handshake.KeyUpdateInterval
var keyUpdateInterval uint64

// Process-wide event counters, filled by the tracer and printed on STATS lines.
var (
	retriesSent      int64
	retriesReceived  int64
	keyUpdatesLocal  int64
	keyUpdatesRemote int64
)

// tracer counts Retries and key updates.
type tracer struct{ logging.NullTracer }

func (tracer) TracerForConnection(ctx context.Context, _ logging.Perspective, _ logging.ConnectionID) logging.ConnectionTracer {
	counts, _ := ctx.Value(packetCountsKey{}).(*packetCounts)
	return connTracer{counts: counts}
}

// packetCounts are one dialed connection's packets, for the line of a failed dial.
type packetCounts struct{ initialsSent, received, dropped int64 }

// packetCountsKey carries a dial's *packetCounts in its context to the tracer.
type packetCountsKey struct{}

func (p *packetCounts) String() string {
	return fmt.Sprintf("initials_sent=%d packets_received=%d packets_dropped=%d",
		atomic.LoadInt64(&p.initialsSent), atomic.LoadInt64(&p.received), atomic.LoadInt64(&p.dropped))
}

func (tracer) SentPacket(_ net.Addr, hdr *logging.Header, _ logging.ByteCount, _ []logging.Frame) {
	if logging.PacketTypeFromHeader(hdr) == logging.PacketTypeRetry {
		atomic.AddInt64(&retriesSent, 1)
	}
}

type connTracer struct {
	logging.NullConnectionTracer
	counts *packetCounts // nil for accepted connections
}

func (t connTracer) SentPacket(hdr *logging.ExtendedHeader, _ logging.ByteCount, _ *logging.AckFrame, _ []logging.Frame) {
	if t.counts != nil && logging.PacketTypeFromHeader(&hdr.Header) == logging.PacketTypeInitial {
		atomic.AddInt64(&t.counts.initialsSent, 1)
	}
}

func (t connTracer) ReceivedPacket(*logging.ExtendedHeader, logging.ByteCount, []logging.Frame) {
	if t.counts != nil {
		atomic.AddInt64(&t.counts.received, 1)
	}
}

func (t connTracer) DroppedPacket(logging.PacketType, logging.ByteCount, logging.PacketDropReason) {
	if t.counts != nil {
		atomic.AddInt64(&t.counts.dropped, 1)
	}
}

func (connTracer) ReceivedRetry(*logging.Header) { atomic.AddInt64(&retriesReceived, 1) }

func (connTracer) UpdatedKey(_ logging.KeyPhase, remote bool) {
	if remote {
		atomic.AddInt64(&keyUpdatesRemote, 1)
	} else {
		atomic.AddInt64(&keyUpdatesLocal, 1)
	}
}

// statsLine renders the STATS line.
func statsLine() string {
	return fmt.Sprintf("STATS retries_sent=%d retries_received=%d keyupdates_local=%d keyupdates_remote=%d",
		atomic.LoadInt64(&retriesSent), atomic.LoadInt64(&retriesReceived),
		atomic.LoadInt64(&keyUpdatesLocal), atomic.LoadInt64(&keyUpdatesRemote))
}

// matrixOptions are the interop-matrix flags shared by every mode.
type matrixOptions struct {
	keyUpdate uint64
	chacha20  bool
	retry     bool
}

// opts holds the parsed matrix flags.
var opts matrixOptions

// addMatrixFlags registers -keyupdate and -chacha20 on fs.
func addMatrixFlags(fs *flag.FlagSet) {
	fs.Uint64Var(&opts.keyUpdate, "keyupdate", 0, "initiate a key update every N packets (0: quic-go's default)")
	fs.BoolVar(&opts.chacha20, "chacha20", false, "offer/accept TLS_CHACHA20_POLY1305_SHA256 only")
}

// applyMatrixFlags makes the parsed flags take effect; call it before any connection exists.
func applyMatrixFlags() {
	if opts.keyUpdate > 0 {
		keyUpdateInterval = opts.keyUpdate
	}
}

// restrictCiphers applies -chacha20 to conf (qtls honours CipherSuites for TLS 1.3).
func restrictCiphers(conf *tls.Config) {
	if opts.chacha20 {
		conf.CipherSuites = []uint16{tls.TLS_CHACHA20_POLY1305_SHA256}
	}
}

// cipherName returns the negotiated cipher suite of conn.
func cipherName(conn quic.Connection) string {
	return tls.CipherSuiteName(conn.ConnectionState().TLS.CipherSuite)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// defaultALPN is offered/accepted when no -alpn flag is given.
const defaultALPN = "echo/1"

// outMu serialises whole output lines. fmt.Println on os.Stdout is a single
// unbuffered write(2) per call, the mutex additionally keeps lines from
// concurrent goroutines from interleaving and orders them with fatal exits.
var outMu sync.Mutex

// exiting is set once a fatal error or a signal decided the exit code, so
// that no further lines are printed after the final one.
var exiting bool

// say prints one output line immediately.
func say(format string, args ...interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	if exiting {
		return
	}
	fmt.Println(fmt.Sprintf(format, args...))
}

// finish prints an optional last line and exits with code. Only the first
// caller wins; concurrent callers block until the process is gone.
func finish(code int, format string, args ...interface{}) {
	outMu.Lock()
	if exiting {
		outMu.Unlock()
		select {} // another goroutine is already exiting
	}
	exiting = true
	if format != "" {
		fmt.Println(fmt.Sprintf(format, args...))
	}
	os.Exit(code)
}

// closeAndExit closes ln (which closes its connections, sending
// CONNECTION_CLOSE) and exits 0. The exit decision is taken before closing,
// so the accept loop failing as a consequence cannot turn it into an ERROR.
func closeAndExit(ln quic.Listener) {
	outMu.Lock()
	if exiting {
		outMu.Unlock()
		select {} // another goroutine is already exiting
	}
	exiting = true
	outMu.Unlock()
	ln.Close()
	os.Exit(exitOK)
}

// fail reports a fatal error as one `ERROR ...` line and exits with
// exitFailure. If err wraps a QUIC connection or stream error its numeric
// code is printed first, so tests can match on it without parsing the text.
func fail(what string, err error) {
	finish(exitFailure, "ERROR %s", describeError(what, err))
}

// describeError renders "<code prefix><what>: <err>" for an ERROR line.
func describeError(what string, err error) string {
	prefix := ""
	var transportErr *quic.TransportError
	var appErr *quic.ApplicationError
	var streamErr *quic.StreamError
	switch {
	case errors.As(err, &transportErr):
		prefix = fmt.Sprintf("transport_error_code=0x%x ", uint64(transportErr.ErrorCode))
	case errors.As(err, &appErr):
		prefix = fmt.Sprintf("application_error_code=0x%x ", uint64(appErr.ErrorCode))
	case errors.As(err, &streamErr):
		prefix = fmt.Sprintf("stream_error_code=0x%x ", uint64(streamErr.ErrorCode))
	}
	if err == nil {
		return prefix + what
	}
	return prefix + what + ": " + oneLine(err.Error())
}

// withDeadline makes a context timeout recognisable in an ERROR line: it
// names the -timeout that expired instead of only "context deadline exceeded".
func withDeadline(ctx context.Context, timeout time.Duration, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("timeout: -timeout %s exceeded: %w", timeout, err)
	}
	return err
}

// oneLine keeps an error message on a single output line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// usageError reports a command line problem and exits with exitUsage.
func usageError(format string, args ...interface{}) {
	finish(exitUsage, "ERROR usage: "+format, args...)
}

// alpnList is a repeatable -alpn flag.
type alpnList []string

func (a *alpnList) String() string { return strings.Join(*a, ",") }

func (a *alpnList) Set(v string) error {
	if v == "" || len(v) > 255 {
		return errors.New("ALPN must be 1..255 bytes")
	}
	*a = append(*a, v)
	return nil
}

// orDefault returns the configured protocols, or defaultALPN if none.
func (a alpnList) orDefault() []string {
	if len(a) == 0 {
		return []string{defaultALPN}
	}
	return a
}

// quicConfig is the transport configuration shared by every mode.
// Datagrams are enabled so the transport parameter is exercised on the wire;
// keep-alives are off so idle behaviour is driven by the peer under test.
func quicConfig() *quic.Config {
	retry := opts.retry
	return &quic.Config{
		EnableDatagrams:          true,
		MaxIdleTimeout:           30 * time.Second,
		KeepAlivePeriod:          0,
		Tracer:                   tracer{},
		RequireAddressValidation: func(net.Addr) bool { return retry },
	}
}

// serverTLSConfig returns the listener TLS configuration: the identity from
// certFile/keyFile, or a fresh self-signed ECDSA P-256 "localhost" one.
func serverTLSConfig(alpns []string, certFile, keyFile string) (*tls.Config, error) {
	return serverTLSConfigBig(alpns, certFile, keyFile, 0)
}

// serverTLSConfigBig is serverTLSConfig with extraNames more DNS names in a
// self-signed certificate (to make the server's first flight large).
func serverTLSConfigBig(alpns []string, certFile, keyFile string, extraNames int) (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if certFile != "" {
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load -cert %s / -key %s: %w", certFile, keyFile, err)
		}
	} else {
		cert, err = selfSignedCert(extraNames)
		if err != nil {
			return nil, fmt.Errorf("generate self-signed certificate: %w", err)
		}
	}
	conf := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   alpns,
	}
	restrictCiphers(conf)
	return conf, nil
}

// selfSignedCert generates an in-memory ECDSA P-256 certificate for
// CN=localhost, DNS:localhost (plus extraNames names nameN.localhost), valid
// from one hour ago for 30 days.
func selfSignedCert(extraNames int) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              dnsNames(extraNames),
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// dnsNames returns localhost and n more names.
func dnsNames(n int) []string {
	names := []string{"localhost"}
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("name%04d.amplification-limit.localhost", i))
	}
	return names
}

// clientTLSConfig returns the dialer TLS configuration. By default the server
// is verified against the roots in caFile (or the system roots if caFile is
// empty) for name sni; insecure disables verification.
func clientTLSConfig(alpns []string, sni, caFile string, insecure bool) (*tls.Config, error) {
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		NextProtos:         alpns,
		ServerName:         sni,
		InsecureSkipVerify: insecure,
	}
	if caFile != "" && !insecure {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read -ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("read -ca %s: no PEM certificate found", caFile)
		}
		conf.RootCAs = pool
	}
	restrictCiphers(conf)
	return conf, nil
}

// negotiatedALPN returns the protocol chosen in the handshake.
// ConnectionState blocks until the handshake completes; Accept and Dial only
// return after that, so it does not block here.
func negotiatedALPN(conn quic.Connection) string {
	return conn.ConnectionState().TLS.NegotiatedProtocol
}

// echoServer serves the echo protocol on every connection ln accepts:
// each bidirectional stream the peer opens is copied back to it and then
// closed (FIN). After each connection is gone, served is called (if non-nil).
type echoServer struct {
	ln     quic.Listener
	served func()
}

// run accepts connections until the listener fails. It returns the error.
func (s *echoServer) run() error {
	for {
		conn, err := s.ln.Accept(context.Background())
		if err != nil {
			return err
		}
		say("accepted remote=%s alpn=%s cipher=%s", conn.RemoteAddr(), negotiatedALPN(conn), cipherName(conn))
		go s.serveConn(conn)
	}
}

// serveConn echoes every stream of conn concurrently, and returns once the
// connection is closed and all of its streams have finished.
func (s *echoServer) serveConn(conn quic.Connection) {
	var wg sync.WaitGroup
	var streams, echoed int64
	var reason error
	for {
		str, err := conn.AcceptStream(context.Background())
		if err != nil {
			reason = err
			break
		}
		atomic.AddInt64(&streams, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			atomic.AddInt64(&echoed, echoStream(str))
		}()
	}
	wg.Wait()
	say("closed remote=%s alpn=%s streams=%d bytes=%d reason=%s",
		conn.RemoteAddr(), negotiatedALPN(conn), atomic.LoadInt64(&streams),
		atomic.LoadInt64(&echoed), oneLine(reason.Error()))
	say("%s", statsLine())
	if s.served != nil {
		s.served()
	}
}

// echoStream copies str back to itself until the peer's FIN, then sends FIN.
// On error both directions are cancelled. It returns the bytes echoed.
func echoStream(str quic.Stream) int64 {
	n, err := io.Copy(str, str)
	if err != nil {
		str.CancelRead(0)
		str.CancelWrite(0)
		return n
	}
	str.Close()
	return n
}

// exitOnSignal makes SIGTERM and SIGINT close ln (which closes its
// connections) and exit 0.
func exitOnSignal(ln quic.Listener) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		closeAndExit(ln)
	}()
}

// newFlagSet returns a flag set for mode whose parse errors exit with exitUsage.
func newFlagSet(mode string) *flag.FlagSet {
	fs := flag.NewFlagSet("quicgo-peer "+mode, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// parseFlags parses args into fs and rejects positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			finish(exitUsage, "")
		}
		usageError("%s", oneLine(err.Error()))
	}
	if fs.NArg() != 0 {
		usageError("unexpected argument %q", fs.Arg(0))
	}
}

// runServer implements `quicgo-peer server`.
func runServer(args []string) {
	fs := newFlagSet("server")
	addr := fs.String("addr", "127.0.0.1:0", "UDP address to listen on")
	var alpns alpnList
	fs.Var(&alpns, "alpn", "ALPN protocol to accept (repeatable, default "+defaultALPN+")")
	certFile := fs.String("cert", "", "PEM certificate chain (default: self-signed localhost)")
	keyFile := fs.String("key", "", "PEM private key for -cert")
	count := fs.Int("count", 0, "exit 0 after this many connections were fully served (0: run until killed)")
	fs.BoolVar(&opts.retry, "retry", false, "make every client do a Retry round trip")
	bigCert := fs.Int("big-cert", 0, "extra DNS names in the self-signed certificate")
	resetKeyHex := fs.String("reset-key", "", "stateless reset key, hex (default: no stateless resets)")
	addMatrixFlags(fs)
	parseFlags(fs, args)
	applyMatrixFlags()
	if (*certFile == "") != (*keyFile == "") {
		usageError("-cert and -key must be given together")
	}
	if *count < 0 {
		usageError("-count must be >= 0")
	}
	resetKey, err := hex.DecodeString(*resetKeyHex)
	if err != nil {
		usageError("-reset-key must be hex: %s", oneLine(err.Error()))
	}

	tlsConf, err := serverTLSConfigBig(alpns.orDefault(), *certFile, *keyFile, *bigCert)
	if err != nil {
		fail("tls", err)
	}
	conf := quicConfig()
	if len(resetKey) > 0 {
		conf.StatelessResetKey = resetKey
	}
	ln, err := quic.ListenAddr(*addr, tlsConf, conf)
	if err != nil {
		fail("listen "+*addr, err)
	}
	exitOnSignal(ln)
	say("listening %s", ln.Addr())

	srv := &echoServer{ln: ln}
	if *count > 0 {
		var done int64
		srv.served = func() {
			if atomic.AddInt64(&done, 1) == int64(*count) {
				closeAndExit(ln)
			}
		}
	}
	err = srv.run()
	fail("accept", err)
}

// clientOptions holds what every dialing mode needs.
type clientOptions struct {
	alpns    []string
	sni      string
	caFile   string
	insecure bool
	timeout  time.Duration
}

// startWatchdog guarantees the process never outlives deadline by more than a
// short grace period, even if some call does not honour its context. The
// grace lets the failing operation report its own, more specific error first.
func startWatchdog(timeout time.Duration) {
	time.AfterFunc(timeout+250*time.Millisecond, func() {
		finish(exitFailure, "ERROR timeout: -timeout %s exceeded", timeout)
	})
}

// dial performs one QUIC handshake over pconn to raddr.
func dial(ctx context.Context, pconn net.PacketConn, raddr *net.UDPAddr, opts clientOptions) (quic.Connection, error) {
	tlsConf, err := clientTLSConfig(opts.alpns, opts.sni, opts.caFile, opts.insecure)
	if err != nil {
		return nil, err
	}
	return quic.DialContext(ctx, pconn, raddr, opts.sni, tlsConf, quicConfig())
}

// peerIdentity returns the subject CN and the hex SHA-256 of the DER of the
// server's leaf certificate.
func peerIdentity(conn quic.Connection) (cn, sum string) {
	certs := conn.ConnectionState().TLS.PeerCertificates
	if len(certs) == 0 {
		return "", ""
	}
	digest := sha256.Sum256(certs[0].Raw)
	return certs[0].Subject.CommonName, hex.EncodeToString(digest[:])
}

// payload returns what stream number index sends: the -message text, or n
// deterministic pseudo-random bytes from a math/rand source seeded with index.
func payload(message string, n int, index int) []byte {
	if n <= 0 {
		return []byte(message)
	}
	buf := make([]byte, n)
	mrand.New(mrand.NewSource(int64(index))).Read(buf)
	return buf
}

// echoOnce opens a bidirectional stream on conn, sends data followed by FIN
// and reads the echo to EOF. Writing runs concurrently with reading, so
// payloads larger than the flow control windows cannot deadlock.
// It returns the echoed bytes.
func echoOnce(ctx context.Context, conn quic.Connection, data []byte) ([]byte, error) {
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		str.SetDeadline(deadline)
	}
	writeErr := make(chan error, 1)
	go func() {
		if _, err := str.Write(data); err != nil {
			writeErr <- fmt.Errorf("stream %d: write: %w", str.StreamID(), err)
			return
		}
		if err := str.Close(); err != nil {
			writeErr <- fmt.Errorf("stream %d: close: %w", str.StreamID(), err)
			return
		}
		writeErr <- nil
	}()
	got, err := io.ReadAll(str)
	if err != nil {
		str.CancelWrite(0)
		return got, fmt.Errorf("stream %d: read after %d bytes: %w", str.StreamID(), len(got), err)
	}
	if err := <-writeErr; err != nil {
		return got, err
	}
	if !bytes.Equal(got, data) {
		return got, fmt.Errorf("stream %d: echo mismatch: sent %d bytes, got %d bytes, first difference at offset %d",
			str.StreamID(), len(data), len(got), firstDifference(data, got))
	}
	return got, nil
}

// firstDifference returns the first offset at which a and b differ.
func firstDifference(a, b []byte) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// runClient implements `quicgo-peer client`.
func runClient(args []string) {
	fs := newFlagSet("client")
	addr := fs.String("addr", "", "server HOST:PORT (required)")
	var alpns alpnList
	fs.Var(&alpns, "alpn", "ALPN protocol to offer (repeatable, default "+defaultALPN+")")
	message := fs.String("message", "hello", "payload sent on every stream")
	nbytes := fs.Int("bytes", 0, "send this many deterministic pseudo-random bytes per stream instead of -message")
	insecure := fs.Bool("insecure", false, "skip server certificate verification")
	caFile := fs.String("ca", "", "PEM file with the trusted root(s) (default: system roots)")
	sni := fs.String("sni", "localhost", "TLS server name, also used for verification")
	timeout := fs.Duration("timeout", 10*time.Second, "overall deadline")
	conns := fs.Int("conns", 1, "number of connections, all dialed from the one -local socket")
	streams := fs.Int("streams", 1, "bidirectional streams per connection")
	local := fs.String("local", "127.0.0.1:0", "local UDP address to dial from")
	parallel := fs.Int("parallel", 0, "at most this many connections at once (0: all)")
	report := fs.Bool("report", false, "count failed connections instead of exiting on the first failure")
	addMatrixFlags(fs)
	parseFlags(fs, args)
	applyMatrixFlags()
	if *addr == "" {
		usageError("-addr is required")
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "message" && *nbytes > 0 {
			usageError("-message and -bytes are mutually exclusive")
		}
	})
	if *nbytes < 0 || *conns < 1 || *streams < 1 || *timeout <= 0 || *parallel < 0 {
		usageError("-bytes must be >= 0, -conns and -streams >= 1, -timeout > 0, -parallel >= 0")
	}

	var total, succeeded int64
	result := func() string {
		return fmt.Sprintf("RESULT conns=%d succeeded=%d bytes=%d", *conns,
			atomic.LoadInt64(&succeeded), atomic.LoadInt64(&total))
	}
	if *report {
		time.AfterFunc(*timeout+250*time.Millisecond, func() {
			say("%s", statsLine())
			finish(exitFailure, "%s", result())
		})
	} else {
		startWatchdog(*timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	raddr, err := net.ResolveUDPAddr("udp", *addr)
	if err != nil {
		fail("resolve -addr", err)
	}
	laddr, err := net.ResolveUDPAddr("udp", *local)
	if err != nil {
		fail("resolve -local", err)
	}
	pconn, err := net.ListenUDP("udp", laddr)
	if err != nil {
		fail("bind -local "+*local, err)
	}
	defer pconn.Close()
	opts := clientOptions{alpns: alpns.orDefault(), sni: *sni, caFile: *caFile, insecure: *insecure, timeout: *timeout}

	// connFailed ends the run (default) or, with -report, records one failed connection.
	connFailed := func(what string, err error) {
		if !*report {
			fail(what, err)
		}
		say("failed %s", describeError(what, err))
	}
	slots := *parallel
	if slots == 0 {
		slots = *conns
	}
	sem := make(chan struct{}, slots)
	var wg sync.WaitGroup
	for c := 0; c < *conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			counts := &packetCounts{}
			conn, err := dial(context.WithValue(ctx, packetCountsKey{}, counts), pconn, raddr, opts)
			if err != nil {
				connFailed(fmt.Sprintf("conn=%d handshake to %s failed (%s)", c, raddr, counts), withDeadline(ctx, *timeout, err))
				return
			}
			cn, sum := peerIdentity(conn)
			say("connected local=%s remote=%s alpn=%s peer_cn=%s peer_sha256=%s cipher=%s",
				conn.LocalAddr(), conn.RemoteAddr(), negotiatedALPN(conn), cn, sum, cipherName(conn))

			var swg sync.WaitGroup
			var ok int64 = 1
			for s := 0; s < *streams; s++ {
				swg.Add(1)
				go func(s int) {
					defer swg.Done()
					data := payload(*message, *nbytes, c**streams+s)
					got, err := echoOnce(ctx, conn, data)
					if err != nil {
						atomic.StoreInt64(&ok, 0)
						connFailed(fmt.Sprintf("conn=%d stream=%d", c, s), withDeadline(ctx, *timeout, err))
						return
					}
					atomic.AddInt64(&total, int64(len(got)))
				}(s)
			}
			swg.Wait()
			conn.CloseWithError(0, "")
			atomic.AddInt64(&succeeded, atomic.LoadInt64(&ok))
		}(c)
	}
	wg.Wait()
	say("%s", statsLine())
	if *report {
		code := exitOK
		if atomic.LoadInt64(&succeeded) != int64(*conns) {
			code = exitFailure
		}
		finish(code, "%s", result())
	}
	finish(exitOK, "OK %d", atomic.LoadInt64(&total))
}

// runBoth implements `quicgo-peer both`: one UDP socket both listens (echo
// server) and dials -dial, proving the dial leaves from the listening port.
func runBoth(args []string) {
	fs := newFlagSet("both")
	listen := fs.String("listen", "127.0.0.1:0", "local UDP address to listen and dial on")
	dialAddr := fs.String("dial", "", "server HOST:PORT to dial from the listening socket (required)")
	var alpns alpnList
	fs.Var(&alpns, "alpn", "ALPN protocol to accept and offer (repeatable, default "+defaultALPN+")")
	insecure := fs.Bool("insecure", false, "skip verification of the dialed server's certificate")
	caFile := fs.String("ca", "", "PEM file with the trusted root(s) for the dial (default: system roots)")
	sni := fs.String("sni", "localhost", "TLS server name for the dial")
	certFile := fs.String("cert", "", "PEM certificate chain for the listener (default: self-signed localhost)")
	keyFile := fs.String("key", "", "PEM private key for -cert")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline for the dial and its echo")
	parseFlags(fs, args)
	if *dialAddr == "" {
		usageError("-dial is required")
	}
	if (*certFile == "") != (*keyFile == "") {
		usageError("-cert and -key must be given together")
	}
	if *timeout <= 0 {
		usageError("-timeout must be > 0")
	}

	laddr, err := net.ResolveUDPAddr("udp", *listen)
	if err != nil {
		fail("resolve -listen", err)
	}
	raddr, err := net.ResolveUDPAddr("udp", *dialAddr)
	if err != nil {
		fail("resolve -dial", err)
	}
	pconn, err := net.ListenUDP("udp", laddr)
	if err != nil {
		fail("bind -listen "+*listen, err)
	}
	tlsConf, err := serverTLSConfig(alpns.orDefault(), *certFile, *keyFile)
	if err != nil {
		fail("tls", err)
	}
	// quic-go 0.29 shares one PacketConn between Listen and Dial through its
	// package-global multiplexer (connections are told apart by CID).
	ln, err := quic.Listen(pconn, tlsConf, quicConfig())
	if err != nil {
		fail("listen", err)
	}
	exitOnSignal(ln)
	say("listening %s", ln.Addr())
	srv := &echoServer{ln: ln}
	go func() {
		err := srv.run()
		fail("accept", err)
	}()

	opts := clientOptions{alpns: alpns.orDefault(), sni: *sni, caFile: *caFile, insecure: *insecure, timeout: *timeout}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := dial(ctx, pconn, raddr, opts)
	if err != nil {
		fail(fmt.Sprintf("handshake to %s failed", raddr), withDeadline(ctx, *timeout, err))
	}
	data := []byte("hello")
	if _, err := echoOnce(ctx, conn, data); err != nil {
		fail("dial echo", withDeadline(ctx, *timeout, err))
	}
	conn.CloseWithError(0, "")
	say("dialed OK local=%s", conn.LocalAddr())
	select {} // keep listening until killed
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  quicgo-peer server -addr 127.0.0.1:0 [-alpn echo/1 ...] [-cert PEM -key PEM] [-count N]
                     [-retry] [-big-cert N] [-keyupdate N] [-chacha20] [-reset-key HEX]
  quicgo-peer client -addr HOST:PORT [-alpn echo/1] [-message hello | -bytes N] [-insecure] [-ca PEM]
                     [-sni localhost] [-timeout 10s] [-conns 1] [-streams 1] [-local 127.0.0.1:0]
                     [-parallel N] [-report] [-keyupdate N] [-chacha20]
  quicgo-peer both   -listen 127.0.0.1:0 -dial HOST:PORT [-alpn ...] [-insecure] [-ca PEM] [-sni localhost]
                     [-cert PEM -key PEM] [-timeout 10s]
run "quicgo-peer MODE -h" for the flags of a mode`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		usageError("missing mode (server, client or both)")
	}
	mode, args := os.Args[1], os.Args[2:]
	switch mode {
	case "server":
		runServer(args)
	case "client":
		runClient(args)
	case "both":
		runBoth(args)
	case "-h", "-help", "--help", "help":
		usage()
		os.Exit(exitOK)
	default:
		usage()
		usageError("unknown mode %q", mode)
	}
}
