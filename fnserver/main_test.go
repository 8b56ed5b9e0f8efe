package fnserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fnproject/fn_go/clientv2"
	"github.com/fnproject/fn_go/clientv2/apps"
	"github.com/fnproject/fn_go/clientv2/fns"
	"github.com/fnproject/fn_go/modelsv2"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"

	"github.com/fnfleet/fnfleet/fnserver"
	"github.com/fnfleet/fnfleet/internal/fncontract"
)

// bins holds the test functions, built once by TestMain.
type binaries struct {
	probe, raw, echo string
	ceecho           string // replies to each CloudEvent with the event itself
}

var bins binaries // written once in TestMain, read-only afterwards

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fnserver-bins")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins = binaries{probe: filepath.Join(dir, "probe"), raw: filepath.Join(dir, "rawfn"), echo: filepath.Join(dir, "echo"),
		ceecho: filepath.Join(dir, "ceecho")}
	for pkg, out := range map[string]string{
		"./internal/testfn/probe":            bins.probe,
		"./internal/testfn/rawfn":            bins.raw,
		"../functions/echo":                  bins.echo,
		"../fdk/internal/conformance/ceecho": bins.ceecho,
	} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", pkg, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testServer is a server serving on a loopback port.
type testServer struct {
	*fnserver.Server
	url     string
	dataDir string
	client  *clientv2.Fn
	stop    func()
}

// start runs a server on cfg.DataDir (default: a new directory) until the
// test ends (or stop is called).
func start(t testing.TB, cfg fnserver.Config) *testServer {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := fnserver.New(ctx, cfg)
	if err != nil {
		t.Fatalf("fnserver.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	addr := ln.Addr().String()
	ts := &testServer{
		Server:  srv,
		url:     "http://" + addr,
		dataDir: cfg.DataDir,
		client:  clientv2.New(httptransport.New(addr, "/v2", []string{"http"}), strfmt.Default),
	}
	stopped := false
	ts.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	t.Cleanup(ts.stop)
	return ts
}

// mkApp creates an app through fn_go.
func (ts *testServer) mkApp(t testing.TB, name string, config map[string]string) *modelsv2.App {
	t.Helper()
	ok, err := ts.client.Apps.CreateApp(apps.NewCreateAppParams().WithBody(&modelsv2.App{Name: name, Config: config}))
	if err != nil {
		t.Fatalf("create app %s: %v", name, err)
	}
	return ok.Payload
}

// mkFn creates an fn through fn_go.
func (ts *testServer) mkFn(t testing.TB, appID string, fn *modelsv2.Fn) *modelsv2.Fn {
	t.Helper()
	fn.AppID = appID
	ok, err := ts.client.Fns.CreateFn(fns.NewCreateFnParams().WithBody(fn))
	if err != nil {
		t.Fatalf("create fn %s: %v", fn.Name, err)
	}
	return ok.Payload
}

// reply is an HTTP answer, read.
type reply struct {
	status int
	header http.Header
	body   string
}

// do sends a request and reads the answer.
func do(t testing.TB, method, url, body string, header http.Header) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer of %s %s: %v", method, url, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// invokeURL is the fn's invokeEndpoint annotation, as fn invoke reads it.
func invokeURL(t testing.TB, fn *modelsv2.Fn) string {
	t.Helper()
	u, ok := fn.Annotations[fncontract.InvokeEndpointAnnotation].(string)
	if !ok {
		t.Fatalf("fn %s has no %s annotation: %v", fn.Name, fncontract.InvokeEndpointAnnotation, fn.Annotations)
	}
	return u
}

// message decodes an Fn error body.
func message(t testing.TB, r reply) string {
	t.Helper()
	var e struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body %q (status %d) is not JSON: %v", r.body, r.status, err)
	}
	return e.Message
}

func fileImage(path string) string { return "file://" + path }

// quietLogger drops the server's info logs, which would drown benchmark output.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
