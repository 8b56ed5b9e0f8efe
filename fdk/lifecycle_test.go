package fdk_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/fdk/internal/conformance"
)

// badEnvCases are environments the FDK must refuse, with what its message
// has to say.
func badEnvCases(t *testing.T) []struct {
	name string
	env  []string
	want string
} {
	dir := fdktest.NewSocketDir(t)
	long := filepath.Join(dir, strings.Repeat("d", 100))
	if err := os.Mkdir(long, 0o755); err != nil {
		t.Fatal(err)
	}
	return []struct {
		name string
		env  []string
		want string
	}{
		{"no FN_LISTENER", []string{"FN_FORMAT=http-stream"}, "FN_LISTENER is not set"},
		{"tcp listener", []string{"FN_LISTENER=tcp://localhost:8080"}, "is not a unix: URL"},
		{"listener without file", []string{"FN_LISTENER=unix:" + dir + "/"}, "names no socket file"},
		{"wrong format", []string{"FN_LISTENER=unix:" + dir + "/lsnr.sock", "FN_FORMAT=json"}, "only http-stream"},
		{"path over 107 bytes", []string{"FN_LISTENER=unix:" + long + "/lsnr.sock"}, "at most 107"},
		{"missing directory", []string{"FN_LISTENER=unix:" + dir + "/nope/lsnr.sock"}, "does the directory"},
	}
}

func TestServeRefusesBadEnvironment(t *testing.T) {
	for _, tc := range badEnvCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			err := fdk.Serve(context.Background(), conformance.Handler(), fdk.Options{Env: tc.env})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Serve error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBinaryExitsOnBadEnvironment(t *testing.T) {
	bin := fdktest.Build(t, conformfnPkg)
	for _, tc := range badEnvCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Env = tc.env
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit %v, want a non-zero status; output %s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("output %q does not say %q", out, tc.want)
			}
		})
	}
}

// Stale files are removed; the socket is world-writable; lsnr.sock is a
// relative symlink; on shutdown both disappear and the process exits 0.
func TestSocketHandshakeAndShutdown(t *testing.T) {
	bin := fdktest.Build(t, conformfnPkg)
	starts := map[string]func(t *testing.T, opts fdktest.Options) *fdktest.Agent{
		"in-process": func(t *testing.T, opts fdktest.Options) *fdktest.Agent {
			return fdktest.Start(t, conformance.Handler(), opts)
		},
		"binary": func(t *testing.T, opts fdktest.Options) *fdktest.Agent { return fdktest.StartBinary(t, bin, opts) },
	}
	for name, start := range starts {
		t.Run(name, func(t *testing.T) {
			dir := fdktest.NewSocketDir(t)
			phony, link := filepath.Join(dir, "phonylsnr.sock"), filepath.Join(dir, "lsnr.sock")
			if err := os.WriteFile(phony, []byte("stale"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/elsewhere/stale.sock", link); err != nil {
				t.Fatal(err)
			}
			a := start(t, fdktest.Options{Dir: dir})

			if target, err := os.Readlink(link); err != nil || target != "phonylsnr.sock" {
				t.Fatalf("lsnr.sock -> %q (%v), want the relative phonylsnr.sock", target, err)
			}
			fi, err := os.Stat(phony)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o666 {
				t.Fatalf("phonylsnr.sock mode %v, want a socket with 0666", fi.Mode())
			}
			if r, err := a.Call(context.Background(), fdktest.Call{Body: []byte("x")}); err != nil || r.Status != 200 {
				t.Fatalf("call: %v %v", r, err)
			}

			if err := a.Stop(); err != nil {
				t.Fatalf("graceful stop: %v\n%s", err, a.Stderr())
			}
			for _, p := range []string{phony, link} {
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s still exists after shutdown (%v)", p, err)
				}
			}
		})
	}
}

// The agent keeps one HTTP/1.1 connection per container and sends calls on
// it one after another.
func TestKeepAliveOnOneConnection(t *testing.T) {
	a := fdktest.StartBinary(t, fdktest.Build(t, conformfnPkg), fdktest.Options{})
	conn, err := net.Dial("unix", filepath.Join(a.Dir, "lsnr.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i, body := range []string{"one", "two", "three"} {
		req, _ := http.NewRequest(http.MethodPost, "http://localhost/call", strings.NewReader(body))
		req.Header.Set(fdk.HeaderCallID, "call-"+body)
		if err := req.Write(conn); err != nil {
			t.Fatalf("call %d: writing on the same connection: %v", i, err)
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("call %d: reading from the same connection: %v", i, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != body || resp.ProtoMinor != 1 || resp.Close {
			t.Fatalf("call %d: %d %q proto %s close %v", i, resp.StatusCode, got, resp.Proto, resp.Close)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPanicIsLoggedWithCallID(t *testing.T) {
	var logs syncBuffer
	a := fdktest.Start(t, conformance.Handler(), fdktest.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	r, err := a.Call(context.Background(), fdktest.Call{Header: mode("panic"), CallID: "PANIC1"})
	if err != nil || r.Status != http.StatusBadGateway {
		t.Fatalf("%v %v", r, err)
	}
	if out := logs.String(); !strings.Contains(out, `"call_id":"PANIC1"`) || !strings.Contains(out, "conformance panic") || !strings.Contains(out, "goroutine") {
		t.Fatalf("panic log lacks call id, value or stack: %s", out)
	}
}

func TestContextOutsideACall(t *testing.T) {
	fc := fdk.GetContext(context.Background())
	if fc == nil || fc.CallID() != "" || len(fc.Config()) != 0 || fc.Header() == nil {
		t.Fatalf("GetContext outside a call: %#v", fc)
	}
	if _, ok := fc.(fdk.HTTPContext); ok {
		t.Fatal("empty context must not be an HTTPContext")
	}
	// Helpers on a plain writer are harmless no-ops.
	var buf bytes.Buffer
	fdk.SetHeader(&buf, "X", "y")
	fdk.AddHeader(&buf, "X", "z")
	fdk.WriteStatus(&buf, 404)
	if buf.Len() != 0 {
		t.Fatalf("helpers wrote %q", buf.String())
	}
}

// SIGTERM (here: cancelling Serve) lets the call in flight finish and be
// answered before the FDK stops.
func TestShutdownWaitsForTheCallInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	a := fdktest.Start(t, fdk.HandlerFunc(func(_ context.Context, _ io.Reader, out io.Writer) {
		close(entered)
		<-release
		_, _ = io.WriteString(out, "finished")
	}), fdktest.Options{})
	type answer struct {
		r   *fdktest.Result
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		r, err := a.Call(context.Background(), fdktest.Call{})
		answered <- answer{r, err}
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- a.Stop() }()
	// Release the handler only once shutdown has begun: the listener is
	// closed, so a new connection is refused.
	for {
		conn, err := net.Dial("unix", filepath.Join(a.Dir, "lsnr.sock"))
		if err != nil {
			break
		}
		_ = conn.Close()
		time.Sleep(time.Millisecond)
	}
	close(release)
	got := <-answered
	if got.err != nil || got.r.Status != 200 || string(got.r.Body) != "finished" {
		t.Fatalf("call in flight during shutdown: %+v %v", got.r, got.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}
